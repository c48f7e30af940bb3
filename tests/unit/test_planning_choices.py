"""The values the bot chooses when the operator leaves them out, and what it sends.

Plain values (`tests.support.preflight`) through `intake.planning.choose_and_check`: the
process server in Azure, the retention volume, the datastore, the run-as account, and
timestamps that come without a zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from bot.views import checks as said
from core.plan import ReprotectRequest, ResolvedPlan, Verdict
from gateways.site_recovery_models import (
    ConfigurationServer,
    Datastore,
    FailbackPolicy,
    PlanContext,
    ProtectedItem,
    RecoveryPlan,
    RetentionVolume,
    RunAsAccount,
)
from gateways.vcenter_models import VCenterInventory
from intake.parser import parse
from intake.planning import Sources, choose_and_check, resolve
from providers.checks import not_configured
from providers.classic.preflight import run_checks
from tests.support.preflight import (
    FRESH,
    NOW,
    config_server,
    facts,
    inventory,
    item,
    master_target,
    process_server,
    reading,
    vm,
)

REQUEST = ReprotectRequest(plan="rp", master="avs-mt-01")
GIB = 2**30
BUILT_IN = process_server(id="ps-cs", name="cs01.contoso.local", ip_address="10.10.0.10",
                          replication_pair_count=0)


def plan_for(cs: ConfigurationServer, request: ReprotectRequest = REQUEST,
             items: Sequence[ProtectedItem] = (item(1),)) -> ResolvedPlan:
    context = PlanContext(plan=RecoveryPlan("rp-id", "rp", "rp", tuple(i.id for i in items)),
                          items=tuple(items), config_server=cs,
                          failback_policy=FailbackPolicy("policy-id", "failback"))
    return choose_and_check(request, context, tuple(items), now=NOW, vcenter=not_configured())


def with_mt(**changes: object) -> ConfigurationServer:
    return config_server(master_targets=(master_target(**changes),))


# -- process server (item 3) ------------------------------------------------------------------


def test_the_configuration_servers_built_in_process_server_is_never_the_default() -> None:
    cs = config_server(ip_address="10.10.0.10", process_servers=(
        BUILT_IN, process_server(id="ps-2", name="azure-ps-02", replication_pair_count=14),
        process_server(replication_pair_count=3)))
    plan = plan_for(cs)
    assert plan.process_server is not None and plan.process_server.name == "azure-ps-01"
    reason = plan.process_server.reason
    assert "built-in `cs01.contoso.local` left out" in reason and "`ps=`" in reason
    assert "3 replication pairs: the best of 2 in Azure" in reason


def test_built_in_process_server_found_by_host_name_when_ips_differ() -> None:
    cs = config_server(host_name="CS01", process_servers=(
        replace(BUILT_IN, ip_address="10.10.0.99"), process_server()))
    plan = plan_for(cs)
    assert plan.process_server is not None and plan.process_server.name == "azure-ps-01"


def test_only_the_built_in_process_server_blocks_as_none_in_azure() -> None:
    cs = config_server(ip_address="10.10.0.10", process_servers=(BUILT_IN,))
    plan = plan_for(cs)
    assert plan.process_server is None
    (blocker,) = [c for c in plan.blockers if c.check == "ps-exists"]
    assert "No process server in Azure" in said.message(blocker)


def test_process_server_chosen_by_health_then_load() -> None:
    cs = config_server(process_servers=(
        process_server(id="a", name="ps-busy", replication_pair_count=20),
        process_server(id="b", name="ps-warning", health="Warning", replication_pair_count=0),
        process_server(id="c", name="ps-odd", health="Degraded", replication_pair_count=0),
        process_server(id="d", name="ps-idle", health="normal", replication_pair_count=2)))
    plan = plan_for(cs)
    assert plan.process_server is not None and plan.process_server.name == "ps-idle"
    assert not plan.blockers


def test_process_server_of_unknown_health_is_chosen_with_a_warning_not_a_block() -> None:
    cs = config_server(process_servers=(process_server(health="Degraded"),))
    plan = plan_for(cs)
    assert not plan.blockers and plan.process_server is not None
    (warning,) = [c for c in plan.checks if c.check == "ps-exists"]
    assert warning.verdict is Verdict.WARN and "`Degraded`" in said.message(warning)


# -- retention volume (item 2) ----------------------------------------------------------------


def test_retention_default_is_the_volume_with_most_free_space_whatever_its_threshold() -> None:
    cs = with_mt(retention_volumes=(RetentionVolume("R:", 1024 * GIB, 100 * GIB, 80),
                                    RetentionVolume("S:", 2048 * GIB, 1500 * GIB, 95)))
    plan = plan_for(cs)
    assert plan.retention is not None and plan.retention.name == "S:"
    assert "1500 GiB free of 2048 GiB, threshold 95%" in plan.retention.reason
    assert not plan.blockers


def test_retention_close_to_full_under_either_reading_warns() -> None:
    used_reading = RetentionVolume("R:", 100 * GIB, 10 * GIB, 80)    # 90% used >= 80
    free_reading = RetentionVolume("R:", 100 * GIB, 70 * GIB, 80)    # 70% free <= 80
    for volume in (used_reading, free_reading):
        (result,) = [r for r in run_checks(facts(retention=volume)) if r.check == "retention-ok"]
        assert result.verdict is Verdict.WARN
        assert "used space that raises an alert" in said.message(result)
        free = (volume.free_bytes or 0) // GIB
        assert f"{free} GiB free of 100 GiB, threshold 80%" in said.message(result)


def test_retention_with_room_under_both_readings_passes_and_says_how_much() -> None:
    roomy = RetentionVolume("R:", 100 * GIB, 70 * GIB, 40)  # 30% used < 40, 70% free > 40
    unknown = RetentionVolume("R:", 100 * GIB, 30 * GIB, None)
    for volume, says in ((roomy, "70 GiB free of 100 GiB, threshold 40%"),
                         (unknown, "30 GiB free of 100 GiB")):
        (result,) = [r for r in run_checks(facts(retention=volume)) if r.check == "retention-ok"]
        assert result.verdict is Verdict.PASS and says in said.message(result)


# -- datastore --------------------------------------------------------------------------------


def test_datastore_of_an_unseen_type_is_chosen_and_warned_not_blocked() -> None:
    cs = with_mt(datastores=(Datastore("ds-6", "VMFS-6", 4096, 3000),
                             Datastore("ds-nfs", "NFS41", 4096, 4000)))
    plan = plan_for(cs)
    assert plan.datastore is not None and plan.datastore.name == "ds-6"
    assert not plan.blockers
    (warning,) = [c for c in plan.checks if c.check == "datastore-type"]
    assert warning.verdict is Verdict.WARN and "`VMFS-6`" in said.message(warning)
    assert "`VMFS` or `vSAN`" in said.message(warning)
    assert said.fix(warning).startswith("Confirm by hand")


def test_known_datastore_type_in_any_case_is_preferred() -> None:
    cs = with_mt(datastores=(Datastore("ds-odd", "vsanDatastore", 4096, 4000),
                             Datastore("ds-vmfs", "vmfs", 4096, 1000)))
    plan = plan_for(cs)
    assert plan.datastore is not None and plan.datastore.name == "ds-vmfs"
    assert [c.verdict for c in plan.checks if c.check == "datastore-type"] == [Verdict.PASS]


# -- run-as account (item 4) ------------------------------------------------------------------


def test_run_as_account_is_sent_only_when_the_operator_names_one() -> None:
    cs = config_server(run_as_accounts=(RunAsAccount("1", "vcenter-avs"),
                                        RunAsAccount("2", "windows-push")))
    assert plan_for(cs).run_as_account_id is None
    named = parse("plan=rp master=avs-mt-01 account=Windows-Push")
    assert isinstance(named, ReprotectRequest) and named.account == "Windows-Push"
    assert plan_for(cs, named).run_as_account_id == "2"


def test_unknown_run_as_account_blocks_with_the_known_ones() -> None:
    plan = plan_for(config_server(), replace(REQUEST, account="domain-admin"))
    (blocker,) = plan.blockers
    assert blocker.check == "account-unknown" and "`vcenter-avs`" in said.message(blocker)
    assert plan.run_as_account_id is None


# -- provider and location (item 4) -----------------------------------------------------------


def test_items_powershell_refuses_are_blocked_before_any_write() -> None:
    """A provider neither architecture knows (a modernized item makes the plan mixed, which
    the modernized `architecture` check blocks: tests/unit/test_providers.py)."""
    items = (item(1, provider="A2A"), item(2, active_location="Primary"), item(3))
    plan = plan_for(config_server(), items=items)
    found = {c.vms: said.message(c) for c in plan.blockers if c.check == "azure-to-vmware"}
    assert "`A2A`, not InMageAzureV2" in found[("app-01",)]
    assert "activeLocation `Primary`" in found[("app-02",)]
    assert not plan.approvable


# -- time (item 6) ----------------------------------------------------------------------------


def test_timestamps_without_a_zone_are_utc_and_never_raise() -> None:
    naive = FRESH.replace(tzinfo=None)
    cs = config_server(last_heartbeat=naive, process_servers=(
        process_server(last_heartbeat=naive),),
        master_targets=(master_target(last_heartbeat=naive),))
    plan = plan_for(cs, items=(item(1, agent_heartbeat=naive),))
    assert not plan.blockers
    stale = (NOW - timedelta(hours=2)).replace(tzinfo=None)
    late = plan_for(config_server(last_heartbeat=stale))
    assert any("last heartbeat 120 min ago" in said.message(c) for c in late.blockers)


# -- finding the AVS VM (item 8) --------------------------------------------------------------


class RecordingVCenter:
    """A vCenter port that records what it is asked and, like the gateway, answers only the
    UUIDs and names asked for."""

    def __init__(self, inv: VCenterInventory) -> None:
        self.inv = inv
        self.asked: list[tuple[tuple[str, ...], tuple[str, ...]]] = []

    def inventory(self, *, vm_names: Sequence[str], vm_uuids: Sequence[str],
                  master_target: str, master_target_ip: str | None = None) -> VCenterInventory:
        self.asked.append((tuple(vm_names), tuple(vm_uuids)))
        return replace(self.inv,
                       vms_by_uuid={k: v for k, v in self.inv.vms_by_uuid.items()
                                    if k in vm_uuids},
                       vms_by_name={k: v for k, v in self.inv.vms_by_name.items()
                                    if k in vm_names})

    def power_states(self, vm_refs: Sequence[str]) -> dict[str, str]:
        return {}


class OnePlan:
    """A Site Recovery port with one plan of the given items."""

    def __init__(self, items: tuple[ProtectedItem, ...]) -> None:
        self.plan = RecoveryPlan("rp-id", "rp", "rp", tuple(i.id for i in items),
                                 tuple(i.vm_uuid or "" for i in items))
        self.items = items

    def list_plans(self) -> list[RecoveryPlan]:
        return [self.plan]

    def plan_context(self, plan: RecoveryPlan) -> PlanContext:
        return PlanContext(plan=plan, items=self.items, config_server=config_server(),
                           failback_policy=FailbackPolicy("policy-id", "failback"))


def test_avs_vm_found_by_infrastructure_vm_id_as_instance_uuid_says_so() -> None:
    target = vm("app-01", "vm-101", instance_uuid="5003-aaaa")
    inv = inventory(vms_by_uuid={"5003-aaaa": target})
    vcenter = RecordingVCenter(inv)
    plan_item = item(1, vm_uuid="4201-bbbb", infrastructure_vm_id="5003-aaaa")
    plan = resolve(REQUEST, Sources(OnePlan((plan_item,)), vcenter,
                                    "10.40.0.2"), now=NOW)
    assert isinstance(plan, ResolvedPlan)
    assert vcenter.asked[0][1] == ("4201-bbbb",)  # the plan's vmIds, while Site Recovery reads
    assert set(vcenter.asked[-1][1]) == {"4201-bbbb", "5003-aaaa"}
    (off,) = [c for c in plan.checks if c.check == "avs-vm-off"]
    assert "by infrastructureVmId as instance UUID" in said.message(off)
    assert plan.items[0].avs_vm == "vm-101"


def test_avs_vm_found_by_vm_id_as_bios_uuid_then_by_name() -> None:
    by_bios = vm("app-01", "vm-101", bios_uuid="4201-BBBB")
    f = facts(vcenter=reading(inventory(vms_by_uuid={"4201-bbbb": by_bios})),
              items=(item(1, vm_uuid="4201-bbbb"),))
    (off,) = [r for r in run_checks(f) if r.check == "avs-vm-off"]
    assert "by vmId as BIOS UUID" in said.message(off)
    by_name = facts(vcenter=reading(inventory(vms_by_uuid={}, vms_by_name={"app-01": by_bios})))
    (off,) = [r for r in run_checks(by_name) if r.check == "avs-vm-off"]
    assert "by name" in said.message(off)


def test_an_unseen_os_type_warns_without_hiding_a_known_mismatch() -> None:
    items = (item(1, os_type="Linux"), item(2, os_type="Microsoft Windows"))
    plan = plan_for(config_server(), items=items)
    results = {(c.verdict, c.vms) for c in plan.checks if c.check == "mt-os-match"}
    assert (Verdict.BLOCK, ("app-01",)) in results and (Verdict.WARN, ()) in results


def test_without_vcenter_url_the_plan_warns_once_and_blocks_nothing_on_vcenter() -> None:
    """Sources without a vCenter read through the not-configured one: one warning naming the
    checks that did not run and what to set, no blocker, no AVS VM, discovery not compared."""
    plan = resolve(REQUEST, Sources(OnePlan((item(1),))), now=NOW)
    assert isinstance(plan, ResolvedPlan)
    (connected,) = [c for c in plan.checks if c.check == "vcenter-connected"]
    assert connected.verdict is Verdict.WARN
    assert said.message(connected).startswith("vCenter not configured: master target snapshots")
    assert "Set VCENTER_URL" in said.fix(connected)
    assert not [c for c in plan.blockers if c.check.startswith(("vcenter", "mt-", "uuid"))]
    assert plan.items[0].avs_vm is None
