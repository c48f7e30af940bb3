"""The failback journey's writes in the ARM emulator: failover, commit, cancel, reprotect to Azure.

Routes (all POST, answered 202 with ``Location`` + ``Retry-After`` like reprotect):
``{RP}/plannedFailover|unplannedFailover|failoverCommit|failoverCancel`` and the same four on
``{PI}``, and ``{PI}/reProtect`` on an item replicating to AVS (AVS → Azure). Bodies are read
through the real SDK models (``azure-mgmt-recoveryservicessiterecovery``), so a body the SDK
would not produce for the provider is refused as the service refuses an invalid input.

An operation the item's ``allowedOperations`` does not list is refused (400, the reprotect
refusal's code), one running on it answers 409; a plan-level call needs every item to allow
it and starts ONE job for the plan. Jobs carry ``FailoverJobDetails`` naming each item and
its recovery point; their effects (:mod:`sandbox.arm_journey`) apply when they end. A planned
failover that fails is cancelled by Site Recovery itself: a failed job, then an automatic
``CancelFailover`` job, the items ready again with ``lastPlannedFailoverStatus`` ``Failed``
(failback.md §4). Refusal codes are the emulator's (the service documents none).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from azure.mgmt.recoveryservicessiterecovery import models as m

from sandbox.arm_journey import (
    AZURE_V2,
    CLASSIC,
    RCM,
    RCM_FAILBACK,
    enter_cancelled,
    enter_committed,
    enter_failed_back,
    enter_protected_to_avs,
    enter_protected_to_azure,
    enter_protection_to_azure,
    latest_point,
    plan_items,
    provider,
    refresh_plans_of,
)
from sandbox.arm_world import (
    AGENT_NOT_INSTALLED,
    CODE_AGENT_NOT_INSTALLED,
    CODE_OPERATION_IN_PROGRESS,
    CODE_OPERATION_NOT_ALLOWED,
    CODE_UNKNOWN_INFRASTRUCTURE,
    IDLE_SCENARIO,
    ArmError,
    Job,
    Json,
    ReprotectFailure,
    World,
    invalid_input,
    iso,
    parse_iso,
    same_id,
)

FAILOVER_TASKS = (
    ("PrerequisitesCheckTask", "Prerequisites check for failover"),
    ("ShutdownSourceVmTask", "Shut down the virtual machine in Azure"),
    ("SynchronizeDataTask", "Synchronize data and create the latest recovery point"),
    ("StartFailoverTask", "Start the virtual machine in the private cloud"),
)
FINALIZE_TASKS = (
    ("PrerequisitesCheckTask", "Prerequisites check"),
    ("FinalizeTask", "Finalize"),
)
REPROTECT_TO_AZURE_TASKS = (
    ("PrerequisitesCheckTask", "Prerequisites check"),
    ("PrepareReprotectTask", "Preparing for reprotect"),
    ("StartReplicationTask", "Starting replication"),
)
# Emulator-chosen code (the service documents none): the AVS VM was on before failback.
CODE_VM_POWERED_ON = "28190"
CLASSIC_POINTS = ("LatestTime", "LatestTag", "Custom")
RCM_POINTS = ("ApplicationConsistent", "CrashConsistent")
SOURCE_SITE_OPERATIONS = ("Required", "NotRequired")


@dataclass(frozen=True)
class Operation:
    """One failback write: its item operation and job scenario (failback.md §7)."""

    allowed: str
    scenario: str
    friendly: str
    tasks: tuple[tuple[str, str], ...]


OPERATIONS = {
    "plannedfailover": Operation("PlannedFailover", "PlannedFailover", "Planned failover",
                                 FAILOVER_TASKS),
    "unplannedfailover": Operation("UnplannedFailover", "UnplannedFailover",
                                   "Unplanned failover", FAILOVER_TASKS),
    "failovercommit": Operation("Commit", "CommitFailover", "Commit", FINALIZE_TASKS),
    "failovercancel": Operation("CancelFailover", "CancelFailover", "Cancel failover",
                                FINALIZE_TASKS),
}
REPROTECT = Operation("ReverseReplicate", "ReverseReplication", "Reprotect",
                      REPROTECT_TO_AZURE_TASKS)


def set_failback_failure(
    world: World,
    item_name: str,
    code: str = "8038",
    message: str = "Failed to bring up the virtual machine on the on-premises host.",
    possible_causes: str = "The ESXi host the virtual machine fails back to lacks memory.",
    recommended_action: str = (
        "Add memory to the ESXi host, or vMotion the virtual machine to a host with enough "
        "memory, then fail back again."),
    *,
    at_task: int = 4,
    times: int = 1,
) -> None:
    """Make the next ``times`` failover jobs of the item fail at task ``at_task`` (1-based);
    the default is the documented classic failback failure 8038 (ESXi host memory)."""
    with world.lock:
        world._find("replicationProtectedItems", item_name)
        world.failback_failures[item_name.lower()] = ReprotectFailure(
            code, message, possible_causes, recommended_action, None, None, at_task, times)


# ------------------------------------------------------------------------------ entry points
def item_action(world: World, item: Json, action: str, body: Any) -> Job:
    """``POST {PI}/{action}``: check, validate the body, start the item's job."""
    operation = OPERATIONS[action]
    with world.lock:
        world.settle()
        _check_allowed(item, operation)
        inputs = _validate(action, body, [item], plan=False)
        return _start(world, world.key(item["id"]), [item], operation, inputs,
                      target=_target(world, item, "ProtectionEntity"))


