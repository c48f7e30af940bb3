"""The App Home tab through the real Bolt app: opening it publishes the requests of the
channels the person is in (Slack's conversations.members), each with its stage in words and
a link to its thread, and the bot's readiness."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.arm_world import World
from sandbox.sandbox_plans import PENDING, add_extra_plans, command_for
from sandbox.slack_emulator import BOT_USER_ID, SlackEmulator
from tests.integration.conftest import (
    APPROVER,
    CHANNEL,
    OUTSIDER,
    REQUESTER,
    BotFactory,
    approve,
    open_request,
    wait_summary,
    workspace,
)

pytestmark = pytest.mark.slow  # a whole bot per test: `pytest -m "not slow"` leaves them out

WAR_ROOM = "C0WARROOM"  # where Alice is not


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    members = {CHANNEL: [REQUESTER, APPROVER, BOT_USER_ID], WAR_ROOM: [APPROVER, BOT_USER_ID]}
    with workspace(channel_members=members) as emulator:
        yield emulator


@pytest.fixture
def world() -> World:
    world = World.sample(3, task_seconds=0.2, protect_delay_seconds=0.2)
    add_extra_plans(world, modernized=False)
    return world


def home_of(slack: SlackEmulator, driver: Any, user: str) -> str:
    """Open the Home tab as `user`; the text of every block Slack then shows."""
    before = len([c for c in slack.calls if c.method == "views.publish"])
    assert driver.app_home_opened(user).status_code == 200
    slack.wait_for(lambda s: len([c for c in s.calls if c.method == "views.publish"
                                  and c.ok]) > before, timeout=10)
    view = slack.home_views[user]
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    return "\n".join(str(b.get("text", {}).get("text", "")) + " ".join(
        e.get("text", "") for e in b.get("elements", []) if isinstance(e, dict))
        for b in view["blocks"])


def test_home_lists_what_the_person_can_see_with_stage_link_and_readiness(
        start_bot: BotFactory, slack: SlackEmulator) -> None:
    _, driver, root = open_request(start_bot, slack)
    approve(driver, slack, root, APPROVER)
    wait_summary(slack, root)
    driver.slash_command(command_for(PENDING, modernized=False), user_id=APPROVER,
                         channel_id=WAR_ROOM)
    slack.wait_for(lambda s: any("HR tier 2" in m.text or "hr-rp" in m.text
                                 for m in s.messages(WAR_ROOM)), timeout=20)

    alice = home_of(slack, driver, REQUESTER)
    assert "#1* plan `finance-rp`" in alice and "done: every VM protected (3 protected)" in alice
    assert "/archives/C0INCIDENT/p" in alice and "|thread>" in alice, "a link to its thread"
    assert "hr-rp" not in alice, "a request of a channel Alice is not in stays hidden"
    assert "No open request." in alice
    assert "*database*: ready" in alice
    assert "*Site Recovery tracking*: ready, last worked <!date^" in alice, "its last tick"
    assert "*Slack messages*: ready, last worked <!date^" in alice

    bob = home_of(slack, driver, APPROVER)
    assert "#2* plan `hr-rp` in <#C0WARROOM>: :ballot_box: waiting for approval" in bob
    assert "#1* plan `finance-rp`" in bob

    assert "No open request." in home_of(slack, driver, OUTSIDER)
    assert "finance-rp" not in home_of(slack, driver, OUTSIDER)


def test_the_messages_tab_publishes_nothing(bot: Any, slack: SlackEmulator,
                                            driver: Any) -> None:
    assert driver.app_home_opened(REQUESTER, tab="messages").status_code == 200
    assert driver.app_home_opened(REQUESTER).status_code == 200
    slack.wait_for(lambda s: REQUESTER in s.home_views, timeout=10)
    assert len([c for c in slack.calls if c.method == "views.publish"]) == 1
