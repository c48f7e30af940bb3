"""The runner: on each tick of the scheduler's `track` job it submits approved plans and
follows their jobs.

What to do with a run is the machine's decision (`machine.py`); the runner performs the reads
and writes it asks for and stores its steps.

Each tick claims due runs with a lease (`leases.Leases`: a compare-and-set in the database),
so several replicas never poll or submit the same run at once, and a restarted bot resumes
from the tables alone. Every write of a run is a compare-and-set on its status and on this
replica still holding its lease. The writes of a tick go out several at once
(`writes.send_all`, within `writes.WriteBudget`), in waves: before each wave its leases are
extended past the write's timeouts and other replicas may not look at its runs for
WRITE_GRACE, longer still. An operation's first write is sent from `queued` only; a run
found in `submitting` (crash, or an answer lost on the wire) is first looked up on the
protected item and in the vault's recent jobs, and is adopted if Site Recovery already runs
it: any job on the item that started since the submission (less clock skew), whatever its
scenario name. A write refused because another operation is in progress on the item means
the same: look again, and adopt.

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
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
from functools import partial

from core.decisions import Action, Decision, Refusal
from core.events import (
    AuthProblem,
    AuthRecovered,
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
from operations import operation_named
from operations.base import Scope
from store.db import Engine, read_scope, session_scope
from store.journal import audit
from store.locks import acquire_locks
from store.models import (
    RequestStatus,
    Run,
    RunStatus,
    utcnow,
)
from store.requests import transition
from store.runs import RETRY_VOTES, get_run, lead_runs, transition_run
from tracking import machine, observe
from tracking.leases import LEASE, WRITE_GRACE, Leases
from tracking.requests import finish_requests, start_approved
from tracking.writes import WRITES_AT_ONCE, Pending, WriteBudget, send_all

log = logging.getLogger(__name__)

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
    leads: dict[int, observe.RunView] = field(default_factory=dict)  # plan scope, by request
    plan_ids: dict[int, tuple[str, ...]] = field(default_factory=dict)  # plan scope, by request
    job_reads: dict[str, Job] = field(default_factory=dict)  # full reads, shared by runs
    plans: dict[int, ResolvedPlan] = field(default_factory=dict)  # approved plans, by request
    saves: list[tuple[Run, RunStatus, machine.Step]] = field(default_factory=list)


class Runner:
    """Claims due runs, performs what the machine decides for each, saves the outcome."""

    def __init__(self, engine: Engine, site_recovery: SiteRecovery, policy: Policy,
                 owner: str, *, writes_at_once: int = WRITES_AT_ONCE,
                 budget: WriteBudget | None = None) -> None:
        self._engine = engine
        self._asr = site_recovery
        self._policy = policy
        self._owner = owner
        self._leases = Leases(engine, owner, policy.poll_interval)
        self._writes_at_once = writes_at_once
        self._budget = budget or WriteBudget()

    def tick(self) -> None:
        """Start approved requests, advance every due run, close finished requests."""
        start_approved(self._engine)
        runs = self._leases.claim()
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
        pending = [p for run in runs
                   if (p := self._guarded(run, partial(self._advance, run, tick)))]
        self._save_all(tick)
        self._perform(pending, tick)
        self._leases.release(tick.idle)
        self._flush(tick)
        finish_requests(self._engine)

    # -- claim and release -----------------------------------------------------------------

    def _defer(self, runs: list[Run], exc: GatewayError | None) -> None:
        """Poll again later; a read outage is not the VM's failure. Throttling waits at least
        the Retry-After Site Recovery sent."""
        delay = self._policy.poll_interval * 2
        if isinstance(exc, SiteRecoveryError) and exc.retry_after:
            delay = max(delay, timedelta(seconds=exc.retry_after))
        self._leases.release([r.id for r in runs if r.id is not None], delay)
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
            plan = self._plan(request_id, tick)
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
        self._read_leads(runs, tick)

    def _read_leads(self, runs: list[Run], tick: _Tick) -> None:
        """For plan-scope operations: each request's lead run and the plan it writes on."""
        plan_scope = {r.request_id for r in runs
                      if operation_named(r.operation).scope is Scope.PLAN}
        if not plan_scope:
            return
        with read_scope(self._engine) as session:
            leads = lead_runs(session, plan_scope)
        tick.leads = {request_id: observe.RunView.of(run) for request_id, run in leads.items()}
        for request_id in plan_scope:
            plan = self._plan(request_id, tick)
            tick.plan_ids[request_id] = (plan.plan_id, plan.plan_name)

    # -- advance ---------------------------------------------------------------------------

    def _advance(self, run: Run, tick: _Tick) -> Pending | None:
        """Bulk reads in, one machine step at a time: perform its reads and feed them back,
        until it says where the run goes or asks for a write (returned fenced)."""
        assert run.id is not None
        full = run.id in tick.full_reads
        item = tick.items.get(run.item_id.lower()) if run.status == RunStatus.SYNCING else None
        lead = tick.leads.get(run.request_id)
        with log_context(request=run.request_id, run=run.id, vm_name=run.vm_name):
            return self._drive(run, machine.Seen(
                jobs=tick.jobs, item=item, full_read=full, task_refresh=tick.task_refresh,
                jitter=random.uniform(0.8, 1.2),
                lead=lead if lead is not None and lead.id != run.id else None,
                plan_ids=tick.plan_ids.get(run.request_id, ())), tick)

    def _guarded(self, run: Run, action: Callable[[], Pending | None]) -> Pending | None:
        """One run's step: an outage or a crash defers this run only."""
        try:
            return action()
        except SiteRecoveryAuthError as exc:
            self._auth_problem([run], exc)
        except GatewayError as exc:
            self._defer([run], exc)
        except Exception:
            log.exception("tracking run %s crashed; will retry", run.id)
            self._defer([run], None)
        return None

    def _drive(self, run: Run, seen: machine.Seen, tick: _Tick,
               effects: int = 0) -> Pending | None:
        """Reads are performed here; a write is fenced and handed back to be sent (with the
        others of the tick), its answer fed back by `_perform`."""
        while effects < MAX_EFFECTS:
            effects += 1
            view = observe.RunView.of(run)
            step = machine.step(view, seen, self._policy, utcnow())
            if step.progress is not None:
                tick.progress[run.request_id].append((run.vm_name, *step.progress))
            effect = step.effect
            if effect is None:
                self._settle(run, view, step, tick)
                return None
            if isinstance(effect, machine.ReadJob):
                assert run.job_id is not None
                job = tick.job_reads.get(run.job_id.lower()) or self._asr.get_job(run.job_id)
                tick.job_reads[run.job_id.lower()] = job
                seen = replace(seen, job=job, full_read=False)
            elif isinstance(effect, machine.ReadItem):
                item = self._asr.get_item(run.item_id)
                seen = replace(seen, item_after=item) if effect.after_write \
                    else replace(seen, item=item)
            else:
                return self._fence(run, view, step, effect, seen, tick, effects)
        raise RuntimeError(f"run {run.id}: the machine asked for more than {MAX_EFFECTS} "
                           "reads and writes in one tick")

    def _settle(self, run: Run, view: observe.RunView, step: machine.Step,
                tick: _Tick) -> None:
        """Store what the machine decided, or leave the run for the next poll."""
        assert run.id is not None
        if step.status is None:
            tick.idle.append(run.id)
            return
        tick.saves.append((run, view.status, step))  # stored together by `_save_all`

    def _fence(self, run: Run, view: observe.RunView, step: machine.Step,
               write: machine.Write, seen: machine.Seen, tick: _Tick,
               effects: int) -> Pending | None:
        """A write the machine asks for, to be sent with the others of the tick: it takes a
        token of the write budget (else the run waits for the next tick, unchanged)."""
        if not self._budget.take():
            assert run.id is not None
            tick.idle.append(run.id)
            return None
        move = step if step.status is not None else None
        if isinstance(write, machine.RestartJob):
            assert run.job_id is not None
            return Pending(run, seen, write, effects, move, job_id=run.job_id)
        operation = operation_named(run.operation)
        plan = self._plan(run.request_id, tick)
        sent = operation.submission(plan, run.item_id)
        audited = {"values": plan.labelled(operation.values(plan), run.item_id),
                   "sent": asdict(sent.inputs) if sent.inputs is not None else {},
                   "target": sent.target}
        return Pending(run, seen, write, effects, move, operation.name, sent,
                       audited=audited)

    def _perform(self, pending: list[Pending], tick: _Tick) -> None:
        """Move the runs, then send their writes in waves of `writes_at_once` (each wave's
        leases extended and graces set just before it goes), feed each answer to its run's
        machine and store the outcomes of the wave together."""
        while pending:
            after = []
            moved = self._leases.move_all([(p.run, p.move, p.audited) for p in pending if p.move])
            going = [p for p in pending if p.move is None or p.run.id in moved]
            for start in range(0, len(going), self._writes_at_once):
                wave = going[start:start + self._writes_at_once]
                held_ids = self._leases.hold_all([p.run for p in wave])
                held = [p for p in wave if p.run.id in held_ids]
                answers = send_all([partial(p.send, self._asr) for p in held],
                                   self._writes_at_once)
                after += [found for p, answer in zip(held, answers, strict=True)
                          if (found := self._guarded(p.run, partial(self._answer, p, answer,
                                                                    tick)))]
                self._save_all(tick)
            pending = after

    def _answer(self, pending: Pending, answer: machine.Written | Exception,
                tick: _Tick) -> Pending | None:
        if isinstance(answer, Exception):
            raise answer
        return self._drive(pending.run, replace(pending.seen, written=answer), tick,
                           pending.effects)

    def _plan(self, request_id: int, tick: _Tick) -> ResolvedPlan:
        """The request's approved plan, read once per tick."""
        if request_id not in tick.plans:
            tick.plans[request_id] = self._leases.plan(request_id)
        return tick.plans[request_id]

    def _save_all(self, tick: _Tick) -> None:
        """Store the runs settled so far together; the jobs they now follow go in the start
        reply."""
        saves, tick.saves = tick.saves, []
        if saves:
            before = {run.id: status for run, status, _ in saves}
            for run, step in self._leases.save_all(saves):
                if step.status is not None and step.status != before[run.id]:
                    with log_context(request=run.request_id, run=run.id, vm_name=run.vm_name):
                        log.info("run %s: %s -> %s", run.id, before[run.id].value,
                                 step.status.value)
                if step.started is not None:
                    tick.started[run.request_id].append((run.vm_name, step.started))

    # -- approved retry --------------------------------------------------------------------

    def restart(self, run_id: int, approver: str) -> Decision | None:
        """Restart a failed VM's job after an approver's Retry; None when it went, else the
        refusal. The compare-and-set from `failed` makes a second click change nothing."""
        now = utcnow()
        with session_scope(self._engine) as session:
            run = get_run(session, run_id)
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
        restart = Pending(run, machine.Seen(), machine.RestartJob(by=approver), 0,
                           job_id=run.job_id)
        self._perform([restart], _Tick())
        return None

    # -- authentication --------------------------------------------------------------------

    def _auth_problem(self, runs: list[Run], exc: SiteRecoveryAuthError) -> None:
        """Tell each affected request once that Azure refuses the bot's token; keep the runs."""
        told = {r.request_id for r in runs if r.flags.get("auth")}
        self._leases.mark_auth(runs, True, AuthProblem(exc.what, exc.why, exc.fix), told)
        self._defer(runs, exc)

    def _auth_recovered(self, runs: list[Run]) -> None:
        told = {r.request_id for r in runs if not r.flags.get("auth")}
        self._leases.mark_auth([r for r in runs if r.flags.get("auth")], False, AuthRecovered(),
                               told)

    # -- replies and closing ---------------------------------------------------------------

    def _flush(self, tick: _Tick) -> None:
        self._leases.replies(tick.started, tick.progress)
