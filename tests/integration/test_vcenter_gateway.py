"""The vCenter gateway against govmomi's simulator (vcsim 0.24), over verified TLS.

Each test shapes the inventory through the vSphere API (CreateVM_Task, ReconfigVM_Task,
CreateSnapshot_Task, PowerOnVM_Task, RelocateVM_Task, PostEvent, CreateNasDatastore) with its
own VMs, so tests do not
depend on each other's order. The simulator starts once per module with 25 VMs on host
DC0_H0 and 25 in cluster DC0_C0.
"""

from __future__ import annotations

import functools
import logging
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateways.vcenter import (
    VCenterAuthError,
    VCenterConfig,
    VCenterGateway,
    VCenterUnreachable,
)
from tests.support.vcsim import VcsimInstance, start_vcsim
from tests.support.vcsim_shapes import (
    WaitForTask,
    config,
    create_vm,
    device,
    extra,
    find_vm,
    new_uuid,
    post_migration,
    reconfigure,
    storage_vmotion,
    vim,
)

VMS_PER_GROUP = 25


@pytest.fixture(scope="module")
def vcsim() -> Iterator[VcsimInstance]:
    with start_vcsim(vms=VMS_PER_GROUP) as instance:
        yield instance


@pytest.fixture
def make_vm(content: Any) -> Callable[..., Any]:
    """Create a VM like a master target: LSI Logic, one disk, a NIC, tools running."""
    return functools.partial(create_vm, content)


# -- finding VMs ---------------------------------------------------------------------------


def test_plan_vms_found_by_uuid_first_then_name(content: Any, gateway: VCenterGateway) -> None:
    bios, instance = new_uuid(), new_uuid()
    reconfigure(find_vm(content, "DC0_H0_VM3"), uuid=bios)
    reconfigure(find_vm(content, "DC0_H0_VM4"), instanceUuid=instance)

    inv = gateway.inventory(
        vm_names=["dc0_c0_rp0_vm3", "no-such-vm"],
        vm_uuids=[f"{{{bios.upper()}}}", instance, new_uuid()],
        master_target="DC0_H0_VM0",
    )

    assert inv.vms_by_uuid[f"{{{bios.upper()}}}"].name == "DC0_H0_VM3"
    assert inv.vms_by_uuid[instance].name == "DC0_H0_VM4"
    assert inv.vms_by_name["dc0_c0_rp0_vm3"].name == "DC0_C0_RP0_VM3"
    assert "no-such-vm" not in inv.vms_by_name
    assert not inv.duplicates
    # UUID wins over a name that points elsewhere; the name is the fallback.
    assert inv.vm(uuid=instance, name="DC0_C0_RP0_VM3") == inv.vms_by_uuid[instance]
    assert inv.vm(uuid=new_uuid(), name="dc0_c0_rp0_vm3") == inv.vms_by_name["dc0_c0_rp0_vm3"]
    assert inv.about.api_type == "VirtualCenter"


def test_uuid_clash_is_a_finding_not_a_pick(
    content: Any, gateway: VCenterGateway, make_vm: Callable[..., Any]
) -> None:
    shared_bios, shared_disk = new_uuid(), "6000C29a-1111-2222-3333-444455556666"
    reconfigure(find_vm(content, "DC0_H0_VM5"), uuid=shared_bios)
    make_vm("mt-clone", bios_uuid=shared_bios, disk_uuid=shared_disk, ip="10.0.0.30")
    make_vm("plan-clone", disk_uuid=shared_disk, ip="10.0.0.31")

    inv = gateway.inventory(
        vm_names=["DC0_H0_VM5"], vm_uuids=[shared_bios], master_target="mt-clone"
    )

    assert sorted(vm.name for vm in inv.duplicates[shared_bios]) == ["DC0_H0_VM5", "mt-clone"]
    assert shared_bios not in inv.vms_by_uuid
    assert inv.vm(uuid=shared_bios, name="DC0_H0_VM5") is None
    mt = inv.master_target
    assert mt is not None and mt.bios_uuid == shared_bios
    plan_clone = gateway.inventory(
        vm_names=["plan-clone"], vm_uuids=[], master_target="mt-clone"
    ).vms_by_name["plan-clone"]
    assert set(mt.disk_uuids) & set(plan_clone.disk_uuids) == {shared_disk}


