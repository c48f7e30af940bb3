"""The runner's rows: runs claimed with a lease, and every change made under it.

Each tick claims due runs with a lease (a compare-and-set in the database), so several
replicas never poll or submit the same run at once, and a restarted bot resumes from the
tables alone. Every change of a run is a compare-and-set on its status and on this replica
still holding its lease (`owner`); the changes of one tick go in a few transactions, not one
per run: the moves before the writes, each wave's leases before it is sent, the outcomes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from core.events import Event, Progress, RunStarted
from core.plan import ResolvedPlan
from store.db import Engine, read_scope, session_scope
from store.journal import audit, enqueue
from store.models import FINAL_RUN_STATUSES, Run, RunStatus, utcnow
from store.requests import get_request
from store.runs import claim_due, leased_due, release_leases, set_flags, transition_run
from tracking.machine import Step

LEASE = timedelta(seconds=60)   # longer than a Site Recovery write's timeouts (WRITE_TIMEOUTS)
WRITE_GRACE = timedelta(seconds=90)  # others look at a run being written only after this
CLAIM_BATCH = 500


class Leases:
    def __init__(self, engine: Engine, owner: str, poll_interval: timedelta) -> None:
        self._engine = engine
        self._owner = owner
        self._poll_interval = poll_interval

    def claim(self) -> list[Run]:
        """Lease the due runs no replica holds; the runs this replica holds and may look at."""
        now = utcnow()
        with session_scope(self._engine) as session:
            claim_due(session, self._owner, now, now + LEASE, CLAIM_BATCH)
        with read_scope(self._engine) as session:
            return leased_due(session, self._owner, now)

    def save_all(self, saves: Sequence[tuple[Run, RunStatus, Step]]) -> list[tuple[Run, Step]]:
        """Store the machine's steps in one transaction: each run moved by compare-and-set
        from the status it was seen in (a run another replica took is left alone), its lease
        released and its replies queued. The runs saved, updated in memory too."""
        saved: list[tuple[Run, RunStatus, Step, dict[str, Any]]] = []
        with session_scope(self._engine) as session:
            for run, expected, step in saves:
                assert run.id is not None and step.status is not None
                values = {"next_poll_at": utcnow() + self._poll_interval,
                          **({"finished_at": utcnow()} if step.status in FINAL_RUN_STATUSES
                             else {}), **step.values}
                if not transition_run(session, run.id, [expected], step.status,
                                      owner=self._owner, lease_owner=None, lease_until=None,
                                      **values):
                    continue
                if step.status != expected:
                    audit(session, "bot", f"vm_{step.status.value}", run.request_id,
                          vm=run.vm_name, job=values.get("job_id", run.job_id),
                          was=expected.value)
                if step.events:
                    request = get_request(session, run.request_id)
                    assert request is not None
                    for event in step.events:
                        enqueue(session, request, event)
                saved.append((run, step.status, step, values))
        for run, status, _, values in saved:
            _apply(run, status, values)
        return [(run, step) for run, _, step, _ in saved]

    def move_all(self, moves: Sequence[tuple[Run, Step, dict[str, Any]]]) -> set[int]:
        """Before the writes: move the runs (`queued` to `submitting`) keeping their leases,
        in one transaction, each audited with what its write sends; the ids of the runs moved
        (updated in memory too)."""
        moved: list[tuple[Run, Step]] = []
        with session_scope(self._engine) as session:
            for run, step, sent in moves:
                assert run.id is not None and step.status is not None
                if transition_run(session, run.id, [run.status], step.status,
                                  owner=self._owner, **dict(step.values)):
                    audit(session, "bot", "submit", run.request_id, vm=run.vm_name,
                          item=run.item_id, **sent)
                    moved.append((run, step))
        for run, step in moved:
            assert step.status is not None
            _apply(run, step.status, step.values)
        return {run.id for run, _ in moved if run.id is not None}

    def hold_all(self, runs: Sequence[Run]) -> set[int]:
        """Right before a wave of Site Recovery writes: extend each lease past the write's
        timeouts, and keep other replicas from looking at the run for WRITE_GRACE (a crash
        mid-write is looked up after it). The ids held: nothing is sent for the others,
        which another replica took over."""
        now = utcnow()
        with session_scope(self._engine) as session:
            return {run.id for run in runs if run.id is not None and transition_run(
                session, run.id, [run.status], run.status, owner=self._owner,
                lease_until=now + LEASE, next_poll_at=now + WRITE_GRACE)}

    def release(self, run_ids: Sequence[int], delay: timedelta | None = None) -> None:
        """Release runs that did not change, in one statement: polled again after `delay`."""
        if not run_ids:
            return
        with session_scope(self._engine) as session:
            release_leases(session, run_ids, self._owner,
                           utcnow() + (delay or self._poll_interval))

    def mark_auth(self, runs: Sequence[Run], value: bool, notice: Event,
                  quiet: set[int]) -> None:
        """Flag the runs (Azure refuses the bot's token, or accepts it again) and tell each
        request not in `quiet`."""
        if not runs:
            return
        with session_scope(self._engine) as session:
            for run in runs:
                run.flags = {**run.flags, "auth": value}
                set_flags(session, run.id, self._owner, run.flags)
            for request_id in sorted({r.request_id for r in runs} - quiet):
                request = get_request(session, request_id)
                assert request is not None
                enqueue(session, request, notice)

    def plan(self, request_id: int) -> ResolvedPlan:
        with read_scope(self._engine) as session:
            request = get_request(session, request_id)
            assert request is not None
            return ResolvedPlan.from_json(request.plan)

    def replies(self, started: Mapping[int, Sequence[tuple[str, str | None]]],
                progress: Mapping[int, Sequence[tuple[str, str, str]]]) -> None:
        """Queue the tick's start and progress replies, one of each per request."""
        request_ids = set(started) | set(progress)
        if not request_ids:
            return
        with session_scope(self._engine) as session:
            for request_id in sorted(request_ids):
                request = get_request(session, request_id)
                assert request is not None
                if started.get(request_id):
                    enqueue(session, request, RunStarted(tuple(started[request_id])))
                if progress.get(request_id):
                    enqueue(session, request, Progress(tuple(progress[request_id])))


def _apply(run: Run, status: RunStatus, values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        setattr(run, key, value)
    run.status = status
