"""Preflight checks of a modernized plan's failback target: the replication appliance (known,
healthy, its disks, its VM in vCenter), the datastore it writes to, the failback policy, the
log storage account and the network path the bot cannot see. Registered with the plan's own
checks in `providers.modernized.checks`, under the same rule: a blocker is a certainty.
"""

from __future__ import annotations

from datetime import datetime

from core.plan import CheckResult, Value, Verdict, passed
from gateways.rcm_models import Appliance, RcmItem
from gateways.site_recovery_models import HealthIssue
from providers.checks import (
    HEALTH_BAD,
    HEALTH_GOOD,
    age_minutes,
    known,
    stale,
    storage_vmotions,
    unseen,
)
from providers.modernized.choices import STORAGE_ACCOUNT_ID, account_name
from providers.modernized.facts import ModernizedFacts, pending_items, vm_names
from providers.names import suggest

OVERVIEW = "failover-failback-overview-modernized.md"
MAX_APPLIANCE_DISKS = 60
REPROTECT_AGENT = "reprotectAgent"  # the appliance's own service, beside its components' kinds
COMPONENT_STATUS_GOOD = ("Healthy",)  # SDK enum RcmComponentStatus
COMPONENT_STATUS_BAD = ("Warning", "Critical")
COMPONENT_STATUS_ALL = (*COMPONENT_STATUS_GOOD, *COMPONENT_STATUS_BAD, "Unknown")
MAPPING_PAIRED = ("Paired",)
READ_WRITE = "readWrite"


# -- the appliance --------------------------------------------------------------------------


def appliance_known(f: ModernizedFacts) -> list[CheckResult]:
    if f.fabric is None:
        return [CheckResult("appliance-known", Verdict.BLOCK, "no-fabric")]
    if f.appliance is None:
        registered = tuple(a.name for a in f.fabric.appliances)
        return [CheckResult("appliance-known", Verdict.BLOCK, "unknown",
                            {"wanted": f.appliance_wanted, "registered": registered,
                             "suggest": suggest(f.appliance_wanted, registered)})]
    return passed("appliance-known", "ok", {"appliance": f.appliance.name})


def appliance_healthy(f: ModernizedFacts) -> list[CheckResult]:
    """The reprotect agent and the appliance's other services: health, heartbeat, errors."""
    appliance = f.appliance
    if appliance is None:
        return []
    parts: list[tuple[str, str, datetime | None, tuple[HealthIssue, ...]]] = [
        (REPROTECT_AGENT, appliance.health, appliance.last_heartbeat, appliance.health_errors)]
    parts += [(c.kind, c.health, c.last_heartbeat, c.health_errors)
              for c in appliance.components]
    problems: list[Value] = []
    results = []
    for kind, health, heartbeat, errors in parts:
        if known(health, HEALTH_BAD):
            problems.append((kind, "health", health))
        elif not known(health, HEALTH_GOOD):
            results.append(unseen("appliance-healthy", "health-unseen",
                                  {"appliance": appliance.name, "service": kind}, health,
                                  HEALTH_GOOD + HEALTH_BAD))
        if heartbeat is None:  # not reported is not a stopped service: shown, not blocked
            results.append(CheckResult("appliance-healthy", Verdict.WARN, "no-heartbeat",
                                       {"appliance": appliance.name, "service": kind}))
        elif stale(f.now, heartbeat):
            problems.append((kind, "heartbeat", age_minutes(f.now, heartbeat)))
        problems += [(kind, "error", f"{e.code} {e.message}".strip()) for e in errors]
    results += _loads(appliance)
    if problems:
        return [*results, CheckResult("appliance-healthy", Verdict.BLOCK, "unhealthy",
                                      {"appliance": appliance.name,
                                       "problems": tuple(problems)})]
    return results or passed("appliance-healthy", "ok", {
        "appliance": appliance.name, "services": len(appliance.components)})



