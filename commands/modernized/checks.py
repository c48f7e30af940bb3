"""Preflight checks of a modernized plan (replication appliance), one small function each.

Same rule as `commands.preflight`: a blocker is a certainty, and every check that can block
names its source in `BLOCK_SOURCES` (a prerequisite of `shared/asr-api/modernized.md` §6 with
the Microsoft doc it cites, or an enumeration of the REST spec or SDK). Free-text values are
compared case-insensitively with the known-good ones; any other value is a warning that shows
it (`unseen`). What the bot cannot see is a manual item the approver ticks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from commands.facts import known, stale, unseen
from commands.infrastructure_checks import HEALTH_BAD, HEALTH_GOOD
from commands.modernized.choices import STORAGE_ACCOUNT_ID, account_name
from commands.modernized.facts import ModernizedFacts
from commands.mrkdwn import code
from commands.names import did_you_mean
from commands.plan_model import CheckResult, Verdict, passed
from gateways.rcm_models import (
    CLASSIC_PROVIDERS,
    MODERNIZED_PROVIDERS,
    Appliance,
    ApplianceComponent,
    Architecture,
    RcmItem,
    detect_architecture,
)
from gateways.site_recovery_models import HealthIssue
from gateways.timestamps import utc

MAX_APPLIANCE_DISKS = 60
FAILED_OVER = "InMageRcm"  # the provider of an item failed over and not yet reprotected
COMPONENT_STATUS_GOOD = ("Healthy",)  # SDK enum RcmComponentStatus
COMPONENT_STATUS_BAD = ("Warning", "Critical")
COMPONENT_STATUS_ALL = (*COMPONENT_STATUS_GOOD, *COMPONENT_STATUS_BAD, "Unknown")
MAPPING_PAIRED = ("Paired",)
READ_WRITE = "readWrite"

OVERVIEW = "failover-failback-overview-modernized.md"
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


def _pending(f: ModernizedFacts) -> list[RcmItem]:
    """Items still to reprotect: failed over (`InMageRcm`)."""
    return [i for i in f.items if known(i.provider, (FAILED_OVER,))]


def _vms(items: Sequence[RcmItem]) -> tuple[str, ...]:
    return tuple(i.item.friendly_name for i in items)


def _names(values: Sequence[str]) -> str:
    return ", ".join(code(v) for v in dict.fromkeys(values)) or "none"


def _ago(now: datetime, heartbeat: datetime) -> str:
    return f"{int((utc(now) - utc(heartbeat)).total_seconds() // 60)} min ago"


# -- the plan -------------------------------------------------------------------------------


def architecture(f: ModernizedFacts) -> list[CheckResult]:
    """The first line of a modernized preflight: which architecture, or why not one."""
    found = detect_architecture(i.provider for i in f.items)
    if found is Architecture.MIXED:
        classic = tuple(i for i in f.items if i.provider.lower() in CLASSIC_PROVIDERS)
        modern = tuple(i for i in f.items if i.provider.lower() in MODERNIZED_PROVIDERS)
        return [CheckResult(
            "architecture", Verdict.BLOCK,
            f"Plan {code(f.plan_name)} mixes both architectures: {_names(_vms(classic))} "
            f"replicate through a configuration server (classic), {_names(_vms(modern))} through "
            "a replication appliance (modernized); one reprotect input cannot serve both.",
            f"Reprotect them in two requests: `/reprotect plan=\"{f.plan_name}\" master=<master "
            f"target> vm={','.join(_vms(classic))}` and `/reprotect plan=\"{f.plan_name}\" "
            f"appliance=<appliance> vm={','.join(_vms(modern))}`.", _vms(classic))]
    if found is Architecture.UNKNOWN:
        odd = [i for i in f.items
               if i.provider.lower() not in CLASSIC_PROVIDERS | MODERNIZED_PROVIDERS]
        return [CheckResult(
            "architecture", Verdict.WARN,
            "The plan's architecture is unknown: "
            + (f"replication provider {_names([i.provider or 'none' for i in odd])}, neither "
               "classic (InMageAzureV2) nor modernized (InMageRcm)." if odd else
               "it has no replicated items."),
            "Check the VMs' replication in the vault (Replicated items → the VM → Properties); "
            "only VMware VMs failed over to Azure can be reprotected to the private cloud.",
            _vms(odd))]
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
            "cloud in the Azure portal.", _vms(done)))
    pending = _pending(f)
    busy = [i for i in pending if not i.item.current_scenario.idle]
    if busy:
        results.append(CheckResult(
            "reprotect-allowed-rcm", Verdict.BLOCK,
            "Another Site Recovery operation is running: "
            + ", ".join(f"{i.item.friendly_name} ({i.item.current_scenario.name})" for i in busy)
            + ".",
            "Wait for that job to finish (Site Recovery jobs in the vault), then run "
            "`/reprotect` again.", _vms(busy)))
    refused = [i for i in pending if i not in busy and not any(
        known(o, ("ReverseReplicate",)) for o in i.item.allowed_operations)]
    for state in sorted({_state(i) for i in refused}):
        results.append(CheckResult(
            "reprotect-allowed-rcm", Verdict.BLOCK,
            f"Site Recovery does not allow reprotect in state `{state}`.",
            "Reprotect needs a committed failover with the Azure VM still present: commit the "
            "failover; a migrated, moved or deleted Azure VM cannot be reprotected.",
            _vms([i for i in refused if _state(i) == state])))
    return results or passed("reprotect-allowed-rcm",
                             "Site Recovery allows reprotect for every VM.")


def _state(item: RcmItem) -> str:
    return item.item.protection_state_description or item.item.protection_state


def agent_registered(f: ModernizedFacts) -> list[CheckResult]:
    """The mobility agent re-registers by itself after failover; a failure is documented."""
    failed = [i for i in _pending(f) if i.agent_registered is False]
    unknown = [i for i in _pending(f) if i.agent_registered is None]
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
            _vms(failed)))
    if unknown:
        results.append(CheckResult(
            "agent-registered-rcm", Verdict.WARN,
            "Site Recovery does not report whether the mobility agent re-registered after "
            "failover (isAgentRegistrationSuccessfulAfterFailover missing).",
            "Confirm by hand: the VM shows no critical health error in the vault (Replicated "
            "items → the VM); a reprotect of an unregistered VM fails.", _vms(unknown)))
    return results or passed("agent-registered-rcm", "Every VM's mobility agent re-registered "
                                                     "with Site Recovery after failover.")


def failback_location(f: ModernizedFacts) -> list[CheckResult]:
    """Original or alternate location per VM, and what that means for the operator."""
    pending = _pending(f)
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
            _vms(alternate)))
    if unknown:
        results.append(CheckResult(
            "failback-location", Verdict.WARN,
            "Site Recovery does not say whether the VM still exists on premises "
            "(discoveredVmDetails.isDeleted missing): original location (only changes flow "
            "back) or alternate location (full copy) is not known.",
            "Check in vCenter whether the source VM still exists; either way, static IP "
            "addresses are not kept.", _vms(unknown)))
    other_vcenter = [i for i in pending if f.appliance is not None and i.vcenter_id
                     and f.appliance.vcenter_id
                     and i.vcenter_id.lower() != f.appliance.vcenter_id.lower()]
    if other_vcenter and f.appliance is not None:
        results.append(CheckResult(
            "failback-location", Verdict.WARN,
            f"The VM was discovered in another vCenter than appliance `{f.appliance.name}`'s "
            f"(`{f.appliance.vcenter_id}`): failback goes to the original vCenter only "
            "(concepts-types-of-failback.md, classic wording).",
            "Pick an appliance of the VM's vCenter with `appliance=`.", _vms(other_vcenter)))
    if original:
        results += passed("failback-location",
                          "Original location for " + _names(_vms(original)) + ": the VM still "
                          "exists on premises, only changes flow back (static IP addresses are "
                          "not kept; disks added in Azure do not come back).")
    return results


# -- the appliance --------------------------------------------------------------------------


def appliance_known(f: ModernizedFacts) -> list[CheckResult]:
    if f.fabric is None:
        return [CheckResult(
            "appliance-known", Verdict.BLOCK,
            "The vault has no replication appliance fabric (InMageRcm): no appliance can "
            "receive the failback.",
            "Deploy a replication appliance in the private cloud and register it with the "
            "vault, then run `/reprotect` again.")]
    if f.appliance is None:
        names = [a.name for a in f.fabric.appliances]
        return [CheckResult(
            "appliance-known", Verdict.BLOCK,
            f"Replication appliance {code(f.appliance_wanted)} is not registered in the vault. "
            f"Registered: {_names(names)}. " + did_you_mean(f.appliance_wanted, names),
            "Pass `appliance=` one of the registered names (Site Recovery infrastructure → "
            "Replication appliances), or register the appliance first.")]
    return passed("appliance-known", f"Replication appliance `{f.appliance.name}` is "
                                     "registered in the vault.")


def appliance_healthy(f: ModernizedFacts) -> list[CheckResult]:
    """The reprotect agent and the appliance's other services: health, heartbeat, errors."""
    appliance = f.appliance
    if appliance is None:
        return []
    parts: list[tuple[str, str, datetime | None, tuple[HealthIssue, ...]]] = [
        ("reprotect agent", appliance.health, appliance.last_heartbeat, appliance.health_errors)]
    parts += [(_kind(c), c.health, c.last_heartbeat, c.health_errors)
              for c in appliance.components]
    problems, results = [], []
    for kind, health, heartbeat, errors in parts:
        if known(health, HEALTH_BAD):
            problems.append(f"{kind} health {health}")
        elif not known(health, HEALTH_GOOD):
            results.append(unseen("appliance-healthy", f"Appliance `{appliance.name}`'s {kind} "
                                  "health", health, HEALTH_GOOD + HEALTH_BAD, _CONFIRM))
        if heartbeat is None:  # not reported is not a stopped service: shown, not blocked
            results.append(CheckResult(
                "appliance-healthy", Verdict.WARN,
                f"Site Recovery reports no heartbeat of appliance `{appliance.name}`'s {kind}.",
                f"Confirm by hand: {_CONFIRM}"))
        elif stale(f.now, heartbeat):
            problems.append(f"{kind} last heartbeat {_ago(f.now, heartbeat)}")
        problems += [f"{kind} {e.code} {e.message}".strip() for e in errors]
    results += _loads(appliance)
    if problems:
        return [*results, CheckResult(
            "appliance-healthy", Verdict.BLOCK,
            f"Replication appliance `{appliance.name}` is not healthy: " + "; ".join(problems)
            + ".",
            "Start the appliance's services and check its connection to Azure (Site Recovery "
            "infrastructure → Replication appliances shows each one's health); heartbeats must "
            "be under 15 minutes old. Or pass `appliance=` a healthy one.")]
    return results or passed("appliance-healthy",
                             f"Replication appliance `{appliance.name}` and its "
                             f"{len(appliance.components)} other services are healthy.")


