"""Socket Mode end to end: `serve` as a process, slack_sdk's real WebSocket client, and the
Socket Mode emulator playing Slack (apps.connections.open, hello, envelopes, acks)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient

from sandbox.arm_emulator import ArmEmulator
from sandbox.slack_driver import SocketModeDriver
from sandbox.slack_emulator import SlackEmulator
from sandbox.socket_mode_emulator import SocketModeEmulator
from tests.integration.conftest import (
    APPROVER,
    CHANNEL,
    COMMAND,
    REQUESTER,
    approve,
    buttons,
    reprotect_posts,
    wait_root,
    wait_summary,
    workspace,
)
from tests.integration.processes import BotProcess, bot_env

pytestmark = pytest.mark.slow  # a whole bot per test: `pytest -m "not slow"` leaves them out

APP_TOKEN = "xapp-1-A0SANDBOX-1-socketmode"
OPEN = "apps.connections.open"


@pytest.fixture
def socket_mode() -> Iterator[SocketModeEmulator]:
    with SocketModeEmulator() as emulator:
        yield emulator


@pytest.fixture
def slack(socket_mode: SocketModeEmulator) -> Iterator[SlackEmulator]:
    with workspace(socket_mode=socket_mode, app_token=APP_TOKEN) as emulator:
        yield emulator


@pytest.fixture
def start_bot(slack: SlackEmulator, arm: ArmEmulator,
              tmp_path: Path) -> Iterator[Callable[[], BotProcess]]:
    """`serve` in Socket Mode; no signing secret, which Socket Mode does not need."""
    env = bot_env(slack_api_url=slack.api_url, arm_env=arm.env(),
                  database_url=f"sqlite:///{tmp_path / 'bot.db'}", approvers=APPROVER,
                  SLACK_APP_TOKEN=APP_TOKEN, REPROTECT_READINESS_SECONDS="0.3")
    del env["SLACK_SIGNING_SECRET"]
    started: list[BotProcess] = []

    def start() -> BotProcess:
        bot = BotProcess(env, tmp_path / "bot.log")
        started.append(bot)
        bot.wait_healthy()
        return bot

    yield start
    for bot in started:
        bot.close()


def healthz(bot: BotProcess) -> int:
    return requests.get(f"http://127.0.0.1:{bot.port}/healthz", timeout=5).status_code


def opens(slack: SlackEmulator) -> list[bool]:
    """Whether each apps.connections.open call succeeded, in order."""
    return [call.ok for call in slack.calls if call.method == OPEN]


def test_reprotect_over_socket_mode(start_bot: Callable[[], BotProcess],
                                    socket_mode: SocketModeEmulator, slack: SlackEmulator,
                                    arm: ArmEmulator, tmp_path: Path) -> None:
    bot = start_bot()
    socket_mode.wait_connected()
    assert healthz(bot) == 200
    assert requests.post(bot.events_url, data=b"{}", timeout=5).status_code == 404
    assert [call.token for call in slack.calls if call.method == OPEN] == [APP_TOKEN]
    driver = SocketModeDriver(socket_mode, emulator=slack)

    sent = time.monotonic()
    ack = driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    assert time.monotonic() - sent < 1.5
    assert "Checking plan" in ack["payload"]["text"]
    assert ack["payload"]["response_type"] == "ephemeral"
    root = wait_root(slack)
    assert "Approve" in buttons(root)

    assert "payload" not in approve(driver, slack, root, APPROVER)  # an empty ack
    thread = wait_summary(slack, root)
    assert "Summary" in thread[-1].text and "3/3 protected" in thread[-1].text
    assert len(reprotect_posts(arm)) == 3

    assert bot.terminate() == 0
    assert "stopped cleanly" in (tmp_path / "bot.log").read_text()


def test_readiness_and_metrics_in_socket_mode(start_bot: Callable[[], BotProcess],
                                              socket_mode: SocketModeEmulator) -> None:
    """/readyz waits for the WebSocket, not only the token; /metrics is served too."""
    bot = start_bot()
    socket_mode.wait_connected()
    deadline = time.monotonic() + 15
    while (answer := requests.get(f"http://127.0.0.1:{bot.port}/readyz", timeout=5)
           ).status_code != 200:
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.1)
    slack_state = answer.json()["dependencies"]["slack"]
    assert slack_state["state"] == "ok" and "Socket Mode connected" in slack_state["detail"]
    metrics = requests.get(f"http://127.0.0.1:{bot.port}/metrics", timeout=5)
    names = {f.name for f in text_string_to_metric_families(metrics.text)}
    assert {"reprotect_requests", "reprotect_submissions", "reprotect_site_recovery_calls",
            "reprotect_slack_outbox_pending"} <= names


def test_reconnects_when_slack_refreshes_the_connection(
        start_bot: Callable[[], BotProcess], socket_mode: SocketModeEmulator,
        slack: SlackEmulator) -> None:
    start_bot()
    socket_mode.wait_connected()
    socket_mode.disconnect()
    assert opens(slack) == [True, True], "a reconnect asks Slack for a new URL"
    driver = SocketModeDriver(socket_mode, emulator=slack)
    ack = driver.slash_command("help", user_id=REQUESTER, channel_id=CHANNEL)
    assert "/reprotect" in ack["payload"]["text"]


def test_serves_while_slack_is_down_at_start_then_connects(
        start_bot: Callable[[], BotProcess], socket_mode: SocketModeEmulator,
        slack: SlackEmulator) -> None:
    slack.inject(OPEN, status=503, count=2)
    bot = start_bot()
    slack.wait_for(lambda s: len(opens(s)) == 2, timeout=10)
    assert healthz(bot) == 200 and bot.process.poll() is None
    assert not socket_mode.is_connected  # the next try comes after a 2 s backoff
    socket_mode.wait_connected(timeout=10)
    assert opens(slack) == [False, False, True]
    driver = SocketModeDriver(socket_mode, emulator=slack)
    assert "/reprotect" in driver.slash_command("help", user_id=REQUESTER,
                                                channel_id=CHANNEL)["payload"]["text"]


def test_emulator_wants_the_app_token_and_fails_a_missing_ack(
        slack: SlackEmulator, socket_mode: SocketModeEmulator) -> None:
    web = WebClient(base_url=slack.api_url)
    for token in ("xapp-1-someone-else", slack.bot_token):
        with pytest.raises(SlackApiError) as refused:
            web.apps_connections_open(app_token=token)
        assert refused.value.response["error"] == "invalid_auth"
    url = web.apps_connections_open(app_token=APP_TOKEN)["url"]
    assert url.startswith("ws://127.0.0.1:") and "ticket=" in url
    with pytest.raises(AssertionError, match="not connected"):
        socket_mode.send_envelope("slash_commands", {}, timeout=0.2)
    client = SocketModeClient(app_token=APP_TOKEN, web_client=web)  # no listener: no acks
    try:
        client.connect()
        socket_mode.wait_connected()
        with pytest.raises(AssertionError, match="no ack for slash_commands envelope"):
            socket_mode.send_envelope("slash_commands", {"text": "help"}, timeout=0.3)
    finally:
        socket_mode.stop()  # closing our side first spares the client its 3 s receive timeout
        client.close()


def test_the_home_tab_is_published_over_socket_mode(
        start_bot: Callable[[], BotProcess], socket_mode: SocketModeEmulator,
        slack: SlackEmulator) -> None:
    """Events come as `events_api` envelopes: opening the Home tab draws it."""
    start_bot()
    socket_mode.wait_connected()
    SocketModeDriver(socket_mode, emulator=slack).app_home_opened(REQUESTER)
    slack.wait_for(lambda s: REQUESTER in s.home_views, timeout=10)
    assert "No open request." in str(slack.home_views[REQUESTER]["blocks"])
