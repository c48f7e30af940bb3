"""Contract of the emulator's modernized vault, read and reprotected with the real SDK.

Everything goes through HTTPS with CA verification and a managed-identity token (the
`arm` fixture of conftest), through `gateways.site_recovery_rcm` for the conversions, and each
reprotect body is compared with the wire names of the SDK's InMageRcmReprotectInput.
"""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient

from gateways.rcm_models import (
    Architecture,
    RcmFabric,
    RcmFailbackPolicy,
    RcmItem,
    RcmReprotectInput,
    detect_architecture,
)
from gateways.site_recovery import AzureSiteRecovery, job_from_headers
from gateways.site_recovery_rcm import rcm_fabric, rcm_failback_policy, rcm_item, reprotect_body
from sandbox.arm_emulator import ArmEmulator
from sandbox.arm_modernized import ModernizedWorld, storage_account_id
from tests.integration.conftest import reprotect_posts
from tests.integration.test_arm_emulator_contract import some, wait_until

RG, VAULT = "rg-dr", "vault-avs"
APPLIANCE = "avs-appliance-01"


@pytest.fixture
def world() -> ModernizedWorld:
    return ModernizedWorld.modernized_sample(3, task_seconds=0.2, protect_delay_seconds=0.6)


@pytest.fixture
def client(arm: ArmEmulator) -> SiteRecoveryManagementClient:
    return SiteRecoveryManagementClient(
        DefaultAzureCredential(), arm.world.subscription_id, base_url=arm.base_url)


def plan_items(client: SiteRecoveryManagementClient, plan: str) -> list[RcmItem]:
    listed = client.replication_protected_items.list(
        RG, VAULT, filter=f"RecoveryPlanName eq '{plan}'")
    return [rcm_item(i) for i in listed]


def read_item(client: SiteRecoveryManagementClient, item: RcmItem) -> RcmItem:
    base = item.item
    return rcm_item(client.replication_protected_items.get(
        RG, VAULT, base.fabric_name, base.container_name, base.name))


def site(client: SiteRecoveryManagementClient,
         items: list[RcmItem]) -> tuple[RcmFabric, RcmFailbackPolicy]:
    """The appliance fabric and failback policy, converted from the SDK's list answers."""
    fabric = some(rcm_fabric(client.replication_fabrics.list(RG, VAULT), [i.item for i in items]))
    policy = rcm_failback_policy(client.replication_policies.list(RG, VAULT),
                                 client.replication_protection_container_mappings.list(RG, VAULT),
                                 fabric.fabric_name)
    return fabric, some(policy)


def send(client: SiteRecoveryManagementClient, item: RcmItem, body: Any) -> str | None:
    """POST reProtect once, without polling; the job the answer names."""
    seen: list[Any] = []
    base = item.item
    client.replication_protected_items.begin_reprotect(
        RG, VAULT, base.fabric_name, base.container_name, base.name, body, polling=False,
        raw_response_hook=seen.append)
    return job_from_headers({k.lower(): v for k, v in seen[-1].http_response.headers.items()})


def test_modernized_plan_reprotects_item_by_item_until_protected(
    client: SiteRecoveryManagementClient, arm: ArmEmulator, world: ModernizedWorld
) -> None:
    items = plan_items(client, "finance-rp")
    assert [i.item.name for i in items] == ["vm-web-01", "vm-web-02", "vm-web-03"]
    assert detect_architecture(i.provider for i in items) is Architecture.MODERNIZED
    assert all(i.agent_registered and i.item.active_location == "Recovery"
               and "ReverseReplicate" in i.item.allowed_operations for i in items)
    fabric, policy = site(client, items)
    appliance = some(fabric.appliance(APPLIANCE))
    assert appliance.health == "Normal" and appliance.last_heartbeat is not None
    assert {c.kind for c in appliance.components} >= {"processServers", "replicationAgents"}

    jobs = {}
    expected_bodies = []
    for item in items:
        datastore, = item.discovered_datastores
        assert appliance.can_reach(datastore)
        account, = item.log_storage_account_ids
        inputs = RcmReprotectInput(appliance.id, datastore, account, policy.id)
        jobs[item.item.name] = some(send(client, item, reprotect_body(inputs)))
        expected_bodies.append({"properties": {
            "failoverDirection": "RecoveryToPrimary",
            "providerSpecificDetails": {
                "instanceType": "InMageRcm", "reprotectAgentId": appliance.id,
                "datastoreName": datastore, "logStorageAccountId": account,
                "policyId": policy.id}}})
    assert [p.body for p in reprotect_posts(arm)] == expected_bodies
    assert set(jobs.values()) == set(world.jobs)

    progress: set[int] = set()

    def all_protected() -> bool:
        now = [read_item(client, i) for i in items]
        progress.update(i.failback_progress_percent for i in now
                        if i.failback_progress_percent is not None)
        return all(i.protected for i in now)

    def succeeded() -> bool:
        return all(some(client.replication_jobs.get(RG, VAULT, job).properties).state
                   == "Succeeded" for job in jobs.values())

    wait_until(succeeded)
    wait_until(all_protected, timeout=10)
    assert 100 in progress
    for item in items:
        done = read_item(client, item)
        assert done.provider == "InMageRcmFailback" and done.failback_progress_percent == 100
        assert (done.reprotect_agent_id, done.target_datastore) == (appliance.id, "vsan-avs-01")
        assert done.item.current_scenario.idle
    assert detect_architecture(i.provider for i in plan_items(client, "finance-rp")) \
        is Architecture.MODERNIZED
    fabric_after, _ = site(client, items)
    assert some(fabric_after.appliance(APPLIANCE)).protected_item_count == 3
    with pytest.raises(HttpResponseError) as again:
        send(client, items[0], reprotect_body(inputs))
    assert again.value.status_code == 400 and "isn't allowed" in str(again.value.message)


