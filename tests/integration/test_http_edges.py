"""`POST /slack/events` before and around verification: size, encoding, malformed payloads.

Whatever arrives, the answer is a 4xx with no traceback, verification stays on, and a body
too large is refused from its headers, before it is read.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from sandbox.local_bot import LocalBot
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator
from tests.integration.conftest import APPROVER, CHANNEL, settle

FORM = "application/x-www-form-urlencoded"


def form(payload: object) -> bytes:
    return urlencode({"payload": payload if isinstance(payload, str)
                      else json.dumps(payload)}).encode()


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info]


@pytest.fixture
def server_log(bot: LocalBot, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """uvicorn's own loggers do not propagate to the root: listen to them too (after the bot
    started, since uvicorn configures them then)."""
    uvicorn_log = logging.getLogger("uvicorn")
    uvicorn_log.addHandler(caplog.handler)
    yield
    uvicorn_log.removeHandler(caplog.handler)


def raw_exchange(bot: LocalBot, request: bytes) -> str:
    """Send bytes as they are (no client library would) and read the answer to the end."""
    url = urlsplit(bot.events_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer.decode("latin-1")


def test_a_body_too_large_is_refused_before_it_is_read(bot: LocalBot) -> None:
    """Headers announce 50 MiB; 413 comes back after a few bytes of it."""
    url = urlsplit(bot.events_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as conn:
        conn.sendall(f"POST {url.path} HTTP/1.1\r\nHost: {url.hostname}\r\n"
                     f"Content-Type: {FORM}\r\nContent-Length: {50 * 2**20}\r\n\r\n"
                     .encode() + b"x" * 1024)
        answer = conn.recv(4096).decode("latin-1")
    assert answer.startswith("HTTP/1.1 413"), answer


def test_a_chunked_body_too_large_is_cut_off(bot: LocalBot) -> None:
    """No Content-Length: reading stops at the limit."""
    chunks = (b"x" * 65536 for _ in range(40))  # 2.5 MiB, sent chunked
    answer = requests.post(bot.events_url, data=chunks, headers={"Content-Type": FORM},
                           timeout=30)
    assert answer.status_code == 413


def test_invalid_utf8_is_a_400_without_traceback(driver: SlackDriver,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    unsigned = requests.post(driver.events_url, data=b"\xff\xfe", timeout=10)
    signed = driver.signed_post(b"payload=\xff\xfe", FORM)
    assert unsigned.status_code == 400 and signed.status_code == 400
    assert "Traceback" not in unsigned.text + signed.text
    assert tracebacks(caplog) == []


@pytest.mark.parametrize("payload", [
    "{not json",
    "[1, 2]",
    {"type": "view_submission", "user": {"id": APPROVER},
     "view": {"callback_id": "reject_reason",
              "state": {"values": {"reason": {"reason_input": {"value": "x"}}}}}},
], ids=["not-json", "not-an-object", "view-without-type"])
def test_signed_but_malformed_payloads_get_400(driver: SlackDriver, payload: object,
                                               caplog: pytest.LogCaptureFixture) -> None:
    answer = driver.signed_post(form(payload), FORM)
    assert answer.status_code == 400
    assert "Traceback" not in answer.text
    assert tracebacks(caplog) == []


def test_malformed_clicks_change_nothing_and_log_no_traceback(
        bot: LocalBot, driver: SlackDriver, slack: SlackEmulator,
        caplog: pytest.LogCaptureFixture) -> None:
    """Payloads Slack never sends, but a signed one could: a bad button value, no metadata."""
    user = {"id": APPROVER, "team_id": driver.team_id}
    bad_value = {"type": "block_actions", "user": user, "channel": {"id": CHANNEL},
                 "team": {"id": driver.team_id}, "trigger_id": "t.1",
                 "actions": [{"action_id": "approve", "value": "1; drop", "type": "button",
                              "block_id": "decide:1", "action_ts": str(time.time())}]}
    no_metadata = {"type": "view_submission", "user": user, "team": {"id": driver.team_id},
                   "view": {"type": "modal", "callback_id": "reject_reason", "id": "V1",
                            "state": {"values": {"reason": {"reason_input": {"value": "x"}}}}}}
    for payload in (bad_value, no_metadata):
        answer = driver.signed_post(form(payload), FORM)
        assert answer.status_code in (200, 400), answer.text
    settle(bot)
    assert slack.messages(CHANNEL) == []
    assert tracebacks(caplog) == []


def test_unsigned_requests_are_still_refused(driver: SlackDriver) -> None:
    body = form({"type": "block_actions", "user": {"id": APPROVER}})
    assert requests.post(driver.events_url, data=body, headers={"Content-Type": FORM},
                         timeout=10).status_code == 401


@pytest.mark.usefixtures("server_log")
def test_a_non_ascii_signature_is_a_401(bot: LocalBot,
                                        caplog: pytest.LogCaptureFixture) -> None:
    """`X-Slack-Signature: v0=\\xe9` made `hmac.compare_digest` raise TypeError: a 500."""
    body = b"command=%2Freprotect&text=status"
    answer = raw_exchange(bot, (
        f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\n"
        f"X-Slack-Request-Timestamp: {int(time.time())}\r\n").encode()
        + b"X-Slack-Signature: v0=\xe9\r\n"
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    assert answer.startswith("HTTP/1.1 401"), answer
    assert tracebacks(caplog) == []


@pytest.mark.usefixtures("server_log")
def test_a_client_leaving_mid_body_logs_no_traceback(bot: LocalBot,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    url = urlsplit(bot.events_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as conn:
        conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                     b"\r\nabc")
        time.sleep(0.3)
    settle(bot)
    assert tracebacks(caplog) == []
    assert requests.get(f"{bot.base_url}/healthz", timeout=5).status_code == 200


ODD_SHAPES = {
    "deeply-nested": "[" * 100_000 + "]" * 100_000,
    "user-is-a-string": {"type": "block_actions", "user": APPROVER, "team": {"id": "T0"},
                         "actions": [{"action_id": "approve", "value": "1", "type": "button"}]},
    "value-superscript-digit": {
        "type": "block_actions", "user": {"id": APPROVER, "team_id": "T0"},
        "channel": {"id": CHANNEL},
        "actions": [{"action_id": "approve", "value": "²", "type": "button"}]},
    "ticks-not-a-list": {
        "type": "block_actions", "user": {"id": APPROVER}, "channel": "C0",
        "actions": [{"action_id": "confirm_manual", "type": "checkboxes",
                     "block_id": "manual:²", "selected_options": 7}]},
    "reject-reason-oddly-nested": {
        "type": "view_submission", "user": "U0", "view": {
            "type": "modal", "callback_id": "reject_reason", "state": "x",
            "private_metadata": "[" * 5000 + "]" * 5000}},
}


@pytest.mark.usefixtures("server_log")
@pytest.mark.parametrize("payload", ODD_SHAPES.values(), ids=ODD_SHAPES.keys())
def test_signed_payloads_of_odd_shape_are_refused_without_a_traceback(
        bot: LocalBot, driver: SlackDriver, slack: SlackEmulator, payload: object,
        caplog: pytest.LogCaptureFixture) -> None:
    """Nested past Python's recursion limit is a 400; a click whose parts are not shaped as
    Slack sends them reads as nobody's click on no request, refused or ignored."""
    answer = driver.signed_post(form(payload), FORM)
    assert answer.status_code in (200, 400), answer.text
    settle(bot)
    assert tracebacks(caplog) == []
    assert slack.messages(CHANNEL) == []