def plan_action(world: World, plan: Json, action: str, body: Any) -> Job:
    """``POST {RP}/{action}``: every item must allow it; ONE job for the whole plan."""
    operation = OPERATIONS[action]
    with world.lock:
        world.settle()
        items = plan_items(world, plan)
        for item in items:
            _check_allowed(item, operation)
        inputs = _validate(action, body, items, plan=True)
        job = _start(world, world.key(plan["id"]), items, operation, inputs,
                     target=_target(world, plan, "RecoveryPlan"))
        plan["properties"]["currentScenario"] = _scenario(world, job)
        plan["properties"]["currentScenarioStatus"] = "InProgress"
        plan["properties"]["currentScenarioStatusDescription"] = "InProgress"
        return job


def reprotect_to_azure(world: World, item: Json, body: Any) -> Job:
    """``POST {PI}/reProtect`` on an item back in the private cloud (AVS → Azure)."""
    with world.lock:
        world.settle()
        _check_allowed(item, REPROTECT)
        inputs = _reprotect_inputs(world, item, body)
        missing, as_job = world._agent_missing(item["name"])
        if missing and not as_job:
            raise ArmError(
                400, CODE_AGENT_NOT_INSTALLED,
                AGENT_NOT_INSTALLED.format(vm=item["properties"]["friendlyName"]),
                possible_causes="The virtual machine's agent has not registered since it "
                "booted in the private cloud (it takes up to 15 minutes).",
                recommended_action="Wait 15 minutes after failback, then retry.")
        job = _start(world, world.key(item["id"]), [item], REPROTECT, inputs,
                     target=_target(world, item, "ProtectionEntity", details="AsrJobDetails"),
                     failure=world._job_failure(item))
        world.reprotect_posts.append((item["name"], body))
        return job


def restart_to_azure(world: World, name: str) -> Job | None:
    """``POST replicationJobs/{job}/restart`` of a failed reprotect to Azure (the agent wait's
    retry): the reprotect runs again as a new job. None for any other job, which the world
    restarts (or refuses) as before."""
    with world.lock:
        world.settle()
        job = world.jobs.get(name)
        if job is None or job.tasks is not REPROTECT_TO_AZURE_TASKS \
                or world.job_state(job) != "Failed" or job.restarted_as is not None:
            return None
        item = world.resources[job.item_key]
        _check_allowed(item, REPROTECT)
        new = _start(world, job.item_key, [item], REPROTECT, job.reprotect_input,
                     target=_target(world, item, "ProtectionEntity", details="AsrJobDetails"),
                     failure=world._job_failure(item))
        job.restarted_as = new.name
        return new


def is_reverse_reprotect(item: Json) -> bool:
    """A reProtect on this item goes AVS → Azure (its provider replicates to the private
    cloud), not Azure → AVS."""
    return provider(item) in (CLASSIC, RCM_FAILBACK)


