"""HTTP surface: `POST /slack/events` (Bolt) and `GET /healthz`, served by uvicorn.

Bolt's `dispatch` is synchronous, so it runs in a worker thread and the event loop keeps
accepting connections during a click storm. uvicorn finishes in-flight requests on SIGTERM.
"""

from __future__ import annotations

import logging

import uvicorn
from slack_bolt import App, BoltRequest
from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.scheduler import Ticker

log = logging.getLogger(__name__)


def build_http_app(*, app: App, engine: Engine, ticker: Ticker, slack_events: bool) -> Starlette:
    async def events(request: Request) -> Response:
        body = (await request.body()).decode("utf-8")
        bolt_request = BoltRequest(body=body, query=request.url.query,
                                   headers={k: v for k, v in request.headers.items()})
        result = await run_in_threadpool(app.dispatch, bolt_request)
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

    routes = [Route("/healthz", healthz, methods=["GET"])]
    if slack_events:
        routes.append(Route("/slack/events", events, methods=["POST"]))
    return Starlette(routes=routes)


def _database_ok(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception as exc:
        log.warning("health check: database unreachable: %s", exc)
        return False


def make_server(http_app: Starlette, port: int, host: str = "0.0.0.0") -> uvicorn.Server:
    config = uvicorn.Config(http_app, host=host, port=port, log_level="warning",
                            access_log=False, backlog=2048, timeout_graceful_shutdown=30,
                            lifespan="off")
    return uvicorn.Server(config)
