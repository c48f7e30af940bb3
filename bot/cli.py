"""`reprotect-bot serve | migrate | check | sandbox | audit`: the only entry points."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from bot import logs
from bot.help_text import DESCRIPTION, settings_epilog
from bot.settings import SettingsError, load_log_settings, load_settings
from store.database_url import (
    database_unreachable,
    database_url_problem,
    sqlite_file,
    sqlite_problem,
)

if TYPE_CHECKING:
    from bot.settings import Settings
    from store.db import Engine

log = logging.getLogger("reprotect_bot")
EXIT_CONFIG = 2
DEFAULT_DATABASE_URL = "sqlite:///reprotect.db"


def _version() -> str:
    try:
        return version("reprotect-bot")
    except PackageNotFoundError:  # run from a checkout that was not installed
        return "unknown (not installed)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reprotect-bot", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"reprotect-bot {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    raw = argparse.RawDescriptionHelpFormatter
    sub.add_parser("serve", help="run the bot (HTTP on $PORT, or Socket Mode with "
                                 "SLACK_APP_TOKEN)", formatter_class=raw,
                   description=textwrap.fill(
                       "Run the bot: POST /slack/events, GET /healthz (liveness), /readyz "
                       "(readiness), /metrics (Prometheus) on $PORT; Socket Mode when "
                       "SLACK_APP_TOKEN is set. Applies pending migrations at start. SIGTERM "
                       "finishes requests and exits 0."),
                   epilog=settings_epilog())
    sub.add_parser("migrate", help="bring the database schema up to date (needs only "
                                   "DATABASE_URL)")
    check = sub.add_parser("check", help="try every configured dependency once (Slack, the "
                                         "vault, vCenter, the database); exit 0 or 1",
                           formatter_class=raw, epilog=settings_epilog(),
                           description=textwrap.fill(
                               "Reads the same settings as serve, tries each dependency once, "
                               "prints one line per check and lists every failure. Exit 0 "
                               "when none failed, 1 otherwise."))
    check.add_argument("--timeout", type=float, default=20.0,
                       help="seconds each check may take (default 20)")
    sandbox = sub.add_parser("sandbox", help="walk through a 3-VM failback with emulators only")
    sandbox.add_argument("--keep-running", action="store_true",
                         help="after the walk-through, file a pending, a blocked and a "
                              "failing plan and answer commands typed at a prompt (`help`)")
    sandbox.add_argument("--vms", type=int, default=3, help="VMs in the sample plan (1-100)")
    sandbox.add_argument("--modernized", action="store_true",
                         help="a vault of the modernized architecture (replication appliance, "
                              "`appliance=`) instead of the classic one (master target)")
    audit = sub.add_parser("audit", help="export the audit trail (needs only DATABASE_URL)")
    audit.add_argument("--since", type=_utc, help="ISO date or time, UTC unless an offset is "
                                                  "given (e.g. 2026-11-26T03:00)")
    audit.add_argument("--request", type=int, help="only this request number")
    audit.add_argument("--format", choices=("csv", "json"), default="csv")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        log_settings = load_log_settings()
        logs.configure(log_settings.log_format, log_settings.log_level)
    except SettingsError as exc:
        logs.configure()
        problems = exc.lines
        if args.command in ("serve", "check"):  # report the other settings' problems too
            problems += [p for p in _settings_problems() if p not in problems]
        logs.error_lines(problems)
        return EXIT_CONFIG
    try:
        if args.command == "serve":
            return serve()
        if args.command == "check":
            return check(args.timeout)
        if args.command == "migrate":
            return migrate()
        if args.command == "audit":
            return export_audit(args.since, args.request, args.format)
        from sandbox.walkthrough import run_sandbox

        return run_sandbox(keep_running=args.keep_running, vms=args.vms,
                           modernized=args.modernized)
    except SettingsError as exc:
        logs.error_lines(exc.lines)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def _settings_problems() -> list[str]:
    try:
        load_settings()
    except SettingsError as exc:
        return exc.lines
    return []


def serve() -> int:
    """Run until SIGTERM/SIGINT, then finish requests, stop ticking and exit 0."""
    from bot.container import build
    from bot.health import observe_routes
    from bot.server import build_http_app, make_server
    from store.db import DatabaseError

    settings = _settings_and_database()
    try:
        services = build(settings)
    except DatabaseError as exc:  # the database went away between the check and here
        raise SettingsError([f"DATABASE_URL: the database failed at start-up "
                             f"({type(exc).__name__})"]) from None
    try:
        services.start_background()
        http_app = build_http_app(app=services.app, engine=services.engine,
                                  ticker=services.ticker,
                                  signing_secret=settings.events_signing_secret,
                                  extra_routes=observe_routes(services.readiness,
                                                              services.engine))
        if services.socket_mode is not None:
            log.info("Socket Mode: connecting; /healthz, /readyz and /metrics on port %d",
                     settings.port)
        else:
            log.info("listening on 0.0.0.0:%d (POST /slack/events, GET /healthz, /readyz, "
                     "/metrics)", settings.port)
        # uvicorn re-raises the stop signal after its graceful shutdown; a no-op handler
        # lets `serve` close the scheduler and exit 0 instead of dying by the signal.
        for stop in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop, lambda *_: None)
        make_server(http_app, settings.port, limits=settings.http_limits).run()
    finally:
        services.close()
        log.info("stopped cleanly")
    return 0


def _settings_and_database() -> Settings:
    """The settings, then the database they name reached: every problem found, one line each
    (the database is tried even when other settings are wrong)."""
    try:
        settings, problems = load_settings(), []
    except SettingsError as exc:
        settings, problems = None, exc.lines
    if not any(p.startswith("DATABASE_URL") for p in problems):
        url = settings.database_url if settings else os.environ.get("DATABASE_URL",
                                                                    DEFAULT_DATABASE_URL)
        problems += _database_problems(url)
    if problems or settings is None:
        raise SettingsError(problems)
    return settings


def _database_problems(url: str) -> list[str]:
    from store.db import make_engine

    problem = database_url_problem(url)
    sqlite = sqlite_file(url) if problem is None else None
    if sqlite is not None:
        problem = sqlite_problem(sqlite)
    elif problem is None:
        engine = make_engine(url)
        try:
            problem = database_unreachable(engine)
        finally:
            engine.dispose()
    return [f"DATABASE_URL: {problem}"] if problem else []


def check(timeout: float) -> int:
    from bot.check import run_checks

    return run_checks(load_settings(), timeout=timeout)


def _utc(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date or time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _database_engine() -> Engine:
    """An engine from DATABASE_URL alone, reachable: `migrate` and `audit` need nothing else."""
    from store.db import make_engine

    url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    problems = _database_problems(url)
    if problems:
        raise SettingsError(problems)
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
