"""vCenter data conversion: pyVmomi data objects and retrieved properties in, the
`vcenter_models` dataclasses out. Pure: no session, no round trip."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, cast

import pyVim.connect  # noqa: F401 - mypy sees pyVmomi's lazy `vim` and `vmodl` through it
import pyVmomi

from gateways.timestamps import utc
from gateways.vcenter_models import (
    AboutInfo,
    DatastoreInfo,
    DatastoreMount,
    DiskInfo,
    HostInfo,
    MatchedBy,
    ScsiKind,
    StorageVMotion,
    VmInfo,
)

# pyVmomi 9 ships partial inline annotations (untyped constructors, no stubs before 9):
# treat it as dynamic in one place rather than sprinkling ignores.
vim: Any = pyVmomi.vim
vmodl: Any = pyVmomi.vmodl
Props = dict[str, Any]

# Every specific controller class derives from VirtualSCSIController, so the generic one
# comes last.
SCSI_KINDS: tuple[tuple[Any, ScsiKind], ...] = (
    (vim.vm.device.ParaVirtualSCSIController, "pvscsi"),
    (vim.vm.device.VirtualLsiLogicSASController, "lsilogic-sas"),
    (vim.vm.device.VirtualLsiLogicController, "lsilogic"),
    (vim.vm.device.VirtualBusLogicController, "buslogic"),
    (vim.vm.device.VirtualSCSIController, "scsi"),
)


def moref_of(obj: Any) -> str:
    return cast(str, obj._GetMoId())


def fault_text(exc: BaseException) -> str:
    return str(getattr(exc, "msg", "") or type(exc).__name__)


def norm_uuid(value: str) -> str:
    return value.strip("{} ").replace("-", "").casefold()


def about_info(about: Any) -> AboutInfo:
    return AboutInfo(
        name=about.name,
        full_name=about.fullName,
        version=about.version,
        build=about.build,
        api_type=about.apiType,
        api_version=about.apiVersion,
        instance_uuid=about.instanceUuid or "",
    )


def vm_info(props: Props) -> VmInfo:
    devices = props.get("config.hardware.device") or ()
    extra = {o.key: o.value for o in props.get("config.extraConfig") or ()}
    enable_uuid = extra.get("disk.EnableUUID")
    ips = [props.get("guest.ipAddress")]
    ips += [ip for nic in props.get("guest.net") or () for ip in nic.ipAddress or ()]
    return VmInfo(
        moref=moref_of(props["obj"]),
        name=props.get("name", ""),
        bios_uuid=props.get("config.uuid"),
        instance_uuid=props.get("config.instanceUuid"),
        is_template=bool(props.get("config.template")),
        power_state=str(props.get("runtime.powerState", "unknown")),
        host=moref_of(props["runtime.host"]) if props.get("runtime.host") else None,
        snapshot_count=sum(1 for _ in _walk_snapshots(props.get("snapshot.rootSnapshotList"))),
        tools_running_status=props.get("guest.toolsRunningStatus"),
        disk_enable_uuid=None if enable_uuid is None else str(enable_uuid).lower() == "true",
        scsi_controllers=tuple(k for k in map(_scsi_kind, devices) if k),
        disks=tuple(_disk_info(d) for d in devices if isinstance(d, vim.vm.device.VirtualDisk)),
        datastores=tuple(moref_of(d) for d in props.get("datastore") or ()),
        guest_host_name=props.get("guest.hostName"),
        ip_addresses=tuple(dict.fromkeys(ip for ip in ips if ip)),
    )


def storage_vmotion(event: Any) -> StorageVMotion | None:
    """A migration event as a Storage vMotion; None when the VM kept its datastore (a
    host-only vMotion) or the event names no source (vCenter before 5.0)."""
    source, target = getattr(event, "sourceDatastore", None), event.ds
    if source is None or target is None or _same_datastore(source, target):
        return None
    return StorageVMotion(
        when=utc(event.createdTime),
        source_datastore=source.name,
        target_datastore=target.name,
        user=event.userName or None,
    )


def _same_datastore(a: Any, b: Any) -> bool:
    """Event arguments by moref when both carry one (names can be reused), else by name."""
    if a.datastore is not None and b.datastore is not None:
        return moref_of(a.datastore) == moref_of(b.datastore)
    return bool(a.name == b.name)


def _walk_snapshots(trees: Any) -> Iterator[Any]:
    for tree in trees or ():
        yield tree
        yield from _walk_snapshots(tree.childSnapshotList)


def _scsi_kind(device: Any) -> ScsiKind | None:
    return next((kind for cls, kind in SCSI_KINDS if isinstance(device, cls)), None)


def _disk_info(disk: Any) -> DiskInfo:
    backing = disk.backing
    datastore = getattr(backing, "datastore", None)
    label = disk.deviceInfo.label if disk.deviceInfo else f"disk {disk.key}"
    return DiskInfo(
        label=label,
        capacity_bytes=disk.capacityInBytes or (disk.capacityInKB or 0) * 1024 or None,
        file_name=getattr(backing, "fileName", None),
        datastore=moref_of(datastore) if datastore is not None else None,
        backing_uuid=getattr(backing, "uuid", None),
    )


def datastore_info(props: Props) -> DatastoreInfo:
    return DatastoreInfo(
        moref=moref_of(props["obj"]),
        name=props.get("name", ""),
        type=props.get("summary.type"),
        capacity_bytes=props.get("summary.capacity"),
        free_bytes=props.get("summary.freeSpace"),
        accessible=props.get("summary.accessible"),
        url=props.get("summary.url"),
    )


def host_info(props: Props, datastores: Sequence[Props], license_info: Any) -> HostInfo:
    """A host with its mounts; mount modes live on each datastore's `host` list."""
    moref = moref_of(props["obj"])
    mount_info = {
        moref_of(ds["obj"]): mount.mountInfo
        for ds in datastores
        for mount in ds.get("host") or ()
        if moref_of(mount.key) == moref
    }
    mounts = []
    for ds in props.get("datastore") or ():
        info = mount_info.get(moref_of(ds))
        mounts.append(
            DatastoreMount(
                datastore=moref_of(ds),
                access_mode=info.accessMode if info else None,
                mounted=info.mounted if info else None,
                accessible=info.accessible if info else None,
            )
        )
    product = props.get("summary.config.product")
    return HostInfo(
        moref=moref,
        name=props.get("name", ""),
        product_full_name=product.fullName if product else None,
        product_version=product.version if product else None,
        license_name=license_info.name if license_info else None,
        license_edition=license_info.editionKey if license_info else None,
        connection_state=props.get("runtime.connectionState"),
        in_maintenance_mode=props.get("runtime.inMaintenanceMode"),
        mounts=tuple(mounts),
    )


