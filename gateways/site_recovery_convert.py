"""Site Recovery's SDK objects as the project's own values (`site_recovery_models`).

Pure functions, no I/O: the gateway (`gateways.site_recovery`) and the modernized
architecture's reads (`gateways.site_recovery_rcm`) convert what they list with them, and
`reprotect_body` turns a provider's reprotect values into the request body.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from functools import singledispatch
from typing import Any

from azure.mgmt.recoveryservicessiterecovery import models as m

from gateways.errors import SiteRecoveryError
from gateways.site_recovery_models import (
    ConfigurationServer,
    CurrentScenario,
    Datastore,
    DiscoveredVCenter,
    FailbackPolicy,
    HealthIssue,
    Job,
    JobError,
    JobTask,
    MasterTarget,
    ProcessServer,
    ProtectedItem,
    ProviderInput,
    RecoveryPlan,
    ReprotectInput,
    RetentionVolume,
    RunAsAccount,
    same_arm_id,
)
from gateways.timestamps import utc

ITEM_ID = re.compile(
    r"/replicationFabrics/(?P<fabric>[^/]+)/replicationProtectionContainers/(?P<container>[^/]+)"
    r"/replicationProtectedItems/(?P<item>[^/?]+)",
    re.IGNORECASE,
)
FABRIC_OF = re.compile(r"/replicationFabrics/(?P<fabric>[^/]+)", re.IGNORECASE)


@singledispatch
def reprotect_body(inputs: ProviderInput) -> m.ReverseReplicationInput:
    """`POST {PI}/reProtect` body for a provider's values: each provider's input type
    registers its own builder (`@reprotect_body.register`)."""
    raise TypeError(f"no reprotect body for {type(inputs).__name__}: register one")


def failback(details: m.ReverseReplicationProviderSpecificInput) -> m.ReverseReplicationInput:
    """The reProtect body around a provider's input: from Azure back to VMware."""
    return m.ReverseReplicationInput(properties=m.ReverseReplicationInputProperties(
        failover_direction="RecoveryToPrimary", provider_specific_details=details))


@reprotect_body.register
def _classic(inputs: ReprotectInput) -> m.ReverseReplicationInput:
    """`InMageReprotectInput`, as Azure PowerShell's -AzureToVMware sends it."""
    return failback(m.InMageReprotectInput(
        master_target_id=inputs.master_target_id,
        process_server_id=inputs.process_server_id,
        retention_drive=inputs.retention_drive,
        datastore_name=inputs.datastore_name,
        profile_id=inputs.profile_id,
        run_as_account_id=inputs.run_as_account_id,
        disk_exclusion_input=m.InMageDiskExclusionInput(volume_options=[
            m.InMageVolumeExclusionOptions(volume_label="Temporary Storage",
                                           only_exclude_if_single_volume="Yes")]),
    ))


PLAN_ID = re.compile(r"/replicationRecoveryPlans/(?P<plan>[^/?]+)/?$", re.IGNORECASE)


def plan_name(target: str) -> str | None:
    """The recovery plan's name when `target` is a recovery plan's ARM id, else None."""
    match = PLAN_ID.search(target)
    return match.group("plan") if match else None


def _item_path(item_id: str) -> tuple[str, str, str]:
    match = ITEM_ID.search(item_id)
    if not match:
        raise SiteRecoveryError(f"`{item_id}` is not a protected item id.")
    return match.group("fabric"), match.group("container"), match.group("item")


def _issues(errors: Iterable[Any] | None) -> tuple[HealthIssue, ...]:
    return tuple(
        HealthIssue(code=str(e.get("errorCode") or e.get("code") or ""),
                    message=str(e.get("errorMessage") or e.get("message") or
                                e.get("summaryMessage") or ""),
                    recommended_action=str(e.get("recommendedAction") or ""))
        for e in errors or ()
    )


def _float(value: object) -> float | None:
    try:
        return float(str(value))
    except (TypeError, ValueError):
        return None


