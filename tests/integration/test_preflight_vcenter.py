"""The vCenter preflight checks against vcsim: each passes, then fails once vCenter is shaped.

Each test creates its own master target VM and plan VMs through the vSphere API (snapshot,
UUID clash, Paravirtual controller, Storage vMotion, NFS datastore, powered-on AVS VM, a host
on old ESXi), reads them with the real gateway, and runs the registry on Site Recovery's side
as healthy values. The last tests resolve a whole plan from the ARM emulator and vcsim
together. What vcsim cannot shape (missing privileges, free ESXi licences, unreadable events)
is covered by tests/unit/test_preflight_checks.py.
"""

from __future__ import annotations

import functools
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.views import checks as said
from core.plan import CheckResult, Choice, ReprotectRequest, ResolvedPlan, Verdict
from gateways.site_recovery import AzureSiteRecovery
from gateways.vcenter import VCenterConfig, VCenterGateway
from intake.parser import parse
from intake.planning import Sources, resolve
from providers.checks import VCenterReading
from providers.classic.preflight import run_checks
from sandbox.arm_emulator import ArmEmulator
from sandbox.arm_world import World, stable_guid
from store.models import utcnow
from tests.support.preflight import discovered_vcenter, facts, item, master_target
from tests.support.vcsim import VcsimInstance, start_vcsim
from tests.support.vcsim_shapes import (
    WaitForTask,
    config,
    create_vm,
    device,
    find_vm,
    reconfigure,
    storage_vmotion,
    vim,
)

pytestmark = pytest.mark.slow  # a whole bot per test: `pytest -m "not slow"` leaves them out

OLD_HOST = "DC0_H0"
# vcsim's hosts say 6.5.0 and report no licence per host: the cluster runs 7.0 here, so a
# free-licence doubt (5.5 and 6.x only) does not apply; the standalone host is too old.
ESXI_VERSIONS = {"DC0_C0_H0": "7.0.3", "DC0_C0_H1": "7.0.3", OLD_HOST: "5.1.0"}
COMMAND = 'plan="Finance tier 1" master=avs-mt-01'


@pytest.fixture(scope="module")
def vcsim() -> Iterator[VcsimInstance]:
    with start_vcsim(vms=3, esxi_versions=ESXI_VERSIONS) as instance:
        yield instance


@pytest.fixture
def make_vm(content: Any) -> Callable[..., Any]:
    return functools.partial(create_vm, content, host="DC0_C0_H0")


def preflight(gateway: VCenterGateway, *, master: str, vms: Sequence[str],
              datastore: str = "LocalDS_1", datastore_type: str = "vSAN",
              by_uuid: dict[str, str] | None = None) -> list[CheckResult]:
    """Every check, with Site Recovery healthy and vCenter as vcsim shows it now."""
    by_uuid = by_uuid or {}
    items = tuple(item(n, friendly_name=name, vm_uuid=by_uuid.get(name))
                  for n, name in enumerate(vms, start=1))
    inventory = gateway.inventory(vm_names=list(vms), vm_uuids=list(by_uuid.values()),
                                  master_target=master)
    f = replace(facts(), items=items, master_target=master_target(name=master),
                master_wanted=master, datastore=Choice(datastore, datastore),
                datastore_type=datastore_type,
                vcenter=VCenterReading(host="127.0.0.1", inventory=inventory),
                vcenters=(discovered_vcenter(ip_address="127.0.0.1"),))
    return run_checks(f)


def verdicts(results: Sequence[CheckResult], check: str) -> set[Verdict]:
    return {r.verdict for r in results if r.check == check}


def says(results: Sequence[CheckResult], check: str) -> str:
    return " ".join(said.message(r) for r in results if r.check == check)


def test_a_fit_master_target_passes_every_vcenter_check(
        gateway: VCenterGateway, make_vm: Callable[..., Any]) -> None:
    make_vm("mt-fit")
    make_vm("fit-app")
    results = preflight(gateway, master="mt-fit", vms=["fit-app"])
    for check in ("vcenter-connected", "target-vcenter-discovered", "vcenter-permissions",
                  "mt-no-snapshots", "uuid-unique", "mt-vm-settings", "esxi-supported",
                  "datastore-ok", "datastore-type", "avs-vm-off"):
        assert verdicts(results, check) == {Verdict.PASS}, (check, says(results, check))


def test_snapshot_on_the_master_target_blocks(gateway: VCenterGateway,
                                              make_vm: Callable[..., Any]) -> None:
    mt = make_vm("mt-snapped")
    assert verdicts(preflight(gateway, master="mt-snapped", vms=[]),
                    "mt-no-snapshots") == {Verdict.PASS}
    WaitForTask(mt.CreateSnapshot_Task(name="before-patch", memory=False, quiesce=False))
    results = preflight(gateway, master="mt-snapped", vms=[])
    assert verdicts(results, "mt-no-snapshots") == {Verdict.BLOCK}
    assert "1 snapshot(s)" in says(results, "mt-no-snapshots")


