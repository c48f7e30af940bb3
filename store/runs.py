"""The runner's lease queries: which runs a replica may look at, and letting them go.

A lease is a compare-and-set in the database (`UPDATE … WHERE lease is free`), so several
replicas never poll or submit the same run at once; every later change of a leased run
is fenced on `lease_owner`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from store.models import FINAL_RUN_STATUSES, Run


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
