"""Run the real bot in this process against loopback emulators (sandbox and tests).

The bot is built exactly as `reprotect-bot serve` builds it (`bot.container.build`), then
served by uvicorn on a free loopback port in a background thread.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType

import uvicorn
from pydantic import SecretStr

from bot.container import BotServices, build
from bot.health import observe_routes
from bot.server import build_http_app, make_server
from bot.settings import Settings
from store.outbox_queue import due_requests

SIGNING_SECRET = "sandbox-signing-secret"
IDLE_JOBS = ("track", "outbox")  # the ticks after which nothing more happens on its own


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LocalBot:
    """A started bot: its events URL, settings and services."""

    settings: Settings
    services: BotServices | None = None
    _thread: threading.Thread | None = None
    _server: uvicorn.Server | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.port}"

    @property
    def events_url(self) -> str:
        return f"{self.base_url}/slack/events"

    def start(self) -> LocalBot:
        self.services = build(self.settings)
        self.services.start_background()
        http_app = build_http_app(app=self.services.app, engine=self.services.engine,
                                  ticker=self.services.ticker,
                                  signing_secret=self.settings.events_signing_secret,
                                  extra_routes=observe_routes(self.services.readiness,
                                                              self.services.engine))
        server = make_server(http_app, self.settings.port, host="127.0.0.1",
                             limits=self.settings.http_limits)
        self._server = server
        self._thread = threading.Thread(target=server.run, name="bot-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the bot's HTTP server did not start")
            time.sleep(0.02)
        return self

    def idle(self, ticks: int = 2, timeout: float = 20.0) -> None:
        """Return once the bot has nothing left to do, so a test may assert that something did
        NOT happen: no work queued or running after an acknowledgement, `ticks` whole tracking
        ticks and outbox passes (and power checks with vCenter) finished since the bot was last
        seen busy, and no outbox message due. A listener Bolt starts just after its HTTP answer
        is seen by a later check. Raises `TimeoutError` naming what was still busy."""
        assert self.services is not None, "start the bot first"
        ticker, pool, engine = self.services.ticker, self.services.after_ack, self.services.engine
        deadline = time.monotonic() + timeout
        jobs = (*IDLE_JOBS, "power") if self.services.vcenter is not None else IDLE_JOBS
        marks = {job: ticker.runs(job)[0] for job in jobs}
        while True:
            now = {"after-ack work": pool.busy(), "outbox messages due": bool(due_requests(engine))}
            busy = [what for what, is_busy in now.items() if is_busy]
            if busy:
                marks = {job: ticker.runs(job)[0] for job in jobs}
            elif all(ticker.runs(job)[1] >= marks[job] + ticks for job in jobs):
                return
            if time.monotonic() > deadline:
                waiting = busy or [f"{ticks} {job} ticks" for job in jobs]
                raise TimeoutError(f"the bot was not idle after {timeout} s: {', '.join(waiting)}")
            time.sleep(0.02)

    def stop(self) -> None:
        server = self._server
        if server is not None:
            server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self.services is not None:
            self.services.close()

    def __enter__(self) -> LocalBot:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def local_settings(*, slack_api_url: str, arm_env: Mapping[str, str], database_url: str,
                   approvers: str, **overrides: object) -> Settings:
    """Settings for a loopback bot; Azure identity variables go to the process environment,
    where `DefaultAzureCredential` reads them."""
    for key in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "REQUESTS_CA_BUNDLE"):
        if key in arm_env:
            os.environ[key] = arm_env[key]
    values: dict[str, object] = {
        "slack_bot_token": SecretStr("xoxb-sandbox"),
        "slack_signing_secret": SecretStr(SIGNING_SECRET),
        "slack_api_url": slack_api_url,
        "port": free_port(),
        "database_url": database_url,
        "azure_subscription_id": arm_env["AZURE_SUBSCRIPTION_ID"],
        "asr_resource_group": arm_env["ASR_RESOURCE_GROUP"],
        "asr_vault_name": arm_env["ASR_VAULT_NAME"],
        "azure_arm_endpoint": arm_env["AZURE_ARM_ENDPOINT"],
        "reprotect_approvers": approvers,
        "reprotect_poll_seconds": 0.5,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
