"""In-memory Recovery Services vault behind the ARM emulator (classic VMware, after failover).

Resources are kept as the wire JSON the service returns, so what the SDK deserializes and what
tests mutate are the same object. Jobs are the exception: their state depends on the clock, so
they are records rendered to wire JSON on demand, and :meth:`World.settle` applies their effects
on protected items lazily (no background thread, deterministic with an injected clock).

Field names and enumerations follow Site Recovery's REST reference and the SDK 2.0.0 models.
Numeric codes for reprotect refusals are emulator choices (the service does not document
them); the job failure codes are the documented failback/reprotect ones.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

Json = dict[str, Any]

SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000001"
RESOURCE_GROUP = "rg-dr"
VAULT_NAME = "vault-avs"
AZURE_FABRIC = "Microsoft Azure"
IDLE_SCENARIO = "None"
IDLE_START_TIME = "1753-01-01T01:01:01Z"
REVERSE_REPLICATE = "ReverseReplicate"
REPROTECT_SCENARIO = "ReverseReplication"
RESTART_SCENARIO = "RestartJob"
FAILED_OVER_OPERATIONS = (REVERSE_REPLICATE, "DisableProtection")
REPROTECT_TASKS = (
    ("PrerequisitesCheckTask", "Prerequisites check"),
    ("PrepareReprotectTask", "Preparing for reprotect"),
    ("StartReplicationTask", "Starting replication"),
    ("FinalizeProtectionTask", "Finalizing protection"),
)
GB = 1024**3
# Spellings a seeded vault (`World.sample(seed=…)`) uses instead of the emulator's defaults:
# the fields no public source pins (facts.md §8) and the case of enumerations, each list free
# of the default value so that a seeded vault holds only values the default one never shows.
RESPELLINGS: dict[str, tuple[Any, ...]] = {
    "csServiceStatus": ("running", "RUNNING", "Started", "OK", "Healthy", "Active"),
    "psServiceStatus": ("running", "RUNNING", "Started", "OK", "Healthy", "Active"),
    "discoveryStatus": ("connected", "CONNECTED", "Discovered", "Completed", "Pending",
                        "Succeeded"),
    "health": ("normal", "NORMAL", "None"),
    "activeLocation": ("recovery", "RECOVERY"),
    "thresholdPercentage": (0, 10, 20, 50, 90, 95, 100),
    "vSAN": ("vsan", "VSAN", "vsanDatastore", "vSAN-ESA"),
    "VMFS": ("vmfs", "VMFS6", "VMFS-6", "vmfs5"),
    "NFS": ("nfs", "NFS41", "NFSv3"),
}
# The failback journey's free-text values (failback.md §6: not pinned by any public source),
# respelled through `World.spell` once `respell` has chosen.
JOURNEY_RESPELLINGS: dict[str, tuple[str, ...]] = {
    "Azure": ("azure", "AZURE"),
    "Recovery": RESPELLINGS["activeLocation"],
    "Primary": ("primary", "PRIMARY"),
    "OnPrem": ("onprem", "ONPREM", "OnPremises"),
    "ON": ("on", "On", "PoweredOn", "poweredOn"),
    "OFF": ("off", "Off", "PoweredOff", "poweredOff"),
    "Failover committed": ("Failover Committed", "Planned failover committed"),
}
FAILBACK_TYPES = ("vmfs", "vsan")  # how a seeded datastore type still reads as VMFS or vSAN
_ID_NAMESPACE = uuid.UUID("5b6f2f8e-43a1-4c57-9a53-3f1f0c1d2e10")

# Emulator-chosen codes for synchronous reprotect refusals (undocumented in the service).
CODE_INVALID_INPUT = "28005"
CODE_UNKNOWN_INFRASTRUCTURE = "28042"
CODE_OPERATION_NOT_ALLOWED = "28015"
CODE_OPERATION_IN_PROGRESS = "28024"
CODE_JOB_NOT_RESTARTABLE = "28093"
CODE_AGENT_NOT_INSTALLED = "28176"
AGENT_NOT_INSTALLED = (
    "Reprotect failed because the agent isn't installed on the virtual machine '{vm}'."
)
JOB_ACTIONS = ("cancel", "restart", "resume")


class ArmError(Exception):
    """An ARM error response: raised anywhere, rendered once by the emulator."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        possible_causes: str | None = None,
        recommended_action: str | None = None,
        headers: dict[str, str] | None = None,
        body: Json | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.possible_causes = possible_causes
        self.recommended_action = recommended_action
        self.headers = headers or {}
        self._body = body

    def body(self) -> Json:
        """ARM error envelope; ASR puts causes/actions in a detail entry."""
        if self._body is not None:
            return self._body
        error: Json = {"code": self.code, "message": self.message}
        if self.possible_causes or self.recommended_action:
            error["details"] = [
                {
                    "code": self.code,
                    "message": self.message,
                    "possibleCauses": self.possible_causes or "",
                    "recommendedAction": self.recommended_action or "",
                }
            ]
        return {"error": error}


def iso(timestamp: float) -> str:
    """UTC timestamp in the ``...Z`` form ASR uses."""
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(value: str) -> float:
    """Parse an OData/PowerShell round-trip date (7 fractional digits allowed)."""
    match = re.fullmatch(r"(.*?T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?", value.strip())
    if match is None:
        raise ValueError(value)
    head, fraction, zone = match.groups()
    text = (
        head
        + (f".{fraction[:6]}" if fraction else "")
        + ("+00:00" if zone in (None, "Z") else zone)
    )
    return dt.datetime.fromisoformat(text).timestamp()


def parse_filter(expression: str | None) -> dict[str, list[str]]:
    """Collect ``Key eq 'value'`` terms of an OData filter as PowerShell writes them.

    PowerShell joins terms with ``and`` and lists with ``( K eq 'a' or K eq 'b' )``, so a flat
    scan of equality terms recovers every constraint. Keys are lower-cased.
    """
    terms: dict[str, list[str]] = {}
    for key, value in re.findall(r"(\w+)\s+eq\s+'((?:[^']|'')*)'", expression or ""):
        terms.setdefault(key.lower(), []).append(value.replace("''", "'"))
    return terms


def same_id(left: str | None, right: str | None) -> bool:
    """ARM ids and names compare case-insensitively (the service returns /Subscriptions/)."""
    return (
        left is not None
        and right is not None
        and left.rstrip("/").lower() == right.rstrip("/").lower()
    )


def invalid_input(message: str, causes: str, action: str) -> ArmError:
    """The service's 400 for a reprotect body it cannot use."""
    return ArmError(
        400, CODE_INVALID_INPUT, message, possible_causes=causes, recommended_action=action
    )


def primary_vm_id(item: Json) -> str | None:
    """The id Site Recovery gives the item's VM: ``vmId`` (classic) or ``internalIdentifier``."""
    details = item["properties"]["providerSpecificDetails"]
    vm_id: str | None = details.get("vmId") or details.get("internalIdentifier")
    return vm_id


def stable_guid(*parts: str) -> str:
    """Deterministic GUID so sample ids are stable across runs."""
    return str(uuid.uuid5(_ID_NAMESPACE, "/".join(parts)))


