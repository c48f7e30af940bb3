"""Each modernized preflight check passes on the emulator's healthy plan, and warns or blocks
on the one change that should make it; values Microsoft does not pin never block.

Facts come from the emulator's modernized vault through the real SDK models and
`gateways.site_recovery_rcm` (`tests.support.modernized`), changed with `dataclasses.replace`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.views import checks as said
from core.plan import CheckResult, PlannedItem, ResolvedPlan, Verdict
from gateways.rcm_models import ApplianceComponent
from gateways.site_recovery_models import CurrentScenario, HealthIssue
from gateways.vcenter_models import DatastoreMount, StorageVMotion
from intake.recheck import changes
from operations import REPROTECT
from providers.modernized.checks import BLOCK_SOURCES, CHECKS, run_checks
from providers.modernized.facts import ModernizedFacts, failback_disks
from sandbox.arm_modernized import ModernizedWorld
from tests.support.modernized import (
    Site,
    appliance_inventory,
    convert_item,
    facts,
    site,
    with_appliance,
    with_items,
)
from tests.support.preflight import host

ACCOUNT = ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/"
           "otherlogs01")
CHECK_IDS = ("architecture", "appliance-known", "appliance-healthy", "reprotect-allowed-rcm",
             "agent-registered-rcm", "appliance-datastore", "appliance-disks", "appliance-vm",
             "failback-location", "failback-policy-rcm", "log-storage", "appliance-network")


@pytest.fixture(scope="module")
def base() -> Site:
    return site()


def results_of(f: ModernizedFacts, check: str) -> list[CheckResult]:
    return [r for r in run_checks(f) if r.check == check]


def verdicts(f: ModernizedFacts, check: str) -> set[Verdict]:
    return {r.verdict for r in results_of(f, check)}


def component(s: Site, **changes: object) -> ApplianceComponent:
    """The appliance's process server, changed."""
    return replace(s.fabric.appliances[0].components[0], **changes)


def stale(s: Site) -> datetime:
    return s.now - timedelta(hours=1)


def test_healthy_plan_passes_every_check(base: Site) -> None:
    f = facts(base, inv=appliance_inventory())
    results = run_checks(f)
    assert {r.check for r in results} == set(CHECK_IDS)
    assert {r.verdict for r in results} == {Verdict.PASS, Verdict.MANUAL}, [
        r for r in results if r.verdict not in (Verdict.PASS, Verdict.MANUAL)]
    assert len(CHECKS) == len(CHECK_IDS)


