"""Repository functions shared by the workflows: compare-and-set, outbox and audit writes.

Every state change goes through `transition`, an `UPDATE … WHERE id = ? AND status IN (…)`
whose row count says whether this caller won; retries, double clicks and other replicas
lose cleanly instead of acting twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
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
    names_a_row,
    utcnow,
)
from store.slack_names import name_of


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
    """Record an event with the actor's and the request channel's names as known now; a
    refused click may name a number no row can have: it is kept in `detail` instead."""
    if request_id is not None and not names_a_row(request_id):
        request_id, detail = None, {**detail, "named": str(request_id)}
    request = session.get(Request, request_id) if request_id is not None else None
    channel = request.channel_id if request is not None else ""
    session.add(AuditEvent(request_id=request_id, actor=actor, actor_name=name_of(session, actor),
                           channel_id=channel, channel_name=name_of(session, channel),
                           action=action, detail=detail))


def acquire_locks(session: Session, request_id: int, item_ids: Iterable[str]) -> Request | None:
    """Lock every item for `request_id`, or return the open request holding one of them.

    Each lock is taken by a write before anything is read: an `INSERT … ON CONFLICT DO
    NOTHING` that either takes a free item or finds the row, then, for a row that exists, a
    row lock (`FOR UPDATE` on PostgreSQL; SQLite's single writer, held since that insert) under
    which its holder's status is read fresh and the row is taken over only from a request
    that is no longer open. Whoever reopens a request (a Retry) takes its locks the same way,
    so it waits for that row lock too: a lock another request committed is never taken or
    deleted by a decision made before it. A lock row lives only while its holder is open
    (`transition` releases it), so the common case is the one insert.
    """
    for key in sorted({i.lower() for i in item_ids}):
        holder = _lock_item(session, request_id, key)
        if holder is not None:
            return holder
    return None


def _lock_item(session: Session, request_id: int, key: str) -> Request | None:
    for _ in range(3):
        inserted = session.execute(
            _insert_for(session)(ItemLock).values(item_key=key, request_id=request_id)
            .on_conflict_do_nothing(index_elements=["item_key"])
            .returning(col(ItemLock.request_id))).scalar_one_or_none()
        if inserted is not None:
            return None
        holder_id = session.execute(
            select(ItemLock.request_id).where(col(ItemLock.item_key) == key)
            .with_for_update()).scalar_one_or_none()
        if holder_id is None:  # released between the two statements: insert again
            continue
        if holder_id == request_id:
            return None
        holder = session.get(Request, holder_id, populate_existing=True)
        if holder is not None and holder.status in LOCKING_STATUSES:
            return holder
        session.execute(update(ItemLock).where(col(ItemLock.item_key) == key)
                        .values(request_id=request_id))
        return None
    raise RuntimeError(f"item lock {key} kept changing hands")


def _insert_for(session: Session) -> Any:
    """The dialect's INSERT, which knows `ON CONFLICT` on SQLite and PostgreSQL alike."""
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql"
            else sqlite.insert)


def release_locks(session: Session, request_id: int) -> None:
    session.execute(delete(ItemLock).where(col(ItemLock.request_id) == request_id))


def vote_retry(session: Session, run_id: int, user_id: str) -> tuple[bool, frozenset[str]] | None:
    """Record `user_id`'s approval of a failed run's Retry under the run's row lock: whether
    it was new, and everyone who approved this retry so far; None once the run is not
    failed. Concurrent clicks wait on the lock, so the last one counts everyone before."""
    locked = session.execute(update(Run).where(col(Run.id) == run_id,
                                               col(Run.status) == RunStatus.FAILED)
                             .values(status=RunStatus.FAILED))
    if not locked.rowcount:  # type: ignore[attr-defined]
        return None
    run = session.get(Run, run_id, populate_existing=True)
    assert run is not None
    voters = retried_by(run)
    if user_id in voters:
        return False, voters
    run.flags = {**run.flags, RETRY_VOTES: sorted(voters | {user_id})}
    session.add(run)
    return True, voters | {user_id}


def retried_by(run: Run) -> frozenset[str]:
    """Who approved the Retry of the run's current failure (a restart clears them)."""
    return frozenset(run.flags.get(RETRY_VOTES, ()))


RETRY_VOTES = "retry_by"


def get_request(session: Session, request_id: int) -> Request | None:
    if not names_a_row(request_id):
        return None
    return session.get(Request, request_id, populate_existing=True)


def get_run(session: Session, run_id: int) -> Run | None:
    return session.get(Run, run_id) if names_a_row(run_id) else None


def runs_of(session: Session, request_id: int) -> list[Run]:
    return list(session.exec(select(Run).where(Run.request_id == request_id)
                             .order_by(col(Run.id))).all())


def lead_runs(session: Session, request_ids: Iterable[int]) -> dict[int, Run]:
    """The first run of each request (lowest id): in a plan-scope operation, the one whose
    write covers the whole plan."""
    first = select(func.min(Run.id)).where(col(Run.request_id).in_(list(request_ids))) \
        .group_by(col(Run.request_id))
    return {r.request_id: r for r in session.exec(select(Run).where(col(Run.id).in_(first)))}


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
