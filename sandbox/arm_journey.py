"""Where a protected item stands in the failback journey, as the emulator's vault shows it.

The failback journey after reprotect (Microsoft's failback tutorials and REST reference):
protected to
AVS → failed back, awaiting commit → committed (or, modernized only, cancelled: back to
protected to AVS) → reprotected to Azure. Each ``enter_*`` function rewrites one item's wire
JSON to a stage; :func:`set_plan_stage` puts every item of a plan there at once, so tests and
the sandbox can start a plan at any stage of either architecture.

Values Microsoft does not show for VMware items are marked ASSUMED (failback.md §6, §11):
the ``protectionState`` strings after failback and commit (the Hyper-V examples' ones are
used), ``activeLocation`` flipping to ``Primary`` once the VM runs in the private cloud,
``activeSiteType`` ``Azure``/``OnPrem``, and which operations each stage lists.
"""

from __future__ import annotations

from enum import Enum
from types import SimpleNamespace
from typing import Any

from sandbox.arm_modernized import ModernizedWorld
from sandbox.arm_world import Json, World, iso, parse_iso, same_id, stable_guid

CLASSIC = "InMage"
RCM_FAILBACK = "InMageRcmFailback"
AZURE_V2 = "InMageAzureV2"
RCM = "InMageRcm"
FORWARD_OF = {CLASSIC: AZURE_V2, RCM_FAILBACK: RCM}
CLASSIC_PLAN, MODERNIZED_PLAN = "finance-rp", "web-rp"
PLAN_OPERATIONS = ("PlannedFailover", "UnplannedFailover", "Commit", "CancelFailover",
                   "ReverseReplicate", "TestFailover")
# Seconds before now of the latest recovery point an item reports when it is set to a stage.
RECOVERY_POINT_AGE_S = 120
APP_CONSISTENT_AGE_S = 1800


class Stage(Enum):
    """A stage of the failback journey (the value is the sandbox's spelling)."""

    PROTECTED_TO_AVS = "protected-to-avs"
    FAILED_BACK = "failed-back"
    COMMITTED = "committed"
    CANCELLED = "cancelled"
    PROTECTED_TO_AZURE = "protected-to-azure"


def provider(item: Json) -> str:
    return str(item["properties"]["providerSpecificDetails"]["instanceType"])


def is_modernized(item: Json) -> bool:
    return provider(item) in (RCM, RCM_FAILBACK)


def _state(properties: Json, state: str, description: str) -> None:
    properties["protectionState"] = state
    properties["protectionStateDescription"] = description
    details = properties["providerSpecificDetails"]
    if details["instanceType"] in (CLASSIC, AZURE_V2):
        details["vmProtectionState"] = state
        details["vmProtectionStateDescription"] = description


def _power(world: World, properties: Json, status: str) -> None:
    """The AVS VM's power state as the appliance discovered it (modernized items only)."""
    discovered = properties["providerSpecificDetails"].get("discoveredVmDetails")
    if isinstance(discovered, dict):
        discovered["powerStatus"] = world.spell(status)


def enter_protected_to_avs(world: World, item: Json, *, last_status: str = "Unknown") -> None:
    """Replicating Azure → AVS, initial replication done, with a fresh recovery point: ready
    for failback (classic lists ``UnplannedFailover``, modernized ``PlannedFailover``)."""
    if provider(item) in (AZURE_V2, RCM):
        _reverse(world, item)
    properties = item["properties"]
    details = properties["providerSpecificDetails"]
    now = world.clock()
    _state(properties, "Protected", "Protected")
    properties["activeLocation"] = world.spell("Recovery")
    properties["replicationHealth"] = "Normal"
    properties["healthErrors"] = []
    properties["currentScenario"] = world._idle_scenario()
    if details["instanceType"] == CLASSIC:
        properties["allowedOperations"] = ["UnplannedFailover", "DisableProtection"]
        details.update({
            "activeSiteType": world.spell("Azure"),
            "protectionStage": "Differential Sync",
            "retentionWindowStart": iso(now - 86400),
            "retentionWindowEnd": iso(now - RECOVERY_POINT_AGE_S),
            "lastRpoCalculatedTime": iso(now - RECOVERY_POINT_AGE_S),
            "lastUpdateReceivedTime": iso(now - 30),
            "rpoInSeconds": RECOVERY_POINT_AGE_S,
            # ASSUMED: the tag name of an application-consistent point.
            "consistencyPoints": {"ApplicationConsistent": iso(now - APP_CONSISTENT_AGE_S)},
        })
        return
    properties["allowedOperations"] = ["PlannedFailover", "DisableProtection"]
    details["lastPlannedFailoverStatus"] = last_status
    details["initialReplicationProgressPercentage"] = 100
    details["initialReplicationProgressHealth"] = "None"
    for disk in details.get("protectedDisks", []):
        disk["isInitialReplicationComplete"] = "True"
        disk["irDetails"] = {"progressHealth": "None", "progressPercentage": 100}
        disk["lastSyncTime"] = iso(now - RECOVERY_POINT_AGE_S)
    _power(world, properties, "OFF")