# ------------------------------------------------------------------------------ checks
def _check_allowed(item: Json, operation: Operation) -> None:
    properties = item["properties"]
    scenario = properties["currentScenario"]
    if scenario["scenarioName"] != IDLE_SCENARIO:
        raise ArmError(
            409, CODE_OPERATION_IN_PROGRESS,
            f"Another operation ({scenario['scenarioName']}) is in progress on the virtual "
            f"machine '{properties['friendlyName']}'.",
            possible_causes=f"Job {scenario['jobId']} is running on this item.",
            recommended_action="Wait for the running job to finish, then retry.")
    if operation.allowed not in properties["allowedOperations"]:
        raise ArmError(
            400, CODE_OPERATION_NOT_ALLOWED,
            f"The operation '{operation.allowed}' isn't allowed for the virtual machine "
            f"'{properties['friendlyName']}' in its current state "
            f"({properties['protectionStateDescription']}).",
            possible_causes="The operation is not among the item's allowedOperations.",
            recommended_action="Check allowedOperations of the protected item.")


def _model(kind: type[Any], body: Any) -> Any:
    """The body as the SDK model reads it; a body that is not an object is invalid."""
    if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
        raise invalid_input("The failover input is invalid.",
                            "The request body has no 'properties' object.",
                            f"Send a {kind.__name__} body.")
    return kind(body)


def _validate(action: str, body: Any, items: list[Json], *, plan: bool) -> Json:
    """The request's provider input, checked against the items' provider; {} for no body."""
    providers = {provider(i) for i in items}
    if action in ("failovercommit", "failovercancel"):
        return {}
    if action == "plannedfailover":
        if providers != {RCM_FAILBACK}:
            raise invalid_input(
                "Planned failover isn't supported for the replication provider "
                f"{', '.join(sorted(providers))}.",
                "Only InMageRcmFailback items fail back through a planned failover; a classic "
                "(InMage) item fails back through an unplanned failover.",
                "Use unplannedFailover with an InMage provider input.")
        kind: type[Any] = m.RecoveryPlanPlannedFailoverInput if plan else m.PlannedFailoverInput
        wanted: type[Any] = (m.RecoveryPlanInMageRcmFailbackFailoverInput if plan
                             else m.InMageRcmFailbackPlannedFailoverProviderInput)
        points: tuple[str, ...] = RCM_POINTS
    else:
        if providers != {CLASSIC}:
            raise invalid_input(
                "Unplanned failover from Azure isn't supported for the replication provider "
                f"{', '.join(sorted(providers))}.",
                "Only classic (InMage) items fail back through an unplanned failover; an "
                "InMageRcmFailback item fails back through a planned failover.",
                "Use plannedFailover with an InMageRcmFailback provider input.")
        kind = m.RecoveryPlanUnplannedFailoverInput if plan else m.UnplannedFailoverInput
        wanted = m.RecoveryPlanInMageFailoverInput if plan else m.InMageUnplannedFailoverInput
        points = CLASSIC_POINTS
    properties = _model(kind, body).properties
    direction = properties.failover_direction
    # Plans send RecoveryToPrimary (PowerShell); an item's direction is unsettled for classic
    # (failback.md §2) and left out by PowerShell for InMageRcmFailback (§4).
    if (plan and direction != "RecoveryToPrimary") or direction not in (
            None, "RecoveryToPrimary", "PrimaryToRecovery"):
        raise invalid_input(
            "The failover direction is invalid for this operation.",
            f"failoverDirection is {direction!r}; failback goes RecoveryToPrimary.",
            "Set properties.failoverDirection to 'RecoveryToPrimary'.")
    if action == "unplannedfailover" and properties.source_site_operations \
            not in SOURCE_SITE_OPERATIONS:
        raise invalid_input(
            "sourceSiteOperations is required.",
            f"sourceSiteOperations is {properties.source_site_operations!r}.",
            "Send 'NotRequired' (or 'Required').")
    details = properties.provider_specific_details
    entries = details if isinstance(details, list) else [details]
    chosen = next((e for e in entries if isinstance(e, wanted)), None)
    if chosen is None:
        raise invalid_input(
            "The replication provider input is invalid.",
            f"No {wanted.__name__} in providerSpecificDetails for the "
            f"{', '.join(sorted(providers))} item(s).",
            f"Send a {wanted.__name__} ('{next(iter(providers))}').")
    point = chosen.recovery_point_type
    if point not in points:
        raise invalid_input(
            f"The recovery point type {point!r} is invalid.",
            f"recoveryPointType takes {', '.join(points)}.",
            "Send one of these values.")
    if point == "Custom" and not getattr(chosen, "recovery_point_id", None):
        raise invalid_input("recoveryPointId is required with a Custom recovery point.",
                            "recoveryPointType is Custom without recoveryPointId.",
                            "Send recoveryPointId, or LatestTime/LatestTag.")
    sync = getattr(chosen, "use_multi_vm_sync_point", None)
    if sync not in (None, "True", "False"):
        raise invalid_input(f"useMultiVmSyncPoint {sync!r} is invalid.",
                            "useMultiVmSyncPoint takes 'True' or 'False'.",
                            "Send 'True' (as PowerShell does) or 'False'.")
    return {"recoveryPointType": point, "failoverDirection": direction}


