"""Reprotect to Azure without Slack: the direction read from the items, the form that fits it,
the values chosen (and why), the checks, and the write built from an approved plan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.views import checks as said
from bot.views.checks_to_azure import TO_AZURE
from bot.views.plan_problems import plan_problem
from core.notices import PlanIssue, PlanProblem
from core.plan import CheckResult, ReprotectRequest, ResolvedPlan, Verdict
from gateways.site_recovery_failback_models import AzureV2ReprotectInput, RcmFailbackReprotectInput
from gateways.site_recovery_models import (
    CurrentScenario,
    FailbackPolicy,
    ForwardTargets,
    PlanContext,
    ProtectedItem,
    RecoveryPlan,
    RunAsAccount,
)
from operations import REPROTECT, REPROTECT_TO_AZURE
from operations.reprotect_to_azure import goes_to_azure, misdirected
from operations.to_azure_checks import BLOCK_SOURCES
from providers import CLASSIC, MODERNIZED
from providers.checks import not_configured
from tests.support.preflight import NOW, config_server, item, process_server
from tests.unit.test_views_hostile import HOSTILE, assert_inert

COMMITTED = {"provider": "InMage", "allowed_operations": ("ReverseReplicate", "DisableProtection"),
             "active_location": "Primary"}
OWN_PS = process_server(id="ps-own", name="cs01", ip_address="10.10.0.10")
AZURE_PS = process_server()
POLICY = FailbackPolicy("/policies/vmware-azure", "vmware-azure")
APPLIANCE_PS = process_server(id="ps-app-1", name="avs-appliance-01")


def committed(index: int = 1, **changes: object) -> ProtectedItem:
    return replace(item(index, **COMMITTED), **changes)  # type: ignore[arg-type]


def context(items: tuple[ProtectedItem, ...], *, modernized: bool = False,
            **forward: object) -> PlanContext:
    cs = config_server(process_servers=(AZURE_PS, OWN_PS), ip_address="10.10.0.10")
    targets = ForwardTargets(
        fabric_name="cs-fabric", policy=POLICY, mapping_name="forward-mapping",
        process_servers=(APPLIANCE_PS,) if modernized else cs.process_servers,
        master_targets=cs.master_targets, run_as_accounts=cs.run_as_accounts)
    plan = RecoveryPlan("/plans/finance-rp", "finance-rp", "Finance tier 1",
                        tuple(i.id for i in items))
    return PlanContext(plan=plan, items=items, config_server=None if modernized else cs,
                       failback_policy=None, forward=replace(targets, **forward))  # type: ignore[arg-type]


def resolve(request: ReprotectRequest, ctx: PlanContext, *, modernized: bool = False
            ) -> ResolvedPlan:
    provider = MODERNIZED if modernized else CLASSIC
    return REPROTECT.plan(provider, request, ctx, ctx.items, now=NOW,  # type: ignore[attr-defined]
                          vcenter=not_configured())


def results(plan: ResolvedPlan, check: str) -> list[CheckResult]:
    return [c for c in plan.checks if c.check == check]


CLASSIC_ITEMS = (committed(1), committed(2), committed(3))
RCM_ITEMS = tuple(committed(i, provider="InMageRcmFailback") for i in (1, 2))


# -- direction ------------------------------------------------------------------------------

@pytest.mark.parametrize(("changes", "to_azure"), [
    ({}, True),                                                           # committed
    ({"allowed_operations": ("Commit", "ChangePit")}, True),              # failed back
    ({"provider": "InMageRcmFailback"}, True),
    ({"provider": "InMageAzureV2", "allowed_operations": ("ReverseReplicate",)}, False),
    ({"allowed_operations": ("UnplannedFailover",)}, False),            # protected to AVS
    ({"provider": "inmage"}, True),                                     # any case
])
def test_the_direction_is_read_from_provider_and_allowed_operations(
        changes: dict[str, object], to_azure: bool) -> None:
    assert goes_to_azure((committed(1, **changes),)) is to_azure


def test_a_classic_plan_back_in_the_private_cloud_resolves_to_the_second_operation() -> None:
    plan = resolve(ReprotectRequest(plan="finance-rp", account="vcenter-avs"),
                   context(CLASSIC_ITEMS))
    assert plan.operation == REPROTECT_TO_AZURE.name and plan.approvable
    assert plan.process_server is not None and plan.process_server.name == "cs01"
    assert "configuration server's own" in plan.process_server.reason
    assert plan.master_target is not None and plan.master_target.id == "ps-own"
    assert [i.avs_vm for i in plan.items] == [None, None, None]  # no power guard: it runs


# -- the form that fits the direction -------------------------------------------------------

@pytest.mark.parametrize(("items", "request_", "wrong"), [
    (CLASSIC_ITEMS, ReprotectRequest(plan="p", master="avs-mt-01"), ("master", "azure")),
    (CLASSIC_ITEMS, ReprotectRequest(plan="p", process_server="cs01", datastore="d"),
     ("datastore", "azure")),
    (CLASSIC_ITEMS, ReprotectRequest(plan="p", appliance="a"), ("appliance", "azure")),
    (CLASSIC_ITEMS, ReprotectRequest(plan="p", account="a", master="m"), None),
    (CLASSIC_ITEMS, ReprotectRequest(plan="p", process_server="cs01"), None),
    (RCM_ITEMS, ReprotectRequest(plan="p", appliance="a", account="x"), None),
    (RCM_ITEMS, ReprotectRequest(plan="p", appliance="a", logstorage="l"),
     ("logstorage", "azure")),
    (RCM_ITEMS, ReprotectRequest(plan="p", process_server="cs01"), ("ps", "azure")),
    ((item(1),), ReprotectRequest(plan="p", process_server="ps1"), ("ps", "avs")),
    ((item(1),), ReprotectRequest(plan="p", master="m", account="a"), None),
    ((item(1),), ReprotectRequest(plan="p", appliance="a"), None),  # the provider answers
    ((item(1, provider="InMageRcm"),), ReprotectRequest(plan="p", appliance="a", account="x"),
     ("account", "avs")),
])
def test_the_form_must_fit_the_direction(items: tuple[ProtectedItem, ...],
                                         request_: ReprotectRequest,
                                         wrong: tuple[str, str] | None) -> None:
    problem = misdirected(request_, context(items), items)
    if wrong is None:
        assert problem is None
        return
    assert isinstance(problem, PlanProblem) and problem.issue is PlanIssue.WRONG_DIRECTION
    assert (problem.given, problem.right) == wrong


def test_the_private_answer_names_the_form_and_the_process_servers() -> None:
    problem = misdirected(ReprotectRequest(plan="p", master="avs-mt-01"),
                          context(CLASSIC_ITEMS), CLASSIC_ITEMS)
    assert problem is not None
    text = plan_problem(problem)
    assert "reprotect goes to Azure" in text and "not `master=avs-mt-01`" in text
    assert "`azure-ps-01`, `cs01`" in text
    assert ('`/reprotect plan="Finance tier 1" ps=&lt;process server&gt; account=&lt;run-as '
            'account&gt; [master=&lt;master target&gt;]`') in text


# -- values chosen, and the checks --------------------------------------------------------

Case = tuple[str, str, Verdict, Callable[[], ResolvedPlan]]
CASES: list[Case] = [
    ("back-in-private-cloud", "commit-first", Verdict.BLOCK, lambda: resolve(
        ReprotectRequest(plan="p", account="1"), context((committed(1), committed(
            2, allowed_operations=("Commit",)))))),
    ("back-in-private-cloud", "busy", Verdict.BLOCK, lambda: resolve(
        ReprotectRequest(plan="p", account="1"), context((committed(
            1, current_scenario=CurrentScenario("ReverseReplication", "j1")),)))),
    ("back-in-private-cloud", "in-azure", Verdict.BLOCK, lambda: resolve(
        ReprotectRequest(plan="p", account="1"), context((committed(1), item(2))))),
    ("back-in-private-cloud", "done", Verdict.BLOCK, lambda: resolve(
        ReprotectRequest(plan="p", account="1"), context((committed(1), item(
            2, allowed_operations=(), protection_state="Protected"))))),
    ("back-in-private-cloud", "state", Verdict.BLOCK, lambda: resolve(
        ReprotectRequest(plan="p", account="1"), context((committed(1), committed(
            2, allowed_operations=("UnplannedFailover",)))))),
    ("ps-azure", "choose", Verdict.BLOCK, lambda: resolve(
        ReprotectRequest(plan="p", account="1"), replace(context(CLASSIC_ITEMS), config_server=(
            config_server(process_servers=(AZURE_PS, replace(AZURE_PS, name="ps-2"))))))),
    ("ps-azure", "none", Verdict.BLOCK, lambda: resolve(
        ReprotectRequest(plan="p", account="1"),
        replace(context(CLASSIC_ITEMS), config_server=None))),
    ("ps-azure", "unhealthy", Verdict.BLOCK, lambda: resolve(
        ReprotectRequest(plan="p", account="1"), replace(context(CLASSIC_ITEMS),
                                                         config_server=config_server(
            process_servers=(replace(OWN_PS, health="critical"),), ip_address="10.10.0.10")))),
    ("ps-azure", "stale", Verdict.WARN, lambda: resolve(
        ReprotectRequest(plan="p", account="1"), replace(context(CLASSIC_ITEMS),
                                                         config_server=config_server(
            process_servers=(replace(OWN_PS, last_heartbeat=NOW - timedelta(hours=1)),),
            ip_address="10.10.0.10")))),
    ("ps-unknown", "unknown", Verdict.BLOCK, lambda: resolve(
        ReprotectRequest(plan="p", process_server="nope", account="1"),
        context(CLASSIC_ITEMS))),
    ("master-unknown", "unknown", Verdict.BLOCK, lambda: resolve(
        ReprotectRequest(plan="p", master="nope", account="1"), context(CLASSIC_ITEMS))),
    ("account-azure", "choose", Verdict.BLOCK, lambda: resolve(
        ReprotectRequest(plan="p", process_server="cs01"), replace(
            context(CLASSIC_ITEMS), config_server=config_server(run_as_accounts=(
                RunAsAccount("1", "a"), RunAsAccount("2", "b")))))),
    ("account-azure", "none", Verdict.BLOCK, lambda: resolve(
        ReprotectRequest(plan="p", process_server="azure-ps-01"), replace(
            context(CLASSIC_ITEMS), config_server=config_server(run_as_accounts=())))),
    ("account-unknown", "unknown", Verdict.BLOCK, lambda: resolve(
        ReprotectRequest(plan="p", account="nobody"), context(CLASSIC_ITEMS))),
    ("forward-policy", "none", Verdict.BLOCK, lambda: resolve(
        ReprotectRequest(plan="p", account="1"), context(CLASSIC_ITEMS, policy=None))),
    ("appliance-unknown", "unknown", Verdict.BLOCK, lambda: resolve(
        ReprotectRequest(plan="p", appliance="nope"), context(RCM_ITEMS, modernized=True),
        modernized=True)),
    ("appliance-azure", "unhealthy", Verdict.BLOCK, lambda: resolve(
        ReprotectRequest(plan="p", appliance="avs-appliance-01"), context(
            RCM_ITEMS, modernized=True, process_servers=(replace(APPLIANCE_PS, health="Warning"),)),
        modernized=True)),
    ("appliance-azure", "stale", Verdict.WARN, lambda: resolve(
        ReprotectRequest(plan="p", appliance="avs-appliance-01"), context(
            RCM_ITEMS, modernized=True, process_servers=(replace(
                APPLIANCE_PS, last_heartbeat=None),)), modernized=True)),
    ("account-azure-rcm", "unchecked", Verdict.WARN, lambda: resolve(
        ReprotectRequest(plan="p", appliance="avs-appliance-01", account="/sites/s/runAs/1"),
        context(RCM_ITEMS, modernized=True), modernized=True)),
]


@pytest.mark.parametrize(("check", "key", "verdict", "build"), CASES,
                         ids=[f"{c}:{k}" for c, k, _, _ in CASES])
def test_each_outcome_has_its_verdict_and_words(check: str, key: str, verdict: Verdict,
                                                build: Callable[[], ResolvedPlan]) -> None:
    plan = build()
    found = [r for r in results(plan, check) if r.key == key]
    assert found and {r.verdict for r in found} == {verdict}, plan.checks
    for result in found:
        assert said.message(result)
        assert verdict is not Verdict.BLOCK or said.fix(result)
    assert plan.approvable is (not plan.blockers)
    if verdict is Verdict.BLOCK:
        assert check in BLOCK_SOURCES or check in ("ps-unknown", "account-unknown")


def test_every_outcome_written_has_words() -> None:
    """Healthy plans of both architectures and every case above: each result has words."""
    plans = [case[3]() for case in CASES] + [
        resolve(ReprotectRequest(plan="p", account="1"), context(CLASSIC_ITEMS)),
        resolve(ReprotectRequest(plan="p", appliance="avs-appliance-01"),
                context(RCM_ITEMS, modernized=True), modernized=True)]
    for plan in plans:
        for result in plan.checks:
            assert (result.check, result.key) in said.CATALOG, result
    produced = {(r.check, r.key) for p in plans for r in p.checks}
    assert set(TO_AZURE) <= produced, set(TO_AZURE) - produced


def test_every_blocker_source_is_a_row_of_the_readme() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    rows = {line.split("|")[1].strip().strip("`") for line in readme.splitlines()
            if line.startswith("| `")}
    assert set(BLOCK_SOURCES) <= rows


def test_one_run_as_account_is_chosen_with_its_reason() -> None:
    plan = resolve(ReprotectRequest(plan="p", process_server="cs01"), context(CLASSIC_ITEMS))
    assert plan.run_as is not None and plan.run_as.name == "vcenter-avs"
    assert "only run-as account" in plan.run_as.reason and plan.approvable


# -- the write ----------------------------------------------------------------------------

def test_the_classic_write_sends_the_labelled_values() -> None:
    plan = resolve(ReprotectRequest(plan="p", process_server="azure-ps-01", account="1",
                                    master="avs-mt-01"), context(CLASSIC_ITEMS))
    stored = ResolvedPlan.from_json(plan.to_json())
    assert stored == plan
    labels = [v.label for v in REPROTECT_TO_AZURE.values(stored) if v.shown]
    assert labels == ["Process server", "Master target", "Run-as account",
                      "Replication policy (to Azure)"]
    sent = REPROTECT_TO_AZURE.submission(stored, CLASSIC_ITEMS[0].id)
    assert sent.inputs == AzureV2ReprotectInput(
        process_server_id="ps-id-1", run_as_account_id="1", policy_id=POLICY.id,
        master_target_id="mt-id-1")
    with pytest.raises(LookupError):
        REPROTECT_TO_AZURE.submission(stored, "/items/elsewhere")


def test_the_modernized_write_sends_the_appliance_and_the_forward_policy() -> None:
    plan = resolve(ReprotectRequest(plan="p", appliance="AVS-appliance-01"),
                   context(RCM_ITEMS, modernized=True), modernized=True)
    assert plan.approvable and plan.appliance is None  # no agent gate: it runs on premises
    assert [v.label for v in REPROTECT_TO_AZURE.values(plan) if v.shown] == [
        "Replication appliance", "Replication policy (to Azure)"]
    assert REPROTECT_TO_AZURE.submission(plan, RCM_ITEMS[1].id).inputs == \
        RcmFailbackReprotectInput(process_server_id="ps-app-1", policy_id=POLICY.id)


def test_done_is_protected_and_a_resend_needs_reverse_replicate() -> None:
    assert REPROTECT_TO_AZURE.done(item(1, provider="InMageAzureV2", protection_state="Protected"))
    assert not REPROTECT_TO_AZURE.done(committed(1))
    assert not REPROTECT_TO_AZURE.done(committed(1, protection_state="Protected"))
    assert REPROTECT_TO_AZURE.may_send(committed(1))
    assert not REPROTECT_TO_AZURE.may_send(committed(1, allowed_operations=("DisableProtection",)))


@pytest.mark.parametrize(("right", "architecture"), [
    ("azure", "classic"), ("azure", "modernized"), ("avs", "classic"), ("avs", "modernized")])
def test_the_private_answer_shows_outside_names_inert(right: str, architecture: str) -> None:
    text = plan_problem(PlanProblem(PlanIssue.WRONG_DIRECTION, HOSTILE, (HOSTILE, "cs01"),
                                    given="master", value=HOSTILE, right=right,
                                    architecture=architecture))
    assert_inert(text)
    assert "Type: `/reprotect plan=" in text