def _loads(appliance: Appliance) -> list[CheckResult]:
    """The process server's load statuses (RcmComponentStatus): pressure warns, since heavy
    traffic calls for another appliance (a recommendation, not a prerequisite)."""
    results = []
    for component in appliance.components:
        for key, status in component.statuses:
            what: dict[str, Value] = {"appliance": appliance.name,
                                      "service": component.kind, "status_of": key}
            if known(status, COMPONENT_STATUS_BAD):
                results.append(CheckResult("appliance-healthy", Verdict.WARN, "load",
                                           what | {"status": status}))
            elif not known(status, COMPONENT_STATUS_ALL):
                results.append(unseen("appliance-healthy", "load-unseen", what, status,
                                      COMPONENT_STATUS_ALL))
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
        results.append(CheckResult("appliance-datastore", Verdict.BLOCK, "none",
                                   {"appliance": appliance.name}, vm_names(none)))
    by_name: dict[str, list[RcmItem]] = {}
    for item in pending:
        choice = chosen.get(item.item.friendly_name)
        if choice is not None:
            by_name.setdefault(choice.name, []).append(item)
    for name, items in by_name.items():
        if not appliance.can_reach(name):
            results.append(CheckResult(
                "appliance-datastore", Verdict.BLOCK, "unreachable",
                {"datastore": name, "appliance": appliance.name,
                 "reachable": tuple(appliance.accessible_datastores),
                 "suggest": suggest(name, appliance.accessible_datastores)}, vm_names(items)))
    stranded = [i for i in pending if i.vm_deleted is False and i.discovered_datastores
                and not any(appliance.can_reach(d) for d in i.discovered_datastores)]
    if stranded:
        results.append(CheckResult(
            "appliance-datastore", Verdict.BLOCK, "stranded",
            {"appliance": appliance.name,
             "datastores": tuple(d for i in stranded for d in i.discovered_datastores)},
            vm_names(stranded)))
    elsewhere = [i for i in pending if i not in stranded and i.vm_deleted is False
                 and f.datastore_wanted is not None and i.discovered_datastores
                 and (c := chosen.get(i.item.friendly_name)) is not None
                 and c.name not in i.discovered_datastores]
    if elsewhere:
        results.append(CheckResult("appliance-datastore", Verdict.WARN, "elsewhere",
                                   {"given": f"datastore={f.datastore_wanted}"},
                                   vm_names(elsewhere)))
    return (results or passed("appliance-datastore", "ok",
                              {"appliance": appliance.name, "datastores": tuple(by_name)})) \
        + _datastores_in_vcenter(f, appliance, by_name)


def _datastores_in_vcenter(f: ModernizedFacts, appliance: Appliance,
                           by_name: dict[str, list[RcmItem]]) -> list[CheckResult]:
    inv = f.vcenter
    if not by_name:
        return []
    if inv is None or inv.master_target is None:
        return [CheckResult("appliance-datastore", Verdict.WARN, "not-in-vcenter",
                            {"appliance": appliance.name, "datastores": tuple(by_name)})]
    host = inv.host(inv.master_target.host)
    results = []
    for name, items in by_name.items():
        ds = inv.datastore(name)
        if ds is None or host is None:
            results.append(CheckResult("appliance-datastore", Verdict.WARN, "unseen-in-vcenter",
                                       {"datastore": name}, vm_names(items)))
            continue
        mount = host.mount(ds.moref)
        if ds.accessible is False or mount is None or mount.access_mode != READ_WRITE \
                or mount.accessible is False:
            state = "inaccessible" if ds.accessible is False or (
                mount is not None and mount.accessible is False) else (
                "not mounted" if mount is None else f"mounted {mount.access_mode or 'unknown'}")
            results.append(CheckResult("appliance-datastore", Verdict.BLOCK, "not-writable",
                                       {"datastore": name, "state": state, "host": host.name},
                                       vm_names(items)))
        if not ds.failback_supported:
            results.append(CheckResult("appliance-datastore", Verdict.WARN, "vcenter-type",
                                       {"datastore": name, "type": ds.type}, vm_names(items)))
    return results


def appliance_disks(f: ModernizedFacts) -> list[CheckResult]:
    appliance = f.appliance
    if appliance is None:
        return []
    plan = sum(i.disk_count for i in pending_items(f))
    held = f.failback_disks or 0
    if plan + held > MAX_APPLIANCE_DISKS:
        return [CheckResult("appliance-disks", Verdict.BLOCK, "too-many",
                            {"appliance": appliance.name, "disks": plan + held, "plan": plan,
                             "held": held, "most": MAX_APPLIANCE_DISKS})]
    if f.failback_disks is None and appliance.protected_item_count:
        return [CheckResult("appliance-disks", Verdict.WARN, "held-unknown",
                            {"plan": plan, "appliance": appliance.name,
                             "items": appliance.protected_item_count,
                             "most": MAX_APPLIANCE_DISKS})]
    return passed("appliance-disks", "ok", {"appliance": appliance.name, "disks": plan + held,
                                            "most": MAX_APPLIANCE_DISKS})