def _reprotect_inputs(world: World, item: Json, body: Any) -> Json:
    """The ``InMageAzureV2`` (classic) or ``InMageRcmFailback`` (modernized) reprotect input
    of an item going back to Azure, checked against the vault (failback.md §3, §5)."""
    classic = provider(item) == CLASSIC
    if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
        raise invalid_input("The reprotect input is invalid.",
                            "The request body has no 'properties' object.",
                            "Send a ReverseReplicationInput body.")
    properties: Any = m.ReverseReplicationInput(body).properties
    direction = "RecoveryToPrimary" if classic else "PrimaryToRecovery"
    if properties.failover_direction != direction:
        raise invalid_input(
            "The failover direction is invalid for this operation.",
            f"failoverDirection is {properties.failover_direction!r}; reprotect of "
            f"{provider(item)} to Azure goes {direction}.",
            f"Set properties.failoverDirection to '{direction}'.")
    wanted: type[Any] = m.InMageAzureV2ReprotectInput if classic \
        else m.InMageRcmFailbackReprotectInput
    details = properties.provider_specific_details
    if not isinstance(details, wanted):
        raise invalid_input(
            "The replication provider input is invalid.",
            f"Reprotect of an {provider(item)} item to Azure takes an "
            f"'{AZURE_V2 if classic else RCM_FAILBACK}' provider input.",
            f"Send a {wanted.__name__}.")
    required: tuple[str, ...] = ("processServerId", "runAsAccountId", "policyId") if classic \
        else ("processServerId", "policyId")
    inputs = {k: details.get(k) for k in ("processServerId", "masterTargetId",
                                          "runAsAccountId", "policyId")}
    missing = [k for k in required if not inputs.get(k)]
    if missing:
        raise invalid_input(f"Required input(s) {', '.join(missing)} are missing.",
                            f"Reprotect to Azure requires {', '.join(required)}.",
                            "Provide the missing values and retry.")
    _check_forward_infrastructure(world, item, inputs, classic)
    return inputs


def _check_forward_infrastructure(world: World, item: Json, inputs: Json,
                                  classic: bool) -> None:
    def unknown(message: str, action: str) -> ArmError:
        return ArmError(400, CODE_UNKNOWN_INFRASTRUCTURE, message,
                        possible_causes="The value does not match what the vault reports.",
                        recommended_action=action)

    fabric = world.resources["/".join(world.key(item["id"]).split("/")[:2])]
    details = fabric["properties"]["customDetails"]
    servers = [p["id"] for p in details.get("processServers", [])]
    if not any(same_id(s, inputs["processServerId"]) for s in servers):
        raise unknown(f"Process server '{inputs['processServerId']}' is not registered with "
                      "the item's fabric.", "Pick a process server from the fabric.")
    if classic:
        targets = servers + [t["id"] for t in details.get("masterTargetServers", [])]
        master = inputs.get("masterTargetId")
        if master and not any(same_id(t, master) for t in targets):
            raise unknown(f"Master target '{master}' is not registered with the "
                          "configuration server.", "Leave masterTargetId out or pick one.")
        if not any(a["accountId"] == inputs["runAsAccountId"]
                   for a in details.get("runAsAccounts", [])):
            raise unknown(f"Run-as account '{inputs['runAsAccountId']}' is not an account of "
                          "the configuration server.", "Pick one of the fabric's runAsAccounts.")
    forward = AZURE_V2 if classic else RCM
    if not any(same_id(p["id"], inputs["policyId"])
               and p["properties"]["providerSpecificDetails"]["instanceType"] == forward
               for p in world.of_type("replicationPolicies")):
        raise unknown(f"Policy '{inputs['policyId']}' is not a replication ({forward}) policy "
                      "of this vault.", "Use the policyId of the forward container mapping.")


