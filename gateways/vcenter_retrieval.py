"""vCenter retrieval: what the gateway reads in one session, each function a fixed number
of round trips whatever the plan size.

All of an inventory comes from a single `PropertyCollector.RetrievePropertiesEx` over a
container view, then is matched in Python (`vcenter_convert`); the master target's past
Storage vMotions are in no property, so one `EventManager.QueryEvents` adds them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from gateways.vcenter_convert import (
    Props,
    about_info,
    datastore_info,
    fault_text,
    find_master_target,
    host_info,
    lookup,
    moref_of,
    norm_uuid,
    storage_vmotion,
    vim,
    vm_info,
    vmodl,
)
from gateways.vcenter_models import (
    DATASTORE_WRITE_PRIVILEGES,
    VM_DISK_PRIVILEGES,
    DatastoreInfo,
    MissingPrivilege,
    PrivilegeReport,
    StorageVMotion,
    VCenterInventory,
    VmInfo,
)

Collector: Any = vmodl.query.PropertyCollector

VM_PROPERTIES = (
    "name",
    "config.uuid",
    "config.instanceUuid",
    "config.template",
    "config.extraConfig",
    "config.hardware.device",
    "runtime.powerState",
    "runtime.host",
    "snapshot.rootSnapshotList",
    "guest.toolsRunningStatus",
    "guest.hostName",
    "guest.ipAddress",
    "guest.net",
    "datastore",
)
HOST_PROPERTIES = (
    "name",
    "summary.config.product",
    "runtime.connectionState",
    "runtime.inMaintenanceMode",
    "datastore",
)
DATASTORE_PROPERTIES = (
    "name",
    "summary.type",
    "summary.capacity",
    "summary.freeSpace",
    "summary.accessible",
    "summary.url",
    "host",
)
# Completed migrations, whose events name the destination datastore in `ds` and the origin
# in `sourceDatastore`: a relocation (cold or Storage vMotion), a vMotion or Storage vMotion
# of a running VM, and DRS's. vCenter filters `eventTypeId` by exact type.
MIGRATION_EVENTS = ("VmRelocatedEvent", "VmMigratedEvent", "DrsVmMigratedEvent")
# QueryEvents returns at most this many; a master target migrates rarely.
MAX_EVENTS = 1000


@dataclass(frozen=True)
class VimSession:
    """One login: the SOAP stub and the service content retrieved with it."""

    stub: Any
    content: Any

    def ref(self, kind: Any, moref: str) -> Any:
        """A managed object reference bound to this session, without any round trip."""
        return kind(moref, self.stub)


def read_inventory(
    session: VimSession,
    vm_names: Sequence[str],
    vm_uuids: Sequence[str],
    master_target: str,
    master_target_ip: str | None,
) -> VCenterInventory:
    """One session's worth of work, so a re-login retries all of it consistently."""
    objects = _retrieve_inventory(session)
    vms = [vm_info(o) for o in objects["VirtualMachine"]]
    datastores = tuple(datastore_info(o) for o in objects["Datastore"])
    managers = objects["LicenseManager"]
    licenses, license_note = _assigned_licenses(
        managers[0].get("licenseAssignmentManager") if managers else None
    )
    hosts = tuple(
        host_info(o, objects["Datastore"], licenses.get(moref_of(o["obj"])))
        for o in objects["HostSystem"]
    )

    by_uuid = lookup(vm_uuids, vms, lambda vm: (vm.bios_uuid, vm.instance_uuid), norm_uuid)
    by_name = lookup(vm_names, vms, lambda vm: (vm.name,), str.casefold)
    mt_candidates, mt_matched_by = find_master_target(vms, master_target, master_target_ip)

    master = mt_candidates[0] if len(mt_candidates) == 1 else None
    found = [m[0] for m in (*by_uuid.values(), *by_name.values()) if len(m) == 1]
    found += [master] if master else []
    sessions = objects["SessionManager"]
    current = sessions[0].get("currentSession") if sessions else None
    privileges, privilege_note = _privileges(session, current, datastores, found)
    moves, events_note = _storage_vmotions(session, master) if master else ((), None)

    return VCenterInventory(
        about=about_info(session.content.about),
        vms_by_uuid={k: m[0] for k, m in by_uuid.items() if len(m) == 1},
        vms_by_name={k: m[0] for k, m in by_name.items() if len(m) == 1},
        duplicates={k: m for k, m in (*by_uuid.items(), *by_name.items()) if len(m) > 1},
        master_target=master,
        master_target_candidates=mt_candidates,
        master_target_matched_by=mt_matched_by,
        hosts=hosts,
        datastores=datastores,
        privileges=privileges,
        unreadable=tuple(n for n in (license_note, privilege_note, events_note) if n),
        master_target_storage_vmotions=moves,
    )


