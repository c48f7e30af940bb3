"""Logging of the whole process: text by default, one JSON object per line with LOG_FORMAT=json.

Every line goes through the root logger's one handler on stderr: the bot's, the libraries',
uvicorn's (its own lines and access log), Python's warnings and uncaught exceptions in any
thread, so none escapes as free text. JSON lines are written by python-json-logger; each
carries `time` (ISO 8601, UTC), `level`, `logger`, `message`, and the request, run and VM ids
the domain set in `core.log_context` while it worked on them.
"""

from __future__ import annotations

import logging
import sys
import threading
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from core import log_context

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(ids)s"
# Libraries whose INFO lines are noise at 3 a.m.; their warnings still show.
QUIET = ("azure", "urllib3", "slack_sdk", "slack_bolt", "apscheduler", "alembic",
         "uvicorn.error")


class _ContextIds(logging.Filter):
    """Puts the ids of `core.log_context` on each record (JSON fields; a suffix in text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = log_context.current()
        for key, value in ids.items():
            setattr(record, key, value)
        record.ids = (" [" + " ".join(f"{k}={v}" for k, v in ids.items()) + "]") if ids else ""
        return True


class _Json(JsonFormatter):
    """python-json-logger with the field names the contract asks for."""

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord,
                   message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data.pop("ids", None)
        log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(
            timespec="milliseconds")
        log_data["level"] = record.levelname
        log_data["logger"] = record.name


def configure(log_format: str = "text", level: str = "INFO") -> None:
    """Replace the root logger's handlers with one stderr handler in `log_format`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextIds())
    if log_format == "json":
        handler.setFormatter(_Json("%(message)s", json_ensure_ascii=False))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    # uvicorn's access lines: one per HTTP request (probes included), so shown at DEBUG only.
    logging.getLogger("uvicorn.access").setLevel(
        logging.INFO if root.level <= logging.DEBUG else logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.captureWarnings(True)
    sys.excepthook = _uncaught
    threading.excepthook = _uncaught_in_thread


def _uncaught(kind: type[BaseException], exc: BaseException,
              tb: TracebackType | None) -> None:
    logging.getLogger("reprotect_bot").critical("uncaught %s", kind.__name__,
                                                exc_info=(kind, exc, tb))


def _uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    logging.getLogger("reprotect_bot").critical(
        "uncaught %s in thread %s", args.exc_type.__name__,
        args.thread.name if args.thread else "?",
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback))


def error_lines(lines: list[str]) -> None:
    """Start-up problems, one line each: plain text in text mode (no timestamp, as a shell
    user reads them), a JSON object each in JSON mode."""
    root = logging.getLogger()
    json_mode = any(isinstance(h.formatter, _Json) for h in root.handlers)
    for line in lines:
        if json_mode:
            logging.getLogger("reprotect_bot").error("configuration error: %s", line)
        else:
            print(f"reprotect-bot: configuration error: {line}", file=sys.stderr)
