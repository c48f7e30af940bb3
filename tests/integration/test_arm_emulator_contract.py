"""Contract of the ARM emulator: the real SDK and real DefaultAzureCredential talk to it.

Every test goes through HTTPS with CA verification and a token from the emulated App Service
managed-identity endpoint, so a passing suite means the bot's client stack works unchanged.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceExistsError
from azure.core.pipeline import PipelineResponse
from azure.core.rest import HttpRequest
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient
from azure.mgmt.recoveryservicessiterecovery import models as m

from gateways.agent_auth import AGENT_AUTH_HEADER, CLIENT_REQUEST_ID_HEADER, signed_headers
from gateways.site_recovery import AzureSiteRecovery
from gateways.site_recovery_models import ReprotectInput
from sandbox.arm_emulator import ArmEmulator
from sandbox.arm_world import World

RG, VAULT = "rg-dr", "vault-avs"
FABRIC = "cs-fabric-01"
API = {"api-version": "2025-08-01"}
ARM_SCOPE = "https://management.azure.com/.default"
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
CREDENTIAL_ENV = (
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_USERNAME",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_TOKEN_CREDENTIALS",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
)
T = TypeVar("T")
Raw = PipelineResponse[Any, Any]


@pytest.fixture
def world() -> World:
    return World.sample(3, task_seconds=0.25, protect_delay_seconds=0.25)


@pytest.fixture
def emu(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ArmEmulator]:
    with ArmEmulator(world, ca_dir=tmp_path / "ca") as emulator:
        for key in CREDENTIAL_ENV:
            monkeypatch.delenv(key, raising=False)
        for key, value in emulator.env().items():
            monkeypatch.setenv(key, value)
        yield emulator


@pytest.fixture
def client(emu: ArmEmulator) -> SiteRecoveryManagementClient:
    return SiteRecoveryManagementClient(
        DefaultAzureCredential(), emu.world.subscription_id, base_url=emu.base_url
    )


def some(value: T | None) -> T:
    """SDK model fields are all Optional; the contract is that these ones are populated."""
    assert value is not None
    return value


def container_name(world: World) -> str:
    return str(world.container()["name"])


def job(client: SiteRecoveryManagementClient, name: str) -> m.JobProperties:
    return some(client.replication_jobs.get(RG, VAULT, name).properties)


def item(
    client: SiteRecoveryManagementClient, world: World, name: str
) -> m.ReplicationProtectedItemProperties:
    got = client.replication_protected_items.get(RG, VAULT, FABRIC, container_name(world), name)
    return some(got.properties)


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def vault_url(emu: ArmEmulator, suffix: str, query: dict[str, str] | None = None) -> str:
    params = "&".join(f"{k}={v}" for k, v in (query or {}).items())
    return f"{emu.base_url}{emu.world.vault_id}/{suffix}?{params}"


def reprotect_input(
    world: World,
    *,
    master: str = "avs-mt-01",
    drive: str = "R:",
    datastore: str | None = "vsan-avs-01",
    profile_type: str = "InMage",
    direction: str = "RecoveryToPrimary",
) -> m.ReverseReplicationInput:
    details = world.fabric()["properties"]["customDetails"]
    mt_id = next((t["id"] for t in details["masterTargetServers"] if t["name"] == master), master)
    ps_id = next(p["id"] for p in details["processServers"] if p["friendlyName"] == "azure-ps-01")
    return m.ReverseReplicationInput(
        properties=m.ReverseReplicationInputProperties(
            failover_direction=direction,
            provider_specific_details=m.InMageReprotectInput(
                master_target_id=mt_id,
                process_server_id=ps_id,
                retention_drive=drive,
                datastore_name=datastore,
                profile_id=world.policy(profile_type)["id"],
                run_as_account_id="2",
            ),
        )
    )


def start_reprotect(
    client: SiteRecoveryManagementClient, world: World, name: str, **overrides: Any
) -> Raw:
    """POST reProtect without polling; return the raw 202 (how the bot reads the job id)."""
    seen: list[Raw] = []
    client.replication_protected_items.begin_reprotect(
        RG,
        VAULT,
        FABRIC,
        container_name(world),
        name,
        reprotect_input(world, **overrides),
        polling=False,
        raw_response_hook=seen.append,
    )
    return seen[-1]


def job_of(response: Raw) -> str:
    match = re.search(rf"/operationresults/({GUID})\?", response.http_response.headers["Location"])
    assert match, response.http_response.headers
    return match.group(1)


class _StaticCredential:
    """A credential handing out a token the emulator never issued."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("not-issued", int(time.time()) + 3600)