def read_power_states(session: VimSession, vm_refs: Sequence[str]) -> dict[str, str]:
    """`runtime.powerState` of the given VM morefs in one retrieval; `notFound` if gone."""
    object_specs = [
        Collector.ObjectSpec(obj=session.ref(vim.VirtualMachine, ref)) for ref in vm_refs
    ]
    spec = Collector.FilterSpec(
        objectSet=object_specs,
        propSet=[_prop_spec(vim.VirtualMachine, ["runtime.powerState"])],
        reportMissingObjectsInResults=True,
    )
    found = {
        moref_of(o["obj"]): str(o.get("runtime.powerState", "unknown"))
        for o in _retrieve(session, spec)
    }
    return {ref: found.get(ref, "notFound") for ref in vm_refs}


def _retrieve_inventory(session: VimSession) -> dict[str, list[Props]]:
    """All VM, host and datastore properties, our session and the license assignment
    manager, in one RetrievePropertiesEx (plus creating and destroying the view)."""
    content = session.content
    # A view per call rather than per session: a stale view answers ManagedObjectNotFound
    # instead of NotAuthenticated, which would hide an expired session.
    view = content.viewManager.CreateContainerView(
        content.rootFolder, [vim.VirtualMachine, vim.HostSystem, vim.Datastore], True
    )
    traverse_view = Collector.TraversalSpec(
        name="view", path="view", skip=False, type=vim.view.ContainerView
    )
    spec = Collector.FilterSpec(
        objectSet=[
            Collector.ObjectSpec(obj=view, skip=True, selectSet=[traverse_view]),
            Collector.ObjectSpec(obj=content.sessionManager),
            Collector.ObjectSpec(obj=content.licenseManager),
        ],
        propSet=[
            _prop_spec(vim.VirtualMachine, VM_PROPERTIES),
            _prop_spec(vim.HostSystem, HOST_PROPERTIES),
            _prop_spec(vim.Datastore, DATASTORE_PROPERTIES),
            _prop_spec(vim.SessionManager, ["currentSession"]),
            _prop_spec(vim.LicenseManager, ["licenseAssignmentManager"]),
        ],
    )
    objects: dict[str, list[Props]] = {
        kind: []
        for kind in (
            "VirtualMachine",
            "HostSystem",
            "Datastore",
            "SessionManager",
            "LicenseManager",
        )
    }
    try:
        for props in _retrieve(session, spec):
            objects[props["obj"]._wsdlName].append(props)
    finally:
        with contextlib.suppress(vmodl.MethodFault):
            view.DestroyView()
    return objects


def _retrieve(session: VimSession, spec: Any) -> Iterator[Props]:
    """RetrievePropertiesEx, following `token` pages; yields {path: value, "obj": mo}."""
    collector = session.content.propertyCollector
    result = collector.RetrievePropertiesEx([spec], Collector.RetrieveOptions())
    while result is not None:
        for obj in result.objects:
            props: Props = {p.name: p.val for p in obj.propSet}
            props["obj"] = obj.obj
            yield props
        if not result.token:
            return
        result = collector.ContinueRetrievePropertiesEx(result.token)