_CONFIRM = ("in the vault, Site Recovery infrastructure → Replication appliances, the appliance "
            "and each of its services show healthy with a recent heartbeat.")


def _kind(component: ApplianceComponent) -> str:
    """`processServers` → `process server`, as the portal names the services."""
    words = {"processServers": "process server", "rcmProxies": "RCM proxy",
             "pushInstallers": "push installer", "replicationAgents": "replication agent",
             "marsAgents": "MARS agent"}
    return words.get(component.kind, component.kind)


def _loads(appliance: Appliance) -> list[CheckResult]:
    """The process server's load statuses (RcmComponentStatus): pressure warns, since heavy
    traffic calls for another appliance (a recommendation, not a prerequisite)."""
    results = []
    for component in appliance.components:
        for key, status in component.statuses:
            what = f"Appliance `{appliance.name}`'s {_kind(component)} {key}"
            if known(status, COMPONENT_STATUS_BAD):
                results.append(CheckResult(
                    "appliance-healthy", Verdict.WARN, f"{what} is {status}.",
                    "Heavy load slows failback: free the appliance's resources, or pass "
                    "`appliance=` a separate one for failback (as Microsoft recommends for "
                    "heavy traffic)."))
            elif not known(status, COMPONENT_STATUS_ALL):
                results.append(unseen("appliance-healthy", what, status,
                                      COMPONENT_STATUS_ALL, _CONFIRM))
    return results


