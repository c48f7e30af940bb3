"""Preflight checks of a modernized plan (replication appliance), one small function each.

Same rule as `providers.classic.preflight`: a blocker is a certainty, and every check that can block
names its source in `BLOCK_SOURCES` (a prerequisite of Microsoft's modernized failback
documentation with
the Microsoft doc it cites, or an enumeration of the REST spec or SDK). Free-text values are
compared case-insensitively with the known-good ones; any other value is a warning that shows
it (`unseen`). What the bot cannot see is a manual item the approver ticks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from core.plan import CheckResult, Verdict, passed
from gateways.rcm_models import (
    CLASSIC_PROVIDERS,
    MODERNIZED_PROVIDERS,
    Architecture,
    RcmItem,
    detect_architecture,
)
from providers.checks import known
from providers.modernized.facts import (
    ModernizedFacts,
    pending_items,
    vm_names,
)
from providers.modernized.target_checks import (
    OVERVIEW,
    appliance_datastore,
    appliance_disks,
    appliance_healthy,
    appliance_known,
    appliance_network,
    appliance_vm,
    failback_policy,
    log_storage,
)

BLOCK_SOURCES: dict[str, str] = {
    "architecture": "modernized.md §2-3: Azure PowerShell -ReplicateAzureToVMware refuses items "
                    "whose provider is not InMageRcm, and a classic item takes an InMage "
                    "input: one reprotect input cannot serve both",
    "appliance-known": "modernized.md §3-4: reprotectAgentId is the fabric's reprotectAgents "
                       "entry named -ApplianceName (Azure PowerShell); a name the fabric does not "
                       "list cannot be sent",
    "appliance-healthy": f"{OVERVIEW}, VMware/physical reprotection (ensure you have a healthy "
                         "appliance); SDK enumeration ProtectionHealth (Warning, Critical), "
                         "heartbeat age and Site Recovery's own health errors",
    "appliance-datastore": f"{OVERVIEW}, appliance selection (the target datastore, and for "
                           "original location the source machine's, accessible by the "
                           "appliance with read and write permissions); "
                           "InMageRcmReprotectInput.datastoreName is required by the SDK",
    "appliance-disks": f"{OVERVIEW}, reprotection (an appliance can have up to 60 disks "
                       "attached)",
    "reprotect-allowed-rcm": "REST spec enumeration ReplicationProtectedItemOperation "
                             "(allowedOperations lacks ReverseReplicate) and currentScenario "
                             "(another operation runs); an InMageRcmFailback item is reprotected "
                             "already",
    "log-storage": "InMageRcmReprotectInput.logStorageAccountId, a storage account's ARM id, is "
                   "required by the SDK; the bot never creates one",
}

Check = Callable[[ModernizedFacts], Sequence[CheckResult]]


# -- the plan -------------------------------------------------------------------------------


def architecture(f: ModernizedFacts) -> list[CheckResult]:
    """The first line of a modernized preflight: which architecture, or why not one."""
    found = detect_architecture(i.provider for i in f.items)
    if found is Architecture.MIXED:
        classic = tuple(i for i in f.items if i.provider.lower() in CLASSIC_PROVIDERS)
        modern = tuple(i for i in f.items if i.provider.lower() in MODERNIZED_PROVIDERS)
        return [CheckResult("architecture", Verdict.BLOCK, "mixed", {
            "plan": f.plan_name, "classic": vm_names(classic), "modernized": vm_names(modern),
            "classic_command": f'/reprotect plan="{f.plan_name}" master=<master target> '
                               f'vm={",".join(vm_names(classic))}',
            "modernized_command": f'/reprotect plan="{f.plan_name}" appliance=<appliance> '
                                  f'vm={",".join(vm_names(modern))}'}, vm_names(classic))]
    if found is Architecture.UNKNOWN:
        odd = [i for i in f.items
               if i.provider.lower() not in CLASSIC_PROVIDERS | MODERNIZED_PROVIDERS]
        return [CheckResult("architecture", Verdict.WARN, "unknown" if odd else "no-items",
                            {"providers": tuple(i.provider or "none" for i in odd)},
                            vm_names(odd))]
    if found is Architecture.CLASSIC:
        return [CheckResult("architecture", Verdict.BLOCK, "classic", {
            "command": f'/reprotect plan="{f.plan_name}" master=<master target server>'})]
    return passed("architecture")


def reprotect_allowed(f: ModernizedFacts) -> list[CheckResult]:
    results: list[CheckResult] = []
    done = [i for i in f.items if known(i.provider, ("InMageRcmFailback",))]
    if done:
        results.append(CheckResult(
            "reprotect-allowed-rcm", Verdict.BLOCK, "done",
            {"progress": tuple((i.item.friendly_name, i.item.protection_state,
                                i.failback_progress_percent) for i in done)}, vm_names(done)))
    pending = pending_items(f)
    busy = [i for i in pending if not i.item.current_scenario.idle]
    if busy:
        results.append(CheckResult(
            "reprotect-allowed-rcm", Verdict.BLOCK, "busy",
            {"running": tuple((i.item.friendly_name, i.item.current_scenario.name)
                              for i in busy)}, vm_names(busy)))
    refused = [i for i in pending if i not in busy and not any(
        known(o, ("ReverseReplicate",)) for o in i.item.allowed_operations)]
    for state in sorted({_state(i) for i in refused}):
        results.append(CheckResult("reprotect-allowed-rcm", Verdict.BLOCK, "state",
                                   {"state": state},
                                   vm_names([i for i in refused if _state(i) == state])))
    return results or passed("reprotect-allowed-rcm")


def _state(item: RcmItem) -> str:
    return item.item.protection_state_description or item.item.protection_state


def agent_registered(f: ModernizedFacts) -> list[CheckResult]:
    """The mobility agent registers by itself up to 15 minutes after the VM boots in Azure
    (the tutorial: wait, then reprotect): not registered yet is a wait, never a blocker."""
    waiting = [i for i in pending_items(f) if i.agent_registered is False]
    unknown = [i for i in pending_items(f) if i.agent_registered is None]
    results = []
    if waiting:
        results.append(CheckResult("agent-registered-rcm", Verdict.WARN, "not-registered",
                                   {}, vm_names(waiting)))
    if unknown:
        results.append(CheckResult("agent-registered-rcm", Verdict.WARN, "not-reported",
                                   {}, vm_names(unknown)))
    return results or passed("agent-registered-rcm")


def failback_location(f: ModernizedFacts) -> list[CheckResult]:
    """Original or alternate location per VM, and what that means for the operator."""
    pending = pending_items(f)
    original = [i for i in pending if i.vm_deleted is False]
    alternate = [i for i in pending if i.vm_deleted is True]
    unknown = [i for i in pending if i.vm_deleted is None]
    results = []
    if alternate:
        results.append(CheckResult("failback-location", Verdict.WARN, "alternate",
                                   {}, vm_names(alternate)))
    if unknown:
        results.append(CheckResult("failback-location", Verdict.WARN, "unknown",
                                   {}, vm_names(unknown)))
    other_vcenter = [i for i in pending if f.appliance is not None and i.vcenter_id
                     and f.appliance.vcenter_id
                     and i.vcenter_id.lower() != f.appliance.vcenter_id.lower()]
    if other_vcenter and f.appliance is not None:
        results.append(CheckResult("failback-location", Verdict.WARN, "other-vcenter",
                                   {"appliance": f.appliance.name,
                                    "vcenter": f.appliance.vcenter_id},
                                   vm_names(other_vcenter)))
    if original:
        results += passed("failback-location", "ok", {"vms": vm_names(original)})
    return results


CHECKS: tuple[Check, ...] = (
    architecture, appliance_known, appliance_healthy, reprotect_allowed, agent_registered,
    appliance_datastore, appliance_disks, appliance_vm, failback_location, failback_policy,
    log_storage, appliance_network,
)


def run_checks(facts: ModernizedFacts, checks: Sequence[Check] = CHECKS
               ) -> tuple[CheckResult, ...]:
    return tuple(result for check in checks for result in check(facts))
