"""The failback journey's reads and request bodies (wire names are the
SDK's, sources in the README): fail back, commit or cancel, reprotect AVS → Azure.

Conversions read by wire name through the SDK models' mapping interface (as
`site_recovery_rcm` does), so an unknown provider or value still converts. Bodies are the
ones Azure PowerShell sends: classic failback is an unplanned failover `RecoveryToPrimary`
with an `InMage` input; modernized failback a planned failover with `InMageRcmFailback`
(plans add `useMultiVmSyncPoint "True"`); commit and cancel have no body; reprotect to Azure
is `InMageAzureV2` (`RecoveryToPrimary`) or `InMageRcmFailback` (`PrimaryToRecovery`).
`FailbackWrites` sends them through the gateway's one write path (`AzureSiteRecovery._write`:
once, signed, retries off, write timeouts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient
from azure.mgmt.recoveryservicessiterecovery import models as m

from gateways.site_recovery_convert import (
    _config_server,
    _item,
    _item_path,
    _plan,
    reprotect_body,
)
from gateways.site_recovery_failback_models import (
    AzureV2ReprotectInput,
    ClassicPoint,
    FailbackItem,
    ForwardTargets,
    ModernizedPoint,
    PlanState,
    RcmFailbackReprotectInput,
)
from gateways.site_recovery_models import (
    Accepted,
    CurrentScenario,
    FailbackPolicy,
    ProcessServer,
    ProtectedItem,
    same_arm_id,
)
from gateways.site_recovery_rcm import RCM, RCM_FAILBACK, _field, _instance_type, _moment, _text

AZURE_V2 = "InMageAzureV2"
TO_PRIMARY = "RecoveryToPrimary"


# -- reads ------------------------------------------------------------------------------------

def failback_item(raw: m.ReplicationProtectedItem) -> FailbackItem:
    """An item's journey signals, whatever its provider (missing fields are None)."""
    details = _field(raw, "properties", "providerSpecificDetails")
    syncs = [moment for disk in _field(details, "protectedDisks") or ()
             if (moment := _moment(_field(disk, "lastSyncTime"))) is not None]
    tags = _field(details, "consistencyPoints")
    tagged = [moment for value in (tags.values() if hasattr(tags, "values") else ())
              if (moment := _moment(value)) is not None]
    classic_point = _moment(_field(details, "retentionWindowEnd"))
    return FailbackItem(
        item=_item(raw),
        active_site_type=_text(_field(details, "activeSiteType")),
        latest_recovery_point=classic_point or (min(syncs) if syncs else None),
        latest_tagged_point=max(tagged) if tagged else None,
        last_planned_failover_status=_text(_field(details, "lastPlannedFailoverStatus")),
        last_planned_failover_start=_moment(_field(details, "lastPlannedFailoverStartTime")),
        failover_recovery_point_id=_text(_field(raw, "properties", "failoverRecoveryPointId")),
        power_status=_text(_field(details, "discoveredVmDetails", "powerStatus")),
    )


def plan_state(raw: m.RecoveryPlan) -> PlanState:
    """A plan's `allowedOperations`, scenario and providers, raw."""
    scenario = _field(raw, "properties", "currentScenario")
    return PlanState(
        plan=_plan(raw),
        allowed_operations=_strings(_field(raw, "properties", "allowedOperations")),
        current_scenario=CurrentScenario(
            name=_text(_field(scenario, "scenarioName")) or "None",
            job_id=_text(_field(scenario, "jobId"))) if scenario is not None else None,
        current_scenario_status=_text(_field(raw, "properties", "currentScenarioStatus")),
        replication_providers=_strings(_field(raw, "properties", "replicationProviders")),
        last_planned_failover_time=_moment(_field(raw, "properties", "lastPlannedFailoverTime")),
        last_unplanned_failover_time=_moment(
            _field(raw, "properties", "lastUnplannedFailoverTime")),
    )


def forward_targets(fabrics: list[m.Fabric], policies: Iterable[m.Policy],
                    mappings: Iterable[m.ProtectionContainerMapping],
                    items: tuple[ProtectedItem, ...]) -> ForwardTargets:
    """The items' fabric's forward policy and infrastructure for a reprotect to Azure."""
    modernized = any(i.provider in (RCM, RCM_FAILBACK) for i in items)
    forward = RCM if modernized else AZURE_V2
    fabric_names = {i.fabric_name.lower() for i in items}
    policy, mapping = _forward_policy(policies, mappings, forward, fabric_names)
    if not modernized:
        server = _config_server(fabrics, items)
        return ForwardTargets(
            fabric_name=server.fabric_name if server else None, policy=policy,
            mapping_name=mapping,
            process_servers=server.process_servers if server else (),
            master_targets=server.master_targets if server else (),
            run_as_accounts=server.run_as_accounts if server else ())
    fabric = next((f for f in fabrics if (f.name or "").lower() in fabric_names), None)
    details = _field(fabric, "properties", "customDetails")
    return ForwardTargets(
        fabric_name=fabric.name if fabric else None, policy=policy, mapping_name=mapping,
        process_servers=tuple(_appliance_server(s)
                              for s in _field(details, "processServers") or ()))