def test_master_target_by_name_else_ip_and_ambiguity(
    gateway: VCenterGateway, make_vm: Callable[..., Any]
) -> None:
    make_vm("mt-by-ip", ip="10.0.0.40")
    by_ip = gateway.inventory(
        vm_names=[], vm_uuids=[], master_target="MT-RENAMED", master_target_ip="10.0.0.40"
    )
    assert by_ip.master_target is not None
    assert (by_ip.master_target.name, by_ip.master_target_matched_by) == ("mt-by-ip", "ip")

    by_fqdn = gateway.inventory(vm_names=[], vm_uuids=[], master_target="MT-BY-IP.avs.example")
    assert by_fqdn.master_target_matched_by == "hostname"

    make_vm("mt-twin-a", ip="10.0.0.41")
    make_vm("mt-twin-b", ip="10.0.0.41")
    twins = gateway.inventory(
        vm_names=[], vm_uuids=[], master_target="mt-gone", master_target_ip="10.0.0.41"
    )
    assert twins.master_target is None
    assert twins.master_target_ambiguous
    assert sorted(vm.name for vm in twins.master_target_candidates) == ["mt-twin-a", "mt-twin-b"]


# -- master target settings ----------------------------------------------------------------


def test_master_target_settings(gateway: VCenterGateway, make_vm: Callable[..., Any]) -> None:
    make_vm("mt-settings")
    mt = gateway.inventory(vm_names=[], vm_uuids=[], master_target="mt-settings").master_target

    assert mt is not None
    assert mt.tools_running_status == "guestToolsRunning"
    assert mt.disk_enable_uuid is True
    assert mt.scsi_controllers == ("lsilogic",)
    assert mt.disk_count == 1
    assert mt.snapshot_count == 0
    assert mt.power_state == "poweredOff"
    assert mt.ip_addresses == ("10.0.0.20",)


def test_snapshots_on_master_target_are_counted(
    gateway: VCenterGateway, make_vm: Callable[..., Any]
) -> None:
    vm = make_vm("mt-snap")
    for name in ("before-patch", "after-patch"):  # the second nests under the first
        WaitForTask(vm.CreateSnapshot_Task(name=name, memory=False, quiesce=False))

    mt = gateway.inventory(vm_names=[], vm_uuids=[], master_target="mt-snap").master_target

    assert mt is not None and mt.snapshot_count == 2


def test_paravirtual_controller_and_enable_uuid_false_detected(
    gateway: VCenterGateway, make_vm: Callable[..., Any]
) -> None:
    vm = make_vm("mt-pvscsi")
    pvscsi = device.ParaVirtualSCSIController(key=-1, busNumber=1, sharedBus="noSharing")
    reconfigure(
        vm,
        deviceChange=[device.VirtualDeviceSpec(operation="add", device=pvscsi)],
        extraConfig=extra(disk__EnableUUID="FALSE"),
    )

    mt = gateway.inventory(vm_names=[], vm_uuids=[], master_target="mt-pvscsi").master_target

    assert mt is not None
    assert sorted(mt.scsi_controllers) == ["lsilogic", "pvscsi"]
    assert mt.disk_enable_uuid is False


