"""The tracking state machine: one pure function per run status.

Each takes the run (`RunView`), what Site Recovery showed this tick (`Seen`: the vault's job
list, the item, a full job read, the answer to a write the runner performed), the policy and
`now`, and returns a `Step`: the next status and values to store with their events, or one
effect for the runner to perform first (a read or a write), whose result comes back in `Seen`
for another call. No database, no HTTP, no clock, no randomness here (the runner draws the
backoff jitter), so every transition has a table-driven unit test.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from core.events import (
    AgentGaveUp,
    AgentWaiting,
    Done,
    Event,
    HealthWarning,
    ItemState,
    JobCancelled,
    JobErrorInfo,
    JobFailed,
    JobSuspended,
    NotStarted,
    RestartLost,
    Retried,
    TimedOut,
    WriteRefused,
)
from core.policy import Policy
from gateways.errors import SiteRecoveryError
from gateways.site_recovery import job_name
from gateways.site_recovery_models import Accepted, Job, ProtectedItem
from operations.failback import Failback, undone_after_failure
from store.models import FINAL_RUN_STATUSES, RunStatus
from tracking.observe import (
    RunView,
    find_started,
    in_progress,
    item_state,
    job_errors,
    read_rank,
    scenario_job,
    task_text,
)

MAX_SUBMIT_ATTEMPTS = 3
AGENT_WAIT = timedelta(minutes=20)
AGENT_BACKOFF = timedelta(minutes=1)
AGENT_BACKOFF_MAX = timedelta(minutes=5)
# A lead in these has a job of its own that the plan's other runs may follow.
LEAD_JOB_STATUSES = (RunStatus.RUNNING, RunStatus.SYNCING, RunStatus.PROTECTED)
AGENT_MISSING = re.compile(r"agent\s+(?:isn't|is\s+not|not)\s+installed", re.IGNORECASE)
# A run whose item reports `isAgentRegistrationSuccessfulAfterFailover` (modernized): its
# reprotect is sent only once the item says the agent registered.
AGENT_GATE = "agent_gate"
AGENT_UNREGISTERED = "isAgentRegistrationSuccessfulAfterFailover is false"


# -- effects: what the runner does for the machine ----------------------------------------

@dataclass(frozen=True)
class ReadItem:
    """Read the protected item (`after_write`: again, after this tick's write)."""

    after_write: bool = False


@dataclass(frozen=True)
class ReadJob:
    """Read the run's job in full (tasks, errors, allowed actions)."""


@dataclass(frozen=True)
class Submit:
    """Send the run's operation (fenced by the lease and WRITE_GRACE); `attempt` counts
    sends. In a plan-scope operation only the lead run sends, once for the whole plan."""

    attempt: int


@dataclass(frozen=True)
class RestartJob:
    """Restart the run's job; `by` is the approver of a Retry, None after an agent wait."""

    attempt: int = 0
    by: str | None = None


Effect = ReadItem | ReadJob | Submit | RestartJob
Write = Submit | RestartJob


@dataclass(frozen=True)
class Written:
    """The answer to a write: accepted, or refused with Site Recovery's error."""

    write: Write
    accepted: Accepted | None = None
    refused: SiteRecoveryError | None = None


@dataclass(frozen=True)
class Seen:
    """What Site Recovery showed this tick for one run."""

    jobs: Mapping[str, Job] = field(default_factory=dict)  # recent jobs by lowercase name
    item: ProtectedItem | None = None        # from the plan's bulk read, or read for the run
    job: Job | None = None                   # a full read of the run's job
    full_read: bool = False                  # this run is within the tick's job read budget
    task_refresh: timedelta = timedelta(0)   # how often a running job's tasks are re-read
    written: Written | None = None           # the answer to this tick's write
    item_after: ProtectedItem | None = None  # the item, read again after that write
    jitter: float = 1.0                      # the agent backoff's random factor (0.8-1.2)
    lead: RunView | None = None              # plan scope: the run whose write covers the plan
    plan_ids: tuple[str, ...] = ()           # plan scope: the recovery plan's ARM id and name


@dataclass(frozen=True)
class Step:
    """Where the run goes. `status` None and no effect: unchanged, poll again later."""

    status: RunStatus | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    events: tuple[Event, ...] = ()
    effect: Effect | None = None
    started: str | None = None               # the job now followed, for the start reply
    progress: tuple[str, str] | None = None  # (job state, task text) that changed


# -- one function per status ---------------------------------------------------------------

def queued(run: RunView, seen: Seen, policy: Policy, now: datetime) -> Step:
    """The only place a first write is sent, and only once per `queued` run; in a plan-scope
    operation only by the lead, whose job every other run of the plan follows; a gated run
    whose agent has not registered yet waits for it instead, sending nothing."""
    if seen.lead is not None:
        return _follow_lead(run, seen.lead, seen, policy, now)
    if run.flags.get(AGENT_GATE):
        if seen.item is None:
            return Step(effect=ReadItem())
        if seen.item.agent_registered is False:
            return _wait_for_agent(run, seen, now, None, AGENT_UNREGISTERED, (), started_at=now)
    return Step(RunStatus.SUBMITTING, {"started_at": now}, effect=Submit(attempt=1))


def _follow_lead(run: RunView, lead: RunView, seen: Seen, policy: Policy,
                 now: datetime) -> Step:
    """A plan-scope run: follow the job the lead's write started; wait while the lead has
    none yet; when the lead ended without one, done if the item shows it, else not started."""
    if lead.job_id is not None and lead.status in LEAD_JOB_STATUSES:
        step = _running(run, seen, policy, now, Accepted(lead.job_id))
        return replace(step, values={**step.values, "started_at": now})
    if lead.status not in FINAL_RUN_STATUSES:
        return Step()
    if seen.item is None:
        return Step(effect=ReadItem())
    if run.operation.done(seen.item):
        return _done(run, seen.item)
    last = str(lead.error.get("last") or lead.error.get("message") or lead.status)
    return _fail(NotStarted(run.vm_name, last), error={"message": last, "lead": lead.id})


def submitting(run: RunView, seen: Seen, policy: Policy, now: datetime) -> Step:
    """A POST may have gone out: look at the item and recent jobs before sending again."""
    if seen.written is not None:
        return _answered(run, seen, policy, now)
    if seen.item is None:
        return Step(effect=ReadItem())
    job = find_started(run, seen.item, seen.jobs, now, seen.plan_ids)
    attempts = int(run.error.get("attempts", 0))
    if job:
        return _running(run, seen, policy, now, Accepted(job))
    if run.operation.done(seen.item):
        return _done(run, seen.item)
    if run.operation.may_send(seen.item) and attempts < MAX_SUBMIT_ATTEMPTS:
        return Step(effect=Submit(attempt=attempts + 1))
    last = run.error.get("last") or f"the item is {seen.item.protection_state_description}"
    return _fail(NotStarted(run.vm_name, last), error={"message": last})


def restarting(run: RunView, seen: Seen, policy: Policy, now: datetime) -> Step:
    """After an approver's Retry: its answer; or, when that answer was lost (or its sender
    stopped), adopt the restarted job if it runs."""
    written = seen.written
    if written is not None and written.refused is not None:
        exc = written.refused
        if exc.transient or in_progress(exc):  # it may run already: look next tick
            return Step(RunStatus.RESTARTING, {"next_poll_at": now + _delay(exc, policy)})
        return _fail(WriteRefused(run.vm_name, exc.what, exc.why, exc.fix, run.job_id, run.id),
                     error={"code": exc.code})
    if written is not None:
        return _answered(run, seen, policy, now)
    if seen.item is None:
        return Step(effect=ReadItem())
    job = find_started(run, seen.item, seen.jobs, now)
    if job:
        return _running(run, seen, policy, now, Accepted(job),
                        note=lambda new: Retried(run.vm_name, new, "adopted"))
    assert run.job_id is not None
    return _fail(RestartLost(run.vm_name, run.job_id, run.id), error={"message": "restart lost"})


def running(run: RunView, seen: Seen, policy: Policy, now: datetime) -> Step:
    """Follow the job: the list entry when it says enough, a full read within the budget."""
    assert run.job_id is not None
    entry = seen.jobs.get(job_name(run.job_id).lower())
    job = seen.job
    if job is None and seen.full_read:
        return Step(effect=ReadJob())
    if job is None and entry is not None and entry.finished and entry.state != "Failed":
        job = entry
    if job is None:
        if read_rank(run, seen.jobs, seen.task_refresh, now) is None \
                and timed_out(run, policy, now):
            return _give_up(run, policy, job_state=run.job_state)
        return Step()  # unchanged in the list, or read next tick
    task = task_text(job)
    changed = (job.state, task) != (run.job_state, run.job_task) \
        and job.state not in ("Failed", "Cancelled")  # those get their own reply
    step = _followed(run, seen, job, task, policy, now,
                     {"job_state": job.state, "job_task": task,
                      "tasks_read_at": now if job.tasks else run.tasks_read_at})
    return Step(step.status, step.values, step.events, step.effect,
                progress=(job.state, task) if changed else None)


def syncing(run: RunView, seen: Seen, policy: Policy, now: datetime) -> Step:
    """The job succeeded; the VM is done when its item shows the operation done."""
    item = seen.item
    if item is None:
        return Step(effect=ReadItem())
    health = ", ".join(sorted(e.code for e in item.health_errors))
    if run.operation.done(item):
        return _done(run, item)
    if timed_out(run, policy, now):
        return _give_up(run, policy, item=item_state(item))
    if health and run.flags.get("health") != health:
        return Step(RunStatus.SYNCING, {"protection_state": item.protection_state,
                                        "flags": {**run.flags, "health": health}},
                    (HealthWarning(run.vm_name, item_state(item)),))
    percent = item.progress_percent  # modernized items report their initial replication
    if percent is not None and percent != run.flags.get("percent"):
        return Step(RunStatus.SYNCING, {"protection_state": item.protection_state,
                                        "flags": {**run.flags, "percent": percent}},
                    progress=(item.protection_state_description or item.protection_state
                              or "", f"initial replication {percent}%"))
    if item.protection_state != run.protection_state:
        return Step(RunStatus.SYNCING, {"protection_state": item.protection_state})
    return Step()


def waiting_agent(run: RunView, seen: Seen, policy: Policy, now: datetime) -> Step:
    """Try again: restart the failed job, or send the refused write again, after
    looking at the item and recent jobs (a retry whose answer was lost is adopted); not
    while the item says its agent has not registered (read each time)."""
    assert run.wait_until is not None
    if seen.written is not None:
        return _answered(run, seen, policy, now)
    errors = tuple(JobErrorInfo(**e) for e in run.flags.get("agent_errors", []))
    if now >= run.wait_until:
        return _wait_for_agent(run, seen, now, run.job_id,
                               str(run.flags.get("agent_reason", "")), errors)
    if seen.item is None:
        return Step(effect=ReadItem())
    job = find_started(run, seen.item, seen.jobs, now)
    if job:
        return _running(run, seen, policy, now, Accepted(job),
                        note=lambda new: Retried(run.vm_name, new, "agent"))
    if seen.item.agent_registered is False:
        return _wait_for_agent(run, seen, now, run.job_id, AGENT_UNREGISTERED, errors)
    attempt = int(run.flags.get("agent_tries", 0))
    if run.job_id is None:
        return Step(effect=Submit(attempt=attempt))
    return Step(effect=RestartJob(attempt=attempt))


MACHINE: dict[RunStatus, Callable[[RunView, Seen, Policy, datetime], Step]] = {
    RunStatus.QUEUED: queued,
    RunStatus.SUBMITTING: submitting,
    RunStatus.RESTARTING: restarting,
    RunStatus.RUNNING: running,
    RunStatus.SYNCING: syncing,
    RunStatus.WAITING_AGENT: waiting_agent,
}


def step(run: RunView, seen: Seen, policy: Policy, now: datetime) -> Step:
    return MACHINE[run.status](run, seen, policy, now)


# -- shared transitions --------------------------------------------------------------------

def _answered(run: RunView, seen: Seen, policy: Policy, now: datetime) -> Step:
    """A write or restart was answered: follow its job, or deal with the refusal."""
    written = seen.written
    assert written is not None
    if written.refused is None:
        assert written.accepted is not None
        return _running(run, seen, policy, now, written.accepted,
                        note=_retry_note(run, written.write))
    exc = written.refused
    if AGENT_MISSING.search(f"{exc.what} {exc.why}"):
        return _wait_for_agent(run, seen, now, None, exc.why or exc.what, ())
    if in_progress(exc):
        if seen.item_after is None:
            return Step(effect=ReadItem(after_write=True))
        job = find_started(run, seen.item_after, seen.jobs, now, seen.plan_ids)
        if job:
            return _running(run, seen, policy, now, Accepted(job))
    if exc.transient or in_progress(exc):
        return Step(run.status, {"error": {"attempts": written.write.attempt, "last": exc.what},
                                 "next_poll_at": now + _delay(exc, policy)})
    job_id = run.job_id if isinstance(written.write, RestartJob) else None
    return _fail(WriteRefused(run.vm_name, exc.what, exc.why, exc.fix, job_id),
                 error={"code": exc.code, "last": exc.what})


def _retry_note(run: RunView, write: Write) -> Callable[[str], Retried] | None:
    """What the thread hears of an accepted restart (a first write: the start reply)."""
    if not isinstance(write, RestartJob):
        return None
    if write.by is not None:
        return lambda new: Retried(run.vm_name, new, "approved", run.job_id, write.by)
    return lambda new: Retried(run.vm_name, new, "agent", run.job_id)


def _running(run: RunView, seen: Seen, policy: Policy, now: datetime, accepted: Accepted, *,
             note: Callable[[str], Retried] | None = None) -> Step:
    """Follow the job the answer named (else the item's); not before its Retry-After."""
    job = accepted.job_id
    if job is None:
        if seen.item_after is None:
            return Step(effect=ReadItem(after_write=True))
        job = scenario_job(seen.item_after)
    if job is None:
        return Step(run.status, {"error": {"attempts": 1, "last": "no job id in the answer"}})
    wait = max(policy.poll_interval, timedelta(seconds=accepted.retry_after_s or 0))
    restarted = seen.written is not None and isinstance(seen.written.write, RestartJob) \
        and seen.written.refused is None
    return Step(RunStatus.RUNNING, {
        "job_id": job, "job_state": "", "job_task": "", "error": {}, "tasks_read_at": None,
        "next_poll_at": now + wait, "restarts": run.restarts + (1 if restarted else 0),
        "flags": {**run.flags, "jobs": [*run.flags.get("jobs", []), job]}},
        (note(job),) if note else (), started=None if note else job)


def _followed(run: RunView, seen: Seen, job: Job, task: str, policy: Policy, now: datetime,
              values: dict[str, Any]) -> Step:
    if job.state == "Succeeded":
        return Step(RunStatus.SYNCING, {**values, "next_poll_at": now})
    if job.state == "Failed":
        return _job_failed(run, seen, job, now, values)
    if job.state == "Cancelled":
        return _fail(JobCancelled(run.vm_name, job.id), error={"state": job.state}, **values)
    if job.state == "Suspended" and run.flags.get("suspended") != job.id:
        return Step(RunStatus.RUNNING, {**values, "flags": {**run.flags, "suspended": job.id}},
                    (JobSuspended(run.vm_name, job.id, task),))
    if timed_out(run, policy, now):
        return _give_up(run, policy, job_state=job.state, task=task)
    return Step(RunStatus.RUNNING, values)


def _job_failed(run: RunView, seen: Seen, job: Job, now: datetime,
                values: dict[str, Any]) -> Step:
    texts = " ".join(f"{e.message} {e.possible_causes} {e.provider_message or ''}"
                     for e in job.errors)
    waited_out = run.wait_until is not None and now >= run.wait_until
    writes = seen.lead is None  # a plan-scope run that follows the lead's job never restarts it
    if AGENT_MISSING.search(texts) and not waited_out and writes:
        return _wait_for_agent(run, seen, now, job.id, "", job_errors(job), **values)
    restartable = "Restart" in job.allowed_actions and writes
    where = job.current_task.name if job.current_task else ""
    undone = ""
    if isinstance(run.operation, Failback):  # what Site Recovery did about it, from the item
        if seen.item is None:
            return Step(effect=ReadItem())
        undone = undone_after_failure(seen.item)
    return _fail(JobFailed(run.vm_name, job.id, where, job_errors(job),
                           run.id if restartable else None, undone),
                 error={"codes": [e.code for e in job.errors], "state": job.state}, **values)


def _wait_for_agent(run: RunView, seen: Seen, now: datetime, job: str | None, reason: str,
                    errors: tuple[JobErrorInfo, ...], **values: Any) -> Step:
    """The agent has not re-registered since failover: retry by itself, with backoff, for
    up to AGENT_WAIT after the first refusal; then report."""
    until = run.wait_until or now + AGENT_WAIT
    tries = int(run.flags.get("agent_tries", 0))
    gated = bool(run.flags.get(AGENT_GATE))
    wait_s = int(AGENT_WAIT.total_seconds())
    if now >= until:
        return _fail(AgentGaveUp(run.vm_name, reason, wait_s, tries, errors,
                                 run.id if job is not None else None, gated),
                     error={"message": "agent not re-registered"}, **values)
    backoff = min(AGENT_BACKOFF_MAX, AGENT_BACKOFF * 2 ** tries) * seen.jitter
    events = () if run.wait_until else (
        AgentWaiting(run.vm_name, reason, wait_s, errors, gated),)
    return Step(RunStatus.WAITING_AGENT, {
        **values, "wait_until": until, "job_id": job, "next_poll_at": now + backoff,
        "flags": {**run.flags, "agent_tries": tries + 1, "agent_reason": reason[:500],
                  "agent_errors": [asdict(e) for e in errors]}}, events)


def _done(run: RunView, item: ProtectedItem) -> Step:
    return Step(RunStatus.PROTECTED, {"protection_state": item.protection_state},
                (Done((run.vm_name,), run.operation.name),))


def _fail(event: Event, **values: Any) -> Step:
    """A final failure; its event carries the Retry when the job can be restarted."""
    return Step(RunStatus.FAILED, values, (event,))


def _give_up(run: RunView, policy: Policy, *, job_state: str = "", task: str = "",
             item: ItemState | None = None) -> Step:
    minutes = int(policy.protect_timeout.total_seconds() // 60)
    where = f"job still {job_state} at {task or 'start'}" if item is None else item.state
    return Step(RunStatus.TIMED_OUT, {"error": {"message": where}},
                (TimedOut(run.vm_name, minutes, job_state, task, item),))


def _delay(exc: SiteRecoveryError, policy: Policy) -> timedelta:
    return max(policy.poll_interval, timedelta(seconds=exc.retry_after or 0))


def timed_out(run: RunView, policy: Policy, now: datetime) -> bool:
    return now - (run.started_at or now) > policy.protect_timeout