def appliance_datastore(f: ModernizedFacts) -> list[CheckResult]:
    """Each VM's datastore: reachable by the appliance; for original location, the VM's own;
    with vCenter, mounted read/write on the appliance's host and of type VMFS or vSAN."""
    appliance, pending = f.appliance, _pending(f)
    if appliance is None or not pending:
        return []
    results: list[CheckResult] = []
    chosen = {c.vm_name: c.datastore for c in f.choices}
    none = [i for i in pending if chosen.get(i.item.friendly_name) is None]
    if none:
        results.append(CheckResult(
            "appliance-datastore", Verdict.BLOCK,
            f"Replication appliance `{appliance.name}` reaches no datastore "
            "(accessibleDatastores is empty): there is nowhere to write the VM.",
            "Give the appliance's ESXi host read/write access to a VMFS or vSAN datastore, "
            "wait for the appliance's discovery, or pass `appliance=` another one.", _vms(none)))
    by_name: dict[str, list[RcmItem]] = {}
    for item in pending:
        choice = chosen.get(item.item.friendly_name)
        if choice is not None:
            by_name.setdefault(choice.name, []).append(item)
    for name, items in by_name.items():
        if not appliance.can_reach(name):
            results.append(CheckResult(
                "appliance-datastore", Verdict.BLOCK,
                f"Datastore {code(name)} is not one replication appliance `{appliance.name}` "
                f"can reach ({_names(appliance.accessible_datastores)}). "
                + did_you_mean(name, appliance.accessible_datastores),
                "Pass `datastore=` one the appliance reaches, or give its ESXi host read/write "
                "access to this one.", _vms(items)))
    stranded = [i for i in pending if i.vm_deleted is False and i.discovered_datastores
                and not any(appliance.can_reach(d) for d in i.discovered_datastores)]
    if stranded:
        results.append(CheckResult(
            "appliance-datastore", Verdict.BLOCK,
            f"Original location: the VM still exists on premises, but replication appliance "
            f"`{appliance.name}` cannot reach its datastore "
            f"{_names([d for i in stranded for d in i.discovered_datastores])}.",
            "Pass `appliance=` an appliance that reaches the VM's datastore, or give this "
            "appliance's ESXi host read/write access to it.", _vms(stranded)))
    elsewhere = [i for i in pending if i not in stranded and i.vm_deleted is False
                 and f.datastore_wanted is not None and i.discovered_datastores
                 and (c := chosen.get(i.item.friendly_name)) is not None
                 and c.name not in i.discovered_datastores]
    if elsewhere:
        results.append(CheckResult(
            "appliance-datastore", Verdict.WARN,
            "Original location: the VM still exists on premises on another datastore than "
            f"`datastore={f.datastore_wanted}`; Site Recovery selects the VM's own datastore "
            "for original location, so this value may be ignored.",
            "Leave `datastore=` out to send each VM's own datastore.", _vms(elsewhere)))
    return (results or passed("appliance-datastore", f"Replication appliance "
                                                     f"`{appliance.name}` reaches "
                              + _names(list(by_name)) + ".")) \
        + _datastores_in_vcenter(f, appliance, by_name)


