"""Readiness: Slack, the vault and vCenter probed in the background, the last result served.

`/readyz` must be cheap (probes hit it every few seconds, from every replica), so it only
reads what the last probe round found. Each dependency keeps its state, its last success and
its last error; errors are the bot's own words and the service's error code, never a token,
a password or a URL's credentials. Until the first round ends the bot is `starting` (503).
Slack and the vault decide readiness; vCenter, when configured, is reported beside them but
does not take the bot out of service: without it preflights block with the fix, while jobs
already running still need tracking.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import metrics
from core.readiness import DependencyState
from gateways.errors import GatewayError
from gateways.site_recovery import AzureSiteRecovery
from gateways.vcenter import VCenterGateway
from store.db import Engine
from store.models import utcnow

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 10.0


SOCKET_MODE_GRACE_S = 30.0


class ProbeFailed(Exception):
    """A dependency answered no; `str()` is safe to show (no secret, no URL)."""


class StillStarting(ProbeFailed):
    """Not there yet, within the start-up grace (a Socket Mode connection being opened)."""


@dataclass
class Dependency:
    """One dependency's last known state."""

    name: str
    probe: Callable[[], str]
    required: bool = True
    state: str = "starting"
    detail: str = ""
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {"state": self.state, "required": self.required, "detail": self.detail,
                "last_success": _iso(self.last_success), "last_error": self.last_error,
                "last_error_at": _iso(self.last_error_at)}


@dataclass
class Readiness:
    """The probes, run by `probe()` (a scheduler job), and the report `/readyz` serves."""

    dependencies: list[Dependency] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(
        max_workers=4, thread_name_prefix="readiness"))

    def add(self, name: str, probe: Callable[[], str], *, required: bool = True) -> None:
        self.dependencies.append(Dependency(name, probe, required))

    def probe(self) -> None:
        """Probe every dependency at once, each within PROBE_TIMEOUT_S."""
        futures = [(dep, self._pool.submit(dep.probe)) for dep in self.dependencies]
        for dep, future in futures:
            try:
                detail, error = future.result(timeout=PROBE_TIMEOUT_S), None
            except FutureTimeout:
                detail, error = "", f"no answer within {PROBE_TIMEOUT_S:.0f} s"
            except StillStarting as exc:
                detail, error = str(exc), None
                with self._lock:
                    dep.detail = detail
                continue
            except ProbeFailed as exc:
                detail, error = "", str(exc)
            except Exception as exc:  # a probe's own bug must not stop the others
                log.exception("readiness probe %s failed unexpectedly", dep.name)
                detail, error = "", f"probe failed ({type(exc).__name__})"
            self._record(dep, detail, error)

    def _record(self, dep: Dependency, detail: str, error: str | None) -> None:
        now = utcnow()
        with self._lock:
            was = dep.state
            if error is None:
                dep.state, dep.detail, dep.last_success = "ok", detail, now
            else:
                dep.state, dep.last_error, dep.last_error_at = "failing", error, now
        metrics.DEPENDENCY_UP.labels(dependency=dep.name).set(1 if error is None else 0)
        if error is not None and was != "failing":
            log.warning("readiness: %s is failing: %s", dep.name, error)
        elif error is None and was == "failing":
            log.info("readiness: %s is back", dep.name)

    def report(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body): 200 when every required dependency's last probe passed."""
        with self._lock:
            body = {dep.name: dep.as_json() for dep in self.dependencies}
            states = [dep.state for dep in self.dependencies if dep.required]
        ready = all(state == "ok" for state in states)
        status = "ready" if ready else "starting" if "starting" in states else "not ready"
        return (200 if ready else 503), {"status": status, "dependencies": body}

    def states(self) -> list[DependencyState]:
        """The last probes as data, for the App Home to word."""
        with self._lock:
            return [DependencyState(dep.name, None if dep.state == "starting" else
                                    dep.state == "ok", dep.last_success,
                                    "" if dep.state == "ok" else dep.last_error or "")
                    for dep in self.dependencies]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def slack_probe(client: WebClient, socket_connected: Callable[[], bool] | None = None
                ) -> Callable[[], str]:
    """`auth.test` accepts the bot token; in Socket Mode, the WebSocket is open too (still
    `starting` while it opens, for SOCKET_MODE_GRACE_S)."""
    started = time.monotonic()

    def probe() -> str:
        try:
            answer = client.auth_test()
        except (SlackApiError, OSError) as exc:
            raise ProbeFailed(slack_failure(exc, "bot token")) from None
        if socket_connected is not None and not socket_connected():
            if time.monotonic() - started < SOCKET_MODE_GRACE_S:
                raise StillStarting("token accepted; Socket Mode connecting")
            raise ProbeFailed("the bot token is accepted but the Socket Mode connection is "
                              "not open")
        mode = "Socket Mode connected; " if socket_connected is not None else ""
        return f"{mode}token accepted for workspace {answer.get('team')}"
    return probe


def slack_failure(exc: BaseException, token: str) -> str:
    """Slack's answer in a line: a refused token, Slack unavailable, or no answer at all."""
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        if status >= 500 or status == 429:
            return f"Slack is unavailable (HTTP {status}: {exc.response.get('error')})"
        return f"Slack refused the {token}: {exc.response.get('error')}"
    return f"Slack cannot be reached ({type(exc).__name__})"


def vault_probe(site_recovery: AzureSiteRecovery) -> Callable[[], str]:
    """The vault's fabrics and recovery plans can be listed."""
    def probe() -> str:
        try:
            fabrics, plans = site_recovery.probe_vault()
        except GatewayError as exc:
            raise ProbeFailed(_gateway_error(exc)) from None
        return f"vault readable ({fabrics} fabric(s), {plans} recovery plan(s) on the first page)"
    return probe


def vcenter_probe(vcenter: VCenterGateway) -> Callable[[], str]:
    """vCenter accepts the login."""
    def probe() -> str:
        try:
            missing = vcenter.probe()
        except GatewayError as exc:
            raise ProbeFailed(_gateway_error(exc)) from None
        return "login accepted" + (f"; missing privileges: {', '.join(missing)}"
                                   if missing else "")
    return probe


def _gateway_error(exc: GatewayError) -> str:
    """The gateway's own sentence and its first line of why (ARM's or vCenter's message)."""
    why = exc.why.splitlines()[0][:300] if exc.why else ""
    return f"{exc.what} {why}".strip()


def observe_routes(readiness: Readiness, engine: Engine) -> list[Route]:
    """`GET /readyz` (the last probe round) and `GET /metrics` (Prometheus text format)."""
    async def readyz(_: Request) -> Response:
        status, body = readiness.report()
        return JSONResponse(body, status_code=status)

    async def metrics_text(_: Request) -> Response:
        body, content_type = await run_in_threadpool(metrics.render, engine)
        return Response(content=body, headers={"Content-Type": content_type})

    return [Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_text, methods=["GET"])]
