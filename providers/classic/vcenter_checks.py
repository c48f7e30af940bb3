"""Preflight checks about vCenter: what Site Recovery knows of it, and what it shows itself.

vCenter is read once per preflight (`VCenterReading`); every check here reads that value and
Site Recovery's facts and returns results, like the checks in `providers.classic.preflight`. When
the bot has no vCenter (VCENTER_URL unset) or could not read it, one `vcenter-connected` result
says which checks did not run, instead of every check repeating it.
"""

from __future__ import annotations

from core.plan import CheckResult, Verdict, passed
from gateways.errors import VCenterError, VCenterPermissionError
from gateways.site_recovery_models import DiscoveredVCenter
from gateways.timestamps import utc
from gateways.vcenter_absent import VCenterNotConfigured
from gateways.vcenter_models import (
    DATASTORE_WRITE_PRIVILEGES,
    VCenterInventory,
    VmInfo,
)
from providers.checks import avs_candidates, known, listed, norm_uuid, unseen
from providers.classic.facts import Facts, avs_vms, master_vm
from providers.classic.vcenter_host_checks import (
    avs_vm_off,
    datastore_mounted,
    datastore_type_vcenter,
    esxi_supported,
)

MAX_MT_DISKS = 60
TOOLS_RUNNING = "guestToolsRunning"
NOT_RUN = ("master target snapshots, UUID clashes, master target VM settings, ESXi versions, "
           "account privileges, datastore mounts and AVS power states")
DISCOVERY_CONNECTED = ("Connected",)


# -- connection and discovery ---------------------------------------------------------------


def _relevant_vcenters(f: Facts) -> tuple[DiscoveredVCenter, ...]:
    """Site Recovery's vCenters the plan's VMs came from, else every one on the fabric."""
    used = {i.vcenter_infrastructure_id.lower() for i in f.items if i.vcenter_infrastructure_id}
    return tuple(v for v in f.vcenters if v.infrastructure_id.lower() in used) or f.vcenters


def vcenter_connected(f: Facts) -> list[CheckResult]:
    results: list[CheckResult] = []
    for vc in _relevant_vcenters(f):
        if vc.discovery_status and not known(vc.discovery_status, DISCOVERY_CONNECTED):
            results.append(unseen(
                "vcenter-connected", f"Site Recovery's discovery status of vCenter `{vc.name}` "
                f"({vc.ip_address})", vc.discovery_status, DISCOVERY_CONNECTED,
                "in the vault, Site Recovery infrastructure → Configuration servers → the "
                "server → vCenter servers, the vCenter shows connected with a recent "
                "heartbeat and no error; refresh the server if it does not."))
        problems = [f"{e.code} {e.message}".strip() for e in vc.health_errors]
        if problems:
            results.append(CheckResult(
                "vcenter-connected", Verdict.BLOCK,
                f"Site Recovery's vCenter `{vc.name}` ({vc.ip_address}) is not connected: "
                + "; ".join(problems) + ". Without it the master target cannot detach and "
                "attach the disks.",
                "On the configuration server, check the vCenter's account and that port 443 "
                "to it is open, refresh the server in the vault, then run `/reprotect` again."))
    reading, error = f.vcenter, f.vcenter.error
    if isinstance(error, VCenterNotConfigured):  # a warning: vCenter is optional
        results.append(CheckResult("vcenter-connected", Verdict.WARN,
                                   f"{error.what}: {NOT_RUN} were not checked.", error.fix))
        return results
    if reading.insecure:
        results.append(CheckResult(
            "vcenter-connected", Verdict.WARN,
            f"vCenter `{reading.host}`'s certificate is not verified (VCENTER_INSECURE=1): "
            "anyone on the path could read the bot's vCenter password.",
            "Set VCENTER_CA_BUNDLE to the CA that signs vCenter's certificate and unset "
            "VCENTER_INSECURE."))
    if error is not None and not isinstance(error, VCenterPermissionError):
        results.append(_unread("vcenter-connected", error))
    elif reading.inventory is not None:
        about = reading.inventory.about
        results += passed("vcenter-connected",
                          f"Logged in to vCenter `{reading.host}` ({about.full_name}).")
    return results


def _unread(check: str, error: VCenterError) -> CheckResult:
    why = f" Why: {error.why}." if error.why else ""
    return CheckResult(check, Verdict.BLOCK,
                       f"{error.what}{why} So {NOT_RUN} could not be checked.",
                       error.fix or "Fix vCenter access, then run `/reprotect` again.")


