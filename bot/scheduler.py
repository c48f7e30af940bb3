"""APScheduler as a ticker: every replica ticks; database leases decide who does the work."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from bot import metrics

log = logging.getLogger(__name__)


class Ticker:
    """Named periodic jobs (memory job store: the tables hold all state) that can be woken."""

    def __init__(self) -> None:
        # A wake that lands while the job runs is skipped by design (the running tick sees the
        # new work); APScheduler would log each one as a warning.
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        self._scheduler = BackgroundScheduler(timezone=UTC, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
        self.last_success: dict[str, datetime] = {}  # job -> end of its last clean tick
        self.last_error: dict[str, str] = {}          # job -> what its last tick raised
        self._started: Counter[str] = Counter()
        self._finished: Counter[str] = Counter()
        self._counts = threading.Lock()

    def every(self, name: str, seconds: float, func: Callable[[], None]) -> None:
        timed = metrics.timed(name, func)

        def guarded() -> None:
            with self._counts:
                self._started[name] += 1
            try:
                timed()
                self.last_success[name] = datetime.now(UTC)
                self.last_error.pop(name, None)
            except Exception as exc:
                self.last_error[name] = type(exc).__name__
                log.exception("periodic job %s failed; it runs again at its next tick", name)
            finally:
                with self._counts:
                    self._finished[name] += 1

        self._scheduler.add_job(guarded, "interval", seconds=seconds, id=name, name=name,
                                next_run_time=datetime.now(UTC))

    def wake(self, job: str) -> None:
        """Run `job` as soon as possible instead of at its next interval."""
        if self._scheduler.running:
            try:
                self._scheduler.modify_job(job, next_run_time=datetime.now(UTC))
            except Exception:  # job missing or scheduler shutting down: the interval runs it
                log.debug("could not wake %s", job)

    def runs(self, name: str) -> tuple[int, int]:
        """How many runs of `name` have started and finished: runs never overlap, so once
        `finished` reaches a `started` read earlier plus N, N whole runs began after that read."""
        with self._counts:
            return self._started[name], self._finished[name]

    def start(self) -> None:
        self._scheduler.start()

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def shutdown(self) -> None:
        """Stop ticking and wait for running ticks: a lease is released, never leaked."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