def test_uuid_clash_with_the_master_target_blocks(content: Any, gateway: VCenterGateway,
                                                  make_vm: Callable[..., Any]) -> None:
    plan_vm = find_vm(content, "DC0_H0_VM1")
    make_vm("mt-unique")
    bios = plan_vm.config.uuid
    assert verdicts(preflight(gateway, master="mt-unique", vms=["DC0_H0_VM1"],
                              by_uuid={"DC0_H0_VM1": bios}), "uuid-unique") == {Verdict.PASS}
    make_vm("mt-cloned", bios_uuid=bios)  # cloned from the template the plan VM came from
    results = preflight(gateway, master="mt-cloned", vms=["DC0_H0_VM1"],
                        by_uuid={"DC0_H0_VM1": bios})
    (clash,) = [r for r in results if r.check == "uuid-unique"]
    assert clash.verdict is Verdict.BLOCK and clash.vms == ("DC0_H0_VM1",)
    assert "mt-cloned" in said.message(clash)


def test_paravirtual_controller_on_the_master_target_blocks(
        gateway: VCenterGateway, make_vm: Callable[..., Any]) -> None:
    mt = make_vm("mt-pv")
    assert verdicts(preflight(gateway, master="mt-pv", vms=[]), "mt-vm-settings") == \
        {Verdict.PASS}
    pvscsi = device.ParaVirtualSCSIController(key=-1, busNumber=1, sharedBus="noSharing")
    reconfigure(mt, deviceChange=[device.VirtualDeviceSpec(operation="add", device=pvscsi)])
    results = preflight(gateway, master="mt-pv", vms=[])
    assert verdicts(results, "mt-vm-settings") == {Verdict.BLOCK}
    assert "Paravirtual" in says(results, "mt-vm-settings")


def test_storage_vmotion_of_the_master_target_blocks(
        content: Any, gateway: VCenterGateway, make_vm: Callable[..., Any]) -> None:
    mt = make_vm("mt-svmotion")
    assert verdicts(preflight(gateway, master="mt-svmotion", vms=[]), "mt-vm-settings") == \
        {Verdict.PASS}
    storage_vmotion(content, mt, "LocalDS_0")
    results = preflight(gateway, master="mt-svmotion", vms=[])
    assert verdicts(results, "mt-vm-settings") == {Verdict.BLOCK}
    assert "Storage vMotion of master target VM `mt-svmotion`" in says(results, "mt-vm-settings")
    assert "from `LocalDS_1` to `LocalDS_0`" in says(results, "mt-vm-settings")


def test_nfs_datastore_blocks_even_when_site_recovery_says_vmfs(
        content: Any, gateway: VCenterGateway, make_vm: Callable[..., Any],
        tmp_path: Path) -> None:
    make_vm("mt-nfs")
    results = preflight(gateway, master="mt-nfs", vms=[], datastore="LocalDS_0",
                        datastore_type="VMFS")
    assert verdicts(results, "datastore-type") == {Verdict.PASS}
    assert verdicts(results, "datastore-ok") == {Verdict.PASS}
    host = content.searchIndex.FindByInventoryPath("DC0/host/DC0_H0/DC0_H0")
    (tmp_path / "nfs-fb").mkdir()
    host.configManager.datastoreSystem.CreateNasDatastore(spec=vim.host.NasVolume.Specification(
        remoteHost="nfs.avs.example", remotePath="/export/fb", localPath=str(tmp_path / "nfs-fb"),
        accessMode="readWrite", type="NFS"))
    results = preflight(gateway, master="mt-nfs", vms=[], datastore="nfs-fb",
                        datastore_type="VMFS")
    assert Verdict.BLOCK in verdicts(results, "datastore-type")
    assert "vCenter reports datastore `nfs-fb` as NFS" in says(results, "datastore-type")
    # Mounted on the standalone host only, not on the master target's cluster host.
    assert Verdict.BLOCK in verdicts(results, "datastore-ok")
    assert "not mounted on master target host `DC0_C0_H0`" in says(results, "datastore-ok")


def test_powered_on_avs_vm_warns(content: Any, gateway: VCenterGateway,
                                 make_vm: Callable[..., Any]) -> None:
    make_vm("mt-power")
    make_vm("power-app")
    assert verdicts(preflight(gateway, master="mt-power", vms=["power-app"]),
                    "avs-vm-off") == {Verdict.PASS}
    WaitForTask(find_vm(content, "power-app").PowerOnVM_Task())
    results = preflight(gateway, master="mt-power", vms=["power-app"])
    (warning,) = [r for r in results if r.check == "avs-vm-off"]
    assert (warning.verdict, warning.vms) == (Verdict.WARN, ("power-app",))