def target_vcenter_discovered(f: Facts) -> list[CheckResult]:
    if not f.vcenters:  # a warning: the tutorial requires it for another vCenter only
        return [CheckResult(
            "target-vcenter-discovered", Verdict.WARN,
            "Site Recovery lists no vCenter discovered by this configuration server (or the "
            "list could not be read): failing back to another vCenter needs it and its master "
            "target server discovered.",
            "Add the private cloud's vCenter on the configuration server (Site Recovery "
            "infrastructure → Configuration servers → Add vCenter), wait for discovery, then "
            "run `/reprotect` again.")]
    known = ", ".join(f"`{v.name}` ({v.ip_address})" for v in f.vcenters)
    if not f.vcenter.configured:
        return passed("target-vcenter-discovered", f"Site Recovery has discovered {known}.")
    host = f.vcenter.host.casefold()
    match = next((v for v in f.vcenters if host in (v.ip_address.casefold(), v.name.casefold())
                  or host.split(".", 1)[0] == v.name.casefold().split(".", 1)[0]), None)
    if match is None:
        return [CheckResult(
            "target-vcenter-discovered", Verdict.WARN,
            f"The bot's vCenter `{f.vcenter.host}` is not among Site Recovery's discovered "
            f"vCenters ({known}) by name or IP.",
            "Make sure the vCenter you fail back to is discovered by the configuration server "
            "(same vCenter under another name is fine), or point VCENTER_URL at it.")]
    return passed("target-vcenter-discovered",
                  f"vCenter `{f.vcenter.host}` is discovered by Site Recovery as `{match.name}`.")


def vcenter_permissions(f: Facts) -> list[CheckResult]:
    if isinstance(f.vcenter.error, VCenterPermissionError):
        return [_unread("vcenter-permissions", f.vcenter.error)]
    inv = f.vcenter.inventory
    mt_vm = master_vm(f)
    if inv is None or mt_vm is None:
        return []
    if inv.privileges is None:
        return [CheckResult(
            "vcenter-permissions", Verdict.WARN,
            "Could not read the vCenter account's privileges ("
            + "; ".join(inv.unreadable) + ").",
            "Check by hand that Site Recovery's discovery account may allocate space on the "
            "master target's datastores and add and remove disks of the master target VM.")]
    host = inv.host(mt_vm.host)
    mounted = {m.datastore for m in host.mounts} if host else set(mt_vm.datastores)
    missing = [m for m in inv.privileges.missing
               if m.entity in mounted or m.entity == mt_vm.moref]
    if missing:
        return [CheckResult(
            "vcenter-permissions", Verdict.BLOCK,
            "The vCenter account lacks "
            + "; ".join(f"{m.privilege} on `{m.entity_name}`" for m in missing)
            + ". Read-only discovery passes failover but fails reprotect.",
            "Give the discovery account (and VCENTER_USER) a role with "
            + ", ".join(DATASTORE_WRITE_PRIVILEGES)
            + " and the VirtualMachine.Config disk privileges, propagated from the "
            "datacenter; then refresh the configuration server.")]
    return passed("vcenter-permissions",
                  "The vCenter account can write the master target's datastores and change "
                  "its disks.")


# -- the master target VM -------------------------------------------------------------------


def mt_no_snapshots(f: Facts) -> list[CheckResult]:
    mt_vm = master_vm(f)
    if mt_vm is None:
        return []
    if mt_vm.snapshot_count:
        return [CheckResult(
            "mt-no-snapshots", Verdict.BLOCK,
            f"Master target VM `{mt_vm.name}` has {mt_vm.snapshot_count} snapshot(s): "
            "reprotect cannot attach disks to it.",
            "In vCenter: master target VM → Snapshots → Delete all (consolidate), then run "
            "`/reprotect` again.")]
    return passed("mt-no-snapshots", f"Master target VM `{mt_vm.name}` has no snapshots.")


