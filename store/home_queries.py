"""What the App Home lists: the requests of the channels a person can see."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlmodel import col, select

from store.db import read_scope
from store.models import OPEN_STATUSES, Request, Run


@dataclass(frozen=True)
class HomeRequest:
    """A request as the Home tab shows it, with its VMs' run states counted."""

    request: Request
    runs: dict[str, int]


def channels_with_requests(engine: Engine) -> list[str]:
    """Every channel the bot has taken a request in: the ones the Home tab may list."""
    with read_scope(engine) as session:
        return sorted(set(session.exec(select(Request.channel_id).distinct()).all()))


def home_requests(engine: Engine, channels: Collection[str], *,
                  recent: int) -> tuple[list[HomeRequest], list[HomeRequest]]:
    """The open requests of `channels` (all of them, oldest first) and the `recent` latest
    closed ones (newest first), each with its runs counted by state."""
    if not channels:
        return [], []
    with read_scope(engine) as session:
        where = col(Request.channel_id).in_(list(channels))
        opened = session.exec(select(Request).where(where, col(Request.status).in_(
            list(OPEN_STATUSES))).order_by(col(Request.id))).all()
        closed = session.exec(select(Request).where(where, col(Request.status).not_in(
            list(OPEN_STATUSES))).order_by(col(Request.id).desc()).limit(recent)).all()
        ids = [r.id for r in (*opened, *closed)]
        counts: dict[int, dict[str, int]] = {}
        for request_id, status in session.exec(select(Run.request_id, Run.status)
                                               .where(col(Run.request_id).in_(ids))).all():
            runs = counts.setdefault(request_id, {})
            runs[str(status)] = runs.get(str(status), 0) + 1
    return ([HomeRequest(r, counts.get(r.id or 0, {})) for r in opened],
            [HomeRequest(r, counts.get(r.id or 0, {})) for r in closed])


def database_error(engine: Engine) -> str:
    """"" when the database answers, else what went wrong (the App Home's readiness)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means the same to the reader: not ready
        return f"{type(exc).__name__}: the database did not answer"
    return ""