def test_fabric_carries_failback_infrastructure(client: SiteRecoveryManagementClient) -> None:
    fabric = client.replication_fabrics.get(RG, VAULT, FABRIC)
    assert some(fabric.id).startswith("/Subscriptions/")
    details = some(fabric.properties).custom_details
    assert isinstance(details, m.VMwareDetails)
    assert details.host_name == "cs01" and details.cs_service_status == "Running"
    assert details.last_heartbeat is not None
    mt, linux_mt = some(details.master_target_servers)
    assert mt.name == "avs-mt-01" and mt.os_type == "Windows"
    assert [v.volume_name for v in some(mt.retention_volumes)] == ["R:", "S:"]
    assert some(mt.data_stores)[0].symbolic_name == "vsan-avs-01"
    assert [d.type for d in some(mt.data_stores)] == ["vSAN", "VMFS", "NFS"]
    assert some(linux_mt.retention_volumes)[0].volume_name == "/mnt/retention"
    processes = some(details.process_servers)
    assert [p.friendly_name for p in processes] == ["azure-ps-01", "azure-ps-02", "cs01"]
    assert processes[0].health == "Normal"
    assert {a.account_id for a in some(details.run_as_accounts)} == {"1", "2", "3"}
    assert [f.name for f in client.replication_fabrics.list(RG, VAULT)] == [FABRIC]


def test_plan_items_policies_and_mappings_deserialize(
    client: SiteRecoveryManagementClient, world: World
) -> None:
    plan = some(client.replication_recovery_plans.get(RG, VAULT, "finance-rp").properties)
    assert plan.friendly_name == "Finance tier 1"
    ids = [some(i.id) for g in some(plan.groups) for i in some(g.replication_protected_items)]
    assert len(ids) == 3 and all(i.startswith("/Subscriptions/") for i in ids)
    assert [p.name for p in client.replication_recovery_plans.list(RG, VAULT)] == ["finance-rp"]

    fabric, container, name = ids[0].split("/")[-5::2]
    first = some(client.replication_protected_items.get(RG, VAULT, fabric, container, name))
    props = some(first.properties)
    assert first.name == "vm-app-01" and props.friendly_name == "app-01"
    assert props.protection_state == "FailedOver" and props.active_location == "Recovery"
    assert props.allowed_operations == ["ReverseReplicate", "DisableProtection"]
    assert some(props.current_scenario).scenario_name == "None"
    assert some(some(props.current_scenario).job_id).endswith("/replicationJobs/None")
    details = props.provider_specific_details
    assert isinstance(details, m.InMageAzureV2ReplicationDetails)
    assert details.os_type == "Windows" and re.fullmatch(GUID, details.vm_id or "")
    assert details.multi_vm_group_name == ""
    by_container = client.replication_protected_items.list_by_replication_protection_containers(
        RG, VAULT, FABRIC, container_name(world)
    )
    assert [i.name for i in by_container] == ["vm-app-01", "vm-app-02", "vm-app-03"]

    policies = {p.name: p for p in client.replication_policies.list(RG, VAULT)}
    forward = some(policies["vmware-azure-policy"].properties).provider_specific_details
    assert isinstance(forward, m.InMageAzureV2PolicyDetails)
    failback = client.replication_policies.get(RG, VAULT, "vmware-azure-policy-failback")
    failback_details = some(failback.properties).provider_specific_details
    assert isinstance(failback_details, m.InMagePolicyDetails)
    assert failback_details.recovery_point_threshold_in_minutes == 15

    mappings = client.replication_protection_container_mappings
    of_container = list(
        mappings.list_by_replication_protection_containers(RG, VAULT, FABRIC, container_name(world))
    )
    chosen = next(
        x
        for x in of_container
        if some(some(x.properties).policy_id).lower() == some(failback.id).lower()
    )
    assert some(chosen.properties).state == "Paired"
    assert len(list(mappings.list(RG, VAULT))) == 2
    got = mappings.get(RG, VAULT, FABRIC, container_name(world), some(chosen.name))
    assert some(got.properties).policy_id == failback.id


