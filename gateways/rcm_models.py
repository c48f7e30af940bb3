"""The project's own view of the modernized architecture (replication appliance, ``InMageRcm``).

Companion of `site_recovery_models` for vaults whose VMware side is a replication appliance
(Microsoft's modernized architecture). Plain frozen dataclasses, so the preflight and tracking can
use them without importing azure; `gateways.site_recovery_rcm` fills them from SDK objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from gateways.site_recovery_models import HealthIssue, PlanContext, ProtectedItem, ProviderInput

# Provider instanceTypes of protected items (modernized.md §2): failed over, then reprotected.
CLASSIC_PROVIDERS = frozenset({"inmageazurev2", "inmage"})
MODERNIZED_PROVIDERS = frozenset({"inmagercm", "inmagercmfailback"})


class Architecture(Enum):
    """Which VMware architecture a plan's items replicate with."""

    CLASSIC = "classic"
    MODERNIZED = "modernized"
    MIXED = "mixed"
    UNKNOWN = "unknown"


def detect_architecture(providers: Iterable[str]) -> Architecture:
    """Classic (`InMageAzureV2`, `InMage`), modernized (`InMageRcm`, `InMageRcmFailback`),
    both (mixed), or unknown: no items, or a provider that is neither, which the bot cannot
    reprotect whatever the others are."""
    seen = {p.lower() for p in providers}
    if not seen or seen - CLASSIC_PROVIDERS - MODERNIZED_PROVIDERS:
        return Architecture.UNKNOWN
    if seen <= CLASSIC_PROVIDERS:
        return Architecture.CLASSIC
    if seen <= MODERNIZED_PROVIDERS:
        return Architecture.MODERNIZED
    return Architecture.MIXED


@dataclass(frozen=True)
class ApplianceComponent:
    """One of an appliance's services as the fabric lists it (process server, RCM proxy, push
    installer, replication agent, MARS agent). `statuses` are the process server's
    `RcmComponentStatus` fields by wire name (`systemLoadStatus`, …) when reported."""

    kind: str
    name: str
    health: str
    last_heartbeat: datetime | None
    health_errors: tuple[HealthIssue, ...] = ()
    statuses: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Appliance:
    """A replication appliance that can receive failback: the fabric's `reprotectAgents` entry
    (its `id` is the `reprotectAgentId` to send) with the same-named components."""

    id: str
    name: str
    health: str
    last_heartbeat: datetime | None
    health_errors: tuple[HealthIssue, ...]
    accessible_datastores: tuple[str, ...]
    vcenter_id: str | None
    protected_item_count: int | None = None
    version: str | None = None
    components: tuple[ApplianceComponent, ...] = ()

    def can_reach(self, datastore: str) -> bool:
        """Whether the appliance lists the datastore (names compare as VMware shows them)."""
        return datastore in self.accessible_datastores


@dataclass(frozen=True)
class RcmFabric:
    """The `InMageRcm` fabric with its appliances."""

    fabric_name: str
    fabric_id: str
    health: str | None
    health_errors: tuple[HealthIssue, ...]
    appliances: tuple[Appliance, ...]

    def appliance(self, name: str) -> Appliance | None:
        """The appliance named `name` (case-insensitive), as `-ApplianceName` picks it."""
        return next((a for a in self.appliances if a.name.lower() == name.lower()), None)


@dataclass(frozen=True)
class RcmFailbackPolicy:
    """The `InMageRcmFailback` policy mapped from the fabric's container (the `policyId`);
    `mapping_state` is the mapping's `state` as given (`Paired` in Microsoft's examples)."""

    id: str
    name: str
    mapping_name: str
    app_consistent_minutes: int | None = None
    crash_consistent_minutes: int | None = None
    mapping_state: str | None = None


@dataclass(frozen=True)
class RcmItem:
    """A protected item with the modernized provider's fields the preflight and tracking read.

    `agent_registered` is `isAgentRegistrationSuccessfulAfterFailover` (None: not reported);
    `log_storage_account_ids` are the disks' `logStorageAccountId`s, the most used first;
    `failback_progress_percent` is `initialReplicationProgressPercentage` once the item is
    `InMageRcmFailback`, None before.
    """

    item: ProtectedItem
    agent_registered: bool | None
    discovered_datastores: tuple[str, ...]
    vm_deleted: bool | None
    vcenter_id: str | None
    log_storage_account_ids: tuple[str, ...]
    disk_count: int
    failback_progress_percent: int | None = None
    reprotect_agent_id: str | None = None
    target_datastore: str | None = None

    @property
    def provider(self) -> str:
        return self.item.provider

    @property
    def protected(self) -> bool:
        return self.item.protected


@dataclass(frozen=True)
class RcmReprotectInput(ProviderInput):
    """The values sent in `InMageRcmReprotectInput`; the approver sees every one of them."""

    reprotect_agent_id: str
    datastore_name: str
    log_storage_account_id: str
    policy_id: str | None = None


@dataclass(frozen=True)
class ModernizedPlanContext(PlanContext):
    """A plan with modernized items, read in the same list calls as any plan, plus one list
    of the vault's items: `rcm_items` in the plan's order, the appliance fabric and failback
    policy, and `failing_back` (the vault's `InMageRcmFailback` items, whose disks count
    toward an appliance's 60)."""

    rcm_items: tuple[RcmItem, ...] = ()
    fabric: RcmFabric | None = None
    rcm_policy: RcmFailbackPolicy | None = None
    failing_back: tuple[RcmItem, ...] = ()
