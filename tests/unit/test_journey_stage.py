"""Where an item and a plan stand in the failback journey: read from `allowedOperations`, the
provider and the running scenario; anything else is unknown with its raw values."""

from __future__ import annotations

import pytest

from bot.views.journey import plan_stages, stage_line, stage_words
from core.journey import (
    ItemSignals,
    PlanJourney,
    Stage,
    item_stage,
    plan_journey,
    vault_journey,
)
from core.notices import PlanStages
from gateways.site_recovery_models import RecoveryPlan

DISABLE = ("DisableProtection",)


def signals(provider: str, allowed: tuple[str, ...], state: str = "Protected",
            scenario: str = "None", site: str | None = None, vm: str = "vm-1") -> ItemSignals:
    return ItemSignals(vm=vm, provider=provider, allowed_operations=allowed,
                       protection_state=state, scenario=scenario, active_site_type=site)


CASES = [
    # provider, allowedOperations, protectionState, running scenario, activeSiteType → stage
    ("InMageAzureV2", ("ReverseReplicate", "Commit", *DISABLE), "FailedOver", "None", None,
     Stage.FAILED_OVER_TO_AZURE),
    ("InMageRcm", ("ReverseReplicate", *DISABLE), "FailedOver", "None", None,
     Stage.FAILED_OVER_TO_AZURE),
    ("InMageAzureV2", DISABLE, "FailedOver", "ReverseReplication", None,
     Stage.REPROTECTING_TO_AVS),
    ("InMage", DISABLE, "InitialReplicationInProgress", "None", "Recovery",
     Stage.REPROTECTING_TO_AVS),
    ("InMageRcmFailback", DISABLE, "InitialReplicationInProgress", "None", None,
     Stage.REPROTECTING_TO_AVS),
    ("InMage", ("UnplannedFailover", *DISABLE), "Protected", "None", "Azure",
     Stage.PROTECTED_TO_AVS),
    ("InMageRcmFailback", ("PlannedFailover", *DISABLE), "Protected", "None", None,
     Stage.PROTECTED_TO_AVS),
    ("InMage", DISABLE, "Protected", "UnplannedFailover", "Azure", Stage.FAILING_BACK),
    ("InMageRcmFailback", DISABLE, "Protected", "PlannedFailover", None, Stage.FAILING_BACK),
    ("InMage", ("Commit", "ChangePit", *DISABLE), "UnplannedFailoverCommitPendingStatesBegin",
     "None", "OnPrem", Stage.FAILED_BACK),
    ("InMageRcmFailback", ("Commit", "CancelFailover", *DISABLE), "PlannedFailoverCommitRequired",
     "None", None, Stage.FAILED_BACK),
    ("InMageRcmFailback", DISABLE, "PlannedFailoverCommitRequired", "CancelFailover", None,
     Stage.CANCELLING),
    ("InMage", DISABLE, "x", "CommitFailover", "OnPrem", Stage.COMMITTING),
    ("InMage", ("ReverseReplicate", *DISABLE), "FailedOver", "None", "OnPrem", Stage.COMMITTED),
    ("InMageRcmFailback", ("ReverseReplicate", *DISABLE), "FailedOver", "None", None,
     Stage.COMMITTED),
    ("InMage", DISABLE, "FailedOver", "ReverseReplication", "OnPrem",
     Stage.REPROTECTING_TO_AZURE),
    ("InMageAzureV2", DISABLE, "InitialReplicationInProgress", "None", None,
     Stage.REPROTECTING_TO_AZURE),
    ("InMageRcm", ("UnplannedFailover", "TestFailover", *DISABLE), "Protected", "None", None,
     Stage.PROTECTED_TO_AZURE),
    # Unknown: never a guess.
    ("InMage", ("PlannedFailover", *DISABLE), "Protected", "None", None, Stage.UNKNOWN),
    ("InMageRcmFailback", ("UnplannedFailover", *DISABLE), "Protected", "None", None,
     Stage.UNKNOWN),
    ("InMage", DISABLE, "Protected", "None", None, Stage.UNKNOWN),  # protected, no failback
    ("InMage", ("UnplannedFailover", *DISABLE), "Protected", "None", "OnPrem", Stage.UNKNOWN),
    ("InMage", ("Commit", *DISABLE), "x", "None", "Azure", Stage.UNKNOWN),
    ("InMageAzureV2", DISABLE, "Protected", "TestFailover", None, Stage.UNKNOWN),
    ("InMageAzureV2", ("SwitchProtection",), "Protected", "None", None, Stage.UNKNOWN),
    ("HyperVReplicaAzure", ("Commit",), "x", "None", None, Stage.UNKNOWN),
]