def test_containers_vcenters_and_providers(
    client: SiteRecoveryManagementClient, world: World
) -> None:
    containers = client.replication_protection_containers
    listed = list(containers.list_by_replication_fabrics(RG, VAULT, FABRIC))
    assert [some(c.properties).fabric_type for c in listed] == ["VMware"]
    got = containers.get(RG, VAULT, FABRIC, container_name(world))
    assert some(got.properties).protected_item_count == 3
    vcenters = list(client.replicationv_centers.list(RG, VAULT))
    assert [some(v.properties).discovery_status for v in vcenters] == ["Connected"]
    per_fabric = client.replicationv_centers.list_by_replication_fabrics(RG, VAULT, FABRIC)
    assert [v.name for v in per_fabric] == ["vcenter-avs"]
    providers = list(client.replication_recovery_services_providers.list(RG, VAULT))
    assert [some(p.properties).connection_status for p in providers] == ["Connected"]
    assert some(providers[0].properties).last_heart_beat is not None


def test_lists_follow_next_link(
    client: SiteRecoveryManagementClient, emu: ArmEmulator, world: World
) -> None:
    world.page_size = 2
    plan_filter = "RecoveryPlanName eq 'FINANCE-RP'"
    items = client.replication_protected_items.list(RG, VAULT, filter=plan_filter)
    assert [i.name for i in items] == ["vm-app-01", "vm-app-02", "vm-app-03"]
    pages = [r for r in emu.requests if r.path.lower().endswith("/replicationprotecteditems")]
    assert len(pages) == 2 and "$skiptoken" in pages[1].query
    assert pages[1].query["$filter"] == plan_filter
    other = client.replication_protected_items.list(RG, VAULT, filter="RecoveryPlanName eq 'x'")
    assert list(other) == []


def test_reprotect_returns_job_and_item_ends_protected(
    client: SiteRecoveryManagementClient, emu: ArmEmulator, world: World
) -> None:
    emu.lro_retry_after = 30
    response = start_reprotect(client, world, "vm-app-01")
    headers = response.http_response.headers
    assert response.http_response.status_code == 202 and headers["Retry-After"] == "30"
    job_name = job_of(response)
    assert headers["x-ms-request-id"].endswith(f"/replicationJobs/{job_name}")
    posted = emu.requests[-1].body["properties"]["providerSpecificDetails"]
    assert posted["datastoreName"] == "vsan-avs-01" and posted["instanceType"] == "InMage"
    assert [name for name, _ in world.reprotect_posts] == ["vm-app-01"]

    running = job(client, job_name)
    assert running.state == "InProgress" and running.scenario_name == "ReverseReplication"
    assert running.target_object_id == "vm-app-01" and running.target_object_name == "app-01"
    assert isinstance(running.custom_details, m.AsrJobDetails)
    tasks = some(running.tasks)
    assert len(tasks) == 4 and all(isinstance(t, m.ASRTask) for t in tasks)

    props = item(client, world, "vm-app-01")
    scenario = some(props.current_scenario)
    assert scenario.scenario_name == "ReverseReplication"
    assert some(scenario.job_id).endswith(job_name)
    assert "ReverseReplicate" not in some(props.allowed_operations)
    with pytest.raises(ResourceExistsError):
        start_reprotect(client, world, "vm-app-01")

    wait_until(lambda: job(client, job_name).state == "Succeeded")
    finished = job(client, job_name)
    assert {t.state for t in some(finished.tasks)} == {"Succeeded"}
    assert finished.end_time is not None
    wait_until(lambda: item(client, world, "vm-app-01").protection_state == "Protected")
    props = item(client, world, "vm-app-01")
    details = props.provider_specific_details
    assert isinstance(details, m.InMageReplicationDetails)
    assert details.master_target_id == posted["masterTargetId"]
    assert details.datastores == ["vsan-avs-01"]
    assert some(props.current_scenario).scenario_name == "None"

    since = f"StartTime eq '{some(running.start_time).isoformat()}'"
    assert [j.name for j in client.replication_jobs.list(RG, VAULT, filter=since)] == [job_name]
    future = "StartTime eq '2999-01-01T00:00:00.0000000Z' and ( JobStatus eq 'Succeeded' )"
    assert list(client.replication_jobs.list(RG, VAULT, filter=future)) == []


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"datastore": "vmfs-avs-04"}, "Datastore 'vmfs-avs-04'"),
        ({"datastore": "nfs-avs-03"}, "VMFS or vSAN"),
        ({"drive": "/mnt/retention"}, "Retention drive"),
        ({"master": "no-such-mt"}, "Master target server"),
        ({"master": "avs-mt-02", "drive": "/mnt/retention", "datastore": None}, "runs Linux"),
        ({"profile_type": "InMageAzureV2"}, "failback (InMage) policy"),
        ({"direction": "PrimaryToRecovery"}, "failover direction"),
    ],
)
def test_reprotect_refuses_inconsistent_input(
    client: SiteRecoveryManagementClient, world: World, overrides: dict[str, Any], says: str
) -> None:
    with pytest.raises(HttpResponseError) as refused:
        start_reprotect(client, world, "vm-app-02", **overrides)
    assert refused.value.status_code == 400
    assert some(some(refused.value.error).code).isdigit()
    assert says in str(refused.value.message)
    assert world.reprotect_posts == [] and world.jobs == {}
    assert world.item("vm-app-02")["properties"]["currentScenario"]["scenarioName"] == "None"


