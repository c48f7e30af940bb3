"""Where a plan stands in the failback journey, read from Site Recovery's own signals.

The journey after a failover to Azure: reprotect to AVS, fail back, commit (or, modernized
only, cancel), reprotect to Azure. An item's stage comes from its provider (`InMageAzureV2`
and `InMageRcm` replicate to Azure; `InMage` and `InMageRcmFailback` back to the private
cloud), what Site Recovery lists in `allowedOperations` (exact names of
`ReplicationProtectedItemOperation`), its `protectionState` (`Protected` only, as the
reprotect's "done" reads it) and the scenario of a job running on it; `activeSiteType`, where
a classic item reports it, must not contradict. Any other combination is `UNKNOWN` with the
raw values: never a guess. Pure: no Slack, no HTTP.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateways.site_recovery_models import IDLE_SCENARIO, ProtectedItem, RecoveryPlan

CLASSIC_FORWARD, MODERNIZED_FORWARD = "inmageazurev2", "inmagercm"
CLASSIC_BACK, MODERNIZED_BACK = "inmage", "inmagercmfailback"
FORWARD = {CLASSIC_FORWARD: "classic", MODERNIZED_FORWARD: "modernized"}
BACK = {CLASSIC_BACK: "classic", MODERNIZED_BACK: "modernized"}
# The failover an architecture's failback is (classic: unplanned, modernized: planned).
FAILBACK_OPERATION = {"classic": "UnplannedFailover", "modernized": "PlannedFailover"}
FAILOVER_SCENARIOS = frozenset({"plannedfailover", "unplannedfailover"})
REPROTECT_SCENARIO = "reversereplication"
COMMIT_SCENARIO, CANCEL_SCENARIO = "commitfailover", "cancelfailover"
PROTECTED_TO_AZURE_OPERATIONS = ("UnplannedFailover", "PlannedFailover", "TestFailover")


class Stage(enum.StrEnum):
    """A stage of the journey, in its order (`UNKNOWN` last)."""

    FAILED_OVER_TO_AZURE = "failed-over-to-azure"  # running in Azure, not protected
    REPROTECTING_TO_AVS = "reprotecting-to-avs"
    PROTECTED_TO_AVS = "protected-to-avs"          # ready to fail back
    FAILING_BACK = "failing-back"
    FAILED_BACK = "failed-back"                    # awaiting commit (or cancel, modernized)
    CANCELLING = "cancelling"                      # modernized: back to protected to AVS
    COMMITTING = "committing"
    COMMITTED = "committed"                        # ready to reprotect to Azure
    REPROTECTING_TO_AZURE = "reprotecting-to-azure"
    PROTECTED_TO_AZURE = "protected-to-azure"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ItemSignals:
    """What the stage is read from, raw as Site Recovery sent it."""

    vm: str
    provider: str
    allowed_operations: tuple[str, ...]
    protection_state: str
    scenario: str = IDLE_SCENARIO
    active_site_type: str | None = None

    @classmethod
    def of(cls, item: ProtectedItem, active_site_type: str | None = None) -> ItemSignals:
        return cls(vm=item.friendly_name or item.name, provider=item.provider,
                   allowed_operations=item.allowed_operations,
                   protection_state=item.protection_state,
                   scenario=item.current_scenario.name, active_site_type=active_site_type)


@dataclass(frozen=True)
class ItemStage:
    """One item's stage; `cancel_possible` where a failed-back item lists `CancelFailover`."""

    signals: ItemSignals
    stage: Stage
    architecture: str | None = None
    cancel_possible: bool = False


def item_stage(signals: ItemSignals) -> ItemStage:
    """The item's stage, or `UNKNOWN` when its signals fit no stage or contradict."""
    provider = signals.provider.casefold()
    if provider in BACK:
        stage = _back_stage(signals, BACK[provider])
        architecture = BACK[provider]
    elif provider in FORWARD:
        stage = _forward_stage(signals)
        architecture = FORWARD[provider]
    else:
        return ItemStage(signals, Stage.UNKNOWN)
    if _contradicted(stage, signals.active_site_type):
        stage = Stage.UNKNOWN
    return ItemStage(signals, stage, architecture,
                     cancel_possible=stage is Stage.FAILED_BACK
                     and "CancelFailover" in signals.allowed_operations)


def _back_stage(signals: ItemSignals, architecture: str) -> Stage:
    """An item replicating from Azure to the private cloud, or failed back there."""
    allowed = signals.allowed_operations
    if "Commit" in allowed:
        return Stage.FAILED_BACK
    if "ReverseReplicate" in allowed:
        return Stage.COMMITTED
    if FAILBACK_OPERATION[architecture] in allowed:
        return Stage.PROTECTED_TO_AVS
    scenario = signals.scenario.casefold()
    if scenario in FAILOVER_SCENARIOS:
        return Stage.FAILING_BACK
    running = {COMMIT_SCENARIO: Stage.COMMITTING, CANCEL_SCENARIO: Stage.CANCELLING,
               REPROTECT_SCENARIO: Stage.REPROTECTING_TO_AZURE}
    if scenario in running:
        return running[scenario]
    if scenario == IDLE_SCENARIO.casefold() and not _protected(signals) \
            and _nothing_but_disable(allowed):
        return Stage.REPROTECTING_TO_AVS  # initial replication or resync to AVS
    return Stage.UNKNOWN


