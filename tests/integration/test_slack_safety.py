"""What people type reaches Slack as text, never as markup; who may reject; who is "us"."""

from __future__ import annotations

import json
import time

import pytest
from sqlmodel import Session, select

from sandbox.arm_emulator import ArmEmulator
from sandbox.local_bot import SIGNING_SECRET
from sandbox.slack_driver import NO_TEAM, SlackDriver
from sandbox.slack_emulator import Message, SlackEmulator
from store.models import Request
from tests.integration.conftest import (
    APPROVER,
    CHANNEL,
    COMMAND,
    GROUP,
    GROUP_MEMBERS,
    REQUESTER,
    BotFactory,
    buttons,
    confirm,
    open_request,
    probed,
    reprotect_posts,
    settle,
    wait_root,
)

pytestmark = pytest.mark.slow  # a whole bot per test: `pytest -m "not slow"` leaves them out

EVIL = "<!channel> URGENT: re-approve at <https://evil.example/login|Azure portal> <@U0CAROL> `x`"


def ephemeral_texts(slack: SlackEmulator, user: str) -> list[str]:
    return [str(c.params.get("text", "")) for c in slack.ephemerals(user)]


def assert_inert(text: str) -> None:
    """No mention, no link, no way out of the code span the text was put in."""
    assert "<!channel>" not in text and "<https://" not in text and "<@U0CAROL>" not in text
    assert "&lt;!channel&gt;" in text


def reject(driver: SlackDriver, slack: SlackEmulator, root: Message, reason: str) -> None:
    """Click Reject as the approver and submit `reason` in the dialog that opens."""
    def opened(s: SlackEmulator) -> list[dict[str, object]]:
        return [c.params["view"] for c in s.calls if c.method == "views.open" and c.ok]

    before = len(opened(slack))
    driver.click(root, "Reject", user_id=APPROVER, channel_id=CHANNEL)
    slack.wait_for(lambda s: len(opened(s)) > before)
    modal = opened(slack)[-1]
    driver.submit_view(modal, {"reason": {"reason_input": reason}}, user_id=APPROVER)


def test_a_reject_reason_is_shown_as_text_not_as_markup(start_bot: BotFactory,
                                                        slack: SlackEmulator) -> None:
    _bot, driver, root = open_request(start_bot, slack)
    reject(driver, slack, root, EVIL)
    slack.wait_for(lambda s: s.messages(CHANNEL)[0].edits > 0
                   and bool(s.thread(CHANNEL, root.ts)))
    reply = slack.thread(CHANNEL, root.ts)[-1].text
    assert_inert(reply)
    assert "`&lt;!channel&gt; URGENT: re-approve at &lt;https://evil.example/login|Azure " \
           "portal&gt; &lt;@U0CAROL&gt; ˋxˋ`" in reply, "one code span, its backticks neutralised"
    assert_inert(json.dumps(slack.messages(CHANNEL)[0].blocks))


def test_the_requester_cannot_reject_and_is_pointed_to_cancel(start_bot: BotFactory,
                                                               slack: SlackEmulator) -> None:
    """Reject is an approver's (four-eyes) decision; the requester withdraws with Cancel."""
    bot, driver, root = open_request(start_bot, slack)
    driver.click(root, "Reject", user_id=REQUESTER, channel_id=CHANNEL)
    slack.wait_for(lambda s: bool(s.ephemerals(REQUESTER)))
    refusal = ephemeral_texts(slack, REQUESTER)[-1]
    assert "Cancel" in refusal and "/reprotect cancel" in refusal
    settle(bot)
    assert not any(c.method == "views.open" for c in slack.calls)
    assert slack.messages(CHANNEL)[0].edits == 0
    assert buttons(slack.messages(CHANNEL)[0]) == ["Approve", "Reject", "Cancel"]


