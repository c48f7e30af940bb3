"""Socket Mode: Slack's events over a WebSocket the bot opens, for hosts without a public URL.

The first connection is made in the background with backoff, so a Slack hiccup at start-up
does not stop the bot (its scheduler keeps tracking jobs, `/healthz` keeps answering); the
slack_sdk client reconnects by itself once connected.
"""

from __future__ import annotations

import logging
import threading

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


class SocketModeRunner:
    def __init__(self, app: App, app_token: str) -> None:
        self._handler = SocketModeHandler(app, app_token)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._connect, name="socket-mode", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _connect(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            try:
                self._handler.connect()  # type: ignore[no-untyped-call]
                if self._handler.client.is_connected():
                    log.info("Socket Mode connected")
                else:  # slack_sdk logs and swallows a failed WebSocket handshake
                    log.warning("Socket Mode: the WebSocket did not open; slack_sdk retries "
                                "every %.0f s", self._handler.client.ping_interval)
                return
            except (SlackApiError, OSError) as exc:
                log.warning("Socket Mode could not connect (%s); retrying in %.0f s", exc, delay)
            self._stop.wait(delay)
            delay = min(delay * 2, 60.0)

    def connected(self) -> bool:
        """The WebSocket is open (readiness asks)."""
        return bool(self._handler.client.is_connected())

    def close(self) -> None:
        self._stop.set()
        self._handler.close()  # type: ignore[no-untyped-call]
