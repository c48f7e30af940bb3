"""Plain values for preflight tests: a healthy Site Recovery fabric and vCenter inventory.

Every builder returns a state in which every check passes; a test changes one field with
`dataclasses.replace` to make one check fail, so each test shows exactly what breaks it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from core.plan import Choice
from gateways.site_recovery_models import (
    ConfigurationServer,
    CurrentScenario,
    Datastore,
    DiscoveredVCenter,
    FailbackPolicy,
    MasterTarget,
    ProcessServer,
    ProtectedItem,
    RetentionVolume,
    RunAsAccount,
)
from gateways.vcenter_models import (
    AboutInfo,
    DatastoreInfo,
    DatastoreMount,
    DiskInfo,
    HostInfo,
    PrivilegeReport,
    VCenterInventory,
    VmInfo,
)
from providers.checks import VCenterReading
from providers.classic.facts import Facts

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
FRESH = NOW - timedelta(minutes=1)
INFRA = "vcenter-infra-1"


def item(index: int = 1, **changes: Any) -> ProtectedItem:
    name = f"app-{index:02d}"
    base = ProtectedItem(
        id=f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v"
           f"/replicationFabrics/cs-fabric/replicationProtectionContainers/c"
           f"/replicationProtectedItems/vm-{name}",
        name=f"vm-{name}", friendly_name=name, fabric_name="cs-fabric", container_name="c",
        protection_state="FailedOver", protection_state_description="Failed over",
        active_location="Recovery", allowed_operations=("ReverseReplicate",),
        current_scenario=CurrentScenario("None", None), provider="InMageAzureV2",
        os_type="Windows", replication_health="Normal", vm_uuid=f"uuid-{index:04d}",
        agent_heartbeat=FRESH, os_version="Windows Server 2019", discovery_type="vCenter",
        vcenter_infrastructure_id=INFRA)
    return replace(base, **changes)


def master_target(**changes: Any) -> MasterTarget:
    base = MasterTarget(
        id="mt-id-1", name="avs-mt-01", ip_address="10.40.0.21", os_type="Windows",
        last_heartbeat=FRESH,
        datastores=(Datastore("vsan-avs-01", "vSAN", 4096, 2600),),
        retention_volumes=(RetentionVolume("R:", 1024 * 2**30, 900 * 2**30, 80),),
        disk_count=2)
    return replace(base, **changes)


def config_server(**changes: Any) -> ConfigurationServer:
    base = ConfigurationServer(
        fabric_name="cs-fabric", fabric_id="/fabrics/cs-fabric", host_name="cs01",
        last_heartbeat=FRESH, service_status="Running", health="Normal", health_errors=(),
        master_targets=(master_target(),),
        process_servers=(process_server(),),
        run_as_accounts=(RunAsAccount("1", "vcenter-avs"),))
    return replace(base, **changes)


def process_server(**changes: Any) -> ProcessServer:
    base = ProcessServer(id="ps-id-1", name="azure-ps-01", ip_address="10.30.0.4",
                         last_heartbeat=FRESH, health="Normal", replication_pair_count=3)
    return replace(base, **changes)


def discovered_vcenter(**changes: Any) -> DiscoveredVCenter:
    base = DiscoveredVCenter(name="vcenter-avs", fabric_name="cs-fabric",
                             ip_address="10.40.0.2", infrastructure_id=INFRA,
                             discovery_status="Connected", last_heartbeat=FRESH)
    return replace(base, **changes)


def vm(name: str, moref: str, **changes: Any) -> VmInfo:
    base = VmInfo(
        moref=moref, name=name, bios_uuid=f"bios-{moref}", instance_uuid=None,
        is_template=False, power_state="poweredOff", host="host-1", snapshot_count=0,
        tools_running_status="guestToolsRunning", disk_enable_uuid=True,
        scsi_controllers=("lsilogic",),
        disks=(DiskInfo("Hard disk 1", 2**34, None, "ds-1", f"disk-{moref}"),),
        datastores=("ds-1",), guest_host_name=None, ip_addresses=())
    return replace(base, **changes)


def host(**changes: Any) -> HostInfo:
    base = HostInfo(
        moref="host-1", name="esx-01", product_full_name="VMware ESXi 7.0.3",
        product_version="7.0.3", license_name="vSphere 7 Enterprise Plus",
        license_edition="esx.enterprisePlus.cpuPackage", connection_state="connected",
        in_maintenance_mode=False,
        mounts=(DatastoreMount("ds-1", "readWrite", True, True),))
    return replace(base, **changes)


def inventory(vms: int = 1, **changes: Any) -> VCenterInventory:
    """The plan's `vms` AVS VMs (powered off, found by UUID) and a fit master target."""
    plan_vms = {f"uuid-{i:04d}": vm(f"app-{i:02d}", f"vm-{100 + i}") for i in range(1, vms + 1)}
    base = VCenterInventory(
        about=AboutInfo("VMware VirtualCenter", "VMware vCenter Server 7.0.3", "7.0.3", "1",
                        "VirtualCenter", "7.0.3.0", "vc-uuid"),
        vms_by_uuid=plan_vms, vms_by_name={}, duplicates={},
        master_target=vm("avs-mt-01", "vm-1"), master_target_candidates=(vm("avs-mt-01", "vm-1"),),
        master_target_matched_by="name", hosts=(host(),),
        datastores=(DatastoreInfo("ds-1", "vsan-avs-01", "vsan", 2**42, 2**41, True, None),),
        privileges=PrivilegeReport(checked=("Datastore.AllocateSpace",), missing=()))
    return replace(base, **changes)


def reading(inv: VCenterInventory | None = None, **changes: Any) -> VCenterReading:
    return replace(VCenterReading(host="10.40.0.2", inventory=inv or inventory()), **changes)


def facts(vms: int = 1, **changes: Any) -> Facts:
    """Facts in which every check passes, vCenter included."""
    cs = config_server()
    base = Facts(
        now=NOW, items=tuple(item(i) for i in range(1, vms + 1)), config_server=cs,
        master_target=cs.master_targets[0], master_wanted="avs-mt-01",
        process_server=cs.process_servers[0],
        datastore=Choice("vsan-avs-01", "vsan-avs-01", "most free space"), datastore_type="vSAN",
        retention=cs.master_targets[0].retention_volumes[0],
        policy=FailbackPolicy("policy-id", "vmware-azure-policy-failback"), narrowed=False,
        vcenter=reading(inventory(vms)), vcenters=(discovered_vcenter(),))
    return replace(base, **changes)