def _assigned_licenses(manager: Any) -> tuple[dict[str, Any], str | None]:
    """Every license assignment in one call; hosts are keyed by moref (`entityId`)."""
    if manager is None:
        return {}, "host licenses: vCenter has no license assignment manager"
    try:
        assignments = manager.QueryAssignedLicenses()
    except vim.fault.NotAuthenticated:
        raise
    except (vim.fault.NoPermission, vmodl.fault.NotSupported) as exc:
        return {}, f"host licenses: {fault_text(exc)}"
    return {a.entityId: a.assignedLicense for a in assignments or ()}, None


def missing_root_privileges(session: VimSession) -> tuple[str, ...]:
    """The write privileges reprotect needs that this session lacks on the inventory's root
    (`check` asks before any preflight; a preflight asks again on the datastores and VMs)."""
    current = session.content.sessionManager.currentSession
    checked = DATASTORE_WRITE_PRIVILEGES + VM_DISK_PRIVILEGES
    answers = session.content.authorizationManager.HasPrivilegeOnEntities(
        entity=[session.content.rootFolder], sessionId=current.key, privId=list(checked))
    granted = {p.privId for a in answers or () for p in a.privAvailability or () if p.isGranted}
    return tuple(p for p in checked if p not in granted)


def _privileges(
    session: VimSession,
    current: Any,
    datastores: Sequence[DatastoreInfo],
    vms: Sequence[VmInfo],
) -> tuple[PrivilegeReport | None, str | None]:
    """Ask vCenter which write privileges this session holds, in one call."""
    if current is None:
        return None, "privileges: vCenter did not report the current session"
    names = {d.moref: d.name for d in datastores} | {v.moref: v.name for v in vms}
    entities = [session.ref(vim.Datastore, d.moref) for d in datastores]
    entities += [session.ref(vim.VirtualMachine, m) for m in dict.fromkeys(v.moref for v in vms)]
    checked = DATASTORE_WRITE_PRIVILEGES + VM_DISK_PRIVILEGES
    try:
        answers = session.content.authorizationManager.HasPrivilegeOnEntities(
            entity=entities, sessionId=current.key, privId=list(checked)
        )
    except vim.fault.NotAuthenticated:
        raise
    except (vim.fault.NoPermission, vmodl.fault.NotSupported, vmodl.fault.MethodNotFound) as exc:
        return None, f"privileges: {fault_text(exc)}"
    missing = []
    for answer in answers or ():
        ref = moref_of(answer.entity)
        wanted = (
            DATASTORE_WRITE_PRIVILEGES
            if isinstance(answer.entity, vim.Datastore)
            else VM_DISK_PRIVILEGES
        )
        missing += [
            MissingPrivilege(ref, names.get(ref, ref), p.privId)
            for p in answer.privAvailability or ()
            if p.privId in wanted and not p.isGranted
        ]
    return PrivilegeReport(checked=checked, missing=tuple(missing)), None


def _storage_vmotions(
    session: VimSession, vm: VmInfo
) -> tuple[tuple[StorageVMotion, ...] | None, str | None]:
    """The VM's migrations to another datastore in vCenter's event history, in one call.

    Site Recovery cannot fail back through a master target moved by Storage vMotion, and
    only the events remember a move: the VM's properties show where it is, not where it was.
    """
    entity = vim.event.EventFilterSpec.ByEntity(
        entity=session.ref(vim.VirtualMachine, vm.moref), recursion="self"
    )
    spec = vim.event.EventFilterSpec(
        entity=entity, eventTypeId=list(MIGRATION_EVENTS), maxCount=MAX_EVENTS
    )
    try:
        events = session.content.eventManager.QueryEvents(spec)
    except vim.fault.NotAuthenticated:
        raise
    except (
        vim.fault.NoPermission,
        vmodl.fault.NotSupported,
        vmodl.fault.NotImplemented,
        vmodl.fault.MethodNotFound,
        vmodl.fault.InvalidArgument,
    ) as exc:
        return None, f"master target events: {fault_text(exc)}"
    moves = (storage_vmotion(e) for e in events or ())
    return tuple(sorted((m for m in moves if m), key=lambda m: m.when)), None




def _prop_spec(kind: Any, paths: Iterable[str]) -> Any:
    return Collector.PropertySpec(type=kind, pathSet=list(paths), all=False)

