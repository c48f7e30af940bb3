"""Preflight checks about vCenter: what Site Recovery knows of it, and what it shows itself.

vCenter is read once per preflight (`VCenterReading`); every check here reads that value and
Site Recovery's facts and returns results, like the checks in `providers.classic.preflight`. When
the bot has no vCenter (VCENTER_URL unset) one `vcenter-connected` warning says which checks did
not run. When it has one but could not check (no answer, login or read refused, the master
target not found in it), each check it could not run becomes a manual item an approver
confirms in vCenter, with the reason: Site Recovery reaches vCenter on its own, so the bot
not seeing it proves nothing wrong. Only what vCenter answered blocks.
"""

from __future__ import annotations

from core.plan import CheckResult, Value, Verdict, passed
from gateways.site_recovery_models import DiscoveredVCenter
from gateways.vcenter_absent import VCenterNotConfigured
from gateways.vcenter_models import (
    DATASTORE_WRITE_PRIVILEGES,
    VCenterInventory,
    VmInfo,
)
from providers.checks import avs_candidates, known, norm_uuid, storage_vmotions, unseen
from providers.classic.facts import Facts, avs_vms, master_vm
from providers.classic.vcenter_host_checks import (
    avs_vm_off,
    datastore_mounted,
    datastore_type_vcenter,
    esxi_supported,
)

MAX_MT_DISKS = 60
TOOLS_RUNNING = "guestToolsRunning"
DISCOVERY_CONNECTED = ("Connected",)
# What an approver confirms in vCenter when the bot could not check it (words: bot/views).
BY_HAND = ("mt-no-snapshots", "uuid-unique", "mt-vm-settings", "esxi-supported",
           "vcenter-permissions", "datastore-ok")


# -- connection and discovery ---------------------------------------------------------------


def _relevant_vcenters(f: Facts) -> tuple[DiscoveredVCenter, ...]:
    """Site Recovery's vCenters the plan's VMs came from, else every one on the fabric."""
    used = {i.vcenter_infrastructure_id.lower() for i in f.items if i.vcenter_infrastructure_id}
    return tuple(v for v in f.vcenters if v.infrastructure_id.lower() in used) or f.vcenters


def vcenter_connected(f: Facts) -> list[CheckResult]:
    results: list[CheckResult] = []
    for vc in _relevant_vcenters(f):
        if vc.discovery_status and not known(vc.discovery_status, DISCOVERY_CONNECTED):
            results.append(unseen("vcenter-connected", "discovery-unseen",
                                  {"name": vc.name, "ip": vc.ip_address}, vc.discovery_status,
                                  DISCOVERY_CONNECTED))
        problems = tuple(f"{e.code} {e.message}".strip() for e in vc.health_errors)
        if problems:
            results.append(CheckResult("vcenter-connected", Verdict.BLOCK, "discovery-errors",
                                       {"name": vc.name, "ip": vc.ip_address,
                                        "problems": problems}))
    reading, error = f.vcenter, f.vcenter.error
    if isinstance(error, VCenterNotConfigured):  # a warning: vCenter is optional
        results.append(CheckResult("vcenter-connected", Verdict.WARN, "not-configured",
                                   {"what": error.what, "fix": error.fix}))
        return results
    if reading.insecure:
        results.append(CheckResult("vcenter-connected", Verdict.WARN, "insecure",
                                   {"host": reading.host}))
    if error is not None:
        reason: dict[str, Value] = {"what": error.what, "why": error.why, "fix": error.fix}
        results.append(CheckResult("vcenter-connected", Verdict.WARN,
                                   "unread" if error.fix else "unread-no-fix", reason))
        results += by_hand("unread", reason)
    elif reading.inventory is not None:
        about = reading.inventory.about
        results += passed("vcenter-connected", "ok",
                          {"host": reading.host, "product": about.full_name})
    return results


def by_hand(cause: str, values: dict[str, Value]) -> list[CheckResult]:
    """The checks the bot could not run (`cause`: vCenter `unread`, or the master target
    `mt-missing` from it), as items an approver confirms in vCenter, with the reason; each
    needs the master target VM, so both causes leave all of them."""
    return [CheckResult(check, Verdict.MANUAL, f"by-hand-{cause}", values) for check in BY_HAND]


def target_vcenter_discovered(f: Facts) -> list[CheckResult]:
    if not f.vcenters:  # a warning: the tutorial requires it for another vCenter only
        return [CheckResult("target-vcenter-discovered", Verdict.WARN, "none")]
    known = tuple((v.name, v.ip_address) for v in f.vcenters)
    if not f.vcenter.configured:
        return passed("target-vcenter-discovered", "discovered", {"known": known})
    host = f.vcenter.host.casefold()
    match = next((v for v in f.vcenters if host in (v.ip_address.casefold(), v.name.casefold())
                  or host.split(".", 1)[0] == v.name.casefold().split(".", 1)[0]), None)
    if match is None:
        return [CheckResult("target-vcenter-discovered", Verdict.WARN, "not-ours",
                            {"host": f.vcenter.host, "known": known})]
    return passed("target-vcenter-discovered", "ok", {"host": f.vcenter.host, "as": match.name})


def vcenter_permissions(f: Facts) -> list[CheckResult]:
    inv = f.vcenter.inventory
    mt_vm = master_vm(f)
    if inv is None or mt_vm is None:
        return []
    if inv.privileges is None:
        return [CheckResult("vcenter-permissions", Verdict.WARN, "unreadable",
                            {"unreadable": inv.unreadable})]
    host = inv.host(mt_vm.host)
    mounted = {m.datastore for m in host.mounts} if host else set(mt_vm.datastores)
    missing = [m for m in inv.privileges.missing
               if m.entity in mounted or m.entity == mt_vm.moref]
    if missing:
        return [CheckResult("vcenter-permissions", Verdict.BLOCK, "missing",
                            {"missing": tuple((m.privilege, m.entity_name) for m in missing),
                             "privileges": ", ".join(DATASTORE_WRITE_PRIVILEGES)})]
    return passed("vcenter-permissions")


