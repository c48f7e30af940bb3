"""Preflight checks of a modernized plan (replication appliance), one small function each.

Same rule as `providers.classic.preflight`: a blocker is a certainty, and every check that can block
names its source in `BLOCK_SOURCES` (a prerequisite of `shared/asr-api/modernized.md` §6 with
the Microsoft doc it cites, or an enumeration of the REST spec or SDK). Free-text values are
compared case-insensitively with the known-good ones; any other value is a warning that shows
it (`unseen`). What the bot cannot see is a manual item the approver ticks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from core.mrkdwn import code
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
    names,
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
    "agent-registered-rcm": f"{OVERVIEW}, re-protect job (a failed registration of the mobility "
                            "agent after failover raises a critical health issue; "
                            "isAgentRegistrationSuccessfulAfterFailover false)",
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
        return [CheckResult(
            "architecture", Verdict.BLOCK,
            f"Plan {code(f.plan_name)} mixes both architectures: {names(vm_names(classic))} "
            "replicate through a configuration server (classic), "
            f"{names(vm_names(modern))} through a replication appliance (modernized); one "
            "reprotect input cannot serve both.",
            "Reprotect them in two requests: "
            + code(f'/reprotect plan="{f.plan_name}" master=<master target> '
                   f'vm={",".join(vm_names(classic))}')
            + " and "
            + code(f'/reprotect plan="{f.plan_name}" appliance=<appliance> '
                   f'vm={",".join(vm_names(modern))}')
            + ".", vm_names(classic))]
    if found is Architecture.UNKNOWN:
        odd = [i for i in f.items
               if i.provider.lower() not in CLASSIC_PROVIDERS | MODERNIZED_PROVIDERS]
        return [CheckResult(
            "architecture", Verdict.WARN,
            "The plan's architecture is unknown: "
            + (f"replication provider {names([i.provider or 'none' for i in odd])}, neither "
               "classic (InMageAzureV2) nor modernized (InMageRcm)." if odd else
               "it has no replicated items."),
            "Check the VMs' replication in the vault (Replicated items → the VM → Properties); "
            "only VMware VMs failed over to Azure can be reprotected to the private cloud.",
            vm_names(odd))]
    if found is Architecture.CLASSIC:
        return [CheckResult(
            "architecture", Verdict.BLOCK,
            "Every VM of the plan replicates through a configuration server (classic "
            "architecture), not a replication appliance.",
            f"Use the classic form: `/reprotect plan=\"{f.plan_name}\" master=<master target "
            "server>`.")]
    return passed("architecture", "Modernized architecture: the plan's VMs replicate through a "
                                  "replication appliance (InMageRcm).")


def reprotect_allowed(f: ModernizedFacts) -> list[CheckResult]:
    results: list[CheckResult] = []
    done = [i for i in f.items if known(i.provider, ("InMageRcmFailback",))]
    if done:
        results.append(CheckResult(
            "reprotect-allowed-rcm", Verdict.BLOCK,
            "Already reprotected: replicating back to the private cloud ("
            + ", ".join(f"{i.item.friendly_name} {i.item.protection_state}"
                        + (f" {i.failback_progress_percent}%"
                           if i.failback_progress_percent is not None else "") for i in done)
            + "); there is nothing to reprotect.",
            "Leave these VMs out with `vm=`, or go on with the planned failover to the private "
            "cloud in the Azure portal.", vm_names(done)))
    pending = pending_items(f)
    busy = [i for i in pending if not i.item.current_scenario.idle]
    if busy:
        results.append(CheckResult(
            "reprotect-allowed-rcm", Verdict.BLOCK,
            "Another Site Recovery operation is running: "
            + ", ".join(f"{i.item.friendly_name} ({i.item.current_scenario.name})" for i in busy)
            + ".",
            "Wait for that job to finish (Site Recovery jobs in the vault), then run "
            "`/reprotect` again.", vm_names(busy)))
    refused = [i for i in pending if i not in busy and not any(
        known(o, ("ReverseReplicate",)) for o in i.item.allowed_operations)]
    for state in sorted({_state(i) for i in refused}):
        results.append(CheckResult(
            "reprotect-allowed-rcm", Verdict.BLOCK,
            f"Site Recovery does not allow reprotect in state `{state}`.",
            "Reprotect needs a committed failover with the Azure VM still present: commit the "
            "failover; a migrated, moved or deleted Azure VM cannot be reprotected.",
            vm_names([i for i in refused if _state(i) == state])))
    return results or passed("reprotect-allowed-rcm",
                             "Site Recovery allows reprotect for every VM.")


def _state(item: RcmItem) -> str:
    return item.item.protection_state_description or item.item.protection_state


def agent_registered(f: ModernizedFacts) -> list[CheckResult]:
    """The mobility agent re-registers by itself after failover; a failure is documented."""
    failed = [i for i in pending_items(f) if i.agent_registered is False]
    unknown = [i for i in pending_items(f) if i.agent_registered is None]
    results = []
    if failed:
        results.append(CheckResult(
            "agent-registered-rcm", Verdict.BLOCK,
            "The Azure VM's mobility agent has not registered with Site Recovery after failover "
            "(isAgentRegistrationSuccessfulAfterFailover false).",
            "Registration starts by itself after failover: if the failover was minutes ago, "
            "wait and run `/reprotect` again. Otherwise check the Azure VM runs, its mobility "
            "agent services run and reach Site Recovery's URLs, resolve the VM's critical "
            "health error (Replicated items → the VM), then run `/reprotect` again.",
            vm_names(failed)))
    if unknown:
        results.append(CheckResult(
            "agent-registered-rcm", Verdict.WARN,
            "Site Recovery does not report whether the mobility agent re-registered after "
            "failover (isAgentRegistrationSuccessfulAfterFailover missing).",
            "Confirm by hand: the VM shows no critical health error in the vault (Replicated "
            "items → the VM); a reprotect of an unregistered VM fails.", vm_names(unknown)))
    return results or passed("agent-registered-rcm", "Every VM's mobility agent re-registered "
                                                     "with Site Recovery after failover.")


def failback_location(f: ModernizedFacts) -> list[CheckResult]:
    """Original or alternate location per VM, and what that means for the operator."""
    pending = pending_items(f)
    original = [i for i in pending if i.vm_deleted is False]
    alternate = [i for i in pending if i.vm_deleted is True]
    unknown = [i for i in pending if i.vm_deleted is None]
    results = []
    if alternate:
        results.append(CheckResult(
            "failback-location", Verdict.WARN,
            "Alternate location: the VM no longer exists on premises, so failback creates it "
            "anew with a full copy of its disks from Azure; static IP addresses are not kept, "
            "fstab and LVM configuration change.",
            "Expect a longer initial replication and plan the VM's IP addresses again.",
            vm_names(alternate)))
    if unknown:
        results.append(CheckResult(
            "failback-location", Verdict.WARN,
            "Site Recovery does not say whether the VM still exists on premises "
            "(discoveredVmDetails.isDeleted missing): original location (only changes flow "
            "back) or alternate location (full copy) is not known.",
            "Check in vCenter whether the source VM still exists; either way, static IP "
            "addresses are not kept.", vm_names(unknown)))
    other_vcenter = [i for i in pending if f.appliance is not None and i.vcenter_id
                     and f.appliance.vcenter_id
                     and i.vcenter_id.lower() != f.appliance.vcenter_id.lower()]
    if other_vcenter and f.appliance is not None:
        results.append(CheckResult(
            "failback-location", Verdict.WARN,
            f"The VM was discovered in another vCenter than appliance `{f.appliance.name}`'s "
            f"(`{f.appliance.vcenter_id}`): failback goes to the original vCenter only "
            "(concepts-types-of-failback.md, classic wording).",
            "Pick an appliance of the VM's vCenter with `appliance=`.", vm_names(other_vcenter)))
    if original:
        results += passed("failback-location",
                          "Original location for " + names(vm_names(original)) + ": the VM still "
                          "exists on premises, only changes flow back (static IP addresses are "
                          "not kept; disks added in Azure do not come back).")
    return results


CHECKS: tuple[Check, ...] = (
    architecture, appliance_known, appliance_healthy, reprotect_allowed, agent_registered,
    appliance_datastore, appliance_disks, appliance_vm, failback_location, failback_policy,
    log_storage, appliance_network,
)


def run_checks(facts: ModernizedFacts, checks: Sequence[Check] = CHECKS
               ) -> tuple[CheckResult, ...]:
    return tuple(result for check in checks for result in check(facts))