def _plan(plan: m.RecoveryPlan) -> RecoveryPlan:
    props = plan.properties
    members = [pi for group in (props.groups if props and props.groups else [])
               for pi in group.replication_protected_items or [] if pi.id]
    return RecoveryPlan(id=plan.id or "", name=plan.name or "",
                        friendly_name=(props.friendly_name if props else None) or plan.name or "",
                        item_ids=tuple(dict.fromkeys(pi.id for pi in members if pi.id)),
                        vm_ids=tuple(dict.fromkeys(pi.virtual_machine_id for pi in members
                                                   if pi.virtual_machine_id)))


def _item(item: m.ReplicationProtectedItem) -> ProtectedItem:
    props = item.properties or m.ReplicationProtectedItemProperties()
    fabric, container, name = _item_path(item.id or "")
    details = props.provider_specific_details
    scenario = props.current_scenario
    return ProtectedItem(
        id=item.id or "",
        name=name,
        friendly_name=props.friendly_name or name,
        fabric_name=fabric,
        container_name=container,
        protection_state=props.protection_state or "",
        protection_state_description=props.protection_state_description or "",
        active_location=props.active_location,
        allowed_operations=tuple(props.allowed_operations or ()),
        current_scenario=CurrentScenario(
            name=(scenario.scenario_name if scenario else None) or "None",
            job_id=scenario.job_id if scenario else None),
        provider=(details.instance_type if details else None) or "",
        os_type=_detail(details, "osType") or _detail(details, "osDetails", "osType"),
        replication_health=props.replication_health,
        health_errors=_issues(props.health_errors),
        multi_vm_group=_detail(details, "multiVmGroupName") or None,
        vm_uuid=_detail(details, "vmId"),
        ip_address=_detail(details, "ipAddress"),
        agent_heartbeat=_when(_detail(details, "lastHeartbeat")),
        os_version=_detail(details, "osVersion"),
        discovery_type=_detail(details, "discoveryType"),
        vcenter_infrastructure_id=_detail(details, "vCenterInfrastructureId"),
        infrastructure_vm_id=_detail(details, "infrastructureVmId"),
        progress_percent=_int(_detail(details, "initialReplicationProgressPercentage")),
        agent_registered=_flag(_detail(details, "isAgentRegistrationSuccessfulAfterFailover")),
    )


def _flag(text: str | None) -> bool | None:
    """A boolean the service may send as `true` or `"True"`; anything else is unknown."""
    return {"true": True, "false": False}.get(text.lower()) if text else None


def _detail(details: Any, *path: str) -> str | None:
    """Read a provider-specific field by wire name: the providers' models differ."""
    node = details
    for key in path:
        if node is None or not hasattr(node, "get"):
            return None
        node = node.get(key)
    return None if node is None else str(node)


def _when(value: object) -> datetime | None:
    """A timestamp read by wire name, aware UTC (the model leaves it a string)."""
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, str) and value:
        try:
            return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _config_server(fabrics: list[m.Fabric],
                   items: tuple[ProtectedItem, ...]) -> ConfigurationServer | None:
    """The VMware fabric the plan's items live on (else the vault's only VMware fabric)."""
    vmware = [f for f in fabrics if f.properties and isinstance(f.properties.custom_details,
                                                                   m.VMwareDetails)]
    item_fabrics = {i.fabric_name.lower() for i in items}
    chosen = [f for f in vmware if (f.name or "").lower() in item_fabrics] or vmware
    if not chosen:
        return None
    fabric = chosen[0]
    props = fabric.properties
    assert props is not None
    details = props.custom_details
    assert isinstance(details, m.VMwareDetails)
    return ConfigurationServer(
        fabric_name=fabric.name or "",
        fabric_id=fabric.id or "",
        host_name=details.host_name or props.friendly_name or fabric.name or "",
        last_heartbeat=utc(details.last_heartbeat),
        service_status=details.cs_service_status,
        health=props.health,
        health_errors=_issues(props.health_error_details),
        master_targets=tuple(_master_target(mt) for mt in details.master_target_servers or ()),
        process_servers=tuple(_process_server(ps) for ps in details.process_servers or ()),
        run_as_accounts=tuple(RunAsAccount(account_id=a.account_id or "",
                                           name=a.account_name or "")
                              for a in details.run_as_accounts or ()),
        ip_address=details.ip_address or "",
    )