# -- the master target VM -------------------------------------------------------------------


def mt_no_snapshots(f: Facts) -> list[CheckResult]:
    mt_vm = master_vm(f)
    if mt_vm is None:
        return []
    if mt_vm.snapshot_count:
        return [CheckResult("mt-no-snapshots", Verdict.BLOCK, "snapshots",
                            {"name": mt_vm.name, "count": mt_vm.snapshot_count})]
    return passed("mt-no-snapshots", "ok", {"name": mt_vm.name})


def uuid_unique(f: Facts) -> list[CheckResult]:
    inv = f.vcenter.inventory
    if inv is None or f.master_target is None:
        return []
    results: list[CheckResult] = []
    if inv.master_target_ambiguous:
        results.append(CheckResult(
            "uuid-unique", Verdict.BLOCK, "ambiguous-mt",
            {"name": f.master_target.name,
             "candidates": tuple(vm.name for vm in inv.master_target_candidates)}))
    mt_vm = inv.master_target
    clash, twins = [], []
    for item in f.items:
        found = avs_candidates(inv, item)
        if mt_vm is not None and any(vm.moref == mt_vm.moref or _shares_uuid(vm, mt_vm)
                                     for vm in found):
            clash.append(item.friendly_name)
        elif len(found) > 1:
            twins.append(item.friendly_name)
    if clash and mt_vm is not None:
        results.append(CheckResult("uuid-unique", Verdict.BLOCK, "clash", {"name": mt_vm.name},
                                   tuple(clash)))
    if twins:
        results.append(CheckResult("uuid-unique", Verdict.BLOCK, "twins", {}, tuple(twins)))
    if mt_vm is None and not results:
        return []  # the master target VM was not found: an approver confirms it by hand
    return results or passed("uuid-unique")


def _shares_uuid(vm: VmInfo, other: VmInfo) -> bool:
    same_bios = bool(vm.bios_uuid) and norm_uuid(vm.bios_uuid) == norm_uuid(other.bios_uuid)
    return same_bios or bool({norm_uuid(u) for u in vm.disk_uuids}
                             & {norm_uuid(u) for u in other.disk_uuids})


def mt_vm_settings(f: Facts) -> list[CheckResult]:
    """VMware Tools, disk.EnableUUID, SCSI controller, the 60-disk ceiling, Storage vMotion."""
    inv = f.vcenter.inventory
    mt = f.master_target
    if mt is None:
        return []
    if inv is None:
        return _disk_budget(mt.name, mt.disk_count or 0, 0)
    mt_vm = inv.master_target
    if mt_vm is None:
        if inv.master_target_ambiguous:
            return []
        missing: dict[str, Value] = {"name": mt.name, "host": f.vcenter.host,
                                     "ip": mt.ip_address}
        return [CheckResult("mt-vm-settings", Verdict.WARN, "not-found", missing),
                *by_hand("mt-missing", missing)]
    results = []
    if mt_vm.tools_running_status != TOOLS_RUNNING:
        results.append(CheckResult("mt-vm-settings", Verdict.BLOCK, "no-tools",
                                   {"name": mt_vm.name, "status": mt_vm.tools_running_status}))
    if mt_vm.disk_enable_uuid is not True:
        results.append(CheckResult("mt-vm-settings", Verdict.BLOCK, "no-disk-uuid",
                                   {"name": mt_vm.name}))
    if "pvscsi" in mt_vm.scsi_controllers:
        results.append(CheckResult("mt-vm-settings", Verdict.BLOCK, "pvscsi",
                                   {"name": mt_vm.name}))
    results += _storage_vmotions(mt_vm, inv)
    plan_disks = sum(vm.disk_count for _, vm in avs_vms(f))
    results += _disk_budget(mt_vm.name, mt_vm.disk_count, plan_disks)
    return results or passed("mt-vm-settings", "ok", {
        "name": mt_vm.name, "disks": mt_vm.disk_count + plan_disks, "most": MAX_MT_DISKS})


def _storage_vmotions(mt_vm: VmInfo, inv: VCenterInventory) -> list[CheckResult]:
    """A moved master target's disk paths no longer match what the configuration server
    knows, so failback cannot attach the disks."""
    moves = inv.master_target_storage_vmotions
    if moves is None:
        return [CheckResult("mt-vm-settings", Verdict.WARN, "events-unread",
                            {"name": mt_vm.name, "unreadable": inv.unreadable})]
    if not moves:
        return []
    return [CheckResult("mt-vm-settings", Verdict.BLOCK, "storage-vmotion",
                        {"name": mt_vm.name, "moves": storage_vmotions(moves),
                         "back_to": moves[0].source_datastore})]


def _disk_budget(name: str, attached: int, plan_disks: int) -> list[CheckResult]:
    if attached + plan_disks <= MAX_MT_DISKS:
        return []
    return [CheckResult("mt-vm-settings", Verdict.BLOCK, "too-many-disks",
                        {"name": name, "disks": attached + plan_disks, "attached": attached,
                         "plan": plan_disks, "most": MAX_MT_DISKS})]


VCENTER_CHECKS = (
    vcenter_connected, target_vcenter_discovered, vcenter_permissions, mt_no_snapshots,
    uuid_unique, mt_vm_settings, esxi_supported, datastore_mounted, datastore_type_vcenter,
    avs_vm_off,
)
