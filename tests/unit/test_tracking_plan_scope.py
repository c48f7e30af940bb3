"""The tracking machine over a plan-scope operation: one write on the recovery plan, sent by
the plan's lead run, whose job every other run follows; each item is done by its own reading.

The operation is defined here (failback-like: done when `Commit` is listed), since the real
plan-scope operations come later; each row compares the whole step: status, effect, events
(with their fields) and the values stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from core import events as ev
from core.plan import ReprotectRequest, ResolvedPlan, SentValue
from gateways.site_recovery_models import Accepted, Job, PlanContext, ProtectedItem
from operations import REPROTECT
from operations.base import Scope, Submission
from providers.base import Provider
from providers.checks import VCenterReading
from store.models import RunStatus as S
from tests.support.preflight import item as make_item
from tests.unit.test_tracking_machine import AGENT_ERROR, NOW, POLICY, job, post, refused
from tracking import machine as m
from tracking.observe import RunView

PLAN_ID = ("/Subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v"
           "/replicationRecoveryPlans/finance-rp")
PLAN_IDS = (PLAN_ID, "finance-rp")
LEAD_ITEM, ITEM = make_item(1), make_item(2)
PLAN_JOB = "job-plan"


class PlanWide:
    """A failback-like operation: one write on the recovery plan; an item is done when Site
    Recovery offers `Commit` on it, and may be sent when it offers `PlannedFailover`."""

    name = "failback-test"
    form = REPROTECT.form
    scope = Scope.PLAN
    done_word = "failed back"

    def plan(self, provider: Provider, request: ReprotectRequest, context: PlanContext,
             items: tuple[ProtectedItem, ...], *, now: datetime,
             vcenter: VCenterReading) -> ResolvedPlan:
        raise NotImplementedError

    def values(self, plan: ResolvedPlan) -> tuple[SentValue, ...]:
        return ()

    def submission(self, plan: ResolvedPlan, item_id: str) -> Submission:
        return Submission(plan.plan_id)

    def done(self, item: ProtectedItem) -> bool:
        return "Commit" in item.allowed_operations

    def may_send(self, item: ProtectedItem) -> bool:
        return "PlannedFailover" in item.allowed_operations


OP = PlanWide()
FAILED_OVER = replace(ITEM, allowed_operations=("PlannedFailover",))
FAILED_BACK = replace(ITEM, allowed_operations=("Commit", "CancelFailover"),
                      protection_state="FailedBack")


def run(status: S, item: ProtectedItem = ITEM, **changes: Any) -> RunView:
    base = RunView(id=7 if item is ITEM else 6, request_id=1, item_id=item.id,
                   vm_name=item.friendly_name, status=status,
                   started_at=NOW - timedelta(minutes=10), operation=OP)
    return replace(base, **changes)


def lead(status: S, **changes: Any) -> RunView:
    return run(status, LEAD_ITEM, **changes)


def plan_job(state: str, **changes: Any) -> Job:
    return replace(job(state, PLAN_JOB), target_object_id="finance-rp", **changes)


@dataclass(frozen=True)
class Row:
    run: RunView
    seen: m.Seen
    step: m.Step = field(default_factory=m.Step)


FOLLOWS = {"job_id": PLAN_JOB, "job_state": "", "job_task": "", "error": {},
           "tasks_read_at": None, "next_poll_at": NOW + POLICY.poll_interval, "restarts": 0,
           "flags": {"jobs": [PLAN_JOB]}, "started_at": NOW}
ROWS: dict[str, Row] = {
    "the lead sends the one write for the plan": Row(
        lead(S.QUEUED), m.Seen(plan_ids=PLAN_IDS),
        m.Step(S.SUBMITTING, {"started_at": NOW}, effect=m.Submit(1))),
    "another run waits while the lead has not written": Row(
        run(S.QUEUED), m.Seen(lead=lead(S.QUEUED))),
    "another run waits while the lead's write is in flight": Row(
        run(S.QUEUED), m.Seen(lead=lead(S.SUBMITTING))),
    "another run waits while the lead waits to send again": Row(
        run(S.QUEUED), m.Seen(lead=lead(S.WAITING_AGENT, job_id=None))),
    "another run follows the job the lead's write started": Row(
        run(S.QUEUED), m.Seen(lead=lead(S.RUNNING, job_id=PLAN_JOB)),
        m.Step(S.RUNNING, FOLLOWS, started=PLAN_JOB)),
    "a run claimed after the lead finished still follows its job": Row(
        run(S.QUEUED), m.Seen(lead=lead(S.PROTECTED, job_id=PLAN_JOB)),
        m.Step(S.RUNNING, FOLLOWS, started=PLAN_JOB)),
    "the lead ended without a job: read the item": Row(
        run(S.QUEUED), m.Seen(lead=lead(S.FAILED, error={"code": "Code1", "last": "No."})),
        m.Step(effect=m.ReadItem())),
    "the lead's write was refused: this run is not started either": Row(
        run(S.QUEUED), m.Seen(lead=lead(S.FAILED, error={"code": "Code1", "last": "No."}),
                              item=FAILED_OVER),
        m.Step(S.FAILED, {"error": {"message": "No.", "lead": 6}},
               (ev.NotStarted(ITEM.friendly_name, "No."),))),
    "the lead found the plan done already: so is this item": Row(
        run(S.QUEUED), m.Seen(lead=lead(S.PROTECTED), item=FAILED_BACK),
        m.Step(S.PROTECTED, {"protection_state": "FailedBack"},
               (ev.Done((ITEM.friendly_name,), "failback-test"),))),
    "the lead's answer was lost: a job on the recovery plan is adopted": Row(
        lead(S.SUBMITTING), m.Seen(item=replace(LEAD_ITEM, allowed_operations=()),
                                   jobs={PLAN_JOB: plan_job("InProgress")}, plan_ids=PLAN_IDS),
        m.Step(S.RUNNING, {k: v for k, v in FOLLOWS.items() if k != "started_at"},
               started=PLAN_JOB)),
    "the lead's answer was lost, nothing runs: the write is sent again while allowed": Row(
        lead(S.SUBMITTING, error={"attempts": 1}),
        m.Seen(item=replace(LEAD_ITEM, allowed_operations=("PlannedFailover",)),
               plan_ids=PLAN_IDS),
        m.Step(effect=m.Submit(2))),
    "the lead's write accepted: it follows the plan's job": Row(
        lead(S.SUBMITTING), m.Seen(written=post(accepted=Accepted(PLAN_JOB)),
                                   plan_ids=PLAN_IDS),
        m.Step(S.RUNNING, {k: v for k, v in FOLLOWS.items() if k != "started_at"},
               started=PLAN_JOB)),
    "a following run: the shared job failed for the agent: failed, no wait, no Retry": Row(
        run(S.RUNNING, job_id=PLAN_JOB, flags={"jobs": [PLAN_JOB]}),
        m.Seen(job=plan_job("Failed", errors=(AGENT_ERROR,), allowed_actions=("Restart",)),
               lead=lead(S.RUNNING, job_id=PLAN_JOB)),
        m.Step(S.FAILED, {"error": {"codes": ["78093"], "state": "Failed"},
                          "job_state": "Failed", "job_task": "", "tasks_read_at": None},
               (ev.JobFailed(ITEM.friendly_name, PLAN_JOB, "", (ev.JobErrorInfo(
                   "78093", "The agent isn't installed on the VM."),), None),))),
    "the job succeeded, the item offers Commit: failed back": Row(
        run(S.SYNCING, job_id=PLAN_JOB), m.Seen(item=FAILED_BACK, lead=lead(S.SYNCING)),
        m.Step(S.PROTECTED, {"protection_state": "FailedBack"},
               (ev.Done((ITEM.friendly_name,), "failback-test"),))),
    "the job succeeded, the item does not show it done yet: wait": Row(
        run(S.SYNCING, job_id=PLAN_JOB, protection_state="FailedOver"),
        m.Seen(item=replace(FAILED_OVER, protection_state="FailedOver"),
               lead=lead(S.SYNCING))),
    "the lead's write refused for good: the lead failed with Site Recovery's words": Row(
        lead(S.SUBMITTING), m.Seen(written=post(exc=refused(400, "Plan busy.")),
                                   plan_ids=PLAN_IDS),
        m.Step(S.FAILED, {"error": {"code": "Code1", "last": "Refused."}},
               (ev.WriteRefused(LEAD_ITEM.friendly_name, "Refused.", "Plan busy.",
                                "Fix it.", None),))),
}


@pytest.mark.parametrize("name", list(ROWS))
def test_plan_scope_transition(name: str) -> None:
    row = ROWS[name]
    assert m.step(row.run, row.seen, POLICY, NOW) == row.step


def test_only_the_lead_of_a_plan_ever_asks_for_a_write() -> None:
    """Whatever the lead's state, a run that has a lead asks for no write and no restart."""
    for status in (S.QUEUED, S.SUBMITTING, S.WAITING_AGENT, S.RUNNING, S.SYNCING,
                   S.PROTECTED, S.FAILED, S.TIMED_OUT):
        for item in (None, FAILED_OVER, FAILED_BACK):
            step = m.step(run(S.QUEUED), m.Seen(lead=lead(status), item=item), POLICY, NOW)
            assert not isinstance(step.effect, m.Submit | m.RestartJob), (status, item)