def lookup(
    keys: Sequence[str],
    vms: Sequence[VmInfo],
    fields: Callable[[VmInfo], Iterable[str | None]],
    normalize: Callable[[str], str],
) -> dict[str, tuple[VmInfo, ...]]:
    """Every VM each requested key matches (0, 1 or several), keyed as requested."""
    index: dict[str, list[VmInfo]] = {}
    for vm in vms:
        for value in dict.fromkeys(normalize(v) for v in fields(vm) if v):
            index.setdefault(value, []).append(vm)
    return {key: tuple(index.get(normalize(key), ())) for key in keys}


def find_master_target(
    vms: Sequence[VmInfo], name: str, ip: str | None
) -> tuple[tuple[VmInfo, ...], MatchedBy | None]:
    """By VM name, else guest host name (short or FQDN), else guest IP: first tier that hits.

    Tiers keep a clone that kept the master target's host name from making the real one
    ambiguous, while two VMs with the same name still are.
    """
    wanted = name.casefold()
    short = wanted.split(".", 1)[0]
    tiers: tuple[tuple[MatchedBy, Callable[[VmInfo], bool]], ...] = (
        ("name", lambda vm: vm.name.casefold() == wanted),
        (
            "hostname",
            lambda vm: (
                bool(vm.guest_host_name)
                and (vm.guest_host_name or "").casefold().split(".", 1)[0] == short
            ),
        ),
        ("ip", lambda vm: ip is not None and ip in vm.ip_addresses),
    )
    for matched_by, matches in tiers:
        candidates = tuple(vm for vm in vms if matches(vm))
        if candidates:
            return candidates, matched_by
    return (), None
