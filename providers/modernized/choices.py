"""Defaults, with reasons, for what an `InMageRcm` reprotect sends; nothing is created.

Every value is a `Choice` whose reason the approver reads. Values the operator typed are
matched case-insensitively and kept as typed when nothing matches: the checks then say why
they cannot be sent (`providers.modernized.checks`), so every verdict lives in one place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.plan import Choice
from gateways.rcm_models import (
    Appliance,
    RcmFabric,
    RcmItem,
)
from gateways.vcenter_models import VCenterInventory
from providers.modernized.facts import ItemChoice
from providers.names import find

# `InMageRcmReprotectInput.logStorageAccountId` is a storage account's ARM id (modernized.md §3).
STORAGE_ACCOUNT_ID = re.compile(
    r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Storage"
    r"/storageAccounts/[^/]+", re.IGNORECASE)
GIB = 2**30


def account_name(account_id: str) -> str:
    """A storage account's name: the last segment of its ARM id."""
    return account_id.rstrip("/").rsplit("/", 1)[-1]


def choose_appliance(wanted: str, fabric: RcmFabric | None) -> Appliance | None:
    """The fabric's appliance (`reprotectAgents` entry) named `wanted`, any case."""
    return find(wanted, fabric.appliances, lambda a: a.name) if fabric else None


def choose_datastore(item: RcmItem, appliance: Appliance | None, wanted: str | None,
                     inventory: VCenterInventory | None) -> Choice | None:
    """`datastore=` as the appliance spells it; else the VM's own datastore for original
    location (failover-failback-overview-modernized.md: selected automatically) when the
    appliance reaches it; else one the appliance reaches, by vCenter's type and free space."""
    if wanted is not None:
        listed = appliance.accessible_datastores if appliance else ()
        name = find(wanted, listed, lambda d: d) or wanted
        return Choice(name, name, "given (`datastore=`)")
    if appliance is None:
        return None
    own = [d for d in item.discovered_datastores if appliance.can_reach(d)]
    if item.vm_deleted is False and own:
        return Choice(own[0], own[0], "the VM's own datastore: original location (the VM still "
                                      f"exists on premises), reachable by `{appliance.name}`")
    why = ("the VM no longer exists on premises (alternate location)" if item.vm_deleted else
           f"its own datastore {_names(item.discovered_datastores)} is out of `{appliance.name}`'s "
           "reach" if item.vm_deleted is False else
           "Site Recovery does not say whether the VM still exists on premises")
    return _roomiest(appliance, inventory, why)


def _roomiest(appliance: Appliance, inventory: VCenterInventory | None,
              why: str) -> Choice | None:
    reachable = appliance.accessible_datastores
    if not reachable:
        return None
    if inventory is not None:
        fit = [ds for name in reachable if (ds := inventory.datastore(name)) is not None
               and ds.failback_supported and ds.free_bytes is not None]
        if fit:
            best = max(fit, key=lambda ds: ds.free_bytes or 0)
            return Choice(best.name, best.name,
                          f"{why}; of the datastores `{appliance.name}` reaches, the VMFS or vSAN "
                          f"one with the most free space in vCenter "
                          f"({(best.free_bytes or 0) / GIB:.0f} GiB)")
    unread = "vCenter shows none of them as VMFS or vSAN with free space" if inventory else \
        "without vCenter their type and free space are unknown"
    return Choice(reachable[0], reachable[0],
                  f"{why}; the first datastore `{appliance.name}` reaches ({unread})")


def choose_log_storage(item: RcmItem, wanted: str | None,
                       items: Sequence[RcmItem]) -> Choice | None:
    """`logstorage=` as an ARM id, or the name of an account the plan's disks use; else the
    forward replication's account of the item's disks (the most used if they differ).
    None when neither is known: the bot never creates one."""
    if wanted is not None:
        if STORAGE_ACCOUNT_ID.fullmatch(wanted):
            return Choice(wanted, account_name(wanted), "given (`logstorage=`)")
        accounts = [a for i in items for a in i.log_storage_account_ids]
        found = find(wanted, accounts, account_name)
        return Choice(found, account_name(found), "given (`logstorage=`) by name: the log "
                      "storage account of the plan's forward replication") if found else None
    if not item.log_storage_account_ids:
        return None
    account = item.log_storage_account_ids[0]
    mixed = " (the one most of its disks use)" if len(item.log_storage_account_ids) > 1 else ""
    return Choice(account, account_name(account),
                  f"the forward replication's log storage account of its disks{mixed}")


def choose(items: Sequence[RcmItem], appliance: Appliance | None, *, datastore: str | None,
           logstorage: str | None, inventory: VCenterInventory | None) -> tuple[ItemChoice, ...]:
    """Each item's datastore and log storage account."""
    return tuple(ItemChoice(
        item_id=i.item.id, vm_name=i.item.friendly_name,
        datastore=choose_datastore(i, appliance, datastore, inventory),
        log_storage=choose_log_storage(i, logstorage, items)) for i in items)


def _names(values: Sequence[str]) -> str:
    return ", ".join(f"`{v}`" for v in values) or "(none reported)"
