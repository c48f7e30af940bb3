"""The power guard's rows: the requests it watches and the last power state seen of each
AVS VM, moved by compare-and-set so one replica warns once per power-on."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from store.models import (
    PowerWatch,
    Request,
    RequestStatus,
    utcnow,
)


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
