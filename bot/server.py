"""HTTP surface: `POST /slack/events` (Bolt) and `GET /healthz`, served by uvicorn.

Bolt's `dispatch` is synchronous, so it runs in a worker thread and the event loop keeps
accepting connections during a click storm. uvicorn finishes in-flight requests on SIGTERM.
Before Bolt sees a request, its size is capped (from the headers, then while reading), its
signature is checked on the raw bytes, and anything malformed is a 400: no 500, no traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import uvicorn
from slack_bolt import App, BoltRequest
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.http_limits import HttpLimits, protocol_with
from bot.scheduler import Ticker
from store.db import Engine, ping

log = logging.getLogger(__name__)

# Slack's largest payloads (a block_actions carrying a 50-block message and a view's state)
# are well under this.
MAX_BODY_BYTES = 1 << 20


def build_http_app(*, app: App, engine: Engine, ticker: Ticker,
                   signing_secret: str | None, extra_routes: Sequence[Route] = ()) -> Starlette:
    """`/slack/events` is served only with a signing secret (HTTP mode never runs unverified);
    without one (Socket Mode) only `/healthz` and `extra_routes` (readiness, metrics) are."""
    verifier = SignatureVerifier(signing_secret) if signing_secret is not None else None

    async def events(request: Request) -> Response:
        assert verifier is not None
        try:
            raw = await _read_capped(request)
        except ClientDisconnect:  # gone mid-body (or cut off by the read deadline)
            log.debug("a client left before its body arrived")
            return Response(status_code=400)
        if raw is None:
            return _refuse(413, f"body larger than {MAX_BODY_BYTES} bytes")
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _refuse(400, "body is not UTF-8")
        headers = dict(request.headers.items())
        if not _signed(verifier, body, headers):
            return _refuse(401, "invalid or missing Slack signature")
        try:
            bolt_request = BoltRequest(body=body, query=request.url.query,
                                       headers=dict(headers.items()))
            result = await run_in_threadpool(app.dispatch, bolt_request)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            # Raised by Bolt while parsing or routing a payload Slack would not send (JSON
            # nested past Python's recursion limit included).
            return _refuse(400, f"malformed payload ({type(exc).__name__}: {exc})")
        headers = {k: v[0] for k, v in result.headers.items() if v and k.lower() !=
                   "content-length"}
        return Response(content=result.body, status_code=result.status, headers=headers)

    async def healthz(_: Request) -> Response:
        database = await run_in_threadpool(_database_ok, engine)
        healthy = database and ticker.running
        return JSONResponse({"status": "ok" if healthy else "unavailable",
                             "database": "ok" if database else "unreachable",
                             "scheduler": "running" if ticker.running else "stopped"},
                            status_code=200 if healthy else 503)

    routes = [Route("/healthz", healthz, methods=["GET"]), *extra_routes]
    if verifier is not None:
        routes.append(Route("/slack/events", events, methods=["POST"]))
    return Starlette(routes=routes)


async def _read_capped(request: Request) -> bytes | None:
    """The body, or None past MAX_BODY_BYTES: refused from Content-Length when it says so,
    else cut off while streaming, so a large body is never held in memory."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return bytes(body)


def _signed(verifier: SignatureVerifier, body: str, headers: dict[str, str]) -> bool:
    try:
        return verifier.is_valid_request(body, headers)
    except ValueError:  # a timestamp header that is not a number
        return False
    except TypeError:  # a signature with non-ASCII bytes: `hmac.compare_digest` refuses it
        return False


def _refuse(status: int, why: str) -> Response:
    log.warning("refused a request to /slack/events: %d %s", status, why)
    return Response(content=why, status_code=status, media_type="text/plain")


def _database_ok(engine: Engine) -> bool:
    try:
        ping(engine)
        return True
    except Exception as exc:
        log.warning("health check: database unreachable: %s", exc)
        return False


def make_server(http_app: Starlette, port: int, host: str = "0.0.0.0",
                limits: HttpLimits | None = None) -> uvicorn.Server:
    """uvicorn with the bot's deadline and connection cap (`bot.http_limits`). log_config=None:
    its lines and access log go through the process's logging (`bot.logs`: text or JSON,
    levels set there)."""
    config = uvicorn.Config(http_app, host=host, port=port, log_config=None, log_level=None,
                            access_log=True, backlog=2048, timeout_graceful_shutdown=30,
                            lifespan="off", http=protocol_with(limits or HttpLimits()))
    return uvicorn.Server(config)
