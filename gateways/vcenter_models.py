"""The project's own view of vCenter objects.

The vCenter gateway converts pyVmomi data into these frozen dataclasses, so preflight checks
read plain values and are tested without a vCenter. Morefs are their string ids (`vm-42`),
sizes are bytes, and anything vCenter did not report is `None` rather than a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

# Datastore types failback can write to (vSphere `summary.type` values).
FAILBACK_DATASTORE_TYPES = frozenset({"VMFS", "vsan"})

# Privileges the discovery account needs for reprotect: read-only discovery passes failover
# but cannot create or attach the disks that replication back to AVS writes.
DATASTORE_WRITE_PRIVILEGES = ("Datastore.AllocateSpace", "Datastore.FileManagement")
VM_DISK_PRIVILEGES = (
    "VirtualMachine.Config.AddExistingDisk",
    "VirtualMachine.Config.AddNewDisk",
    "VirtualMachine.Config.RemoveDisk",
)

# SCSI controller kinds by pyVmomi class name; the master target must not use `pvscsi`.
ScsiKind = Literal["lsilogic", "lsilogic-sas", "pvscsi", "buslogic", "scsi"]
# How the master target VM was found: VM name, guest host name, or guest IP address.
MatchedBy = Literal["name", "hostname", "ip"]


@dataclass(frozen=True)
class AboutInfo:
    """What the endpoint says it is (`apiType` is `VirtualCenter` for a vCenter)."""

    name: str
    full_name: str
    version: str
    build: str
    api_type: str
    api_version: str
    instance_uuid: str


@dataclass(frozen=True)
class DiskInfo:
    label: str
    capacity_bytes: int | None
    file_name: str | None
    datastore: str | None
    backing_uuid: str | None


@dataclass(frozen=True)
class VmInfo:
    moref: str
    name: str
    bios_uuid: str | None
    instance_uuid: str | None
    is_template: bool
    power_state: str
    host: str | None
    snapshot_count: int
    tools_running_status: str | None
    disk_enable_uuid: bool | None
    scsi_controllers: tuple[ScsiKind, ...]
    disks: tuple[DiskInfo, ...]
    datastores: tuple[str, ...]
    guest_host_name: str | None
    ip_addresses: tuple[str, ...]

    @property
    def disk_count(self) -> int:
        return len(self.disks)

    @property
    def disk_uuids(self) -> tuple[str, ...]:
        return tuple(d.backing_uuid for d in self.disks if d.backing_uuid)


@dataclass(frozen=True)
class StorageVMotion:
    """A completed migration that moved a VM to another datastore, as vCenter's events
    record it; datastores are named as the event named them."""

    when: datetime
    source_datastore: str
    target_datastore: str
    user: str | None


@dataclass(frozen=True)
class DatastoreMount:
    """How one host mounts one datastore; `None` where vCenter gave no mount info."""

    datastore: str
    access_mode: str | None
    mounted: bool | None
    accessible: bool | None


@dataclass(frozen=True)
class HostInfo:
    moref: str
    name: str
    product_full_name: str | None
    product_version: str | None
    license_name: str | None
    license_edition: str | None
    connection_state: str | None
    in_maintenance_mode: bool | None
    mounts: tuple[DatastoreMount, ...]

    def mount(self, datastore: str) -> DatastoreMount | None:
        return next((m for m in self.mounts if m.datastore == datastore), None)


@dataclass(frozen=True)
class DatastoreInfo:
    moref: str
    name: str
    type: str | None
    capacity_bytes: int | None
    free_bytes: int | None
    accessible: bool | None
    url: str | None

    @property
    def failback_supported(self) -> bool:
        return self.type in FAILBACK_DATASTORE_TYPES


@dataclass(frozen=True)
class MissingPrivilege:
    entity: str
    entity_name: str
    privilege: str


@dataclass(frozen=True)
class PrivilegeReport:
    """The session's own privileges on the datastores and the VMs found, as vCenter says."""

    checked: tuple[str, ...]
    missing: tuple[MissingPrivilege, ...]

    @property
    def can_write_datastores(self) -> bool:
        return not any(m.privilege in DATASTORE_WRITE_PRIVILEGES for m in self.missing)


@dataclass(frozen=True)
class VCenterInventory:
    """Everything the vCenter checks read, from one property retrieval.

    Requested UUIDs and names that matched exactly one VM are in `vms_by_uuid` and
    `vms_by_name` (keyed as requested); keys that matched several VMs are in `duplicates`
    and never in the former, so nobody silently picks one of two clones.
    """

    about: AboutInfo
    vms_by_uuid: Mapping[str, VmInfo]
    vms_by_name: Mapping[str, VmInfo]
    duplicates: Mapping[str, tuple[VmInfo, ...]]
    master_target: VmInfo | None
    master_target_candidates: tuple[VmInfo, ...]
    master_target_matched_by: MatchedBy | None
    hosts: tuple[HostInfo, ...]
    datastores: tuple[DatastoreInfo, ...]
    privileges: PrivilegeReport | None
    unreadable: tuple[str, ...] = field(default=())
    # The master target's Storage vMotions in vCenter's event history (which forgets events
    # after its retention, 30 days by default); None when the events could not be read, with
    # the reason in `unreadable`.
    master_target_storage_vmotions: tuple[StorageVMotion, ...] | None = ()

    @property
    def master_target_ambiguous(self) -> bool:
        return len(self.master_target_candidates) > 1

    def vm(self, *, uuid: str | None = None, name: str | None = None) -> VmInfo | None:
        """The plan VM by UUID when Site Recovery gave one and it matched, else by name."""
        if uuid is not None and uuid in self.vms_by_uuid:
            return self.vms_by_uuid[uuid]
        if uuid is not None and uuid in self.duplicates:
            return None
        if name is not None:
            return self.vms_by_name.get(name)
        return None

    def host(self, moref: str | None) -> HostInfo | None:
        return next((h for h in self.hosts if h.moref == moref), None)

    def datastore(self, moref_or_name: str) -> DatastoreInfo | None:
        return next((d for d in self.datastores if moref_or_name in (d.moref, d.name)), None)