# ------------------------------------------------------------------------------ jobs
def _scenario(world: World, job: Job) -> Json:
    return {"scenarioName": job.scenario_name, "jobId": world.job_id(job.name),
            "startTime": iso(job.started)}


def _target(world: World, resource: Json, kind: str, *, details: str = "FailoverJobDetails"
            ) -> Json:
    return {"targetObjectId": resource["name"],
            "targetObjectName": resource["properties"]["friendlyName"],
            "targetInstanceType": kind,
            "customDetails": {"instanceType": details}}


def powered_on(status: Any) -> bool:
    """``powerStatus`` reads as on (the emulator's spellings: ON, On, PoweredOn, …)."""
    return str(status).replace(" ", "").casefold() in ("on", "poweredon", "running")


def _take_failure(world: World, items: list[Json]) -> tuple[ReprotectFailure | None, set[str]]:
    """The failure set for any item of the job, and the names of the items it hits; a
    modernized AVS VM powered on before failback fails the job too (emulator's code)."""
    failing: set[str] = set()
    chosen: ReprotectFailure | None = None
    for item in items:
        failure = world.failback_failures.get(item["name"].lower())
        if failure is not None and failure.times > 0:
            failure.times -= 1
            failing.add(item["name"])
            chosen = chosen or failure
        discovered = item["properties"]["providerSpecificDetails"].get("discoveredVmDetails")
        if isinstance(discovered, dict) and powered_on(discovered.get("powerStatus")):
            failing.add(item["name"])
            chosen = chosen or ReprotectFailure(
                CODE_VM_POWERED_ON,
                f"The virtual machine '{item['properties']['friendlyName']}' is powered on in "
                "the private cloud.",
                "The on-premises virtual machine must stay off until failback.",
                "Power off the virtual machine in vCenter, then fail back again.",
                None, None, 1, 1)
    return chosen, failing


def _start(world: World, target_key: str, items: list[Json], operation: Operation,
           inputs: Json, *, target: Json, failure: ReprotectFailure | None = None) -> Job:
    failing: set[str] = set()
    if operation.tasks is FAILOVER_TASKS:
        failure, failing = _take_failure(world, items)
        points = {i["name"]: latest_point(world, i, inputs["recoveryPointType"]) for i in items}
        target["customDetails"]["protectedItemDetails"] = [
            {"name": i["name"], "friendlyName": i["properties"]["friendlyName"],
             "recoveryPointId": f"{i['id']}/recoveryPoints/{uuid.uuid4()}",
             "recoveryPointTime": iso(points[i["name"]])} for i in items]
    elif operation is not REPROTECT:
        target["customDetails"]["protectedItemDetails"] = [
            {"name": i["name"], "friendlyName": i["properties"]["friendlyName"]} for i in items]
    job = Job(name=str(uuid.uuid4()), scenario_name=operation.scenario,
              friendly_name=operation.friendly, item_key=target_key,
              item_name=target["targetObjectId"], started=world.clock(),
              task_seconds=world.task_seconds, failure=failure, reprotect_input=inputs,
              prior_allowed_operations=[], tasks=operation.tasks, target=target)
    priors = {i["name"]: list(i["properties"]["allowedOperations"]) for i in items}
    job.on_end = _effect(world, items, operation, inputs, failing, priors)
    world.jobs[job.name] = job
    for item in items:
        item["properties"]["currentScenario"] = _scenario(world, job)
        item["properties"]["allowedOperations"] = [
            op for op in item["properties"]["allowedOperations"] if op == "DisableProtection"]
    refresh_plans_of(world, items)
    return job


