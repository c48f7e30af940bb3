"""DATABASE_URL checked before use: its form, its backend, its driver, then its server.

Each problem is one line that never shows the URL (it can carry a password): SQLAlchemy's
and the drivers' own messages are replaced by what to do.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from store.db import ping

BACKENDS = ("sqlite", "postgresql")
EXTRA_FOR = {"postgresql": "pip install 'reprotect-bot[postgres]' (psycopg)"}


def database_url_problem(url: str) -> str | None:
    """What is wrong with the URL's form, backend or driver; None when it can be used."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        return ("is not a SQLAlchemy URL (e.g. sqlite:///reprotect.db or "
                "postgresql+psycopg://user:password@host/db)")
    backend = parsed.get_backend_name()
    if backend not in BACKENDS:
        return "must be a SQLAlchemy URL for SQLite or PostgreSQL"
    try:
        parsed.get_dialect().import_dbapi()
    except NoSuchModuleError:
        return (f"names a driver SQLAlchemy does not know ({parsed.get_driver_name()}); "
                "use postgresql+psycopg://… or sqlite:///…")
    except ImportError as exc:
        hint = EXTRA_FOR.get(backend, "install it")
        return (f"its driver ({parsed.get_driver_name()}) is not installed: {hint}; "
                f"missing module {exc.name}")
    return None


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (relative to the working directory); None for another backend
    or an in-memory database."""
    parsed = make_url(url)
    # No file: another backend, `sqlite://`, or SQLite's special names (in memory: ":…").
    if parsed.get_backend_name() != "sqlite" or not parsed.database \
            or parsed.database.startswith(":"):
        return None
    return Path(parsed.database)


def sqlite_problem(path: Path) -> str | None:
    """Why SQLite could not open or create `path`, checked without creating it (a start-up
    that fails for another setting must not leave an empty database behind)."""
    if path.exists():
        return None if os.access(path, os.R_OK | os.W_OK) else (
            "the SQLite file cannot be read and written by this user")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        return "the SQLite file's folder does not exist: create it, or change the path"
    if not os.access(folder, os.W_OK | os.X_OK):
        return "the SQLite file does not exist and its folder is not writable by this user"
    return None


def database_unreachable(engine: Engine) -> str | None:
    """Why the database cannot be used (without the URL or the driver's text, which can name
    the password's user and host); None when `SELECT 1` answers."""
    try:
        ping(engine)
    except SQLAlchemyError as exc:
        cause = type(getattr(exc, "orig", None) or exc).__name__
        return (f"the database cannot be reached ({cause}): check the host, port, "
                "credentials and database name, and that the server accepts connections")
    return None
