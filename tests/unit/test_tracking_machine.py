"""Every run-status transition of the tracking machine, table-driven: no database, no HTTP.

Each row gives the run, what Site Recovery showed, and what the machine must decide: the next
status (or None: unchanged, polled again), the effect it asks the ticker for, the events the
thread gets, and values that must be stored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core import events as ev
from core.policy import Policy
from gateways.errors import SiteRecoveryError
from gateways.site_recovery_models import (
    Accepted,
    CurrentScenario,
    HealthIssue,
    Job,
    JobError,
    JobTask,
    ProtectedItem,
)
from store.models import RunStatus as S
from tests.support.preflight import item as make_item
from tracking import machine as m
from tracking.observe import RunView

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
POLICY = Policy(workspace_team=lambda: "T0", channels=frozenset(), required_approvals=1,
                approval_ttl=timedelta(hours=1), poll_interval=timedelta(seconds=30),
                protect_timeout=timedelta(hours=12))
VAULT = "/Subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v"
ITEM = make_item(1)
OLD, NEW = "job-old", "job-new"
TASKS = (JobTask("Prerequisites check", "Succeeded"), JobTask("Enable replication",
                                                             "InProgress"))
AGENT_ERROR = JobError("78093", "The agent isn't installed on the VM.")


def run(status: S, **changes: Any) -> RunView:
    base = RunView(id=5, request_id=1, item_id=ITEM.id, vm_name="app-01", status=status,
                     job_id=OLD if status not in (S.QUEUED, S.SUBMITTING) else None,
                     job_state="InProgress", started_at=NOW - timedelta(minutes=10),
                     flags={"jobs": [OLD]} if status not in (S.QUEUED, S.SUBMITTING) else {})
    return replace(base, **changes)


def job(state: str, name: str = OLD, **changes: Any) -> Job:
    return replace(Job(id=name, state=state, state_description=state, scenario_name="Reprotect",
                       target_object_id=ITEM.name, start_time=NOW - timedelta(minutes=1)),
                   **changes)


def running_on(name: str) -> ProtectedItem:
    return replace(ITEM, current_scenario=CurrentScenario("ReverseReplication",
                                                          f"{VAULT}/replicationJobs/{name}"))


def refused(status: int | None, why: str = "", what: str = "Refused.") -> SiteRecoveryError:
    return SiteRecoveryError(what, why, "Fix it.", status=status, code="Code1")


def post(attempt: int = 1, accepted: Accepted | None = None,
         exc: SiteRecoveryError | None = None) -> m.Written:
    return m.Written(m.Submit(attempt), accepted, exc)


def restart(accepted: Accepted | None = None, exc: SiteRecoveryError | None = None,
            by: str | None = None) -> m.Written:
    return m.Written(m.RestartJob(0, by), accepted, exc)


POLL = timedelta(seconds=30)  # POLICY.poll_interval
AGENT_INFO = ev.JobErrorInfo("78093", "The agent isn't installed on the VM.")
AGENT_WHY = "The agent isn't installed."


def following(job_id: str, *, before: tuple[str, ...] = (), restarts: int = 0,
              wait: timedelta = POLL, **flags: Any) -> dict[str, Any]:
    """What is stored when the run starts following `job_id`: its state and tasks cleared,
    the error forgotten, the job added to those the run followed `before`."""
    return {"job_id": job_id, "job_state": "", "job_task": "", "error": {},
            "tasks_read_at": None, "next_poll_at": NOW + wait, "restarts": restarts,
            "flags": {**flags, "jobs": [*before, job_id]}}


def read(state: str, task: str = "", tasks_read_at: datetime | None = None) -> dict[str, Any]:
    """What is stored of a job read: its state and task text (when the tasks were read)."""
    return {"job_state": state, "job_task": task, "tasks_read_at": tasks_read_at}


def agent_wait(*, job_id: str | None, backoff: timedelta, tries: int, reason: str = "",
               errors: tuple[ev.JobErrorInfo, ...] = (), until: datetime = NOW + m.AGENT_WAIT,
               **flags: Any) -> dict[str, Any]:
    """What is stored while waiting for the agent: until when, the job to restart (None:
    send the write again), the next try after `backoff`, and the tries so far."""
    return {"wait_until": until, "job_id": job_id, "next_poll_at": NOW + backoff,
            "flags": {**flags, "agent_tries": tries, "agent_reason": reason,
                      "agent_errors": [asdict(e) for e in errors]}}


def failed_job(code: str, *, restartable: bool) -> Row:
    """A job failed with `code`: the Retry (the run's id) only when Site Recovery offers
    Restart on the job."""
    actions = ("Restart",) if restartable else ()
    info = ev.JobErrorInfo(code, "x")
    return Row(run(S.RUNNING), m.Seen(job=job("Failed", errors=(JobError(code, "x"),),
                                              allowed_actions=actions)),
               S.FAILED, events=(ev.JobFailed("app-01", OLD, "", (info,),
                                              5 if restartable else None),),
               values={"error": {"codes": [code], "state": "Failed"}, **read("Failed")})


@dataclass(frozen=True)
class Row:
    run: RunView
    seen: m.Seen
    status: S | None = None
    effect: m.Effect | None = None
    events: tuple[ev.Event, ...] = ()
    values: dict[str, Any] = field(default_factory=dict)
    started: str | None = None
    progress: tuple[str, str] | None = None


WAITING = dict(wait_until=NOW + timedelta(minutes=5), flags={"jobs": [OLD], "agent_tries": 2})
GATED = {m.AGENT_GATE: True}
UNREGISTERED = replace(ITEM, agent_registered=False)
UNREGISTERED_WHY = "isAgentRegistrationSuccessfulAfterFailover is false"
DONE = ev.Done(("app-01",), "reprotect")
ROWS: dict[str, Row] = {
    # queued
    "queued: the first reprotect is sent": Row(
        run(S.QUEUED), m.Seen(), S.SUBMITTING, m.Submit(1), values={"started_at": NOW}),
    "queued, gated on the agent: read the item first": Row(
        run(S.QUEUED, flags=GATED), m.Seen(), effect=m.ReadItem()),
    "queued, agent not registered: wait for it, nothing sent": Row(
        run(S.QUEUED, flags=GATED), m.Seen(item=UNREGISTERED), S.WAITING_AGENT,
        events=(ev.AgentWaiting("app-01", UNREGISTERED_WHY, 1200, modernized=True),),
        values={"started_at": NOW, **agent_wait(job_id=None, backoff=m.AGENT_BACKOFF, tries=1,
                                                reason=UNREGISTERED_WHY, **GATED)}),
    "queued, agent registered: the first reprotect is sent": Row(
        run(S.QUEUED, flags=GATED), m.Seen(item=replace(ITEM, agent_registered=True)),
        S.SUBMITTING, m.Submit(1), values={"started_at": NOW}),
    # submitting, after this tick's POST
    "post accepted: follow its job": Row(
        run(S.SUBMITTING), m.Seen(written=post(accepted=Accepted(NEW))), S.RUNNING,
        values=following(NEW), started=NEW),
    "post accepted without a job id: read the item": Row(
        run(S.SUBMITTING), m.Seen(written=post(accepted=Accepted(None))),
        effect=m.ReadItem(after_write=True)),
    "post accepted, the item names the job": Row(
        run(S.SUBMITTING), m.Seen(written=post(accepted=Accepted(None)),
                                  item_after=running_on(NEW)), S.RUNNING,
        values=following(NEW), started=NEW),
    "post accepted, no job anywhere: look again": Row(
        run(S.SUBMITTING), m.Seen(written=post(accepted=Accepted(None)), item_after=ITEM),
        S.SUBMITTING, values={"error": {"attempts": 1, "last": "no job id in the answer"}}),
    "post honours Retry-After": Row(
        run(S.SUBMITTING), m.Seen(written=post(accepted=Accepted(NEW, retry_after_s=120))),
        S.RUNNING, values=following(NEW, wait=timedelta(seconds=120)), started=NEW),
    "post with a Retry-After shorter than the poll: the poll": Row(
        run(S.SUBMITTING), m.Seen(written=post(accepted=Accepted(NEW, retry_after_s=5))),
        S.RUNNING, values=following(NEW), started=NEW),
    "post refused, agent missing: wait for it": Row(
        run(S.SUBMITTING), m.Seen(written=post(exc=refused(400, AGENT_WHY))),
        S.WAITING_AGENT, events=(ev.AgentWaiting("app-01", AGENT_WHY, 1200),),
        values=agent_wait(job_id=None, backoff=m.AGENT_BACKOFF, tries=1, reason=AGENT_WHY)),
    "post refused, the agent named in the what: wait for it": Row(
        run(S.SUBMITTING), m.Seen(written=post(exc=refused(400, "", "Agent not installed."))),
        S.WAITING_AGENT, events=(ev.AgentWaiting("app-01", "Agent not installed.", 1200),),
        values=agent_wait(job_id=None, backoff=m.AGENT_BACKOFF, tries=1,
                          reason="Agent not installed.")),
    "post refused in progress: read the item": Row(
        run(S.SUBMITTING), m.Seen(written=post(exc=refused(409))),
        effect=m.ReadItem(after_write=True)),
    "post refused in progress, the item runs a job: adopt it": Row(
        run(S.SUBMITTING), m.Seen(written=post(exc=refused(409)), item_after=running_on(NEW)),
        S.RUNNING, values=following(NEW), started=NEW),
    "post refused in progress, no job yet: look again": Row(
        run(S.SUBMITTING), m.Seen(written=post(2, exc=refused(
            400, "Another operation is in progress on the item.")), item_after=ITEM),
        S.SUBMITTING, values={"error": {"attempts": 2, "last": "Refused."},
                              "next_poll_at": NOW + POLL}),
    "post refused in progress, a recent job targets the item: adopt it": Row(
        run(S.SUBMITTING), m.Seen(written=post(exc=refused(409)), item_after=ITEM,
                                  jobs={NEW: job("InProgress", NEW)}),
        S.RUNNING, values=following(NEW), started=NEW),
    "post refused, a long agent reason is stored cut at 500 characters": Row(
        run(S.SUBMITTING), m.Seen(written=post(exc=refused(400, AGENT_WHY + " x" * 300))),
        S.WAITING_AGENT, events=(ev.AgentWaiting("app-01", AGENT_WHY + " x" * 300, 1200),),
        values=agent_wait(job_id=None, backoff=m.AGENT_BACKOFF, tries=1,
                          reason=(AGENT_WHY + " x" * 300)[:500])),
    "post failed transiently: look again after Retry-After": Row(
        run(S.SUBMITTING), m.Seen(written=post(exc=SiteRecoveryError(
            "Busy.", status=429, retry_after=90))),
        S.SUBMITTING, values={"error": {"attempts": 1, "last": "Busy."},
                              "next_poll_at": NOW + timedelta(seconds=90)}),
    "post failed transiently without Retry-After: look again at the next poll": Row(
        run(S.SUBMITTING), m.Seen(written=post(3, exc=refused(503))),
        S.SUBMITTING, values={"error": {"attempts": 3, "last": "Refused."},
                              "next_poll_at": NOW + POLL}),
    "post refused for good: the VM failed, no Retry": Row(
        run(S.SUBMITTING), m.Seen(written=post(exc=refused(400, "Bad master target."))),
        S.FAILED, events=(ev.WriteRefused("app-01", "Refused.", "Bad master target.",
                                          "Fix it.", None, None),),
        values={"error": {"code": "Code1", "last": "Refused."}}),
    # submitting, found after a crash
    "submitting: read the item first": Row(run(S.SUBMITTING), m.Seen(), effect=m.ReadItem()),
    "submitting: the item runs a job: adopt it": Row(
        run(S.SUBMITTING), m.Seen(item=running_on(NEW)), S.RUNNING, values=following(NEW),
        started=NEW),
    "submitting: a recent job targets the item: adopt it": Row(
        run(S.SUBMITTING), m.Seen(item=ITEM, jobs={NEW: job("InProgress", NEW)}), S.RUNNING,
        values=following(NEW), started=NEW),
    "submitting: a run not yet started adopts a job of the last minutes": Row(
        run(S.SUBMITTING, started_at=None),
        m.Seen(item=ITEM, jobs={NEW: job("InProgress", NEW)}), S.RUNNING,
        values=following(NEW), started=NEW),
    "submitting: an old job of the item is not ours": Row(
        run(S.SUBMITTING), m.Seen(item=ITEM, jobs={NEW: job(
            "InProgress", NEW, start_time=NOW - timedelta(hours=1))}),
        effect=m.Submit(1)),
    "submitting: already protected": Row(
        run(S.SUBMITTING), m.Seen(item=replace(ITEM, protection_state="Protected")),
        S.PROTECTED, events=(DONE,), values={"protection_state": "Protected"}),
    "submitting: nothing runs, send again": Row(
        run(S.SUBMITTING, error={"attempts": 1}), m.Seen(item=ITEM), effect=m.Submit(2)),
    "submitting: the last attempt is sent": Row(
        run(S.SUBMITTING, error={"attempts": 2}), m.Seen(item=ITEM), effect=m.Submit(3)),
    "submitting: attempts used up": Row(
        run(S.SUBMITTING, error={"attempts": 3, "last": "timeout"}), m.Seen(item=ITEM),
        S.FAILED, events=(ev.NotStarted("app-01", "timeout"),),
        values={"error": {"message": "timeout"}}),
    "submitting: reprotect no longer allowed": Row(
        run(S.SUBMITTING), m.Seen(item=replace(ITEM, allowed_operations=())), S.FAILED,
        events=(ev.NotStarted("app-01", "the item is Failed over"),),
        values={"error": {"message": "the item is Failed over"}}),
    # restarting
    "approved restart accepted": Row(
        run(S.RESTARTING), m.Seen(written=restart(Accepted(NEW), by="U0APPROVER")), S.RUNNING,
        events=(ev.Retried("app-01", NEW, "approved", OLD, "U0APPROVER"),),
        values=following(NEW, before=(OLD,), restarts=1)),
    "approved restart failed transiently: the next poll is in the future": Row(
        run(S.RESTARTING), m.Seen(written=restart(exc=refused(503), by="U0A")), S.RESTARTING,
        values={"next_poll_at": NOW + POLL}),
    "approved restart throttled: not before its Retry-After": Row(
        run(S.RESTARTING), m.Seen(written=restart(exc=SiteRecoveryError(
            "Busy.", status=429, retry_after=120), by="U0A")), S.RESTARTING,
        values={"next_poll_at": NOW + timedelta(seconds=120)}),
    "approved restart refused in progress: look again": Row(
        run(S.RESTARTING), m.Seen(written=restart(exc=refused(409), by="U0A")), S.RESTARTING,
        values={"next_poll_at": NOW + POLL}),
    "approved restart refused: failed, with Retry": Row(
        run(S.RESTARTING), m.Seen(written=restart(exc=refused(400), by="U0A")), S.FAILED,
        events=(ev.WriteRefused("app-01", "Refused.", "", "Fix it.", OLD, 5),),
        values={"error": {"code": "Code1"}}),
    "restarting after a crash: read the item": Row(
        run(S.RESTARTING), m.Seen(), effect=m.ReadItem()),
    "restarting after a crash: adopt the restarted job": Row(
        run(S.RESTARTING), m.Seen(item=running_on(NEW)), S.RUNNING,
        events=(ev.Retried("app-01", NEW, "adopted"),), values=following(NEW, before=(OLD,))),
    "restarting after a crash: nothing runs": Row(
        run(S.RESTARTING), m.Seen(item=running_on(OLD)), S.FAILED,
        events=(ev.RestartLost("app-01", OLD, 5),), values={"error": {"message": "restart lost"}}),
    # running
    "running: in the read budget, read the job": Row(
        run(S.RUNNING), m.Seen(full_read=True), effect=m.ReadJob()),
    "running: unchanged in the list": Row(
        run(S.RUNNING, tasks_read_at=NOW), m.Seen(jobs={OLD: job("InProgress")},
                                                  task_refresh=timedelta(minutes=1))),
    "running: succeeded in the list": Row(
        run(S.RUNNING), m.Seen(jobs={OLD: job("Succeeded")}), S.SYNCING,
        values={**read("Succeeded"), "next_poll_at": NOW}, progress=("Succeeded", "")),
    "running: failed in the list is read in full": Row(
        run(S.RUNNING, tasks_read_at=NOW), m.Seen(jobs={OLD: job("Failed")},
                                                  task_refresh=timedelta(minutes=1))),
    "running: a new task": Row(
        run(S.RUNNING), m.Seen(job=job("InProgress", tasks=TASKS)), S.RUNNING,
        values=read("InProgress", "Enable replication (InProgress), 1/2 tasks done", NOW),
        progress=("InProgress", "Enable replication (InProgress), 1/2 tasks done")),
    "running: the same task, no progress": Row(
        run(S.RUNNING, job_task="Enable replication (InProgress), 1/2 tasks done"),
        m.Seen(job=job("InProgress", tasks=TASKS)), S.RUNNING,
        values=read("InProgress", "Enable replication (InProgress), 1/2 tasks done", NOW)),
    "running: failed, restartable: Retry offered": failed_job("95226", restartable=True),
    "running: failed, not restartable: no Retry": failed_job("95226", restartable=False),
    "running: failed at a task: the task is named": Row(
        run(S.RUNNING), m.Seen(job=job("Failed", tasks=TASKS, errors=(JobError("95226", "x"),),
                                       allowed_actions=("Restart",))),
        S.FAILED, events=(ev.JobFailed("app-01", OLD, "Enable replication",
                                       (ev.JobErrorInfo("95226", "x"),), 5),),
        values={"error": {"codes": ["95226"], "state": "Failed"},
                **read("Failed", "Enable replication (InProgress), 1/2 tasks done", NOW)}),
    "running: the agent named only by the provider's message: wait for it": Row(
        run(S.RUNNING), m.Seen(job=job("Failed", errors=(JobError(
            "95226", "Failed.", provider_message="Agent is not installed."),))),
        S.WAITING_AGENT, events=(ev.AgentWaiting("app-01", "", 1200, (ev.JobErrorInfo(
            "95226", "Failed.", provider_message="Agent is not installed."),)),),
        values={**read("Failed"), **agent_wait(
            job_id=OLD, backoff=m.AGENT_BACKOFF, tries=1, jobs=[OLD], errors=(ev.JobErrorInfo(
                "95226", "Failed.", provider_message="Agent is not installed."),))}),
    "running: failed, the agent is missing: wait the first backoff": Row(
        run(S.RUNNING), m.Seen(job=job("Failed", errors=(AGENT_ERROR,))), S.WAITING_AGENT,
        events=(ev.AgentWaiting("app-01", "", 1200, (AGENT_INFO,)),),
        values={**read("Failed"), **agent_wait(job_id=OLD, backoff=m.AGENT_BACKOFF, tries=1,
                                               errors=(AGENT_INFO,), jobs=[OLD])}),
    "running: the agent is missing again: the backoff doubles per try": Row(
        run(S.RUNNING, wait_until=NOW + timedelta(minutes=9), flags={"jobs": [OLD],
                                                                    "agent_tries": 2}),
        m.Seen(job=job("Failed", errors=(AGENT_ERROR,))), S.WAITING_AGENT,
        values={**read("Failed"), **agent_wait(
            job_id=OLD, backoff=timedelta(minutes=4), tries=3, errors=(AGENT_INFO,),
            until=NOW + timedelta(minutes=9), jobs=[OLD])}),
    "running: the agent backoff is capped": Row(
        run(S.RUNNING, wait_until=NOW + timedelta(minutes=9), flags={"jobs": [OLD],
                                                                    "agent_tries": 3}),
        m.Seen(job=job("Failed", errors=(AGENT_ERROR,)), jitter=1.2), S.WAITING_AGENT,
        values={**read("Failed"), **agent_wait(
            job_id=OLD, backoff=m.AGENT_BACKOFF_MAX * 1.2, tries=4, errors=(AGENT_INFO,),
            until=NOW + timedelta(minutes=9), jobs=[OLD])}),
    "running: failed for the agent after the wait ran out": Row(
        run(S.RUNNING, wait_until=NOW), m.Seen(job=job("Failed", errors=(AGENT_ERROR,))),
        S.FAILED, events=(ev.JobFailed("app-01", OLD, "", (AGENT_INFO,), None),),
        values={"error": {"codes": ["78093"], "state": "Failed"}, **read("Failed")}),
    "running: cancelled": Row(
        run(S.RUNNING), m.Seen(job=job("Cancelled")), S.FAILED,
        events=(ev.JobCancelled("app-01", OLD),),
        values={"error": {"state": "Cancelled"}, **read("Cancelled")}),
    "running: suspended, told once": Row(
        run(S.RUNNING), m.Seen(job=job("Suspended")), S.RUNNING,
        events=(ev.JobSuspended("app-01", OLD, ""),),
        values={**read("Suspended"), "flags": {"jobs": [OLD], "suspended": OLD}},
        progress=("Suspended", "")),
    "running: still suspended, not told again": Row(
        run(S.RUNNING, job_state="Suspended", flags={"jobs": [OLD], "suspended": OLD}),
        m.Seen(job=job("Suspended")), S.RUNNING, values=read("Suspended")),
    "running: just within the timeout": Row(
        run(S.RUNNING, started_at=NOW - timedelta(hours=12)), m.Seen(job=job("InProgress")),
        S.RUNNING, values=read("InProgress")),
    "running: too long": Row(
        run(S.RUNNING, started_at=NOW - timedelta(hours=13)),
        m.Seen(job=job("InProgress", tasks=TASKS)), S.TIMED_OUT,
        events=(ev.TimedOut("app-01", 720, "InProgress",
                            "Enable replication (InProgress), 1/2 tasks done"),),
        values={"error": {"message": "job still InProgress at Enable replication (InProgress), "
                                     "1/2 tasks done"}},
        progress=("InProgress", "Enable replication (InProgress), 1/2 tasks done")),
    "running: too long, unchanged in the list": Row(
        run(S.RUNNING, started_at=NOW - timedelta(hours=13), tasks_read_at=NOW),
        m.Seen(jobs={OLD: job("InProgress")}, task_refresh=timedelta(minutes=1)),
        S.TIMED_OUT, events=(ev.TimedOut("app-01", 720, "InProgress", ""),),
        values={"error": {"message": "job still InProgress at start"}}),
    # syncing
    "syncing: read the item when the plan's list missed it": Row(
        run(S.SYNCING), m.Seen(), effect=m.ReadItem()),
    "syncing: protected": Row(
        run(S.SYNCING), m.Seen(item=replace(ITEM, protection_state="Protected")), S.PROTECTED,
        events=(DONE,), values={"protection_state": "Protected"}),
    "syncing: health errors, told once": Row(
        run(S.SYNCING), m.Seen(item=replace(ITEM, protection_state="InitialReplication",
                                            health_errors=(HealthIssue("78122", "Stuck."),))),
        S.SYNCING, events=(ev.HealthWarning("app-01", ev.ItemState(
            "Failed over", "Normal", (HealthIssue("78122", "Stuck."),))),),
        values={"protection_state": "InitialReplication",
                "flags": {"jobs": [OLD], "health": "78122"}}),
    "syncing: several health errors, told once by their codes": Row(
        run(S.SYNCING, protection_state="InitialReplication"),
        m.Seen(item=replace(ITEM, protection_state="InitialReplication", health_errors=(
            HealthIssue("78122", "Stuck."), HealthIssue("78011", "Slow.")))),
        S.SYNCING, events=(ev.HealthWarning("app-01", ev.ItemState("Failed over", "Normal", (
            HealthIssue("78122", "Stuck."), HealthIssue("78011", "Slow.")))),),
        values={"protection_state": "InitialReplication",
                "flags": {"jobs": [OLD], "health": "78011, 78122"}}),
    "syncing: the same health errors, not told again": Row(
        run(S.SYNCING, protection_state="InitialReplication",
            flags={"jobs": [OLD], "health": "78122"}),
        m.Seen(item=replace(ITEM, protection_state="InitialReplication",
                            health_errors=(HealthIssue("78122", "Stuck."),)))),
    "syncing: state moved on": Row(
        run(S.SYNCING, protection_state="FailedOver"),
        m.Seen(item=replace(ITEM, protection_state="InitialReplication")), S.SYNCING,
        values={"protection_state": "InitialReplication"}),
    "syncing: nothing new": Row(run(S.SYNCING, protection_state="FailedOver"), m.Seen(item=ITEM)),
    "syncing: just within the timeout": Row(
        run(S.SYNCING, started_at=NOW - timedelta(hours=12), protection_state="FailedOver"),
        m.Seen(item=ITEM)),
    "syncing: too long": Row(
        run(S.SYNCING, started_at=NOW - timedelta(hours=13)), m.Seen(item=ITEM), S.TIMED_OUT,
        events=(ev.TimedOut("app-01", 720, item=ev.ItemState("Failed over", "Normal")),),
        values={"error": {"message": "Failed over"}}),
    "syncing: initial replication moved on (modernized)": Row(
        run(S.SYNCING, protection_state="InitialReplication", flags={"jobs": [OLD],
                                                                     "percent": 20}),
        m.Seen(item=replace(ITEM, protection_state="InitialReplication", progress_percent=45)),
        S.SYNCING, values={"protection_state": "InitialReplication",
                           "flags": {"jobs": [OLD], "percent": 45}},
        progress=("Failed over", "initial replication 45%")),
    "syncing: a percentage without a state description names the state": Row(
        run(S.SYNCING, protection_state="InitialReplication"),
        m.Seen(item=replace(ITEM, protection_state="InitialReplication",
                            protection_state_description="", progress_percent=5)),
        S.SYNCING, values={"protection_state": "InitialReplication",
                           "flags": {"jobs": [OLD], "percent": 5}},
        progress=("InitialReplication", "initial replication 5%")),
    "syncing: the same percentage, nothing new": Row(
        run(S.SYNCING, protection_state="InitialReplication", flags={"jobs": [OLD],
                                                                     "percent": 45}),
        m.Seen(item=replace(ITEM, protection_state="InitialReplication", progress_percent=45))),
    # waiting for the agent
    "waiting: read the item": Row(run(S.WAITING_AGENT, **WAITING), m.Seen(),
                                  effect=m.ReadItem()),
    "waiting: a retry already runs: adopt it": Row(
        run(S.WAITING_AGENT, **WAITING), m.Seen(item=running_on(NEW)), S.RUNNING,
        events=(ev.Retried("app-01", NEW, "agent"),),
        values=following(NEW, before=(OLD,), agent_tries=2)),
    "waiting: restart the failed job": Row(
        run(S.WAITING_AGENT, **WAITING), m.Seen(item=ITEM), effect=m.RestartJob(2)),
    "waiting: the first try restarts the job": Row(
        run(S.WAITING_AGENT, wait_until=NOW + timedelta(minutes=5)), m.Seen(item=ITEM),
        effect=m.RestartJob(0)),
    "waiting: send the refused reprotect again": Row(
        run(S.WAITING_AGENT, **{**WAITING, "job_id": None}), m.Seen(item=ITEM),
        effect=m.Submit(2)),
    "waiting: restart accepted": Row(
        run(S.WAITING_AGENT, **WAITING), m.Seen(written=restart(Accepted(NEW))), S.RUNNING,
        events=(ev.Retried("app-01", NEW, "agent", OLD),),
        values=following(NEW, before=(OLD,), restarts=1, agent_tries=2)),
    # The refused restart's job is not kept (job_id None): the next try sends the reprotect.
    "waiting: refused again, keep waiting without a second notice": Row(
        run(S.WAITING_AGENT, **WAITING),
        m.Seen(written=restart(exc=refused(400, AGENT_WHY))), S.WAITING_AGENT,
        values=agent_wait(job_id=None, backoff=timedelta(minutes=4), tries=3,
                          reason=AGENT_WHY, until=NOW + timedelta(minutes=5), jobs=[OLD])),
    "waiting: restart refused for good: failed, the refusal names the job": Row(
        run(S.WAITING_AGENT, **WAITING), m.Seen(written=restart(exc=refused(400, "Gone."))),
        S.FAILED, events=(ev.WriteRefused("app-01", "Refused.", "Gone.", "Fix it.", OLD),),
        values={"error": {"code": "Code1", "last": "Refused."}}),
    "waiting, the item says the agent has not registered: nothing sent, wait on": Row(
        run(S.WAITING_AGENT, **{**WAITING, "job_id": None}), m.Seen(item=UNREGISTERED),
        S.WAITING_AGENT, values=agent_wait(
            job_id=None, backoff=timedelta(minutes=4), tries=3, reason=UNREGISTERED_WHY,
            until=NOW + timedelta(minutes=5), jobs=[OLD])),
    "waiting to restart, the agent has not registered: the job is kept": Row(
        run(S.WAITING_AGENT, **WAITING), m.Seen(item=UNREGISTERED), S.WAITING_AGENT,
        values=agent_wait(job_id=OLD, backoff=timedelta(minutes=4), tries=3,
                          reason=UNREGISTERED_WHY, until=NOW + timedelta(minutes=5), jobs=[OLD])),
    "gated run past the wait: the notice says the agent gate": Row(
        run(S.WAITING_AGENT, wait_until=NOW, job_id=None, flags={**GATED, "agent_tries": 5}),
        m.Seen(item=UNREGISTERED), S.FAILED,
        events=(ev.AgentGaveUp("app-01", "", 1200, 5, (), None, modernized=True),),
        values={"error": {"message": "agent not re-registered"}}),
    "waiting for an unregistered agent past the wait: give up, no Retry": Row(
        run(S.WAITING_AGENT, **{**WAITING, "job_id": None, "wait_until": NOW}),
        m.Seen(item=UNREGISTERED), S.FAILED,
        events=(ev.AgentGaveUp("app-01", "", 1200, 2, (), None),),
        values={"error": {"message": "agent not re-registered"}}),
    "waiting: the wait ran out, Retry on the failed job": Row(
        run(S.WAITING_AGENT, **{**WAITING, "wait_until": NOW}), m.Seen(), S.FAILED,
        events=(ev.AgentGaveUp("app-01", "", 1200, 2, (), 5),),
        values={"error": {"message": "agent not re-registered"}}),
    "waiting: the wait ran out with no job: no Retry": Row(
        run(S.WAITING_AGENT, **{**WAITING, "wait_until": NOW, "job_id": None,
                                "flags": {"agent_tries": 4, "agent_reason": AGENT_WHY,
                                          "agent_errors": [asdict(AGENT_INFO)]}}),
        m.Seen(), S.FAILED,
        events=(ev.AgentGaveUp("app-01", AGENT_WHY, 1200, 4, (AGENT_INFO,), None),),
        values={"error": {"message": "agent not re-registered"}}),
}


@pytest.mark.parametrize("name", list(ROWS))
def test_transition(name: str) -> None:
    """The whole step: status, effect, every event with its fields, every value stored."""
    row = ROWS[name]
    got = m.step(row.run, row.seen, POLICY, NOW)
    assert got == m.Step(row.status, row.values, row.events, row.effect, row.started,
                         row.progress)
    next_poll = got.values.get("next_poll_at")
    assert next_poll is None or next_poll >= NOW  # never in the past: no hot loop


def test_a_sub_second_poll_is_kept_when_site_recovery_names_no_retry_after() -> None:
    """The sandbox polls every 0.5 s: a transient refusal or an answer without Retry-After
    waits that poll, not a whole second."""
    fast = replace(POLICY, poll_interval=timedelta(seconds=0.5))
    busy = m.step(run(S.SUBMITTING), m.Seen(written=post(exc=refused(503))), fast, NOW)
    assert busy.values["next_poll_at"] == NOW + timedelta(seconds=0.5)
    accepted = m.step(run(S.SUBMITTING), m.Seen(written=post(accepted=Accepted(NEW))), fast, NOW)
    assert accepted.values["next_poll_at"] == NOW + timedelta(seconds=0.5)


def test_every_status_the_ticker_claims_has_a_function_and_rows() -> None:
    claimed = {s for s in S if s not in (S.PROTECTED, S.FAILED, S.TIMED_OUT)}
    assert set(m.MACHINE) == claimed
    assert {row.run.status for row in ROWS.values()} == claimed


def test_the_agent_backoff_doubles_up_to_its_cap_with_the_given_jitter() -> None:
    def wait(tries: int, jitter: float) -> timedelta:
        step = m.step(run(S.RUNNING, flags={"agent_tries": tries}),
                      m.Seen(job=job("Failed", errors=(AGENT_ERROR,)), jitter=jitter),
                      POLICY, NOW)
        return step.values["next_poll_at"] - NOW

    assert wait(0, 1.0) == m.AGENT_BACKOFF
    assert wait(1, 1.0) == m.AGENT_BACKOFF * 2
    assert wait(10, 1.0) == m.AGENT_BACKOFF_MAX
    assert wait(0, 1.2) == m.AGENT_BACKOFF * 1.2


def test_a_progress_change_is_reported_but_not_a_failure() -> None:
    moved = m.step(run(S.RUNNING), m.Seen(job=job("InProgress", tasks=TASKS)), POLICY, NOW)
    assert moved.progress == ("InProgress", "Enable replication (InProgress), 1/2 tasks done")
    failed = m.step(run(S.RUNNING), m.Seen(job=job("Failed")), POLICY, NOW)
    assert failed.progress is None


def test_initial_replication_percentage_reaches_the_progress_message() -> None:
    """Modernized items report `initialReplicationProgressPercentage`: a change of it is
    progress in the thread; classic items (no percentage) add nothing."""
    item = replace(ITEM, protection_state="InitialReplication",
                   protection_state_description="Initial replication", progress_percent=45)
    step = m.step(run(S.SYNCING, protection_state="InitialReplication"), m.Seen(item=item),
                  POLICY, NOW)
    assert step.progress == ("Initial replication", "initial replication 45%")
    classic = m.step(run(S.SYNCING, protection_state="InitialReplication"),
                     m.Seen(item=replace(item, progress_percent=None)), POLICY, NOW)
    assert classic.progress is None