def _datastores_in_vcenter(f: ModernizedFacts, appliance: Appliance,
                           by_name: dict[str, list[RcmItem]]) -> list[CheckResult]:
    inv = f.vcenter
    if not by_name:
        return []
    if inv is None or inv.master_target is None:
        return [CheckResult(
            "appliance-datastore", Verdict.WARN,
            f"Appliance VM `{appliance.name}` was not read in vCenter, so the read/write mount "
            f"of {_names(list(by_name))} on its ESXi host and their type (VMFS or vSAN) were not "
            "checked.",
            "Check in vCenter (the appliance VM's host → Datastores) that they are mounted "
            "read/write; with VCENTER_URL set the bot checks it, and the vCenter results say "
            "why it could not.")]
    host = inv.host(inv.master_target.host)
    results = []
    for name, items in by_name.items():
        ds = inv.datastore(name)
        if ds is None or host is None:
            results.append(CheckResult(
                "appliance-datastore", Verdict.WARN,
                f"Datastore `{name}` or the appliance's host is not in vCenter under that name, "
                "so its read/write mount was not checked.",
                "Check in vCenter that the appliance's host mounts it read/write.", _vms(items)))
            continue
        mount = host.mount(ds.moref)
        if ds.accessible is False or mount is None or mount.access_mode != READ_WRITE \
                or mount.accessible is False:
            state = "inaccessible" if ds.accessible is False or (
                mount is not None and mount.accessible is False) else (
                "not mounted" if mount is None else f"mounted {mount.access_mode or 'unknown'}")
            results.append(CheckResult(
                "appliance-datastore", Verdict.BLOCK,
                f"Datastore `{name}` is {state} on appliance host `{host.name}`: the appliance "
                "needs read and write access.",
                "Mount the datastore read/write on the appliance's ESXi host, or pass "
                "`datastore=` one that is.", _vms(items)))
        if not ds.failback_supported:
            results.append(CheckResult(
                "appliance-datastore", Verdict.WARN,
                f"vCenter reports datastore `{name}` as {ds.type or 'of unknown type'}: classic "
                "failback takes VMFS or vSAN only (NFS is not supported); Microsoft does not "
                "say whether the appliance does.",
                "Prefer a VMFS or vSAN datastore with `datastore=`.", _vms(items)))
    return results


