"""The journey's steps whose write takes no body: commit and cancel a failback.

Both are one `POST` without a body (`failoverCommit`, `failoverCancel`) on the recovery plan,
or on each item when the operator names VMs (`vm=`); both are offered for a VM only when Site
Recovery lists them in the item's `allowedOperations`, and done when the item shows the step's
result there. What differs is in `Step`'s fields, so `operations.commit` and
`operations.cancel` are small.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from core.notices import PlanProblem
from core.plan import (
    CheckResult,
    Choice,
    PlannedItem,
    ResolvedPlan,
    SentValue,
    StepRequest,
    Value,
    Verdict,
)
from gateways.site_recovery_failback_models import FailbackContext, FailbackItem
from gateways.site_recovery_models import ProtectedItem
from operations.base import Form, Scope, Submission
from providers.checks import VCenterReading
from providers.failback_checks import architecture, architecture_check

# Site Recovery's names in an item's `allowedOperations` (SDK enum
# `ReplicationProtectedItemOperation`): a failback not yet started, and one committed.
FAILBACK_OPERATIONS = ("PlannedFailover", "UnplannedFailover")
COMMITTED_AS = "ReverseReplicate"
# The outcomes of a step's readiness check (`bot.views.commit` words each): every VM ready,
# then what a VM waits for.
READY = "ok"
BUSY, NOT_FAILED_BACK, COMMITTED, NOT_LISTED = "busy", "not-failed-back", "committed", "not-listed"
OUTCOMES = (READY, BUSY, NOT_FAILED_BACK, COMMITTED, NOT_LISTED)


def never(architecture: str, plan: str) -> PlanProblem | None:
    """Every architecture takes the step."""
    return None


@dataclass  # not frozen: `Operation`'s attributes are plain (settable) ones
class Step:
    """A bodiless journey step: `call` is its REST action, `allowed_as` its name in
    `allowedOperations`, `is_done` reads an item done, `check` is the id of its readiness
    check (`readiness`), `refused` says why a plan of an architecture cannot take it at all."""

    name: str
    form: Form
    scope: Scope
    done_word: str
    call: str
    allowed_as: str
    check: str
    is_done: Callable[[ProtectedItem], bool]
    refused: Callable[[str, str], PlanProblem | None] = never

    def plan_step(self, request: StepRequest, context: FailbackContext, *, now: datetime,
                  vcenter: VCenterReading) -> ResolvedPlan | PlanProblem:
        """The plan and the VMs the request names as Site Recovery lists them, checked for
        the step; no value to choose."""
        items = context.items
        state = context.plan.plan
        arch = architecture(items)
        refusal = self.refused(arch, state.friendly_name) if arch else None
        if refusal is not None:
            return refusal
        checks = architecture_check(items, arch)
        return ResolvedPlan(
            plan_id=state.id, plan_name=state.name, plan_friendly_name=state.friendly_name,
            items=tuple(PlannedItem(i.item.id, i.item.friendly_name) for i in items),
            master_target=None, process_server=None, datastore=None, retention=None,
            policy=None, run_as_account_id=None, provider=arch or "classic",
            operation=self.name,
            checks=(*checks, *(readiness(self, items) if arch else ())))

    def values(self, plan: ResolvedPlan) -> tuple[SentValue, ...]:
        """The call and where it goes: the write has no body."""
        where = "on the recovery plan" if self.scope is Scope.PLAN else "on each VM"
        shown = f"{self.call} {where}, without a body"
        return (SentValue("call", "Site Recovery call", Choice(shown, shown)),)

    def submission(self, plan: ResolvedPlan, item_id: str) -> Submission:
        return Submission(plan.plan_id if self.scope is Scope.PLAN else item_id)

    def done(self, item: ProtectedItem) -> bool:
        return self.is_done(item)

    def may_send(self, item: ProtectedItem) -> bool:
        return self.allowed_as in item.allowed_operations


def readiness(step: Step, items: Sequence[FailbackItem]) -> tuple[CheckResult, ...]:
    """One blocker per VM Site Recovery would refuse the step for, naming what it waits for
    (a job running, a failback not done yet, a failback already committed, or an unlisted
    step, with what Site Recovery lists instead); a pass when every VM is ready."""
    blocked = tuple(result for item in items if (result := _waits(step, item.item)) is not None)
    if blocked:
        return blocked
    return (CheckResult(step.check, Verdict.PASS, READY, {"count": len(items)}),)


def _waits(step: Step, item: ProtectedItem) -> CheckResult | None:
    allowed = item.allowed_operations
    values: dict[str, Value] = {"vm": item.friendly_name, "allowed": allowed}
    if not item.current_scenario.idle:
        key = BUSY
        values["scenario"] = item.current_scenario.name
    elif step.allowed_as in allowed:
        return None
    elif any(op in allowed for op in FAILBACK_OPERATIONS):
        key = NOT_FAILED_BACK
    elif COMMITTED_AS in allowed:
        key = COMMITTED
    else:
        key = NOT_LISTED
    return CheckResult(step.check, Verdict.BLOCK, key, values, (item.friendly_name,))