def test_names_typed_in_the_command_are_echoed_inert(start_bot: BotFactory,
                                                     slack: SlackEmulator) -> None:
    bot = start_bot()
    driver = SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)
    ack = driver.slash_command('plan="<!channel> R&D `x`" master=avs-mt-01',
                               user_id=REQUESTER, channel_id=CHANNEL).json()["text"]
    assert "`&lt;!channel&gt; R&amp;D ˋxˋ`" in ack
    slack.wait_for(lambda s: any("not in the vault" in t for t in ephemeral_texts(s, REQUESTER)))
    not_found = next(t for t in ephemeral_texts(slack, REQUESTER) if "not in the vault" in t)
    assert_inert(not_found)

    unknown_key = driver.slash_command('plan=x <!channel>=1', user_id=REQUESTER,
                                       channel_id=CHANNEL).json()["text"]
    assert_inert(unknown_key)

    driver.slash_command('plan="Finance tier 1" master="<!channel> mt"', user_id=REQUESTER,
                         channel_id=CHANNEL)
    blocked = wait_root(slack)
    assert "is not registered" in json.dumps(blocked.blocks)
    assert_inert(json.dumps(blocked.blocks))


def test_reject_changes_nothing_when_the_reason_dialog_cannot_open(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    """A rejection needs its reason: without the dialog, nothing happens and the approver is
    told why and to click again."""
    bot, driver, root = open_request(start_bot, slack)
    slack.inject("views.open", status=503)
    driver.click(root, "Reject", user_id=APPROVER, channel_id=CHANNEL)
    slack.wait_for(lambda s: bool(s.ephemerals(APPROVER)))
    told = ephemeral_texts(slack, APPROVER)[-1]
    assert "dialog" in told and "click Reject again" in told and "Nothing changed" in told
    settle(bot)
    assert slack.messages(CHANNEL)[0].edits == 0 and slack.thread(CHANNEL, root.ts) == []
    assert buttons(slack.messages(CHANNEL)[0]) == ["Approve", "Reject", "Cancel"]

    reject(driver, slack, root, "MT has a snapshot")
    slack.wait_for(lambda s: bool(s.thread(CHANNEL, root.ts)))
    assert "MT has a snapshot" in slack.thread(CHANNEL, root.ts)[-1].text
    assert not reprotect_posts(arm)


def test_a_plan_named_with_an_ampersand_is_found(start_bot: BotFactory, slack: SlackEmulator,
                                                 arm: ArmEmulator) -> None:
    """Slack sends `R&D <EMEA>` as `R&amp;D &lt;EMEA&gt;`: the bot matches the name typed."""
    arm.world.add_plan("rd-rp", friendly_name="R&D <EMEA>", items=["vm-app-01"])
    bot = start_bot()
    driver = SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)
    driver.slash_command('plan="R&D <EMEA>" master=avs-mt-01', user_id=REQUESTER,
                         channel_id=CHANNEL)
    root = wait_root(slack)
    assert "R&amp;D &lt;EMEA&gt;" in json.dumps(root.blocks)
    assert buttons(root) == ["Approve", "Reject", "Cancel"]


@pytest.mark.parametrize("team", ["T0OTHERORG", NO_TEAM], ids=["other-org", "no-team"])
def test_only_the_bots_own_workspace_decides(start_bot: BotFactory, slack: SlackEmulator,
                                             arm: ArmEmulator, team: str) -> None:
    """The workspace comes from auth.test, not from the command: a request made from another
    organisation's workspace is not theirs to approve, and a click that does not say its
    workspace is refused."""
    bot = start_bot()
    driver = SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    driver.click(root, "Approve", user_id=APPROVER, channel_id=CHANNEL, user_team_id=team)
    slack.wait_for(lambda s: bool(s.ephemerals(APPROVER)))
    assert "Only members of this workspace" in ephemeral_texts(slack, APPROVER)[-1]
    settle(bot)
    assert not reprotect_posts(arm)
    assert buttons(slack.messages(CHANNEL)[0]) == ["Approve", "Reject", "Cancel"]


