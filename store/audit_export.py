"""Export the audit trail as CSV or JSON: who did what, when, to which request.

Each event names its actor and the request's channel by id and by the name Slack gave at the
time; a submission's `detail` holds the values sent for its VM (`values`, as the approver saw
them, and `sent`, as the wire carried them)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from store.db import read_scope
from store.models import AuditEvent

COLUMNS = ("at", "request_id", "actor", "actor_name", "channel_id", "channel_name", "action",
           "detail")


def audit_rows(engine: Engine, *, since: datetime | None = None,
               request_id: int | None = None) -> list[dict[str, Any]]:
    """Events in the order they happened, optionally from `since` or for one request."""
    query = select(AuditEvent).order_by(col(AuditEvent.at), col(AuditEvent.id))
    if since is not None:
        query = query.where(col(AuditEvent.at) >= since)
    if request_id is not None:
        query = query.where(AuditEvent.request_id == request_id)
    with read_scope(engine) as session:
        events = session.exec(query).all()
    return [{"at": e.at.isoformat(), "request_id": e.request_id, "actor": e.actor,
             "actor_name": e.actor_name, "channel_id": e.channel_id,
             "channel_name": e.channel_name, "action": e.action, "detail": e.detail}
            for e in events]


def to_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, indent=2, sort_keys=False) + "\n"


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "detail": json.dumps(row["detail"], sort_keys=True)})
    return out.getvalue()
