"""Changes of state counted when the transaction that made them commits.

SQLAlchemy session events see every compare-and-set on `requests` and `runs`, new and
changed rows and audit rows; their counts are handed to the listener (`bot.metrics`) only
on commit, never for a rollback, a compare-and-set that lost, or an update that keeps the
state (a lease renewed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import Update, event, inspect
from sqlalchemy.orm import ORMExecuteState, Session

from store.models import AuditEvent, Request, Run

Counted = Callable[[str, str, int], None]  # (kind, value, count) of one committed change
_PENDING = "reprotect_metrics"
_listeners: list[Counted] = []


def on_commit(listener: Counted) -> None:
    """Call `listener` with the changes of every transaction that commits, in every session
    (the session events are installed once per process)."""
    if listener not in _listeners:
        _listeners.append(listener)
    if event.contains(Session, "after_commit", _commit):
        return
    event.listen(Session, "do_orm_execute", _update)
    event.listen(Session, "before_flush", _flush)
    event.listen(Session, "after_commit", _commit)
    event.listen(Session, "after_rollback", _forget)

def _pending(session: Session) -> defaultdict[tuple[str, str], int]:
    found: defaultdict[tuple[str, str], int] = session.info.setdefault(
        _PENDING, defaultdict(int))
    return found


def _update(state: ORMExecuteState) -> Any:
    statement = state.statement
    if not state.is_update or not isinstance(statement, Update):
        return None
    table = getattr(statement.table, "name", "")
    if table not in ("requests", "runs"):
        return None
    params = statement.compile().params
    new = params.get("status")
    expected = [v for k, v in params.items() if k.startswith("status_") and isinstance(v, list)]
    if new is None or any(new in values for values in expected):  # a touch, not a move
        return None
    result = state.invoke_statement()
    changed = int(getattr(result, "rowcount", 0) or 0)
    if changed:
        _pending(state.session)[(table, str(new))] += changed
    return result


def _flush(session: Session, *_: object) -> None:
    pending = _pending(session)
    for obj in session.new:
        if isinstance(obj, Request):
            pending[("requests", str(obj.status))] += 1
        elif isinstance(obj, AuditEvent):
            pending[("audit", _audit_key(obj))] += 1
    for obj in session.dirty:
        if isinstance(obj, Request | Run) and inspect(obj).attrs.status.history.added:
            pending[("requests" if isinstance(obj, Request) else "runs", str(obj.status))] += 1


def _audit_key(row: AuditEvent) -> str:
    if row.action == "click_refused":
        return f"refused:{row.detail.get('refusal') or 'unknown'}"
    return row.action


def _commit(session: Session) -> None:
    for (kind, value), count in session.info.pop(_PENDING, {}).items():
        for listener in _listeners:
            listener(kind, value, count)


def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)