def test_item_without_reverse_replicate_and_injected_post_error(
    client: SiteRecoveryManagementClient, world: World
) -> None:
    world.add_item("vm-db-01", allowed_operations=["DisableProtection"])
    with pytest.raises(HttpResponseError) as refused:
        start_reprotect(client, world, "vm-db-01")
    assert refused.value.status_code == 400 and "isn't allowed" in str(refused.value.message)

    world.set_post_error("vm-app-03", 400, "78052", "A VM with the same name already exists.")
    with pytest.raises(HttpResponseError) as injected:
        start_reprotect(client, world, "vm-app-03")
    assert some(injected.value.error).code == "78052"
    assert start_reprotect(client, world, "vm-app-03").http_response.status_code == 202


def test_multi_vm_group_members_share_one_master_target(
    client: SiteRecoveryManagementClient, world: World
) -> None:
    for name in ("vm-sql-01", "vm-sql-02"):
        world.add_item(name, multi_vm_group_name="sql-group")
    world.add_plan("sql-rp", friendly_name="SQL", items=["vm-sql-01", "vm-sql-02"])
    plan = some(client.replication_recovery_plans.get(RG, VAULT, "sql-rp").properties)
    assert len(some(some(plan.groups)[2].replication_protected_items)) == 2
    world.fabric()["properties"]["customDetails"]["masterTargetServers"][1]["osType"] = "Windows"
    start_reprotect(client, world, "vm-sql-01")
    with pytest.raises(HttpResponseError) as refused:
        start_reprotect(client, world, "vm-sql-02", master="avs-mt-02", drive="/mnt/retention")
    assert "same master target" in str(refused.value.message)


def test_failed_job_reports_errors_and_restarts(
    client: SiteRecoveryManagementClient, world: World
) -> None:
    world.set_reprotect_failure(
        "vm-app-02", provider_code=31389, provider_message="Scout agent unreachable", at_task=2
    )
    job_name = job_of(start_reprotect(client, world, "vm-app-02"))
    wait_until(lambda: job(client, job_name).state == "Failed")
    failed = job(client, job_name)
    assert failed.allowed_actions == ["Restart"]
    error = some(failed.errors)[0]
    assert isinstance(error, m.JobErrorDetails)
    service = some(error.service_error_details)
    assert service.code == "95226" and "InMage Scout" in some(service.recommended_action)
    assert some(error.provider_error_details).error_code == 31389
    tasks = some(failed.tasks)
    assert [t.state for t in tasks] == ["Succeeded", "Failed", "NotStarted", "NotStarted"]
    assert some(some(tasks[1].errors)[0].service_error_details).code == "95226"
    back = world.item("vm-app-02")["properties"]
    assert (
        back["protectionState"] == "FailedOver" and "ReverseReplicate" in back["allowedOperations"]
    )

    seen: list[Raw] = []
    client.replication_jobs.begin_restart(
        RG, VAULT, job_name, polling=False, raw_response_hook=seen.append
    )
    restarted = job_of(seen[-1])
    assert restarted != job_name and seen[-1].http_response.status_code == 202
    assert job(client, restarted).scenario_name == "RestartJob"
    assert job(client, job_name).allowed_actions == []
    wait_until(lambda: job(client, restarted).state == "Succeeded")
    with pytest.raises(HttpResponseError):
        client.replication_jobs.begin_restart(RG, VAULT, job_name, polling=False)
    world.page_size = 1
    assert [j.name for j in client.replication_jobs.list(RG, VAULT)] == [restarted, job_name]


