"""Several replicas on one PostgreSQL database share the work without doing anything twice."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from sandbox.arm_emulator import ArmEmulator
from sandbox.local_bot import SIGNING_SECRET, LocalBot, local_settings
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator
from tests.integration.conftest import (
    APPROVER,
    CHANNEL,
    COMMAND,
    GROUP,
    GROUP_MEMBERS,
    REQUESTER,
    confirm,
    reprotect_posts,
    wait_root,
    wait_summary,
)
from tests.support.postgres import PostgresInstance, start_postgres

pytestmark = pytest.mark.slow  # a whole bot per test: `pytest -m "not slow"` leaves them out


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresInstance]:
    with start_postgres() as instance:
        yield instance


@pytest.fixture
def replicas(request: pytest.FixtureRequest, postgres: PostgresInstance, slack: SlackEmulator,
             arm: ArmEmulator) -> Iterator[list[LocalBot]]:
    """Three replicas; `param` (indirect) holds settings overrides."""
    overrides = getattr(request, "param", {})

    def start() -> LocalBot:
        settings = local_settings(slack_api_url=slack.api_url, arm_env=arm.env(),
                                  database_url=postgres.url, approvers=f"{APPROVER},{GROUP}",
                                  **overrides)
        return LocalBot(settings).start()

    with ThreadPoolExecutor(3) as pool:  # started together: migrations must not collide
        bots = list(pool.map(lambda _: start(), range(3)))
    yield bots
    for bot in bots:
        bot.stop()


def test_three_replicas_share_one_request_without_doubling_anything(
        replicas: list[LocalBot], slack: SlackEmulator, arm: ArmEmulator) -> None:
    drivers = [SlackDriver(b.events_url, SIGNING_SECRET, emulator=slack) for b in replicas]
    drivers[0].slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL, trigger_id="t.1")
    drivers[1].slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL, trigger_id="t.1",
                             retry_num=1)  # Slack's retry lands on another replica
    root = confirm(drivers[2], slack, wait_root(slack), GROUP_MEMBERS[0])
    barrier = threading.Barrier(20)

    def click(index: int) -> None:
        barrier.wait()
        drivers[index % 3].click(root, "Approve", user_id=GROUP_MEMBERS[index],
                                 channel_id=CHANNEL)

    threads = [threading.Thread(target=click, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    replies = [m.text for m in wait_summary(slack, root)]

    assert len([m for m in slack.messages(CHANNEL) if m.thread_ts is None]) == 1
    assert len(reprotect_posts(arm)) == 3
    assert sum("Reprotect started" in t for t in replies) == 1
    protected = Counter(vm for t in replies if "is protected" in t
                        for vm in ("app-01", "app-02", "app-03") if vm in t)
    assert protected == {"app-01": 1, "app-02": 1, "app-03": 1}
    assert sum("Summary" in t for t in replies) == 1 and "3/3 protected" in replies[-1]


@pytest.mark.parametrize("replicas", [{"reprotect_required_approvals": 2}], indirect=True)
def test_two_approvers_clicking_together_on_two_replicas_reach_a_quorum_of_two(
        replicas: list[LocalBot], slack: SlackEmulator, arm: ArmEmulator) -> None:
    drivers = [SlackDriver(b.events_url, SIGNING_SECRET, emulator=slack) for b in replicas]
    drivers[0].slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = confirm(drivers[0], slack, wait_root(slack), GROUP_MEMBERS[0])
    barrier = threading.Barrier(2)

    def click(index: int) -> None:
        barrier.wait()
        drivers[index].click(root, "Approve", user_id=GROUP_MEMBERS[index + 1],
                             channel_id=CHANNEL)

    threads = [threading.Thread(target=click, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert "3/3 protected" in wait_summary(slack, root, timeout=30)[-1].text
    assert len(reprotect_posts(arm)) == 3