def _body(**details: Any) -> dict[str, Any]:
    return {"properties": {"failoverDirection": "RecoveryToPrimary",
                           "providerSpecificDetails": details}}


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"instanceType": "InMage"}, "invalid for an InMageRcm item"),
        ({"datastoreName": None}, "missing datastoreName"),
        ({"datastoreName": None, "dataStoreName": "vsan-avs-01"}, "unknown dataStoreName"),
        ({"datastoreName": "vmfs-avs-04"}, "not accessible from the replication appliance"),
        ({"reprotectAgentId": "no-such-agent"}, "not a replication appliance"),
        ({"logStorageAccountId": "rcmlogweu01"}, "not the ARM id of a storage account"),
        ({"policyId": "forward"}, "not a failback (InMageRcmFailback) policy"),
    ],
)
def test_wrong_reprotect_bodies_are_refused(
    client: SiteRecoveryManagementClient, world: ModernizedWorld, change: dict[str, Any],
    says: str
) -> None:
    items = plan_items(client, "finance-rp")
    fabric, policy = site(client, items)
    details = {
        "instanceType": "InMageRcm",
        "reprotectAgentId": some(fabric.appliance(APPLIANCE)).id,
        "datastoreName": "vsan-avs-01",
        "logStorageAccountId": storage_account_id(world.subscription_id, "rcmlogweu01"),
        "policyId": policy.id,
    }
    details.update(change)
    if details["policyId"] == "forward":
        details["policyId"] = world.policy("InMageRcm")["id"]
    with pytest.raises(HttpResponseError) as refused:
        send(client, items[1], _body(**{k: v for k, v in details.items() if v is not None}))
    assert refused.value.status_code == 400 and says in str(refused.value.message)
    assert world.jobs == {} and world.reprotect_posts == []
    assert read_item(client, items[1]).item.current_scenario.idle


def test_agent_not_registered_shows_on_the_item_and_refuses_reprotect(
    client: SiteRecoveryManagementClient, world: ModernizedWorld
) -> None:
    world.set_agent_unregistered("vm-web-03", 60, as_job=False)
    items = {i.item.name: i for i in plan_items(client, "finance-rp")}
    assert items["vm-web-03"].agent_registered is False
    assert items["vm-web-01"].agent_registered is True
    fabric, policy = site(client, list(items.values()))
    inputs = RcmReprotectInput(some(fabric.appliance(APPLIANCE)).id, "vsan-avs-01",
                               items["vm-web-03"].log_storage_account_ids[0], policy.id)
    with pytest.raises(HttpResponseError) as refused:
        send(client, items["vm-web-03"], reprotect_body(inputs))
    assert "agent isn't installed" in str(refused.value.message)


def test_mixed_vault_tells_plans_apart_and_keeps_the_classic_site(arm: ArmEmulator) -> None:
    world = ModernizedWorld.modernized_sample(
        2, classic_vm_count=2, plan_name="payroll-rp", plan_friendly_name="Payroll",
        task_seconds=0.2, protect_delay_seconds=0.2)
    world.add_plan("mixed-rp", friendly_name="Mixed", items=["vm-app-01", "vm-web-01"])
    arm.world = world
    client = SiteRecoveryManagementClient(DefaultAzureCredential(), world.subscription_id,
                                          base_url=arm.base_url)
    kinds = {plan: detect_architecture(i.provider for i in plan_items(client, plan))
             for plan in ("finance-rp", "payroll-rp", "mixed-rp")}
    assert kinds == {"finance-rp": Architecture.CLASSIC, "payroll-rp": Architecture.MODERNIZED,
                     "mixed-rp": Architecture.MIXED}
    classic = AzureSiteRecovery(subscription_id=world.subscription_id, resource_group=RG,
                                vault=VAULT, arm_endpoint=arm.base_url)
    try:
        plan = next(p for p in classic.list_plans() if p.name == "finance-rp")
        context = classic.plan_context(plan)
        assert some(context.config_server).fabric_name == "cs-fabric-01"
        assert some(context.failback_policy).name == "vmware-azure-policy-failback"
    finally:
        classic.close()
    fabric, policy = site(client, plan_items(client, "payroll-rp"))
    assert (fabric.fabric_name, policy.name) == ("rcm-fabric-01", "rcm-policy-failback")