def make_process_server(
    name: str, *, ip_address: str, heartbeat: float, machine_count: int, cpu_load: int
) -> Json:
    """A process server entry of ``customDetails.processServers``."""
    return {
        "friendlyName": name,
        "id": stable_guid("ps", name).upper(),
        "ipAddress": ip_address,
        "osType": "Windows",
        "osVersion": "Microsoft Windows Server 2016 Datacenter",
        "agentVersion": "9.60.6956.1",
        "lastHeartbeat": iso(heartbeat),
        "versionStatus": "Supported",
        "hostId": stable_guid("ps-host", name).upper(),
        "machineCount": str(machine_count),
        "replicationPairCount": str(machine_count),
        "systemLoad": str(machine_count),
        "systemLoadStatus": "Healthy",
        "cpuLoad": str(cpu_load),
        "cpuLoadStatus": "Healthy" if cpu_load < 80 else "Warning",
        "totalMemoryInBytes": 32 * GB,
        "availableMemoryInBytes": 20 * GB,
        "memoryUsageStatus": "Healthy",
        "totalSpaceInBytes": 1024 * GB,
        "availableSpaceInBytes": 700 * GB,
        "spaceUsageStatus": "Healthy",
        "psServiceStatus": "Running",
        "sslCertExpiryRemainingDays": 700,
        "throughputInMBps": 40,
        "throughputInBytes": 40 * 1024**2,
        "throughputStatus": "Healthy",
        "throughputUploadPendingDataInBytes": 0,
        "marsCommunicationStatus": "Connected",
        "marsRegistrationStatus": "Registered",
        "agentVersionDetails": {"version": "9.60.6956.1", "status": "Supported"},
        "mobilityServiceUpdates": [],
        "health": "Normal",
        "healthErrors": [],
    }


def retention_volume(volume_name: str, capacity_gb: int, free_gb: int) -> Json:
    """A master target retention volume (sizes in bytes, as the service reports them)."""
    return {
        "volumeName": volume_name,
        "capacityInBytes": capacity_gb * GB,
        "freeSpaceInBytes": free_gb * GB,
        "thresholdPercentage": 80,
    }


def data_store(symbolic_name: str, kind: str, capacity_gb: int, free_gb: int) -> Json:
    """A datastore seen by a master target (capacity/freeSpace are GB strings on the wire)."""
    return {
        "symbolicName": symbolic_name,
        "uuid": stable_guid("ds", symbolic_name),
        "capacity": str(capacity_gb),
        "freeSpace": str(free_gb),
        "type": kind,
    }


def make_master_target(
    name: str,
    *,
    os_type: str,
    ip_address: str,
    heartbeat: float,
    retention_volumes: Sequence[Json],
    data_stores: Sequence[Json],
) -> Json:
    """A master target entry of ``customDetails.masterTargetServers``."""
    return {
        "id": stable_guid("mt", name).upper(),
        "name": name,
        "ipAddress": ip_address,
        "osType": os_type,
        "osVersion": "Windows Server 2019" if os_type == "Windows" else "Ubuntu 20.04",
        "agentVersion": "9.60.6956.1",
        "lastHeartbeat": iso(heartbeat),
        "versionStatus": "Supported",
        "retentionVolumes": list(retention_volumes),
        "dataStores": list(data_stores),
        "validationErrors": [],
        "healthErrors": [],
        "diskCount": 3,
        "agentVersionDetails": {"version": "9.60.6956.1", "status": "Supported"},
    }


@dataclass
class ReprotectFailure:
    """How the next reprotect job(s) of an item fail (see :meth:`World.set_reprotect_failure`)."""

    code: str
    message: str
    possible_causes: str
    recommended_action: str
    provider_code: int | None
    provider_message: str | None
    at_task: int
    times: int


@dataclass
class _PostRefusal:
    status: int
    code: str
    message: str
    remaining: int


class Progress(Enum):
    """Which of a job's effects on its protected item have been applied."""

    RUNNING = "running"
    ENDED = "ended"
    PROTECTED = "protected"


@dataclass
class Job:
    """A Site Recovery job; its state is a function of time since ``started``."""

    name: str
    scenario_name: str
    friendly_name: str
    item_key: str
    item_name: str
    started: float
    task_seconds: float
    failure: ReprotectFailure | None
    reprotect_input: Json
    prior_allowed_operations: list[str]
    activity_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # Failback journey jobs (sandbox.arm_failback): their own tasks, their wire target and
    # details, and the effect applied once when they end (instead of reprotect's).
    tasks: tuple[tuple[str, str], ...] = REPROTECT_TASKS
    target: Json | None = None
    on_end: Callable[[Job, str], None] | None = None
    restarted_as: str | None = None
    progress: Progress = Progress.RUNNING
    halted: str | None = None  # "Cancelled" or "Suspended", from ``halted_at`` on
    halted_at: float = 0.0
    paused: float = 0.0  # seconds spent suspended: the tasks ran that much later

    @property
    def failing_task(self) -> int | None:
        """0-based index of the task that fails, if any."""
        if self.failure is None:
            return None
        return min(max(self.failure.at_task, 1), len(self.tasks)) - 1

    @property
    def ended_at(self) -> float:
        tasks_run = len(self.tasks) if self.failing_task is None else self.failing_task + 1
        return self.started + self.paused + tasks_run * self.task_seconds

    def state(self, now: float) -> str:
        if self.halted is not None:
            return self.halted
        if now < self.ended_at:
            return "InProgress"
        return "Failed" if self.failure else "Succeeded"

    def ended(self, now: float) -> bool:
        return self.state(now) in ("Succeeded", "Failed", "Cancelled")

    def unsuccessful(self, now: float) -> bool:
        """Ended without reprotecting: failed or cancelled."""
        return self.state(now) in ("Failed", "Cancelled")


_STATE_DESCRIPTION = {
    "NotStarted": "NotStarted",
    "InProgress": "InProgress",
    "Succeeded": "Completed",
    "Failed": "Failed",
    "Cancelled": "Cancelled",
    "Suspended": "WaitingForManualAction",
}


