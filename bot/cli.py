"""`reprotect-bot serve | migrate | sandbox`: the only entry points (see runtime contract)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.settings import SettingsError, load_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger("reprotect_bot")
EXIT_CONFIG = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reprotect-bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the bot (HTTP on $PORT, or Socket Mode with "
                                 "SLACK_APP_TOKEN)")
    sub.add_parser("migrate", help="bring the database schema up to date")
    audit = sub.add_parser("audit", help="export the audit trail (needs DATABASE_URL)")
    audit.add_argument("--since", type=_utc, help="ISO date or time, UTC unless an offset is "
                                                  "given (e.g. 2026-11-26T03:00)")
    audit.add_argument("--request", type=int, help="only this request number")
    audit.add_argument("--format", choices=("csv", "json"), default="csv")
    sandbox = sub.add_parser("sandbox", help="walk through a 3-VM failback with emulators only")
    sandbox.add_argument("--keep-running", action="store_true",
                         help="after the walk-through, file a pending, a blocked and a "
                              "failing plan and answer commands typed at a prompt (`help`)")
    sandbox.add_argument("--vms", type=int, default=3, help="VMs in the sample plan (1-100)")
    sandbox.add_argument("--modernized", action="store_true",
                         help="a vault of the modernized architecture (replication appliance, "
                              "`appliance=`) instead of the classic one (master target)")
    args = parser.parse_args(argv)
    _logging()
    try:
        if args.command == "serve":
            return serve()
        if args.command == "migrate":
            return migrate()
        if args.command == "audit":
            return export_audit(args.since, args.request, args.format)
        from sandbox.walkthrough import run_sandbox

        return run_sandbox(keep_running=args.keep_running, vms=args.vms,
                           modernized=args.modernized)
    except SettingsError as exc:
        print(f"reprotect-bot: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def _logging() -> None:
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=getattr(logging, level, logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("azure", "urllib3", "slack_sdk", "slack_bolt", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def serve() -> int:
    """Run until SIGTERM/SIGINT, then finish requests, stop ticking and exit 0."""
    from bot.container import build
    from bot.server import build_http_app, make_server

    settings = load_settings()
    services = build(settings)
    socket_mode = None
    try:
        services.start_background()
        http_app = build_http_app(app=services.app, engine=services.engine,
                                  ticker=services.ticker,
                                  signing_secret=settings.events_signing_secret)
        if settings.slack_app_token is not None:
            from bot.socket_mode import SocketModeRunner

            socket_mode = SocketModeRunner(services.app,
                                           settings.slack_app_token.get_secret_value())
            socket_mode.start()
            log.info("Socket Mode: connecting; /healthz on port %d", settings.port)
        else:
            log.info("listening on 0.0.0.0:%d (POST /slack/events, GET /healthz)",
                     settings.port)
        # uvicorn re-raises the stop signal after its graceful shutdown; a no-op handler
        # lets `serve` close the scheduler and exit 0 instead of dying by the signal.
        for stop in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop, lambda *_: None)
        make_server(http_app, settings.port).run()
    finally:
        if socket_mode is not None:
            socket_mode.close()
        services.close()
        log.info("stopped cleanly")
    return 0


def _utc(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _database_engine() -> Engine:
    """An engine from DATABASE_URL alone: `migrate` and `audit` need nothing else."""
    from store.db import make_engine

    url = os.environ.get("DATABASE_URL", "sqlite:///reprotect.db")
    if not url.startswith(("sqlite", "postgresql")):
        raise SettingsError("DATABASE_URL: must be a SQLAlchemy URL for SQLite or PostgreSQL")
    return make_engine(url)


def migrate() -> int:
    from store.db import migrate as upgrade

    upgrade(_database_engine())
    log.info("database schema is up to date")
    return 0


def export_audit(since: datetime | None, request_id: int | None, fmt: str) -> int:
    from store.audit_export import audit_rows, to_csv, to_json
    from store.db import schema_is_current

    engine = _database_engine()
    if not schema_is_current(engine):
        print("reprotect-bot: the database schema is not up to date (or empty): run "
              "`reprotect-bot migrate` against this DATABASE_URL first.", file=sys.stderr)
        return 1
    rows = audit_rows(engine, since=since, request_id=request_id)
    sys.stdout.write(to_json(rows) if fmt == "json" else to_csv(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
