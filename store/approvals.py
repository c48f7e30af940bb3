"""A request's approvals, and the manual items approvers ticked."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from store.models import (
    Approval,
    ManualConfirmation,
    Request,
)


def approvals_of(session: Session, request_id: int) -> list[Approval]:
    """The request's approvals, oldest first."""
    return list(session.exec(select(Approval).where(Approval.request_id == request_id)
                             .order_by(col(Approval.id))).all())


def approvers_of(session: Session, request: Request) -> set[str]:
    """Who approved the request's current fingerprint, the requester left out."""
    return set(session.exec(select(Approval.approver_id).where(
        Approval.request_id == request.id, Approval.fingerprint == request.fingerprint,
        Approval.approver_id != request.requester_id)).all())


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
