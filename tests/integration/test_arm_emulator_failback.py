"""The failback journey in the emulator, driven through the gateway and the real SDK over HTTPS.

Both architectures walk from "protected to AVS" through fail back, commit (or cancel) and the
reprotect to Azure; each write's body is compared with the wire names PowerShell sends
(failback.md §2-§5), each refusal with what Site Recovery answers, and each state change is
read back through the gateway's typed reads.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient
from azure.mgmt.recoveryservicessiterecovery import models as m

from gateways.agent_auth import AGENT_AUTH_HEADER
from gateways.errors import SiteRecoveryError
from gateways.site_recovery import AzureSiteRecovery
from gateways.site_recovery_failback_models import (
    AzureV2ReprotectInput,
    ClassicPoint,
    FailbackContext,
    ModernizedPoint,
    RcmFailbackReprotectInput,
)
from gateways.site_recovery_models import Job, RecoveryPlan
from sandbox.arm_emulator import ArmEmulator
from sandbox.arm_failback import CODE_VM_POWERED_ON, set_failback_failure
from sandbox.arm_journey import Stage, journey_sample, set_plan_stage
from sandbox.arm_modernized import ModernizedWorld
from sandbox.arm_world import CODE_OPERATION_IN_PROGRESS, CODE_OPERATION_NOT_ALLOWED
from tests.integration.test_arm_emulator_contract import wait_until

RG, VAULT = "rg-dr", "vault-avs"
CLASSIC_PLAN, MODERN_PLAN = "finance-rp", "web-rp"


@pytest.fixture
def world(request: pytest.FixtureRequest) -> ModernizedWorld:
    """Two classic and two modernized VMs failed over to Azure; with a parameter, both
    plans at a stage of the journey (`journey_sample`'s keywords)."""
    keywords: dict[str, Any] = getattr(request, "param", {"stage": None})
    stage = keywords.pop("stage")
    if stage is not None:
        return journey_sample(stage, classic_vm_count=2, vm_count=2, task_seconds=0.05,
                              protect_delay_seconds=0.6, **keywords)
    return ModernizedWorld.modernized_sample(
        2, classic_vm_count=2, plan_name=MODERN_PLAN, plan_friendly_name="Web tier",
        task_seconds=0.05, protect_delay_seconds=0.6)


@pytest.fixture
def asr(arm: ArmEmulator) -> AzureSiteRecovery:
    gateway = AzureSiteRecovery(subscription_id=arm.world.subscription_id, resource_group=RG,
                                vault=VAULT, arm_endpoint=arm.base_url)
    yield gateway  # type: ignore[misc]
    gateway.close()


@pytest.fixture
def client(arm: ArmEmulator) -> SiteRecoveryManagementClient:
    return SiteRecoveryManagementClient(
        DefaultAzureCredential(), arm.world.subscription_id, base_url=arm.base_url)


def plan(asr: AzureSiteRecovery, name: str) -> RecoveryPlan:
    return next(p for p in asr.list_plans() if p.name == name)


def context(asr: AzureSiteRecovery, name: str) -> FailbackContext:
    return asr.failback_context(plan(asr, name))


def finished(asr: AzureSiteRecovery, job_id: str | None) -> Job:
    assert job_id is not None
    wait_until(lambda: asr.get_job(job_id).finished)
    return asr.get_job(job_id)


def posts(arm: ArmEmulator, suffix: str) -> list[Any]:
    return [r for r in arm.requests if r.method == "POST" and r.path.lower().endswith(suffix)]


def refused(call: Any) -> SiteRecoveryError:
    with pytest.raises(SiteRecoveryError) as caught:
        call()
    return caught.value


def test_classic_plan_walks_from_avs_back_to_azure(
    arm: ArmEmulator, world: ModernizedWorld, asr: AzureSiteRecovery,
    client: SiteRecoveryManagementClient
) -> None:
    set_plan_stage(world, CLASSIC_PLAN, Stage.PROTECTED_TO_AVS)
    ready = context(asr, CLASSIC_PLAN)
    now = dt.datetime.now(dt.UTC)
    assert ready.plan.allows("UnplannedFailover") and not ready.plan.allows("PlannedFailover")
    for vm in ready.items:
        assert vm.item.provider == "InMage" and vm.allows("UnplannedFailover")
        assert vm.active_site_type == "Azure" and vm.active_location == "Recovery"
        age = vm.recovery_point_age(now)
        assert age is not None and dt.timedelta(seconds=60) < age < dt.timedelta(minutes=5)
        assert vm.latest_tagged_point is not None
    assert ready.forward.policy is not None and ready.forward.policy.name == "vmware-azure-policy"
    assert {a.name for a in ready.forward.run_as_accounts} >= {"vcenter-avs"}
    assert ready.forward.process_servers and ready.forward.master_targets

    accepted = asr.plan_classic_failback(CLASSIC_PLAN, ClassicPoint.LATEST_TIME)
    (post,) = posts(arm, "/unplannedfailover")
    assert post.body == {"properties": {
        "failoverDirection": "RecoveryToPrimary", "sourceSiteOperations": "NotRequired",
        "providerSpecificDetails": [{"instanceType": "InMage", "recoveryPointType": "LatestTime"}]}}
    assert AGENT_AUTH_HEADER in post.headers and accepted.retry_after_s is not None
    job = finished(asr, accepted.job_id)
    assert (job.state, job.scenario_name, job.target_object_id) == (
        "Succeeded", "UnplannedFailover", CLASSIC_PLAN)
    assert len([j for j in world.jobs.values() if j.scenario_name == "UnplannedFailover"]) == 1
    properties = client.replication_jobs.get(RG, VAULT, job.id).properties
    assert properties is not None and properties.target_instance_type == "RecoveryPlan"
    details = properties.custom_details
    assert isinstance(details, m.FailoverJobDetails) and details.protected_item_details
    assert [d.name for d in details.protected_item_details] == ["vm-app-01", "vm-app-02"]
    assert all(isinstance(d.recovery_point_time, dt.datetime) and d.recovery_point_id
               for d in details.protected_item_details)

    back = context(asr, CLASSIC_PLAN)
    assert back.plan.allows("Commit") and back.plan.current_scenario is not None
    assert back.plan.current_scenario.name == "UnplannedFailover"
    assert back.plan.last_unplanned_failover_time is not None
    for vm in back.items:
        assert vm.allows("Commit") and not vm.allows("CancelFailover")
        assert vm.active_site_type == "OnPrem" and vm.active_location == "Primary"
    cancel = refused(lambda: asr.plan_cancel(CLASSIC_PLAN))
    assert (cancel.status, cancel.code) == (400, CODE_OPERATION_NOT_ALLOWED)

    assert finished(asr, asr.plan_commit(CLASSIC_PLAN).job_id).scenario_name == "CommitFailover"
    assert posts(arm, "/failovercommit")[0].body is None
    committed = context(asr, CLASSIC_PLAN)
    assert all(vm.allows("ReverseReplicate") and not vm.allows("Commit")
               for vm in committed.items)

    forward = committed.forward
    assert forward.policy is not None
    for vm in committed.items:
        inputs = AzureV2ReprotectInput(
            process_server_id=forward.process_servers[0].id,
            run_as_account_id=forward.run_as_accounts[0].account_id,
            policy_id=forward.policy.id)
        finished(asr, asr.reprotect(vm.item.id, inputs).job_id)
    body = posts(arm, "/reprotect")[0].body
    assert body["properties"]["failoverDirection"] == "RecoveryToPrimary"
    assert body["properties"]["providerSpecificDetails"] == {
        "instanceType": "InMageAzureV2", "processServerId": forward.process_servers[0].id,
        "masterTargetId": forward.process_servers[0].id,
        "runAsAccountId": forward.run_as_accounts[0].account_id, "policyId": forward.policy.id}
    last = committed.items[-1].item.id
    assert asr.get_item(last).protection_state == "InitialReplicationInProgress"
    wait_until(lambda: all(asr.get_item(v.item.id).protected for v in committed.items))
    assert asr.get_item(last).provider == "InMageAzureV2"


def test_modernized_plan_fails_back_cancels_then_commits_and_reprotects(
    arm: ArmEmulator, world: ModernizedWorld, asr: AzureSiteRecovery
) -> None:
    set_plan_stage(world, MODERN_PLAN, Stage.PROTECTED_TO_AVS)
    ready = context(asr, MODERN_PLAN)
    assert ready.plan.allows("PlannedFailover") and not ready.plan.allows("UnplannedFailover")
    assert all(vm.allows("PlannedFailover") and vm.power_status == "OFF"
               and vm.last_planned_failover_status == "Unknown"
               and vm.latest_recovery_point is not None for vm in ready.items)

    job = finished(asr, asr.plan_modernized_failback(
        MODERN_PLAN, ModernizedPoint.CRASH_CONSISTENT).job_id)
    assert posts(arm, "/plannedfailover")[0].body == {"properties": {
        "failoverDirection": "RecoveryToPrimary", "providerSpecificDetails": [{
            "instanceType": "InMageRcmFailback", "recoveryPointType": "CrashConsistent",
            "useMultiVmSyncPoint": "True"}]}}
    assert (job.state, job.scenario_name) == ("Succeeded", "PlannedFailover")
    back = context(asr, MODERN_PLAN)
    assert back.plan.allows("Commit") and back.plan.allows("CancelFailover")
    assert all(vm.allows("Commit") and vm.allows("CancelFailover") and vm.power_status == "ON"
               and vm.last_planned_failover_status == "Succeeded" for vm in back.items)

    assert finished(asr, asr.plan_cancel(MODERN_PLAN).job_id).scenario_name == "CancelFailover"
    cancelled = context(asr, MODERN_PLAN)
    assert cancelled.plan.allows("PlannedFailover")
    assert all(vm.allows("PlannedFailover") and vm.power_status == "OFF"
               and vm.last_planned_failover_status == "Cancelled" for vm in cancelled.items)

    finished(asr, asr.plan_modernized_failback(
        MODERN_PLAN, ModernizedPoint.APPLICATION_CONSISTENT, multi_vm_sync_point=False).job_id)
    finished(asr, asr.plan_commit(MODERN_PLAN).job_id)
    committed = context(asr, MODERN_PLAN)
    assert all(vm.allows("ReverseReplicate") for vm in committed.items)
    forward = committed.forward
    assert forward.policy is not None and forward.policy.name == "rcm-policy"
    assert forward.process_servers[0].name == "avs-appliance-01"
    for vm in committed.items:
        finished(asr, asr.reprotect(vm.item.id, RcmFailbackReprotectInput(
            process_server_id=forward.process_servers[0].id, policy_id=forward.policy.id)).job_id)
    assert posts(arm, "/reprotect")[0].body == {"properties": {
        "failoverDirection": "PrimaryToRecovery", "providerSpecificDetails": {
            "instanceType": "InMageRcmFailback", "processServerId": forward.process_servers[0].id,
            "policyId": forward.policy.id}}}
    wait_until(lambda: all(asr.get_item(v.item.id).protected for v in committed.items))
    assert {asr.get_item(v.item.id).provider for v in committed.items} == {"InMageRcm"}


def test_modernized_items_fail_back_commit_and_cancel_one_by_one(
    arm: ArmEmulator, world: ModernizedWorld, asr: AzureSiteRecovery
) -> None:
    set_plan_stage(world, MODERN_PLAN, Stage.PROTECTED_TO_AVS)
    first, second = context(asr, MODERN_PLAN).items
    finished(asr, asr.item_modernized_failback(
        first.item.id, ModernizedPoint.APPLICATION_CONSISTENT).job_id)
    assert posts(arm, "/plannedfailover")[0].body == {"properties": {"providerSpecificDetails": {
        "instanceType": "InMageRcmFailback", "recoveryPointType": "ApplicationConsistent"}}}
    assert asr.get_failback_item(first.item.id).allows("Commit")
    assert asr.get_failback_item(second.item.id).allows("PlannedFailover")
    plan_now = context(asr, MODERN_PLAN).plan
    assert not plan_now.allows("Commit") and not plan_now.allows("PlannedFailover")
    commit_plan = refused(lambda: asr.plan_commit(MODERN_PLAN))
    assert (commit_plan.status, commit_plan.code) == (400, CODE_OPERATION_NOT_ALLOWED)
    finished(asr, asr.item_cancel(first.item.id).job_id)
    assert asr.get_failback_item(first.item.id).last_planned_failover_status == "Cancelled"
    finished(asr, asr.item_modernized_failback(
        first.item.id, ModernizedPoint.CRASH_CONSISTENT).job_id)
    finished(asr, asr.item_commit(first.item.id).job_id)
    assert asr.get_failback_item(first.item.id).allowed_operations == (
        "ReverseReplicate", "DisableProtection")


def test_a_failed_planned_failover_is_cancelled_by_site_recovery(
    world: ModernizedWorld, asr: AzureSiteRecovery
) -> None:
    set_plan_stage(world, MODERN_PLAN, Stage.PROTECTED_TO_AVS)
    set_failback_failure(world, "vm-web-02", code="539", message="Disk sync failed.",
                         at_task=3)
    job = finished(asr, asr.plan_modernized_failback(
        MODERN_PLAN, ModernizedPoint.CRASH_CONSISTENT).job_id)
    assert job.state == "Failed" and job.errors[0].code == "539"
    cancels = [j for j in world.jobs.values() if j.scenario_name == "CancelFailover"]
    assert len(cancels) == 1
    assert finished(asr, cancels[0].name).state == "Succeeded"
    after = context(asr, MODERN_PLAN)
    assert all(vm.allows("PlannedFailover") and vm.last_planned_failover_status == "Failed"
               and vm.current_scenario.idle for vm in after.items)
    assert after.plan.current_scenario is not None
    assert after.plan.current_scenario.name == "CancelFailover"
    assert after.plan.current_scenario_status == "Succeeded"


def test_classic_failback_fails_with_8038_and_only_that_vm_stays_in_azure(
    world: ModernizedWorld, asr: AzureSiteRecovery
) -> None:
    set_plan_stage(world, CLASSIC_PLAN, Stage.PROTECTED_TO_AVS)
    set_failback_failure(world, "vm-app-02")
    job = finished(asr, asr.plan_classic_failback(CLASSIC_PLAN, ClassicPoint.LATEST_TAG).job_id)
    assert job.state == "Failed" and job.errors[0].code == "8038"
    assert "memory" in job.errors[0].recommended_action
    first, second = context(asr, CLASSIC_PLAN).items
    assert first.allows("Commit") and second.allows("UnplannedFailover")


def test_a_powered_on_avs_vm_fails_the_failback(
    world: ModernizedWorld, asr: AzureSiteRecovery
) -> None:
    set_plan_stage(world, MODERN_PLAN, Stage.PROTECTED_TO_AVS)
    world.item("vm-web-01")["properties"]["providerSpecificDetails"][
        "discoveredVmDetails"]["powerStatus"] = "ON"
    assert asr.get_failback_item(
        str(world.item("vm-web-01")["id"])).power_status == "ON"
    job = finished(asr, asr.item_modernized_failback(
        str(world.item("vm-web-01")["id"]), ModernizedPoint.CRASH_CONSISTENT).job_id)
    assert job.state == "Failed" and job.errors[0].code == CODE_VM_POWERED_ON


def test_refusals_name_what_site_recovery_would(
    world: ModernizedWorld, asr: AzureSiteRecovery, client: SiteRecoveryManagementClient
) -> None:
    set_plan_stage(world, CLASSIC_PLAN, Stage.PROTECTED_TO_AVS)
    set_plan_stage(world, MODERN_PLAN, Stage.PROTECTED_TO_AVS)
    classic_id = str(world.item("vm-app-01")["id"])
    modern_id = str(world.item("vm-web-01")["id"])
    for call in (lambda: asr.item_modernized_failback(classic_id, ModernizedPoint.CRASH_CONSISTENT),
                 lambda: asr.item_commit(classic_id), lambda: asr.item_cancel(modern_id),
                 lambda: asr.plan_classic_failback(MODERN_PLAN, ClassicPoint.LATEST_TIME)):
        error = refused(call)
        assert (error.status, error.code) == (400, CODE_OPERATION_NOT_ALLOWED)
        assert "isn't allowed" in error.why
    asr.item_modernized_failback(modern_id, ModernizedPoint.CRASH_CONSISTENT)
    busy = refused(lambda: asr.item_modernized_failback(modern_id,
                                                        ModernizedPoint.CRASH_CONSISTENT))
    assert (busy.status, busy.code) == (409, CODE_OPERATION_IN_PROGRESS)

    # A body the SDK builds but the provider does not take: the service's invalid input.
    wrong = {"properties": {"failoverDirection": "RecoveryToPrimary", "providerSpecificDetails": [
        {"instanceType": "InMageRcmFailback", "recoveryPointType": "LatestTime"}]}}
    with pytest.raises(HttpResponseError) as caught:
        client.replication_recovery_plans.begin_unplanned_failover(
            RG, VAULT, CLASSIC_PLAN, wrong, polling=False)  # type: ignore[arg-type]
    assert caught.value.status_code == 400 and caught.value.error is not None
    assert caught.value.error.code == "28005"

    set_plan_stage(world, CLASSIC_PLAN, Stage.COMMITTED)
    policy = world.policy("InMageAzureV2")["id"]
    unknown = refused(lambda: asr.reprotect(classic_id, AzureV2ReprotectInput(
        process_server_id="nope", run_as_account_id="1", policy_id=policy)))
    assert unknown.status == 400 and unknown.code == "28042"
    backwards = refused(lambda: asr.reprotect(classic_id, RcmFailbackReprotectInput(
        process_server_id="x", policy_id=policy)))
    assert backwards.code == "28005"


def test_every_stage_can_be_set_for_both_architectures(
    world: ModernizedWorld, asr: AzureSiteRecovery
) -> None:
    expected = {Stage.PROTECTED_TO_AVS: ("UnplannedFailover", "PlannedFailover"),
                Stage.FAILED_BACK: ("Commit", "Commit"),
                Stage.COMMITTED: ("ReverseReplicate", "ReverseReplicate"),
                Stage.PROTECTED_TO_AZURE: ("UnplannedFailover", "UnplannedFailover")}
    for stage, (classic_op, modern_op) in expected.items():
        set_plan_stage(world, CLASSIC_PLAN, stage)
        set_plan_stage(world, MODERN_PLAN, stage)
        assert context(asr, CLASSIC_PLAN).plan.allows(classic_op), stage
        assert context(asr, MODERN_PLAN).plan.allows(modern_op), stage
    assert {i.item.provider for i in context(asr, MODERN_PLAN).items} == {"InMageRcm"}
    assert all(i.item.protected for i in context(asr, CLASSIC_PLAN).items)
    set_plan_stage(world, MODERN_PLAN, Stage.CANCELLED)
    assert all(i.last_planned_failover_status == "Cancelled"
               for i in context(asr, MODERN_PLAN).items)
    with pytest.raises(ValueError, match="cannot be cancelled"):
        set_plan_stage(world, CLASSIC_PLAN, Stage.CANCELLED)


@pytest.mark.parametrize("world", [{"stage": Stage.FAILED_BACK, "seed": 7}], indirect=True)
def test_a_seeded_vault_respells_the_journeys_free_text(asr: AzureSiteRecovery,
                                                         world: ModernizedWorld) -> None:
    site_types = {i.active_site_type for i in context(asr, CLASSIC_PLAN).items}
    powers = {i.power_status for i in context(asr, MODERN_PLAN).items}
    assert site_types == {world.spell("OnPrem")} and site_types != {"OnPrem"}
    assert powers == {world.spell("ON")} and powers != {"ON"}
    locations = {i.active_location for i in context(asr, MODERN_PLAN).items}
    assert locations == {world.spell("Primary")} and locations != {"Primary"}
    # Read raw: the operations the bot acts on are Site Recovery's enumeration, not respelled.
    assert all(i.allows("Commit") for i in context(asr, MODERN_PLAN).items)


@pytest.mark.parametrize("write", ["plan_commit", "plan_failback", "item_cancel"])
def test_a_failback_write_is_sent_once_even_when_the_answer_is_lost(
    arm: ArmEmulator, world: ModernizedWorld, asr: AzureSiteRecovery, write: str
) -> None:
    set_plan_stage(world, MODERN_PLAN, Stage.FAILED_BACK if write != "plan_failback"
                   else Stage.PROTECTED_TO_AVS)
    item_id = str(world.item("vm-web-01")["id"])
    sends = {"plan_commit": lambda: asr.plan_commit(MODERN_PLAN),
             "plan_failback": lambda: asr.plan_modernized_failback(
                 MODERN_PLAN, ModernizedPoint.CRASH_CONSISTENT),
             "item_cancel": lambda: asr.item_cancel(item_id)}
    arm.fail_next("POST", r"/(failoverCommit|plannedFailover|failoverCancel)$", 503,
                  processed=True)
    error = refused(sends[write])
    assert error.status == 503
    assert len([r for r in arm.requests if r.method == "POST"]) == 1
    # Site Recovery had accepted it: the job runs, and the caller must look before resending.
    assert len([j for j in world.jobs.values() if j.on_end is not None]) == 1


def test_a_classic_item_fails_back_alone_in_the_direction_its_caller_chose(
    arm: ArmEmulator, world: ModernizedWorld, asr: AzureSiteRecovery,
    client: SiteRecoveryManagementClient
) -> None:
    set_plan_stage(world, CLASSIC_PLAN, Stage.PROTECTED_TO_AVS)
    vm = str(world.item("vm-app-01")["id"])
    finished(asr, asr.item_classic_failback(vm, ClassicPoint.LATEST_TAG, "RecoveryToPrimary")
             .job_id)
    assert posts(arm, "/unplannedfailover")[0].body == {"properties": {
        "failoverDirection": "RecoveryToPrimary", "sourceSiteOperations": "NotRequired",
        "providerSpecificDetails": {"instanceType": "InMage", "recoveryPointType": "LatestTag"}}}
    item = asr.get_failback_item(vm)
    assert item.allows("Commit") and item.active_site_type == "OnPrem"
    # A plan goes RecoveryToPrimary: the other direction is refused as an invalid input.
    backwards = {"properties": {
        "failoverDirection": "PrimaryToRecovery", "sourceSiteOperations": "NotRequired",
        "providerSpecificDetails": [{"instanceType": "InMage", "recoveryPointType": "LatestTime"}]}}
    set_plan_stage(world, CLASSIC_PLAN, Stage.PROTECTED_TO_AVS)
    with pytest.raises(HttpResponseError) as caught:
        client.replication_recovery_plans.begin_unplanned_failover(
            RG, VAULT, CLASSIC_PLAN, backwards, polling=False)  # type: ignore[arg-type]
    assert caught.value.status_code == 400 and "direction" in str(caught.value.message)


def test_reprotect_to_azure_waits_for_the_agent_to_register_again(
    world: ModernizedWorld, asr: AzureSiteRecovery
) -> None:
    set_plan_stage(world, CLASSIC_PLAN, Stage.COMMITTED)
    vm = str(world.item("vm-app-01")["id"])
    forward = context(asr, CLASSIC_PLAN).forward
    assert forward.policy is not None
    inputs = AzureV2ReprotectInput(process_server_id=forward.process_servers[0].id,
                                   run_as_account_id=forward.run_as_accounts[0].account_id,
                                   policy_id=forward.policy.id,
                                   master_target_id=forward.master_targets[0].id)
    registered_at = world.clock() + 0.5
    world.set_agent_unregistered("vm-app-01", 0.5, as_job=False)
    early = refused(lambda: asr.reprotect(vm, inputs))
    assert early.code == "28176" and "agent isn't installed" in early.why
    assert asr.get_failback_item(vm).allows("ReverseReplicate")
    wait_until(lambda: world.clock() > registered_at)
    assert finished(asr, asr.reprotect(vm, inputs).job_id).state == "Succeeded"


def test_a_reprotect_to_azure_failed_for_the_agent_is_restarted_as_one(
    world: ModernizedWorld, asr: AzureSiteRecovery
) -> None:
    """The agent wait's retry of a job that failed "agent isn't installed": the restart runs
    the reprotect to Azure again (not to the private cloud), and the failed job left the item
    as it was."""
    set_plan_stage(world, CLASSIC_PLAN, Stage.COMMITTED)
    vm = str(world.item("vm-app-01")["id"])
    forward = context(asr, CLASSIC_PLAN).forward
    assert forward.policy is not None
    inputs = AzureV2ReprotectInput(process_server_id=forward.process_servers[0].id,
                                   run_as_account_id=forward.run_as_accounts[0].account_id,
                                   policy_id=forward.policy.id)
    world.set_agent_unregistered("vm-app-01", 0.5, as_job=True)
    failed = finished(asr, asr.reprotect(vm, inputs).job_id)
    assert failed.state == "Failed" and "agent isn't installed" in failed.errors[0].message
    item = asr.get_failback_item(vm)
    assert item.item.provider == "InMage" and item.allows("ReverseReplicate")
    wait_until(lambda: world.clock() > world._agent_registers_at["vm-app-01"][0])
    again = finished(asr, asr.restart_job(failed.id).job_id)
    assert again.state == "Succeeded"
    wait_until(lambda: asr.get_item(vm).protected)
    assert asr.get_item(vm).provider == "InMageAzureV2"


@pytest.mark.parametrize("world", [{"stage": Stage.CANCELLED}], indirect=True)
def test_a_journey_sample_starts_both_plans_at_a_stage(
    asr: AzureSiteRecovery, world: ModernizedWorld
) -> None:
    assert all(i.last_planned_failover_status == "Cancelled" and i.allows("PlannedFailover")
               for i in context(asr, MODERN_PLAN).items)
    assert all(i.allows("UnplannedFailover") for i in context(asr, CLASSIC_PLAN).items)
