"""Slow clients (slowloris) on loopback: each request has a deadline to arrive whole, open
connections are capped, and Slack's requests and `/healthz` still get in during an attack.

The limits are lowered through the settings (`HTTP_MAX_CONNECTIONS`,
`HTTP_READ_TIMEOUT_SECONDS`) so a few hundred connections show it in seconds; every socket
is the test's own, on 127.0.0.1, and closed at the end.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Iterator

import pytest
import requests

from sandbox.local_bot import SIGNING_SECRET, LocalBot
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator
from tests.integration.conftest import CHANNEL, REQUESTER, BotFactory

pytestmark = pytest.mark.slow  # a whole bot per test: `pytest -m "not slow"` leaves them out

CAP = 40
DEADLINE = 1.0
ATTACKERS = 300
PARTIAL = b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"


@pytest.fixture
def limited(start_bot: BotFactory) -> LocalBot:
    return start_bot(http_max_connections=CAP, http_read_timeout_seconds=DEADLINE)


@contextlib.contextmanager
def attackers(bot: LocalBot, count: int, first: bytes) -> Iterator[list[socket.socket]]:
    socks = []
    try:
        for _ in range(count):
            conn = socket.create_connection(("127.0.0.1", bot.settings.port), timeout=5)
            conn.sendall(first)
            socks.append(conn)
        yield socks
    finally:
        for conn in socks:
            conn.close()


def closed_by_server(conn: socket.socket, within: float) -> bool:
    """Whether the bot closed this connection (EOF or reset) within `within` seconds,
    trickling a byte every 0.2 s meanwhile, as a slow client does."""
    deadline = time.monotonic() + within
    conn.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            conn.sendall(b"a")
            if conn.recv(1) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


def test_a_trickling_request_is_cut_off_at_its_deadline(limited: LocalBot) -> None:
    with attackers(limited, 1, b"POST /slack/events HTTP/1.1\r\nHost: x\r\n") as (headers,), \
            attackers(limited, 1, PARTIAL) as (body,):
        started = time.monotonic()
        assert closed_by_server(headers, within=DEADLINE + 3)
        assert closed_by_server(body, within=DEADLINE + 3)
        assert time.monotonic() - started < DEADLINE + 3


def test_slack_and_healthz_get_in_during_an_attack(limited: LocalBot, slack: SlackEmulator,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """Many more slow connections than the cap: the oldest waiting ones make room for Slack's
    requests; all of them are gone past the deadline; the log says so once, not per
    connection."""
    caplog.set_level(logging.WARNING, logger="bot.http_limits")
    driver = SlackDriver(limited.events_url, SIGNING_SECRET, emulator=slack, timeout=5)
    with attackers(limited, ATTACKERS, PARTIAL) as socks:
        started = time.monotonic()
        command = driver.slash_command("status", user_id=REQUESTER, channel_id=CHANNEL)
        health = requests.get(f"{limited.base_url}/healthz", timeout=5)
        assert command.status_code == 200 and health.status_code == 200
        assert time.monotonic() - started < 3
        time.sleep(DEADLINE + 1.5)
        still_open = [c for c in socks if not closed_by_server(c, within=0.3)]
        assert still_open == []
    closures = [r for r in caplog.records if r.name == "bot.http_limits"]
    assert 1 <= len(closures) <= 2, [r.getMessage() for r in closures]
    assert driver.slash_command("status", user_id=REQUESTER,
                                channel_id=CHANNEL).status_code == 200