def enter_failed_back(world: World, item: Json, recovery_point_time: float | None = None) -> None:
    """Running in the private cloud, Azure VM shut down: ``Commit`` listed (and, modernized,
    ``CancelFailover``)."""
    properties = item["properties"]
    details = properties["providerSpecificDetails"]
    now = world.clock()
    point = recovery_point_time if recovery_point_time is not None else now
    properties["activeLocation"] = world.spell("Primary")
    properties["lastSuccessfulFailoverTime"] = iso(now)
    properties["failoverRecoveryPointId"] = (
        f"{item['id']}/recoveryPoints/{stable_guid('point', item['name'], str(point))}")
    properties["currentScenario"] = world._idle_scenario()
    if details["instanceType"] == CLASSIC:
        properties["allowedOperations"] = ["Commit", "ChangePit", "DisableProtection"]
        details["activeSiteType"] = world.spell("OnPrem")
        _state(properties, "UnplannedFailoverCommitPendingStatesBegin", "Failover completed")
        return
    properties["allowedOperations"] = ["Commit", "CancelFailover", "ChangePit",
                                       "DisableProtection"]
    details["lastPlannedFailoverStatus"] = "Succeeded"
    details["lastPlannedFailoverStartTime"] = iso(now)
    _state(properties, "PlannedFailoverCommitRequired", "Planned failover finished")
    _power(world, properties, "ON")


def enter_committed(world: World, item: Json) -> None:
    """The Azure VM is removed; ``Commit`` gone, ``ReverseReplicate`` listed."""
    properties = item["properties"]
    properties["allowedOperations"] = ["ReverseReplicate", "DisableProtection"]
    properties["currentScenario"] = world._idle_scenario()
    _state(properties, "FailedOver", world.spell("Failover committed"))


def enter_cancelled(world: World, item: Json) -> None:
    """Modernized cancel: the Azure VM runs again, replication to AVS resumes (ready)."""
    enter_protected_to_avs(world, item, last_status="Cancelled")


def enter_protection_to_azure(world: World, item: Json, inputs: Json) -> None:
    """The reprotect to Azure's job succeeded: the forward provider again, initial
    replication in progress (``Protected`` follows: :func:`enter_protected_to_azure`)."""
    properties = item["properties"]
    previous = properties["providerSpecificDetails"]
    forward = FORWARD_OF[previous["instanceType"]]
    policy = next(p for p in world.of_type("replicationPolicies")
                  if same_id(p["id"], inputs["policyId"]))
    properties["policyId"] = policy["id"]
    properties["policyFriendlyName"] = policy["properties"]["friendlyName"]
    properties["allowedOperations"] = ["DisableProtection"]
    properties["currentScenario"] = world._idle_scenario()
    properties["activeLocation"] = world.spell("Primary")
    common = {"instanceType": forward, "osType": previous.get("osType")}
    if forward == AZURE_V2:
        details: Json = {
            **common,
            "vmId": previous.get("vmId"),
            "ipAddress": previous.get("ipAddress"),
            "processServerId": inputs["processServerId"],
            "masterTargetId": inputs.get("masterTargetId") or inputs["processServerId"],
            "multiVmGroupId": previous.get("multiVmGroupId"),
            "multiVmGroupName": previous.get("multiVmGroupName"),
            "vCenterInfrastructureId": previous.get("vCenterInfrastructureId"),
            "infrastructureVmId": previous.get("infrastructureVmId"),
            "discoveryType": previous.get("discoveryType"),
            "osVersion": previous.get("osVersion"),
            "protectionStage": "InitialReplication",
            "resyncProgressPercentage": 0,
            "protectedDisks": [],
            "validationErrors": [],
        }
    else:
        azure_vm = str(previous.get("azureVirtualMachineId") or "")
        details = {
            **common,
            "targetResourceGroupId": azure_vm.split("/providers/", 1)[0],
            "targetVmName": azure_vm.rsplit("/", 1)[-1],
            "internalIdentifier": previous.get("internalIdentifier"),
            "multiVmGroupName": previous.get("multiVmGroupName"),
            "processServerId": inputs["processServerId"],
            "runAsAccountId": inputs.get("runAsAccountId"),
            "initialReplicationProgressPercentage": 0,
            "protectedDisks": [
                {"diskId": d.get("diskId"), "diskName": d.get("diskName"),
                 "isOSDisk": d.get("isOSDisk"), "capacityInBytes": d.get("capacityInBytes"),
                 "isInitialReplicationComplete": "False"}
                for d in previous.get("protectedDisks", [])
            ],
            "discoveredVmDetails": dict(previous.get("discoveredVmDetails") or {}),
        }
    properties["providerSpecificDetails"] = details
    _state(properties, "InitialReplicationInProgress", "Initial replication in progress")


