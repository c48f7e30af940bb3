"""The emulator's modernized payloads use only wire names the SDK's models declare.

A misspelt field (`targetVCenterId` for `targetvCenterId`) would deserialize silently into
nothing and let the bot's reads pass against the emulator while reading None from Azure.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import pytest
from azure.mgmt.recoveryservicessiterecovery import models as m
from azure.mgmt.recoveryservicessiterecovery._utils.model_base import Model

from sandbox.arm_modernized import ModernizedWorld, storage_account_id


def undeclared(model: Model, path: str = "") -> list[str]:
    """Keys of the wire JSON that the model (and its nested models) does not declare."""
    declared = {f._rest_name: attr for attr, f in type(model)._attr_to_rest_field.items()}
    found = []
    for key in list(model.keys()):
        if key not in declared:
            found.append(path + key)
            continue
        value = getattr(model, declared[key])
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, Model):
                found += undeclared(child, f"{path}{key}.")
    return found


def reprotected(world: ModernizedWorld, name: str) -> str:
    """Reprotect an item and let its job and initial replication finish; the job's name."""
    agent = world.reprotect_agent("avs-appliance-01")
    details = {"instanceType": "InMageRcm", "reprotectAgentId": agent["id"],
               "datastoreName": "vsan-avs-01",
               "logStorageAccountId": storage_account_id(world.subscription_id, "rcmlogweu01")}
    job = world.reprotect(world.item(name), {"properties": {
        "failoverDirection": "RecoveryToPrimary", "providerSpecificDetails": details}})
    time.sleep(0.2)
    world.settle()
    return job.name


@pytest.fixture(scope="module")
def world() -> ModernizedWorld:
    return ModernizedWorld.modernized_sample(2, task_seconds=0.01, protect_delay_seconds=0.01)


RESOURCES: list[tuple[str, Callable[[dict[str, Any]], Model]]] = [
    ("replicationFabrics", m.Fabric),
    ("replicationProtectionContainers", m.ProtectionContainer),
    ("replicationProtectionContainerMappings", m.ProtectionContainerMapping),
    ("replicationPolicies", m.Policy),
    ("replicationProtectedItems", m.ReplicationProtectedItem),
    ("replicationRecoveryPlans", m.RecoveryPlan),
]


@pytest.mark.parametrize(("collection", "model"), RESOURCES)
def test_every_field_is_declared_by_the_sdk(
    world: ModernizedWorld, collection: str, model: Callable[[dict[str, Any]], Model]
) -> None:
    resources = world.of_type(collection)
    assert resources
    for resource in resources:
        assert undeclared(model(copy.deepcopy(resource))) == [], resource["name"]


def test_reprotected_item_and_its_job_are_declared_too(world: ModernizedWorld) -> None:
    job = reprotected(world, "vm-web-02")
    item = world.item("vm-web-02")
    assert item["properties"]["protectionState"] == "Protected"
    assert item["properties"]["providerSpecificDetails"]["instanceType"] == "InMageRcmFailback"
    assert undeclared(m.ReplicationProtectedItem(copy.deepcopy(item))) == []
    assert undeclared(m.Job(world.job_json(job))) == []