# (check, how the facts change, verdict expected among the check's results, text in it)
Case = tuple[str, Callable[[Site], ModernizedFacts], Verdict, str]
CASES: list[Case] = [
    ("architecture", lambda s: facts(s, items=(
        replace(s.items[0], item=replace(s.items[0].item, provider="InMageAzureV2")),
        *s.items[1:])), Verdict.BLOCK, "mixes both architectures"),
    ("architecture", lambda s: facts(s, items=with_items(s, item_provider="InMageAzureV2")),
     Verdict.BLOCK, "classic architecture"),
    ("architecture", lambda s: facts(s, items=with_items(s, item_provider="A2A")),
     Verdict.WARN, "`A2A`"),
    ("architecture", lambda s: facts(s, items=()), Verdict.WARN, "no replicated items"),
    ("appliance-known", lambda s: facts(s, appliance="avs-appliance-1"), Verdict.BLOCK,
     "Did you mean `avs-appliance-01`"),
    ("appliance-known", lambda s: facts(s, fabric=None), Verdict.BLOCK, "no replication "
     "appliance fabric"),
    ("appliance-healthy", lambda s: facts(s, fabric=with_appliance(s, health="Critical")),
     Verdict.BLOCK, "reprotect agent health Critical"),
    ("appliance-healthy", lambda s: facts(s, fabric=with_appliance(s, health="warning")),
     Verdict.BLOCK, "reprotect agent health warning"),
    ("appliance-healthy", lambda s: facts(s, fabric=with_appliance(
        s, last_heartbeat=stale(s))), Verdict.BLOCK, "reprotect agent last heartbeat 60 min"),
    ("appliance-healthy", lambda s: facts(s, fabric=with_appliance(s, components=(
        component(s, health_errors=(HealthIssue("E7", "Service stopped"),)),))),
     Verdict.BLOCK, "process server E7 Service stopped"),
    ("appliance-healthy", lambda s: facts(s, fabric=with_appliance(s, components=(
        component(s, last_heartbeat=stale(s)),))), Verdict.BLOCK, "process server last "
     "heartbeat 60 min ago"),
    ("appliance-healthy", lambda s: facts(s, fabric=with_appliance(s, components=(
        component(s, last_heartbeat=None),))), Verdict.WARN, "no heartbeat of appliance "
     "`avs-appliance-01`'s process server"),
    ("appliance-healthy", lambda s: facts(s, fabric=with_appliance(s, health="Degraded")),
     Verdict.WARN, "`Degraded`"),
    ("appliance-healthy", lambda s: facts(s, fabric=with_appliance(s, components=(
        component(s, statuses=(("diskUsageStatus", "Critical"),)),))), Verdict.WARN,
     "diskUsageStatus is Critical"),
    ("reprotect-allowed-rcm", lambda s: facts(s, items=with_items(
        s, item_current_scenario=CurrentScenario("TestFailover", "job-1"))), Verdict.BLOCK,
     "Another Site Recovery operation"),
    ("reprotect-allowed-rcm", lambda s: facts(s, items=with_items(
        s, item_allowed_operations=("DisableProtection",))), Verdict.BLOCK,
     "does not allow reprotect in state `Failed over`"),
    ("reprotect-allowed-rcm", lambda s: facts(s, items=with_items(
        s, item_provider="InMageRcmFailback", failback_progress_percent=42)), Verdict.BLOCK,
     "Already reprotected"),
    ("agent-registered-rcm", lambda s: facts(s, items=with_items(s, agent_registered=False)),
     Verdict.WARN, "after approval the bot waits for it"),
    ("agent-registered-rcm", lambda s: facts(s, items=with_items(s, agent_registered=None)),
     Verdict.WARN, "does not report"),
    ("appliance-datastore", lambda s: facts(s, datastore="vmfs-avs-04"), Verdict.BLOCK,
     "is not one replication appliance `avs-appliance-01` can reach"),
    ("appliance-datastore", lambda s: facts(s, fabric=with_appliance(
        s, accessible_datastores=())), Verdict.BLOCK, "reaches no datastore"),
    ("appliance-datastore", lambda s: facts(s, appliance="avs-appliance-02"), Verdict.BLOCK,
     "cannot reach its datastore `vsan-avs-01`"),
    ("appliance-datastore", lambda s: facts(s, datastore="vmfs-avs-02"), Verdict.WARN,
     "may be ignored"),
    ("appliance-datastore", lambda s: facts(s, inv=appliance_inventory(hosts=(host(mounts=(
        DatastoreMount("ds-1", "readOnly", True, True),)),))), Verdict.BLOCK,
     "`vsan-avs-01` is mounted readOnly on appliance host `esx-01`"),
    ("appliance-datastore", lambda s: facts(s, inv=appliance_inventory(hosts=(host(
        mounts=()),))), Verdict.BLOCK, "not mounted"),
    ("appliance-datastore", lambda s: facts(s, items=with_items(s, vm_deleted=True),
                                            datastore="nfs-avs-03", inv=appliance_inventory()),
     Verdict.WARN, "as NFS"),
    ("appliance-datastore", lambda s: facts(s), Verdict.WARN, "not read in vCenter"),
    ("appliance-disks", lambda s: facts(s, failback_disks=55), Verdict.BLOCK,
     "would hold 61 disks (6 from this plan, 55 already"),
    ("appliance-disks", lambda s: facts(s, fabric=with_appliance(s, protected_item_count=3)),
     Verdict.WARN, "already protects 3 item(s)"),
    ("appliance-vm", lambda s: facts(s, inv=appliance_inventory(
        master_target_storage_vmotions=(StorageVMotion(
            datetime(2026, 11, 1, 9, 30, tzinfo=UTC), "vsan-avs-01", "vmfs-avs-02", "admin"),))),
     Verdict.WARN, "on 2026-11-01 09:30 UTC from `vsan-avs-01` to `vmfs-avs-02`"),
    ("appliance-vm", lambda s: facts(s, inv=appliance_inventory(
        master_target_storage_vmotions=None, unreadable=("events: NoPermission",))),
     Verdict.WARN, "events: NoPermission"),
    ("appliance-vm", lambda s: facts(s, inv=appliance_inventory(
        master_target=None, master_target_candidates=())), Verdict.WARN, "is not in vCenter"),
    ("failback-location", lambda s: facts(s, items=with_items(s, vm_deleted=True)),
     Verdict.WARN, "full copy"),
    ("failback-location", lambda s: facts(s, items=with_items(s, vm_deleted=None)),
     Verdict.WARN, "is not known"),
    ("failback-location", lambda s: facts(s, items=with_items(s, vcenter_id="other-vc")),
     Verdict.WARN, "another vCenter"),
    ("failback-policy-rcm", lambda s: facts(s, policy=None), Verdict.WARN, "without policyId"),
    ("failback-policy-rcm", lambda s: facts(s, policy=replace(
        s.policy, mapping_state="Pairing")), Verdict.WARN, "`Pairing`"),
    ("log-storage", lambda s: facts(s, items=with_items(s, log_storage_account_ids=())),
     Verdict.BLOCK, "does not create one"),
    ("log-storage", lambda s: facts(s, logstorage="nosuchaccount"), Verdict.BLOCK,
     "neither a storage account's ARM id nor"),
    ("log-storage", lambda s: facts(s, items=with_items(
        s, log_storage_account_ids=(*s.items[0].log_storage_account_ids, ACCOUNT))),
     Verdict.WARN, "several log storage accounts"),
    ("log-storage", lambda s: facts(s, logstorage=ACCOUNT), Verdict.WARN,
     "not the log storage account of the forward replication"),
]