def enter_protected_to_azure(world: World, item: Json) -> None:
    """Initial replication to Azure done: protected against the next disaster (ASSUMED
    operations of a forward-protected VMware item)."""
    properties = item["properties"]
    details = properties["providerSpecificDetails"]
    now = world.clock()
    _state(properties, "Protected", "Protected")
    properties["allowedOperations"] = ["UnplannedFailover", "TestFailover", "DisableProtection"]
    if details["instanceType"] == AZURE_V2:
        details["protectionStage"] = "Protected"
        details["resyncProgressPercentage"] = 100
        details["lastRecoveryPointReceived"] = iso(now - RECOVERY_POINT_AGE_S)
    else:
        details["initialReplicationProgressPercentage"] = 100
        details["lastRecoveryPointReceived"] = iso(now - RECOVERY_POINT_AGE_S)
        for disk in details["protectedDisks"]:
            disk["isInitialReplicationComplete"] = "True"


def _reverse(world: World, item: Json) -> None:
    """Turn a failed-over item into its failback provider as a finished reprotect would,
    through the world's own reprotect effect with inputs picked from the vault."""
    inputs = _modernized_inputs(world, item) if provider(item) == RCM \
        else _classic_inputs(world, item)
    job: Any = SimpleNamespace(reprotect_input=inputs, item_key=world.key(item["id"]))
    world._enter_failback_replication(item["properties"], job)


def _classic_inputs(world: World, item: Json) -> Json:
    details = world.fabric()["properties"]["customDetails"]
    os_type = item["properties"]["providerSpecificDetails"].get("osType")
    mt = next((m for m in details["masterTargetServers"] if m["osType"] == os_type),
              details["masterTargetServers"][0])
    return {"processServerId": details["processServers"][0]["id"], "masterTargetId": mt["id"],
            "retentionDrive": mt["retentionVolumes"][0]["volumeName"],
            "datastoreName": mt["dataStores"][0]["symbolicName"],
            "profileId": world.policy(CLASSIC)["id"]}


def _modernized_inputs(world: World, item: Json) -> Json:
    fabric = world.resources["/".join(world.key(item["id"]).split("/")[:2])]
    agent = fabric["properties"]["customDetails"]["reprotectAgents"][0]
    disks = item["properties"]["providerSpecificDetails"].get("protectedDisks") or [{}]
    return {"reprotectAgentId": agent["id"],
            "datastoreName": agent["accessibleDatastores"][0],
            "logStorageAccountId": disks[0].get("logStorageAccountId", ""),
            "policyId": world.policy(RCM_FAILBACK)["id"]}


def forward_inputs(world: World, item: Json) -> Json:
    """The reprotect-to-Azure values the vault offers an item (the sandbox's defaults)."""
    if provider(item) == CLASSIC:
        details = world.fabric()["properties"]["customDetails"]
        return {"processServerId": details["processServers"][0]["id"],
                "runAsAccountId": details["runAsAccounts"][0]["accountId"],
                "policyId": world.policy(AZURE_V2)["id"]}
    fabric = world.resources["/".join(world.key(item["id"]).split("/")[:2])]
    return {"processServerId": fabric["properties"]["customDetails"]["processServers"][0]["id"],
            "policyId": world.policy(RCM)["id"]}


def plan_items(world: World, plan: Json) -> list[Json]:
    """The plan's protected items (mutable wire JSON), in the plan's order."""
    return [world.resources[world.key(member["id"])]
            for group in plan["properties"]["groups"]
            for member in group["replicationProtectedItems"]]