def _forward_policy(policies: Iterable[m.Policy],
                    mappings: Iterable[m.ProtectionContainerMapping], forward: str,
                    fabric_names: set[str]) -> tuple[FailbackPolicy | None, str | None]:
    """The `forward`-provider policy mapped from one of the fabrics' containers."""
    candidates = [p for p in policies
                  if _instance_type(_field(p, "properties", "providerSpecificDetails")) == forward]
    for mapping in mappings:
        if not any(f"/replicationfabrics/{name}/" in (mapping.id or "").lower()
                   for name in fabric_names):
            continue
        for policy in candidates:
            if same_arm_id(_text(_field(mapping, "properties", "policyId")), policy.id):
                return FailbackPolicy(id=policy.id or "", name=policy.name or ""), mapping.name
    return None, None


def _appliance_server(entry: Any) -> ProcessServer:
    addresses = _field(entry, "ipAddresses")
    return ProcessServer(
        id=_text(_field(entry, "id")) or "", name=_text(_field(entry, "name")) or "",
        ip_address=str(addresses[0]) if isinstance(addresses, list) and addresses else "",
        last_heartbeat=_moment(_field(entry, "lastHeartbeatUtc")),
        health=_text(_field(entry, "health")) or "None")


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


# -- bodies -----------------------------------------------------------------------------------

def classic_plan_failback_body(point: ClassicPoint) -> m.RecoveryPlanUnplannedFailoverInput:
    """`POST {RP}/unplannedFailover` as PowerShell's -Direction RecoveryToPrimary sends it."""
    return m.RecoveryPlanUnplannedFailoverInput(
        properties=m.RecoveryPlanUnplannedFailoverInputProperties(
            failover_direction=TO_PRIMARY, source_site_operations="NotRequired",
            provider_specific_details=[
                m.RecoveryPlanInMageFailoverInput(recovery_point_type=point.value)]))


def classic_item_failback_body(point: ClassicPoint, direction: str) -> m.UnplannedFailoverInput:
    """`POST {PI}/unplannedFailover` with an `InMage` input; the direction is the caller's
    (unsettled for classic items: PowerShell builds this input only PrimaryToRecovery)."""
    return m.UnplannedFailoverInput(properties=m.UnplannedFailoverInputProperties(
        failover_direction=direction, source_site_operations="NotRequired",
        provider_specific_details=m.InMageUnplannedFailoverInput(recovery_point_type=point.value)))


def modernized_plan_failback_body(point: ModernizedPoint, *, multi_vm_sync_point: bool = True
                                  ) -> m.RecoveryPlanPlannedFailoverInput:
    """`POST {RP}/plannedFailover` as PowerShell sends it (sync point on unless disabled)."""
    return m.RecoveryPlanPlannedFailoverInput(
        properties=m.RecoveryPlanPlannedFailoverInputProperties(
            failover_direction=TO_PRIMARY, provider_specific_details=[
                m.RecoveryPlanInMageRcmFailbackFailoverInput(
                    recovery_point_type=point.value,
                    use_multi_vm_sync_point="True" if multi_vm_sync_point else "False")]))


def modernized_item_failback_body(point: ModernizedPoint) -> m.PlannedFailoverInput:
    """`POST {PI}/plannedFailover`: PowerShell leaves the direction out for this provider."""
    return m.PlannedFailoverInput(properties=m.PlannedFailoverInputProperties(
        provider_specific_details=m.InMageRcmFailbackPlannedFailoverProviderInput(
            recovery_point_type=point.value)))


@reprotect_body.register
def _azure_v2(inputs: AzureV2ReprotectInput) -> m.ReverseReplicationInput:
    """Classic reprotect AVS → Azure (PowerShell -VMwareToAzure, direction RecoveryToPrimary)."""
    return m.ReverseReplicationInput(properties=m.ReverseReplicationInputProperties(
        failover_direction=TO_PRIMARY, provider_specific_details=m.InMageAzureV2ReprotectInput(
            process_server_id=inputs.process_server_id,
            master_target_id=inputs.master_target_id or inputs.process_server_id,
            run_as_account_id=inputs.run_as_account_id, policy_id=inputs.policy_id)))


