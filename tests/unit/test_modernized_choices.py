"""Defaults of a modernized reprotect, each with the reason the approver reads.

Items and appliances come from the emulator's wire JSON through the real SDK models and
`gateways.site_recovery_rcm`; a few are changed by hand where the emulator has no such shape.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest

from gateways.rcm_models import Appliance, RcmItem
from gateways.vcenter_models import DatastoreInfo
from providers.modernized.choices import (
    choose,
    choose_appliance,
    choose_datastore,
    choose_log_storage,
)
from sandbox.arm_modernized import ModernizedWorld, storage_account_id
from tests.support.modernized import Site, appliance_inventory, convert_item, site

ACCOUNT = ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/"
           "otherlogs01")


@pytest.fixture(scope="module")
def base() -> Site:
    return site()


def first(s: Site) -> Appliance:
    return s.fabric.appliances[0]


def item(s: Site, **changes: object) -> RcmItem:
    return replace(s.items[0], **changes)


@pytest.mark.parametrize(("typed", "found"), [
    ("avs-appliance-01", "avs-appliance-01"), ("AVS-Appliance-02", "avs-appliance-02"),
    (" avs-appliance-01 ", "avs-appliance-01"), ("avs-appliance-1", None), ("", None)])
def test_appliance_matches_its_name_in_any_case(base: Site, typed: str,
                                                found: str | None) -> None:
    chosen = choose_appliance(typed, base.fabric)
    assert (chosen.name if chosen else None) == found


def test_no_appliance_without_an_appliance_fabric() -> None:
    assert choose_appliance("avs-appliance-01", None) is None


# (item changes, appliance changes, vCenter?, datastore chosen, words of the reason)
DATASTORE_DEFAULTS = [
    ({}, {}, False, "vsan-avs-01", "the VM's own datastore: original location"),
    ({"discovered_datastores": ("vmfs-avs-02", "vsan-avs-01")}, {}, False, "vmfs-avs-02",
     "original location"),
    ({"discovered_datastores": ("far-away-01",)}, {}, False, "vsan-avs-01",
     "its own datastore `far-away-01` is out of `avs-appliance-01`'s reach; the first "
     "datastore `avs-appliance-01` reaches (without vCenter their type and free space are "
     "unknown)"),
    ({"vm_deleted": True}, {}, True, "vmfs-avs-02",
     "the VM no longer exists on premises (alternate location); of the datastores "
     "`avs-appliance-01` reaches, the VMFS or vSAN one with the most free space in vCenter "
     "(2048 GiB)"),
    ({"vm_deleted": None}, {}, True, "vmfs-avs-02",
     "Site Recovery does not say whether the VM still exists on premises"),
    ({"vm_deleted": True}, {"accessible_datastores": ("nfs-avs-03",)}, True, "nfs-avs-03",
     "vCenter shows none of them as VMFS or vSAN with free space"),
    ({"vm_deleted": True}, {}, False, "vsan-avs-01", "their type and free space are unknown"),
]


@pytest.mark.parametrize(("item_changes", "appliance_changes", "vcenter", "name", "reason"),
                         DATASTORE_DEFAULTS)
def test_datastore_default_and_its_reason(base: Site, item_changes: dict[str, object],
                                          appliance_changes: dict[str, object], vcenter: bool,
                                          name: str, reason: str) -> None:
    chosen = choose_datastore(item(base, **item_changes), replace(first(base),
                                                                  **appliance_changes),
                              None, appliance_inventory() if vcenter else None)
    assert chosen is not None and (chosen.id, chosen.name) == (name, name)
    assert reason in chosen.reason


def test_nfs_is_never_the_default_even_with_more_room(base: Site) -> None:
    inv = appliance_inventory()
    nfs = inv.datastore("nfs-avs-03")
    assert nfs is not None and (nfs.free_bytes or 0) > max(
        d.free_bytes or 0 for d in inv.datastores if d is not nfs)
    chosen = choose_datastore(item(base, vm_deleted=True), first(base), None, inv)
    assert chosen is not None and chosen.name != "nfs-avs-03"


def test_datastores_vcenter_does_not_know_are_not_preferred_by_guess(base: Site) -> None:
    inv = appliance_inventory(datastores=(
        DatastoreInfo("ds-9", "elsewhere", "VMFS", 2**50, 2**50, True, None),))
    chosen = choose_datastore(item(base, vm_deleted=True), first(base), None, inv)
    assert chosen is not None and chosen.name == "vsan-avs-01"


@pytest.mark.parametrize(("typed", "sent"), [
    ("VMFS-AVS-02", "vmfs-avs-02"), ("vmfs-avs-02", "vmfs-avs-02"),
    ("not-listed", "not-listed")])
def test_typed_datastore_is_spelt_as_the_appliance_lists_it(base: Site, typed: str,
                                                            sent: str) -> None:
    chosen = choose_datastore(item(base), first(base), typed, None)
    assert chosen is not None and chosen.name == sent and chosen.reason == "given (`datastore=`)"


def test_no_datastore_default_without_appliance_or_reach(base: Site) -> None:
    assert choose_datastore(item(base), None, None, None) is None
    assert choose_datastore(item(base, vm_deleted=True),
                            replace(first(base), accessible_datastores=()), None, None) is None


def mixed_disks_item(w: ModernizedWorld) -> RcmItem:
    """An emulator item with three disks, two on a second log storage account."""
    w.add_rcm_item("vm-mixed", disk_count=3)
    raw = copy.deepcopy(w.item("vm-mixed"))
    second = storage_account_id(w.subscription_id, "rcmlogweu02")
    for disk in raw["properties"]["providerSpecificDetails"]["protectedDisks"][1:]:
        disk["logStorageAccountId"] = second
    return convert_item(raw)


def test_log_storage_default_is_the_forward_replications(base: Site) -> None:
    chosen = choose_log_storage(base.items[0], None, base.items)
    assert chosen is not None and chosen.id == base.items[0].log_storage_account_ids[0]
    assert chosen.name == "rcmlogweu01"
    assert chosen.reason == "the forward replication's log storage account of its disks"


def test_log_storage_of_disagreeing_disks_is_the_most_used() -> None:
    w = ModernizedWorld.modernized_sample(1)
    mixed = mixed_disks_item(w)
    chosen = choose_log_storage(mixed, None, (mixed,))
    assert chosen is not None and chosen.name == "rcmlogweu02"
    assert "most of its disks use" in chosen.reason


@pytest.mark.parametrize(("typed", "name", "reason"), [
    (ACCOUNT, "otherlogs01", "given (`logstorage=`)"),
    ("RCMLOGWEU01", "rcmlogweu01", "by name: the log storage account of the plan's forward"),
])
def test_typed_log_storage_as_arm_id_or_name(base: Site, typed: str, name: str,
                                             reason: str) -> None:
    chosen = choose_log_storage(base.items[0], typed, base.items)
    assert chosen is not None and chosen.name == name and reason in chosen.reason
    assert chosen.id.lower().endswith(f"/storageaccounts/{name}")


@pytest.mark.parametrize("typed", ["nosuchaccount", "/subscriptions/s/storageAccounts/x"])
def test_typed_log_storage_that_cannot_be_sent_is_no_choice(base: Site, typed: str) -> None:
    assert choose_log_storage(base.items[0], typed, base.items) is None


def test_no_log_storage_is_made_up(base: Site) -> None:
    assert choose_log_storage(item(base, log_storage_account_ids=()), None, base.items) is None


def test_every_item_gets_its_own_values_each_with_a_reason(base: Site) -> None:
    gone = replace(base.items[2], vm_deleted=True)
    chosen = choose((*base.items[:2], gone), first(base), datastore=None, logstorage=None,
                    inventory=appliance_inventory())
    assert [c.vm_name for c in chosen] == ["web-01", "web-02", "web-03"]
    assert [c.datastore.name for c in chosen if c.datastore] == [
        "vsan-avs-01", "vsan-avs-01", "vmfs-avs-02"]
    assert all(c.datastore and c.datastore.reason and c.log_storage and c.log_storage.reason
               for c in chosen)
    assert [c.item_id for c in chosen] == [i.item.id for i in base.items]
