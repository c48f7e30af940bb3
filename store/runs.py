"""Runs: compare-and-set on their status, the Retry votes, and the runner's leases.

A lease is a compare-and-set in the database (`UPDATE … WHERE lease is free`), so several
replicas never poll or submit the same run at once; every later change of a leased run
is fenced on `lease_owner`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from store.models import (
    FINAL_RUN_STATUSES,
    Run,
    RunStatus,
    names_a_row,
)


def transition_run(session: Session, run_id: int, expected: Iterable[RunStatus],
                   new: RunStatus, *, owner: str | None = None, **values: Any) -> bool:
    """Compare-and-set on a run, as `transition` does on a request; with `owner`, only while
    that replica holds the run's lease (another replica may have taken it over)."""
    where = [col(Run.id) == run_id, col(Run.status).in_(list(expected))]
    if owner is not None:
        where.append(col(Run.lease_owner) == owner)
    result = session.execute(update(Run).where(*where).values(status=new, **values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


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


def claim_due(session: Session, owner: str, now: datetime, until: datetime,
              batch: int) -> None:
    """Lease to `owner` until `until` up to `batch` due runs no replica holds."""
    free = or_(col(Run.lease_until).is_(None), col(Run.lease_until) < now)
    due = (select(Run.id).where(col(Run.status).not_in(list(FINAL_RUN_STATUSES)),
                                col(Run.next_poll_at) <= now, free)
           .order_by(col(Run.next_poll_at)).limit(batch))
    session.execute(update(Run).where(col(Run.id).in_(due.scalar_subquery()), free)
                    .values(lease_owner=owner, lease_until=until))


def leased_due(session: Session, owner: str, now: datetime) -> list[Run]:
    """The due runs `owner` holds, by request: not a run this replica is writing."""
    return list(session.exec(select(Run).where(
        Run.lease_owner == owner, col(Run.lease_until) > now,
        col(Run.next_poll_at) <= now, col(Run.status).not_in(list(FINAL_RUN_STATUSES)))
        .order_by(col(Run.request_id), col(Run.id))).all())


def release_leases(session: Session, run_ids: Sequence[int], owner: str,
                   next_poll_at: datetime) -> None:
    """Let go of the runs `owner` still holds, in one statement, polled at `next_poll_at`."""
    session.execute(update(Run).where(col(Run.id).in_(list(run_ids)),
                                      col(Run.lease_owner) == owner)
                    .values(lease_owner=None, lease_until=None, next_poll_at=next_poll_at))


def set_flags(session: Session, run_id: int | None, owner: str, flags: dict[str, Any]) -> None:
    """Store the run's flags while `owner` holds its lease."""
    session.execute(update(Run).where(col(Run.id) == run_id, col(Run.lease_owner) == owner)
                    .values(flags=flags))
