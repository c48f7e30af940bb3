"""What a transaction records beside its change: the audit row, and the event for Slack
(the transactional outbox), kept iff the change commits."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from core.events import Event, encode
from store.models import (
    AuditEvent,
    Outbox,
    OutboxKind,
    Request,
    names_a_row,
)
from store.slack_names import name_of


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
