"""Preflight checks of the private cloud's hosts and datastores, and of the AVS VMs, as vCenter
shows them (ESXi versions and licences, datastore mounts and types, AVS power states).

Listed in `providers.classic.vcenter_checks.VCENTER_CHECKS`; split from it to keep each module
readable.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from core.plan import CheckResult, Value, Verdict, passed
from gateways.site_recovery_models import ProtectedItem
from gateways.vcenter_models import HostInfo, VCenterInventory, VmInfo
from providers.checks import avs_match
from providers.classic.facts import Facts, avs_vms, master_vm


def esxi_supported(f: Facts) -> list[CheckResult]:
    """Not below 5.5, and not the free editions of ESXi 5.5 or vSphere Hypervisor 6."""
    inv = f.vcenter.inventory
    mt_vm = master_vm(f)
    if inv is None or mt_vm is None:
        return []
    morefs = dict.fromkeys([mt_vm.host, *(vm.host for _, vm in avs_vms(f))])
    hosts = [h for h in (inv.host(m) for m in morefs) if h is not None]
    old = [h for h in hosts if _version(h) < (5, 5)]
    free = [h for h in hosts if h not in old and _version(h) < (7, 0) and _free(h)]
    unknown = [h for h in hosts if h not in old and _version(h) < (7, 0)
               and not h.license_edition and not h.license_name]
    results = []
    if old:
        results.append(CheckResult("esxi-supported", Verdict.BLOCK, "too-old",
                                   {"hosts": tuple((h.name, h.product_version) for h in old)}))
    if free:
        results.append(CheckResult("esxi-supported", Verdict.BLOCK, "free-edition", {
            "hosts": tuple((h.name, h.license_name or h.license_edition) for h in free)}))
    if unknown:
        results.append(CheckResult("esxi-supported", Verdict.WARN, "licence-unread",
                                   {"hosts": tuple(h.name for h in unknown)}))
    return results or passed("esxi-supported", "ok",
                             {"hosts": tuple((h.name, h.product_version) for h in hosts)})


def _version(host: HostInfo) -> tuple[int, int]:
    parts = (host.product_version or "0.0").split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return 0, 0


def _free(host: HostInfo) -> bool:
    edition = (host.license_edition or "").casefold()
    return edition.startswith("esxbasic") or "hypervisor" in (host.license_name or "").casefold()


def datastore_mounted(f: Facts) -> list[CheckResult]:
    """`datastore-ok` as vCenter sees it: accessible, mounted read/write on the MT's host."""
    inv = f.vcenter.inventory
    mt_vm = master_vm(f)
    if inv is None or mt_vm is None or f.datastore is None:
        return []
    host = inv.host(mt_vm.host)
    where = host.name if host else None
    ds = inv.datastore(f.datastore.name)
    if ds is None:
        return [CheckResult("datastore-ok", Verdict.WARN, "not-in-vcenter",
                            {"datastore": f.datastore.name})]
    results = []
    if ds.accessible is False or not _writable(host, ds.moref):
        mount = host.mount(ds.moref) if host else None
        state = "inaccessible" if ds.accessible is False else (
            "not mounted" if mount is None else f"mounted {mount.access_mode or 'unknown'}")
        results.append(CheckResult("datastore-ok", Verdict.BLOCK, "not-writable",
                                   {"datastore": ds.name, "state": state, "host": where}))
    unmounted = [item.friendly_name for item, vm in avs_vms(f)
                 if host is not None and not all(_writable(host, d) for d in vm.datastores)]
    if unmounted:
        results.append(CheckResult("datastore-ok", Verdict.BLOCK, "avs-not-writable",
                                   {"host": where}, tuple(unmounted)))
    return results or passed("datastore-ok", "writable", {"datastore": ds.name, "host": where})


def _writable(host: HostInfo | None, datastore: str) -> bool:
    mount = host.mount(datastore) if host else None
    return mount is not None and mount.access_mode == "readWrite" and mount.accessible is not False


def datastore_type_vcenter(f: Facts) -> list[CheckResult]:
    """`datastore-type` as vCenter reports it (Site Recovery's type may be stale)."""
    inv = f.vcenter.inventory
    if inv is None or f.datastore is None:
        return []
    ds = inv.datastore(f.datastore.name)
    if ds is None or ds.failback_supported:
        return []
    return [CheckResult("datastore-type", Verdict.BLOCK, "vcenter-type",
                        {"datastore": ds.name, "type": ds.type})]


def avs_vm_off(f: Facts) -> list[CheckResult]:
    """Reprotect overwrites the AVS VM's disks: one that runs is probably in use."""
    inv = f.vcenter.inventory
    if inv is None:
        return []
    found = avs_vms(f)
    on = [(item, vm) for item, vm in found if vm.power_state == "poweredOn"]
    if on:
        return [CheckResult("avs-vm-off", Verdict.WARN, "powered-on",
                            {"found_by": _found_by(inv, on)},
                            tuple(item.friendly_name for item, _ in on))]
    return passed("avs-vm-off", "ok" if found else "none-found",
                  {"found": len(found), "vms": len(f.items), "found_by": _found_by(inv, found)})


def _found_by(inv: VCenterInventory, found: Sequence[tuple[ProtectedItem, VmInfo]]
              ) -> tuple[Value, ...]:
    """Which key found the AVS VMs (`vmId`, `infrastructureVmId`, `name`), with a count when
    there are several VMs."""
    ways = Counter(avs_match(inv, item)[0] for item, _ in found)
    return tuple((way, str(n)) if len(found) > 1 else (way, "") for way, n in ways.items())
