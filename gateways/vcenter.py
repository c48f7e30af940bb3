"""vCenter gateway: one pyVmomi session, one property retrieval per inventory.

Preflight reads the VMs of a plan, the master target VM, the hosts and the datastores. All
of it comes from a single `PropertyCollector.RetrievePropertiesEx` over a container view,
then is matched in Python: pyVmomi's one-property-at-a-time accessors cost a round trip per
attribute per VM (slow for a 100-VM plan over a VPN) and crash old simulators. The master
target's past Storage vMotions are in no property, so one `EventManager.QueryEvents` adds them.
Nothing outside this module imports pyVmomi; callers get `vcenter_models` dataclasses and
`VCenterError` subclasses whose messages say what to do.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import pyVim.connect
import pyVmomi

from gateways.errors import (
    VCenterAuthError,
    VCenterError,
    VCenterPermissionError,
    VCenterUnreachable,
)
from gateways.timestamps import utc
from gateways.vcenter_models import (
    DATASTORE_WRITE_PRIVILEGES,
    VM_DISK_PRIVILEGES,
    AboutInfo,
    DatastoreInfo,
    DatastoreMount,
    DiskInfo,
    HostInfo,
    MatchedBy,
    MissingPrivilege,
    PrivilegeReport,
    ScsiKind,
    StorageVMotion,
    VCenterInventory,
    VmInfo,
)

log = logging.getLogger(__name__)

# pyVmomi 9 ships partial inline annotations (untyped constructors, no stubs before 9):
# treat it as dynamic in one place rather than sprinkling ignores.
vim: Any = pyVmomi.vim
vmodl: Any = pyVmomi.vmodl
pyvim_connect: Any = pyVim.connect
Collector: Any = vmodl.query.PropertyCollector

T = TypeVar("T")
Props = dict[str, Any]

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

# Every specific controller class derives from VirtualSCSIController, so the generic one
# comes last.
SCSI_KINDS: tuple[tuple[Any, ScsiKind], ...] = (
    (vim.vm.device.ParaVirtualSCSIController, "pvscsi"),
    (vim.vm.device.VirtualLsiLogicSASController, "lsilogic-sas"),
    (vim.vm.device.VirtualLsiLogicController, "lsilogic"),
    (vim.vm.device.VirtualBusLogicController, "buslogic"),
    (vim.vm.device.VirtualSCSIController, "scsi"),
)


@dataclass(frozen=True)
class VCenterConfig:
    """Connection settings; `password` is the unwrapped secret and never shown in repr."""

    url: str
    user: str
    password: str = field(repr=False)
    ca_bundle: str | None = None
    insecure: bool = False
    timeout_seconds: float = 30.0


class VCenterGateway:
    """A lazily opened, reused vCenter session (thread-safe; re-logs in once on expiry).

    `round_trips` counts the SOAP requests sent after login, so tests can prove that an
    inventory costs the same for 5 VMs as for 100.
    """

    def __init__(self, config: VCenterConfig) -> None:
        parts = urlsplit(config.url)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError(
                f"VCENTER_URL must look like https://vcenter.example/sdk, got {config.url!r}"
            )
        self._config = config
        self._host = parts.hostname
        self._port = parts.port or 443
        self._path = parts.path or "/sdk"
        self._lock = threading.Lock()
        self._session: _Session | None = None
        self._warned_insecure = False
        self.round_trips = 0

    # -- public API ---------------------------------------------------------------------

    def inventory(
        self,
        *,
        vm_names: Sequence[str],
        vm_uuids: Sequence[str],
        master_target: str,
        master_target_ip: str | None = None,
    ) -> VCenterInventory:
        """Read every VM, host and datastore once, then find the requested ones; then the
        master target's migration events, in one more call."""
        return self._call(
            lambda s: self._inventory(s, vm_names, vm_uuids, master_target, master_target_ip)
        )

    def power_states(self, vm_refs: Sequence[str]) -> dict[str, str]:
        """`runtime.powerState` of the given VM morefs in one retrieval; `notFound` if gone."""
        if not vm_refs:
            return {}

        def retrieve(session: _Session) -> dict[str, str]:
            object_specs = [
                Collector.ObjectSpec(obj=session.ref(vim.VirtualMachine, ref)) for ref in vm_refs
            ]
            spec = Collector.FilterSpec(
                objectSet=object_specs,
                propSet=[_prop_spec(vim.VirtualMachine, ["runtime.powerState"])],
                reportMissingObjectsInResults=True,
            )
            found = {
                _moref(o["obj"]): str(o.get("runtime.powerState", "unknown"))
                for o in _retrieve(session, spec)
            }
            return {ref: found.get(ref, "notFound") for ref in vm_refs}

        return self._call(retrieve)

    def close(self) -> None:
        """Log out; the next call logs in again."""
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            try:
                session.content.sessionManager.Logout()
            except (vmodl.MethodFault, OSError, http.client.HTTPException) as exc:
                log.info("vCenter logout failed, session will expire on its own: %s", exc)

    # -- session ------------------------------------------------------------------------

    def _call(self, operation: Callable[[_Session], T]) -> T:
        """Run `operation` in a session, logging in first or again once if it expired."""
        session = self._ensure_session()
        try:
            return self._translate(session, operation)
        except _SessionExpired:
            log.info("vCenter session expired; logging in again")
            self._drop_session(session)
            session = self._ensure_session()
            try:
                return self._translate(session, operation)
            except _SessionExpired as exc:
                raise VCenterAuthError(
                    "vCenter ended the new session immediately.",
                    why=str(exc),
                    fix="Check the account in vCenter (locked or disabled?) and retry.",
                ) from None

    def _translate(self, session: _Session, operation: Callable[[_Session], T]) -> T:
        """Turn pyVmomi and socket failures into `VCenterError`s with a fix."""
        try:
            return operation(session)
        except vim.fault.NotAuthenticated as exc:  # a NoPermission subclass: test it first
            raise _SessionExpired(_fault_text(exc)) from exc
        except vim.fault.NoPermission as exc:
            raise VCenterPermissionError(
                f"vCenter account {self._config.user!r} may not read the inventory.",
                why=_fault_text(exc),
                fix="Give the account at least read-only access to the vCenter root, "
                "propagated to children.",
            ) from None
        except vmodl.MethodFault as exc:
            raise VCenterError(
                f"vCenter {self._host} refused a request.",
                why=_fault_text(exc),
                fix="Retry; if it persists, check vCenter's health.",
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            self._drop_session(session)
            raise self._unreachable(exc) from None

    def _ensure_session(self) -> _Session:
        with self._lock:
            if self._session is None:
                self._session = self._login()
                self._session.stub.requestModifierList.append(self._count_request)
            return self._session

    def _drop_session(self, session: _Session) -> None:
        """Forget `session` unless another thread already replaced it."""
        with self._lock:
            if self._session is session:
                self._session = None

    def _login(self) -> _Session:
        cfg = self._config
        try:
            si = pyvim_connect.SmartConnect(
                host=self._host,
                port=self._port,
                path=self._path,
                user=cfg.user,
                pwd=cfg.password,
                sslContext=self._ssl_context(),
                httpConnectionTimeout=cfg.timeout_seconds,
            )
            return _Session(si._stub, si.RetrieveContent())
        except vim.fault.InvalidLogin:
            raise VCenterAuthError(
                f"vCenter {self._host} rejected the login of {cfg.user!r}.",
                why="Wrong user name or password, or the account is locked.",
                fix="Check VCENTER_USER and VCENTER_PASSWORD (user names look like "
                "cloudadmin@vsphere.local).",
            ) from None
        except vmodl.MethodFault as exc:
            raise VCenterError(
                f"vCenter {self._host} refused the login of {cfg.user!r}.",
                why=_fault_text(exc),
                fix="Check the account in vCenter and retry.",
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise self._unreachable(exc) from None

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self._config.ca_bundle)
        if self._config.insecure:
            if not self._warned_insecure:
                log.warning(
                    "VCENTER_INSECURE=1: not verifying the certificate of %s; anyone on the "
                    "path can read the vCenter password",
                    self._host,
                )
                self._warned_insecure = True
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _unreachable(self, exc: BaseException) -> VCenterUnreachable:
        where = f"https://{self._host}:{self._port}{self._path}"
        if isinstance(exc, ssl.SSLCertVerificationError):
            return VCenterUnreachable(
                f"vCenter {where} presented a certificate this bot does not trust.",
                why=exc.verify_message or str(exc),
                fix="Set VCENTER_CA_BUNDLE to the CA file that signs vCenter's certificate "
                "(VCENTER_INSECURE=1 only for a lab).",
            )
        if isinstance(exc, ssl.SSLError):
            return VCenterUnreachable(
                f"TLS handshake with vCenter {where} failed.",
                why=str(exc),
                fix="Check VCENTER_URL points at vCenter's HTTPS port.",
            )
        return VCenterUnreachable(
            f"Cannot reach vCenter at {where}.",
            why=f"{type(exc).__name__}: {exc}",
            fix="Check VCENTER_URL, DNS, and that the VPN or ExpressRoute to the private "
            f"cloud is up and port {self._port} is open.",
        )

    def _count_request(self, request: T) -> T:
        """pyVmomi request modifier: sees every SOAP request once, returns it untouched."""
        self.round_trips += 1
        return request

    # -- retrieval ----------------------------------------------------------------------

    def _inventory(
        self,
        session: _Session,
        vm_names: Sequence[str],
        vm_uuids: Sequence[str],
        master_target: str,
        master_target_ip: str | None,
    ) -> VCenterInventory:
        """One session's worth of work, so a re-login retries all of it consistently."""
        objects = _retrieve_inventory(session)
        vms = [_vm_info(o) for o in objects["VirtualMachine"]]
        datastores = tuple(_datastore_info(o) for o in objects["Datastore"])
        managers = objects["LicenseManager"]
        licenses, license_note = _assigned_licenses(
            managers[0].get("licenseAssignmentManager") if managers else None
        )
        hosts = tuple(
            _host_info(o, objects["Datastore"], licenses.get(_moref(o["obj"])))
            for o in objects["HostSystem"]
        )

        by_uuid = _lookup(vm_uuids, vms, lambda vm: (vm.bios_uuid, vm.instance_uuid), _norm_uuid)
        by_name = _lookup(vm_names, vms, lambda vm: (vm.name,), str.casefold)
        mt_candidates, mt_matched_by = _find_master_target(vms, master_target, master_target_ip)

        master = mt_candidates[0] if len(mt_candidates) == 1 else None
        found = [m[0] for m in (*by_uuid.values(), *by_name.values()) if len(m) == 1]
        found += [master] if master else []
        sessions = objects["SessionManager"]
        current = sessions[0].get("currentSession") if sessions else None
        privileges, privilege_note = _privileges(session, current, datastores, found)
        moves, events_note = _storage_vmotions(session, master) if master else ((), None)

        return VCenterInventory(
            about=_about(session.content.about),
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


class _SessionExpired(Exception):
    """Internal: the session cookie is no longer valid (vim.fault.NotAuthenticated)."""


@dataclass(frozen=True)
class _Session:
    """One login: the SOAP stub and the service content retrieved with it."""

    stub: Any
    content: Any

    def ref(self, kind: Any, moref: str) -> Any:
        """A managed object reference bound to this session, without any round trip."""
        return kind(moref, self.stub)


# -- retrieval (each function is a fixed number of round trips) ----------------------------


def _retrieve_inventory(session: _Session) -> dict[str, list[Props]]:
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


def _retrieve(session: _Session, spec: Any) -> Iterator[Props]:
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
        return {}, f"host licenses: {_fault_text(exc)}"
    return {a.entityId: a.assignedLicense for a in assignments or ()}, None


def _privileges(
    session: _Session,
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
        return None, f"privileges: {_fault_text(exc)}"
    missing = []
    for answer in answers or ():
        ref = _moref(answer.entity)
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
    session: _Session, vm: VmInfo
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
        return None, f"master target events: {_fault_text(exc)}"
    moves = (_storage_vmotion(e) for e in events or ())
    return tuple(sorted((m for m in moves if m), key=lambda m: m.when)), None


# -- conversion (pure; pyVmomi data objects in, dataclasses out) ---------------------------


def _prop_spec(kind: Any, paths: Iterable[str]) -> Any:
    return Collector.PropertySpec(type=kind, pathSet=list(paths), all=False)


def _moref(obj: Any) -> str:
    return cast(str, obj._GetMoId())


def _fault_text(exc: BaseException) -> str:
    return str(getattr(exc, "msg", "") or type(exc).__name__)


def _norm_uuid(value: str) -> str:
    return value.strip("{} ").replace("-", "").casefold()


def _about(about: Any) -> AboutInfo:
    return AboutInfo(
        name=about.name,
        full_name=about.fullName,
        version=about.version,
        build=about.build,
        api_type=about.apiType,
        api_version=about.apiVersion,
        instance_uuid=about.instanceUuid or "",
    )


def _vm_info(props: Props) -> VmInfo:
    devices = props.get("config.hardware.device") or ()
    extra = {o.key: o.value for o in props.get("config.extraConfig") or ()}
    enable_uuid = extra.get("disk.EnableUUID")
    ips = [props.get("guest.ipAddress")]
    ips += [ip for nic in props.get("guest.net") or () for ip in nic.ipAddress or ()]
    return VmInfo(
        moref=_moref(props["obj"]),
        name=props.get("name", ""),
        bios_uuid=props.get("config.uuid"),
        instance_uuid=props.get("config.instanceUuid"),
        is_template=bool(props.get("config.template")),
        power_state=str(props.get("runtime.powerState", "unknown")),
        host=_moref(props["runtime.host"]) if props.get("runtime.host") else None,
        snapshot_count=sum(1 for _ in _walk_snapshots(props.get("snapshot.rootSnapshotList"))),
        tools_running_status=props.get("guest.toolsRunningStatus"),
        disk_enable_uuid=None if enable_uuid is None else str(enable_uuid).lower() == "true",
        scsi_controllers=tuple(k for k in map(_scsi_kind, devices) if k),
        disks=tuple(_disk_info(d) for d in devices if isinstance(d, vim.vm.device.VirtualDisk)),
        datastores=tuple(_moref(d) for d in props.get("datastore") or ()),
        guest_host_name=props.get("guest.hostName"),
        ip_addresses=tuple(dict.fromkeys(ip for ip in ips if ip)),
    )


def _storage_vmotion(event: Any) -> StorageVMotion | None:
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
        return _moref(a.datastore) == _moref(b.datastore)
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
        datastore=_moref(datastore) if datastore is not None else None,
        backing_uuid=getattr(backing, "uuid", None),
    )


def _datastore_info(props: Props) -> DatastoreInfo:
    return DatastoreInfo(
        moref=_moref(props["obj"]),
        name=props.get("name", ""),
        type=props.get("summary.type"),
        capacity_bytes=props.get("summary.capacity"),
        free_bytes=props.get("summary.freeSpace"),
        accessible=props.get("summary.accessible"),
        url=props.get("summary.url"),
    )


def _host_info(props: Props, datastores: Sequence[Props], license_info: Any) -> HostInfo:
    """A host with its mounts; mount modes live on each datastore's `host` list."""
    moref = _moref(props["obj"])
    mount_info = {
        _moref(ds["obj"]): mount.mountInfo
        for ds in datastores
        for mount in ds.get("host") or ()
        if _moref(mount.key) == moref
    }
    mounts = []
    for ds in props.get("datastore") or ():
        info = mount_info.get(_moref(ds))
        mounts.append(
            DatastoreMount(
                datastore=_moref(ds),
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


def _lookup(
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


def _find_master_target(
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
