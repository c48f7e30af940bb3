"""The failback preflight from Site Recovery's state: what each VM waits for, the AVS VM's
power, the recovery points; every blocker with its source in the README."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.views import checks
from core.notices import PlanProblem
from core.plan import ResolvedPlan, StepRequest, Verdict
from gateways.errors import VCenterError
from gateways.site_recovery_failback_models import FailbackContext, FailbackItem, PlanState
from gateways.site_recovery_models import CurrentScenario, ProtectedItem, RecoveryPlan
from operations.failback import FAILBACK, FAILBACK_VMS, undone_after_failure
from providers.checks import not_configured
from providers.failback_checks import BLOCK_SOURCES, avs_power_check, ready_check
from tests.support.preflight import inventory, reading

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
IDLE = CurrentScenario("None", None)


def item(name: str, provider: str = "InMage", allowed: tuple[str, ...] = ("UnplannedFailover",),
         **changes: object) -> FailbackItem:
    base = ProtectedItem(
        id=f"/x/replicationProtectedItems/vm-{name}", name=f"vm-{name}", friendly_name=name,
        fabric_name="f", container_name="c", protection_state="Protected",
        protection_state_description="Protected", active_location="Recovery",
        allowed_operations=allowed, current_scenario=IDLE, provider=provider, os_type=None,
        replication_health="Normal")
    return FailbackItem(item=replace(base, **changes),  # type: ignore[arg-type]
                        latest_recovery_point=NOW - timedelta(minutes=7))


def context(*items: FailbackItem) -> FailbackContext:
    plan = RecoveryPlan(id="/x/replicationRecoveryPlans/rp", name="rp", friendly_name="RP",
                        item_ids=tuple(i.item.id for i in items))
    return FailbackContext(PlanState(plan, (), None, None, ()), items, None)  # type: ignore[arg-type]


def test_each_reason_names_its_vms() -> None:
    found = ready_check([
        item("ok"),
        item("busy", allowed=(), current_scenario=CurrentScenario("ReverseReplication", "j")),
        item("forward", provider="InMageAzureV2", allowed=("ReverseReplicate",)),
        item("sync", allowed=(), protection_state="InitialReplicationInProgress"),
        item("back", allowed=("Commit",)),
    ], "classic")
    by_key = {r.key: r.vms for r in found}
    assert by_key == {"running": ("busy",), "not-reprotected": ("forward",),
                      "resyncing": ("sync",), "failed-back": ("back",)}
    assert all(r.verdict is Verdict.BLOCK for r in found)
    said = checks.message(next(r for r in found if r.key == "running"))
    assert "`ReverseReplication`" in said and "`UnplannedFailover` is not listed" in said


def test_no_recovery_point_is_a_reason_of_its_own() -> None:
    bare = replace(item("new", allowed=()), latest_recovery_point=None)
    (result,) = ready_check([bare], "classic")
    assert result.key == "no-point" and "No recovery point yet" in checks.message(result)


def test_ready_vms_pass_and_modernized_reads_planned_failover() -> None:
    assert ready_check([item("a", "InMageRcmFailback", ("PlannedFailover",))],
                       "modernized")[0].verdict is Verdict.PASS
    assert ready_check([item("a", "InMageRcmFailback", ("UnplannedFailover",))],
                       "modernized")[0].verdict is Verdict.BLOCK


def test_an_unconfigured_vcenter_checks_nothing() -> None:
    assert avs_power_check([item("a")], not_configured()) == []


def test_the_plan_shows_each_vms_point_and_blocks_on_certainty_only() -> None:
    plan = FAILBACK.plan_step(StepRequest("rp", "failback", (("point", "latest"),)),
                              context(item("a"), item("b")), now=NOW, vcenter=not_configured())
    assert isinstance(plan, ResolvedPlan)
    assert plan.approvable and plan.point is not None and plan.point.id == "LatestTime"
    point = next(c for c in plan.checks if c.check == "recovery-point")
    assert "`a` 2026-12-05 02:53 UTC (7 min old)" in checks.message(point)


def test_classic_vm_form_is_refused_before_any_check() -> None:
    refused = FAILBACK_VMS.plan_step(StepRequest("rp", "failback-vm", (), ("a",)),
                                     context(item("a")), now=NOW, vcenter=not_configured())
    assert isinstance(refused, PlanProblem)
    assert refused.issue.value == "refused-form" and refused.architecture == "classic"


def test_what_site_recovery_did_about_a_failed_modernized_failover() -> None:
    cancelling = item("a", "InMageRcmFailback", (), current_scenario=CurrentScenario(
        "CancelFailover", "j")).item
    assert undone_after_failure(cancelling) == "cancelling"
    assert undone_after_failure(item("a", "InMageRcmFailback", ("PlannedFailover",)).item) \
        == "cancelled"
    assert undone_after_failure(item("a", "InMageRcmFailback", ("CancelFailover",)).item) \
        == "cancel-needed"
    assert undone_after_failure(item("a").item) == ""  # classic: no automatic cancel


def test_every_failback_blocker_source_is_a_row_of_the_readme() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    rows = {line.split("|")[1].strip().strip("`") for line in readme.splitlines()
            if line.startswith("| `")}
    assert set(BLOCK_SOURCES) <= rows


def test_the_appliances_power_status_warns_but_never_blocks() -> None:
    on = replace(item("a", "InMageRcmFailback", ("PlannedFailover",)), power_status="On")
    off = replace(item("b", "InMageRcmFailback", ("PlannedFailover",)), power_status="off")
    plan = FAILBACK.plan_step(StepRequest("rp", "failback", (("point", "latest"),)),
                              context(on, off), now=NOW, vcenter=not_configured())
    assert isinstance(plan, ResolvedPlan) and plan.approvable
    (warning,) = [c for c in plan.checks if c.check == "appliance-power"]
    assert warning.verdict is Verdict.WARN and warning.vms == ("a",)
    assert "power status `On`, not `OFF`" in checks.message(warning)


def test_a_powered_on_avs_vm_blocks_and_an_unread_vcenter_is_a_manual_item() -> None:
    a = item("app-01", vm_uuid="uuid-0001")
    b = item("app-02", vm_uuid="uuid-0002")
    inv = inventory(2)
    inv = replace(inv, vms_by_uuid={**inv.vms_by_uuid, "uuid-0002": replace(
        inv.vms_by_uuid["uuid-0002"], power_state="poweredOn")})
    (blocker,) = avs_power_check([a, b], reading(inv))
    assert (blocker.verdict, blocker.key, blocker.vms) == (Verdict.BLOCK, "powered-on", ("app-02",))
    assert "must stay off until failback" in checks.message(blocker)
    (manual,) = avs_power_check([a, b], reading(None, inventory=None, error=VCenterError(
        "read the inventory", "timed out")))
    assert (manual.verdict, manual.key, manual.vms) == (Verdict.MANUAL, "unread",
                                                       ("app-01", "app-02"))
