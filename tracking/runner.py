"""The runner: on each tick of the scheduler's `track` job it submits approved plans and
follows their jobs.

What to do with a run is the machine's decision (`machine.py`); the runner performs the reads
and writes it asks for and stores its steps.

Each tick claims due runs with a lease (a compare-and-set in the database), so several
replicas never poll or submit the same run at once, and a restarted bot resumes from the
tables alone. Every write of a run is a compare-and-set on its status and on this replica
still holding its lease. Before a Site Recovery write the lease is extended past the write's
timeouts and other replicas may not look at the run for WRITE_GRACE, longer still. A
reprotect POST is sent from `queued` only; a run found in `submitting` (crash, or an answer
lost on the wire) is first looked up on the protected item and in the vault's recent jobs,
and is adopted if Site Recovery already runs it: any job on the item that started since the
submission (less clock skew), whatever its scenario name. A write refused because another
operation is in progress on the item means the same: look again, and adopt.

Reads per tick do not grow with the number of VMs: the vault's recent jobs are listed once
(paged) and matched to the runs, the protected items of each plan waiting for `Protected` are
listed once per plan, and full job reads (task states, errors) are spent where the list shows
a change, within a fixed budget per tick. A job whose answer asks for a slower cadence
(`Retry-After`) is not polled sooner.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, or_, update
from sqlmodel import Session, col, select

from core.decisions import Action, Decision, Refusal
from core.events import (
    AuthProblem,
    AuthRecovered,
    Event,
    Progress,
    RunStarted,
)
from core.log_context import log_context
from core.plan import ResolvedPlan
from core.policy import Policy
from core.ports import SiteRecovery
from gateways.errors import GatewayError, SiteRecoveryAuthError, SiteRecoveryError
from gateways.site_recovery_models import (
    Job,
    ProtectedItem,
    RecoveryPlan,
)
from providers import reprotect_input
from store.db import session_scope
from store.models import (
    FINAL_RUN_STATUSES,
    RequestStatus,
    Run,
    RunStatus,
    utcnow,
)
from store.repo import (
    RETRY_VOTES,
    acquire_locks,
    audit,
    enqueue,
    get_request,
    transition,
    transition_run,
)
from tracking import machine, observe
from tracking.requests import finish_requests, start_approved

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)   # longer than a Site Recovery write's timeouts (WRITE_TIMEOUTS)
WRITE_GRACE = timedelta(seconds=90)  # others look at a run being written only after this
CLAIM_BATCH = 500
JOB_READS_PER_TICK = 25          # full job reads per tick, whatever the number of VMs
TASK_REFRESH_POLLS = 4           # past the budget, a job's tasks are re-read every 4 polls
LIST_SKEW = timedelta(minutes=5)  # list jobs from a little before the oldest run started
MAX_EFFECTS = 6                  # reads and writes the machine asks for one run in one tick


@dataclass
class _Tick:
    """What one tick read in bulk, and the replies it gathers (written with their state)."""

    jobs: dict[str, Job] = field(default_factory=dict)
    items: dict[str, ProtectedItem] = field(default_factory=dict)
    full_reads: set[int] = field(default_factory=set)
    task_refresh: timedelta = timedelta(0)
    idle: list[int] = field(default_factory=list)
    started: dict[int, list[tuple[str, str | None]]] = field(default_factory=lambda:
                                                              defaultdict(list))
    progress: dict[int, list[tuple[str, str, str]]] = field(default_factory=lambda:
                                                             defaultdict(list))


class Runner:
    """Claims due runs, performs what the machine decides for each, saves the outcome."""

    def __init__(self, engine: Engine, site_recovery: SiteRecovery, policy: Policy,
                 owner: str) -> None:
        self._engine = engine
        self._asr = site_recovery
        self._policy = policy
        self._owner = owner

    def tick(self) -> None:
        """Start approved requests, advance every due run, close finished requests."""
        start_approved(self._engine)
        runs = self._claim()
        tick = _Tick()
        try:
            self._read_shared(runs, tick)
        except SiteRecoveryAuthError as exc:
            self._auth_problem(runs, exc)
            runs = []
        except GatewayError as exc:
            self._defer(runs, exc)
            runs = []
        else:
            self._auth_recovered(runs)
        for run in runs:
            try:
                self._advance(run, tick)
            except SiteRecoveryAuthError as exc:
                self._auth_problem([run], exc)
            except GatewayError as exc:
                self._defer([run], exc)
            except Exception:
                log.exception("tracking run %s crashed; will retry", run.id)
                self._defer([run], None)
        self._release(tick.idle)
        self._flush(tick)
        finish_requests(self._engine)

    # -- claim and release -----------------------------------------------------------------

    def _claim(self) -> list[Run]:
        now = utcnow()
        free = or_(col(Run.lease_until).is_(None), col(Run.lease_until) < now)
        due = (select(Run.id).where(col(Run.status).not_in(list(FINAL_RUN_STATUSES)),
                                    col(Run.next_poll_at) <= now, free)
               .order_by(col(Run.next_poll_at)).limit(CLAIM_BATCH))
        with session_scope(self._engine) as session:
            session.execute(update(Run).where(col(Run.id).in_(due.scalar_subquery()), free)
                            .values(lease_owner=self._owner, lease_until=now + LEASE))
        with Session(self._engine) as session:
            return list(session.exec(select(Run).where(  # not a run this replica is writing
                Run.lease_owner == self._owner, col(Run.lease_until) > now,
                col(Run.next_poll_at) <= now, col(Run.status).not_in(list(FINAL_RUN_STATUSES)))
                .order_by(col(Run.request_id), col(Run.id))).all())

    def _save(self, run: Run, expected: RunStatus, new: RunStatus, *,
              events: tuple[Event, ...] = (), **values: Any) -> bool:
        """Move a run, release its lease and queue its replies, in one transaction."""
        assert run.id is not None
        values.setdefault("next_poll_at", utcnow() + self._policy.poll_interval)
        if new in FINAL_RUN_STATUSES:
            values.setdefault("finished_at", utcnow())
        with session_scope(self._engine) as session:
            if not transition_run(session, run.id, [expected], new, owner=self._owner,
                                  lease_owner=None, lease_until=None, **values):
                return False
            if new != expected:
                audit(session, "bot", f"vm_{new.value}", run.request_id, vm=run.vm_name,
                      job=values.get("job_id", run.job_id), was=expected.value)
            if events:
                request = get_request(session, run.request_id)
                assert request is not None
                for event in events:
                    enqueue(session, request, event)
        for key, value in values.items():
            setattr(run, key, value)
        run.status = new
        return True

    def _hold(self, run: Run, expected: RunStatus) -> bool:
        """Before a Site Recovery write: extend the lease past the write's timeouts, and keep
        other replicas from looking at the run for WRITE_GRACE (a crash mid-write is looked
        up after it). False when another replica took the run over: nothing is sent."""
        assert run.id is not None
        now = utcnow()
        with session_scope(self._engine) as session:
            return transition_run(session, run.id, [expected], expected, owner=self._owner,
                                  lease_until=now + LEASE, next_poll_at=now + WRITE_GRACE)

    def _release(self, run_ids: list[int], delay: timedelta | None = None) -> None:
        """Release runs that did not change, in one statement: polled again after `delay`."""
        if not run_ids:
            return
        with session_scope(self._engine) as session:
            session.execute(update(Run).where(col(Run.id).in_(run_ids),
                                              col(Run.lease_owner) == self._owner)
                            .values(lease_owner=None, lease_until=None,
                                    next_poll_at=utcnow() + (delay or self._policy.poll_interval)))

    def _defer(self, runs: list[Run], exc: GatewayError | None) -> None:
        """Poll again later; a read outage is not the VM's failure. Throttling waits at least
        the Retry-After Site Recovery sent."""
        delay = self._policy.poll_interval * 2
        if isinstance(exc, SiteRecoveryError) and exc.retry_after:
            delay = max(delay, timedelta(seconds=exc.retry_after))
        self._release([r.id for r in runs if r.id is not None], delay)
        if exc is not None and runs:
            log.warning("%d run(s) deferred %s: %s", len(runs), delay, exc.what)

    # -- shared reads ----------------------------------------------------------------------

    def _read_shared(self, runs: list[Run], tick: _Tick) -> None:
        """List recent jobs once and each waiting plan's items once; pick the full job reads."""
        now = utcnow()
        following = [r for r in runs if r.status in (
            RunStatus.RUNNING, RunStatus.SUBMITTING, RunStatus.RESTARTING)]
        if following:
            since = min(r.started_at or now for r in following) - LIST_SKEW
            try:
                tick.jobs = {job.id.lower(): job for job in self._asr.list_jobs(since)}
            except SiteRecoveryAuthError:
                raise
            except SiteRecoveryError as exc:  # fall back to reading jobs one by one
                log.warning("listing the vault's jobs failed (%s); reading jobs one by one",
                            exc.what)
        syncing: dict[int, list[Run]] = defaultdict(list)
        for run in runs:
            if run.status == RunStatus.SYNCING:
                syncing[run.request_id].append(run)
        for request_id, group in syncing.items():
            plan = self._plan_of(request_id)
            items = self._asr.plan_items(RecoveryPlan(
                id=plan.plan_id, name=plan.plan_name, friendly_name=plan.plan_friendly_name,
                item_ids=tuple(r.item_id for r in group)))
            tick.items.update({i.id.lower(): i for i in items})
        running = sum(1 for r in runs if r.status == RunStatus.RUNNING)
        # Few jobs: read their tasks every poll; many: spread the budget over a few polls.
        tick.task_refresh = self._policy.poll_interval * (
            0.5 if running <= JOB_READS_PER_TICK else TASK_REFRESH_POLLS)
        wanted = [(rank, r.tasks_read_at or r.started_at or now, r.id) for r in runs
                  if r.status == RunStatus.RUNNING and r.id is not None
                  and (rank := observe.read_rank(observe.RunView.of(r), tick.jobs,
                                                      tick.task_refresh, now)) is not None]
        tick.full_reads = {run_id for *_, run_id in sorted(wanted)[:JOB_READS_PER_TICK]}

    # -- advance ---------------------------------------------------------------------------

    def _advance(self, run: Run, tick: _Tick) -> None:
        """Bulk reads in, one machine step at a time: perform its read or write and feed the
        result back, until it says where the run goes."""
        assert run.id is not None
        full = run.id in tick.full_reads
        item = tick.items.get(run.item_id.lower()) if run.status == RunStatus.SYNCING else None
        with log_context(request=run.request_id, run=run.id, vm_name=run.vm_name):
            self._drive(run, machine.Seen(jobs=tick.jobs, item=item, full_read=full,
                                          task_refresh=tick.task_refresh,
                                          jitter=random.uniform(0.8, 1.2)), tick)

    def _drive(self, run: Run, seen: machine.Seen, tick: _Tick) -> None:
        for _ in range(MAX_EFFECTS):
            view = observe.RunView.of(run)
            step = machine.step(view, seen, self._policy, utcnow())
            if step.progress is not None:
                tick.progress[run.request_id].append((run.vm_name, *step.progress))
            effect = step.effect
            if effect is None:
                self._settle(run, view, step, tick)
                return
            if isinstance(effect, machine.ReadJob):
                assert run.job_id is not None
                seen = replace(seen, job=self._asr.get_job(run.job_id), full_read=False)
            elif isinstance(effect, machine.ReadItem):
                item = self._asr.get_item(run.item_id)
                seen = replace(seen, item_after=item) if effect.after_write \
                    else replace(seen, item=item)
            else:
                if step.status is not None and not self._move(run, view.status, step):
                    return
                written = self._write(run, effect)
                if written is None:
                    return
                seen = replace(seen, written=written)
        raise RuntimeError(f"run {run.id}: the machine asked for more than {MAX_EFFECTS} "
                           "reads and writes in one tick")

    def _settle(self, run: Run, view: observe.RunView, step: machine.Step,
                tick: _Tick) -> None:
        """Store what the machine decided, or leave the run for the next poll."""
        assert run.id is not None
        if step.status is None:
            tick.idle.append(run.id)
            return
        saved = self._save(run, view.status, step.status, events=step.events,
                           **dict(step.values))
        if saved and step.status != view.status:
            log.info("run %s: %s -> %s", run.id, view.status.value, step.status.value)
        if saved and step.started is not None:
            tick.started[run.request_id].append((run.vm_name, step.started))

    def _move(self, run: Run, expected: RunStatus, step: machine.Step) -> bool:
        """Before a write: move the run (`queued` to `submitting`) keeping its lease."""
        assert run.id is not None and step.status is not None
        with session_scope(self._engine) as session:
            if not transition_run(session, run.id, [expected], step.status, owner=self._owner,
                                  **dict(step.values)):
                return False
            audit(session, "bot", "submit", run.request_id, vm=run.vm_name, item=run.item_id)
        for key, value in step.values.items():
            setattr(run, key, value)
        run.status = step.status
        return True

    def _write(self, run: Run, write: machine.Write) -> machine.Written | None:
        """Send a reprotect or restart, fenced: None when another replica took the run."""
        if not self._hold(run, RunStatus(run.status)):
            return None
        try:
            if isinstance(write, machine.PostReprotect):
                plan = self._plan_of(run.request_id)
                accepted = self._asr.reprotect(run.item_id, reprotect_input(plan, run.item_id))
            else:
                assert run.job_id is not None
                accepted = self._asr.restart_job(run.job_id)
        except SiteRecoveryError as exc:
            return machine.Written(write, refused=exc)
        return machine.Written(write, accepted=accepted)

    def _plan_of(self, request_id: int) -> ResolvedPlan:
        with Session(self._engine) as session:
            request = get_request(session, request_id)
            assert request is not None
            return ResolvedPlan.from_json(request.plan)

    # -- approved retry --------------------------------------------------------------------

    def restart(self, run_id: int, approver: str) -> Decision | None:
        """Restart a failed VM's job after an approver's Retry; None when it went, else the
        refusal. The compare-and-set from `failed` makes a second click change nothing."""
        now = utcnow()
        with session_scope(self._engine) as session:
            run = session.get(Run, run_id)
            if run is None or run.status != RunStatus.FAILED or not run.job_id:
                return Decision(False, Action.RETRY, Refusal.NOT_FAILED,
                                status=run.status if run else "gone")
            holder = acquire_locks(session, run.request_id, [run.item_id])
            if holder is not None:
                session.rollback()
                return Decision(False, Action.RETRY, Refusal.TAKEN, vm=run.vm_name,
                                number=holder.id, status=holder.status)
            flags = {k: v for k, v in run.flags.items() if k != RETRY_VOTES}
            if not transition_run(session, run_id, [RunStatus.FAILED], RunStatus.RESTARTING,
                                  started_at=now, finished_at=None, lease_owner=self._owner,
                                  lease_until=now + LEASE, next_poll_at=now + WRITE_GRACE,
                                  wait_until=None, flags=flags):
                session.rollback()
                return Decision(False, Action.RETRY, Refusal.RETRYING)
            transition(session, run.request_id, [RequestStatus.FAILED, RequestStatus.EXECUTING],
                       RequestStatus.EXECUTING, finished_at=None)
            audit(session, approver, "retry", run.request_id, vm=run.vm_name, job=run.job_id)
        run.status, run.started_at, run.wait_until = RunStatus.RESTARTING, now, None
        run.flags = flags
        write = machine.RestartJob(by=approver)
        try:
            written = machine.Written(write, accepted=self._asr.restart_job(run.job_id))
        except SiteRecoveryError as exc:
            written = machine.Written(write, refused=exc)
        self._drive(run, machine.Seen(written=written), _Tick())
        return None

    # -- authentication --------------------------------------------------------------------

    def _auth_problem(self, runs: list[Run], exc: SiteRecoveryAuthError) -> None:
        """Tell each affected request once that Azure refuses the bot's token; keep the runs."""
        told = {r.request_id for r in runs if r.flags.get("auth")}
        self._mark_auth(runs, True, AuthProblem(exc.what, exc.why, exc.fix), told)
        self._defer(runs, exc)

    def _auth_recovered(self, runs: list[Run]) -> None:
        told = {r.request_id for r in runs if not r.flags.get("auth")}
        self._mark_auth([r for r in runs if r.flags.get("auth")], False, AuthRecovered(), told)

    def _mark_auth(self, runs: list[Run], value: bool, notice: Event,
                   quiet: set[int]) -> None:
        if not runs:
            return
        with session_scope(self._engine) as session:
            for run in runs:
                run.flags = {**run.flags, "auth": value}
                session.execute(update(Run).where(col(Run.id) == run.id,
                                                  col(Run.lease_owner) == self._owner)
                                .values(flags=run.flags))
            for request_id in sorted({r.request_id for r in runs} - quiet):
                request = get_request(session, request_id)
                assert request is not None
                enqueue(session, request, notice)

    # -- replies and closing ---------------------------------------------------------------

    def _flush(self, tick: _Tick) -> None:
        request_ids = set(tick.started) | set(tick.progress)
        if not request_ids:
            return
        with session_scope(self._engine) as session:
            for request_id in sorted(request_ids):
                request = get_request(session, request_id)
                assert request is not None
                if tick.started.get(request_id):
                    enqueue(session, request, RunStarted(tuple(tick.started[request_id])))
                if tick.progress.get(request_id):
                    enqueue(session, request, Progress(tuple(tick.progress[request_id])))

