"""Every run-status transition of the tracking machine, table-driven: no database, no HTTP.

Each row gives the run, what Site Recovery showed, and what the machine must decide: the next
status (or None: unchanged, polled again), the effect it asks the ticker for, the events the
thread gets, and values that must be stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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


@dataclass(frozen=True)
class Row:
    run: RunView
    seen: m.Seen
    status: S | None = None
    effect: m.Effect | None = None
    events: tuple[type[ev.Event], ...] = ()
    values: dict[str, Any] = field(default_factory=dict)
    started: str | None = None


WAITING = dict(wait_until=NOW + timedelta(minutes=5), flags={"jobs": [OLD], "agent_tries": 2})
GATED = {m.AGENT_GATE: True}
UNREGISTERED = replace(ITEM, agent_registered=False)
ROWS: dict[str, Row] = {
    # queued
    "queued: the first reprotect is sent": Row(
        run(S.QUEUED), m.Seen(), S.SUBMITTING, m.Submit(1), values={"started_at": NOW}),
    "queued, gated on the agent: read the item first": Row(
        run(S.QUEUED, flags=GATED), m.Seen(), effect=m.ReadItem()),
    "queued, agent not registered: wait for it, nothing sent": Row(
        run(S.QUEUED, flags=GATED), m.Seen(item=UNREGISTERED), S.WAITING_AGENT,
        events=(ev.AgentWaiting,), values={"wait_until": NOW + m.AGENT_WAIT, "job_id": None,
                                          "started_at": NOW}),
    "queued, agent registered: the first reprotect is sent": Row(
        run(S.QUEUED, flags=GATED), m.Seen(item=replace(ITEM, agent_registered=True)),
        S.SUBMITTING, m.Submit(1)),
    # submitting, after this tick's POST
    "post accepted: follow its job": Row(
        run(S.SUBMITTING), m.Seen(written=post(accepted=Accepted(NEW))), S.RUNNING,
        values={"job_id": NEW, "restarts": 0}, started=NEW),
    "post accepted without a job id: read the item": Row(
        run(S.SUBMITTING), m.Seen(written=post(accepted=Accepted(None))),
        effect=m.ReadItem(after_write=True)),
    "post accepted, the item names the job": Row(
        run(S.SUBMITTING), m.Seen(written=post(accepted=Accepted(None)),
                                  item_after=running_on(NEW)), S.RUNNING, started=NEW),
    "post accepted, no job anywhere: look again": Row(
        run(S.SUBMITTING), m.Seen(written=post(accepted=Accepted(None)), item_after=ITEM),
        S.SUBMITTING, values={"error": {"attempts": 1, "last": "no job id in the answer"}}),
    "post honours Retry-After": Row(
        run(S.SUBMITTING), m.Seen(written=post(accepted=Accepted(NEW, retry_after_s=120))),
        S.RUNNING, values={"next_poll_at": NOW + timedelta(seconds=120)}, started=NEW),
    "post refused, agent missing: wait for it": Row(
        run(S.SUBMITTING), m.Seen(written=post(exc=refused(400, "The agent isn't installed."))),
        S.WAITING_AGENT, events=(ev.AgentWaiting,),
        values={"wait_until": NOW + m.AGENT_WAIT, "job_id": None}),
    "post refused in progress: read the item": Row(
        run(S.SUBMITTING), m.Seen(written=post(exc=refused(409))),
        effect=m.ReadItem(after_write=True)),
    "post refused in progress, the item runs a job: adopt it": Row(
        run(S.SUBMITTING), m.Seen(written=post(exc=refused(409)), item_after=running_on(NEW)),
        S.RUNNING, values={"job_id": NEW}, started=NEW),
    "post refused in progress, no job yet: look again": Row(
        run(S.SUBMITTING), m.Seen(written=post(2, exc=refused(
            400, "Another operation is in progress on the item.")), item_after=ITEM),
        S.SUBMITTING, values={"error": {"attempts": 2, "last": "Refused."}}),
    "post failed transiently: look again after Retry-After": Row(
        run(S.SUBMITTING), m.Seen(written=post(exc=SiteRecoveryError(
            "Busy.", status=429, retry_after=90))),
        S.SUBMITTING, values={"next_poll_at": NOW + timedelta(seconds=90)}),
    "post refused for good: the VM failed": Row(
        run(S.SUBMITTING), m.Seen(written=post(exc=refused(400, "Bad master target."))),
        S.FAILED, events=(ev.WriteRefused,),
        values={"error": {"code": "Code1", "last": "Refused."}}),
    # submitting, found after a crash
    "submitting: read the item first": Row(run(S.SUBMITTING), m.Seen(), effect=m.ReadItem()),
    "submitting: the item runs a job: adopt it": Row(
        run(S.SUBMITTING), m.Seen(item=running_on(NEW)), S.RUNNING, started=NEW),
    "submitting: a recent job targets the item: adopt it": Row(
        run(S.SUBMITTING), m.Seen(item=ITEM, jobs={NEW: job("InProgress", NEW)}), S.RUNNING,
        started=NEW),
    "submitting: an old job of the item is not ours": Row(
        run(S.SUBMITTING), m.Seen(item=ITEM, jobs={NEW: job(
            "InProgress", NEW, start_time=NOW - timedelta(hours=1))}),
        effect=m.Submit(1)),
    "submitting: already protected": Row(
        run(S.SUBMITTING), m.Seen(item=replace(ITEM, protection_state="Protected")),
        S.PROTECTED, events=(ev.Done,)),
    "submitting: nothing runs, send again": Row(
        run(S.SUBMITTING, error={"attempts": 1}), m.Seen(item=ITEM), effect=m.Submit(2)),
    "submitting: attempts used up": Row(
        run(S.SUBMITTING, error={"attempts": 3, "last": "timeout"}), m.Seen(item=ITEM),
        S.FAILED, events=(ev.NotStarted,)),
    "submitting: reprotect no longer allowed": Row(
        run(S.SUBMITTING), m.Seen(item=replace(ITEM, allowed_operations=())), S.FAILED,
        events=(ev.NotStarted,)),
    # restarting
    "approved restart accepted": Row(
        run(S.RESTARTING), m.Seen(written=restart(Accepted(NEW), by="U0APPROVER")), S.RUNNING,
        events=(ev.Retried,), values={"job_id": NEW, "restarts": 1}),
    "approved restart failed transiently: look again": Row(
        run(S.RESTARTING), m.Seen(written=restart(exc=refused(503), by="U0A")), S.RESTARTING),
    "approved restart refused in progress: look again": Row(
        run(S.RESTARTING), m.Seen(written=restart(exc=refused(409), by="U0A")), S.RESTARTING),
    "approved restart refused: failed, with Retry": Row(
        run(S.RESTARTING), m.Seen(written=restart(exc=refused(400), by="U0A")), S.FAILED,
        events=(ev.WriteRefused,)),
    "restarting after a crash: read the item": Row(
        run(S.RESTARTING), m.Seen(), effect=m.ReadItem()),
    "restarting after a crash: adopt the restarted job": Row(
        run(S.RESTARTING), m.Seen(item=running_on(NEW)), S.RUNNING, events=(ev.Retried,)),
    "restarting after a crash: nothing runs": Row(
        run(S.RESTARTING), m.Seen(item=running_on(OLD)), S.FAILED, events=(ev.RestartLost,)),
    # running
    "running: in the read budget, read the job": Row(
        run(S.RUNNING), m.Seen(full_read=True), effect=m.ReadJob()),
    "running: unchanged in the list": Row(
        run(S.RUNNING, tasks_read_at=NOW), m.Seen(jobs={OLD: job("InProgress")},
                                                  task_refresh=timedelta(minutes=1))),
    "running: succeeded in the list": Row(
        run(S.RUNNING), m.Seen(jobs={OLD: job("Succeeded")}), S.SYNCING,
        values={"job_state": "Succeeded", "next_poll_at": NOW}),
    "running: a new task": Row(
        run(S.RUNNING), m.Seen(job=job("InProgress", tasks=TASKS)), S.RUNNING,
        values={"job_task": "Enable replication (InProgress), 1/2 tasks done",
                "tasks_read_at": NOW}),
    "running: failed, restartable": Row(
        run(S.RUNNING), m.Seen(job=job("Failed", errors=(JobError("95226", "x"),),
                                       allowed_actions=("Restart",))),
        S.FAILED, events=(ev.JobFailed,)),
    "running: failed, the agent is missing": Row(
        run(S.RUNNING), m.Seen(job=job("Failed", errors=(AGENT_ERROR,))), S.WAITING_AGENT,
        events=(ev.AgentWaiting,), values={"job_id": OLD}),
    "running: failed for the agent after the wait ran out": Row(
        run(S.RUNNING, wait_until=NOW - timedelta(seconds=1)),
        m.Seen(job=job("Failed", errors=(AGENT_ERROR,))), S.FAILED, events=(ev.JobFailed,)),
    "running: cancelled": Row(
        run(S.RUNNING), m.Seen(job=job("Cancelled")), S.FAILED, events=(ev.JobCancelled,)),
    "running: suspended, told once": Row(
        run(S.RUNNING), m.Seen(job=job("Suspended")), S.RUNNING, events=(ev.JobSuspended,),
        values={"flags": {"jobs": [OLD], "suspended": OLD}}),
    "running: still suspended, not told again": Row(
        run(S.RUNNING, job_state="Suspended", flags={"jobs": [OLD], "suspended": OLD}),
        m.Seen(job=job("Suspended")), S.RUNNING),
    "running: too long": Row(
        run(S.RUNNING, started_at=NOW - timedelta(hours=13)), m.Seen(job=job("InProgress")),
        S.TIMED_OUT, events=(ev.TimedOut,)),
    "running: too long, unchanged in the list": Row(
        run(S.RUNNING, started_at=NOW - timedelta(hours=13), tasks_read_at=NOW),
        m.Seen(jobs={OLD: job("InProgress")}, task_refresh=timedelta(minutes=1)),
        S.TIMED_OUT, events=(ev.TimedOut,)),
    # syncing
    "syncing: read the item when the plan's list missed it": Row(
        run(S.SYNCING), m.Seen(), effect=m.ReadItem()),
    "syncing: protected": Row(
        run(S.SYNCING), m.Seen(item=replace(ITEM, protection_state="Protected")), S.PROTECTED,
        events=(ev.Done,), values={"protection_state": "Protected"}),
    "syncing: health errors, told once": Row(
        run(S.SYNCING), m.Seen(item=replace(ITEM, protection_state="InitialReplication",
                                            health_errors=(HealthIssue("78122", "Stuck."),))),
        S.SYNCING, events=(ev.HealthWarning,),
        values={"protection_state": "InitialReplication",
                "flags": {"jobs": [OLD], "health": "78122"}}),
    "syncing: the same health errors, not told again": Row(
        run(S.SYNCING, protection_state="InitialReplication",
            flags={"jobs": [OLD], "health": "78122"}),
        m.Seen(item=replace(ITEM, protection_state="InitialReplication",
                            health_errors=(HealthIssue("78122", "Stuck."),)))),
    "syncing: state moved on": Row(
        run(S.SYNCING, protection_state="FailedOver"),
        m.Seen(item=replace(ITEM, protection_state="InitialReplication")), S.SYNCING),
    "syncing: nothing new": Row(run(S.SYNCING, protection_state="FailedOver"), m.Seen(item=ITEM)),
    "syncing: too long": Row(
        run(S.SYNCING, started_at=NOW - timedelta(hours=13)), m.Seen(item=ITEM), S.TIMED_OUT,
        events=(ev.TimedOut,)),
    "syncing: initial replication moved on (modernized)": Row(
        run(S.SYNCING, protection_state="InitialReplication", flags={"jobs": [OLD],
                                                                     "percent": 20}),
        m.Seen(item=replace(ITEM, protection_state="InitialReplication", progress_percent=45)),
        S.SYNCING, values={"flags": {"jobs": [OLD], "percent": 45}}),
    "syncing: the same percentage, nothing new": Row(
        run(S.SYNCING, protection_state="InitialReplication", flags={"jobs": [OLD],
                                                                     "percent": 45}),
        m.Seen(item=replace(ITEM, protection_state="InitialReplication", progress_percent=45))),
    # waiting for the agent
    "waiting, the item says the agent has not registered: nothing sent, wait on": Row(
        run(S.WAITING_AGENT, **{**WAITING, "job_id": None}), m.Seen(item=UNREGISTERED),
        S.WAITING_AGENT, values={"wait_until": NOW + timedelta(minutes=5), "job_id": None}),
    "waiting for an unregistered agent past the wait: give up": Row(
        run(S.WAITING_AGENT, **{**WAITING, "job_id": None, "wait_until": NOW}),
        m.Seen(item=UNREGISTERED), S.FAILED, events=(ev.AgentGaveUp,)),
    "waiting: read the item": Row(run(S.WAITING_AGENT, **WAITING), m.Seen(),
                                  effect=m.ReadItem()),
    "waiting: a retry already runs: adopt it": Row(
        run(S.WAITING_AGENT, **WAITING), m.Seen(item=running_on(NEW)), S.RUNNING,
        events=(ev.Retried,)),
    "waiting: restart the failed job": Row(
        run(S.WAITING_AGENT, **WAITING), m.Seen(item=ITEM), effect=m.RestartJob(2)),
    "waiting: send the refused reprotect again": Row(
        run(S.WAITING_AGENT, **{**WAITING, "job_id": None}), m.Seen(item=ITEM),
        effect=m.Submit(2)),
    "waiting: restart accepted": Row(
        run(S.WAITING_AGENT, **WAITING), m.Seen(written=restart(Accepted(NEW))), S.RUNNING,
        events=(ev.Retried,), values={"restarts": 1}),
    "waiting: refused again, keep waiting without a second notice": Row(
        run(S.WAITING_AGENT, **WAITING),
        m.Seen(written=restart(exc=refused(400, "The agent isn't installed."))),
        S.WAITING_AGENT, values={"wait_until": NOW + timedelta(minutes=5)}),
    "waiting: the wait ran out": Row(
        run(S.WAITING_AGENT, **{**WAITING, "wait_until": NOW}), m.Seen(), S.FAILED,
        events=(ev.AgentGaveUp,)),
}


@pytest.mark.parametrize("name", list(ROWS))
def test_transition(name: str) -> None:
    row = ROWS[name]
    got = m.step(row.run, row.seen, POLICY, NOW)
    assert (got.status, got.effect) == (row.status, row.effect)
    assert tuple(type(e) for e in got.events) == row.events
    assert {k: got.values.get(k) for k in row.values} == row.values
    assert got.started == row.started


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
