"""Shape vcsim's inventory through the vSphere API, as a vSphere admin would.

Tests create their own VMs (CreateVM_Task) and change them (ReconfigVM_Task,
CreateSnapshot_Task, PowerOnVM_Task, RelocateVM_Task) through a separate admin session, so
that they do not depend on each other's order. pyVmomi's annotations are partial: it is used
dynamically.
"""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pyVim.connect
import pyVim.task
import pyVmomi

from gateways.vcenter import VCenterConfig
from tests.support.vcsim import VcsimInstance

vim: Any = pyVmomi.vim
device: Any = vim.vm.device
SmartConnect: Any = pyVim.connect.SmartConnect
WaitForTask: Any = pyVim.task.WaitForTask


@contextmanager
def admin_content(vcsim: VcsimInstance) -> Iterator[Any]:
    """A pyVmomi session of its own that plays the vSphere admin shaping the inventory."""
    url = urlsplit(vcsim.url)
    si = SmartConnect(
        host=url.hostname,
        port=url.port,
        user=vcsim.username,
        pwd=vcsim.password,
        sslContext=ssl.create_default_context(cafile=vcsim.ca_pem_path),
    )
    service_content = si.RetrieveContent()
    yield service_content
    service_content.sessionManager.Logout()


def config(vcsim: VcsimInstance, **overrides: Any) -> VCenterConfig:
    """The bot's gateway settings for this simulator (verified TLS)."""
    values: dict[str, Any] = {
        "url": vcsim.url,
        "user": vcsim.username,
        "password": vcsim.password,
        "ca_bundle": vcsim.ca_pem_path,
        "insecure": False,
    }
    return VCenterConfig(**(values | overrides))


def find_vm(content: Any, name: str) -> Any:
    found = content.searchIndex.FindByInventoryPath(f"DC0/vm/{name}")
    assert found is not None, name
    return found


def reconfigure(vm: Any, **spec: Any) -> None:
    WaitForTask(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(**spec)))


def extra(**values: str) -> list[Any]:
    """extraConfig entries; vcsim applies `SET.guest.*` keys to the VM's guest info."""
    return [vim.option.OptionValue(key=k.replace("__", "."), value=v) for k, v in values.items()]


def new_uuid() -> str:
    return str(uuid.uuid4())


def create_vm(
    content: Any,
    name: str,
    *,
    bios_uuid: str | None = None,
    disk_uuid: str | None = None,
    ip: str = "10.0.0.20",
    compute: str = "DC0_C0",
    host: str | None = None,
) -> Any:
    """A VM like a master target: LSI Logic, one disk, a NIC, tools running; in `compute`
    (cluster DC0_C0 or standalone host DC0_H0), on `host` of it when given."""
    disk_backing = device.VirtualDisk.FlatVer2BackingInfo(
        fileName="[LocalDS_1]", diskMode="persistent", uuid=disk_uuid
    )
    devices = [
        device.VirtualLsiLogicController(key=-100, busNumber=0, sharedBus="noSharing"),
        device.VirtualDisk(
            key=-101, controllerKey=-100, unitNumber=0, capacityInKB=4096, backing=disk_backing
        ),
        device.VirtualE1000(
            key=-102,
            backing=device.VirtualEthernetCard.NetworkBackingInfo(deviceName="VM Network"),
        ),
    ]
    spec = vim.vm.ConfigSpec(
        name=name,
        guestId="otherGuest64",
        uuid=bios_uuid,
        files=vim.vm.FileInfo(vmPathName="[LocalDS_1]"),
        deviceChange=[
            device.VirtualDeviceSpec(
                operation="add",
                fileOperation="create" if isinstance(d, device.VirtualDisk) else None,
                device=d,
            )
            for d in devices
        ],
        extraConfig=extra(
            disk__EnableUUID="TRUE",
            SET__guest__toolsRunningStatus="guestToolsRunning",
            SET__guest__ipAddress=ip,
            SET__guest__hostName=f"{name}.avs.example",
        ),
    )
    index = content.searchIndex
    folder = index.FindByInventoryPath("DC0/vm")
    pool = index.FindByInventoryPath(f"DC0/host/{compute}/Resources")
    target = index.FindByInventoryPath(f"DC0/host/{compute}/{host}") if host else None
    task = folder.CreateVM_Task(config=spec, pool=pool, host=target)
    WaitForTask(task)
    return task.info.result


def storage_vmotion(content: Any, vm: Any, datastore: str) -> None:
    """Move `vm` to `datastore` (RelocateVM_Task), and record it as vCenter would.

    vcsim 0.24 moves the VM's `datastore` but posts no event for a relocation, so this posts
    the VmRelocatedEvent a vCenter records (EventManager.PostEvent, which vcsim stores as is).
    """
    source = vm.datastore[0]
    target = content.searchIndex.FindByInventoryPath(f"DC0/datastore/{datastore}")
    WaitForTask(vm.RelocateVM_Task(spec=vim.vm.RelocateSpec(datastore=target)))
    post_migration(content, vm, vim.event.VmRelocatedEvent, source=source, target=target)


def post_migration(content: Any, vm: Any, kind: Any, *, source: Any, target: Any) -> None:
    """Post a completed-migration event of `kind` for `vm`, from datastore `source` to
    `target`, on its current host."""
    host = vm.runtime.host
    ds = vim.event.DatastoreEventArgument
    content.eventManager.PostEvent(kind(
        key=0, chainId=0, createdTime=datetime.now(UTC), userName="", template=False,
        vm=vim.event.VmEventArgument(name=vm.name, vm=vm),
        host=vim.event.HostEventArgument(name=host.name, host=host),
        sourceHost=vim.event.HostEventArgument(name=host.name, host=host),
        ds=ds(name=target.name, datastore=target),
        sourceDatastore=ds(name=source.name, datastore=source),
    ))
