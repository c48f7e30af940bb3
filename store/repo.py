"""Repository functions shared by the workflows: compare-and-set, outbox and audit writes.

Every state change goes through `transition`, an `UPDATE … WHERE id = ? AND status IN (…)`
whose row count says whether this caller won; retries, double clicks and other replicas
lose cleanly instead of acting twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from core.events import Event, encode
from store.models import (
    LOCKING_STATUSES,
    Approval,
    AuditEvent,
    ItemLock,
    ManualConfirmation,
    Outbox,
    OutboxKind,
    PowerWatch,
    Request,
    RequestStatus,
    Run,
    RunStatus,
    utcnow,
)
from store.slack_names import name_of


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
    """Record an event with the actor's and the request channel's names as known now."""
    request = session.get(Request, request_id) if request_id is not None else None
    channel = request.channel_id if request is not None else ""
    session.add(AuditEvent(request_id=request_id, actor=actor, actor_name=name_of(session, actor),
                           channel_id=channel, channel_name=name_of(session, channel),
                           action=action, detail=detail))


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


def approvals_of(session: Session, request_id: int) -> list[Approval]:
    """The request's approvals, oldest first."""
    return list(session.exec(select(Approval).where(Approval.request_id == request_id)
                             .order_by(col(Approval.id))).all())


def requests_in(session: Session, channel_id: str, limit: int) -> list[Request]:
    """The channel's latest requests, newest first (`/reprotect status`)."""
    return list(session.exec(select(Request).where(Request.channel_id == channel_id)
                             .order_by(col(Request.id).desc()).limit(limit)).all())


def requests_since(session: Session, status: RequestStatus, before: datetime) -> list[int]:
    """Ids of requests in `status` created before `before` (preflights cut short)."""
    ids = session.exec(select(Request.id).where(
        Request.status == status, col(Request.created_at) < before)).all()
    return [i for i in ids if i is not None]


def pending_due(session: Session, now: datetime) -> list[Request]:
    """Pending requests whose approval time ran out."""
    return list(session.exec(select(Request).where(
        Request.status == RequestStatus.PENDING, col(Request.expires_at) <= now)).all())


def confirmations(session: Session, request_id: int) -> dict[str, tuple[str, datetime]]:
    """Ticked manual item keys with who ticked them and when."""
    rows = session.exec(select(ManualConfirmation)
                        .where(ManualConfirmation.request_id == request_id)).all()
    return {r.item_key: (r.user_id, r.at) for r in rows}


def confirm(session: Session, request_id: int, user_id: str, keys: Iterable[str]) -> None:
    session.add_all(ManualConfirmation(request_id=request_id, item_key=key, user_id=user_id)
                    for key in keys)


def unconfirm(session: Session, request_id: int, keys: Iterable[str]) -> None:
    session.execute(delete(ManualConfirmation).where(
        col(ManualConfirmation.request_id) == request_id,
        col(ManualConfirmation.item_key).in_(list(keys))))


def watched_requests(session: Session, finished_since: datetime) -> list[Request]:
    """Executing requests, and those that finished since `finished_since` (power guard)."""
    return list(session.exec(select(Request).where(or_(
        col(Request.status) == RequestStatus.EXECUTING,
        col(Request.status).in_([RequestStatus.DONE, RequestStatus.FAILED])
        & (col(Request.finished_at) >= finished_since)))).all())


def power_watches(session: Session, request_id: int) -> dict[str, PowerWatch]:
    """The last power state seen of each of the request's AVS VMs, by VM reference."""
    return {w.vm_ref: w for w in session.exec(
        select(PowerWatch).where(PowerWatch.request_id == request_id)).all()}


def move_power_state(session: Session, row: PowerWatch, state: str) -> bool:
    """Compare-and-set the state: True for the one caller that saw this transition."""
    result = session.execute(update(PowerWatch).where(
        col(PowerWatch.id) == row.id, col(PowerWatch.state) == row.state)
        .values(state=state, updated_at=utcnow()))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_warned(session: Session, request_id: int, vm_names: Iterable[str]) -> None:
    session.execute(update(PowerWatch).where(
        col(PowerWatch.request_id) == request_id,
        col(PowerWatch.vm_name).in_(list(vm_names))).values(warned_at=utcnow()))
