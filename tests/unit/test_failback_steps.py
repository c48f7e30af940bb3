"""Commit and cancel a failback (`operations.commit`, `operations.cancel`): the preflight
reads Site Recovery's `allowedOperations` only, names each VM not ready and what it waits
for, sends no body to the plan (or to each named item), and reads "done" from the item."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot import views
from bot.views import checks
from bot.views.plan_problems import plan_problem
from core.notices import PlanIssue, PlanProblem
from core.plan import (
    CheckResult,
    Choice,
    PlannedItem,
    ResolvedPlan,
    SentValue,
    StepRequest,
    Verdict,
)
from gateways.site_recovery_convert import plan_name
from gateways.site_recovery_failback_models import (
    FailbackContext,
    FailbackItem,
    ForwardTargets,
    PlanState,
)
from gateways.site_recovery_models import CurrentScenario, RecoveryPlan
from operations import OPERATIONS, operation_for
from operations.base import Submission
from operations.cancel import CANCEL, CANCEL_VMS
from operations.commit import COMMIT, COMMIT_VMS
from operations.steps import OUTCOMES, Step, readiness
from providers.checks import not_configured
from tests.support.preflight import NOW, item

PLAN_ID = ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v"
           "/replicationRecoveryPlans/finance-rp")
FAILED_BACK = ("Commit", "ChangePit", "DisableProtection")
FAILED_BACK_RCM = ("Commit", "CancelFailover", "ChangePit", "DisableProtection")
COMMITTED = ("ReverseReplicate", "DisableProtection")
READY = ("PlannedFailover", "DisableProtection")
CLASSIC_ARCH = {"architecture": "classic"}


def items(*allowed: tuple[str, ...], provider: str = "InMage") -> tuple[FailbackItem, ...]:
    return tuple(FailbackItem(item(n, allowed_operations=ops, provider=provider))
                 for n, ops in enumerate(allowed, 1))


def resolve(step: Step, plan_items: tuple[FailbackItem, ...]) -> ResolvedPlan | PlanProblem:
    plan = RecoveryPlan(PLAN_ID, "finance-rp", "Finance", tuple(i.item.id for i in plan_items))
    context = FailbackContext(PlanState(plan, (), None, None, ()), plan_items,
                              ForwardTargets(None, None, None))
    return step.plan_step(StepRequest("finance-rp", step.name), context, now=NOW,
                          vcenter=not_configured())


def resolved(step: Step, plan_items: tuple[FailbackItem, ...]) -> ResolvedPlan:
    plan = resolve(step, plan_items)
    assert isinstance(plan, ResolvedPlan), plan
    return plan


def test_commit_of_a_failed_back_plan_resolves_to_the_plan_and_its_vms_only() -> None:
    plan_items = items(FAILED_BACK, FAILED_BACK)
    ids = [i.item.id for i in plan_items]
    assert resolve(COMMIT, plan_items) == ResolvedPlan(
        plan_id=PLAN_ID, plan_name="finance-rp", plan_friendly_name="Finance",
        items=(PlannedItem(ids[0], "app-01"), PlannedItem(ids[1], "app-02")),
        master_target=None, process_server=None, datastore=None, retention=None, policy=None,
        run_as_account_id=None, provider="classic", operation="commit",
        checks=(CheckResult("failback-architecture", Verdict.PASS, "classic"),
                CheckResult("commit-ready", Verdict.PASS, "ok", {"count": 2})))
    assert resolved(COMMIT, plan_items).approvable


def test_each_vm_not_ready_blocks_with_what_it_waits_for() -> None:
    plan_items = items(FAILED_BACK, READY, COMMITTED, ("DisableProtection",), FAILED_BACK)
    busy = FailbackItem(replace(plan_items[4].item,
                                current_scenario=CurrentScenario("ChangePit", "job-1")))
    plan = resolved(COMMIT, (*plan_items[:4], busy))
    assert plan.blockers == (
        CheckResult("commit-ready", Verdict.BLOCK, "not-failed-back",
                    {"vm": "app-02", "allowed": READY}, ("app-02",)),
        CheckResult("commit-ready", Verdict.BLOCK, "committed",
                    {"vm": "app-03", "allowed": COMMITTED}, ("app-03",)),
        CheckResult("commit-ready", Verdict.BLOCK, "not-listed",
                    {"vm": "app-04", "allowed": ("DisableProtection",)}, ("app-04",)),
        CheckResult("commit-ready", Verdict.BLOCK, "busy",
                    {"vm": "app-05", "allowed": FAILED_BACK, "scenario": "ChangePit"},
                    ("app-05",)))
    assert not plan.approvable


def test_cancel_is_ready_on_cancel_failover_and_blocks_a_committed_vm() -> None:
    assert readiness(CANCEL, items(FAILED_BACK_RCM)) == (
        CheckResult("cancel-ready", Verdict.PASS, "ok", {"count": 1}),)
    assert readiness(CANCEL, items(FAILED_BACK_RCM, COMMITTED)) == (
        CheckResult("cancel-ready", Verdict.BLOCK, "committed",
                    {"vm": "app-02", "allowed": COMMITTED}, ("app-02",)),)
    assert readiness(CANCEL, items(FAILED_BACK)) == (  # Commit listed, CancelFailover not
        CheckResult("cancel-ready", Verdict.BLOCK, "not-listed",
                    {"vm": "app-01", "allowed": FAILED_BACK}, ("app-01",)),)


def test_done_and_may_send_read_allowed_operations() -> None:
    failed_back, committed, ready = (i.item for i in items(FAILED_BACK_RCM, COMMITTED, READY))
    assert [COMMIT.done(i) for i in (failed_back, committed, ready)] == [False, True, False]
    assert [COMMIT.may_send(i) for i in (failed_back, committed, ready)] == [True, False, False]
    assert [CANCEL.done(i) for i in (failed_back, committed, ready)] == [False, False, True]
    assert [CANCEL.may_send(i) for i in (failed_back, committed, ready)] == [True, False, False]
    # Commit gone but reprotect to Azure not offered (yet): not committed.
    assert not COMMIT.done(item(1, allowed_operations=("DisableProtection",)))


def test_the_write_has_no_body_on_the_plan_or_on_each_named_item() -> None:
    plan = resolved(COMMIT, items(FAILED_BACK, FAILED_BACK))
    lead = plan.items[0].item_id
    on_plan = "failoverCommit on the recovery plan, without a body"
    assert COMMIT.values(plan) == (
        SentValue("call", "Site Recovery call", Choice(on_plan, on_plan)),)
    assert COMMIT.submission(plan, lead) == Submission(PLAN_ID)
    assert COMMIT_VMS.submission(plan, lead) == Submission(lead)
    assert CANCEL.submission(plan, lead) == Submission(PLAN_ID)
    assert CANCEL_VMS.submission(plan, lead) == Submission(lead)
    assert plan_name(PLAN_ID) == "finance-rp"
    assert plan_name(lead) is None


def test_the_commands_name_the_operations() -> None:
    assert operation_for("/failback", "commit") is COMMIT
    assert operation_for("/failback", "commit", vms=True) is COMMIT_VMS
    assert operation_for("/failback", "cancel") is CANCEL
    assert operation_for("/failback", "cancel", vms=True) is CANCEL_VMS
    assert {n: OPERATIONS[n].scope.value for n in ("commit", "commit-vm", "cancel",
                                                   "cancel-vm")} == {
        "commit": "plan", "commit-vm": "item", "cancel": "plan", "cancel-vm": "item"}


def test_a_classic_failback_cannot_be_cancelled_a_modernized_one_can() -> None:
    assert resolve(CANCEL, items(FAILED_BACK)) == PlanProblem(
        PlanIssue.NOT_CANCELLABLE, "Finance", architecture="classic")
    assert resolve(CANCEL_VMS, items(FAILED_BACK)) == PlanProblem(
        PlanIssue.NOT_CANCELLABLE, "Finance", architecture="classic")
    modernized = resolved(CANCEL, items(FAILED_BACK_RCM, provider="InMageRcmFailback"))
    assert modernized.approvable and modernized.provider == "modernized"
    words = plan_problem(PlanProblem(PlanIssue.NOT_CANCELLABLE, "Fin`<!here>",
                                     architecture="classic"))
    assert "cannot be cancelled" in words and "Nothing was sent" in words
    assert "<!here>" not in words


@pytest.mark.parametrize("key", OUTCOMES)
@pytest.mark.parametrize("step", [COMMIT, CANCEL])
def test_every_readiness_outcome_has_words_naming_the_vm(step: Step, key: str) -> None:
    values = {"vm": "app-01", "allowed": ("Commit",), "scenario": "ChangePit", "count": 3}
    result = CheckResult(step.check, Verdict.BLOCK, key, values, ("app-01",))
    shown = checks.message(result)
    assert ("`app-01`" in shown) == (key != "ok"), shown
    assert key == "ok" or checks.fix(result)


def test_the_commit_request_says_the_azure_vms_are_removed_before_approve() -> None:
    plan = resolved(COMMIT, items(FAILED_BACK, FAILED_BACK))
    message = views.request_message(request_id=7, requester="U1", plan=plan, status="pending",
                                    approvals=(), required=1, expires_at=None, operation=COMMIT)
    texts = [b["text"]["text"] if b["type"] == "section" else b["type"]
             for b in message["blocks"]]
    warning = next(n for n, t in enumerate(texts) if "removes the VMs in Azure" in t)
    assert "cannot be undone" in texts[warning]
    assert warning < texts.index("actions")
    assert texts[0].split("\n")[1].startswith("Commit failback #7: plan *Finance*")
    assert any("`failoverCommit on the recovery plan, without a body`" in t for t in texts)