def _forward_stage(signals: ItemSignals) -> Stage:
    """An item replicating from the private cloud to Azure, or failed over to Azure."""
    allowed = signals.allowed_operations
    scenario = signals.scenario.casefold()
    if scenario == REPROTECT_SCENARIO:
        return Stage.REPROTECTING_TO_AVS
    if "ReverseReplicate" in allowed or "Commit" in allowed:
        return Stage.FAILED_OVER_TO_AZURE
    if scenario != IDLE_SCENARIO.casefold():
        return Stage.UNKNOWN
    if _protected(signals) and any(op in allowed for op in PROTECTED_TO_AZURE_OPERATIONS):
        return Stage.PROTECTED_TO_AZURE
    if not _protected(signals) and _nothing_but_disable(allowed):
        return Stage.REPROTECTING_TO_AZURE  # initial replication to Azure
    return Stage.UNKNOWN


def _protected(signals: ItemSignals) -> bool:
    return signals.protection_state.casefold() == "protected"


def _nothing_but_disable(allowed: Sequence[str]) -> bool:
    return set(allowed) <= {"DisableProtection"}


# Classic `activeSiteType` (`Azure` | `OnPrem`, the SDK's docstring): a stage at rest on the
# other side is a contradiction; any other spelling says nothing.
RUNS_IN_AZURE = frozenset({Stage.PROTECTED_TO_AVS, Stage.FAILED_OVER_TO_AZURE})
RUNS_ON_PREM = frozenset({Stage.FAILED_BACK, Stage.COMMITTED})


def _contradicted(stage: Stage, active_site_type: str | None) -> bool:
    site = (active_site_type or "").casefold()
    return (site == "onprem" and stage in RUNS_IN_AZURE) or \
        (site == "azure" and stage in RUNS_ON_PREM)


@dataclass(frozen=True)
class PlanJourney:
    """A plan's stage: its items counted per stage, the unknown ones with their raw values."""

    plan_name: str
    plan_friendly_name: str
    counts: tuple[tuple[Stage, int], ...] = ()
    architectures: tuple[str, ...] = ()
    cancel_possible: int = 0
    unknown: tuple[ItemSignals, ...] = field(default_factory=tuple)

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)

    @property
    def stage(self) -> Stage | None:
        """The plan's one stage when every item is there; None when empty or mixed."""
        return self.counts[0][0] if len(self.counts) == 1 else None

    def to_json(self) -> dict[str, Any]:
        return {"plan_name": self.plan_name, "plan_friendly_name": self.plan_friendly_name,
                "counts": [[s.value, n] for s, n in self.counts],
                "architectures": list(self.architectures),
                "cancel_possible": self.cancel_possible,
                "unknown": [_signals_json(s) for s in self.unknown]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlanJourney:
        return cls(plan_name=data["plan_name"], plan_friendly_name=data["plan_friendly_name"],
                   counts=tuple((Stage(s), int(n)) for s, n in data["counts"]),
                   architectures=tuple(data["architectures"]),
                   cancel_possible=int(data["cancel_possible"]),
                   unknown=tuple(ItemSignals(**(u | {"allowed_operations": tuple(
                       u["allowed_operations"])})) for u in data["unknown"]))


def _signals_json(signals: ItemSignals) -> dict[str, Any]:
    return {"vm": signals.vm, "provider": signals.provider,
            "allowed_operations": list(signals.allowed_operations),
            "protection_state": signals.protection_state, "scenario": signals.scenario,
            "active_site_type": signals.active_site_type}


def plan_journey(plan_name: str, plan_friendly_name: str,
                 items: Iterable[ItemSignals]) -> PlanJourney:
    """The plan's items' stages counted, in the journey's order."""
    stages = [item_stage(s) for s in items]
    counted = Counter(s.stage for s in stages)
    return PlanJourney(
        plan_name=plan_name, plan_friendly_name=plan_friendly_name,
        counts=tuple((stage, counted[stage]) for stage in Stage if counted[stage]),
        architectures=tuple(sorted({s.architecture for s in stages if s.architecture})),
        cancel_possible=sum(1 for s in stages if s.cancel_possible),
        unknown=tuple(s.signals for s in stages if s.stage is Stage.UNKNOWN))


def vault_journey(plans: Sequence[RecoveryPlan],
                  items: Sequence[tuple[str, ItemSignals]]) -> tuple[PlanJourney, ...]:
    """Every plan's stage from one list of the vault's items, each with its ARM id (matched
    in any case);
    an item the list did not hold is counted unknown rather than read on its own."""
    by_id = {item_id.casefold(): signals for item_id, signals in items}
    journeys = []
    for plan in plans:
        members = [by_id.get(i.casefold()) or _missing(i) for i in plan.item_ids]
        journeys.append(plan_journey(plan.name, plan.friendly_name, members))
    return tuple(journeys)


def _missing(item_id: str) -> ItemSignals:
    """An item the vault's list did not return: nothing known about it."""
    return ItemSignals(vm=item_id.rsplit("/", 1)[-1], provider="", allowed_operations=(),
                       protection_state="", scenario="not listed")
