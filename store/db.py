"""Engine, sessions and schema migrations: the only handle on the database the rest of the
bot holds (no module outside `store/` imports SQLAlchemy; a test keeps it).

SQLite (embedded, the default) and PostgreSQL (several replicas) through one SQLAlchemy URL.
Migrations are Alembic revisions shipped in the package, so `reprotect-bot migrate` works
from any directory after `pip install`. One session style: `session_scope` for a
transaction that writes, `read_scope` for reads; the queries are functions of `store/`
modules that take that session.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, create_engine

__all__ = ["Conflict", "DatabaseError", "Engine", "Session", "make_engine", "migrate", "ping",
           "read_scope", "schema_is_current", "session_scope"]

Conflict = IntegrityError  # a unique row another transaction (or replica) inserted first
DatabaseError = SQLAlchemyError

MIGRATIONS = Path(__file__).with_name("migrations")
PG_MIGRATION_LOCK = 0x52455052  # advisory lock id: replicas starting together migrate once


def make_engine(url: str) -> Engine:
    """An engine tuned for the backend: SQLite waits for locks instead of failing at once."""
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # connect_timeout: an unreachable server is reported at start-up, not waited on forever.
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                         connect_args={"connect_timeout": 10})


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """Reads only: nothing is committed; rows read stay usable after the block."""
    with Session(engine) as session:
        yield session


def ping(engine: Engine) -> None:
    """`SELECT 1` on a connection of its own; raises `DatabaseError` when it cannot."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe to run from several replicas at once."""
    config = _alembic_config(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": PG_MIGRATION_LOCK})
            try:
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
                conn.commit()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": PG_MIGRATION_LOCK})
                conn.commit()
        return
    command.upgrade(config, "head")


def schema_is_current(engine: Engine) -> bool:
    """True when the database is at the newest migration (health checks use this)."""
    head = ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() == head