def appliance_disks(f: ModernizedFacts) -> list[CheckResult]:
    appliance = f.appliance
    if appliance is None:
        return []
    plan = sum(i.disk_count for i in _pending(f))
    held = f.failback_disks or 0
    if plan + held > MAX_APPLIANCE_DISKS:
        return [CheckResult(
            "appliance-disks", Verdict.BLOCK,
            f"Replication appliance `{appliance.name}` would hold {plan + held} disks ({plan} "
            f"from this plan, {held} already failing back through it): at most "
            f"{MAX_APPLIANCE_DISKS} are supported.",
            "Reprotect fewer VMs at once (`vm=`), or pass `appliance=` a separate appliance for "
            "failback.")]
    if f.failback_disks is None and appliance.protected_item_count:
        return [CheckResult(
            "appliance-disks", Verdict.WARN,
            f"This plan brings {plan} disks to replication appliance `{appliance.name}`, which "
            f"already protects {appliance.protected_item_count} item(s) whose disks were not "
            f"counted: at most {MAX_APPLIANCE_DISKS} are supported.",
            "Check the appliance's protected items in the vault; if the total passes "
            f"{MAX_APPLIANCE_DISKS} disks, use a separate appliance for failback.")]
    return passed("appliance-disks", f"Replication appliance `{appliance.name}`: {plan + held} "
                                     f"of {MAX_APPLIANCE_DISKS} disks.")


def appliance_vm(f: ModernizedFacts) -> list[CheckResult]:
    """The appliance VM in vCenter; Storage vMotion of it is not supported after reprotect."""
    appliance, inv = f.appliance, f.vcenter
    if appliance is None or inv is None:
        return []
    vm = inv.master_target
    if vm is None:
        found = ("matches several vCenter VMs: " + _names([v.name for v in
                                                           inv.master_target_candidates])
                 if inv.master_target_ambiguous else "is not in vCenter by VM name, host name "
                 "or IP address")
        return [CheckResult(
            "appliance-vm", Verdict.WARN,
            f"Replication appliance `{appliance.name}` {found}, so its datastore mounts and "
            "Storage vMotions were not checked.",
            "Check the appliance VM in vCenter by hand, or name the appliance VM as Site "
            "Recovery names the appliance.")]
    moves = inv.master_target_storage_vmotions
    if moves is None:
        return [CheckResult(
            "appliance-vm", Verdict.WARN,
            f"Could not read vCenter's events of appliance VM `{vm.name}` ("
            + "; ".join(inv.unreadable) + "), so a Storage vMotion of it was not ruled out.",
            "Check in vCenter (appliance VM → Monitor → Events) that it is not migrated to "
            "another datastore, or let VCENTER_USER read its events.")]
    if moves:
        return [CheckResult(
            "appliance-vm", Verdict.WARN,
            f"Appliance VM `{vm.name}` was moved by Storage vMotion "
            + "; ".join(f"on {utc(m.when):%Y-%m-%d %H:%M} UTC from `{m.source_datastore}` to "
                        f"`{m.target_datastore}`" for m in moves)
            + f". Storage vMotion of the appliance is not supported after reprotect ({OVERVIEW}): "
            "a move after the failback started breaks it.",
            "Exclude the appliance VM from Storage vMotion and Storage DRS before approving; if "
            "it already serves failback, check those VMs' replication health in the vault.")]
    return passed("appliance-vm", f"Appliance VM `{vm.name}` has no Storage vMotion in "
                                  "vCenter's events; keep it out of Storage vMotion and Storage "
                                  "DRS after reprotect.")


# -- Site Recovery settings -----------------------------------------------------------------