def test_storage_vmotion_of_master_target_read_from_its_events(
    vcsim: VcsimInstance,
    content: Any,
    gateway: VCenterGateway,
    make_vm: Callable[..., Any],
) -> None:
    vm = make_vm("mt-moved")
    other = make_vm("moved-bystander")
    unmoved = gateway.inventory(vm_names=[], vm_uuids=[], master_target="mt-moved")
    assert unmoved.master_target_storage_vmotions == ()  # created, never migrated

    storage_vmotion(content, vm, "LocalDS_0")
    storage_vmotion(content, other, "LocalDS_0")  # another VM's move is not the master's
    here = vm.datastore[0]
    post_migration(content, vm, vim.event.DrsVmMigratedEvent, source=here, target=here)

    inv = gateway.inventory(vm_names=[], vm_uuids=[], master_target="mt-moved")

    (move,) = inv.master_target_storage_vmotions or ()  # the host-only vMotion is no move
    assert (move.source_datastore, move.target_datastore) == ("LocalDS_1", "LocalDS_0")
    assert move.user == vcsim.username
    assert timedelta(0) <= datetime.now(UTC) - move.when < timedelta(minutes=5)
    assert inv.unreadable == ()


# -- hosts, datastores, privileges ---------------------------------------------------------


def test_datastore_types_mounts_and_privileges(
    content: Any, gateway: VCenterGateway, tmp_path: Path
) -> None:
    host = content.searchIndex.FindByInventoryPath("DC0/host/DC0_H0/DC0_H0")
    (tmp_path / "nfs-avs").mkdir()
    nas = vim.host.NasVolume.Specification(
        remoteHost="nfs.avs.example",
        remotePath="/export/avs",
        localPath=str(tmp_path / "nfs-avs"),
        accessMode="readWrite",
        type="NFS",
    )
    host.configManager.datastoreSystem.CreateNasDatastore(spec=nas)

    inv = gateway.inventory(vm_names=["DC0_H0_VM1"], vm_uuids=[], master_target="DC0_H0_VM0")

    types = {ds.name: ds.type for ds in inv.datastores}
    assert types == {"LocalDS_0": "VMFS", "LocalDS_1": "vsan", "nfs-avs": "NFS"}
    assert [ds.name for ds in inv.datastores if not ds.failback_supported] == ["nfs-avs"]
    assert all(ds.accessible and ds.capacity_bytes and ds.free_bytes for ds in inv.datastores)

    mt = inv.master_target
    assert mt is not None
    mt_host = inv.host(mt.host)
    assert mt_host is not None and mt_host.name == "DC0_H0"
    assert mt_host.connection_state == "connected"
    assert mt_host.product_version == "6.5.0"
    local_ds0 = inv.datastore("LocalDS_0")
    assert local_ds0 is not None
    mount = mt_host.mount(local_ds0.moref)
    assert mount is not None and (mount.access_mode, mount.accessible) == ("readWrite", True)
    assert len(inv.hosts) == 3
    assert all(h.mount(local_ds0.moref) for h in inv.hosts)

    assert inv.privileges is not None
    assert "Datastore.AllocateSpace" in inv.privileges.checked
    assert inv.privileges.can_write_datastores  # vcsim grants every privilege
    assert inv.unreadable == ()


# -- power guard ---------------------------------------------------------------------------


def test_power_states_sees_a_vm_powered_on(content: Any, gateway: VCenterGateway) -> None:
    inv = gateway.inventory(
        vm_names=["DC0_H0_VM6", "DC0_H0_VM7"], vm_uuids=[], master_target="DC0_H0_VM0"
    )
    on, off = inv.vms_by_name["DC0_H0_VM6"], inv.vms_by_name["DC0_H0_VM7"]
    WaitForTask(find_vm(content, "DC0_H0_VM6").PowerOnVM_Task())

    before = gateway.round_trips
    states = gateway.power_states([on.moref, off.moref, "vm-424242"])

    assert states == {on.moref: "poweredOn", off.moref: "poweredOff", "vm-424242": "notFound"}
    assert gateway.round_trips - before == 1


# -- cost ----------------------------------------------------------------------------------


