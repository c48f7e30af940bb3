"""What an SRE sees of a running bot: /metrics after a whole reprotect, /readyz flipping
when Slack or the vault breaks, and /healthz unaffected (the bot is alive, not ready)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from sandbox.arm_emulator import ArmEmulator
from sandbox.local_bot import SIGNING_SECRET, LocalBot
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator
from tests.integration.conftest import (
    APPROVER,
    CHANNEL,
    COMMAND,
    REQUESTER,
    BotFactory,
    approve,
    buttons,
    open_request,
    reprotect_posts,
    settle,
    wait_summary,
)

pytestmark = pytest.mark.slow  # a whole bot per test: `pytest -m "not slow"` leaves them out

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(bot: LocalBot) -> Samples:
    """Every sample of /metrics, parsed by prometheus_client's own parser."""
    answer = requests.get(f"{bot.base_url}/metrics", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(answer.text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def readyz(bot: LocalBot) -> tuple[int, dict[str, Any]]:
    answer = requests.get(f"{bot.base_url}/readyz", timeout=5)
    return answer.status_code, answer.json()


def wait_readyz(bot: LocalBot, until: Callable[[int, dict[str, Any]], bool],
                timeout: float = 15) -> tuple[int, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    status, body = readyz(bot)
    while not until(status, body):
        if time.monotonic() > deadline:
            raise AssertionError(f"/readyz stayed {status} {body}")
        time.sleep(0.1)
        status, body = readyz(bot)
    return status, body


def ready(status: int, body: dict[str, Any]) -> bool:
    return status == 200


def test_metrics_count_a_whole_reprotect(start_bot: BotFactory, slack: SlackEmulator,
                                         arm: ArmEmulator) -> None:
    bot = start_bot(reprotect_readiness_seconds=300)
    wait_readyz(bot, ready)  # the start-up probe round is done: no ARM call behind our back
    before, calls_before = scrape(bot), len(arm.requests)
    opened = open_request(lambda **_: bot, slack)
    assert "Approve" in buttons(opened.root)
    opened.driver.click(opened.root, "Approve", user_id=REQUESTER, channel_id=CHANNEL)
    slack.wait_for(lambda s: bool(s.ephemerals(REQUESTER)))  # the requester: refused
    approve(opened.driver, slack, opened.root, APPROVER)
    summary = wait_summary(slack, opened.root)
    assert any("3/3 protected" in m.text for m in summary)
    settle(bot)  # the last outbox ticks and the final poll
    after = scrape(bot)
    posts = reprotect_posts(arm)

    assert len(posts) == 3
    assert delta(before, after, "reprotect_submissions_total", operation="reprotect",
                 outcome="accepted") == 3
    assert delta(before, after, "reprotect_submissions_total", operation="reprotect",
                 outcome="error") == 0
    sent = Counter(r.method for r in arm.requests[calls_before:])
    for method, count in sent.items():
        counted = sum(v - value(before, name, **dict(labels))
                      for (name, labels), v in after.items()
                      if name == "reprotect_site_recovery_calls_total"
                      and dict(labels)["method"] == method)
        assert counted == count, (method, counted, count)
    assert delta(before, after, "reprotect_site_recovery_calls_total", method="POST",
                 status="202") == 3
    assert delta(before, after, "reprotect_requests_total", state="preflight") == 1
    assert delta(before, after, "reprotect_requests_total", state="pending") == 1
    assert delta(before, after, "reprotect_requests_total", state="approved") == 1
    assert delta(before, after, "reprotect_requests_total", state="done") == 1
    assert delta(before, after, "reprotect_jobs_total", outcome="protected") == 3
    assert delta(before, after, "reprotect_approvals_total") == 1
    assert delta(before, after, "reprotect_refusals_total", reason="own_request") == 1
    assert value(after, "reprotect_slack_outbox_pending") == 0
    assert value(after, "reprotect_slack_outbox_oldest_pending_seconds") == 0
    assert delta(before, after, "reprotect_tick_duration_seconds_count", job="track") > 0
    assert value(after, "reprotect_dependency_up", dependency="slack") == 1


def test_outbox_gauges_show_messages_slack_does_not_take(start_bot: BotFactory,
                                                         slack: SlackEmulator) -> None:
    bot = start_bot(reprotect_readiness_seconds=300)
    release = slack.hold("chat.postMessage")  # Slack slow to take the request message
    opened_at = time.monotonic()
    SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack).slash_command(
        COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    deadline = time.monotonic() + 20
    while value(scrape(bot), "reprotect_slack_outbox_pending") < 1:
        assert time.monotonic() < deadline, "the request message never waited in the outbox"
        time.sleep(0.2)
    time.sleep(1.0)
    samples = scrape(bot)
    assert 1.0 <= value(samples, "reprotect_slack_outbox_oldest_pending_seconds") <= (
        time.monotonic() - opened_at + 1)
    release.set()
    slack.wait_for(lambda s: bool(s.messages(CHANNEL)), timeout=30)
    deadline = time.monotonic() + 10
    while value(scrape(bot), "reprotect_slack_outbox_pending") != 0:
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_readyz_follows_the_slack_token_and_slack_itself(start_bot: BotFactory,
                                                         slack: SlackEmulator) -> None:
    bot = start_bot(reprotect_readiness_seconds=0.2)
    _, body = wait_readyz(bot, ready)
    assert body["status"] == "ready"
    assert body["dependencies"]["slack"]["state"] == "ok"
    assert body["dependencies"]["vault"]["state"] == "ok"
    assert body["dependencies"]["slack"]["last_success"]

    slack.bot_token = "xoxb-rotated"  # the bot's token is no longer the workspace's
    _, body = wait_readyz(bot, lambda s, _: s == 503)
    assert body["dependencies"]["slack"]["state"] == "failing"
    assert "invalid_auth" in body["dependencies"]["slack"]["last_error"]
    assert body["dependencies"]["vault"]["state"] == "ok"
    assert "xoxb-sandbox" not in str(body)
    assert requests.get(f"{bot.base_url}/healthz", timeout=5).status_code == 200

    slack.bot_token = "xoxb-sandbox"
    wait_readyz(bot, ready)
    slack.set_down(True)
    _, body = wait_readyz(bot, lambda s, _: s == 503)
    assert "unavailable (HTTP 503" in body["dependencies"]["slack"]["last_error"]
    slack.set_down(False)
    _, body = wait_readyz(bot, ready)
    assert body["dependencies"]["slack"]["last_error"]  # kept, with its time, after recovery
    assert body["dependencies"]["slack"]["last_error_at"]


def test_a_vault_that_does_not_exist_starts_but_is_not_ready(start_bot: BotFactory) -> None:
    bot = start_bot(asr_vault_name="no-such-vault", reprotect_readiness_seconds=0.2)
    assert requests.get(f"{bot.base_url}/healthz", timeout=5).status_code == 200
    status, body = wait_readyz(bot, lambda s, b: b["dependencies"]["vault"]["state"]
                               == "failing")
    assert status == 503 and body["status"] == "not ready"
    assert "no-such-vault" in body["dependencies"]["vault"]["last_error"]
    assert body["dependencies"]["slack"]["state"] == "ok"
    samples = scrape(bot)
    assert value(samples, "reprotect_dependency_up", dependency="vault") == 0


def test_submissions_count_refused_and_lost_writes(start_bot: BotFactory, slack: SlackEmulator,
                                                   arm: ArmEmulator) -> None:
    bot = start_bot(reprotect_readiness_seconds=300)
    wait_readyz(bot, ready)
    before = scrape(bot)
    arm.fail_next("POST", r"/vm-app-01/reProtect$", 500, processed=True)  # answer lost
    arm.fail_next("POST", r"/vm-app-02/reProtect$", 400)  # refused by Site Recovery
    opened = open_request(lambda **_: bot, slack)
    approve(opened.driver, slack, opened.root, APPROVER)
    final = wait_summary(slack, opened.root)[-1].text
    after = scrape(bot)
    assert "1 failed" in final
    assert delta(before, after, "reprotect_submissions_total", operation="reprotect",
                 outcome="error") == 1
    assert delta(before, after, "reprotect_submissions_total", operation="reprotect",
                 outcome="refused") == 1
    assert delta(before, after, "reprotect_submissions_total", operation="reprotect",
                 outcome="accepted") == 1
    for status in ("500", "400", "202"):
        assert delta(before, after, "reprotect_site_recovery_calls_total", method="POST",
                     status=status) == 1, status
    assert delta(before, after, "reprotect_jobs_total", outcome="failed") == 1
    assert delta(before, after, "reprotect_requests_total", state="failed") == 1
