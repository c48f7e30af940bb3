"""A Slack outage or rate limit delays the bot's messages; it never loses or reorders them."""

from __future__ import annotations

import logging
import time

import pytest

from sandbox.arm_emulator import ArmEmulator
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator
from tests.integration.conftest import (
    APPROVER,
    CHANNEL,
    COMMAND,
    REQUESTER,
    approve,
    wait_root,
    wait_summary,
)

pytestmark = pytest.mark.slow  # a whole bot per test: `pytest -m "not slow"` leaves them out


def test_outage_during_tracking_delays_but_loses_nothing(
        driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    approve(driver, slack, root, APPROVER)
    slack.wait_for(lambda s: bool(s.thread(CHANNEL, root.ts)), timeout=30)
    slack.set_down(True)
    time.sleep(4)  # jobs finish while Slack answers 503 to everything
    assert all(job.state(time.time()) == "Succeeded" for job in arm.world.jobs.values())
    slack.set_down(False)
    texts = [m.text for m in wait_summary(slack, root, timeout=90)]
    for vm in ("app-01", "app-02", "app-03"):
        assert sum(vm in t and "is protected" in t for t in texts) == 1
    assert texts.index(next(t for t in texts if "Reprotect started" in t)) == 0
    assert "Summary" in texts[-1] and "3/3 protected" in texts[-1]


def test_rate_limit_is_honoured_and_the_message_still_arrives(
        driver: SlackDriver, slack: SlackEmulator) -> None:
    slack.inject("chat.postMessage", status=429, retry_after=2, count=1)
    began = time.monotonic()
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    wait_root(slack)
    posts = [c for c in slack.calls if c.method == "chat.postMessage"]
    assert [c.status for c in posts] == [429, 200]
    assert posts[1].at - posts[0].at >= 1.9, "Retry-After was not honoured"
    assert time.monotonic() - began < 30


@pytest.mark.parametrize("error", ["restricted_action", "an_error_slack_adds_later"])
def test_a_message_slack_refuses_for_good_is_dropped_and_the_rest_follow(
        driver: SlackDriver, slack: SlackEmulator, error: str,
        caplog: pytest.LogCaptureFixture) -> None:
    """An error that will not heal stops the retries of that message only, and is logged."""
    slack.refuse("chat.postMessage", error,
                 when=lambda params: "Reprotect started" in str(params.get("text", "")))
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    approve(driver, slack, root, APPROVER)
    texts = [m.text for m in wait_summary(slack, root, timeout=30)]
    assert "3/3 protected" in texts[-1]
    assert not any("Reprotect started" in t for t in texts)
    refused = [c for c in slack.calls if c.error == error]
    assert len(refused) == 1, "refused once, never retried"
    assert any(r.levelno == logging.ERROR and error in r.getMessage() for r in caplog.records)