def _vcenter(vcenter: m.VCenter) -> DiscoveredVCenter:
    props = vcenter.properties or m.VCenterProperties()
    fabric = FABRIC_OF.search(vcenter.id or "")
    return DiscoveredVCenter(
        name=props.friendly_name or vcenter.name or "",
        fabric_name=props.fabric_arm_resource_name or (fabric.group(1) if fabric else ""),
        ip_address=props.ip_address or "",
        infrastructure_id=props.infrastructure_id or "",
        discovery_status=props.discovery_status or "",
        last_heartbeat=utc(props.last_heartbeat),
        health_errors=_issues(props.health_errors),
    )


def _master_target(mt: m.MasterTargetServer) -> MasterTarget:
    return MasterTarget(
        id=mt.id or "",
        name=mt.name or mt.ip_address or "",
        ip_address=mt.ip_address or "",
        os_type=mt.os_type or "",
        last_heartbeat=utc(mt.last_heartbeat),
        datastores=tuple(Datastore(symbolic_name=d.symbolic_name or "", type=d.type or "",
                                   capacity_gb=_float(d.capacity), free_gb=_float(d.free_space))
                         for d in mt.data_stores or ()),
        retention_volumes=tuple(RetentionVolume(volume_name=v.volume_name or "",
                                                capacity_bytes=v.capacity_in_bytes,
                                                free_bytes=v.free_space_in_bytes,
                                                threshold_percent=v.threshold_percentage)
                                for v in mt.retention_volumes or ()),
        health_errors=_issues(mt.health_errors),
        validation_errors=_issues(mt.validation_errors),
        disk_count=mt.disk_count,
    )


def _process_server(ps: m.ProcessServer) -> ProcessServer:
    return ProcessServer(
        id=ps.id or "",
        name=ps.friendly_name or ps.ip_address or "",
        ip_address=ps.ip_address or "",
        last_heartbeat=utc(ps.last_heartbeat),
        health=_text(ps.health) or "None",
        health_errors=_issues(ps.health_errors),
        replication_pair_count=_int(ps.replication_pair_count),
        system_load=ps.system_load_status,
        service_status=ps.ps_service_status,
    )


def _text(value: str | None) -> str | None:
    """A string as Site Recovery sent it: the SDK's string enums would print their Python
    name (`ProtectionHealth.NORMAL`) in messages."""
    return None if value is None else str.__str__(value)


def _int(value: object) -> int | None:
    number = _float(value)
    return None if number is None else int(number)


def _failback_policy(policies: list[m.Policy], mappings: list[m.ProtectionContainerMapping],
                     config_server: ConfigurationServer | None) -> FailbackPolicy | None:
    """The `InMage` policy mapped to the configuration server's container, as PowerShell picks."""
    inmage = [p for p in policies if p.properties and p.properties.provider_specific_details
              and p.properties.provider_specific_details.instance_type == "InMage"]
    fabric_marker = (f"/replicationFabrics/{config_server.fabric_name}/".lower()
                     if config_server else None)
    for policy in inmage:
        for mapping in mappings:
            props = mapping.properties
            if props is None or not same_arm_id(props.policy_id, policy.id):
                continue
            if fabric_marker is None or fabric_marker in (mapping.id or "").lower():
                return FailbackPolicy(id=policy.id or "", name=policy.name or "")
    return None


def _job(job: m.Job) -> Job:
    props = job.properties or m.JobProperties()
    return Job(
        id=job.name or "",
        state=props.state or "",
        state_description=props.state_description or "",
        scenario_name=props.scenario_name or "",
        target_object_id=props.target_object_id,
        tasks=tuple(JobTask(name=t.friendly_name or t.name or "", state=t.state or "")
                    for t in props.tasks or ()),
        errors=tuple(_job_error(e) for e in props.errors or ()),
        allowed_actions=tuple(props.allowed_actions or ()),
        start_time=utc(props.start_time),
    )


def _job_error(error: m.JobErrorDetails) -> JobError:
    service = error.service_error_details
    provider = error.provider_error_details
    return JobError(
        code=(service.code if service else None) or "",
        message=(service.message if service else None) or "",
        possible_causes=(service.possible_causes if service else None) or "",
        recommended_action=(service.recommended_action if service else None) or "",
        provider_code=str(provider.error_code) if provider and provider.error_code else None,
        provider_message=provider.error_message if provider else None,
    )