def test_inventory_costs_the_same_for_5_and_50_vms(gateway: VCenterGateway) -> None:
    names = [f"DC0_H0_VM{i}" for i in range(VMS_PER_GROUP)]
    names += [f"DC0_C0_RP0_VM{i}" for i in range(VMS_PER_GROUP)]
    gateway.inventory(vm_names=[], vm_uuids=[], master_target="DC0_H0_VM0")  # logs in

    def cost(vm_names: list[str]) -> int:
        before = gateway.round_trips
        inv = gateway.inventory(vm_names=vm_names, vm_uuids=[], master_target="DC0_H0_VM0")
        assert set(inv.vms_by_name) == set(vm_names)
        return gateway.round_trips - before

    # CreateContainerView, RetrievePropertiesEx, DestroyView, QueryAssignedLicenses,
    # HasPrivilegeOnEntities, QueryEvents (master target): whatever the number of VMs.
    assert cost(names[:5]) == cost(names) == 6


# -- failures ------------------------------------------------------------------------------


def test_wrong_password_is_an_auth_error(vcsim: VcsimInstance) -> None:
    gw = VCenterGateway(config(vcsim, password="not-the-Password-42"))
    with pytest.raises(VCenterAuthError) as raised:
        gw.inventory(vm_names=[], vm_uuids=[], master_target="x")
    assert "VCENTER_PASSWORD" in raised.value.explain()
    assert "not-the-Password-42" not in raised.value.explain()
    assert "not-the-Password-42" not in repr(config(vcsim, password="not-the-Password-42"))


def test_probe_logs_in_and_names_missing_root_privileges(vcsim: VcsimInstance,
                                                        gateway: VCenterGateway) -> None:
    """What `check` and readiness ask: a login, then the write privileges on the root."""
    assert gateway.probe() == ()  # vcsim grants every privilege
    with pytest.raises(VCenterAuthError):
        VCenterGateway(config(vcsim, password="not-the-Password-42")).probe()


def test_closed_port_is_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nothing listens there
    gw = VCenterGateway(VCenterConfig(f"https://127.0.0.1:{port}/sdk", "u", "p", None, False))
    with pytest.raises(VCenterUnreachable) as raised:
        gw.power_states(["vm-1"])
    assert "ConnectionRefusedError" in raised.value.explain()


def test_untrusted_certificate_fails_unless_insecure(
    vcsim: VcsimInstance, caplog: pytest.LogCaptureFixture
) -> None:
    system_trust = VCenterGateway(config(vcsim, ca_bundle=None))
    with pytest.raises(VCenterUnreachable) as raised:
        system_trust.inventory(vm_names=[], vm_uuids=[], master_target="x")
    assert "VCENTER_CA_BUNDLE" in raised.value.explain()

    insecure = VCenterGateway(config(vcsim, ca_bundle=None, insecure=True))
    with caplog.at_level(logging.WARNING, logger="gateways.vcenter"):
        insecure.inventory(vm_names=[], vm_uuids=[], master_target="x")
        insecure.close()
        insecure.inventory(vm_names=[], vm_uuids=[], master_target="x")  # logs in again
    insecure.close()
    warnings = [r for r in caplog.records if "VCENTER_INSECURE" in r.getMessage()]
    assert len(warnings) == 1


def test_logs_in_again_when_the_session_was_terminated(
    content: Any, gateway: VCenterGateway, caplog: pytest.LogCaptureFixture
) -> None:
    gateway.power_states(["vm-1"])
    own = content.sessionManager.currentSession.key
    others = [s.key for s in content.sessionManager.sessionList if s.key != own]
    content.sessionManager.TerminateSession(sessionId=others)

    with caplog.at_level(logging.INFO, logger="gateways.vcenter"):
        inv = gateway.inventory(vm_names=["DC0_H0_VM2"], vm_uuids=[], master_target="x")

    assert inv.vms_by_name["DC0_H0_VM2"].name == "DC0_H0_VM2"
    assert any("session expired" in r.getMessage() for r in caplog.records)
