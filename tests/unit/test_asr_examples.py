"""Microsoft's example payloads through the SDK's models, the gateway's conversion and the
preflight: what the real service documents never crashes the bot, and blocks only on the
checks that name their source.

The examples (tests/support/asr_examples) are Microsoft's own, nearly all Hyper-V-to-Azure;
the gateway's private converters are exercised directly because they are what turns an SDK
model into the domain's view.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from azure.mgmt.recoveryservicessiterecovery import models as m

from bot.views import checks as said
from core.plan import Verdict
from gateways.site_recovery_convert import (
    _config_server,
    _failback_policy,
    _item,
    _job,
    _plan,
    _vcenter,
)
from gateways.site_recovery_failback import failback_item, plan_state
from providers.classic.preflight import BLOCK_SOURCES, run_checks
from tests.support.preflight import FRESH, INFRA, facts

EXAMPLES = Path(__file__).parents[1] / "support" / "asr_examples"
Convert = Callable[[Any], object]

# operationId prefix → (SDK model, the gateway's conversion; None: the bot does not read it)
MODELS: dict[str, tuple[type[Any], Convert | None]] = {
    "ReplicationFabrics": (m.Fabric, lambda f: _config_server([f], ())),
    "ReplicationJobs": (m.Job, _job),
    "ReplicationPolicies": (m.Policy, lambda p: _failback_policy([p], [], None)),
    "ReplicationProtectedItems": (m.ReplicationProtectedItem, _item),
    "ReplicationProtectionContainerMappings": (
        m.ProtectionContainerMapping, lambda mp: _failback_policy([], [mp], None)),
    "ReplicationRecoveryPlans": (m.RecoveryPlan, _plan),
    "ReplicationvCenters": (m.VCenter, _vcenter),
    "ReplicationProtectionContainers": (m.ProtectionContainer, None),
    "ReplicationRecoveryServicesProviders": (m.RecoveryServicesProvider, None),
    "ReplicationEvents": (m.Event, None),
}


def example_bodies(path: Path) -> Iterator[dict[str, Any]]:
    """Every resource of every answer in one example file (list answers hold `value`)."""
    for answer in json.loads(path.read_text())["responses"].values():
        body = answer.get("body")
        if isinstance(body, dict):
            yield from body.get("value", [body])


def converted(path: Path) -> list[tuple[Any, object]]:
    model, convert = MODELS[json.loads(path.read_text())["operationId"].split("_")[0]]
    return [(sdk, convert(sdk) if convert else sdk)
            for sdk in (model(body) for body in example_bodies(path))]


def datetimes(value: object) -> Iterator[datetime]:
    if isinstance(value, datetime):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from datetimes(getattr(value, f.name))
    elif isinstance(value, tuple):
        for element in value:
            yield from datetimes(element)


FILES = sorted(EXAMPLES.glob("*.json"))


def test_every_example_of_the_folder_is_covered() -> None:
    assert len(FILES) == 33


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_example_converts_and_its_timestamps_are_utc(path: Path) -> None:
    results = converted(path)
    assert results
    for _, domain in results:
        assert all(moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0
                   for moment in datetimes(domain))


def test_example_items_block_only_on_sourced_checks() -> None:
    items = [domain for path in FILES if path.stem.startswith("ReplicationProtectedItems")
             for _, domain in converted(path)]
    assert items
    for example in items:
        results = run_checks(facts(items=(example,)))
        blockers = {r.check for r in results if r.verdict is Verdict.BLOCK}
        assert blockers <= set(BLOCK_SOURCES)
        # a Hyper-V item active on-premises: what Azure PowerShell's -AzureToVMware refuses
        assert "azure-to-vmware" in blockers


@pytest.mark.parametrize("name", ["ReplicationvCenters_Get", "ReplicationvCenters_List",
                                  "ReplicationvCenters_ListByReplicationFabrics"])
def test_example_vcenter_in_a_healthy_vault_warns_and_never_blocks(name: str) -> None:
    for _, vcenter in converted(EXAMPLES / f"{name}.json"):
        assert isinstance(vcenter, type(facts().vcenters[0]))
        ours = dataclasses.replace(vcenter, infrastructure_id=INFRA, last_heartbeat=FRESH)
        results = run_checks(facts(vcenters=(ours,)))
        assert [r for r in results if r.verdict is Verdict.BLOCK] == []
        (warning,) = [r for r in results if r.check == "vcenter-connected"
                      and r.verdict is Verdict.WARN]
        assert f"`{vcenter.discovery_status}`" in said.message(warning)  # `Pending`, as given


def test_a_timestamp_without_a_zone_is_read_as_utc() -> None:
    job = _job(m.Job({"name": "j", "properties": {"startTime": "2026-11-26T02:59:00"}}))
    ps = m.ProcessServer({"friendlyName": "ps", "lastHeartbeat": "2026-11-26T02:59:00.0000000"})
    fabric = m.Fabric({"name": "cs", "id": "/f/cs", "properties": {"customDetails": {
        "instanceType": "VMware", "hostName": "cs01", "lastHeartbeat": "2026-11-26T02:59:00",
        "processServers": [ps.as_dict()]}}})
    cs = _config_server([fabric], ())
    assert cs is not None and job.start_time is not None
    for moment in (job.start_time, cs.last_heartbeat, cs.process_servers[0].last_heartbeat):
        assert moment == FRESH  # 02:59 UTC, one minute before the tests' now


def test_process_server_health_reads_as_site_recovery_sent_it() -> None:
    """The SDK's enum would show as `ProtectionHealth.NORMAL` in the chosen server's reason."""
    fabric = m.Fabric({"name": "cs", "id": "/f/cs", "properties": {"customDetails": {
        "instanceType": "VMware", "processServers": [{"friendlyName": "ps", "health": "Normal"}]}}})
    cs = _config_server([fabric], ())
    assert cs is not None and f"{cs.process_servers[0].health}" == "Normal"


def example(name: str) -> Any:
    """The one resource of a failback example, as the SDK reads it."""
    path = EXAMPLES / f"{name}.json"
    model = MODELS[name.split("_")[0]][0]
    (body,) = example_bodies(path)
    return model(body)


@pytest.mark.parametrize(("name", "allowed", "scenario", "providers"), [
    ("ReplicationRecoveryPlans_PlannedFailover",
     ("PlannedFailover", "UnplannedFailover", "TestFailover", "Commit"), "PlannedFailover",
     ("HyperVReplicaAzure",)),
    ("ReplicationRecoveryPlans_FailoverCommit",
     ("PlannedFailover", "UnplannedFailover", "TestFailover"), "CommitFailover",
     ("HyperVReplicaAzure",)),
    ("ReplicationRecoveryPlans_FailoverCancel", ("PlannedFailover",), "CancelFailover",
     ("InMageRcmFailback",)),
])
def test_a_plans_journey_signals_read_as_microsoft_shows_them(
    name: str, allowed: tuple[str, ...], scenario: str, providers: tuple[str, ...]
) -> None:
    state = plan_state(example(name))
    assert state.allowed_operations == allowed
    assert state.allows("Commit") is ("Commit" in allowed)
    assert state.current_scenario is not None and state.current_scenario.name == scenario
    assert state.current_scenario_status == "Succeeded"
    assert state.replication_providers == providers
    assert state.last_planned_failover_time is not None
    assert state.last_planned_failover_time.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(("name", "allowed", "active", "provider"), [
    ("ReplicationProtectedItems_PlannedFailover",
     ("CompleteMigration", "Commit", "DisableProtection", "ChangePit"), "Recovery",
     "HyperVReplicaAzure"),
    ("ReplicationProtectedItems_UnplannedFailover",
     ("CompleteMigration", "Commit", "DisableProtection", "ChangePit"), "Recovery",
     "HyperVReplicaAzure"),
    ("ReplicationProtectedItems_FailoverCommit",
     ("CompleteMigration", "DisableProtection", "Failback"), "Recovery", "HyperVReplicaAzure"),
    ("ReplicationProtectedItems_FailoverCancel", ("PlannedFailover", "DisableProtection"),
     "Primary", "InMageRcmFailback"),
])
def test_an_items_journey_signals_read_as_microsoft_shows_them(
    name: str, allowed: tuple[str, ...], active: str, provider: str
) -> None:
    item = failback_item(example(name))
    assert item.allowed_operations == allowed and item.active_location == active
    assert item.item.provider == provider and item.current_scenario.idle
    assert item.failover_recovery_point_id is not None
    assert "/recoveryPoints/" in item.failover_recovery_point_id
    # None of these examples reports a recovery point time, a site type or a power state:
    # unknown, never invented.
    assert (item.latest_recovery_point, item.active_site_type, item.power_status,
            item.last_planned_failover_status) == (None, None, None, None)
    assert item.recovery_point_age(dt.datetime.now(dt.UTC)) is None
