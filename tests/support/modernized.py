"""Modernized preflight values from the emulator's wire JSON, converted as the gateway does.

`site()` deserializes the emulator's modernized vault with the real SDK models and converts it
through `gateways.site_recovery_rcm`; `facts()` chooses values and builds the facts in which
every check passes, so a test changes one thing to break one check.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from azure.mgmt.recoveryservicessiterecovery import models as m

from core.plan import ReprotectRequest, ResolvedPlan
from gateways.rcm_models import ModernizedPlanContext, RcmFabric, RcmFailbackPolicy, RcmItem
from gateways.site_recovery_models import RecoveryPlan
from gateways.site_recovery_rcm import rcm_fabric, rcm_failback_policy, rcm_item
from gateways.vcenter_models import DatastoreInfo, DatastoreMount, VCenterInventory
from providers.checks import not_configured
from providers.modernized.choices import choose, choose_appliance
from providers.modernized.facts import ModernizedFacts
from providers.modernized.provider import ModernizedProvider
from sandbox.arm_modernized import APPLIANCE, ModernizedWorld
from tests.support.preflight import host, inventory, vm

Json = dict[str, Any]


@dataclass(frozen=True)
class Site:
    """A modernized vault right after failover, as the preflight reads it."""

    now: datetime
    items: tuple[RcmItem, ...]
    fabric: RcmFabric
    policy: RcmFailbackPolicy | None


def world(vms: int = 3) -> ModernizedWorld:
    return ModernizedWorld.modernized_sample(vms)


def convert_item(raw: Json) -> RcmItem:
    return rcm_item(m.ReplicationProtectedItem(copy.deepcopy(raw)))


def site(w: ModernizedWorld | None = None) -> Site:
    w = w or world()
    items = tuple(convert_item(i) for i in w.of_type("replicationProtectedItems"))
    fabric = rcm_fabric([m.Fabric(copy.deepcopy(f)) for f in w.of_type("replicationFabrics")],
                        [i.item for i in items])
    assert fabric is not None
    policy = rcm_failback_policy(
        [m.Policy(copy.deepcopy(p)) for p in w.of_type("replicationPolicies")],
        [m.ProtectionContainerMapping(copy.deepcopy(x))
         for x in w.of_type("replicationProtectionContainerMappings")],
        fabric.fabric_name)
    return Site(datetime.fromtimestamp(w.clock(), UTC), items, fabric, policy)


def appliance_inventory(**changes: Any) -> VCenterInventory:
    """vCenter with the appliance VM on `esx-01`, which mounts the emulator's datastores
    read/write (`vsan-avs-01` vSAN, `vmfs-avs-02` VMFS, `nfs-avs-03` NFS)."""
    stores = (DatastoreInfo("ds-1", "vsan-avs-01", "vsan", 2**42, 2**40, True, None),
              DatastoreInfo("ds-2", "vmfs-avs-02", "VMFS", 2**42, 2**41, True, None),
              DatastoreInfo("ds-3", "nfs-avs-03", "NFS", 2**43, 2**42, True, None))
    appliance_vm = vm(APPLIANCE, "vm-1")
    base = inventory(
        0, master_target=appliance_vm, master_target_candidates=(appliance_vm,),
        datastores=stores,
        hosts=(host(mounts=tuple(DatastoreMount(d.moref, "readWrite", True, True)
                                 for d in stores)),))
    return replace(base, **changes)


def facts(s: Site | None = None, *, appliance: str = APPLIANCE, datastore: str | None = None,
          logstorage: str | None = None, inv: VCenterInventory | None = None,
          **changes: Any) -> ModernizedFacts:
    """Choices made as the provider makes them, then the facts; `changes` replace fields
    (the items and fabric included) before the values are chosen."""
    s = s or site()
    items = changes.pop("items", s.items)
    fabric = changes.pop("fabric", s.fabric)
    chosen = choose_appliance(appliance, fabric)
    base = ModernizedFacts(
        now=s.now, plan_name="finance-rp", items=items, fabric=fabric, appliance=chosen,
        appliance_wanted=appliance,
        choices=choose(items, chosen, datastore=datastore, logstorage=logstorage, inventory=inv),
        policy=s.policy, vcenter=inv, datastore_wanted=datastore, logstorage_wanted=logstorage)
    return replace(base, **changes)


def with_items(s: Site, **changes: Any) -> tuple[RcmItem, ...]:
    """Every item with `changes`; `item_…` keys change the common `ProtectedItem` fields."""
    common = {k.removeprefix("item_"): v for k, v in changes.items() if k.startswith("item_")}
    own = {k: v for k, v in changes.items() if not k.startswith("item_")}
    return tuple(replace(i, item=replace(i.item, **common), **own) for i in s.items)


def with_appliance(s: Site, **changes: Any) -> RcmFabric:
    """The fabric with its first appliance (the one the plan uses) changed."""
    first, *rest = s.fabric.appliances
    return replace(s.fabric, appliances=(replace(first, **changes), *rest))


def resolved_plan(vms: int, *, varied: bool = False) -> ResolvedPlan:
    """A modernized plan as its provider resolves it from the emulator's vault; `varied`:
    each VM on its own datastore and log storage account (the worst case for the values)."""
    s = site(world(vms))
    items = s.items
    if varied:
        stores = s.fabric.appliances[0].accessible_datastores
        items = tuple(replace(i, discovered_datastores=(stores[n % len(stores)],),
                              log_storage_account_ids=(f"/subscriptions/s/resourceGroups/rg/"
                                                       f"providers/Microsoft.Storage/"
                                                       f"storageAccounts/logs{n:03d}",))
                      for n, i in enumerate(items))
    plan_ref = RecoveryPlan("/vaults/v/replicationRecoveryPlans/finance-rp", "finance-rp",
                            "Finance tier 1", tuple(i.item.id for i in items))
    context = ModernizedPlanContext(
        plan=plan_ref, items=tuple(i.item for i in items), config_server=None,
        failback_policy=None, rcm_items=items, fabric=s.fabric, rcm_policy=s.policy)
    return ModernizedProvider().plan(
        ReprotectRequest(plan="Finance tier 1", appliance="avs-appliance-01"), context,
        context.items, now=s.now, vcenter=not_configured())
