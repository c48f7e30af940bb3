"""Which vCenter VMs answer to the plan's VMs and to the master target, for the vCenter checks.

Shared by `commands.vcenter_checks` and `commands.vcenter_host_checks`, and by planning (the
AVS VM's moref the power guard watches).
"""

from __future__ import annotations

from collections.abc import Sequence

from commands.facts import Facts
from commands.plan_model import Value
from gateways.site_recovery_models import ProtectedItem
from gateways.timestamps import utc
from gateways.vcenter_models import StorageVMotion, VCenterInventory, VmInfo


def norm_uuid(uuid: str | None) -> str:
    """A UUID as vCenter and Site Recovery may both spell it: no braces, dashes or case."""
    return (uuid or "").strip("{} ").replace("-", "").casefold()


def avs_match(inv: VCenterInventory, item: ProtectedItem) -> tuple[str, tuple[VmInfo, ...]]:
    """The vCenter VMs answering to a plan VM, and how they were found: the item's vmId, then
    its infrastructureVmId (each as BIOS or instance UUID), then its name; several = clash."""
    keys = (("vmId", item.vm_uuid, inv.vms_by_uuid),
            ("infrastructureVmId", item.infrastructure_vm_id, inv.vms_by_uuid),
            ("name", item.friendly_name, inv.vms_by_name))
    for label, key, unique in keys:
        if key and key in inv.duplicates:
            return label, inv.duplicates[key]
        if key and key in unique:
            found = unique[key]
            if label != "name":
                kind = "BIOS " if norm_uuid(found.bios_uuid) == norm_uuid(key) else \
                    "instance " if norm_uuid(found.instance_uuid) == norm_uuid(key) else ""
                label = f"{label} as {kind}UUID"
            return label, (found,)
    return "", ()


def avs_candidates(inv: VCenterInventory, item: ProtectedItem) -> tuple[VmInfo, ...]:
    """The vCenter VMs answering to a plan VM (`avs_match` without how)."""
    return avs_match(inv, item)[1]


def avs_vms(f: Facts) -> list[tuple[ProtectedItem, VmInfo]]:
    """Plan VMs found exactly once in vCenter, with their AVS VM."""
    inv = f.vcenter.inventory
    if inv is None:
        return []
    found = ((item, avs_candidates(inv, item)) for item in f.items)
    return [(item, vms[0]) for item, vms in found if len(vms) == 1]


def master_vm(f: Facts) -> VmInfo | None:
    inv = f.vcenter.inventory
    return inv.master_target if inv is not None and f.master_target is not None else None


def storage_vmotions(moves: Sequence[StorageVMotion]) -> tuple[Value, ...]:
    """Storage vMotions as values: (when in ISO 8601 UTC, from, to, by whom or "")."""
    return tuple((utc(m.when).isoformat(), m.source_datastore, m.target_datastore, m.user or "")
                 for m in moves)


def avs_moref(inventory: VCenterInventory | None, item: ProtectedItem) -> str | None:
    """The AVS VM's moref when exactly one vCenter VM answers to the plan VM (the power guard
    watches it without searching again)."""
    found = avs_candidates(inventory, item) if inventory else ()
    return found[0].moref if len(found) == 1 else None
