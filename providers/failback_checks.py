"""The failback preflight, read from Site Recovery's own state (never free text).

A VM is ready when its item lists the failover in `allowedOperations` (`UnplannedFailover`
classic, `PlannedFailover` modernized); otherwise the result names the VM and what it waits
for, from the item's other signals. The AVS VM must stay powered off until the failback
starts it (read from vCenter when configured; an unreadable vCenter is a manual item, never
a blocker). Each VM's recovery point and its age are returned as data for the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from core.plan import CheckResult, Value, Verdict, passed
from gateways.rcm_models import CLASSIC_PROVIDERS, MODERNIZED_PROVIDERS
from gateways.site_recovery_failback_models import FailbackItem
from gateways.timestamps import utc
from providers.checks import VCenterReading, age_minutes, avs_candidates, known

# Every check that can block, with its authority (the README's table has a row for each).
BLOCK_SOURCES: dict[str, str] = {
    "failback-architecture": "Azure PowerShell: Start-AzRecoveryServicesAsrPlannedFailoverJob "
                             "refuses InMage items, Start-AzRecoveryServicesAsrUnplannedFailover"
                             "Job refuses InMageRcmFailback ones: one failover cannot serve both",
    "failback-ready": "REST spec enumeration ReplicationProtectedItemOperation: the item's "
                      "allowedOperations lacks UnplannedFailover (classic) or PlannedFailover "
                      "(modernized); the reason shown is read from currentScenario, the "
                      "provider, protectionState and the recovery points",
    "avs-vm-stays-off": "Tutorial avs-tutorial-failback.md (the VM in the private cloud stays "
                        "off until failback); vCenter's VirtualMachinePowerState poweredOn",
}
# The provider of an item replicating Azure → AVS, by architecture (failback.md §0).
REVERSE = {"classic": "inmage", "modernized": "inmagercmfailback"}
# What each architecture's failback is called in `allowedOperations`.
ALLOWED_AS = {"classic": "UnplannedFailover", "modernized": "PlannedFailover"}
# vCenter's power state of a VM that is on (`VirtualMachinePowerState`).
POWERED_ON = "poweredOn"


def architecture(items: Sequence[FailbackItem]) -> str | None:
    """`classic` or `modernized` when every item is of that architecture; else None."""
    providers = {i.item.provider.lower() for i in items}
    if providers and providers <= CLASSIC_PROVIDERS:
        return "classic"
    if providers and providers <= MODERNIZED_PROVIDERS:
        return "modernized"
    return None


def architecture_check(items: Sequence[FailbackItem], found: str | None) -> list[CheckResult]:
    if not items:
        return [CheckResult("failback-architecture", Verdict.BLOCK, "no-items")]
    if found is None:
        providers = tuple(sorted({i.item.provider for i in items}))
        return [CheckResult("failback-architecture", Verdict.BLOCK, "mixed",
                            {"providers": providers})]
    if found == "classic":
        return passed("failback-architecture", "classic")
    return passed("failback-architecture", "modernized")


def ready_check(items: Sequence[FailbackItem], arch: str) -> list[CheckResult]:
    """One result per reason a VM is not ready, naming its VMs; a pass when all are."""
    wanted = ALLOWED_AS[arch]
    waiting: dict[str, list[FailbackItem]] = {}
    for item in items:
        if not item.allows(wanted):
            waiting.setdefault(_waits_for(item, arch), []).append(item)
    if not waiting:
        return passed("failback-ready", "ok", {"operation": wanted})
    return [CheckResult("failback-ready", Verdict.BLOCK, reason, _reason_values(found, wanted),
                        tuple(i.item.friendly_name for i in found))
            for reason, found in waiting.items()]


def _waits_for(item: FailbackItem, arch: str) -> str:
    """Why an item does not list the failover, from its other signals, first match wins."""
    if "Commit" in item.allowed_operations:
        return "failed-back"
    if not item.current_scenario.idle:
        return "running"
    if item.item.provider.lower() != REVERSE[arch]:
        return "not-reprotected"
    progress = item.item.progress_percent
    if not item.item.protected or (progress is not None and progress < 100):
        return "resyncing"
    if item.latest_recovery_point is None:
        return "no-point"
    return "not-listed"


def _reason_values(items: Sequence[FailbackItem], wanted: str) -> dict[str, Value]:
    return {"operation": wanted,
            "scenarios": tuple(dict.fromkeys(i.current_scenario.name for i in items)),
            "states": tuple(dict.fromkeys(i.item.protection_state for i in items)),
            "allowed": tuple(dict.fromkeys(op for i in items for op in i.allowed_operations))}


def recovery_points(items: Sequence[FailbackItem], now: datetime, *, tagged: bool
                    ) -> list[CheckResult]:
    """Each VM's latest recovery point of the chosen kind and its age in minutes, where Site
    Recovery reports one (`tagged`: classic application-consistent, `consistencyPoints`)."""
    points: list[Value] = []
    for item in items:
        point = item.latest_tagged_point if tagged else item.latest_recovery_point
        points.append((item.item.friendly_name, utc(point).isoformat() if point else None,
                       age_minutes(now, point)))
    return passed("recovery-point", "listed", {"points": tuple(points)})


def appliance_power_check(items: Sequence[FailbackItem]) -> list[CheckResult]:
    """The power status the appliance discovered for each modernized VM in the private cloud
    (`discoveredVmDetails.powerStatus`): undocumented values, so anything but off is a
    warning that shows it, never a blocker (vCenter, when configured, is the certainty)."""
    on = [i for i in items if i.power_status is not None and not known(i.power_status, ("OFF",))]
    if not on:
        return []
    return [CheckResult("appliance-power", Verdict.WARN, "not-off",
                        {"raw": tuple(dict.fromkeys(str(i.power_status) for i in on)),
                         "expected": ("OFF",)}, tuple(i.item.friendly_name for i in on))]


def avs_power_check(items: Sequence[FailbackItem], vcenter: VCenterReading
                    ) -> list[CheckResult]:
    """The AVS VM stays off until the failback starts it; unread vCenter: confirm by hand."""
    if not vcenter.configured:
        return []
    inventory = vcenter.inventory
    if inventory is None:
        return [CheckResult("avs-vm-stays-off", Verdict.MANUAL, "unread", {"host": vcenter.host},
                            tuple(i.item.friendly_name for i in items))]
    on: list[str] = []
    absent: list[str] = []
    for item in items:
        found = avs_candidates(inventory, item.item)
        if not found:
            absent.append(item.item.friendly_name)
        elif any(vm.power_state == POWERED_ON for vm in found):
            on.append(item.item.friendly_name)
    results: list[CheckResult] = []
    if on:
        results.append(CheckResult("avs-vm-stays-off", Verdict.BLOCK, "powered-on",
                                   {"host": vcenter.host}, tuple(on)))
    if absent:
        results.append(CheckResult("avs-vm-stays-off", Verdict.WARN, "not-found",
                                   {"host": vcenter.host}, tuple(absent)))
    return results or passed("avs-vm-stays-off", "ok", {"host": vcenter.host})
