"""Execution and tracking: one scheduler tick submits approved plans and follows their jobs.

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
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from commands.job_errors import describe
from commands.plan_model import ResolvedPlan
from commands.providers import reprotect_input
from core.policy import Policy
from gateways.errors import GatewayError, SiteRecoveryAuthError, SiteRecoveryError
from gateways.site_recovery import SiteRecovery, job_name
from gateways.site_recovery_models import (
    Accepted,
    Job,
    ProtectedItem,
    RecoveryPlan,
)
from store.db import session_scope
from store.models import (
    FINAL_RUN_STATUSES,
    Approval,
    OutboxKind,
    Request,
    RequestStatus,
    Run,
    RunStatus,
    utcnow,
)
from store.repo import (
    acquire_locks,
    audit,
    enqueue,
    get_request,
    runs_of,
    transition,
    transition_run,
)

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)   # longer than a Site Recovery write's timeouts (WRITE_TIMEOUTS)
WRITE_GRACE = timedelta(seconds=90)  # others look at a run being written only after this
CLAIM_BATCH = 500
MAX_SUBMIT_ATTEMPTS = 3
JOB_READS_PER_TICK = 25          # full job reads per tick, whatever the number of VMs
TASK_REFRESH_POLLS = 4           # past the budget, a job's tasks are re-read every 4 polls
LIST_SKEW = timedelta(minutes=5)  # list jobs from a little before the oldest run started
CLOCK_SKEW = timedelta(minutes=3)  # a job this much older than the run may still be its own
AGENT_WAIT = timedelta(minutes=20)
AGENT_BACKOFF = timedelta(minutes=1)
AGENT_BACKOFF_MAX = timedelta(minutes=5)
AGENT_MISSING = re.compile(r"agent\s+(?:isn't|is\s+not|not)\s+installed", re.IGNORECASE)
# "Another operation (…) is in progress", "conflicting operation", "operation already running":
# Site Recovery does not document the code, so the wording (or a 409 Conflict) decides.
IN_PROGRESS = re.compile(r"\b(?:another|other|conflicting|existing)\b.{0,60}?\b(?:operation|job)"
                         r"|in[\s-]?progress\b|\balready\s+running\b", re.IGNORECASE)
AGENT_FIX = ("Check that the Azure VM is running and that its Mobility service (InMage Scout "
             "application service) runs and reaches the configuration server on 443 and the "
             "process server on 9443")


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


class Tracker:
    def __init__(self, engine: Engine, site_recovery: SiteRecovery, policy: Policy,
                 owner: str) -> None:
        self._engine = engine
        self._asr = site_recovery
        self._policy = policy
        self._owner = owner

    def tick(self) -> None:
        """Start approved requests, advance every due run, close finished requests."""
        self._start_approved()
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
        self._finish_requests()

    # -- start -----------------------------------------------------------------------------

    def _start_approved(self) -> None:
        with Session(self._engine) as session:
            approved = session.exec(select(Request).where(
                Request.status == RequestStatus.APPROVED)).all()
        for request in approved:
            assert request.id is not None
            plan = ResolvedPlan.from_json(request.plan)
            with session_scope(self._engine) as session:
                if not self._approvals_bind(session, request):
                    continue
                if not transition(session, request.id, [RequestStatus.APPROVED],
                                  RequestStatus.EXECUTING):
                    continue
                for item in plan.items:
                    session.add(Run(request_id=request.id, item_id=item.item_id,
                                    vm_name=item.vm_name))
                audit(session, "bot", "execute", request.id, vms=len(plan.items),
                      fingerprint=request.fingerprint)
                enqueue(session, request, OutboxKind.UPDATE, {"view": "request"})

    def _approvals_bind(self, session: Session, request: Request) -> bool:
        """Execute only what was approved: enough approvals of this exact fingerprint."""
        assert request.id is not None
        approvers = set(session.exec(select(Approval.approver_id).where(
            Approval.request_id == request.id, Approval.fingerprint == request.fingerprint,
            Approval.approver_id != request.requester_id)).all())
        if len(approvers) >= request.required_approvals:
            return True
        if transition(session, request.id, [RequestStatus.APPROVED], RequestStatus.CANCELLED,
                      reason="approvals void: what would be sent changed after approval",
                      finished_at=utcnow()):
            audit(session, "bot", "void", request.id, fingerprint=request.fingerprint)
            enqueue(session, request, OutboxKind.UPDATE, {"view": "request"})
            enqueue(session, request, OutboxKind.REPLY, {"view": "notice", "text": (
                f":no_entry: Request #{request.id} was not run: its approvals were given for "
                "different values than those it would send now, so they are void. Run "
                "`/reprotect` again for a fresh preflight and approval.")})
        return False

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
              reply: dict[str, Any] | None = None, **values: Any) -> bool:
        """Move a run, release its lease and queue its reply, in one transaction."""
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
            if reply is not None:
                request = get_request(session, run.request_id)
                assert request is not None
                enqueue(session, request, OutboxKind.REPLY, reply)
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
                  and (rank := self._read_rank(r, tick, now)) is not None]
        tick.full_reads = {run_id for *_, run_id in sorted(wanted)[:JOB_READS_PER_TICK]}

    def _read_rank(self, run: Run, tick: _Tick, now: datetime) -> int | None:
        """Why a running job needs a full read (lower goes first), None when the list will do:
        missing from the list, finished, changed state, or tasks not read for a while."""
        entry = tick.jobs.get(job_name(run.job_id or "").lower())
        if entry is None:
            return 0
        if entry.state == "Failed":
            return 1  # its errors and allowed actions come from a full read
        if entry.finished:
            return None  # Succeeded or Cancelled: the list entry says all that matters
        if entry.state != run.job_state:
            return 2
        if run.tasks_read_at is None or now - run.tasks_read_at >= tick.task_refresh:
            return 3
        return None

    # -- advance ---------------------------------------------------------------------------

    def _advance(self, run: Run, tick: _Tick) -> None:
        handlers = {
            RunStatus.QUEUED: self._submit,
            RunStatus.SUBMITTING: self._recover_submission,
            RunStatus.RESTARTING: self._recover_restart,
            RunStatus.RUNNING: self._follow_job,
            RunStatus.SYNCING: self._await_protected,
            RunStatus.WAITING_AGENT: self._retry_for_agent,
        }
        handlers[RunStatus(run.status)](run, tick)

    def _plan_of(self, request_id: int) -> ResolvedPlan:
        with Session(self._engine) as session:
            request = get_request(session, request_id)
            assert request is not None
            return ResolvedPlan.from_json(request.plan)

    def _submit(self, run: Run, tick: _Tick) -> None:
        """The only place a first reprotect POST is sent, and only once per `queued` run."""
        assert run.id is not None
        with session_scope(self._engine) as session:
            if not transition_run(session, run.id, [RunStatus.QUEUED], RunStatus.SUBMITTING,
                                  owner=self._owner, started_at=utcnow()):
                return
            audit(session, "bot", "submit", run.request_id, vm=run.vm_name, item=run.item_id)
        run.status = RunStatus.SUBMITTING
        run.started_at = utcnow()
        self._post_reprotect(run, RunStatus.SUBMITTING, tick, attempt=1)

    def _post_reprotect(self, run: Run, expected: RunStatus, tick: _Tick, *,
                        attempt: int) -> None:
        if not self._hold(run, expected):
            return
        try:
            accepted = self._asr.reprotect(
                run.item_id, reprotect_input(self._plan_of(run.request_id), run.item_id))
        except SiteRecoveryError as exc:
            self._write_refused(run, expected, exc, tick, attempt=attempt,
                                what="Site Recovery refused the reprotect request.")
            return
        self._running(run, expected, accepted, tick)

    def _write_refused(self, run: Run, expected: RunStatus, exc: SiteRecoveryError, tick: _Tick,
                       *, attempt: int, what: str) -> None:
        """A reprotect or restart was answered with an error: wait for the agent, adopt the
        job already running on the item, look again next tick (the answer may be lost, not
        the request), or report the refusal."""
        if AGENT_MISSING.search(f"{exc.what} {exc.why}"):
            self._wait_for_agent(run, expected, None, exc.why or exc.what)
        elif _in_progress(exc) and (job := self._find_started(run, tick)[0]):
            self._running(run, expected, Accepted(job), tick)
        elif exc.transient or _in_progress(exc):
            self._save(run, expected, expected, error={"attempts": attempt, "last": exc.what},
                       next_poll_at=utcnow() + self._delay(exc))
        else:
            self._fail(run, expected, f"{what}\n{exc.explain()}", error={"code": exc.code})

    def _delay(self, exc: SiteRecoveryError) -> timedelta:
        return max(self._policy.poll_interval, timedelta(seconds=exc.retry_after or 0))

    def _running(self, run: Run, expected: RunStatus, accepted: Accepted, tick: _Tick, *,
                 note: str = "") -> None:
        """Follow the job the answer named (else the item's); not before its Retry-After."""
        job = accepted.job_id or _scenario_job(self._asr.get_item(run.item_id))
        if job is None:
            self._save(run, expected, expected,
                       error={"attempts": 1, "last": "no job id in the answer"})
            return
        wait = max(self._policy.poll_interval, timedelta(seconds=accepted.retry_after_s or 0))
        jobs = [*run.flags.get("jobs", []), job]
        reply = {"view": "notice", "text": note} if note else None
        if self._save(run, expected, RunStatus.RUNNING, job_id=job, job_state="", job_task="",
                      error={}, tasks_read_at=None, next_poll_at=utcnow() + wait,
                      restarts=run.restarts,
                      flags={**run.flags, "jobs": jobs}, reply=reply) and not note:
            tick.started[run.request_id].append((run.vm_name, job))

    def _find_started(self, run: Run, tick: _Tick) -> tuple[str | None, ProtectedItem]:
        """A job Site Recovery runs or ran for this item since the run (re)started, which
        this run does not know yet: the item's current scenario, else the recent jobs."""
        item = self._asr.get_item(run.item_id)
        known = {j.lower() for j in [*run.flags.get("jobs", []), run.job_id] if j}
        running = _scenario_job(item)
        if running and running.lower() not in known:
            return running, item
        since = (run.started_at or utcnow()) - CLOCK_SKEW
        recent = [j for j in tick.jobs.values()
                  if j.id.lower() not in known and _targets(j, item)
                  and (j.start_time is None or j.start_time >= since)]
        newest = max(recent, key=lambda j: j.start_time or since, default=None)
        return (newest.id if newest else None), item

    def _recover_submission(self, run: Run, tick: _Tick) -> None:
        """A POST may have gone out: look at the item and recent jobs before sending again."""
        job, item = self._find_started(run, tick)
        attempts = int(run.error.get("attempts", 0))
        if job:
            self._running(run, RunStatus.SUBMITTING, Accepted(job), tick)
        elif item.protected:
            self._save(run, RunStatus.SUBMITTING, RunStatus.PROTECTED,
                       protection_state=item.protection_state,
                       reply={"view": "protected", "vm": run.vm_name})
        elif "ReverseReplicate" in item.allowed_operations and attempts < MAX_SUBMIT_ATTEMPTS:
            self._post_reprotect(run, RunStatus.SUBMITTING, tick, attempt=attempts + 1)
        else:
            last = run.error.get("last") or f"the item is {item.protection_state_description}"
            self._fail(run, RunStatus.SUBMITTING,
                       f"Reprotect could not be started: {last}. Site Recovery shows no "
                       "reprotect running for it; check the vault, then run `/reprotect` again "
                       "for this VM.", error={"message": last})

    def _recover_restart(self, run: Run, tick: _Tick) -> None:
        """A restart whose answer was lost (or whose sender stopped): adopt it if it runs."""
        job, _ = self._find_started(run, tick)
        if job:
            self._running(run, RunStatus.RESTARTING, Accepted(job), tick,
                          note=f":repeat: `{run.vm_name}`: the restarted job is `{job}`.")
            return
        self._fail(run, RunStatus.RESTARTING,
                   f"The restart of job `{run.job_id}` did not reach Site Recovery (no new job "
                   "runs for this VM). An approver can press Retry again.",
                   retryable=True)

    def _follow_job(self, run: Run, tick: _Tick) -> None:
        assert run.id is not None and run.job_id is not None
        entry = tick.jobs.get(job_name(run.job_id).lower())
        if run.id in tick.full_reads:
            job = self._asr.get_job(run.job_id)
        elif entry is not None and entry.finished and entry.state != "Failed":
            job = entry
        else:
            if self._read_rank(run, tick, utcnow()) is None and self._timed_out(run):
                self._give_up(run, RunStatus.RUNNING, f"job still {run.job_state}")
            else:
                tick.idle.append(run.id)  # unchanged in the list, or read next tick
            return
        task = _task_text(job)
        if (job.state, task) != (run.job_state, run.job_task) and job.state not in (
                "Failed", "Cancelled"):  # those get their own reply, with the reason
            tick.progress[run.request_id].append((run.vm_name, job.state, task))
        seen: dict[str, Any] = {"job_state": job.state, "job_task": task,
                                "tasks_read_at": utcnow() if job.tasks else run.tasks_read_at}
        if job.state == "Succeeded":
            self._save(run, RunStatus.RUNNING, RunStatus.SYNCING, next_poll_at=utcnow(), **seen)
        elif job.state == "Failed":
            self._job_failed(run, job, seen)
        elif job.state == "Cancelled":
            self._fail(run, RunStatus.RUNNING,
                       f"Site Recovery job `{job.id}` was cancelled (in the Azure portal or with "
                       "`Stop-AzRecoveryServicesAsrJob`), so the VM is not reprotected and "
                       "nothing else runs for it. Run `/reprotect` for it again once the reason "
                       "for cancelling is dealt with.", error={"state": job.state}, **seen)
        elif job.state == "Suspended" and run.flags.get("suspended") != job.id:
            self._save(run, RunStatus.RUNNING, RunStatus.RUNNING,
                       flags={**run.flags, "suspended": job.id}, **seen, reply={
                           "view": "notice", "text":
                           f":double_vertical_bar: `{run.vm_name}`: Site Recovery job "
                           f"`{job.id}` is suspended: it waits for a manual action"
                           + (f" at _{task}_" if task else "") + ". Resume it in the Azure "
                           "portal (Site Recovery jobs → the job → Resume) or with "
                           "`Resume-AzRecoveryServicesAsrJob`; the bot keeps following it."})
        elif self._timed_out(run):
            self._give_up(run, RunStatus.RUNNING, f"job still {job.state} at {task or 'start'}")
        else:
            self._save(run, RunStatus.RUNNING, RunStatus.RUNNING, **seen)

    def _job_failed(self, run: Run, job: Job, seen: dict[str, Any]) -> None:
        texts = " ".join(f"{e.message} {e.possible_causes} {e.provider_message or ''}"
                         for e in job.errors)
        waited_out = run.wait_until is not None and utcnow() >= run.wait_until
        if AGENT_MISSING.search(texts) and not waited_out:
            self._wait_for_agent(run, RunStatus.RUNNING, job.id, describe(job.errors), **seen)
            return
        restartable = "Restart" in job.allowed_actions
        where = job.current_task.name if job.current_task else ""
        self._fail(run, RunStatus.RUNNING,
                   f"Site Recovery job `{job.id}` failed" + (f" at _{where}_" if where else "")
                   + ".\n" + describe(job.errors)
                   + ("\nAn approver can press *Retry* to restart the job once the cause is fixed."
                      if restartable else ""),
                   error={"codes": [e.code for e in job.errors], "state": job.state},
                   retryable=restartable, **seen)

    # -- agent re-registration -------------------------------------------------------------

    def _wait_for_agent(self, run: Run, expected: RunStatus, job: str | None, reason: str,
                        **values: Any) -> None:
        """The agent has not re-registered since failover: retry by itself, with backoff, for
        up to AGENT_WAIT after the first refusal; then report."""
        now = utcnow()
        until = run.wait_until or now + AGENT_WAIT
        tries = int(run.flags.get("agent_tries", 0))
        if now >= until:
            self._fail(run, expected, self._agent_gave_up(run, reason, tries),
                       error={"message": "agent not re-registered"},
                       retryable=job is not None, **values)
            return
        backoff = min(AGENT_BACKOFF_MAX, AGENT_BACKOFF * 2 ** tries) * random.uniform(0.8, 1.2)
        reply = None if run.wait_until else {"view": "notice", "text": (
            f":hourglass: `{run.vm_name}`: waiting for the agent to re-register with the "
            f"configuration server. Site Recovery says: {reason.strip()}\nAfter failover the "
            "Azure VM's agent takes up to 15 minutes to re-register; the bot retries by itself "
            f"with backoff for up to {_duration(AGENT_WAIT)}, no new approval needed.")}
        self._save(run, expected, RunStatus.WAITING_AGENT, wait_until=until,
                   job_id=job, next_poll_at=now + backoff, reply=reply,
                   flags={**run.flags, "agent_tries": tries + 1, "agent_reason": reason[:500]},
                   **values)

    def _agent_gave_up(self, run: Run, reason: str, tries: int) -> str:
        return (f"The agent of `{run.vm_name}` did not re-register with the configuration "
                f"server within {_duration(AGENT_WAIT)}: reprotect was retried {tries} "
                f"time(s) and still fails. Site Recovery says: {reason.strip()}\n{AGENT_FIX}; "
                "then press Retry, or run `/reprotect` again for this VM.")

    def _retry_for_agent(self, run: Run, tick: _Tick) -> None:
        """Try again: restart the failed job, or send the refused reprotect again, after
        looking at the item and recent jobs (a retry whose answer was lost is adopted)."""
        assert run.wait_until is not None
        if utcnow() >= run.wait_until:
            self._wait_for_agent(run, RunStatus.WAITING_AGENT, run.job_id,
                                 str(run.flags.get("agent_reason", "")))
            return
        job, _ = self._find_started(run, tick)
        if job:
            self._running(run, RunStatus.WAITING_AGENT, Accepted(job), tick,
                          note=f":repeat: `{run.vm_name}`: retried after waiting for the agent, "
                               f"job `{job}`.")
            return
        attempt = int(run.flags.get("agent_tries", 0))
        if run.job_id is None:
            self._post_reprotect(run, RunStatus.WAITING_AGENT, tick, attempt=attempt)
            return
        if not self._hold(run, RunStatus.WAITING_AGENT):
            return
        try:
            accepted = self._asr.restart_job(run.job_id)
        except SiteRecoveryError as exc:
            self._write_refused(run, RunStatus.WAITING_AGENT, exc, tick, attempt=attempt,
                                what=f"Site Recovery refused to restart job `{run.job_id}`.")
            return
        run.restarts += 1
        self._running(run, RunStatus.WAITING_AGENT, accepted, tick,
                      note=f":repeat: `{run.vm_name}`: job `{run.job_id}` restarted after "
                           f"waiting for the agent, new job `{accepted.job_id or 'pending'}`.")

    # -- approved retry --------------------------------------------------------------------

    def restart(self, run_id: int, approver: str) -> str | None:
        """Restart a failed VM's job after an approver's Retry; None when it went, else why
        not. The compare-and-set from `failed` makes a second click change nothing."""
        now = utcnow()
        with session_scope(self._engine) as session:
            run = session.get(Run, run_id)
            if run is None or run.status != RunStatus.FAILED or not run.job_id:
                state = run.status if run else "gone"
                return f"Nothing to retry: this VM's reprotect is {state} now."
            try:
                holder = acquire_locks(session, run.request_id, [run.item_id])
            except IntegrityError:
                session.rollback()
                return "Another request took this VM at the same moment; try again."
            if holder is not None:
                session.rollback()
                return (f"`{run.vm_name}` belongs to request #{holder.id} now, which is "
                        f"{holder.status}: retry it there.")
            if not transition_run(session, run_id, [RunStatus.FAILED], RunStatus.RESTARTING,
                                  started_at=now, finished_at=None, lease_owner=self._owner,
                                  lease_until=now + LEASE, next_poll_at=now + WRITE_GRACE,
                                  wait_until=None):
                session.rollback()
                return "This VM is already being retried."
            transition(session, run.request_id, [RequestStatus.FAILED, RequestStatus.EXECUTING],
                       RequestStatus.EXECUTING, finished_at=None)
            audit(session, approver, "retry", run.request_id, vm=run.vm_name, job=run.job_id)
        run.status, run.started_at, run.wait_until = RunStatus.RESTARTING, now, None
        tick = _Tick()
        try:
            accepted = self._asr.restart_job(run.job_id)
        except SiteRecoveryError as exc:
            if exc.transient or _in_progress(exc):  # it may run already: look next tick
                self._save(run, RunStatus.RESTARTING, RunStatus.RESTARTING,
                           next_poll_at=utcnow() + self._delay(exc))
            else:
                self._fail(run, RunStatus.RESTARTING,
                           f"Site Recovery refused to restart job `{run.job_id}`.\n"
                           + exc.explain(), error={"code": exc.code}, retryable=True)
            return None
        run.restarts += 1
        self._running(run, RunStatus.RESTARTING, accepted, tick,
                      note=f":repeat: <@{approver}> approved a retry of `{run.vm_name}`: job "
                           f"`{run.job_id}` restarted as `{accepted.job_id or 'pending'}`.")
        return None

    # -- until protected -------------------------------------------------------------------

    def _await_protected(self, run: Run, tick: _Tick) -> None:
        """The job succeeded; the VM is done when its item says Protected."""
        assert run.id is not None
        item = tick.items.get(run.item_id.lower()) or self._asr.get_item(run.item_id)
        health = ", ".join(sorted(e.code for e in item.health_errors))
        if item.protected:
            self._save(run, RunStatus.SYNCING, RunStatus.PROTECTED,
                       protection_state=item.protection_state,
                       reply={"view": "protected", "vm": run.vm_name})
        elif self._timed_out(run):
            self._give_up(run, RunStatus.SYNCING, _item_state(item))
        elif health and run.flags.get("health") != health:
            self._save(run, RunStatus.SYNCING, RunStatus.SYNCING,
                       protection_state=item.protection_state,
                       flags={**run.flags, "health": health},
                       reply={"view": "notice", "text": (
                           f":warning: `{run.vm_name}` is not protected yet: "
                           f"{_item_state(item)}.\nThe bot keeps waiting for `Protected` until "
                           "REPROTECT_PROTECT_TIMEOUT_MINUTES; fix the errors above meanwhile.")})
        elif item.progress_percent is not None and \
                item.progress_percent != run.flags.get("percent") and \
                self._save(run, RunStatus.SYNCING, RunStatus.SYNCING,
                           protection_state=item.protection_state,
                           flags={**run.flags, "percent": item.progress_percent}):
            tick.progress[run.request_id].append(  # modernized items report it
                (run.vm_name, item.protection_state_description or item.protection_state,
                 f"initial replication {item.progress_percent}%"))
        elif item.protection_state != run.protection_state:
            self._save(run, RunStatus.SYNCING, RunStatus.SYNCING,
                       protection_state=item.protection_state)
        else:
            tick.idle.append(run.id)

    def _timed_out(self, run: Run) -> bool:
        started = run.started_at or utcnow()
        return utcnow() - started > self._policy.protect_timeout

    def _give_up(self, run: Run, expected: RunStatus, where: str) -> None:
        minutes = int(self._policy.protect_timeout.total_seconds() // 60)
        self._save(run, expected, RunStatus.TIMED_OUT, error={"message": where},
                   reply={"view": "failed", "vm": run.vm_name,
                          "reason": f"Time ran out: not protected after {minutes} min "
                                    f"(REPROTECT_PROTECT_TIMEOUT_MINUTES). It is in this state: "
                                    f"{where}. The bot stopped following it; Site Recovery "
                                    "carries on by itself: check the replicated item and its "
                                    "jobs in the Azure portal."})

    def _fail(self, run: Run, expected: RunStatus, reason: str, *, retryable: bool = False,
              **values: Any) -> None:
        """A final failure in the thread; with a Retry button when the job can be restarted."""
        reply: dict[str, Any] = {"view": "failed", "vm": run.vm_name, "reason": reason}
        if retryable:
            reply["run"] = run.id
        values.setdefault("error", {"message": reason})
        self._save(run, expected, RunStatus.FAILED, reply=reply, **values)

    # -- authentication --------------------------------------------------------------------

    def _auth_problem(self, runs: list[Run], exc: SiteRecoveryAuthError) -> None:
        """Tell each affected request once that Azure refuses the bot's token; keep the runs."""
        told = {r.request_id for r in runs if r.flags.get("auth")}
        self._mark_auth(runs, True, {
            "view": "notice", "text": f":closed_lock_with_key: {exc.explain()}\nTracking is "
                                      "paused for this request; nothing is lost."}, told)
        self._defer(runs, exc)

    def _auth_recovered(self, runs: list[Run]) -> None:
        told = {r.request_id for r in runs if not r.flags.get("auth")}
        self._mark_auth([r for r in runs if r.flags.get("auth")], False, {
            "view": "notice", "text": ":unlock: Azure accepts the bot's token again: tracking "
                                      "resumed."}, told)

    def _mark_auth(self, runs: list[Run], value: bool, notice: dict[str, Any],
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
                enqueue(session, request, OutboxKind.REPLY, notice)

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
                    enqueue(session, request, OutboxKind.REPLY,
                            {"view": "started", "jobs": tick.started[request_id]})
                if tick.progress.get(request_id):
                    enqueue(session, request, OutboxKind.REPLY,
                            {"view": "progress", "changes": tick.progress[request_id]})

    def _finish_requests(self) -> None:
        with Session(self._engine) as session:
            executing = session.exec(select(Request).where(
                Request.status == RequestStatus.EXECUTING)).all()
        for request in executing:
            assert request.id is not None
            with session_scope(self._engine) as session:
                runs = runs_of(session, request.id)
                if not runs or any(r.status not in FINAL_RUN_STATUSES for r in runs):
                    continue
                counts = {s: sum(1 for r in runs if r.status == s) for s in FINAL_RUN_STATUSES}
                final = (RequestStatus.DONE if counts[RunStatus.PROTECTED] == len(runs)
                         else RequestStatus.FAILED)
                if not transition(session, request.id, [RequestStatus.EXECUTING], final,
                                  finished_at=utcnow()):
                    continue
                audit(session, "bot", "finish", request.id, status=final.value,
                      counts={k.value: v for k, v in counts.items()})
                enqueue(session, request, OutboxKind.REPLY, {
                    "view": "summary", "total": len(runs),
                    "protected": counts[RunStatus.PROTECTED],
                    "failed": counts[RunStatus.FAILED],
                    "timed_out": counts[RunStatus.TIMED_OUT]})
                enqueue(session, request, OutboxKind.UPDATE, {"view": "request"})


def _in_progress(exc: SiteRecoveryError) -> bool:
    """Refused because another operation runs on the item (maybe the one this run sent)."""
    return exc.status == 409 or bool(IN_PROGRESS.search(f"{exc.code or ''} {exc.why}"))


def _scenario_job(item: ProtectedItem) -> str | None:
    """The job Site Recovery runs on the item now, if any."""
    scenario = item.current_scenario
    if scenario.idle or not scenario.job_id:
        return None
    name = job_name(scenario.job_id)
    return None if name.lower() == "none" else name


def _targets(job: Job, item: ProtectedItem) -> bool:
    """Whether a job acts on the item (its target is the item's name or ARM id)."""
    target = (job.target_object_id or "").lower()
    return bool(target) and target in (item.name.lower(), item.id.lower())


def _task_text(job: Job) -> str:
    """Task-level progress: the current task, its state, and how many tasks are done."""
    if not job.tasks:
        return ""
    done = sum(1 for t in job.tasks if t.state == "Succeeded")
    current = job.current_task
    head = f"{current.name} ({current.state}), " if current else ""
    return f"{head}{done}/{len(job.tasks)} tasks done"


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    return f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"


def _item_state(item: ProtectedItem) -> str:
    """The item's protection state and health, with every health error and its fix."""
    state = item.protection_state_description or item.protection_state or "unknown"
    text = f"protection state `{state}`, replication health {item.replication_health or 'n/a'}"
    for error in item.health_errors:
        text += f"\n• *{error.code}* {error.message}" + (
            f" _Recommended action:_ {error.recommended_action}"
            if error.recommended_action else "")
    return text