def _effect(world: World, items: list[Json], operation: Operation, inputs: Json,
            failing: set[str], priors: dict[str, list[str]]) -> Callable[[Job, str], None]:
    """What the job does to its items (and plan) when it ends in ``state``."""

    def apply(job: Job, state: str) -> None:
        succeeded = state == "Succeeded"
        planned_failed = not succeeded and operation.scenario == "PlannedFailover"
        points = {d["name"]: d.get("recoveryPointTime")
                  for d in (job.target or {}).get("customDetails", {})
                  .get("protectedItemDetails", [])}
        for item in items:
            name = item["name"]
            item["properties"]["currentScenario"] = world._idle_scenario()
            if planned_failed:
                # Site Recovery cancels a failed planned failover by itself (failback.md §4).
                enter_protected_to_avs(world, item, last_status="Failed")
                item["properties"]["allowedOperations"] = []
            elif state == "Cancelled" or name in failing or (
                    operation is REPROTECT and not succeeded):
                item["properties"]["allowedOperations"] = priors[name]
            elif operation.allowed in ("PlannedFailover", "UnplannedFailover"):
                point = points.get(name)
                enter_failed_back(world, item, _parse(point))
            elif operation.allowed == "Commit":
                enter_committed(world, item)
            elif operation.allowed == "CancelFailover":
                enter_cancelled(world, item)
            else:
                enter_protection_to_azure(world, item, inputs)
        _end_plan(world, job, state)
        refresh_plans_of(world, items)
        if planned_failed:
            _auto_cancel(world, job, items)
        elif operation is REPROTECT and succeeded:
            item = items[0]
            world.deferred.append((world.clock() + world.protect_delay_seconds,
                                   lambda: enter_protected_to_azure(world, item)))

    return apply


def _auto_cancel(world: World, failed: Job, items: list[Json]) -> None:
    """The automatic cancel job after a failed planned failover: items ready again."""
    target = dict(failed.target or {})
    target["customDetails"] = {"instanceType": "FailoverJobDetails", "protectedItemDetails": [
        {"name": i["name"], "friendlyName": i["properties"]["friendlyName"]} for i in items]}
    operation = OPERATIONS["failovercancel"]
    job = Job(name=str(uuid.uuid4()), scenario_name=operation.scenario,
              friendly_name=operation.friendly, item_key=failed.item_key,
              item_name=failed.item_name, started=failed.ended_at,
              task_seconds=world.task_seconds, failure=None, reprotect_input={},
              prior_allowed_operations=[], tasks=operation.tasks, target=target)

    def ready(job: Job, state: str) -> None:
        for item in items:
            enter_protected_to_avs(world, item, last_status="Failed")
        _end_plan(world, job, state)
        refresh_plans_of(world, items)

    job.on_end = ready
    world.jobs[job.name] = job
    for item in items:
        item["properties"]["currentScenario"] = _scenario(world, job)
    if failed.target and failed.target.get("targetInstanceType") == "RecoveryPlan":
        plan = world.resources[failed.item_key]["properties"]
        plan["currentScenario"] = _scenario(world, job)
        plan["currentScenarioStatus"] = plan["currentScenarioStatusDescription"] = "InProgress"


def _end_plan(world: World, job: Job, state: str) -> None:
    """A plan job's end: the plan's scenario status, operations and failover times."""
    if not job.target or job.target.get("targetInstanceType") != "RecoveryPlan":
        return
    plan = world.resources[job.item_key]["properties"]
    plan["currentScenarioStatus"] = state
    plan["currentScenarioStatusDescription"] = "Completed" if state == "Succeeded" else state
    if job.scenario_name in ("PlannedFailover", "UnplannedFailover"):
        plan[f"last{job.scenario_name}Time"] = iso(job.started)


def _parse(value: str | None) -> float | None:
    return parse_iso(value) if value else None