def test_default_sdk_poller_follows_operation_results(
    client: SiteRecoveryManagementClient, emu: ArmEmulator, world: World
) -> None:
    emu.lro_retry_after = 0  # azure-core then falls back to polling_interval
    poller = client.replication_protected_items.begin_reprotect(
        RG,
        VAULT,
        FABRIC,
        container_name(world),
        "vm-app-03",
        reprotect_input(world),
        polling_interval=0.05,
    )
    result = poller.result(timeout=5)
    assert isinstance(result, m.ReplicationProtectedItem)
    details = some(result.properties).provider_specific_details
    assert isinstance(details, m.InMageReplicationDetails)
    assert any("/operationresults/" in r.path for r in emu.requests)


def test_requests_need_a_managed_identity_token(
    emu: ArmEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = vault_url(emu, "replicationFabrics", API)
    anonymous = requests.get(url, verify=emu.ca_path, timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "AuthenticationFailed"
    forged = requests.get(url, verify=emu.ca_path, timeout=5, headers={"Authorization": "Bearer x"})
    assert forged.json()["error"]["code"] == "InvalidAuthenticationToken"
    bogus = SiteRecoveryManagementClient(
        _StaticCredential(), emu.world.subscription_id, base_url=emu.base_url
    )
    with pytest.raises(ClientAuthenticationError):
        bogus.replication_fabrics.get(RG, VAULT, FABRIC)

    def identity(resource: str, secret: str | None) -> requests.Response:
        headers = {} if secret is None else {"X-IDENTITY-HEADER": secret}
        query = {"api-version": "2019-08-01", "resource": resource}
        return requests.get(emu.identity_endpoint, params=query, headers=headers, timeout=5)

    arm = "https://management.azure.com"
    assert identity(arm, None).status_code == 400
    assert identity(arm, "nope").status_code == 401
    granted = identity(arm, emu.identity_header).json()
    assert granted["token_type"] == "Bearer" and int(granted["expires_on"]) > time.time()
    graph = identity("https://graph.microsoft.com", emu.identity_header).json()["access_token"]
    wrong_audience = requests.get(
        url, verify=emu.ca_path, timeout=5, headers={"Authorization": f"Bearer {graph}"}
    )
    assert wrong_audience.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"

    monkeypatch.setenv("IDENTITY_HEADER", "stolen-or-stale")
    with pytest.raises(ClientAuthenticationError):
        ManagedIdentityCredential().get_token(ARM_SCOPE)


def test_arm_routing_errors(emu: ArmEmulator) -> None:
    auth = {"Authorization": f"Bearer {DefaultAzureCredential().get_token(ARM_SCOPE).token}"}

    def get(url: str) -> requests.Response:
        return requests.get(url, verify=emu.ca_path, headers=auth, timeout=5)

    no_version = get(vault_url(emu, "replicationFabrics"))
    assert no_version.status_code == 400
    assert no_version.json()["error"]["code"] == "MissingApiVersionParameter"
    for suffix in ("replicationFabrics/nope", "replicationWidgets", "replicationJobs/None"):
        answer = get(vault_url(emu, suffix, API))
        assert answer.status_code == 404 and set(answer.json()["error"]) >= {"code", "message"}
    other_vault = vault_url(emu, "replicationFabrics", API).replace("vault-avs", "vault-x")
    assert get(other_vault).json()["error"]["code"] == "ResourceNotFound"
    mixed_case = vault_url(emu, "REPLICATIONFABRICS/CS-FABRIC-01", API)
    assert get(mixed_case.replace("/Subscriptions/", "/subscriptions/")).json()["name"] == FABRIC


def test_throttling_is_retried_and_latency_applies(
    client: SiteRecoveryManagementClient, emu: ArmEmulator
) -> None:
    emu.fail_next("GET", r"/replicationFabrics/cs-fabric-01$", 429, headers={"Retry-After": "1"})
    started = time.monotonic()
    assert client.replication_fabrics.get(RG, VAULT, FABRIC).name == FABRIC
    assert time.monotonic() - started >= 0.9
    assert len([r for r in emu.requests if r.path.endswith("/cs-fabric-01")]) == 2

    emu.latency_s = 0.05
    started = time.monotonic()
    client.replication_policies.get(RG, VAULT, "vmware-azure-policy")
    assert time.monotonic() - started >= 0.05
    assert all(r.headers.get("Authorization", "").startswith("Bearer ") for r in emu.requests)


# -- issue 6: the paths, states and faults the tracker relies on -------------------------------


def gateway(emu: ArmEmulator) -> AzureSiteRecovery:
    return AzureSiteRecovery(subscription_id=emu.world.subscription_id, resource_group=RG,
                             vault=VAULT, arm_endpoint=emu.base_url)


def item_id(world: World, name: str) -> str:
    return str(world.item(name)["id"])


def test_every_field_the_bot_reads_deserializes_through_the_gateway(
    emu: ArmEmulator, world: World
) -> None:
    world.set_reprotect_failure("vm-app-02", provider_code=31389, provider_message="Scout down")
    asr = gateway(emu)
    try:
        plan = next(p for p in asr.list_plans() if p.name == "finance-rp")
        context = asr.plan_context(plan)
        server, policy = some(context.config_server), some(context.failback_policy)
        assert context.vault_extended_info
        inputs = ReprotectInput(
            master_target_id=server.master_targets[0].id,
            process_server_id=server.process_servers[0].id, retention_drive="R:",
            datastore_name="vsan-avs-01", profile_id=policy.id, run_as_account_id="2")
        accepted = asr.submit("reprotect", item_id(world, "vm-app-02"), inputs)
        assert accepted.job_id in world.jobs and accepted.retry_after_s == 1.0
        wait_until(lambda: asr.get_job(str(accepted.job_id)).state == "Failed")
        failed = asr.get_job(str(accepted.job_id))
        assert (failed.tasks[0].name, failed.tasks[0].state) == ("Prerequisites check", "Failed")
        assert failed.allowed_actions == ("Restart",)
        error = failed.errors[0]
        assert (error.code, error.provider_code, error.provider_message) == (
            "95226", "31389", "Scout down")
        assert error.possible_causes and error.recommended_action and error.message
        assert failed.start_time is not None and failed.target_object_id == "vm-app-02"
        listed = {j.id: j for j in asr.list_jobs(failed.start_time)}
        assert listed[failed.id].state == "Failed" and listed[failed.id].tasks == ()
        restarted = asr.restart_job(failed.id)
        assert restarted.job_id and restarted.job_id != failed.id
        assert asr.get_job(restarted.job_id).scenario_name == "RestartJob"
        item = asr.get_item(item_id(world, "vm-app-02"))
        assert not item.current_scenario.idle and item.current_scenario.job_id
        wait_until(lambda: asr.get_item(item_id(world, "vm-app-02")).protected)
        listed_items = asr.plan_items(plan)
        assert [i.name for i in listed_items] == ["vm-app-01", "vm-app-02", "vm-app-03"]
    finally:
        asr.close()
    writes = [r for r in emu.requests if r.method == "POST"]
    assert all(AGENT_AUTH_HEADER in r.headers and CLIENT_REQUEST_ID_HEADER.lower()
               in {k.lower() for k in r.headers} for r in writes)


def test_extended_info_and_agent_authentication(
    client: SiteRecoveryManagementClient, emu: ArmEmulator, world: World
) -> None:
    url = f"{world.vault_id}/extendedInformation/vaultExtendedInfo"
    info = client.send_request(HttpRequest("GET", url, params={"api-version": "2023-04-01"}))
    assert info.status_code == 200 and info.json()["properties"]["integrityKey"]
    key = info.json()["properties"]["integrityKey"]

    def signed(with_key: str) -> dict[str, str]:
        return signed_headers(with_key, datetime.now(UTC))

    ok: list[Raw] = []
    client.replication_protected_items.begin_reprotect(
        RG, VAULT, FABRIC, container_name(world), "vm-app-01", reprotect_input(world),
        polling=False, raw_response_hook=ok.append, headers=signed(key))
    assert ok[-1].http_response.status_code == 202
    with pytest.raises(HttpResponseError) as refused:
        client.replication_protected_items.begin_reprotect(
            RG, VAULT, FABRIC, container_name(world), "vm-app-02", reprotect_input(world),
            polling=False, headers=signed("not-the-vault-key"))
    assert some(refused.value.error).code == "AgentAuthenticationFailed"
    assert [name for name, _ in world.reprotect_posts] == ["vm-app-01"]

    world.integrity_key = None
    missing = client.send_request(HttpRequest("GET", url, params={"api-version": "2023-04-01"}))
    assert missing.status_code == 404


def test_cancel_suspend_resume_and_job_list_pages(
    client: SiteRecoveryManagementClient, world: World
) -> None:
    first = job_of(start_reprotect(client, world, "vm-app-01"))
    second = job_of(start_reprotect(client, world, "vm-app-02"))
    world.halt_job(first, "Suspended")
    suspended = job(client, first)
    assert suspended.state == "Suspended" and suspended.allowed_actions == ["Cancel", "Resume"]
    assert "Suspended" in [t.state for t in some(suspended.tasks)]
    client.replication_jobs.begin_resume(
        RG, VAULT, first, m.ResumeJobParams(properties=m.ResumeJobParamsProperties(
            comments="done")), polling=False)
    assert job(client, first).state == "InProgress"
    client.replication_jobs.begin_cancel(RG, VAULT, second, polling=False)
    cancelled = job(client, second)
    assert cancelled.state == "Cancelled" and cancelled.end_time is not None
    wait_until(lambda: job(client, first).state == "Succeeded")
    back = world.item("vm-app-02")["properties"]
    assert "ReverseReplicate" in back["allowedOperations"]
    world.page_size = 1
    assert [j.name for j in client.replication_jobs.list(RG, VAULT)] == [second, first]


def test_agent_not_registered_refuses_the_post_or_fails_the_job(
    client: SiteRecoveryManagementClient, world: World
) -> None:
    world.set_agent_unregistered("vm-app-01", 60, as_job=False)
    world.set_agent_unregistered("vm-app-02", 60, as_job=True)
    with pytest.raises(HttpResponseError) as refused:
        start_reprotect(client, world, "vm-app-01")
    assert "agent isn't installed" in str(refused.value.message)
    failing = job_of(start_reprotect(client, world, "vm-app-02"))
    wait_until(lambda: job(client, failing).state == "Failed")
    error = some(some(job(client, failing).errors)[0].service_error_details)
    assert "agent isn't installed" in some(error.message)


def test_held_item_reports_health_errors(
    client: SiteRecoveryManagementClient, world: World
) -> None:
    world.hold_protection("vm-app-03", [{"errorCode": "78122", "errorMessage": "Stuck.",
                                          "recommendedAction": "Check the process server."}])
    name = job_of(start_reprotect(client, world, "vm-app-03"))
    wait_until(lambda: job(client, name).state == "Succeeded")
    time.sleep(0.5)
    props = item(client, world, "vm-app-03")
    assert props.protection_state == "InitialReplicationInProgress"
    assert props.replication_health == "Critical"
    error = some(props.health_errors)[0]
    assert (error.error_code, error.recommended_action) == ("78122", "Check the process server.")
    world.release_protection("vm-app-03")
    wait_until(lambda: item(client, world, "vm-app-03").protection_state == "Protected")


def test_token_bucket_throttles_with_retry_after_and_processed_faults(
    client: SiteRecoveryManagementClient, emu: ArmEmulator, world: World
) -> None:
    emu.set_throttle(read=(3, 1.0))
    started = time.monotonic()
    for _ in range(5):
        client.replication_fabrics.get(RG, VAULT, FABRIC)
    assert emu.throttled >= 1 and time.monotonic() - started >= 0.9
    emu.set_throttle(read=(250, 25.0))
    seen: list[Raw] = []
    client.replication_fabrics.get(RG, VAULT, FABRIC, raw_response_hook=seen.append)
    assert "x-ms-ratelimit-remaining-subscription-reads" in seen[-1].http_response.headers

    emu.fail_next("POST", r"/vm-app-01/reProtect$", 500, processed=True)
    with pytest.raises(HttpResponseError):
        client.replication_protected_items.begin_reprotect(
            RG, VAULT, FABRIC, container_name(world), "vm-app-01", reprotect_input(world),
            polling=False, retry_total=0)
    assert [name for name, _ in world.reprotect_posts] == ["vm-app-01"]
    assert world.item("vm-app-01")["properties"]["currentScenario"]["scenarioName"] != "None"


def test_reprotect_refuses_an_unknown_run_as_account(
    client: SiteRecoveryManagementClient, world: World
) -> None:
    body = reprotect_input(world)
    body.properties.provider_specific_details.run_as_account_id = "9"  # type: ignore[union-attr]
    with pytest.raises(HttpResponseError) as refused:
        client.replication_protected_items.begin_reprotect(
            RG, VAULT, FABRIC, container_name(world), "vm-app-01", body, polling=False)
    assert "Run-as account '9'" in str(refused.value.message)