@pytest.mark.parametrize(("check", "change", "verdict", "says"), CASES,
                         ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_each_change_gives_its_verdict_with_a_fix(
        base: Site, check: str, change: Callable[[Site], ModernizedFacts], verdict: Verdict,
        says: str) -> None:
    found = [r for r in results_of(change(base), check) if r.verdict is verdict]
    assert found, results_of(change(base), check)
    assert any(says in said.message(r) for r in found), [said.message(r) for r in found]
    assert all(said.fix(r) for r in found)


def test_every_check_has_a_warning_or_blocking_case() -> None:
    failing = {c[0] for c in CASES}
    assert failing | {"appliance-network"} == set(CHECK_IDS)


def test_every_blocker_names_its_source(base: Site) -> None:
    blocking = {r.check for c in CASES for r in run_checks(c[1](base))
                if r.verdict is Verdict.BLOCK}
    assert blocking == set(BLOCK_SOURCES)


UNSEEN = ("Started", "OK", "Degraded", "", "Ünïcode ✓", "42")
FREE_TEXT: dict[str, Callable[[Site, str], ModernizedFacts]] = {
    "appliance health": lambda s, v: facts(s, fabric=with_appliance(s, health=v)),
    "component health": lambda s, v: facts(s, fabric=with_appliance(s, components=(
        component(s, health=v),))),
    "component status": lambda s, v: facts(s, fabric=with_appliance(s, components=(
        component(s, statuses=(("throughputStatus", v),)),))),
    "mapping state": lambda s, v: facts(s, policy=replace(s.policy, mapping_state=v)),
    "provider": lambda s, v: facts(s, items=with_items(s, item_provider=v)),
}


@pytest.mark.parametrize("field", FREE_TEXT)
@pytest.mark.parametrize("value", UNSEEN)
def test_no_unseen_value_alone_blocks(base: Site, field: str, value: str) -> None:
    results = run_checks(FREE_TEXT[field](base, value))
    assert not [r for r in results if r.verdict is Verdict.BLOCK]


@pytest.mark.parametrize(("health", "verdict"), [
    ("normal", Verdict.PASS), ("NONE", Verdict.PASS), ("CRITICAL", Verdict.BLOCK)])
def test_enumerations_compare_without_case(base: Site, health: str, verdict: Verdict) -> None:
    assert verdicts(facts(base, fabric=with_appliance(base, health=health)),
                    "appliance-healthy") == {verdict}


def test_mapping_state_paired_in_any_case_passes(base: Site) -> None:
    f = facts(base, policy=replace(base.policy, mapping_state="PAIRED"))
    assert verdicts(f, "failback-policy-rcm") == {Verdict.PASS}


def test_findings_name_the_vms_they_concern(base: Site) -> None:
    one_off = replace(base.items[1], agent_registered=False)
    f = facts(base, items=(base.items[0], one_off, base.items[2]))
    (waiting,) = results_of(f, "agent-registered-rcm")
    assert waiting.vms == ("web-02",)


def test_mixed_plan_names_the_classic_vms_and_both_commands(base: Site) -> None:
    classic = replace(base.items[0], item=replace(base.items[0].item, provider="InMageAzureV2"))
    (blocker,) = results_of(facts(base, items=(classic, *base.items[1:])), "architecture")
    assert blocker.vms == ("web-01",)
    # Slack shows `&lt;…&gt;` as `<…>`; raw angle brackets would be read as a link
    assert "master=&lt;master target&gt; vm=web-01" in said.fix(blocker)
    assert "appliance=&lt;appliance&gt; vm=web-02,web-03" in said.fix(blocker)
    assert "<" not in said.fix(blocker)


def test_disk_limit_counts_the_disks_already_failing_back_through_the_appliance(
        base: Site) -> None:
    appliance = base.fabric.appliances[0]
    busy = [replace(i, reprotect_agent_id=appliance.id.upper(), disk_count=20)
            for i in base.items]
    assert failback_disks(appliance, busy) == 60
    f = facts(base, failback_disks=failback_disks(appliance, busy))
    assert verdicts(f, "appliance-disks") == {Verdict.BLOCK}
    assert verdicts(facts(base, failback_disks=54), "appliance-disks") == {Verdict.PASS}


def test_emulator_items_failed_over_late_or_lost_on_premises(base: Site) -> None:
    """Items the emulator builds unregistered or deleted on premises, not hand-changed."""
    w = ModernizedWorld.modernized_sample(1)
    w.add_rcm_item("vm-late", agent_registered=False)
    w.add_rcm_item("vm-gone", vm_deleted=True, datastores=())
    items = tuple(convert_item(w.item(n)) for n in ("vm-web-01", "vm-late", "vm-gone"))
    f = facts(site(w), items=items)
    (late,) = results_of(f, "agent-registered-rcm")
    assert (late.verdict, late.vms) == (Verdict.WARN, ("late",))  # waited for, not blocked
    gone = [r for r in results_of(f, "failback-location") if r.verdict is Verdict.WARN]
    assert [r.vms for r in gone] == [("gone",)]
    assert "static IP addresses are not kept" in said.message(gone[0])


def test_manual_items_are_what_the_bot_cannot_see(base: Site) -> None:
    manual = [r for r in run_checks(facts(base)) if r.verdict is Verdict.MANUAL]
    assert [r.check for r in manual] == ["appliance-network", "appliance-network"]
    assert all(said.fix(r) for r in manual)


def test_every_blocker_source_is_a_row_of_the_readme() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    rows = {line.split("|")[1].strip().strip("`") for line in readme.splitlines()
            if line.startswith("| `")}
    assert set(BLOCK_SOURCES) <= rows


def test_an_agent_registering_or_not_never_makes_the_recheck_stale(base: Site) -> None:
    """Issue 20 item 8: the flag alone, either way between preflight and approval, is no
    change that voids an approval (it is a warning, and the run waits for the agent)."""
    waiting = run_checks(facts(base, items=with_items(base, agent_registered=False)))
    registered = run_checks(facts(base))
    assert not [r for r in waiting if r.verdict is Verdict.BLOCK]
    plan = ResolvedPlan(plan_id="p", plan_name="p", plan_friendly_name="P",
                        items=(PlannedItem("i1", "web-01"),), master_target=None,
                        process_server=None, datastore=None, retention=None, policy=None,
                        run_as_account_id=None)
    assert changes(REPROTECT, replace(plan, checks=waiting), replace(plan, checks=registered)) == []
    assert changes(REPROTECT, replace(plan, checks=registered), replace(plan, checks=waiting)) == []
