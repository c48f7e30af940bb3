"""The gateway's failback reads on payloads the emulator does not produce: every field by
wire name, unknown providers and values kept raw, missing ones None, never an exception."""

from __future__ import annotations

import datetime as dt
from typing import Any

from azure.mgmt.recoveryservicessiterecovery import models as m

from gateways.site_recovery_failback import (
    classic_plan_failback_body,
    failback_item,
    forward_targets,
    modernized_item_failback_body,
    plan_state,
)
from gateways.site_recovery_failback_models import ClassicPoint, ModernizedPoint

ITEM_ID = ("/Subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v"
           "/replicationFabrics/f/replicationProtectionContainers/c/replicationProtectedItems/vm1")


def item(details: dict[str, Any], **properties: Any) -> m.ReplicationProtectedItem:
    return m.ReplicationProtectedItem({"id": ITEM_ID, "name": "vm1", "properties": {
        "friendlyName": "vm1", "providerSpecificDetails": details, **properties}})


def test_a_modernized_items_point_is_its_least_recently_synced_disk() -> None:
    read = failback_item(item({
        "instanceType": "InMageRcmFailback", "lastPlannedFailoverStatus": "Failed",
        "lastPlannedFailoverStartTime": "2026-12-05T01:00:00",
        "discoveredVmDetails": {"powerStatus": "PoweredOff"},
        "protectedDisks": [{"diskId": "a", "lastSyncTime": "2026-12-05T02:00:00Z"},
                           {"diskId": "b", "lastSyncTime": "2026-12-05T01:58:00Z"},
                           {"diskId": "c"}]},
        allowedOperations=["PlannedFailover", "SomethingNew"]))
    assert read.latest_recovery_point == dt.datetime(2026, 12, 5, 1, 58, tzinfo=dt.UTC)
    assert read.recovery_point_age(dt.datetime(2026, 12, 5, 2, 0, tzinfo=dt.UTC)) == \
        dt.timedelta(minutes=2)
    assert read.last_planned_failover_start == dt.datetime(2026, 12, 5, 1, tzinfo=dt.UTC)
    assert (read.last_planned_failover_status, read.power_status) == ("Failed", "PoweredOff")
    assert read.allowed_operations == ("PlannedFailover", "SomethingNew")
    assert read.allows("PlannedFailover") and not read.allows("plannedfailover")


def test_a_classic_item_reports_its_retention_window_end_and_tags() -> None:
    read = failback_item(item({
        "instanceType": "InMage", "activeSiteType": "OnPrem",
        "retentionWindowEnd": "2026-12-05T02:00:00Z",
        "consistencyPoints": {"FileSystem": "2026-12-05T01:30:00Z",
                              "Application": "2026-12-05T01:45:00Z"}}))
    assert read.active_site_type == "OnPrem"
    assert read.latest_recovery_point == dt.datetime(2026, 12, 5, 2, tzinfo=dt.UTC)
    assert read.latest_tagged_point == dt.datetime(2026, 12, 5, 1, 45, tzinfo=dt.UTC)


def test_an_unknown_provider_and_missing_fields_read_as_unknown() -> None:
    read = failback_item(item({"instanceType": "FutureProvider", "retentionWindowEnd": "soon",
                               "consistencyPoints": "not a map"}))
    assert read.item.provider == "FutureProvider"
    assert (read.latest_recovery_point, read.latest_tagged_point, read.active_site_type,
            read.power_status, read.last_planned_failover_status) == (None,) * 5
    assert read.allowed_operations == () and read.current_scenario.idle


def test_a_plan_without_scenario_or_operations_reads_as_empty() -> None:
    state = plan_state(m.RecoveryPlan({"id": "/p/rp", "name": "rp", "properties": {}}))
    assert (state.allowed_operations, state.current_scenario, state.replication_providers) == (
        (), None, ())
    assert not state.allows("Commit")


def test_forward_targets_without_a_forward_mapping_are_unknown() -> None:
    targets = forward_targets([], [], [], ())
    assert (targets.policy, targets.mapping_name, targets.process_servers) == (None, None, ())


def test_bodies_carry_the_wire_names_powershell_sends() -> None:
    assert classic_plan_failback_body(ClassicPoint.LATEST_TAG).as_dict() == {"properties": {
        "failoverDirection": "RecoveryToPrimary", "sourceSiteOperations": "NotRequired",
        "providerSpecificDetails": [{"instanceType": "InMage", "recoveryPointType": "LatestTag"}]}}
    assert modernized_item_failback_body(ModernizedPoint.CRASH_CONSISTENT).as_dict() == {
        "properties": {"providerSpecificDetails": {
            "instanceType": "InMageRcmFailback", "recoveryPointType": "CrashConsistent"}}}
