"""The project's own view of Site Recovery objects.

The gateway converts SDK models into these frozen dataclasses so that domain code (preflight,
tracking, views) never imports azure and can be tested with plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

IDLE_SCENARIO = "None"
TERMINAL_JOB_STATES = frozenset({"Succeeded", "Failed", "Cancelled"})


def same_arm_id(a: str | None, b: str | None) -> bool:
    """ARM ids come back as `/Subscriptions/…` or `/subscriptions/…`: compare without case."""
    return a is not None and b is not None and a.lower() == b.lower()


@dataclass(frozen=True)
class HealthIssue:
    """A Site Recovery health or validation error, as shown to operators."""

    code: str
    message: str
    recommended_action: str = ""


@dataclass(frozen=True)
class Datastore:
    symbolic_name: str
    type: str
    capacity_gb: float | None
    free_gb: float | None


@dataclass(frozen=True)
class RetentionVolume:
    volume_name: str
    capacity_bytes: int | None
    free_bytes: int | None
    threshold_percent: int | None

    @property
    def free_percent(self) -> float | None:
        if not self.capacity_bytes or self.free_bytes is None:
            return None
        return 100.0 * self.free_bytes / self.capacity_bytes

    @property
    def used_percent(self) -> float | None:
        free = self.free_percent
        return None if free is None else 100.0 - free


@dataclass(frozen=True)
class MasterTarget:
    id: str
    name: str
    ip_address: str
    os_type: str
    last_heartbeat: datetime | None
    datastores: tuple[Datastore, ...] = ()
    retention_volumes: tuple[RetentionVolume, ...] = ()
    health_errors: tuple[HealthIssue, ...] = ()
    validation_errors: tuple[HealthIssue, ...] = ()
    disk_count: int | None = None


@dataclass(frozen=True)
class ProcessServer:
    id: str
    name: str
    ip_address: str
    last_heartbeat: datetime | None
    health: str
    health_errors: tuple[HealthIssue, ...] = ()
    replication_pair_count: int | None = None
    system_load: str | None = None
    service_status: str | None = None


@dataclass(frozen=True)
class RunAsAccount:
    account_id: str
    name: str


@dataclass(frozen=True)
class ConfigurationServer:
    """The configuration server's fabric with the failback infrastructure it knows."""

    fabric_name: str
    fabric_id: str
    host_name: str
    last_heartbeat: datetime | None
    service_status: str | None
    health: str | None
    health_errors: tuple[HealthIssue, ...]
    master_targets: tuple[MasterTarget, ...]
    process_servers: tuple[ProcessServer, ...]
    run_as_accounts: tuple[RunAsAccount, ...]
    ip_address: str = ""

    def hosts(self, ps: ProcessServer) -> bool:
        """The process server installed with the configuration server (same host): it
        serves replication to Azure, not failback from it."""
        short = self.host_name.split(".", 1)[0].casefold()
        return bool(self.ip_address and ps.ip_address == self.ip_address) or \
            bool(short and ps.name.split(".", 1)[0].casefold() == short)


@dataclass(frozen=True)
class CurrentScenario:
    name: str
    job_id: str | None

    @property
    def idle(self) -> bool:
        return self.name.casefold() == IDLE_SCENARIO.casefold()


@dataclass(frozen=True)
class ProtectedItem:
    id: str
    name: str
    friendly_name: str
    fabric_name: str
    container_name: str
    protection_state: str
    protection_state_description: str
    active_location: str | None
    allowed_operations: tuple[str, ...]
    current_scenario: CurrentScenario
    provider: str
    os_type: str | None
    replication_health: str | None
    health_errors: tuple[HealthIssue, ...] = ()
    multi_vm_group: str | None = None
    vm_uuid: str | None = None
    ip_address: str | None = None
    agent_heartbeat: datetime | None = None
    os_version: str | None = None
    discovery_type: str | None = None
    vcenter_infrastructure_id: str | None = None
    infrastructure_vm_id: str | None = None
    # `initialReplicationProgressPercentage` of a modernized item replicating back
    # (`InMageRcmFailback`); None where the provider does not report it.
    progress_percent: int | None = None
    # `isAgentRegistrationSuccessfulAfterFailover` of a modernized item failed over to Azure
    # (`InMageRcm`): its mobility agent registers up to 15 minutes after the VM boots, and
    # a reprotect sent before fails. None where the provider does not report it.
    agent_registered: bool | None = None

    @property
    def protected(self) -> bool:
        return self.protection_state.lower() == "protected"


