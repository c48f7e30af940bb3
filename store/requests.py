"""Requests: reads, and every change of state by compare-and-set.

Every state change goes through `transition`, an `UPDATE … WHERE id = ? AND status IN (…)`
whose row count says whether this caller won; retries, double clicks and other replicas
lose cleanly instead of acting twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from store.locks import release_locks
from store.models import (
    LOCKING_STATUSES,
    Request,
    RequestStatus,
    names_a_row,
    utcnow,
)


def transition(session: Session, request_id: int, expected: Iterable[RequestStatus],
               new: RequestStatus, **values: Any) -> bool:
    """Move a request from one of `expected` to `new`; True only for the one caller that did.
    A request that stops being open releases its item locks in the same transaction."""
    result = session.execute(
        update(Request)
        .where(col(Request.id) == request_id, col(Request.status).in_(list(expected)))
        .values(status=new, updated_at=utcnow(), **values)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    if new not in LOCKING_STATUSES:
        release_locks(session, request_id)
    return True


def get_request(session: Session, request_id: int) -> Request | None:
    if not names_a_row(request_id):
        return None
    return session.get(Request, request_id, populate_existing=True)


def requests_in(session: Session, channel_id: str, limit: int) -> list[Request]:
    """The channel's latest requests, newest first (`/reprotect status`)."""
    return list(session.exec(select(Request).where(Request.channel_id == channel_id)
                             .order_by(col(Request.id).desc()).limit(limit)).all())


def requests_with(session: Session, status: RequestStatus) -> list[Request]:
    """Every request in `status`."""
    return list(session.exec(select(Request).where(Request.status == status)).all())


def requests_since(session: Session, status: RequestStatus, before: datetime) -> list[int]:
    """Ids of requests in `status` created before `before` (preflights cut short)."""
    ids = session.exec(select(Request.id).where(
        Request.status == status, col(Request.created_at) < before)).all()
    return [i for i in ids if i is not None]


def pending_due(session: Session, now: datetime) -> list[Request]:
    """Pending requests whose approval time ran out."""
    return list(session.exec(select(Request).where(
        Request.status == RequestStatus.PENDING, col(Request.expires_at) <= now)).all())
