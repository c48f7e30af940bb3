"""Preflight checks of a modernized plan's failback target: the replication appliance (known,
healthy, its disks, its VM in vCenter), the datastore it writes to, the failback policy, the
log storage account and the network path the bot cannot see. Registered with the plan's own
checks in `providers.modernized.checks`, under the same rule: a blocker is a certainty.
"""

from __future__ import annotations

from datetime import datetime

from core.mrkdwn import code
from core.plan import CheckResult, Verdict, passed
from gateways.rcm_models import Appliance, ApplianceComponent, RcmItem
from gateways.site_recovery_models import HealthIssue
from gateways.timestamps import utc
from providers.checks import HEALTH_BAD, HEALTH_GOOD, ago, known, stale, unseen
from providers.modernized.choices import STORAGE_ACCOUNT_ID, account_name
from providers.modernized.facts import ModernizedFacts, names, pending_items, vm_names
from providers.names import did_you_mean

OVERVIEW = "failover-failback-overview-modernized.md"
MAX_APPLIANCE_DISKS = 60
COMPONENT_STATUS_GOOD = ("Healthy",)  # SDK enum RcmComponentStatus
COMPONENT_STATUS_BAD = ("Warning", "Critical")
COMPONENT_STATUS_ALL = (*COMPONENT_STATUS_GOOD, *COMPONENT_STATUS_BAD, "Unknown")
MAPPING_PAIRED = ("Paired",)
READ_WRITE = "readWrite"


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
        registered = [a.name for a in f.fabric.appliances]
        return [CheckResult(
            "appliance-known", Verdict.BLOCK,
            f"Replication appliance {code(f.appliance_wanted)} is not registered in the vault. "
            f"Registered: {names(registered)}. " + did_you_mean(f.appliance_wanted, registered),
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
            problems.append(f"{kind} last heartbeat {ago(f.now, heartbeat)}")
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
    appliance, pending = f.appliance, pending_items(f)
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
            "wait for the appliance's discovery, or pass `appliance=` another one.",
            vm_names(none)))
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
                f"can reach ({names(appliance.accessible_datastores)}). "
                + did_you_mean(name, appliance.accessible_datastores),
                "Pass `datastore=` one the appliance reaches, or give its ESXi host read/write "
                "access to this one.", vm_names(items)))
    stranded = [i for i in pending if i.vm_deleted is False and i.discovered_datastores
                and not any(appliance.can_reach(d) for d in i.discovered_datastores)]
    if stranded:
        results.append(CheckResult(
            "appliance-datastore", Verdict.BLOCK,
            f"Original location: the VM still exists on premises, but replication appliance "
            f"`{appliance.name}` cannot reach its datastore "
            f"{names([d for i in stranded for d in i.discovered_datastores])}.",
            "Pass `appliance=` an appliance that reaches the VM's datastore, or give this "
            "appliance's ESXi host read/write access to it.", vm_names(stranded)))
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
            "Leave `datastore=` out to send each VM's own datastore.", vm_names(elsewhere)))
    return (results or passed("appliance-datastore", f"Replication appliance "
                                                     f"`{appliance.name}` reaches "
                              + names(list(by_name)) + ".")) \
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
            f"of {names(list(by_name))} on its ESXi host and their type (VMFS or vSAN) were not "
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
                "Check in vCenter that the appliance's host mounts it read/write.",
                vm_names(items)))
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
                "`datastore=` one that is.", vm_names(items)))
        if not ds.failback_supported:
            results.append(CheckResult(
                "appliance-datastore", Verdict.WARN,
                f"vCenter reports datastore `{name}` as {ds.type or 'of unknown type'}: classic "
                "failback takes VMFS or vSAN only (NFS is not supported); Microsoft does not "
                "say whether the appliance does.",
                "Prefer a VMFS or vSAN datastore with `datastore=`.", vm_names(items)))
    return results


def appliance_disks(f: ModernizedFacts) -> list[CheckResult]:
    appliance = f.appliance
    if appliance is None:
        return []
    plan = sum(i.disk_count for i in pending_items(f))
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
        found = ("matches several vCenter VMs: " + names([v.name for v in
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
    pending = pending_items(f)
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
            f"storage account of the plan's disks ({names(accounts)}). "
            + did_you_mean(f.logstorage_wanted, accounts),
            "Pass `logstorage=` the ARM id (/subscriptions/…/providers/Microsoft.Storage/"
            "storageAccounts/<name>) of a storage account in the VMs' Azure region, or one of "
            "the names above.", vm_names(missing)))
    elif missing:
        results.append(CheckResult(
            "log-storage", Verdict.BLOCK,
            "Site Recovery lists no log storage account on the VM's disks, and the bot does "
            "not create one.",
            "Pass `logstorage=` the ARM id of a storage account in the VM's Azure region (the "
            "portal creates one for a first reprotect).", vm_names(missing)))
    mixed = [i for i in pending if len(i.log_storage_account_ids) > 1
             and f.logstorage_wanted is None]
    if mixed:
        results.append(CheckResult(
            "log-storage", Verdict.WARN,
            "The VM's disks use several log storage accounts ("
            + names([account_name(a) for i in mixed for a in i.log_storage_account_ids])
            + "); the bot sends the one most of them use.",
            "Pass `logstorage=` to choose another.", vm_names(mixed)))
    given = f.logstorage_wanted
    if given and STORAGE_ACCOUNT_ID.fullmatch(given) and account_name(given).lower() not in {
            a.lower() for a in accounts}:
        results.append(CheckResult(
            "log-storage", Verdict.WARN,
            f"`{account_name(given)}` is not the log storage account of the forward "
            "replication; it must be in the VMs' Azure region, which the bot does not check.",
            "Check the storage account's region in the Azure portal."))
    return results or passed("log-storage", "Log storage: " + names(
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