def appliance_vm(f: ModernizedFacts) -> list[CheckResult]:
    """The appliance VM in vCenter; Storage vMotion of it is not supported after reprotect."""
    appliance, inv = f.appliance, f.vcenter
    if appliance is None or inv is None:
        return []
    vm = inv.master_target
    if vm is None:
        candidates = tuple(v.name for v in inv.master_target_candidates)
        return [CheckResult("appliance-vm", Verdict.WARN,
                            "ambiguous" if inv.master_target_ambiguous else "not-found",
                            {"appliance": appliance.name, "candidates": candidates})]
    moves = inv.master_target_storage_vmotions
    if moves is None:
        return [CheckResult("appliance-vm", Verdict.WARN, "events-unread",
                            {"name": vm.name, "unreadable": inv.unreadable})]
    if moves:
        return [CheckResult("appliance-vm", Verdict.WARN, "storage-vmotion",
                            {"name": vm.name, "moves": storage_vmotions(moves)})]
    return passed("appliance-vm", "ok", {"name": vm.name})


# -- Site Recovery settings -----------------------------------------------------------------


def failback_policy(f: ModernizedFacts) -> list[CheckResult]:
    """`policyId` is optional and whether the service creates the failback policy itself is
    not established (modernized.md §5), so a missing one warns."""
    policy = f.policy
    if policy is None:
        return [CheckResult("failback-policy-rcm", Verdict.WARN, "none")]
    if policy.mapping_state and not known(policy.mapping_state, MAPPING_PAIRED):
        return [unseen("failback-policy-rcm", "mapping-unseen",
                       {"mapping": policy.mapping_name, "policy": policy.name},
                       policy.mapping_state, MAPPING_PAIRED)]
    return passed("failback-policy-rcm", "ok",
                  {"policy": policy.name, "mapping": policy.mapping_name})


def log_storage(f: ModernizedFacts) -> list[CheckResult]:
    pending = pending_items(f)
    if not pending:
        return []
    results = []
    chosen = {c.vm_name: c.log_storage for c in f.choices}
    missing = [i for i in pending if chosen.get(i.item.friendly_name) is None]
    accounts = sorted({account_name(a) for i in f.items for a in i.log_storage_account_ids})
    if missing and f.logstorage_wanted is not None:
        results.append(CheckResult("log-storage", Verdict.BLOCK, "unknown",
                                   {"given": f"logstorage={f.logstorage_wanted}",
                                    "accounts": tuple(accounts),
                                    "suggest": suggest(f.logstorage_wanted, accounts)},
                                   vm_names(missing)))
    elif missing:
        results.append(CheckResult("log-storage", Verdict.BLOCK, "none", {}, vm_names(missing)))
    mixed = [i for i in pending if len(i.log_storage_account_ids) > 1
             and f.logstorage_wanted is None]
    if mixed:
        results.append(CheckResult(
            "log-storage", Verdict.WARN, "several",
            {"accounts": tuple(account_name(a) for i in mixed for a in i.log_storage_account_ids)},
            vm_names(mixed)))
    given = f.logstorage_wanted
    if given and STORAGE_ACCOUNT_ID.fullmatch(given) and account_name(given).lower() not in {
            a.lower() for a in accounts}:
        results.append(CheckResult("log-storage", Verdict.WARN, "not-forward",
                                   {"account": account_name(given)}))
    return results or passed("log-storage", "ok", {
        "accounts": tuple(c.name for c in chosen.values() if c is not None)})


def appliance_network(_: ModernizedFacts) -> list[CheckResult]:
    """What the bot cannot see: the approver ticks them."""
    return [CheckResult("appliance-network", Verdict.MANUAL, "reaches-azure"),
            CheckResult("appliance-network", Verdict.MANUAL, "azure-vm-reaches")]