def refresh_plan(world: World, plan: Json) -> None:
    """A plan lists the operations every one of its items lists (ASSUMED), and the
    providers its items have now."""
    items = plan_items(world, plan)
    allowed = [op for op in PLAN_OPERATIONS
               if items and all(op in i["properties"]["allowedOperations"] for i in items)]
    plan["properties"]["allowedOperations"] = allowed
    plan["properties"]["replicationProviders"] = sorted({provider(i) for i in items})


def refresh_plans_of(world: World, items: list[Json]) -> None:
    """Refresh every plan holding one of the items (an item's step changes its plan's)."""
    keys = {world.key(i["id"]) for i in items}
    for plan in world.of_type("replicationRecoveryPlans"):
        if any(world.key(i["id"]) in keys for i in plan_items(world, plan)):
            refresh_plan(world, plan)


def set_plan_stage(world: World, plan_name: str, stage: Stage) -> Json:
    """Put every item of the plan at ``stage`` (from the vault's failed-over start or any
    stage of the journey) and return the plan. ``CANCELLED`` is modernized only."""
    with world.lock:
        world.settle()
        plan = world._find("replicationRecoveryPlans", plan_name)
        for item in plan_items(world, plan):
            set_item_stage(world, item, stage)
        refresh_plan(world, plan)
        return plan


def journey_sample(stage: Stage, *, classic_vm_count: int = 3, vm_count: int = 3,
                   task_seconds: float = 1.0, protect_delay_seconds: float = 1.0,
                   seed: int | None = None) -> ModernizedWorld:
    """A vault with a classic plan (``finance-rp``) and a modernized one (``web-rp``), both
    at ``stage`` (``CANCELLED``: the modernized plan cancelled, the classic one protected to
    AVS, since classic failback cannot be cancelled). ``seed`` respells free text (with
    classic VMs: `World.respell` needs the configuration server)."""
    world = ModernizedWorld.modernized_sample(
        vm_count, classic_vm_count=classic_vm_count, plan_name=MODERNIZED_PLAN,
        plan_friendly_name="Web tier", task_seconds=task_seconds,
        protect_delay_seconds=protect_delay_seconds)
    if seed is not None and classic_vm_count:  # `respell` reads the classic site
        world.respell(seed)
    if classic_vm_count:
        set_plan_stage(world, CLASSIC_PLAN,
                       Stage.PROTECTED_TO_AVS if stage is Stage.CANCELLED else stage)
    set_plan_stage(world, MODERNIZED_PLAN, stage)
    return world


def set_item_stage(world: World, item: Json, stage: Stage) -> None:
    """Put one item at ``stage``, going through the stages before it."""
    if stage is Stage.CANCELLED and not is_modernized(item):
        raise ValueError(f"{item['name']}: a classic failback cannot be cancelled")
    enter_protected_to_avs(world, item)
    if stage in (Stage.PROTECTED_TO_AVS, Stage.CANCELLED):
        if stage is Stage.CANCELLED:
            enter_cancelled(world, item)
        return
    enter_failed_back(world, item, world.clock() - RECOVERY_POINT_AGE_S)
    if stage is Stage.FAILED_BACK:
        return
    enter_committed(world, item)
    if stage is Stage.COMMITTED:
        return
    enter_protection_to_azure(world, item, forward_inputs(world, item))
    enter_protected_to_azure(world, item)


def latest_point(world: World, item: Json, point_type: str) -> float:
    """The time of the recovery point a failover of the item to ``point_type`` uses."""
    details = item["properties"]["providerSpecificDetails"]
    now = world.clock()
    if point_type == "LatestTag":
        tags = details.get("consistencyPoints") or {}
        return max((_seconds(v) for v in tags.values()), default=now - APP_CONSISTENT_AGE_S)
    if point_type == "LatestTime":
        end = details.get("retentionWindowEnd")
        return _seconds(end) if end else now
    if point_type == "ApplicationConsistent":
        syncs = [_seconds(d["lastSyncTime"]) for d in details.get("protectedDisks", [])
                 if d.get("lastSyncTime")]
        return min(syncs, default=now) - APP_CONSISTENT_AGE_S
    # CrashConsistent: Site Recovery generates a point after the job starts (failback.md §4).
    return now


def _seconds(text: str) -> float:
    return parse_iso(text)
