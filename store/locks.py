"""One open request per protected item: the item locks, taken and released in the caller's
transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from store.models import (
    LOCKING_STATUSES,
    ItemLock,
    Request,
)


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
