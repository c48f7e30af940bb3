"""Every preflight check passes on a healthy plan and fails on the one change that breaks it.

Pure values (`tests.support.preflight`): the Site Recovery side as the gateway returns it,
the vCenter side as `VCenterInventory`. The vCenter checks are run against vcsim too
(tests/integration/test_preflight_vcenter.py); the cases vcsim cannot shape (missing
privileges, a free ESXi licence, a disconnected vCenter in Site Recovery, unreadable vCenter
events) are only here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.views import checks as said
from bot.views.mrkdwn import code
from core.plan import CheckResult, Verdict
from gateways.errors import (
    VCenterAuthError,
    VCenterError,
    VCenterPermissionError,
    VCenterUnreachable,
)
from gateways.site_recovery_models import CurrentScenario, HealthIssue, RetentionVolume
from gateways.vcenter_models import (
    DatastoreMount,
    MissingPrivilege,
    StorageVMotion,
    VCenterInventory,
    VmInfo,
)
from providers.checks import not_configured
from providers.classic.preflight import BLOCK_SOURCES, Facts, run_checks
from providers.classic.vcenter_checks import BY_HAND
from tests.support.preflight import (
    NOW,
    discovered_vcenter,
    facts,
    host,
    item,
    process_server,
    reading,
    vm,
)

CHECK_IDS = ("cs-connected", "vm-known", "azure-to-vmware", "reprotect-allowed",
             "agent-registered", "mt-exists", "ps-exists", "mt-os-match", "group-same-mt",
             "mt-no-snapshots", "vcenter-connected",
             "vcenter-permissions", "datastore-ok", "retention-ok", "uuid-unique",
             "target-vcenter-discovered", "esxi-supported", "source-supported",
             "mt-vm-settings", "datastore-type", "failback-policy", "avs-vm-off",
             "vault-signing")
STALE = NOW - timedelta(hours=1)


def results_of(f: Facts, check: str) -> list[CheckResult]:
    return [r for r in run_checks(f) if r.check == check]


def inv_of(f: Facts) -> VCenterInventory:
    assert f.vcenter is not None and f.vcenter.inventory is not None
    return f.vcenter.inventory


def with_inventory(f: Facts, **changes: object) -> Facts:
    assert f.vcenter is not None
    return replace(f, vcenter=replace(f.vcenter, inventory=replace(inv_of(f), **changes)))


def with_mt_vm(f: Facts, **changes: object) -> Facts:
    mt = inv_of(f).master_target
    assert mt is not None
    changed = replace(mt, **changes)
    return with_inventory(f, master_target=changed, master_target_candidates=(changed,))


def with_plan_vm(f: Facts, **changes: object) -> Facts:
    uuid, found = next(iter(inv_of(f).vms_by_uuid.items()))
    return with_inventory(f, vms_by_uuid={uuid: replace(found, **changes)})


def with_host(f: Facts, **changes: object) -> Facts:
    return with_inventory(f, hosts=(host(**changes),))


def with_item(f: Facts, **changes: object) -> Facts:
    return replace(f, items=(replace(f.items[0], **changes), *f.items[1:]))


def test_every_check_of_the_prerequisites_is_registered_and_passes() -> None:
    results = run_checks(facts(vms=3))
    by_verdict = {r.check: r.verdict for r in results if r.verdict is not Verdict.MANUAL}
    assert set(CHECK_IDS) <= set(by_verdict)  # other issues add checks of their own
    assert {r.check: said.message(r) for r in results if r.verdict is not Verdict.PASS} == {
        "network-ready": "Failback ports are open between Azure and the private cloud"}


@pytest.mark.parametrize("check", CHECK_IDS)
def test_each_check_passes_on_a_healthy_plan(check: str) -> None:
    assert [r.verdict for r in results_of(facts(vms=2), check)] == \
        [Verdict.PASS] * len(results_of(facts(vms=2), check))
    assert results_of(facts(vms=2), check)


BREAKS: list[tuple[str, Callable[[Facts], Facts], Verdict, str]] = [
    ("cs-connected", lambda f: replace(f, config_server=replace(
        f.config_server, last_heartbeat=STALE)), Verdict.BLOCK, "last heartbeat 60 min ago"),
    ("cs-connected", lambda f: replace(f, config_server=None), Verdict.BLOCK,
     "No configuration server"),
    ("vm-known", lambda f: with_item(f, fabric_name="other-cs-fabric"), Verdict.BLOCK,
     "Not replicated through this configuration server"),
    ("azure-to-vmware", lambda f: with_item(f, provider="HyperVReplicaAzure"), Verdict.BLOCK,
     "Replication provider `HyperVReplicaAzure`, not InMageAzureV2"),
    ("azure-to-vmware", lambda f: with_item(f, active_location="Primary"), Verdict.BLOCK,
     "Not active in Azure (activeLocation `Primary`, not Recovery)"),
    ("reprotect-allowed", lambda f: with_item(f, allowed_operations=("Failover",)),
     Verdict.BLOCK, "does not allow reprotect"),
    ("reprotect-allowed", lambda f: with_item(
        f, current_scenario=CurrentScenario("UnplannedFailover", "job-1")), Verdict.BLOCK,
     "Another Site Recovery operation"),
    ("agent-registered", lambda f: with_item(f, agent_heartbeat=STALE), Verdict.WARN,
     "has not re-registered"),
    ("mt-exists", lambda f: replace(f, master_target=None, master_wanted="avs-mt-99"),
     Verdict.BLOCK, "`avs-mt-99` is not registered"),
    ("mt-exists", lambda f: replace(f, master_target=replace(
        f.master_target, health_errors=(HealthIssue("78052", "Agent stopped"),))),
     Verdict.BLOCK, "78052 Agent stopped"),
    ("ps-exists", lambda f: replace(f, process_server=process_server(health="Critical")),
     Verdict.BLOCK, "health Critical"),
    ("mt-os-match", lambda f: with_item(f, os_type="Linux"), Verdict.BLOCK,
     "OS differs from the master target's (Windows)"),
    ("group-same-mt", lambda f: replace(with_item(f, multi_vm_group="sql-group"), narrowed=True),
     Verdict.BLOCK, "multi-VM consistency group"),
    ("source-supported", lambda f: with_item(
        f, discovery_type="Physical", os_version="Windows Server 2008 R2 SP1"), Verdict.BLOCK,
     "Windows Server 2008 R2 SP1"),
    ("datastore-ok", lambda f: replace(f, datastore=None), Verdict.BLOCK,
     "No usable datastore"),
    ("datastore-ok", lambda f: with_host(f, mounts=(
        DatastoreMount("ds-1", "readOnly", True, True),)), Verdict.BLOCK, "mounted readOnly"),
    ("datastore-ok", lambda f: with_plan_vm(f, datastores=("ds-9",)), Verdict.BLOCK,
     "not all mounted read/write"),
    ("datastore-type", lambda f: replace(f, datastore_type="NFS"), Verdict.WARN,
     "type of datastore `vsan-avs-01` is `NFS`, not a value the bot knows"),
    ("datastore-type", lambda f: with_inventory(f, datastores=(
        replace(inv_of(f).datastores[0], type="NFS"),)), Verdict.BLOCK,
     "vCenter reports datastore `vsan-avs-01` as NFS"),
    ("retention-ok", lambda f: replace(f, retention=RetentionVolume("R:", 2**40, 0, 80)),
     Verdict.BLOCK, "has no free space (0 GiB free of 1024 GiB, threshold 80%)"),
    ("retention-ok", lambda f: replace(f, retention=RetentionVolume("R:", 2**40, None, 80)),
     Verdict.BLOCK, "has no free space (free space not reported"),
    ("retention-ok", lambda f: replace(f, retention=RetentionVolume("R:", 100, 5, 10)),
     Verdict.WARN, "may be close to full"),
    ("failback-policy", lambda f: replace(f, policy=None), Verdict.BLOCK,
     "No failback (InMage) policy"),
    ("vcenter-connected", lambda f: replace(f, vcenter=not_configured()), Verdict.WARN,
     "vCenter not configured"),
    ("vcenter-connected", lambda f: replace(f, vcenter=reading(
        error=VCenterAuthError("vCenter 10.40.0.2 rejected the login of 'bot'.",
                               why="Wrong user name or password.",
                               fix="Check VCENTER_USER and VCENTER_PASSWORD."))),
     Verdict.WARN, "rejected the login"),
    ("vcenter-connected", lambda f: replace(f, vcenter=reading(insecure=True)), Verdict.WARN,
     "VCENTER_INSECURE=1"),
    ("vcenter-connected", lambda f: replace(f, vcenters=(
        discovered_vcenter(discovery_status="NotConnected"),)), Verdict.WARN,
     "discovery status of vCenter `vcenter-avs` (10.40.0.2) is `NotConnected`"),
    ("vcenter-connected", lambda f: replace(f, vcenters=(discovered_vcenter(
        health_errors=(HealthIssue("539", "vCenter is not reachable"),)),)), Verdict.BLOCK,
     "is not connected: 539 vCenter is not reachable"),
    ("vcenter-permissions", lambda f: with_inventory(f, privileges=replace(
        inv_of(f).privileges, missing=(
            MissingPrivilege("ds-1", "vsan-avs-01", "Datastore.AllocateSpace"),))),
     Verdict.BLOCK, "Datastore.AllocateSpace on `vsan-avs-01`"),
    ("vcenter-connected", lambda f: replace(f, vcenter=reading(
        inv=None, error=VCenterPermissionError("vCenter account 'bot' may not read the "
                                                "inventory."))), Verdict.WARN,
     "may not read the inventory"),
    ("vcenter-permissions", lambda f: replace(f, vcenter=reading(
        inv=None, error=VCenterPermissionError("vCenter account 'bot' may not read the "
                                                "inventory."))), Verdict.MANUAL,
     "Site Recovery's vCenter account may write"),
    ("vcenter-permissions", lambda f: with_inventory(
        f, privileges=None, unreadable=("privileges: NotSupported",)), Verdict.WARN,
     "Could not read the vCenter account's privileges"),
    ("mt-no-snapshots", lambda f: with_mt_vm(f, snapshot_count=2), Verdict.BLOCK,
     "has 2 snapshot(s)"),
    ("uuid-unique", lambda f: with_mt_vm(f, bios_uuid="bios-vm-101"), Verdict.BLOCK,
     "Shares its BIOS or disk UUID"),
    ("uuid-unique", lambda f: with_mt_vm(f, disks=(replace(
        inv_of(f).vms_by_uuid["uuid-0001"].disks[0]),)), Verdict.BLOCK,
     "Shares its BIOS or disk UUID"),
    ("uuid-unique", lambda f: with_inventory(f, vms_by_uuid={}, duplicates={
        "uuid-0001": (vm("app-01", "vm-101"), vm("app-01-old", "vm-102"))}), Verdict.BLOCK,
     "Several vCenter VMs answer"),
    ("uuid-unique", lambda f: with_inventory(f, master_target=None, master_target_candidates=(
        vm("avs-mt-01", "vm-1"), vm("avs-mt-01", "vm-2"))), Verdict.BLOCK,
     "matches several vCenter VMs"),
    ("mt-vm-settings", lambda f: with_mt_vm(f, scsi_controllers=("lsilogic", "pvscsi")),
     Verdict.BLOCK, "Paravirtual SCSI controller"),
    ("mt-vm-settings", lambda f: with_mt_vm(f, tools_running_status="guestToolsNotRunning"),
     Verdict.BLOCK, "VMware Tools are not running"),
    ("mt-vm-settings", lambda f: with_mt_vm(f, disk_enable_uuid=False), Verdict.BLOCK,
     "disk.EnableUUID=TRUE"),
    ("mt-vm-settings", lambda f: with_inventory(f, master_target_storage_vmotions=(
        StorageVMotion(NOW - timedelta(days=3), "vsan-avs-01", "vsan-avs-02", "admin"),)),
     Verdict.BLOCK, "Storage vMotion of master target VM `avs-mt-01` on 2026-11-23 03:00 UTC "
                    "from `vsan-avs-01` to `vsan-avs-02` by `admin`"),
    ("mt-vm-settings", lambda f: with_inventory(f, master_target_storage_vmotions=None, unreadable=(
        "master target events: NoPermission",)), Verdict.WARN,
     "Could not read vCenter's events of master target VM `avs-mt-01`"),
    ("mt-vm-settings", lambda f: with_mt_vm(f, disks=vm("mt", "vm-1").disks * 60),
     Verdict.BLOCK, "would hold 62 disks (60 attached, 2 from this plan)"),
    ("mt-vm-settings", lambda f: with_inventory(f, master_target=None,
                                                master_target_candidates=()),
     Verdict.WARN, "is not in vCenter"),
    ("mt-no-snapshots", lambda f: with_inventory(f, master_target=None,
                                                 master_target_candidates=()),
     Verdict.MANUAL, "No snapshots on the master target VM"),
    ("mt-vm-settings", lambda f: replace(f, vcenter=not_configured(), master_target=replace(
        f.master_target, disk_count=61)), Verdict.BLOCK, "would hold 61 disks"),
    ("esxi-supported", lambda f: with_host(f, product_version="5.1.0"), Verdict.BLOCK,
     "older than 5.5"),
    ("esxi-supported", lambda f: with_host(f, product_version="6.0.0",
                                           license_name="VMware vSphere 6 Hypervisor",
                                           license_edition="esxBasic.vram"), Verdict.BLOCK,
     "Free editions"),
    ("esxi-supported", lambda f: with_host(f, product_version="5.5.0", license_name=None,
                                           license_edition=None), Verdict.WARN,
     "Could not read the license"),
    ("target-vcenter-discovered", lambda f: replace(f, vcenters=()), Verdict.WARN,
     "lists no vCenter discovered"),
    ("target-vcenter-discovered", lambda f: replace(f, vcenter=reading(host="vc.other")),
     Verdict.WARN, "is not among Site Recovery's discovered vCenters"),
    ("avs-vm-off", lambda f: with_plan_vm(f, power_state="poweredOn"), Verdict.WARN,
     "Powered on in the private cloud"),
    ("vault-signing", lambda f: replace(f, vault_extended_info=False), Verdict.WARN,
     "reprotects go unsigned"),
    ("vault-signing", lambda f: replace(f, vault_extended_info=False,
                                        vault_extended_info_forbidden=True), Verdict.WARN,
     "refused the bot's identity the read of the vault's extended information (HTTP 403)"),
]


@pytest.mark.parametrize(("check", "breaks", "verdict", "says"), BREAKS,
                         ids=[f"{c}:{s[:30]}" for c, _, _, s in BREAKS])
def test_each_check_fails_with_a_fix(check: str, breaks: Callable[[Facts], Facts],
                                     verdict: Verdict, says: str) -> None:
    found = [r for r in results_of(breaks(facts(vms=2)), check) if r.verdict is verdict]
    assert found, results_of(breaks(facts(vms=2)), check)
    assert any(says in said.message(r) for r in found), [said.message(r) for r in found]
    assert all(said.fix(r) for r in found)


@pytest.mark.parametrize("unread", [
    VCenterAuthError("vCenter 10.40.0.2 rejected the login of 'bot'.", why="Wrong password."),
    VCenterUnreachable("No answer from vCenter 10.40.0.2.", why="timed out after 10 s"),
    VCenterPermissionError("vCenter account 'bot' may not read the inventory."),
])
def test_what_the_bot_could_not_check_is_confirmed_by_hand_not_blocked(
        unread: VCenterError) -> None:
    """Issue 20 item 9: vCenter configured but not read is no proof of a problem."""
    results = run_checks(replace(facts(vms=2), vcenter=reading(inv=None, error=unread)))
    assert not [r for r in results if r.verdict is Verdict.BLOCK]
    manual = {r.check: r for r in results if r.verdict is Verdict.MANUAL
              and r.check != "network-ready"}
    assert set(manual) == set(BY_HAND)
    assert all(unread.what in said.fix(r) for r in manual.values())


def test_a_master_target_missing_from_vcenter_is_confirmed_by_hand() -> None:
    """What vCenter answered still blocks: the AVS VM twins are checked, the master target's
    own checks (it was not found) become manual items with the reason."""
    results = run_checks(with_inventory(facts(vms=2), master_target=None,
                                        master_target_candidates=()))
    assert not [r for r in results if r.verdict is Verdict.BLOCK]
    manual = [r for r in results if r.verdict is Verdict.MANUAL and r.check in BY_HAND]
    assert {r.check for r in manual} == set(BY_HAND)
    assert all("avs-mt-01" in said.fix(r) and "is not in vCenter" in said.fix(r) for r in manual)
    snapshots = run_checks(with_mt_vm(facts(vms=2), snapshot_count=1))
    assert "mt-no-snapshots" in {r.check for r in snapshots if r.verdict is Verdict.BLOCK}


def test_every_blocker_names_its_source_in_code_and_in_the_readme() -> None:
    blocking = {c for c, _, verdict, _ in BREAKS if verdict is Verdict.BLOCK}
    assert blocking <= set(BLOCK_SOURCES)
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    rows = {line.split("|")[1].strip().strip("`") for line in readme.splitlines()
            if line.startswith("| `")}
    assert set(BLOCK_SOURCES) <= rows


UNSEEN = ("Started", "OK", "running", "RUNNING", "Unknown", "", "Ünïcode ✓", "42")
FREE_TEXT: dict[str, Callable[[Facts, str], Facts]] = {
    "csServiceStatus": lambda f, v: replace(f, config_server=replace(
        f.config_server, service_status=v)),
    "psServiceStatus": lambda f, v: replace(f, process_server=replace(
        f.process_server, service_status=v)),
    "process server health": lambda f, v: replace(f, process_server=replace(
        f.process_server, health=v)),
    "discoveryStatus": lambda f, v: replace(f, vcenters=(discovered_vcenter(
        discovery_status=v),)),
    "datastore type": lambda f, v: replace(f, datastore_type=v),
    "osType": lambda f, v: replace(f, master_target=replace(f.master_target, os_type=v),
                                   items=tuple(replace(i, os_type=v) for i in f.items)),
}


@pytest.mark.parametrize("field", sorted(FREE_TEXT))
@pytest.mark.parametrize("value", (*UNSEEN, "vmfs", "VSAN", "Pending", "NotConnected",
                                   "Degraded", "windows"))
def test_no_unseen_free_text_value_alone_blocks(field: str, value: str) -> None:
    results = run_checks(FREE_TEXT[field](facts(vms=2), value))
    assert [r for r in results if r.verdict is Verdict.BLOCK] == []
    for warning in (r for r in results if r.verdict is Verdict.WARN):
        assert code(value) in said.message(warning)  # as given, in a code span
        assert said.fix(warning).startswith("Confirm by hand")


@pytest.mark.parametrize("threshold", [0, 1, 10, 50, 80, 95, 100, 250, -5])
def test_no_retention_threshold_alone_blocks(threshold: int) -> None:
    volume = RetentionVolume("R:", 1024 * 2**30, 900 * 2**30, threshold)
    results = run_checks(facts(retention=volume))
    assert [r for r in results if r.verdict is Verdict.BLOCK] == []


def test_enumerations_compare_without_case() -> None:
    f = with_item(facts(), active_location="RECOVERY", allowed_operations=("reverseReplicate",),
                  current_scenario=CurrentScenario("none", None), provider="inmageazurev2")
    f = replace(f, process_server=replace(f.process_server, health="NORMAL"))
    assert [r for r in run_checks(f) if r.verdict is not Verdict.PASS
            and r.verdict is not Verdict.MANUAL] == []


def test_every_check_id_has_a_failing_case() -> None:
    assert {c for c, *_ in BREAKS} == set(CHECK_IDS)


def test_vm_findings_name_the_vms() -> None:
    broken = with_item(facts(vms=3), os_type="Linux")
    (result,) = results_of(broken, "mt-os-match")
    assert result.vms == ("app-01",)


def test_vcenter_problems_do_not_repeat_in_every_check() -> None:
    """Without vCenter, one warning says what was not checked; the vCenter checks are quiet."""
    results = run_checks(replace(facts(), vcenter=not_configured()))
    vcenter_only = {"mt-no-snapshots", "uuid-unique", "esxi-supported", "vcenter-permissions",
                    "avs-vm-off"}
    assert not [r for r in results if r.check in vcenter_only]
    (warning,) = [r for r in results if r.verdict is Verdict.WARN]
    assert "snapshots, UUID clashes" in said.message(warning)


def test_network_ready_is_two_items_to_tick() -> None:
    manual = [r for r in run_checks(facts()) if r.verdict is Verdict.MANUAL]
    assert [r.check for r in manual] == ["network-ready", "network-ready"]
    assert all(len(said.message(r)) <= 75 for r in manual)  # Slack's checkbox option text limit


def test_plan_vm_found_by_name_when_uuid_is_unknown() -> None:
    f = facts()
    found: VmInfo = inv_of(f).vms_by_uuid["uuid-0001"]
    by_name = with_inventory(f, vms_by_uuid={}, vms_by_name={"app-01": replace(
        found, power_state="poweredOn")})
    assert [r.verdict for r in results_of(by_name, "avs-vm-off")] == [Verdict.WARN]


def test_already_reprotected_vms_are_told_as_done_not_as_a_failover_problem() -> None:
    done = item(1, protection_state="Protected", protection_state_description="Protected",
                provider="InMage", allowed_operations=("PlannedFailover", "DisableProtection"))
    results = results_of(facts(items=(done,)), "reprotect-allowed")
    assert len(results) == 1 and results[0].verdict is Verdict.BLOCK
    assert "Already reprotected" in said.message(results[0]) and "failback" in said.fix(results[0])
    assert results[0].vms == (done.friendly_name,)
