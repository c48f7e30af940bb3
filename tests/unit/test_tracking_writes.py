"""The write fan-out's pieces: the write budget's token bucket and the bounded sending."""

from __future__ import annotations

import threading
import time

from tracking.writes import WriteBudget, send_all


def test_the_budget_gives_its_size_at_once_then_its_refill_rate() -> None:
    now = [100.0]
    budget = WriteBudget(5, 2.0, clock=lambda: now[0])
    assert [budget.take() for _ in range(6)] == [True] * 5 + [False]
    now[0] += 1.0  # two tokens back
    assert [budget.take() for _ in range(3)] == [True, True, False]
    now[0] += 60.0  # never more than its size
    assert sum(budget.take() for _ in range(10)) == 5


def test_writes_run_together_up_to_the_bound_and_answer_in_order() -> None:
    lock, running, most = threading.Lock(), [0], [0]

    def write(n: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        if n == 3:
            raise ValueError("refused")
        return n

    began = time.monotonic()
    answers = send_all([lambda n=n: write(n) for n in range(12)], 4)
    elapsed = time.monotonic() - began
    assert answers[:3] == [0, 1, 2] and answers[4:] == list(range(4, 12))
    assert isinstance(answers[3], ValueError)
    assert most[0] == 4
    assert elapsed < 12 * 0.05  # together, not one after the other


def test_one_at_a_time_runs_in_the_calling_thread() -> None:
    threads: list[str] = []
    send_all([lambda: threads.append(threading.current_thread().name)] * 3, 1)
    assert threads == [threading.current_thread().name] * 3