def uuid_unique(f: Facts) -> list[CheckResult]:
    inv = f.vcenter.inventory
    if inv is None or f.master_target is None:
        return []
    results: list[CheckResult] = []
    if inv.master_target_ambiguous:
        results.append(CheckResult(
            "uuid-unique", Verdict.BLOCK,
            f"Master target `{f.master_target.name}` matches several vCenter VMs: "
            + listed(vm.name for vm in inv.master_target_candidates) + ".",
            "Rename or remove the extra VM (often a clone) so that one VM answers to the "
            "master target's name and IP address."))
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
        results.append(CheckResult(
            "uuid-unique", Verdict.BLOCK,
            f"Shares its BIOS or disk UUID with master target VM `{mt_vm.name}` (both cloned "
            "from one template): failback would write to the wrong disks.",
            "Rebuild the master target from a fresh template, or give it a new BIOS UUID "
            "(`uuid.bios`) and new disk UUIDs, then refresh the configuration server.",
            tuple(clash)))
    if twins:
        results.append(CheckResult(
            "uuid-unique", Verdict.BLOCK,
            "Several vCenter VMs answer to this VM's UUID or name: the bot will not guess.",
            "Remove or rename the duplicate (a clone or an old copy) so one AVS VM matches.",
            tuple(twins)))
    return results or passed("uuid-unique",
                             "No VM of the plan shares a UUID with the master target or "
                             "another VM.")


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
        return [CheckResult(
            "mt-vm-settings", Verdict.BLOCK,
            f"Master target `{mt.name}` is not in vCenter `{f.vcenter.host}`"
            f" by VM name, guest host name or IP {mt.ip_address or '(none)'}: its snapshots, "
            "UUIDs and settings cannot be checked.",
            "Point VCENTER_URL at the private cloud's vCenter, and check the master target VM "
            "runs VMware Tools so that its host name and IP address show.")]
    results = []
    if mt_vm.tools_running_status != TOOLS_RUNNING:
        results.append(CheckResult(
            "mt-vm-settings", Verdict.BLOCK,
            f"VMware Tools are not running on master target VM `{mt_vm.name}` "
            f"({mt_vm.tools_running_status or 'no status'}).",
            "Install or start VMware Tools in the master target VM."))
    if mt_vm.disk_enable_uuid is not True:
        results.append(CheckResult(
            "mt-vm-settings", Verdict.BLOCK,
            f"Master target VM `{mt_vm.name}` does not have `disk.EnableUUID=TRUE`.",
            "Power off the master target VM, add the advanced setting disk.EnableUUID = TRUE "
            "(Edit settings → VM options → Advanced), power it on."))
    if "pvscsi" in mt_vm.scsi_controllers:
        results.append(CheckResult(
            "mt-vm-settings", Verdict.BLOCK,
            f"Master target VM `{mt_vm.name}` has a Paravirtual SCSI controller: failback "
            "needs LSI Logic.",
            "Change the master target's SCSI controllers to LSI Logic (SAS) while it is "
            "powered off."))
    results += _storage_vmotions(mt_vm, inv)
    plan_disks = sum(vm.disk_count for _, vm in avs_vms(f))
    results += _disk_budget(mt_vm.name, mt_vm.disk_count, plan_disks)
    return results or passed(
        "mt-vm-settings", f"Master target VM `{mt_vm.name}`: VMware Tools running, "
        f"disk.EnableUUID on, LSI Logic, {mt_vm.disk_count + plan_disks} of {MAX_MT_DISKS} disks, "
        "no Storage vMotion in vCenter's events.")


def _storage_vmotions(mt_vm: VmInfo, inv: VCenterInventory) -> list[CheckResult]:
    """A moved master target's disk paths no longer match what the configuration server
    knows, so failback cannot attach the disks."""
    moves = inv.master_target_storage_vmotions
    if moves is None:
        return [CheckResult(
            "mt-vm-settings", Verdict.WARN,
            f"Could not read vCenter's events of master target VM `{mt_vm.name}` ("
            + "; ".join(inv.unreadable) + "), so a Storage vMotion of it was not ruled out.",
            "Check in vCenter (master target VM → Monitor → Events) that it was never migrated "
            "to another datastore, or let VCENTER_USER read its events.")]
    if not moves:
        return []
    return [CheckResult(
        "mt-vm-settings", Verdict.BLOCK,
        f"Storage vMotion of master target VM `{mt_vm.name}` "
        + "; ".join(f"on {utc(m.when):%Y-%m-%d %H:%M} UTC from `{m.source_datastore}` "
                    f"to `{m.target_datastore}`" + (f" by {m.user}" if m.user else "")
                    for m in moves)
        + ": Site Recovery does not support a master target moved by Storage vMotion (its "
        "disks' paths changed under the configuration server).",
        f"Move the master target back to `{moves[0].source_datastore}` or deploy a new one, "
        "exclude it from Storage vMotion and Storage DRS, then refresh the configuration server "
        "and run `/reprotect` again.")]


def _disk_budget(name: str, attached: int, plan_disks: int) -> list[CheckResult]:
    if attached + plan_disks <= MAX_MT_DISKS:
        return []
    return [CheckResult(
        "mt-vm-settings", Verdict.BLOCK,
        f"Master target `{name}` would hold {attached + plan_disks} disks ({attached} attached, "
        f"{plan_disks} from this plan): at most {MAX_MT_DISKS} are supported.",
        "Reprotect fewer VMs at once (`vm=`), or use another master target server.")]


VCENTER_CHECKS = (
    vcenter_connected, target_vcenter_discovered, vcenter_permissions, mt_no_snapshots,
    uuid_unique, mt_vm_settings, esxi_supported, datastore_mounted, datastore_type_vcenter,
    avs_vm_off,
)