@reprotect_body.register
def _rcm_failback(inputs: RcmFailbackReprotectInput) -> m.ReverseReplicationInput:
    """Modernized reprotect AVS → Azure (PowerShell -ReplicateVMwareToAzure, PrimaryToRecovery)."""
    return m.ReverseReplicationInput(properties=m.ReverseReplicationInputProperties(
        failover_direction="PrimaryToRecovery",
        provider_specific_details=m.InMageRcmFailbackReprotectInput(
            process_server_id=inputs.process_server_id, policy_id=inputs.policy_id,
            run_as_account_id=inputs.run_as_account_id)))


# -- writes -----------------------------------------------------------------------------------

class FailbackWrites:
    """The journey's writes on `AzureSiteRecovery`; each one POST, sent once through
    `_write` (signed, retries off, write timeouts), returning the job Site Recovery started."""

    _rg: str
    _vault: str
    _client: SiteRecoveryManagementClient
    _write: Callable[[str, str, Callable[..., object]], Accepted]

    def plan_classic_failback(self, plan_name: str, point: ClassicPoint) -> Accepted:
        """Classic failback of a whole plan: unplanned failover `RecoveryToPrimary`, `InMage`."""
        body = classic_plan_failback_body(point)
        return self._write("failback", f"start the failback of plan {plan_name}", lambda **kw: (
            self._client.replication_recovery_plans.begin_unplanned_failover(
                self._rg, self._vault, plan_name, body, **kw)))

    def item_classic_failback(self, item_id: str, point: ClassicPoint, direction: str
                              ) -> Accepted:
        """Classic failback of one item (unplanned failover, `InMage`); `direction` has no
        default: the facts leave it unsettled for an item."""
        fabric, container, name = _item_path(item_id)
        body = classic_item_failback_body(point, direction)
        return self._write("failback", f"start the failback of {name}", lambda **kw: (
            self._client.replication_protected_items.begin_unplanned_failover(
                self._rg, self._vault, fabric, container, name, body, **kw)))

    def plan_modernized_failback(self, plan_name: str, point: ModernizedPoint, *,
                                 multi_vm_sync_point: bool = True) -> Accepted:
        """Modernized failback of a whole plan: planned failover, `InMageRcmFailback`."""
        body = modernized_plan_failback_body(point, multi_vm_sync_point=multi_vm_sync_point)
        return self._write("failback", f"start the failback of plan {plan_name}", lambda **kw: (
            self._client.replication_recovery_plans.begin_planned_failover(
                self._rg, self._vault, plan_name, body, **kw)))

    def item_modernized_failback(self, item_id: str, point: ModernizedPoint) -> Accepted:
        """Modernized failback of one item: planned failover, `InMageRcmFailback`."""
        fabric, container, name = _item_path(item_id)
        body = modernized_item_failback_body(point)
        return self._write("failback", f"start the failback of {name}", lambda **kw: (
            self._client.replication_protected_items.begin_planned_failover(
                self._rg, self._vault, fabric, container, name, body, **kw)))

    def plan_commit(self, plan_name: str) -> Accepted:
        """Commit a plan's failover (no body): Site Recovery removes the VMs in Azure."""
        return self._write("commit", f"commit the failover of plan {plan_name}", lambda **kw: (
            self._client.replication_recovery_plans.begin_failover_commit(
                self._rg, self._vault, plan_name, **kw)))

    def item_commit(self, item_id: str) -> Accepted:
        """Commit one item's failover (no body): its VM in Azure is removed."""
        fabric, container, name = _item_path(item_id)
        return self._write("commit", f"commit the failover of {name}", lambda **kw: (
            self._client.replication_protected_items.begin_failover_commit(
                self._rg, self._vault, fabric, container, name, **kw)))

    def plan_cancel(self, plan_name: str) -> Accepted:
        """Cancel a plan's planned failover not yet committed (no body; modernized only)."""
        return self._write("cancel", f"cancel the failover of plan {plan_name}", lambda **kw: (
            self._client.replication_recovery_plans.begin_failover_cancel(
                self._rg, self._vault, plan_name, **kw)))

    def item_cancel(self, item_id: str) -> Accepted:
        """Cancel one item's planned failover not yet committed (no body; modernized only)."""
        fabric, container, name = _item_path(item_id)
        return self._write("cancel", f"cancel the failover of {name}", lambda **kw: (
            self._client.replication_protected_items.begin_failover_cancel(
                self._rg, self._vault, fabric, container, name, **kw)))
