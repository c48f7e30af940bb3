"""Modernized (InMageRcm) SDK objects become the project's dataclasses, whatever they hold.

Payloads are the emulator's wire JSON, deserialized by the real SDK models as a response
would be, then altered the way a newer service or an older appliance could send them.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.mgmt.recoveryservicessiterecovery import models as m

from gateways.rcm_models import Architecture, RcmReprotectInput, detect_architecture
from gateways.site_recovery_rcm import (
    rcm_fabric,
    rcm_failback_policy,
    rcm_item,
    reprotect_body,
)
from sandbox.arm_modernized import RCM_FABRIC, ModernizedWorld

Json = dict[str, Any]


@pytest.fixture(scope="module")
def world() -> ModernizedWorld:
    return ModernizedWorld.modernized_sample(3)


def fabric_json(world: ModernizedWorld) -> Json:
    return copy.deepcopy(world.rcm_fabric())


def item_json(world: ModernizedWorld, name: str = "vm-web-01") -> Json:
    return copy.deepcopy(world.item(name))


def test_appliance_carries_health_heartbeat_components_and_datastores(
    world: ModernizedWorld,
) -> None:
    fabric = rcm_fabric([m.Fabric(fabric_json(world))])
    assert fabric is not None and fabric.fabric_name == RCM_FABRIC
    first = fabric.appliance("AVS-Appliance-01")
    assert first is not None and fabric.appliance("nope") is None
    raw = world.reprotect_agent("avs-appliance-01")
    assert first.id == raw["id"] and first.health == "Normal"
    assert first.last_heartbeat is not None and first.last_heartbeat.tzinfo is not None
    assert first.accessible_datastores == ("vsan-avs-01", "vmfs-avs-02", "nfs-avs-03")
    assert first.can_reach("vmfs-avs-02") and not first.can_reach("vmfs-avs-04")
    assert first.vcenter_id == raw["vcenterId"] and first.protected_item_count == 0
    kinds = [c.kind for c in first.components]
    assert kinds == ["processServers", "rcmProxies", "pushInstallers", "replicationAgents",
                     "marsAgents"]
    assert all(c.name == "avs-appliance-01" and c.health == "Normal" for c in first.components)
    assert dict(first.components[0].statuses)["systemLoadStatus"] == "Healthy"
    assert [a.name for a in fabric.appliances] == ["avs-appliance-01", "avs-appliance-02"]


def test_classic_only_vault_has_no_rcm_fabric() -> None:
    classic = ModernizedWorld.sample(1)
    assert rcm_fabric([m.Fabric(f) for f in classic.of_type("replicationFabrics")]) is None


def test_failed_over_item_gives_what_the_preflight_reads(world: ModernizedWorld) -> None:
    converted = rcm_item(m.ReplicationProtectedItem(item_json(world)))
    assert converted.provider == "InMageRcm" and converted.item.name == "vm-web-01"
    assert converted.item.active_location == "Recovery"
    assert converted.item.protection_state == "FailedOver" and not converted.protected
    assert converted.item.allowed_operations == ("ReverseReplicate", "DisableProtection")
    assert converted.agent_registered is True and converted.vm_deleted is False
    assert converted.discovered_datastores == ("vsan-avs-01",)
    assert converted.disk_count == 2
    (account,) = converted.log_storage_account_ids
    assert account.endswith("/Microsoft.Storage/storageAccounts/rcmlogweu01")
    assert converted.failback_progress_percent is None


def test_reprotected_item_reports_failback_progress(world: ModernizedWorld) -> None:
    raw = item_json(world)
    previous = raw["properties"]["providerSpecificDetails"]
    raw["properties"]["protectionState"] = "InitialReplicationInProgress"
    raw["properties"]["providerSpecificDetails"] = {
        "instanceType": "InMageRcmFailback",
        "reprotectAgentId": "agent-1",
        "targetDataStoreName": "vsan-avs-01",
        "initialReplicationProgressPercentage": 42,
        "isAgentRegistrationSuccessfulAfterFailover": True,
        "protectedDisks": [{"diskId": d["diskId"]} for d in previous["protectedDisks"]],
        "discoveredVmDetails": previous["discoveredVmDetails"],
    }
    converted = rcm_item(m.ReplicationProtectedItem(raw))
    assert converted.provider == "InMageRcmFailback"
    assert converted.failback_progress_percent == 42
    assert (converted.reprotect_agent_id, converted.target_datastore) == ("agent-1", "vsan-avs-01")
    assert converted.disk_count == 2 and converted.log_storage_account_ids == ()


def test_unseen_values_and_missing_optional_fields_do_not_crash(world: ModernizedWorld) -> None:
    fabric = fabric_json(world)
    details = fabric["properties"]["customDetails"]
    details["reprotectAgents"] = [
        {"id": "bare", "name": "bare-appliance"},
        {"id": "odd", "name": "odd-appliance", "health": "Degraded",
         "lastHeartbeatUtc": "2026-11-28T10:00:00", "accessibleDatastores": None,
         "protectedItemCount": "7", "healthErrors": [{"errorCode": "E1"}]},
        {"id": "garbled", "name": "garbled", "lastHeartbeatUtc": "yesterday"},
    ]
    for kind in ("rcmProxies", "pushInstallers", "marsAgents"):
        details.pop(kind)
    details["processServers"] = [{"name": "odd-appliance", "throughputStatus": "Throttled"}]
    converted = rcm_fabric([m.Fabric(fabric)])
    assert converted is not None
    bare, odd, garbled = converted.appliances
    assert (bare.health, bare.last_heartbeat, bare.accessible_datastores) == ("None", None, ())
    assert bare.vcenter_id is None and bare.components == ()
    assert odd.health == "Degraded" and odd.protected_item_count == 7
    assert odd.last_heartbeat == datetime(2026, 11, 28, 10, tzinfo=UTC)
    assert odd.health_errors[0].code == "E1" and odd.accessible_datastores == ()
    assert odd.components[0].statuses == (("throughputStatus", "Throttled"),)
    assert garbled.last_heartbeat is None

    raw = item_json(world)
    props = raw["properties"]
    props["providerSpecificDetails"] = {
        "instanceType": "InMageRcmNextGen",
        "isAgentRegistrationSuccessfulAfterFailover": "True",
        "protectedDisks": [{"diskId": "d0"}, None, {"logStorageAccountId": "acct"}],
        "discoveredVmDetails": {"datastores": "vsan-avs-01"},
    }
    for optional in ("allowedOperations", "activeLocation", "currentScenario"):
        props.pop(optional)
    unseen = rcm_item(m.ReplicationProtectedItem(raw))
    assert unseen.provider == "InMageRcmNextGen" and unseen.agent_registered is True
    assert unseen.disk_count == 2 and unseen.log_storage_account_ids == ("acct",)
    assert unseen.discovered_datastores == () and unseen.vm_deleted is None
    assert unseen.item.allowed_operations == () and unseen.item.active_location is None

    props["providerSpecificDetails"] = {"instanceType": "InMageRcm",
                                        "isAgentRegistrationSuccessfulAfterFailover": "maybe"}
    sparse = rcm_item(m.ReplicationProtectedItem(raw))
    assert sparse.agent_registered is None and sparse.disk_count == 0
    assert sparse.discovered_datastores == () and sparse.vcenter_id is None


def test_failback_policy_is_the_one_mapped_from_the_fabric(world: ModernizedWorld) -> None:
    policies = [m.Policy(p) for p in world.of_type("replicationPolicies")]
    mappings = [m.ProtectionContainerMapping(x)
                for x in world.of_type("replicationProtectionContainerMappings")]
    policy = rcm_failback_policy(policies, mappings, RCM_FABRIC)
    assert policy is not None and policy.name == "rcm-policy-failback"
    assert policy.mapping_name == "rcm-failback-containerpairing"
    assert (policy.app_consistent_minutes, policy.crash_consistent_minutes) == (240, 5)
    assert policy.mapping_state == "Paired"
    assert rcm_failback_policy(policies, mappings, "other-fabric") is None
    forward_only = [x for x in mappings if "failback" not in (x.name or "")]
    assert rcm_failback_policy(policies, forward_only, RCM_FABRIC) is None


def test_reprotect_body_uses_the_documented_wire_names() -> None:
    body = reprotect_body(RcmReprotectInput("agent", "vsan-avs-01", "/acct", "/policy"))
    assert body.as_dict() == {"properties": {
        "failoverDirection": "RecoveryToPrimary",
        "providerSpecificDetails": {"instanceType": "InMageRcm", "reprotectAgentId": "agent",
                                    "datastoreName": "vsan-avs-01",
                                    "logStorageAccountId": "/acct", "policyId": "/policy"}}}
    without_policy = reprotect_body(RcmReprotectInput("agent", "ds", "/acct")).as_dict()
    assert "policyId" not in without_policy["properties"]["providerSpecificDetails"]


@pytest.mark.parametrize(
    ("providers", "expected"),
    [
        (["InMageAzureV2", "InMageAzureV2"], Architecture.CLASSIC),
        (["InMageAzureV2", "InMage"], Architecture.CLASSIC),
        (["InMageRcm", "inmagercmfailback"], Architecture.MODERNIZED),
        (["InMageRcm", "InMageAzureV2"], Architecture.MIXED),
        (["InMageRcm", "A2A"], Architecture.UNKNOWN),
        ([], Architecture.UNKNOWN),
    ],
)
def test_architecture_comes_from_the_items_providers(
    providers: list[str], expected: Architecture
) -> None:
    assert detect_architecture(providers) is expected
