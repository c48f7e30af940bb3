"""Fail back: the VMs go down in Azure and come up in the private cloud.

Classic (`InMage` items): one unplanned failover from Azure on the recovery plan
(`unplannedFailover`, `RecoveryToPrimary`, `InMage` with `LatestTime` or `LatestTag`), the
only direction Microsoft's code settles; an item-level request is refused with the reason.
Modernized (`InMageRcmFailback` items): a planned failover (`InMageRcmFailback`,
`CrashConsistent` or `ApplicationConsistent`), on the plan with the multi-VM sync point
PowerShell sends, or per item with `vm=`. An item is done when Site Recovery lists `Commit`
in its `allowedOperations`; it may be sent again while it lists the failover.
"""

from __future__ import annotations

import enum
from datetime import datetime

from core.notices import PlanIssue, PlanProblem
from core.plan import Choice, PlannedItem, ResolvedPlan, SentValue, StepRequest
from gateways.rcm_models import CLASSIC_PROVIDERS
from gateways.site_recovery_failback_models import (
    ClassicPoint,
    FailbackContext,
    FailbackInput,
    ModernizedPoint,
)
from gateways.site_recovery_models import ProtectedItem
from operations.base import Form, Scope, Submission
from providers.checks import VCenterReading
from providers.failback_checks import (
    ALLOWED_AS,
    appliance_power_check,
    architecture,
    architecture_check,
    avs_power_check,
    ready_check,
    recovery_points,
)

POINTS = ("latest", "consistent")  # the first is the default: Microsoft's recommendation
# `point=` as each architecture's recovery point type (failback.md §2, §4).
POINT_TYPES: dict[str, dict[str, ClassicPoint | ModernizedPoint]] = {
    "classic": {"latest": ClassicPoint.LATEST_TIME, "consistent": ClassicPoint.LATEST_TAG},
    "modernized": {"latest": ModernizedPoint.CRASH_CONSISTENT,
                   "consistent": ModernizedPoint.APPLICATION_CONSISTENT},
}
# The provider input's `instanceType` by architecture.
INPUTS = {"classic": "InMage", "modernized": "InMageRcmFailback"}
COMMIT = "Commit"  # listed once an item failed back and awaits its commit


FORM = Form(command="/failback", keys=("plan", "point", "vm"), choices={"point": POINTS})


class Failback:
    """`/failback plan=X [point=…]` (PLAN scope) or `… vm=a,b` (ITEM scope, modernized)."""

    done_word = "failed back"

    def __init__(self, name: str, scope: Scope) -> None:
        self.name = name
        self.scope = scope
        self.form = FORM

    def plan_step(self, request: StepRequest, context: FailbackContext, *, now: datetime,
                  vcenter: VCenterReading) -> ResolvedPlan | PlanProblem:
        items = context.items
        arch = architecture(items)
        state = context.plan.plan
        if arch == "classic" and self.scope is Scope.ITEM:
            return PlanProblem(PlanIssue.REFUSED_FORM, state.friendly_name, given="vm",
                               value=self.name, architecture=arch)
        checks = architecture_check(items, arch)
        point: Choice | None = None
        if arch is not None:
            chosen = request.option("point") or POINTS[0]
            wire = POINT_TYPES[arch][chosen].value
            point = Choice(wire, wire, "default" if chosen == POINTS[0] else f"point={chosen}")
            checks += ready_check(items, arch)
            checks += recovery_points(items, now, tagged=wire == ClassicPoint.LATEST_TAG.value)
            checks += avs_power_check(items, vcenter)
            if arch == "modernized":
                checks += appliance_power_check(items)
        return ResolvedPlan(
            plan_id=state.id, plan_name=state.name, plan_friendly_name=state.friendly_name,
            items=tuple(PlannedItem(i.item.id, i.item.friendly_name) for i in items),
            master_target=None, process_server=None, datastore=None, retention=None,
            policy=None, run_as_account_id=None, checks=tuple(checks),
            provider=arch or "classic", operation=self.name, point=point)

    def values(self, plan: ResolvedPlan) -> tuple[SentValue, ...]:
        """Every field the write sends, as PowerShell sends it for the architecture."""
        if plan.point is None:
            return ()
        classic = plan.provider == "classic"
        on_plan = self.scope is Scope.PLAN

        def fixed(key: str, label: str, value: str, reason: str = "") -> SentValue:
            return SentValue(key, label, Choice(value, value, reason))

        call = "unplannedFailover" if classic else "plannedFailover"
        values = [fixed("call", "Site Recovery call",
                        f"{call} on the recovery plan" if on_plan else f"{call} on each VM"),
                  fixed("provider", "Provider input", INPUTS[plan.provider])]
        if on_plan:
            values.append(fixed("direction", "Failover direction", "RecoveryToPrimary"))
        if classic:
            values.append(fixed("source_site", "Source site operations", "NotRequired"))
        values.append(SentValue("point", "Recovery point type", plan.point))
        if on_plan and not classic:
            values.append(fixed("sync_point", "Multi-VM sync point", "True"))
        return tuple(values)

    def submission(self, plan: ResolvedPlan, item_id: str) -> Submission:
        assert plan.point is not None  # a plan without one is never approvable
        target = plan.plan_id if self.scope is Scope.PLAN else item_id
        return Submission(target, FailbackInput(INPUTS[plan.provider], plan.point.id))

    def done(self, item: ProtectedItem) -> bool:
        return COMMIT in item.allowed_operations

    def may_send(self, item: ProtectedItem) -> bool:
        arch = "classic" if item.provider.lower() in CLASSIC_PROVIDERS else "modernized"
        return ALLOWED_AS[arch] in item.allowed_operations


class Undone(enum.StrEnum):
    """What Site Recovery shows it did about a failed modernized planned failover: it starts
    a job to cancel it by itself and restores the state before; if that cancel fails, it
    asks for a manual cancel (failback.md §4). Classic failback has no such cancel."""

    CANCELLING = "cancelling"  # its cancel job runs (current scenario `CancelFailover`)
    CANCELLED = "cancelled"    # the item lists `PlannedFailover` again: state restored
    CANCEL_NEEDED = "cancel-needed"  # the item lists `CancelFailover`: cancel by hand


def undone_after_failure(item: ProtectedItem | None) -> str:
    """`Undone` for a modernized item whose failback failed; "" when unknown or classic."""
    if item is None or item.provider.lower() in CLASSIC_PROVIDERS:
        return ""
    if item.current_scenario.name.casefold() == "cancelfailover":
        return Undone.CANCELLING
    if ALLOWED_AS["modernized"] in item.allowed_operations:
        return Undone.CANCELLED
    if "CancelFailover" in item.allowed_operations:
        return Undone.CANCEL_NEEDED
    return ""


FAILBACK = Failback("failback", Scope.PLAN)
FAILBACK_VMS = Failback("failback-vm", Scope.ITEM)