@pytest.mark.parametrize("text", [COMMAND, "cancel 1", "status"])
def test_a_slash_command_from_another_workspace_is_refused_at_the_door(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator, text: str) -> None:
    """A guest of a shared channel gets the same refusal as their clicks, in the
    acknowledgement: nothing is recorded, preflighted or posted."""
    bot = start_bot()
    read_before = probed(bot, arm)
    driver = SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)
    answer = driver.slash_command(text, user_id="U0GUEST", channel_id=CHANNEL,
                                  user_team_id="T0OTHERORG")
    assert answer.json()["response_type"] == "ephemeral"
    assert "Only members of this workspace can use `/reprotect`" in answer.json()["text"]
    settle(bot)
    assert slack.messages(CHANNEL) == [] and arm.requests[read_before:] == []
    with Session(bot.services.engine) as session:  # type: ignore[union-attr]
        assert session.exec(select(Request)).all() == []


def test_a_burst_of_commands_from_one_person_is_turned_away_privately(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the per-person rate a command is answered with when to retry, and nothing is
    recorded or read from Site Recovery; someone else still gets in."""
    monkeypatch.setattr("bot.admission.PER_PERSON", 2)
    bot = start_bot()
    read_before = probed(bot, arm)
    driver = SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)
    answers = [driver.slash_command(text, user_id=REQUESTER, channel_id=CHANNEL).json()["text"]
               for text in ("cancel 7", "cancel 8", COMMAND)]
    assert answers[:2] == [":hourglass: Cancelling…"] * 2
    assert "as many requests as one person may in a minute" in answers[2]
    assert "Try again in about" in answers[2] and "nothing changed" in answers[2]
    assert driver.slash_command("status", user_id=REQUESTER,
                                channel_id=CHANNEL).status_code == 200  # reads no Azure
    settle(bot)
    assert not any("replicationRecoveryPlans" in r.path for r in arm.requests[read_before:])
    driver.slash_command(COMMAND, user_id=APPROVER, channel_id=CHANNEL)
    wait_root(slack)
    with Session(bot.services.engine) as session:  # type: ignore[union-attr]
        assert [r.requester_id for r in session.exec(select(Request)).all()] == [APPROVER]


def test_group_membership_is_not_trusted_past_its_lifetime_when_slack_fails(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.slack_ports.MEMBERSHIP_TTL", 0.5)
    member = GROUP_MEMBERS[0]
    bot, driver, root = open_request(start_bot, slack, approvers=GROUP)
    ticked = confirm(driver, slack, root, member)  # the group's members are read now
    time.sleep(1.0)  # ...and are now older than their lifetime
    slack.inject("usergroups.users.list", status=503, count=2)
    driver.click(ticked, "Approve", user_id=member, channel_id=CHANNEL)
    slack.wait_for(lambda s: bool(s.ephemerals(member)))
    told = ephemeral_texts(slack, member)[-1]
    assert "user group S0APPROVERS" in told and "try again" in told
    settle(bot)
    assert not reprotect_posts(arm)
    assert buttons(slack.messages(CHANNEL)[0]) == ["Approve", "Reject", "Cancel"]


def test_the_acknowledgement_does_not_wait_for_user_groups(start_bot: BotFactory,
                                                          slack: SlackEmulator) -> None:
    """With a user group in REPROTECT_REQUESTERS and Slack not answering
    usergroups.users.list, the command is still acknowledged; the check follows."""
    bot = start_bot(reprotect_requesters=GROUP)
    driver = SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)
    release = slack.hold("usergroups.users.list")
    try:
        member = driver.slash_command(COMMAND, user_id=GROUP_MEMBERS[3], channel_id=CHANNEL)
        outsider = driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
        assert not any(c.method == "usergroups.users.list" for c in slack.calls), \
            "acknowledged while Slack had not answered who is in the group"
        assert member.status_code == outsider.status_code == 200
        assert "Checking plan" in member.json()["text"]
        assert "Checking plan" in outsider.json()["text"]
    finally:
        release.set()
    wait_root(slack)
    slack.wait_for(lambda s: any("not allowed to request" in t
                                 for t in ephemeral_texts(s, REQUESTER)))
    assert len(slack.messages(CHANNEL)) == 1