def test_master_target_on_old_esxi_blocks(gateway: VCenterGateway,
                                          make_vm: Callable[..., Any]) -> None:
    make_vm("mt-new-host")
    assert verdicts(preflight(gateway, master="mt-new-host", vms=[]), "esxi-supported") == \
        {Verdict.PASS}
    make_vm("mt-old-host", compute=OLD_HOST, host=OLD_HOST)
    results = preflight(gateway, master="mt-old-host", vms=[])
    assert verdicts(results, "esxi-supported") == {Verdict.BLOCK}
    assert f"`{OLD_HOST}` (5.1.0)" in says(results, "esxi-supported")


def test_missing_master_target_vm_is_confirmed_by_hand(gateway: VCenterGateway) -> None:
    """Not found in the bot's vCenter is not proven wrong: its checks go to an approver."""
    results = preflight(gateway, master="mt-nowhere", vms=[])
    assert verdicts(results, "mt-vm-settings") == {Verdict.WARN, Verdict.MANUAL}
    assert "is not in vCenter" in says(results, "mt-vm-settings")
    assert verdicts(results, "mt-no-snapshots") == {Verdict.MANUAL}


# -- the whole plan: Site Recovery and vCenter read together --------------------------------


@pytest.fixture
def asr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AzureSiteRecovery]:
    with ArmEmulator(World.sample(3), ca_dir=tmp_path / "ca") as emulator:
        env = emulator.env()
        for key in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "REQUESTS_CA_BUNDLE"):
            monkeypatch.setenv(key, env[key])
        client = AzureSiteRecovery(
            subscription_id=env["AZURE_SUBSCRIPTION_ID"],
            resource_group=env["ASR_RESOURCE_GROUP"], vault=env["ASR_VAULT_NAME"],
            arm_endpoint=env["AZURE_ARM_ENDPOINT"])
        yield client
        client.close()


def request() -> ReprotectRequest:
    parsed = parse(COMMAND)
    assert isinstance(parsed, ReprotectRequest)
    return parsed


def test_a_plan_resolves_with_vcenter_in_a_fixed_number_of_round_trips(
        content: Any, gateway: VCenterGateway, make_vm: Callable[..., Any],
        asr: AzureSiteRecovery) -> None:
    """The sample plan's VMs are found by the BIOS UUIDs Site Recovery knows them by."""
    make_vm("avs-mt-01", ip="10.40.0.21")
    for index in range(1, 4):
        reconfigure(find_vm(content, f"DC0_C0_RP0_VM{index - 1}"),
                    uuid=stable_guid("bios", f"vm-app-{index:02d}"))
    sources = Sources(asr, gateway, vcenter_host="10.40.0.2")
    resolve(request(), sources, now=utcnow())  # logs in
    before = gateway.round_trips
    plan = resolve(request(), sources, now=utcnow())
    assert isinstance(plan, ResolvedPlan)
    assert gateway.round_trips - before == 6  # one inventory, found at the first read
    assert not plan.blockers, plan.blockers
    assert all(i.avs_vm for i in plan.items)  # the power guard's handles
    vcenter_checks = {c.check for c in plan.checks} & {"mt-no-snapshots", "uuid-unique",
                                                      "avs-vm-off", "esxi-supported"}
    assert len(vcenter_checks) == 4


@pytest.mark.parametrize("broken", ["password", "port"])
def test_vcenter_outage_is_checked_by_hand_not_a_traceback(
        broken: str, vcsim: VcsimInstance, asr: AzureSiteRecovery) -> None:
    if broken == "password":
        settings = config(vcsim, password="not-the-Password-42")
    else:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        settings = VCenterConfig(f"https://127.0.0.1:{port}/sdk", "u", "p")
    plan = resolve(request(), Sources(asr, VCenterGateway(settings), "127.0.0.1"),
                   now=utcnow())
    assert isinstance(plan, ResolvedPlan)
    assert plan.approvable and not plan.blockers, plan.blockers
    (warning,) = [c for c in plan.checks if c.check == "vcenter-connected"]
    assert warning.verdict is Verdict.WARN
    assert ("VCENTER_PASSWORD" if broken == "password" else "ConnectionRefusedError") in \
        said.message(warning) + said.fix(warning)
    assert {i.result.check for i in plan.manual_items} >= {"mt-no-snapshots", "uuid-unique"}
    assert "not-the-Password-42" not in str(plan.to_json())
