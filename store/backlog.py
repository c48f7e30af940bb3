"""Read-only figures for the bot's metrics: the Slack outbox's backlog."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, func
from sqlmodel import select

from store.db import read_scope
from store.models import Outbox, OutboxStatus


def outbox_backlog(engine: Engine) -> tuple[int, datetime | None]:
    """Messages waiting to be sent to Slack, and when the oldest of them was queued."""
    with read_scope(engine) as session:
        count, oldest = session.exec(
            select(func.count(), func.min(Outbox.created_at))
            .where(Outbox.status == OutboxStatus.PENDING)).one()
    return int(count), oldest