@dataclass(frozen=True)
class RecoveryPlan:
    id: str
    name: str
    friendly_name: str
    item_ids: tuple[str, ...]
    vm_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class FailbackPolicy:
    id: str
    name: str


@dataclass(frozen=True)
class DiscoveredVCenter:
    """A vCenter the configuration server discovered (`replicationvCenters`)."""

    name: str
    fabric_name: str
    ip_address: str
    infrastructure_id: str
    discovery_status: str
    last_heartbeat: datetime | None
    health_errors: tuple[HealthIssue, ...] = ()


@dataclass(frozen=True)
class ForwardTargets:
    """What a reprotect back to Azure can use on the items' fabric: the forward policy (the
    fabric's mapping to a `InMageAzureV2` or `InMageRcm` policy), the process servers (classic
    configuration server's, or the appliances'), classic master targets and run-as accounts
    (a modernized fabric lists no run-as accounts: they live on the VMware site)."""

    fabric_name: str | None
    policy: FailbackPolicy | None
    mapping_name: str | None
    process_servers: tuple[ProcessServer, ...] = ()
    master_targets: tuple[MasterTarget, ...] = ()
    run_as_accounts: tuple[RunAsAccount, ...] = ()


@dataclass(frozen=True)
class PlanContext:
    """Everything a preflight needs, read in a fixed number of calls whatever the plan size."""

    plan: RecoveryPlan
    items: tuple[ProtectedItem, ...]
    config_server: ConfigurationServer | None
    failback_policy: FailbackPolicy | None
    vcenters: tuple[DiscoveredVCenter, ...] = ()
    vault_extended_info: bool = True
    vault_extended_info_forbidden: bool = False
    # What a reprotect back to Azure uses (forward policy, process servers, run-as accounts),
    # from the same fabric, policy and mapping lists: no further read.
    forward: ForwardTargets | None = None


@dataclass(frozen=True)
class Accepted:
    """What Site Recovery's answer to a write says: the job it started (when the answer names
    it) and how long it asks clients to wait before looking (`Retry-After`)."""

    job_id: str | None
    retry_after_s: float | None = None


@dataclass(frozen=True)
class ProviderInput:
    """A provider's reprotect values: the gateway sends any of them, each kind with its own
    body (`site_recovery_convert.reprotect_body`)."""


@dataclass(frozen=True)
class ReprotectInput(ProviderInput):
    """The values sent in `InMageReprotectInput`; the approver sees every one of them."""

    master_target_id: str
    process_server_id: str
    retention_drive: str
    datastore_name: str | None
    profile_id: str
    run_as_account_id: str | None = None


@dataclass(frozen=True)
class JobError:
    code: str
    message: str
    possible_causes: str = ""
    recommended_action: str = ""
    provider_code: str | None = None
    provider_message: str | None = None


@dataclass(frozen=True)
class JobTask:
    name: str
    state: str


@dataclass(frozen=True)
class Job:
    id: str
    state: str
    state_description: str
    scenario_name: str
    target_object_id: str | None
    tasks: tuple[JobTask, ...] = ()
    errors: tuple[JobError, ...] = field(default_factory=tuple)
    allowed_actions: tuple[str, ...] = ()
    start_time: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL_JOB_STATES

    @property
    def current_task(self) -> JobTask | None:
        """The task running now, else the last one that ran: what the thread reports."""
        running = [t for t in self.tasks if t.state == "InProgress"]
        if running:
            return running[0]
        started = [t for t in self.tasks if t.state not in ("NotStarted", "")]
        return started[-1] if started else None