@pytest.mark.parametrize(("provider", "allowed", "state", "scenario", "site", "stage"), CASES)
def test_item_stage_is_read_from_allowed_operations(
        provider: str, allowed: tuple[str, ...], state: str, scenario: str, site: str | None,
        stage: Stage) -> None:
    assert item_stage(signals(provider, allowed, state, scenario, site)).stage is stage


def test_an_operation_spelled_otherwise_is_not_read_as_listed() -> None:
    # allowedOperations are exact enum names; a respelled one is unknown, not a near match.
    assert item_stage(signals("InMage", ("unplannedfailover",))).stage is Stage.UNKNOWN
    # Free-text fields compare in any case; an unseen activeSiteType contradicts nothing.
    assert item_stage(signals("InMage", ("UnplannedFailover",), "PROTECTED", site="OnPremises")
                      ).stage is Stage.PROTECTED_TO_AVS


def test_cancel_is_possible_only_where_listed() -> None:
    classic = item_stage(signals("InMage", ("Commit", *DISABLE), "x"))
    modernized = item_stage(signals("InMageRcmFailback", ("Commit", "CancelFailover"), "x"))
    assert (classic.cancel_possible, modernized.cancel_possible) == (False, True)
    assert (classic.architecture, modernized.architecture) == ("classic", "modernized")


def test_a_plan_counts_mixed_stages_per_vm_in_journey_order() -> None:
    items = [signals("InMageRcmFailback", ("Commit", "CancelFailover"), "x", vm="a"),
             signals("InMageRcmFailback", DISABLE, scenario="PlannedFailover", vm="b"),
             signals("InMageRcmFailback", ("Commit", "CancelFailover"), "x", vm="c"),
             signals("InMageRcmFailback", ("Odd",), "Weird<!channel>", vm="d")]
    journey = plan_journey("web-rp", "Web tier", items)
    assert journey.counts == ((Stage.FAILING_BACK, 1), (Stage.FAILED_BACK, 2), (Stage.UNKNOWN, 1))
    assert journey.stage is None and journey.total == 4 and journey.cancel_possible == 2
    assert [u.vm for u in journey.unknown] == ["d"]
    line = stage_line(journey)
    assert line.startswith(":arrows_counterclockwise: `Web tier` (4 VMs): mixed: 1 failing back · "
                           "2 failed back, awaiting commit (cancel possible) · 1 unknown")
    assert ("`d`: stage unknown — provider `InMageRcmFailback`, allowedOperations `Odd`, "
            "protectionState `Weird&lt;!channel&gt;`, running `None`") in line
    assert PlanJourney.from_json(journey.to_json()) == journey


@pytest.mark.parametrize(("allowed", "words"), [
    (("UnplannedFailover",), "protected to AVS, ready to fail back — next: `/failback`"),
    (("Commit",), "failed back, awaiting commit — next: `/failback commit`"),
    (("ReverseReplicate",), "committed, ready to reprotect to Azure — next: `/reprotect` to Azure"),
])
def test_one_stage_says_what_comes_next(allowed: tuple[str, ...], words: str) -> None:
    journey = plan_journey("rp", "", [signals("InMage", allowed, site=None, vm=v)
                                      for v in ("a", "b")])
    assert stage_words(journey) == words


def test_modernized_failed_back_offers_cancel() -> None:
    journey = plan_journey("rp", "", [signals("InMageRcmFailback", ("Commit", "CancelFailover"))])
    assert stage_words(journey) == ("failed back, awaiting commit (cancel possible) — next: "
                                    "`/failback commit` or `/failback cancel`")


def test_vault_journey_matches_items_by_id_and_never_guesses_a_missing_one() -> None:
    plan = RecoveryPlan(id="/rp", name="rp", friendly_name="RP",
                        item_ids=("/items/A", "/items/gone"))
    listed = [("/ITEMS/a", signals("InMage", ("UnplannedFailover",), vm="a"))]
    (journey,) = vault_journey([plan], listed)
    assert journey.counts == ((Stage.PROTECTED_TO_AVS, 1), (Stage.UNKNOWN, 1))
    assert journey.unknown[0].vm == "gone" and journey.unknown[0].scenario == "not listed"


def test_status_reply_lists_plans_and_says_an_outage() -> None:
    many = tuple(plan_journey(f"rp{n}", f"Plan {n}", [signals("InMage", ("Commit",))])
                 for n in range(40))
    text = plan_stages(PlanStages(plans=many))
    assert text.startswith("*Where each plan stands*") and "… and 10 more plans" in text
    assert len(text) <= 3900
    assert plan_stages(PlanStages()) == "No recovery plans in the vault."
    outage = plan_stages(PlanStages(explanation="Site Recovery <refused> the token"))
    assert "could not be read" in outage and "&lt;refused&gt;" in outage
