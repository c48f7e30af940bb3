"""The work queued after acknowledgements is bounded, and so is each person's rate."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from bot.admission import BUSY_RETRY, Admission, AfterAckPool, PersonRate
from core.ports import Throttled


@pytest.fixture
def pool() -> Iterator[AfterAckPool]:
    pool = AfterAckPool(workers=2, queue=3)
    yield pool
    pool.shutdown(wait=True)


def test_a_full_queue_turns_everyone_away_until_work_finishes(pool: AfterAckPool) -> None:
    release = threading.Event()
    gate = Admission(pool, PersonRate(most=100, window=60))
    futures = [pool.submit(release.wait, 10) for _ in range(5)]  # 2 running, 3 waiting
    assert not pool.has_room()
    assert gate.admit("U0ALICE") == Throttled(retry_in=BUSY_RETRY, everyone=True)
    release.set()
    for future in futures:
        future.result(timeout=10)
    assert pool.has_room() and gate.admit("U0ALICE") is None


def test_one_person_is_told_when_they_may_start_more(pool: AfterAckPool) -> None:
    gate = Admission(pool, PersonRate(most=2, window=60))
    assert gate.admit("U0ALICE") is None and gate.admit("U0ALICE") is None
    refused = gate.admit("U0ALICE")
    assert refused is not None and not refused.everyone and 55 <= refused.retry_in <= 60
    assert gate.admit("U0BOB") is None  # someone else is not held up by it


def test_a_window_past_lets_the_person_in_again() -> None:
    rate = PersonRate(most=1, window=0.2)
    assert rate.take("U0ALICE") == 0
    assert rate.take("U0ALICE") > 0
    threading.Event().wait(0.25)
    assert rate.take("U0ALICE") == 0
