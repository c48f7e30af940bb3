"""The project's own view of the failback journey after reprotect: fail back, commit or
cancel, reprotect to Azure.

Plain frozen dataclasses (no azure import) filled by `gateways.site_recovery_failback`. Every
value is Site Recovery's own, raw: `allowed_operations` is what the item or plan lists, never
derived from free text, and an unseen spelling stays as sent for the caller to report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from gateways.site_recovery_models import (
    CurrentScenario,
    ProtectedItem,
    ProviderInput,
    RecoveryPlan,
)

# Defined with `PlanContext`, which carries it; still importable from here.
from gateways.site_recovery_models import ForwardTargets as ForwardTargets


@dataclass(frozen=True)
class FailbackItem:
    """What the failback steps read from one protected item.

    `item` carries `allowed_operations`, `active_location`, `current_scenario` and the
    provider as the other steps read them. `latest_recovery_point` is the newest point the
    item reports: classic `InMage` `retentionWindowEnd`, modernized `InMageRcmFailback` the
    oldest `protectedDisks[].lastSyncTime` (a VM's point is as recent as its least recently
    synced disk); `latest_tagged_point` the newest classic `consistencyPoints` entry.
    """

    item: ProtectedItem
    active_site_type: str | None = None
    latest_recovery_point: datetime | None = None
    latest_tagged_point: datetime | None = None
    last_planned_failover_status: str | None = None
    last_planned_failover_start: datetime | None = None
    failover_recovery_point_id: str | None = None
    # `discoveredVmDetails.powerStatus` of a modernized item's VM in the private cloud, raw.
    power_status: str | None = None

    @property
    def allowed_operations(self) -> tuple[str, ...]:
        return self.item.allowed_operations

    @property
    def active_location(self) -> str | None:
        return self.item.active_location

    @property
    def current_scenario(self) -> CurrentScenario:
        return self.item.current_scenario

    def allows(self, operation: str) -> bool:
        """Site Recovery lists `operation` (an exact `ReplicationProtectedItemOperation`)."""
        return operation in self.item.allowed_operations

    def recovery_point_age(self, now: datetime) -> timedelta | None:
        """How old the latest recovery point is at `now`, where the item reports one."""
        point = self.latest_recovery_point
        return None if point is None else now - point


@dataclass(frozen=True)
class PlanState:
    """A recovery plan's own journey signals: its `allowedOperations` and last scenario."""

    plan: RecoveryPlan
    allowed_operations: tuple[str, ...]
    current_scenario: CurrentScenario | None
    current_scenario_status: str | None
    replication_providers: tuple[str, ...]
    last_planned_failover_time: datetime | None = None
    last_unplanned_failover_time: datetime | None = None

    def allows(self, operation: str) -> bool:
        return operation in self.allowed_operations


@dataclass(frozen=True)
class FailbackContext:
    """A plan, its items and the forward targets, read in a fixed number of calls."""

    plan: PlanState
    items: tuple[FailbackItem, ...]
    forward: ForwardTargets


class ClassicPoint(Enum):
    """Classic failback recovery point (`RpInMageRecoveryPointType`): PowerShell sends
    `LatestTag` for the latest application-consistent point, `LatestTime` otherwise."""

    LATEST_TIME = "LatestTime"
    LATEST_TAG = "LatestTag"


class ModernizedPoint(Enum):
    """Modernized failback recovery point (`InMageRcmFailbackRecoveryPointType`)."""

    CRASH_CONSISTENT = "CrashConsistent"
    APPLICATION_CONSISTENT = "ApplicationConsistent"


@dataclass(frozen=True)
class AzureV2ReprotectInput(ProviderInput):
    """Classic reprotect AVS → Azure (`InMageAzureV2ReprotectInput`); without a master target
    PowerShell sends the process server's id as `masterTargetId`."""

    process_server_id: str
    run_as_account_id: str
    policy_id: str
    master_target_id: str | None = None


@dataclass(frozen=True)
class RcmFailbackReprotectInput(ProviderInput):
    """Modernized reprotect AVS → Azure (`InMageRcmFailbackReprotectInput`): the appliance's
    process server id and the forward `InMageRcm` policy; the run-as account is optional."""

    process_server_id: str
    policy_id: str
    run_as_account_id: str | None = None


@dataclass(frozen=True)
class FailbackInput(ProviderInput):
    """What a failback's provider input carries besides Site Recovery's constants, by wire
    name: `instance_type` `InMage` (classic: unplanned failover) or `InMageRcmFailback`
    (modernized: planned failover), and its `recovery_point_type`."""

    instance_type: str
    recovery_point_type: str

    @property
    def point(self) -> ClassicPoint | ModernizedPoint:
        """The recovery point type as the architecture's enum (ValueError: not one of it)."""
        if self.instance_type == "InMage":
            return ClassicPoint(self.recovery_point_type)
        return ModernizedPoint(self.recovery_point_type)
