"""Sending a tick's writes: several at once, within ARM's write budget.

After an approval every run of the request asks for its write in the same tick; sent one
after the other, 100 VMs wait 100 round trips. The runner fences every write first (lease and
grace, in the database, one run at a time), then sends them here concurrently, then feeds each
answer back to its run's machine: still exactly one write per fenced run.

ARM throttles writes per subscription and principal with a token bucket (200, refilled at 10
per second); `WriteBudget` keeps the bot below it, so a large plan's writes spread over a few
ticks instead of drawing 429s. A run with no token left stays as it is for the next tick.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from core.ports import SiteRecovery
from gateways.errors import SiteRecoveryError
from operations.base import Submission
from store.models import Run
from tracking import machine

T = TypeVar("T")

WRITES_AT_ONCE = 8               # concurrent writes, each a few round trips at most
WRITE_BUDGET = (150, 8.0)        # below ARM's write bucket (200, +10/s): room for others


@dataclass(frozen=True)
class Pending:
    """A write the machine asked for, waiting to be sent with the others of the tick: the
    run, what it saw, the write, the reads and writes it asked for so far this tick, the
    run's move before it, and what goes on the wire."""

    run: Run
    seen: machine.Seen
    write: machine.Write
    effects: int
    move: machine.Step | None = None  # the run's move before the write (queued: submitting)
    operation: str = ""
    sent: Submission | None = None
    job_id: str | None = None
    audited: dict[str, Any] = field(default_factory=dict)  # the values sent, for the audit

    def send(self, asr: SiteRecovery) -> machine.Written:
        """Perform the write; Site Recovery's refusal is an answer, not an error."""
        try:
            if self.sent is not None:
                accepted = asr.submit(self.operation, self.sent.target, self.sent.inputs)
            else:
                assert self.job_id is not None
                accepted = asr.restart_job(self.job_id)
        except SiteRecoveryError as exc:
            return machine.Written(self.write, refused=exc)
        return machine.Written(self.write, accepted=accepted)


class WriteBudget:
    """A token bucket: `take` is True when a write may go now (thread-safe)."""

    def __init__(self, size: int = WRITE_BUDGET[0], refill_per_s: float = WRITE_BUDGET[1],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._size = size
        self._refill_per_s = refill_per_s
        self._clock = clock
        self._tokens = float(size)
        self._last = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._size, self._tokens + (now - self._last) * self._refill_per_s)
            self._last = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


def send_all(writes: Sequence[Callable[[], T]], at_once: int) -> list[T | Exception]:
    """Run every write, at most `at_once` together; each result or the exception it raised,
    in order. One write (or `at_once` 1) runs in the calling thread."""
    if len(writes) <= 1 or at_once <= 1:
        return [_outcome(write) for write in writes]
    with ThreadPoolExecutor(min(at_once, len(writes)), thread_name_prefix="write") as pool:
        return list(pool.map(_outcome, writes))


def _outcome(write: Callable[[], T]) -> T | Exception:
    try:
        return write()
    except Exception as exc:  # handed back to the run it belongs to
        return exc
