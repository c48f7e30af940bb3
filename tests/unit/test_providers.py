"""The provider seam: the plan's items choose the architecture, the plan remembers it, and the
approved plan's reprotect values and request body come from it, so a second architecture
(issue 12's modernized one) plugs in as one module plus its registration."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import pytest
from azure.mgmt.recoveryservicessiterecovery import models as m

import providers
from bot.views import checks as said
from core.notices import PlanProblem
from core.plan import PlannedItem, ReprotectRequest, ResolvedPlan, Verdict
from gateways.rcm_models import RcmReprotectInput
from gateways.site_recovery_convert import reprotect_body
from gateways.site_recovery_models import (
    FailbackPolicy,
    PlanContext,
    ProtectedItem,
    ProviderInput,
    RecoveryPlan,
    ReprotectInput,
)
from intake.planning import choose_and_check
from operations import REPROTECT, fingerprint
from providers.base import HelperVm
from providers.checks import VCenterReading, not_configured
from providers.classic.provider import ClassicProvider
from tests.support import modernized as rcm
from tests.support.preflight import NOW, config_server, item

REQUEST = ReprotectRequest(plan="rp", master="avs-mt-01")


def context(items: tuple[ProtectedItem, ...]) -> PlanContext:
    return PlanContext(plan=RecoveryPlan("rp-id", "rp", "rp", tuple(i.id for i in items)),
                       items=items, config_server=config_server(),
                       failback_policy=FailbackPolicy("policy-id", "failback"))


@dataclass(frozen=True)
class ApplianceInput(ProviderInput):
    """A second provider's reprotect values (a stand-in for `RcmReprotectInput`)."""

    agent_id: str


@reprotect_body.register
def _appliance_body(inputs: ApplianceInput) -> m.ReverseReplicationInput:
    return m.ReverseReplicationInput(properties=m.ReverseReplicationInputProperties(
        failover_direction="RecoveryToPrimary",
        provider_specific_details=m.InMageRcmReprotectInput(
            reprotect_agent_id=inputs.agent_id, datastore_name="ds",
            log_storage_account_id="log")))


class ApplianceProvider:
    """A second architecture as a module would add it: only what the seam asks for."""

    name = "appliance"

    def claims(self, item: ProtectedItem) -> bool:
        return item.provider.lower() in ("inmagercm", "inmagercmfailback")

    def misdirected(self, request: ReprotectRequest, context: PlanContext
                    ) -> PlanProblem | None:
        return None

    def helper_vm(self, request: ReprotectRequest, context: PlanContext) -> HelperVm | None:
        return HelperVm("appliance-01", None)

    def plan(self, request: ReprotectRequest, context: PlanContext,
             items: tuple[ProtectedItem, ...], *, now: datetime,
             vcenter: VCenterReading) -> ResolvedPlan:
        return ResolvedPlan(context.plan.id, context.plan.name, context.plan.friendly_name,
                            tuple(PlannedItem(i.id, i.friendly_name) for i in items),
                            None, None, None, None, None, None, provider=self.name)

    def reprotect_input(self, plan: ResolvedPlan, item_id: str) -> ApplianceInput:
        return ApplianceInput(agent_id="agent-1")


@pytest.fixture
def two_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(providers, "PROVIDERS", (ClassicProvider(), ApplianceProvider()))


def test_classic_items_are_planned_by_the_classic_provider_and_sent_as_inmage() -> None:
    items = (item(1), item(2))
    plan = choose_and_check(REQUEST, context(items), items, now=NOW, vcenter=not_configured())
    assert plan.provider == "classic" and plan.approvable
    inputs = _input(ResolvedPlan.from_json(plan.to_json()), items[1].id)
    assert inputs == ReprotectInput(master_target_id="mt-id-1", process_server_id="ps-id-1",
                                    retention_drive="R:",
                                    datastore_name="vsan-avs-01", profile_id="policy-id")
    details = reprotect_body(inputs).properties.provider_specific_details
    assert isinstance(details, m.InMageReprotectInput)
    assert details.master_target_id == "mt-id-1" and details.profile_id == "policy-id"


