"""The outbox's queries: which threads are due, leases per thread, and a row's fate.

A replica leases all of a request's pending rows at once (one sender per thread keeps its
order) and renews that lease, by compare-and-set on owner and status, before each send.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import Engine, or_, update
from sqlmodel import col, select

from store.db import read_scope, session_scope
from store.models import Outbox, OutboxKind, OutboxStatus, Request, utcnow


def due_requests(engine: Engine) -> list[int]:
    """Requests with a pending message whose time has come, in id order."""
    with read_scope(engine) as session:
        rows = session.exec(select(Outbox.request_id).where(
            Outbox.status == OutboxStatus.PENDING,
            col(Outbox.next_attempt_at) <= utcnow()).distinct()).all()
    return sorted(set(rows))


def pending(engine: Engine, request_id: int) -> tuple[list[Outbox], Request | None]:
    """The request's pending messages in order, with the request as it is now."""
    with read_scope(engine) as session:
        rows = session.exec(select(Outbox).where(
            Outbox.request_id == request_id, Outbox.status == OutboxStatus.PENDING)
            .order_by(col(Outbox.id))).all()
        return list(rows), session.get(Request, request_id)


def held_replies(engine: Engine, row: Outbox, owner: str) -> list[Outbox]:
    """The replies queued after `row` that this replica holds: candidates to merge into it."""
    with read_scope(engine) as session:
        return list(session.exec(select(Outbox).where(
            Outbox.request_id == row.request_id, Outbox.status == OutboxStatus.PENDING,
            Outbox.lease_owner == owner, col(Outbox.id) > row.id,
            Outbox.kind == OutboxKind.REPLY).order_by(col(Outbox.id))).all())


def progress_ts(engine: Engine, row: Outbox) -> str | None:
    """The thread's progress message, once posted: later progress edits it in place. The
    latest one: a deleted progress message is posted again (`bot.outbox`)."""
    with read_scope(engine) as session:
        return session.exec(select(Outbox.ts).where(
            Outbox.request_id == row.request_id, Outbox.kind == OutboxKind.PROGRESS,
            Outbox.status == OutboxStatus.SENT, col(Outbox.ts).is_not(None))
            .order_by(col(Outbox.id).desc())).first()


def sent_of_types(engine: Engine, request_id: int, types: Collection[str]) -> int:
    """How many of the request's replies of these event types were sent."""
    with read_scope(engine) as session:
        rows = session.exec(select(Outbox.payload).where(
            Outbox.request_id == request_id, Outbox.kind == OutboxKind.REPLY,
            Outbox.status == OutboxStatus.SENT)).all()
    return sum(1 for payload in rows if payload.get("type") in types)


def claim(engine: Engine, request_id: int, owner: str, lease: timedelta) -> bool:
    """Lease all of a request's pending rows, or none: one sender per thread keeps order."""
    now = utcnow()
    free = or_(col(Outbox.lease_until).is_(None), col(Outbox.lease_until) < now,
               col(Outbox.lease_owner) == owner)
    with session_scope(engine) as session:
        claimed = session.execute(update(Outbox).where(
            col(Outbox.request_id) == request_id,
            col(Outbox.status) == OutboxStatus.PENDING, free)
            .values(lease_owner=owner, lease_until=now + lease))
        if not claimed.rowcount:  # type: ignore[attr-defined]
            return False
        others = session.exec(select(Outbox.id).where(
            Outbox.request_id == request_id, Outbox.status == OutboxStatus.PENDING,
            col(Outbox.lease_owner) != owner)).first()
        if others is not None:
            session.rollback()
            return False
        return True


def renew(engine: Engine, row: Outbox, owner: str, lease: timedelta) -> bool:
    """Fence a send: extend this replica's lease on the request's rows, and only if it
    still holds the row about to go (a compare-and-set on owner and status)."""
    until = utcnow() + lease
    with session_scope(engine) as session:
        held = session.execute(update(Outbox).where(
            col(Outbox.id) == row.id, col(Outbox.status) == OutboxStatus.PENDING,
            col(Outbox.lease_owner) == owner).values(lease_until=until))
        if not held.rowcount:  # type: ignore[attr-defined]
            return False
        session.execute(update(Outbox).where(
            col(Outbox.request_id) == row.request_id,
            col(Outbox.status) == OutboxStatus.PENDING,
            col(Outbox.lease_owner) == owner).values(lease_until=until))
        return True


def release(engine: Engine, request_id: int, owner: str) -> None:
    with session_scope(engine) as session:
        session.execute(update(Outbox).where(
            col(Outbox.request_id) == request_id, col(Outbox.lease_owner) == owner)
            .values(lease_owner=None, lease_until=None))


def root_pending(engine: Engine, request_id: int) -> bool:
    with read_scope(engine) as session:
        return session.exec(select(Outbox.id).where(
            Outbox.request_id == request_id, Outbox.kind == OutboxKind.ROOT,
            Outbox.status == OutboxStatus.PENDING)).first() is not None


def superseded(engine: Engine, row: Outbox) -> bool:
    """An older edit of the root, or of the progress message, is pointless when a newer
    one is queued (the progress message shows every change up to the newest)."""
    with read_scope(engine) as session:
        return session.exec(select(Outbox.id).where(
            Outbox.request_id == row.request_id, Outbox.kind == row.kind,
            Outbox.status == OutboxStatus.PENDING, col(Outbox.id) > row.id)).first() \
            is not None


def set_root(engine: Engine, request_id: int, ts: str, permalink: str | None) -> None:
    """The request's thread root was posted: remember where."""
    with session_scope(engine) as session:
        session.execute(update(Request).where(col(Request.id) == request_id)
                        .values(message_ts=ts, permalink=permalink))


def postpone(engine: Engine, row: Outbox, why: str, until: datetime) -> None:
    with session_scope(engine) as session:
        session.execute(update(Outbox).where(col(Outbox.id) == row.id).values(
            attempts=row.attempts + 1, last_error=why[:500], next_attempt_at=until))


def finish(engine: Engine, row: Outbox, status: OutboxStatus, *, ts: str | None = None,
           error: str = "") -> None:
    with session_scope(engine) as session:
        session.execute(update(Outbox).where(col(Outbox.id) == row.id).values(
            status=status, sent_at=utcnow(), ts=ts, last_error=error, lease_owner=None,
            lease_until=None))
