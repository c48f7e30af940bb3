"""Item locks taken by two transactions at once, on SQLite and on PostgreSQL (READ COMMITTED).

Each test holds one transaction open at the moment that matters (a request going `pending`,
a Retry reopening a failed request) and runs the other one against it from a second thread:
whatever the order, one open request holds a VM, and a lock another request committed is
never taken away from it.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from store.db import make_engine, migrate, session_scope
from store.locks import acquire_locks
from store.models import ItemLock, Request, RequestStatus
from store.requests import transition
from tests.support.postgres import PostgresInstance, new_database, start_postgres

pytestmark = pytest.mark.slow  # a whole bot per test: `pytest -m "not slow"` leaves them out

ITEM = "/subscriptions/s/replicationProtectedItems/vm-app-02"


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresInstance]:
    with start_postgres() as instance:
        yield instance


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path}/bot.db")
    else:
        engine = make_engine(new_database(request.getfixturevalue("postgres"), "locks"))
    migrate(engine)
    yield engine
    engine.dispose()


def add_request(engine: Engine, status: RequestStatus) -> int:
    with session_scope(engine) as session:
        request = Request(trigger_id=uuid.uuid4().hex, team_id="T0", channel_id="C0",
                          requester_id="U0", command_text="plan=p", plan_name="p",
                          status=status)
        session.add(request)
        session.flush()
        assert request.id is not None
        return request.id


def holders(engine: Engine) -> set[int]:
    with Session(engine) as session:
        return {lock.request_id for lock in session.exec(select(ItemLock)).all()}


def status_of(engine: Engine, request_id: int) -> RequestStatus:
    with Session(engine) as session:
        request = session.get(Request, request_id)
        assert request is not None
        return RequestStatus(request.status)


def open_with_lock(engine: Engine, request_id: int, expected: RequestStatus,
                   new: RequestStatus, taken: threading.Event,
                   commit: threading.Event) -> Request | None:
    """`request_id` reopens (pending, or executing again on Retry) and locks the item; the
    transaction stays open until `commit`, or rolls back if another request holds it. A Retry
    takes the lock before it moves the request, as `Tracker.restart` does; a preflight moves
    it to `pending` first, as `Intake` does."""
    retry = expected is RequestStatus.FAILED
    with session_scope(engine) as session:
        assert retry or transition(session, request_id, [expected], new)
        holder = acquire_locks(session, request_id, [ITEM])
        assert not retry or holder is not None or transition(session, request_id, [expected],
                                                              new)
        if holder is not None:
            session.expunge(holder)  # readable after the rollback
            session.rollback()
            taken.set()
            return holder
        taken.set()
        assert commit.wait(30)
    return None


def race(engine: Engine, first: tuple[int, RequestStatus, RequestStatus],
         second: tuple[int, RequestStatus, RequestStatus]) -> tuple[Request | None,
                                                                     Request | None]:
    """`first` takes the lock and waits; `second` tries meanwhile, then `first` commits."""
    taken, commit, second_taken = threading.Event(), threading.Event(), threading.Event()
    with ThreadPoolExecutor(2) as pool:
        one: Future[Request | None] = pool.submit(open_with_lock, engine, *first, taken, commit)
        assert taken.wait(30)
        two = pool.submit(open_with_lock, engine, *second, second_taken, threading.Event())
        # the second waits for the first's row (PostgreSQL) or write lock (SQLite)
        assert not second_taken.wait(1.0), "the second took its lock while the first held it"
        commit.set()
        return one.result(60), two.result(60)


P, F = RequestStatus.PREFLIGHT, RequestStatus.FAILED
RACES = {
    # Regression (round 2, retry lock race): a failed request's Retry that reaches its lock
    # while a new request for the same VM goes pending is refused; the new one keeps the VM.
    "a retry never takes the lock a new request committed": ("new", "failed", True),
    "a new request waits for a retry reopening the VM": ("failed", "new", False),
    # Item 10 (two preflights, PostgreSQL READ COMMITTED): the second sees the first's
    # committed lock after waiting for it, never a snapshot from before it.
    "two preflights ending together leave one holder": ("new", "other", False),
}


@pytest.mark.parametrize(("first", "second", "stale_row"), RACES.values(), ids=list(RACES))
def test_one_open_request_holds_the_vm_whoever_comes_first(
        engine: Engine, first: str, second: str, stale_row: bool) -> None:
    ids = {"new": add_request(engine, P), "other": add_request(engine, P),
           "failed": add_request(engine, F)}
    if stale_row:  # a lock row left by a request that ended
        with session_scope(engine) as session:
            session.add(ItemLock(item_key=ITEM.lower(), request_id=ids["failed"]))
    moves = {"new": (P, RequestStatus.PENDING), "other": (P, RequestStatus.PENDING),
             "failed": (F, RequestStatus.EXECUTING)}
    won, lost = race(engine, (ids[first], *moves[first]), (ids[second], *moves[second]))
    assert won is None and lost is not None and lost.id == ids[first]
    assert holders(engine) == {ids[first]}
    assert status_of(engine, ids[second]) is moves[second][0]


def test_a_request_that_ends_releases_its_locks_for_the_next(engine: Engine) -> None:
    done = add_request(engine, RequestStatus.PREFLIGHT)
    with session_scope(engine) as session:
        assert transition(session, done, [RequestStatus.PREFLIGHT], RequestStatus.PENDING)
        assert acquire_locks(session, done, [ITEM]) is None
    with session_scope(engine) as session:
        assert transition(session, done, [RequestStatus.PENDING], RequestStatus.CANCELLED)
    assert holders(engine) == set()
    new = add_request(engine, RequestStatus.PREFLIGHT)
    with session_scope(engine) as session:
        assert transition(session, new, [RequestStatus.PREFLIGHT], RequestStatus.PENDING)
        assert acquire_locks(session, new, [ITEM.upper()]) is None
    assert holders(engine) == {new}