class World:
    """A vault: resources by lower-cased vault-relative path, plus jobs and test hooks."""

    def __init__(
        self,
        *,
        subscription_id: str = SUBSCRIPTION_ID,
        resource_group: str = RESOURCE_GROUP,
        vault_name: str = VAULT_NAME,
        task_seconds: float = 1.0,
        protect_delay_seconds: float = 1.0,
        page_size: int = 50,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.vault_name = vault_name
        self.task_seconds = task_seconds
        self.protect_delay_seconds = protect_delay_seconds
        self.page_size = page_size
        self.clock = clock
        self.lock = threading.RLock()
        self.resources: dict[str, Json] = {}
        self.jobs: dict[str, Job] = {}
        self.reprotect_posts: list[tuple[str, Json]] = []
        self._failures: dict[str, ReprotectFailure] = {}
        self._post_refusals: dict[str, _PostRefusal] = {}
        self._agent_registers_at: dict[str, tuple[float, bool]] = {}
        self._held: dict[str, list[Json]] = {}
        # How the next failback journey jobs of an item fail (sandbox.arm_failback).
        self.failback_failures: dict[str, ReprotectFailure] = {}
        # State changes due at a time (initial replication of a reprotect to Azure).
        self.deferred: list[tuple[float, Callable[[], None]]] = []
        # Free-text values of the failback journey respelled by `respell` (default: as is).
        self.spellings: dict[str, str] = {}
        # The vault's channel integrity key (extendedInformation); None: no extended info.
        self.integrity_key: str | None = stable_guid("integrity-key", vault_name)

    # ----------------------------------------------------------------- identity helpers
    @property
    def vault_id(self) -> str:
        return (
            f"/Subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.RecoveryServices/vaults/{self.vault_name}"
        )

    def key(self, arm_id: str) -> str:
        """Vault-relative, lower-cased path of an ARM id: the storage and lookup key."""
        prefix = self.vault_id.lower() + "/"
        lowered = arm_id.lower().rstrip("/")
        if not lowered.startswith(prefix):
            raise KeyError(arm_id)
        return lowered[len(prefix) :]

    def add(self, resource: Json) -> Json:
        """Store a wire resource under its id and return it (mutable)."""
        with self.lock:
            self.resources[self.key(resource["id"])] = resource
        return resource

    def _resource(self, parent_id: str, collection: str, name: str, properties: Json) -> Json:
        parent_type = (
            "Microsoft.RecoveryServices/vaults"
            if parent_id == self.vault_id
            else self.resources[self.key(parent_id)]["type"]
        )
        return self.add(
            {
                "name": name,
                "type": f"{parent_type}/{collection}",
                "id": f"{parent_id}/{collection}/{name}",
                "properties": properties,
            }
        )

    def of_type(self, collection: str) -> list[Json]:
        """Every resource of a collection anywhere in the vault (vault-wide list endpoints)."""
        wanted = collection.lower()
        with self.lock:
            return [r for k, r in self.resources.items() if k.split("/")[-2] == wanted]

    def children(self, collection_key: str) -> list[Json]:
        """Resources directly inside the collection at ``collection_key``."""
        with self.lock:
            return [r for k, r in self.resources.items() if k.rsplit("/", 1)[0] == collection_key]

    def _find(self, collection: str, name: str) -> Json:
        for resource in self.of_type(collection):
            if same_id(resource["name"], name):
                return resource
        raise KeyError(f"{collection}/{name}")

    # ----------------------------------------------------------------- lookups for tests
    def item(self, name: str) -> Json:
        """Protected item wire JSON (mutable), with job effects applied up to now."""
        self.settle()
        return self._find("replicationProtectedItems", name)

    def fabric(self, name: str | None = None) -> Json:
        """A fabric by name, default the first VMware (configuration server) fabric."""
        if name is not None:
            return self._find("replicationFabrics", name)
        for fabric in self.of_type("replicationFabrics"):
            if fabric["properties"]["customDetails"]["instanceType"] == "VMware":
                return fabric
        raise KeyError("no VMware fabric")

    def container(self, fabric_name: str | None = None) -> Json:
        """First protection container of a fabric (default the configuration server's)."""
        fabric = self.fabric(fabric_name)
        return self.children(self.key(fabric["id"]) + "/replicationprotectioncontainers")[0]

    def policy(self, instance_type: str) -> Json:
        """First policy whose provider details have ``instance_type``."""
        for policy in self.of_type("replicationPolicies"):
            if policy["properties"]["providerSpecificDetails"]["instanceType"] == instance_type:
                return policy
        raise KeyError(instance_type)

    # ----------------------------------------------------------------- builders
    def add_config_server_fabric(
        self,
        name: str,
        *,
        host_name: str,
        process_servers: Sequence[Json],
        master_targets: Sequence[Json],
        run_as_accounts: Sequence[tuple[str, str]] = (
            ("1", "vcenter-avs"),
            ("2", "windows-push"),
            ("3", "linux-push"),
        ),
    ) -> Json:
        """A classic configuration-server fabric with one protection container."""
        heartbeat = self.clock() - 60
        return self._fabric(name, host_name, "VMware", {
            "instanceType": "VMware",
            "processServers": list(process_servers),
            "masterTargetServers": list(master_targets),
            "runAsAccounts": [
                {"accountId": a, "accountName": n} for a, n in run_as_accounts
            ],
            "replicationPairCount": "0",
            "processServerCount": str(len(process_servers)),
            "agentCount": "0",
            "protectedServers": "0",
            "systemLoad": "2",
            "systemLoadStatus": "Healthy",
            "cpuLoad": "12",
            "cpuLoadStatus": "Healthy",
            "totalMemoryInBytes": 16 * GB,
            "availableMemoryInBytes": 9 * GB,
            "memoryUsageStatus": "Healthy",
            "totalSpaceInBytes": 600 * GB,
            "availableSpaceInBytes": 420 * GB,
            "spaceUsageStatus": "Healthy",
            "webLoad": "3",
            "webLoadStatus": "Healthy",
            "databaseServerLoad": "4",
            "databaseServerLoadStatus": "Healthy",
            "csServiceStatus": "Running",
            "ipAddress": "10.10.0.10",
            "agentVersion": "9.60.6956.1",
            "hostName": host_name,
            "lastHeartbeat": iso(heartbeat),
            "versionStatus": "Supported",
            "sslCertExpiryDate": iso(heartbeat + 700 * 86400),
            "sslCertExpiryRemainingDays": 700,
            "psTemplateVersion": "9.60.6956.1",
            "agentVersionDetails": {"version": "9.60.6956.1", "status": "Supported"},
            "switchProviderBlockingErrorDetails": [],
        })

    def _fabric(self, name: str, friendly_name: str, fabric_type: str,
                details: Json) -> Json:
        """A fabric (its ARM envelope around the provider's `customDetails`) with its one
        protection container."""
        fabric = self._resource(
            self.vault_id,
            "replicationFabrics",
            name,
            {
                "friendlyName": friendly_name,
                "encryptionDetails": {"kekState": "None"},
                "rolloverEncryptionDetails": {"kekState": "None"},
                "internalIdentifier": stable_guid("fabric", name),
                "bcdrState": "Valid",
                "health": "Normal",
                "healthErrorDetails": [],
                "customDetails": details,
            },
        )
        self._resource(
            fabric["id"],
            "replicationProtectionContainers",
            f"cloud_{stable_guid('container', name)}",
            {
                "fabricFriendlyName": friendly_name,
                "friendlyName": friendly_name,
                "fabricType": fabric_type,
                "protectedItemCount": 0,
                "pairingStatus": "Paired",
                "role": "Primary",
            },
        )
        return fabric

    def add_policy(self, name: str, details: Json) -> Json:
        """A replication policy; ``details`` is its providerSpecificDetails."""
        return self._resource(
            self.vault_id,
            "replicationPolicies",
            name,
            {"friendlyName": name, "providerSpecificDetails": details},
        )

    def add_mapping(
        self,
        name: str,
        *,
        policy: Json,
        target_container_id: str,
        target_friendly_name: str,
        fabric_name: str | None = None,
    ) -> Json:
        """A mapping of a fabric's container (default the configuration server's) to ``policy``."""
        fabric = self.fabric(fabric_name)
        container = self.container(fabric_name)
        return self._resource(
            container["id"],
            "replicationProtectionContainerMappings",
            name,
            {
                "targetProtectionContainerId": target_container_id,
                "targetProtectionContainerFriendlyName": target_friendly_name,
                "health": "Normal",
                "healthErrorDetails": [],
                "policyId": policy["id"],
                "policyFriendlyName": policy["properties"]["friendlyName"],
                "state": "Paired",
                "sourceProtectionContainerFriendlyName": container["properties"]["friendlyName"],
                "sourceFabricFriendlyName": fabric["properties"]["friendlyName"],
                "targetFabricFriendlyName": (
                    fabric["properties"]["friendlyName"]
                    if target_container_id == container["id"]
                    else AZURE_FABRIC
                ),
            },
        )

    def add_vcenter(self, name: str, *, ip_address: str) -> Json:
        """A discovered, connected vCenter on the configuration server fabric."""
        fabric = self.fabric()
        details = fabric["properties"]["customDetails"]
        return self._resource(
            fabric["id"],
            "replicationvCenters",
            name,
            {
                "friendlyName": name,
                "internalId": stable_guid("vcenter", name),
                "lastHeartbeat": iso(self.clock() - 120),
                "discoveryStatus": "Connected",
                "processServerId": details["processServers"][0]["id"],
                "ipAddress": ip_address,
                "infrastructureId": stable_guid("vcenter-infra", name),
                "port": "443",
                "runAsAccountId": details["runAsAccounts"][0]["accountId"],
                "fabricArmResourceName": fabric["name"],
                "healthErrors": [],
            },
        )

    def add_provider(self) -> Json:
        """The configuration server's registered (DRA) provider, connected."""
        fabric = self.fabric()
        host = fabric["properties"]["customDetails"]["hostName"]
        return self._resource(
            fabric["id"],
            "replicationRecoveryServicesProviders",
            stable_guid("provider", fabric["name"]),
            {
                "fabricType": "VMware",
                "friendlyName": host,
                "providerVersion": "5.1.8095.0",
                "serverVersion": "9.60.6956.1",
                "providerVersionState": "Latest",
                "fabricFriendlyName": host,
                "lastHeartBeat": iso(self.clock() - 90),
                "connectionStatus": "Connected",
                "protectedItemCount": 0,
                "allowedScenarios": ["Refresh"],
                "healthErrorDetails": [],
                "draIdentifier": stable_guid("dra", fabric["name"]),
                "machineName": host,
            },
        )

    def add_item(
        self,
        name: str,
        *,
        friendly_name: str | None = None,
        os_type: str = "Windows",
        ip_address: str = "10.20.0.10",
        multi_vm_group_name: str = "",
        allowed_operations: Iterable[str] = FAILED_OVER_OPERATIONS,
    ) -> Json:
        """A VMware VM failed over to Azure (InMageAzureV2), waiting for reprotect."""
        fabric = self.fabric()
        container = self.container()
        policy = self.policy("InMageAzureV2")
        details = fabric["properties"]["customDetails"]
        process = details["processServers"][0]
        friendly = friendly_name or name.removeprefix("vm-")
        now = self.clock()
        providers = self.children(self.key(fabric["id"]) + "/replicationrecoveryservicesproviders")
        vm_id = stable_guid("bios", name)
        item_count = len(self.of_type("replicationProtectedItems"))
        item = self._resource(
            container["id"],
            "replicationProtectedItems",
            name,
            {
                "friendlyName": friendly,
                "protectedItemType": "VMwareVirtualMachine",
                "protectableItemId": f"{container['id']}/replicationProtectableItems/{vm_id}",
                "recoveryServicesProviderId": providers[0]["id"] if providers else "",
                "primaryFabricFriendlyName": fabric["properties"]["friendlyName"],
                "primaryFabricProvider": "VMware",
                "recoveryFabricFriendlyName": AZURE_FABRIC,
                "recoveryFabricId": AZURE_FABRIC,
                "primaryProtectionContainerFriendlyName": container["properties"]["friendlyName"],
                "recoveryProtectionContainerFriendlyName": AZURE_FABRIC,
                "protectionState": "FailedOver",
                "protectionStateDescription": "Failed over",
                "activeLocation": "Recovery",
                "testFailoverState": "None",
                "testFailoverStateDescription": "None",
                "allowedOperations": list(allowed_operations),
                "replicationHealth": "Normal",
                "failoverHealth": "Normal",
                "healthErrors": [],
                "policyId": policy["id"],
                "policyFriendlyName": policy["properties"]["friendlyName"],
                "lastSuccessfulFailoverTime": iso(now - 3600),
                "currentScenario": self._idle_scenario(),
                "recoveryContainerId": AZURE_FABRIC,
                "eventCorrelationId": stable_guid("event", name),
                "providerSpecificDetails": {
                    "instanceType": "InMageAzureV2",
                    "infrastructureVmId": f"vm-{1000 + item_count}",
                    "vCenterInfrastructureId": stable_guid("vcenter-infra", "vcenter-avs"),
                    "protectionStage": "FailedOver",
                    "vmId": vm_id,
                    "vmProtectionState": "FailedOver",
                    "vmProtectionStateDescription": "Failed over",
                    "rpoInSeconds": 0,
                    "ipAddress": ip_address,
                    "agentVersion": "9.60.6956.1",
                    "isAgentUpdateRequired": "False",
                    "isRebootAfterUpdateRequired": "False",
                    "lastHeartbeat": iso(now - 300),
                    "processServerId": process["id"],
                    "processServerName": process["friendlyName"],
                    "multiVmGroupId": stable_guid("group", multi_vm_group_name or name),
                    "multiVmGroupName": multi_vm_group_name,
                    "multiVmSyncStatus": "Enabled" if multi_vm_group_name else "Disabled",
                    "protectedDisks": [],
                    "diskResized": "False",
                    "sourceVmCpuCount": 2,
                    "sourceVmRamSizeInMB": 8192,
                    "osType": os_type,
                    "osVersion": "Windows Server 2019" if os_type == "Windows" else "Ubuntu 20.04",
                    "recoveryAzureVMName": friendly,
                    "recoveryAzureVMSize": "Standard_D2s_v3",
                    "targetVmId": (
                        f"/subscriptions/{self.subscription_id}/resourceGroups/rg-avs-failover"
                        f"/providers/Microsoft.Compute/virtualMachines/{friendly}"
                    ),
                    "discoveryType": "vCenter",
                    "useManagedDisks": "True",
                    "datastores": [],
                    "validationErrors": [],
                    "firmwareType": "BIOS",
                    "azureVmGeneration": "V1",
                },
            },
        )
        for provider in providers:
            provider["properties"]["protectedItemCount"] += 1
        container["properties"]["protectedItemCount"] += 1
        return item

    def add_plan(
        self,
        name: str,
        *,
        friendly_name: str | None,
        items: Sequence[str],
        fabric_name: str | None = None,
    ) -> Json:
        """A recovery plan whose single boot group holds the named protected items."""
        fabric = self.fabric(fabric_name)
        members = [self._find("replicationProtectedItems", item) for item in items]
        providers = sorted(
            {m["properties"]["providerSpecificDetails"]["instanceType"] for m in members}
        )

        def group(kind: str, entries: list[Json]) -> Json:
            return {
                "groupType": kind,
                "replicationProtectedItems": entries,
                "startGroupActions": [],
                "endGroupActions": [],
            }

        return self._resource(
            self.vault_id,
            "replicationRecoveryPlans",
            name,
            {
                "friendlyName": friendly_name or name,
                "primaryFabricId": fabric["id"],
                "primaryFabricFriendlyName": fabric["properties"]["friendlyName"],
                "recoveryFabricId": AZURE_FABRIC,
                "recoveryFabricFriendlyName": AZURE_FABRIC,
                "failoverDeploymentModel": "ResourceManager",
                "replicationProviders": providers,
                "allowedOperations": ["ReverseReplicate", "PlannedFailover"],
                "currentScenarioStatus": "Succeeded",
                "currentScenarioStatusDescription": "Completed",
                "groups": [
                    group("Shutdown", []),
                    group("Failover", []),
                    group(
                        "Boot",
                        [
                            {
                                "id": m["id"],
                                "virtualMachineId": primary_vm_id(m),
                            }
                            for m in members
                        ],
                    ),
                ],
            },
        )

    @classmethod
    def sample(
        cls,
        vm_count: int = 3,
        *,
        plan_name: str = "finance-rp",
        plan_friendly_name: str = "Finance tier 1",
        master_target: str = "avs-mt-01",
        process_server: str = "azure-ps-01",
        task_seconds: float = 1.0,
        protect_delay_seconds: float = 1.0,
        seed: int | None = None,
    ) -> World:
        """The vault right after failover of ``vm_count`` VMware VMs to Azure, AVS ready.

        With ``seed`` its free-text fields are respelled (`respell`), reproducibly.
        """
        world = cls(task_seconds=task_seconds, protect_delay_seconds=protect_delay_seconds)
        now = world.clock()
        shared_vsan = data_store("vsan-avs-01", "vSAN", 4096, 2600)
        world.add_config_server_fabric(
            "cs-fabric-01",
            host_name="cs01",
            process_servers=[
                make_process_server(
                    process_server,
                    ip_address="10.30.0.4",
                    heartbeat=now - 45,
                    machine_count=3,
                    cpu_load=18,
                ),
                make_process_server(
                    "azure-ps-02",
                    ip_address="10.30.0.5",
                    heartbeat=now - 50,
                    machine_count=14,
                    cpu_load=76,
                ),
                # The configuration server's built-in process server (same host): it serves
                # replication to Azure, never failback from it.
                make_process_server(
                    "cs01", ip_address="10.10.0.10", heartbeat=now - 30, machine_count=0,
                    cpu_load=12,
                ),
            ],
            master_targets=[
                make_master_target(
                    master_target,
                    os_type="Windows",
                    ip_address="10.40.0.21",
                    heartbeat=now - 40,
                    retention_volumes=[
                        retention_volume("R:", 1024, 900),
                        retention_volume("S:", 512, 300),
                    ],
                    data_stores=[
                        shared_vsan,
                        data_store("vmfs-avs-02", "VMFS", 2048, 1500),
                        data_store("nfs-avs-03", "NFS", 1024, 800),
                    ],
                ),
                make_master_target(
                    "avs-mt-02",
                    os_type="Linux",
                    ip_address="10.40.0.22",
                    heartbeat=now - 55,
                    retention_volumes=[retention_volume("/mnt/retention", 1024, 950)],
                    data_stores=[dict(shared_vsan), data_store("vmfs-avs-04", "VMFS", 2048, 1900)],
                ),
            ],
        )
        world.add_provider()
        world.add_vcenter("vcenter-avs", ip_address="10.40.0.2")
        forward = world.add_policy(
            "vmware-azure-policy",
            {
                "instanceType": "InMageAzureV2",
                "crashConsistentFrequencyInMinutes": 5,
                "recoveryPointThresholdInMinutes": 60,
                "recoveryPointHistory": 4320,
                "appConsistentFrequencyInMinutes": 60,
                "multiVmSyncStatus": "Enabled",
            },
        )
        failback = world.add_policy(
            "vmware-azure-policy-failback",
            {
                "instanceType": "InMage",
                "recoveryPointThresholdInMinutes": 15,
                "recoveryPointHistory": 1440,
                "appConsistentFrequencyInMinutes": 60,
                "multiVmSyncStatus": "Enabled",
            },
        )
        container = world.container()
        world.add_mapping(
            "cs01-vmware-azure-policy",
            policy=forward,
            target_container_id=AZURE_FABRIC,
            target_friendly_name=AZURE_FABRIC,
        )
        world.add_mapping(
            "cs01-vmware-azure-policy-failback",
            policy=failback,
            target_container_id=container["id"],
            target_friendly_name=container["properties"]["friendlyName"],
        )
        names = [f"vm-app-{index:02d}" for index in range(1, vm_count + 1)]
        for index, name in enumerate(names, start=1):
            world.add_item(name, ip_address=f"10.20.0.{10 + index}")
        world.add_plan(plan_name, friendly_name=plan_friendly_name, items=names)
        if seed is not None:
            world.respell(seed)
        return world

    def respell(self, seed: int) -> None:
        """Give every free-text field a spelling from `RESPELLINGS`, chosen by ``seed``.

        Site Recovery's documents do not pin these values, so a healthy vault may show any
        of them: the bot must meet more than the emulator's own spelling.
        """
        pick = random.Random(seed).choice
        details = self.fabric()["properties"]["customDetails"]
        details["csServiceStatus"] = pick(RESPELLINGS["csServiceStatus"])
        for ps in details["processServers"]:
            ps["psServiceStatus"] = pick(RESPELLINGS["psServiceStatus"])
            ps["health"] = pick(RESPELLINGS["health"])
        for mt in details["masterTargetServers"]:
            for volume in mt["retentionVolumes"]:
                volume["thresholdPercentage"] = pick(RESPELLINGS["thresholdPercentage"])
            for store in mt["dataStores"]:
                store["type"] = pick(RESPELLINGS[store["type"]])
        for vcenter in self.of_type("replicationvCenters"):
            vcenter["properties"]["discoveryStatus"] = pick(RESPELLINGS["discoveryStatus"])
        for item in self.of_type("replicationProtectedItems"):
            item["properties"]["activeLocation"] = pick(RESPELLINGS["activeLocation"])
        self.spellings = {value: pick(spellings)
                          for value, spellings in JOURNEY_RESPELLINGS.items()}

    def spell(self, value: str) -> str:
        """A failback journey free-text value as this vault spells it (`respell`)."""
        return self.spellings.get(value, value)

    # ----------------------------------------------------------------- test hooks
    def set_reprotect_failure(
        self,
        item_name: str,
        code: str = "95226",
        message: str = (
            "Reprotect failed because the Azure virtual machine could not reach the "
            "on-premises configuration server."
        ),
        possible_causes: str = (
            "The virtual machine is not discovered or registered with the configuration "
            "server, or the InMage Scout application service is not running on it."
        ),
        recommended_action: str = (
            "Give the Azure virtual machine a network path to the configuration server "
            "(site-to-site VPN or ExpressRoute private peering), start the InMage Scout "
            "application service and set it to Automatic, then restart the job."
        ),
        provider_code: int | None = None,
        provider_message: str | None = None,
        at_task: int = 1,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` reprotect jobs of the item fail at task ``at_task`` (1-based)."""
        with self.lock:
            self._find("replicationProtectedItems", item_name)
            self._failures[item_name.lower()] = ReprotectFailure(
                code,
                message,
                possible_causes,
                recommended_action,
                provider_code,
                provider_message,
                at_task,
                times,
            )

    def set_post_error(
        self, item_name: str, status: int, code: str, message: str, count: int = 1
    ) -> None:
        """Refuse the next ``count`` reprotect POSTs of the item synchronously."""
        with self.lock:
            self._find("replicationProtectedItems", item_name)
            self._post_refusals[item_name.lower()] = _PostRefusal(status, code, message, count)

    def set_agent_unregistered(self, item_name: str, seconds: float, *, as_job: bool) -> None:
        """The VM's agent re-registers ``seconds`` from now; until then reprotect fails saying
        the agent isn't installed: as the POST's error, or (``as_job``) as a failed job."""
        with self.lock:
            self._find("replicationProtectedItems", item_name)
            self._agent_registers_at[item_name.lower()] = (self.clock() + seconds, as_job)

    def hold_protection(self, item_name: str, health_errors: Sequence[Json] = ()) -> None:
        """After its job succeeds the item stays in initial replication with these errors."""
        with self.lock:
            self._find("replicationProtectedItems", item_name)
            self._held[item_name.lower()] = list(health_errors)

    def release_protection(self, item_name: str) -> None:
        with self.lock:
            self._held.pop(item_name.lower(), None)

    # ----------------------------------------------------------------- reprotect
    def reprotect(self, item: Json, body: Any) -> Job:
        """Validate a ``reProtect`` POST like the service and start its job."""
        with self.lock:
            self.settle()
            name = item["name"]
            refusal = self._post_refusals.get(name.lower())
            if refusal is not None and refusal.remaining > 0:
                refusal.remaining -= 1
                raise ArmError(refusal.status, refusal.code, refusal.message)
            inputs = self._validate_reprotect(item, body)
            self._check_operation_allowed(item)
            missing, as_job = self._agent_missing(name)
            if missing and not as_job:
                raise ArmError(
                    400,
                    CODE_AGENT_NOT_INSTALLED,
                    AGENT_NOT_INSTALLED.format(vm=item["properties"]["friendlyName"]),
                    possible_causes="The virtual machine's agent has not registered with the "
                    "configuration server since failover (it takes up to 15 minutes).",
                    recommended_action="Wait 15 minutes after failover, then retry.",
                )
            failure = self._job_failure(item)
            job = self._start_job(item, REPROTECT_SCENARIO, "Reprotect", inputs, failure)
            self.reprotect_posts.append((name, body))
            return job

    def _validate_reprotect(self, item: Json, body: Any) -> Json:
        properties = body.get("properties") if isinstance(body, dict) else None
        if not isinstance(properties, dict):
            raise invalid_input(
                "The reprotect input is invalid.",
                "The request body has no 'properties' object.",
                "Send a ReverseReplicationInput body.",
            )
        if properties.get("failoverDirection") != "RecoveryToPrimary":
            raise invalid_input(
                "The failover direction is invalid for this operation.",
                f"failoverDirection is {properties.get('failoverDirection')!r}; a virtual "
                "machine failed over to Azure is reprotected RecoveryToPrimary.",
                "Set properties.failoverDirection to 'RecoveryToPrimary'.",
            )
        return self._validate_provider_input(item, properties.get("providerSpecificDetails"))

    def _validate_provider_input(self, item: Json, inputs: Any) -> Json:
        """The ``InMage`` provider input of a classic item's reprotect."""
        if not isinstance(inputs, dict) or inputs.get("instanceType") != "InMage":
            raise invalid_input(
                "The replication provider input is invalid.",
                "Reprotect of an InMageAzureV2 item to VMware takes an 'InMage' provider input.",
                "Set providerSpecificDetails.instanceType to 'InMage'.",
            )
        missing = [
            k
            for k in ("masterTargetId", "processServerId", "retentionDrive", "profileId")
            if not inputs.get(k)
        ]
        if missing:
            raise invalid_input(
                f"Required input(s) {', '.join(missing)} are missing.",
                "InMage reprotect requires masterTargetId, processServerId, retentionDrive "
                "and profileId.",
                "Provide the missing values and retry.",
            )
        self._validate_infrastructure(item, inputs)
        return inputs

    def _validate_infrastructure(self, item: Json, inputs: Json) -> None:
        def unknown(message: str, action: str) -> ArmError:
            return ArmError(
                400,
                CODE_UNKNOWN_INFRASTRUCTURE,
                message,
                possible_causes="The value does not match what the configuration server reports.",
                recommended_action=action,
            )

        details = self.fabric()["properties"]["customDetails"]
        mt = next(
            (
                m
                for m in details["masterTargetServers"]
                if same_id(m["id"], inputs["masterTargetId"])
            ),
            None,
        )
        if mt is None:
            raise unknown(
                f"Master target server '{inputs['masterTargetId']}' is not registered with the "
                "configuration server.",
                "Pick a master target from the fabric's masterTargetServers.",
            )
        if not any(same_id(p["id"], inputs["processServerId"]) for p in details["processServers"]):
            raise unknown(
                f"Process server '{inputs['processServerId']}' is not registered with the "
                "configuration server.",
                "Pick a process server from the fabric's processServers.",
            )
        if not any(v["volumeName"] == inputs["retentionDrive"] for v in mt["retentionVolumes"]):
            raise unknown(
                f"Retention drive '{inputs['retentionDrive']}' is not a retention volume of "
                f"master target server '{mt['name']}'.",
                "Pick one of the master target's retentionVolumes.",
            )
        datastore_name = inputs.get("datastoreName")
        if datastore_name is not None:
            store = next((d for d in mt["dataStores"] if d["symbolicName"] == datastore_name), None)
            if store is None:
                raise unknown(
                    f"Datastore '{datastore_name}' is not accessible from master target server "
                    f"'{mt['name']}'.",
                    "Pick one of the master target's dataStores.",
                )
            if not store["type"].casefold().startswith(FAILBACK_TYPES):
                raise unknown(
                    f"Datastore '{datastore_name}' is of type {store['type']}; failback needs a "
                    "VMFS or vSAN datastore.",
                    "Pick a VMFS or vSAN datastore.",
                )
        run_as = inputs.get("runAsAccountId")
        if run_as and not any(a["accountId"] == run_as for a in details["runAsAccounts"]):
            raise unknown(
                f"Run-as account '{run_as}' is not an account of the configuration server.",
                "Pick one of the fabric's runAsAccounts, or leave runAsAccountId out.",
            )
        if not any(
            same_id(p["id"], inputs["profileId"])
            and p["properties"]["providerSpecificDetails"]["instanceType"] == "InMage"
            for p in self.of_type("replicationPolicies")
        ):
            raise unknown(
                f"Policy '{inputs['profileId']}' is not a failback (InMage) policy of this vault.",
                "Use the policyId of the configuration server's InMage container mapping.",
            )
        vm_details = item["properties"]["providerSpecificDetails"]
        if vm_details.get("osType") and vm_details["osType"] != mt["osType"]:
            raise unknown(
                f"Master target server '{mt['name']}' runs {mt['osType']} but the virtual "
                f"machine runs {vm_details['osType']}.",
                "Use a master target with the same operating system as the virtual machine.",
            )
        self._check_group_master_target(item, mt)

    def _check_group_master_target(self, item: Json, mt: Json) -> None:
        """Members of a multi-VM group must fail back through one master target."""
        group = item["properties"]["providerSpecificDetails"].get("multiVmGroupName")
        if not group:
            return
        for job in self.jobs.values():
            if job.on_end is not None:
                continue
            other = self.resources[job.item_key]
            if (
                not (job.progress is not Progress.RUNNING and job.unsuccessful(self.clock()))
                and other is not item
                and other["properties"]["providerSpecificDetails"].get("multiVmGroupName") == group
                and not same_id(job.reprotect_input["masterTargetId"], mt["id"])
            ):
                raise ArmError(
                    400,
                    CODE_UNKNOWN_INFRASTRUCTURE,
                    f"Virtual machines of replication group '{group}' must use the same master "
                    "target server.",
                    possible_causes=f"'{other['name']}' is reprotected with another master target.",
                    recommended_action="Reprotect every member with the same master target.",
                )

    def _check_operation_allowed(self, item: Json) -> None:
        properties = item["properties"]
        scenario = properties["currentScenario"]
        if scenario["scenarioName"] != IDLE_SCENARIO:
            raise ArmError(
                409,
                CODE_OPERATION_IN_PROGRESS,
                f"Another operation ({scenario['scenarioName']}) is in progress on the item.",
                possible_causes=f"Job {scenario['jobId']} is running on this item.",
                recommended_action="Wait for the running job to finish, then retry.",
            )
        if REVERSE_REPLICATE not in properties["allowedOperations"]:
            raise ArmError(
                400,
                CODE_OPERATION_NOT_ALLOWED,
                "Reprotect isn't allowed for the virtual machine in its current state "
                f"({properties['protectionStateDescription']}).",
                possible_causes="The item is not failed over and committed.",
                recommended_action="Check allowedOperations of the protected item.",
            )

    def _agent_missing(self, item_name: str) -> tuple[bool, bool]:
        """(agent not re-registered yet, told as a failed job rather than a refused POST)."""
        registers_at, as_job = self._agent_registers_at.get(item_name.lower(), (0.0, False))
        return self.clock() < registers_at, as_job

    def _job_failure(self, item: Json) -> ReprotectFailure | None:
        """How a new reprotect job of the item fails: agent missing first, then set failures."""
        missing, _ = self._agent_missing(item["name"])
        if missing:
            return ReprotectFailure(
                CODE_AGENT_NOT_INSTALLED,
                AGENT_NOT_INSTALLED.format(vm=item["properties"]["friendlyName"]),
                "The virtual machine's agent has not registered with the configuration server "
                "since failover (it takes up to 15 minutes).",
                "Wait 15 minutes after failover, then retry the operation.",
                None,
                None,
                1,
                1,
            )
        return self._take_failure(item["name"])

    def _take_failure(self, item_name: str) -> ReprotectFailure | None:
        failure = self._failures.get(item_name.lower())
        if failure is None or failure.times <= 0:
            return None
        failure.times -= 1
        return failure

    def _start_job(
        self,
        item: Json,
        scenario_name: str,
        friendly_name: str,
        inputs: Json,
        failure: ReprotectFailure | None,
    ) -> Job:
        properties = item["properties"]
        job = Job(
            name=str(uuid.uuid4()),
            scenario_name=scenario_name,
            friendly_name=friendly_name,
            item_key=self.key(item["id"]),
            item_name=item["name"],
            started=self.clock(),
            task_seconds=self.task_seconds,
            failure=failure,
            reprotect_input=inputs,
            prior_allowed_operations=list(properties["allowedOperations"]),
        )
        self.jobs[job.name] = job
        properties["currentScenario"] = {
            "scenarioName": REPROTECT_SCENARIO,
            "jobId": self.job_id(job.name),
            "startTime": iso(job.started),
        }
        properties["allowedOperations"] = [
            op for op in properties["allowedOperations"] if op != REVERSE_REPLICATE
        ]
        return job

    def restart_job(self, name: str) -> Job:
        """Restart a failed reprotect job: a new ``RestartJob`` runs the reprotect again."""
        with self.lock:
            self.settle()
            job = self.jobs[name]
            if self.job_state(job) != "Failed" or job.restarted_as is not None:
                raise ArmError(
                    400,
                    CODE_JOB_NOT_RESTARTABLE,
                    f"Job '{name}' can't be restarted in its current state.",
                    possible_causes="Only a failed job not restarted yet can be restarted.",
                    recommended_action="Check allowedActions of the job.",
                )
            item = self.resources[job.item_key]
            self._check_operation_allowed(item)
            new = self._start_job(
                item, RESTART_SCENARIO, "Restart job", job.reprotect_input, self._job_failure(item)
            )
            job.restarted_as = new.name
            return new

    def job_action(self, name: str, action: str) -> Job:
        """POST ``replicationJobs/{job}/{cancel|restart|resume}``: the job the answer names."""
        if action == "restart":
            return self.restart_job(name)
        with self.lock:
            self.settle()
            job = self.jobs[name]
            state = self.job_state(job)
            wanted = "Cancel" if action == "cancel" else "Resume"
            if wanted not in self._allowed_actions(job, state):
                raise ArmError(
                    400,
                    CODE_JOB_NOT_RESTARTABLE,
                    f"Job '{name}' can't be {action}ed in its current state ({state}).",
                    possible_causes=f"{wanted} is not among the job's allowedActions.",
                    recommended_action="Check allowedActions of the job.",
                )
            if action == "cancel":
                self.halt_job(name, "Cancelled")
            else:
                job.paused += self.clock() - job.halted_at
                job.halted = None
            return job

    def halt_job(self, name: str, how: str) -> None:
        """Test hook and cancel: the job stops where it is, ``Cancelled`` or ``Suspended``."""
        with self.lock:
            self.settle()
            job = self.jobs[name]
            job.halted, job.halted_at = how, self.clock()
            self.settle()

    def _allowed_actions(self, job: Job, state: str) -> list[str]:
        if job.on_end is not None:  # a failback journey job is not restarted, only cancelled
            return ["Cancel"] if state == "InProgress" else []
        if state == "Failed" and job.restarted_as is None:
            return ["Restart"]
        return {"InProgress": ["Cancel"], "Suspended": ["Cancel", "Resume"]}.get(state, [])

    # ----------------------------------------------------------------- job effects
    def settle(self) -> None:
        """Apply the effects of jobs that ended (or items that finished syncing) by now."""
        with self.lock:
            now = self.clock()
            for entry in [e for e in self.deferred if e[0] <= now]:
                self.deferred.remove(entry)
                entry[1]()
            for job in list(self.jobs.values()):
                state = job.state(now)
                if job.on_end is not None:
                    if job.progress is Progress.RUNNING and job.ended(now):
                        job.progress = Progress.ENDED
                        job.on_end(job, state)
                    continue
                item = self.resources[job.item_key]["properties"]
                if job.progress is Progress.RUNNING and job.ended(now):
                    job.progress = Progress.ENDED
                    if state != "Succeeded":
                        item["allowedOperations"] = list(job.prior_allowed_operations)
                    else:
                        self._enter_failback_replication(item, job)
                    item["currentScenario"] = self._idle_scenario()
                held = self._held.get(job.item_name.lower())
                if job.progress is Progress.ENDED and state == "Succeeded" and held is not None:
                    item["replicationHealth"] = "Critical" if held else "Normal"
                    item["healthErrors"] = held
                elif (
                    job.progress is Progress.ENDED
                    and state == "Succeeded"
                    and now >= job.ended_at + self.protect_delay_seconds
                ):
                    job.progress = Progress.PROTECTED
                    self._set_protection_state(item, "Protected", "Protected")
                    # Classic failback is an unplanned failover, modernized a planned one
                    # (failback.md §0); the classic value is ASSUMED (§6).
                    classic = item["providerSpecificDetails"]["instanceType"] == "InMage"
                    item["allowedOperations"] = [
                        "UnplannedFailover" if classic else "PlannedFailover",
                        "DisableProtection",
                    ]

    def _set_protection_state(self, item: Json, state: str, description: str) -> None:
        item["protectionState"] = state
        item["protectionStateDescription"] = description
        item["providerSpecificDetails"]["vmProtectionState"] = state
        item["providerSpecificDetails"]["vmProtectionStateDescription"] = description

    def _enter_failback_replication(self, item: Json, job: Job) -> None:
        """Replication now runs Azure -> VMware: provider InMage with the chosen infrastructure."""
        previous = item["providerSpecificDetails"]
        inputs = job.reprotect_input
        policy = next(
            p for p in self.of_type("replicationPolicies") if same_id(p["id"], inputs["profileId"])
        )
        now = self.clock()
        item["policyId"] = policy["id"]
        item["policyFriendlyName"] = policy["properties"]["friendlyName"]
        item["allowedOperations"] = ["DisableProtection"]
        item["providerSpecificDetails"] = {
            "instanceType": "InMage",
            "activeSiteType": "Recovery",
            "sourceVmCpuCount": previous.get("sourceVmCpuCount"),
            "sourceVmRamSizeInMB": previous.get("sourceVmRamSizeInMB"),
            "osDetails": {"osType": previous.get("osType"), "osVhdId": "", "vhdName": ""},
            "protectionStage": "Resync",
            "vmId": previous.get("vmId"),
            "ipAddress": previous.get("ipAddress"),
            "lastHeartbeat": iso(now),
            "processServerId": inputs["processServerId"],
            "masterTargetId": inputs["masterTargetId"],
            "multiVmGroupId": previous.get("multiVmGroupId"),
            "multiVmGroupName": previous.get("multiVmGroupName"),
            "multiVmSyncStatus": previous.get("multiVmSyncStatus"),
            "agentDetails": {
                "agentVersion": previous.get("agentVersion"),
                "agentUpdateStatus": "NotRequired",
                "postUpdateRebootStatus": "NotRequired",
            },
            "vCenterInfrastructureId": previous.get("vCenterInfrastructureId"),
            "infrastructureVmId": previous.get("infrastructureVmId"),
            "discoveryType": previous.get("discoveryType"),
            "datastores": [inputs["datastoreName"]] if inputs.get("datastoreName") else [],
            "rpoInSeconds": 0,
            "retentionWindowStart": iso(now),
            "retentionWindowEnd": iso(now),
            "protectedDisks": [],
            "validationErrors": [],
            "osVersion": previous.get("osVersion"),
        }
        self._set_protection_state(
            item, "InitialReplicationInProgress", "Initial replication in progress"
        )

    # ----------------------------------------------------------------- job rendering
    def job_id(self, name: str) -> str:
        return f"{self.vault_id}/replicationJobs/{name}"

    def _idle_scenario(self) -> Json:
        return {
            "scenarioName": IDLE_SCENARIO,
            "jobId": self.job_id(IDLE_SCENARIO),
            "startTime": IDLE_START_TIME,
        }

    def job_state(self, job: Job) -> str:
        return job.state(self.clock())

    def job_json(self, name: str, *, summary: bool = False) -> Json:
        """Wire JSON of a job at the current time; list answers carry no tasks (``summary``)."""
        with self.lock:
            job = self.jobs[name]
            now = self.clock()
            state = job.state(now)
            item = self.resources[job.item_key]
            tasks = [self._task_json(job, index, now) for index in range(len(job.tasks))]
            errors = [e for task in tasks for e in task["errors"]]
            allowed = self._allowed_actions(job, state)
            return {
                "name": job.name,
                "id": self.job_id(job.name),
                "type": "Microsoft.RecoveryServices/vaults/replicationJobs",
                "properties": {
                    "activityId": f"{job.activity_id} ActivityId: {stable_guid('act', job.name)}",
                    "scenarioName": job.scenario_name,
                    "friendlyName": job.friendly_name,
                    "state": state,
                    "stateDescription": _STATE_DESCRIPTION[state],
                    "tasks": [] if summary else tasks,
                    "errors": errors,
                    "startTime": iso(job.started),
                    **({"endTime": iso(self._end_time(job, state))} if job.ended(now) else {}),
                    "allowedActions": allowed,
                    **(job.target or self._item_target(job, item)),
                },
            }

    def _item_target(self, job: Job, item: Json) -> Json:
        """The job's target fields for a reprotect of one item."""
        return {
                    "targetObjectId": item["name"],
                    "targetObjectName": item["properties"]["friendlyName"],
                    "targetInstanceType": "ProtectionEntity",
                    "customDetails": {
                        "instanceType": "AsrJobDetails",
                        "affectedObjectDetails": {
                            "PrimaryFabricProviderId": item["properties"]["primaryFabricProvider"],
                            "PrimaryVmId": primary_vm_id(item),
                            "PrimaryVmName": item["properties"]["friendlyName"],
                            "PrimaryCloudName": item["properties"][
                                "primaryProtectionContainerFriendlyName"
                            ],
                            "RecoveryFabricProviderId": "Azure",
                            "RecoveryCloudName": AZURE_FABRIC,
                            "ProtectionProfileId": job.reprotect_input.get("profileId")
                            or job.reprotect_input.get("policyId"),
                        },
                    },
        }

    def _end_time(self, job: Job, state: str) -> float:
        return job.halted_at if state == "Cancelled" else job.ended_at

    def _task_json(self, job: Job, index: int, now: float) -> Json:
        name, friendly = job.tasks[index]
        start = job.started + job.paused + index * job.task_seconds
        end = start + job.task_seconds
        failing = job.failing_task
        errors: list[Json] = []
        if job.halted is not None:
            now = min(now, job.halted_at)
        if (failing is not None and index > failing) or now < start:
            state = "NotStarted"
        elif now < end:
            state = job.halted or "InProgress"
        elif index == failing and job.failure is not None:
            state = "Failed"
            errors = [self._error_json(job, job.failure, index, end)]
        else:
            state = "Succeeded"
        timing: Json = {}
        if state != "NotStarted":
            timing["startTime"] = iso(start)
        if state in ("Failed", "Succeeded"):
            timing["endTime"] = iso(end)
        return {
            "taskId": stable_guid("task", job.name, name),
            "name": name,
            "friendlyName": friendly,
            "state": state,
            "stateDescription": _STATE_DESCRIPTION[state],
            "taskType": "TaskDetails",
            **timing,
            "allowedActions": [],
            "customDetails": {"instanceType": "JobTaskDetails"},
            "errors": errors,
        }

    def _error_json(self, job: Job, failure: ReprotectFailure, index: int, when: float) -> Json:
        error: Json = {
            "serviceErrorDetails": {
                "code": failure.code,
                "message": failure.message,
                "possibleCauses": failure.possible_causes,
                "recommendedAction": failure.recommended_action,
                "activityId": job.activity_id,
            },
            "errorLevel": "Error",
            "creationTime": iso(when),
            "taskId": stable_guid("task", job.name, job.tasks[index][0]),
        }
        if failure.provider_code is not None:
            error["providerErrorDetails"] = {
                "errorCode": failure.provider_code,
                "errorMessage": failure.provider_message or "",
                "errorId": stable_guid("provider-error", job.name),
                "possibleCauses": failure.possible_causes,
                "recommendedAction": failure.recommended_action,
            }
        return error

    def operation_result(self, name: str) -> tuple[int, Json | None]:
        """``operationresults/{job}``: 202 while running, then the LRO's final body or error."""
        with self.lock:
            self.settle()
            job = self.jobs[name]
            state = self.job_state(job)
            if not job.ended(self.clock()):
                return 202, None
            if state == "Cancelled":
                raise ArmError(400, CODE_OPERATION_IN_PROGRESS, f"Job '{name}' was cancelled.")
            if job.failure is not None:
                raise ArmError(
                    400,
                    job.failure.code,
                    job.failure.message,
                    possible_causes=job.failure.possible_causes,
                    recommended_action=job.failure.recommended_action,
                )
            if job.scenario_name == RESTART_SCENARIO:
                return 200, self.job_json(name)
            return 200, self.resources[job.item_key]
