"""Repository functions shared by the workflows: compare-and-set, outbox and audit writes.

Every state change goes through `transition`, an `UPDATE … WHERE id = ? AND status IN (…)`
whose row count says whether this caller won; retries, double clicks and other replicas
lose cleanly instead of acting twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from core.events import Event, encode
from store.models import (
    LOCKING_STATUSES,
    AuditEvent,
    ItemLock,
    Outbox,
    OutboxKind,
    Request,
    RequestStatus,
    Run,
    RunStatus,
    utcnow,
)


def transition(session: Session, request_id: int, expected: Iterable[RequestStatus],
               new: RequestStatus, **values: Any) -> bool:
    """Move a request from one of `expected` to `new`; True only for the one caller that did."""
    result = session.execute(
        update(Request)
        .where(col(Request.id) == request_id, col(Request.status).in_(list(expected)))
        .values(status=new, updated_at=utcnow(), **values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def transition_run(session: Session, run_id: int, expected: Iterable[RunStatus],
                   new: RunStatus, *, owner: str | None = None, **values: Any) -> bool:
    """Compare-and-set on a run, as `transition` does on a request; with `owner`, only while
    that replica holds the run's lease (another replica may have taken it over)."""
    where = [col(Run.id) == run_id, col(Run.status).in_(list(expected))]
    if owner is not None:
        where.append(col(Run.lease_owner) == owner)
    result = session.execute(update(Run).where(*where).values(status=new, **values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def enqueue(session: Session, request: Request, event: Event) -> None:
    """Queue an event for Slack in the caller's transaction: it is sent iff the change
    commits, as the kind of message its type says (root, root edit, reply, progress)."""
    assert request.id is not None
    session.add(Outbox(request_id=request.id, kind=OutboxKind(event.delivery.value),
                       channel_id=request.channel_id, payload=encode(event)))


def audit(session: Session, actor: str, action: str, request_id: int | None = None,
          **detail: Any) -> None:
    session.add(AuditEvent(request_id=request_id, actor=actor, action=action, detail=detail))


def acquire_locks(session: Session, request_id: int, item_ids: Iterable[str]) -> Request | None:
    """Lock every item for `request_id`, or return the open request holding one of them.

    A lock counts only while its holder is pending, approved or executing, so locks of
    finished, expired or crashed requests are taken over here, never cleaned up elsewhere.
    A concurrent taker makes the insert fail (IntegrityError): the caller looks again.
    """
    keys = sorted({i.lower() for i in item_ids})
    held = session.exec(select(ItemLock, Request)
                        .join(Request, col(ItemLock.request_id) == col(Request.id))
                        .where(col(ItemLock.item_key).in_(keys))).all()
    for _, holder in held:
        if holder.id != request_id and holder.status in LOCKING_STATUSES:
            return holder
    stale = [lock.item_key for lock, _ in held]
    if stale:
        session.execute(delete(ItemLock).where(col(ItemLock.item_key).in_(stale)))
    session.add_all(ItemLock(item_key=key, request_id=request_id) for key in keys)
    session.flush()
    return None


def get_request(session: Session, request_id: int) -> Request | None:
    return session.get(Request, request_id, populate_existing=True)


def runs_of(session: Session, request_id: int) -> list[Run]:
    return list(session.exec(select(Run).where(Run.request_id == request_id)
                             .order_by(col(Run.id))).all())