def test_a_second_provider_plugs_in_by_registration(two_providers: None) -> None:
    rcm = (item(1, provider="InMageRcm"), item(2, provider="InMageRcm"))
    plan = choose_and_check(REQUEST, context(rcm), rcm, now=NOW, vcenter=not_configured())
    assert plan.provider == "appliance"
    stored = ResolvedPlan.from_json(plan.to_json())
    details = reprotect_body(_input(stored, rcm[0].id)).properties \
        .provider_specific_details
    assert isinstance(details, m.InMageRcmReprotectInput)
    assert details.reprotect_agent_id == "agent-1"


def test_items_no_provider_claims_go_to_the_default_which_says_why(
        two_providers: None) -> None:
    """Unknown providers: the classic preflight blocks and names the VMs."""
    items = (item(1), item(2, provider="A2A"))
    plan = choose_and_check(REQUEST, context(items), items, now=NOW, vcenter=not_configured())
    assert plan.provider == "classic"
    blocker = next(c for c in plan.blockers if c.check == "azure-to-vmware")
    assert blocker.verdict is Verdict.BLOCK and blocker.vms == ("app-02",)


def test_a_plan_mixing_both_architectures_is_blocked_by_the_architecture_check() -> None:
    """Classic and modernized items together: the modernized preflight says how to split."""
    items = (item(1), item(2, provider="InMageRcm"))
    plan = choose_and_check(REQUEST, context(items), items, now=NOW, vcenter=not_configured())
    assert plan.provider == "modernized" and not plan.approvable
    blocker = next(c for c in plan.blockers if c.check == "architecture")
    assert "mixes both architectures" in said.message(blocker)
    assert "master=" in said.fix(blocker) and "appliance=" in said.fix(blocker)


def test_plans_stored_before_providers_run_as_classic_with_the_same_fingerprint() -> None:
    items = (item(1),)
    plan = choose_and_check(REQUEST, context(items), items, now=NOW, vcenter=not_configured())
    old = plan.to_json()
    del old["provider"]
    assert ResolvedPlan.from_json(old) == plan
    assert fingerprint(REPROTECT, ResolvedPlan.from_json(old)) == fingerprint(REPROTECT, plan)


def test_an_unknown_provider_or_input_is_refused_not_guessed() -> None:
    plan = replace(choose_and_check(REQUEST, context((item(1),)), (item(1),), now=NOW,
                                    vcenter=not_configured()), provider="appliance")
    with pytest.raises(LookupError, match="appliance"):
        _input(plan, plan.items[0].item_id)
    with pytest.raises(TypeError, match="ProviderInput"):
        reprotect_body(ProviderInput())


def test_modernized_plan_stores_each_vms_values_and_binds_approval_to_them() -> None:
    """Per-VM datastore and log storage survive storage, are sent per item, and the
    fingerprint (what an approval binds to) changes when one VM's value does."""
    plan = rcm.resolved_plan(3, varied=True)
    assert plan.provider == "modernized" and plan.approvable
    stored = ResolvedPlan.from_json(plan.to_json())
    assert stored == plan
    first, second = stored.items[0], stored.items[1]
    inputs = _input(stored, second.item_id.upper())
    assert isinstance(inputs, RcmReprotectInput)
    assert plan.appliance and plan.policy and second.datastore and second.log_storage
    assert inputs == RcmReprotectInput(plan.appliance.id, second.datastore.id,
                                       second.log_storage.id, plan.policy.id)
    assert inputs.datastore_name != _input(stored, first.item_id) \
        .datastore_name  # type: ignore[attr-defined]
    moved = replace(plan, items=(replace(first, datastore=second.datastore), *plan.items[1:]))
    assert fingerprint(REPROTECT, moved) != fingerprint(REPROTECT, plan)
    details = reprotect_body(inputs).properties.provider_specific_details
    assert isinstance(details, m.InMageRcmReprotectInput)
    assert details.log_storage_account_id == second.log_storage.id


def test_a_modernized_plan_missing_a_vms_log_storage_is_not_approvable() -> None:
    plan = rcm.resolved_plan(2)
    first = plan.items[0]
    assert plan.approvable
    assert not replace(plan, items=(replace(first, log_storage=None), *plan.items[1:]),
                       checks=()).approvable


def _input(plan: ResolvedPlan, item_id: str) -> ProviderInput:
    """What the reprotect of one item sends, as the runner asks for it."""
    inputs = REPROTECT.submission(plan, item_id).inputs
    assert inputs is not None
    return inputs
