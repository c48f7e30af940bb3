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
from core.plan import CheckResult, PlannedItem, ReprotectRequest, ResolvedPlan, Verdict
from gateways.site_recovery_convert import plan_name
from gateways.site_recovery_models import CurrentScenario, PlanContext, RecoveryPlan
from operations import OPERATIONS
from operations.base import Submission
from operations.cancel import CANCEL, CANCEL_ITEMS
from operations.commit import COMMIT, COMMIT_ITEMS
from operations.steps import Step, readiness
from providers import CLASSIC, MODERNIZED
from providers.checks import not_configured
from tests.support.preflight import NOW, item

PLAN_ID = ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v"
           "/replicationRecoveryPlans/finance-rp")
FAILED_BACK = ("Commit", "ChangePit", "DisableProtection")
FAILED_BACK_RCM = ("Commit", "CancelFailover", "ChangePit", "DisableProtection")
COMMITTED = ("ReverseReplicate", "DisableProtection")
READY = ("PlannedFailover", "DisableProtection")


def items(*allowed: tuple[str, ...]) -> tuple:
    return tuple(item(n, allowed_operations=ops, provider="InMage")
                 for n, ops in enumerate(allowed, 1))


def context(plan_items: tuple) -> PlanContext:
    plan = RecoveryPlan(PLAN_ID, "finance-rp", "Finance", tuple(i.id for i in plan_items))
    return PlanContext(plan=plan, items=plan_items, config_server=None, failback_policy=None)


def resolve(step: Step, plan_items: tuple, provider=CLASSIC) -> ResolvedPlan:
    return step.plan(provider, ReprotectRequest(plan="finance-rp"), context(plan_items),
                     plan_items, now=NOW, vcenter=not_configured())


def test_commit_of_a_failed_back_plan_resolves_to_the_plan_and_its_vms_only() -> None:
    plan_items = items(FAILED_BACK, FAILED_BACK)
    assert resolve(COMMIT, plan_items) == ResolvedPlan(
        plan_id=PLAN_ID, plan_name="finance-rp", plan_friendly_name="Finance",
        items=(PlannedItem(plan_items[0].id, "app-01"), PlannedItem(plan_items[1].id, "app-02")),
        master_target=None, process_server=None, datastore=None, retention=None, policy=None,
        run_as_account_id=None, provider="classic", values_required=False,
        checks=(CheckResult("commit-ready", Verdict.PASS, "ok", {"count": 2}),))
    assert resolve(COMMIT, plan_items).approvable


def test_each_vm_not_ready_blocks_with_what_it_waits_for() -> None:
    plan_items = items(FAILED_BACK, READY, COMMITTED, ("DisableProtection",), FAILED_BACK)
    busy = replace(plan_items[4], current_scenario=CurrentScenario("ChangePit", "job-1"))
    plan = resolve(COMMIT, (*plan_items[:4], busy))
    assert plan.checks == (
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
    failed_back, committed, ready = items(FAILED_BACK_RCM, COMMITTED, READY)
    assert [COMMIT.done(i) for i in (failed_back, committed, ready)] == [False, True, False]
    assert [COMMIT.may_send(i) for i in (failed_back, committed, ready)] == [True, False, False]
    assert [CANCEL.done(i) for i in (failed_back, committed, ready)] == [False, False, True]
    assert [CANCEL.may_send(i) for i in (failed_back, committed, ready)] == [True, False, False]
    # Commit gone but reprotect to Azure not offered (yet): not committed.
    assert not COMMIT.done(item(1, allowed_operations=("DisableProtection",)))


def test_the_write_has_no_body_on_the_plan_or_on_each_named_item() -> None:
    plan = resolve(COMMIT, items(FAILED_BACK, FAILED_BACK))
    lead = plan.items[0].item_id
    assert COMMIT.values(plan) == ()
    assert COMMIT.submission(plan, lead) == Submission(PLAN_ID)
    assert COMMIT_ITEMS.submission(plan, lead) == Submission(lead)
    assert CANCEL.submission(plan, lead) == Submission(PLAN_ID)
    assert CANCEL_ITEMS.submission(plan, lead) == Submission(lead)
    assert [OPERATIONS[n].scope.value for n in ("commit", "commit-items", "cancel",
                                                 "cancel-items")] == [
        "plan", "item", "plan", "item"]
    assert plan_name(PLAN_ID) == "finance-rp"
    assert plan_name(lead) is None


def test_a_classic_failback_cannot_be_cancelled_a_modernized_one_can() -> None:
    assert CANCEL.refusal(CLASSIC.name, "Finance") == PlanProblem(
        PlanIssue.NOT_CANCELLABLE, "Finance", architecture="classic")
    assert CANCEL_ITEMS.refusal(MODERNIZED.name, "Web") is None
    assert COMMIT.refusal(CLASSIC.name, "Finance") is None
    refused = CANCEL.refusal(CLASSIC.name, "Finance`<!here>")
    assert refused is not None
    words = plan_problem(refused)
    assert "cannot be cancelled" in words and "Nothing was sent" in words
    assert "<!here>" not in words


@pytest.mark.parametrize("key", ["ok", "busy", "not-failed-back", "committed", "not-listed"])
@pytest.mark.parametrize("step", [COMMIT, CANCEL])
def test_every_readiness_outcome_has_words_naming_the_vm(step: Step, key: str) -> None:
    values = {"vm": "app-01", "allowed": ("Commit",), "scenario": "ChangePit", "count": 3}
    result = CheckResult(step.check, Verdict.BLOCK, key, values, ("app-01",))
    shown = checks.message(result)
    assert ("`app-01`" in shown) == (key != "ok"), shown
    assert key == "ok" or checks.fix(result)


def test_the_commit_request_says_the_azure_vms_are_removed_before_approve() -> None:
    plan = resolve(COMMIT, items(FAILED_BACK, FAILED_BACK))
    message = views.request_message(request_id=7, requester="U1", plan=plan, status="pending",
                                    approvals=(), required=1, expires_at=None, operation=COMMIT)
    texts = [b.get("text", {}).get("text", "") if b["type"] == "section" else b["type"]
             for b in message["blocks"]]
    warning = next(n for n, t in enumerate(texts) if "removes the VMs in Azure" in t)
    assert "cannot be undone" in texts[warning]
    assert warning < texts.index("actions")
    assert texts[0].startswith(":arrows_counterclockwise: Commit failback #7: plan *Finance*")
    assert any("`failoverCommit` without a body, once on recovery plan `Finance`" in t
               for t in texts)
