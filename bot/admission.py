"""How much slow work slash commands and clicks may queue: a bounded queue after the
acknowledgement and a rate per person, so a burst cannot spend the Azure read budget that
tracking the running jobs shares. Whoever is turned away is told privately when to retry.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from core.ports import Throttled

WORKERS = 8
QUEUE = 64            # work waiting for a worker, beyond the WORKERS running
PER_PERSON = 5        # preflights and cancellations one person may start per WINDOW
WINDOW = 60.0         # seconds
BUSY_RETRY = 30       # seconds to wait when the queue is full


class AfterAckPool(ThreadPoolExecutor):
    """The threads that run the work after each acknowledgement, counting what is queued
    (`ThreadPoolExecutor`'s own queue has no bound)."""

    def __init__(self, workers: int = WORKERS, queue: int = QUEUE) -> None:
        super().__init__(max_workers=workers, thread_name_prefix="after-ack")
        self._most = workers + queue
        self._pending = 0
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._lock:
            self._pending += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._finished()
            raise
        future.add_done_callback(lambda _: self._finished())
        return future

    def has_room(self) -> bool:
        with self._lock:
            return self._pending < self._most

    def busy(self) -> bool:
        """True while any work is queued or running (tests wait for the bot to be idle)."""
        with self._lock:
            return self._pending > 0

    def _finished(self) -> None:
        with self._lock:
            self._pending -= 1


class PersonRate:
    """At most `most` admissions per person in any `window` seconds."""

    def __init__(self, most: int, window: float) -> None:
        self._most = most
        self._window = window
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, user: str) -> float:
        """0 when `user` may go now (and counts it), else the seconds until they may."""
        now = time.monotonic()
        with self._lock:
            seen = self._seen.setdefault(user, deque())
            while seen and now - seen[0] >= self._window:
                seen.popleft()
            if len(seen) >= self._most:
                return self._window - (now - seen[0])
            seen.append(now)
            return 0.0


class Admission:
    """`intake.slash`'s gate for a preflight or a cancellation (`core.ports.Gate`)."""

    def __init__(self, pool: AfterAckPool, rate: PersonRate | None = None) -> None:
        self._pool = pool
        self._rate = rate or PersonRate(PER_PERSON, WINDOW)

    def admit(self, user: str) -> Throttled | None:
        if not self._pool.has_room():
            return Throttled(retry_in=BUSY_RETRY, everyone=True)
        wait = self._rate.take(user)
        return Throttled(retry_in=max(1, round(wait)), everyone=False) if wait else None