def failback_policy(f: ModernizedFacts) -> list[CheckResult]:
    """`policyId` is optional and whether the service creates the failback policy itself is
    not established (modernized.md §5), so a missing one warns."""
    policy = f.policy
    if policy is None:
        return [CheckResult(
            "failback-policy-rcm", Verdict.WARN,
            "No failback policy (InMageRcmFailback) is mapped from the appliance fabric's "
            "container: the reprotect goes without policyId, and Microsoft does not document "
            "whether Site Recovery then creates one or refuses.",
            "Azure PowerShell reprotects with an existing failback mapping: create the "
            "replication policy (its failback policy comes with it) and associate it with the "
            "appliance's container, then run `/reprotect` again.")]
    if policy.mapping_state and not known(policy.mapping_state, MAPPING_PAIRED):
        return [unseen("failback-policy-rcm", f"The state of failback mapping "
                       f"`{policy.mapping_name}`", policy.mapping_state, MAPPING_PAIRED,
                       "in the vault, Site Recovery infrastructure → Replication policies → "
                       f"`{policy.name}` shows the appliance's container associated.")]
    return passed("failback-policy-rcm", f"Failback policy `{policy.name}` is mapped "
                                         f"(`{policy.mapping_name}`).")


def log_storage(f: ModernizedFacts) -> list[CheckResult]:
    pending = _pending(f)
    if not pending:
        return []
    results = []
    chosen = {c.vm_name: c.log_storage for c in f.choices}
    missing = [i for i in pending if chosen.get(i.item.friendly_name) is None]
    accounts = sorted({account_name(a) for i in f.items for a in i.log_storage_account_ids})
    if missing and f.logstorage_wanted is not None:
        results.append(CheckResult(
            "log-storage", Verdict.BLOCK,
            f"`logstorage={f.logstorage_wanted}` is neither a storage account's ARM id nor a log "
            f"storage account of the plan's disks ({_names(accounts)}). "
            + did_you_mean(f.logstorage_wanted, accounts),
            "Pass `logstorage=` the ARM id (/subscriptions/…/providers/Microsoft.Storage/"
            "storageAccounts/<name>) of a storage account in the VMs' Azure region, or one of "
            "the names above.", _vms(missing)))
    elif missing:
        results.append(CheckResult(
            "log-storage", Verdict.BLOCK,
            "Site Recovery lists no log storage account on the VM's disks, and the bot does "
            "not create one.",
            "Pass `logstorage=` the ARM id of a storage account in the VM's Azure region (the "
            "portal creates one for a first reprotect).", _vms(missing)))
    mixed = [i for i in pending if len(i.log_storage_account_ids) > 1
             and f.logstorage_wanted is None]
    if mixed:
        results.append(CheckResult(
            "log-storage", Verdict.WARN,
            "The VM's disks use several log storage accounts ("
            + _names([account_name(a) for i in mixed for a in i.log_storage_account_ids])
            + "); the bot sends the one most of them use.",
            "Pass `logstorage=` to choose another.", _vms(mixed)))
    given = f.logstorage_wanted
    if given and STORAGE_ACCOUNT_ID.fullmatch(given) and account_name(given).lower() not in {
            a.lower() for a in accounts}:
        results.append(CheckResult(
            "log-storage", Verdict.WARN,
            f"`{account_name(given)}` is not the log storage account of the forward "
            "replication; it must be in the VMs' Azure region, which the bot does not check.",
            "Check the storage account's region in the Azure portal."))
    return results or passed("log-storage", "Log storage: " + _names(
        [c.name for c in chosen.values() if c is not None]) + ".")


def appliance_network(_: ModernizedFacts) -> list[CheckResult]:
    """What the bot cannot see: the approver ticks them."""
    return [CheckResult("appliance-network", Verdict.MANUAL,
                        "The replication appliance reaches Azure as for forward protection",
                        "Failback needs no other connection or port (failover-failback-"
                        "overview-modernized.md): the appliance's outbound 443 to the Site "
                        "Recovery and storage URLs of the modernized architecture."),
            CheckResult("appliance-network", Verdict.MANUAL,
                        "The failed-over Azure VMs are running, with their mobility agent "
                        "services started",
                        "The agent must reach the modernized architecture's URLs from the "
                        "Azure network (vmware-azure-tutorial-failover-failback-modernized.md).")]


CHECKS: tuple[Check, ...] = (
    architecture, appliance_known, appliance_healthy, reprotect_allowed, agent_registered,
    appliance_datastore, appliance_disks, appliance_vm, failback_location, failback_policy,
    log_storage, appliance_network,
)


def run_checks(facts: ModernizedFacts, checks: Sequence[Check] = CHECKS
               ) -> tuple[CheckResult, ...]:
    return tuple(result for check in checks for result in check(facts))
