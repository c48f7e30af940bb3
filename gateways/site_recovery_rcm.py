"""Modernized architecture (replication appliance) reads and the `InMageRcm` reprotect body.

Converts SDK objects of a modernized vault into `gateways.rcm_models` dataclasses. Fields are
read by wire name through the SDK models' mapping interface (as `site_recovery._detail`
does), so a provider or value this SDK version does not know still converts: an unknown
`instanceType` deserializes to the base model with its raw fields, an unknown enum value stays
a string, and a missing optional field is None or empty, never an exception.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from azure.mgmt.recoveryservicessiterecovery import models as m

from gateways.rcm_models import (
    Appliance,
    ApplianceComponent,
    RcmFabric,
    RcmFailbackPolicy,
    RcmItem,
    RcmReprotectInput,
)
from gateways.site_recovery_convert import _flag, _int, _issues, _item, _when, failback
from gateways.site_recovery_convert import reprotect_body as _reprotect_body
from gateways.site_recovery_models import ProtectedItem, same_arm_id

RCM = "InMageRcm"
RCM_FAILBACK = "InMageRcmFailback"
# Fabric lists holding an appliance's other components (InMageRcmApplianceDetails).
COMPONENT_LISTS = ("processServers", "rcmProxies", "pushInstallers", "replicationAgents",
                   "marsAgents")
COMPONENT_STATUSES = ("systemLoadStatus", "diskUsageStatus", "memoryUsageStatus",
                      "processorUsageStatus", "throughputStatus")


def _field(node: Any, *path: str) -> Any:
    """A nested value by wire names; None where any step is missing or not an object."""
    for key in path:
        if node is None or not hasattr(node, "get"):
            return None
        node = node.get(key)
    return node


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value.value if isinstance(value, Enum) else value)


def _texts(value: Any) -> tuple[str, ...]:
    """A list of strings (a lone string or a non-list counts as none)."""
    if not isinstance(value, list):
        return ()
    return tuple(str(v) for v in value if v is not None)


def _moment(value: Any) -> datetime | None:
    """A UTC timestamp; the SDK leaves offset-less ones naive, ASR means UTC."""
    moment = _when(value)
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


def _instance_type(details: Any) -> str:
    return _text(_field(details, "instanceType")) or ""


def _component(kind: str, entry: Any) -> ApplianceComponent:
    return ApplianceComponent(
        kind=kind,
        name=_text(_field(entry, "name")) or "",
        health=_text(_field(entry, "health")) or "None",
        last_heartbeat=_moment(_field(entry, "lastHeartbeatUtc")),
        health_errors=_issues(_field(entry, "healthErrors")),
        statuses=tuple((key, status) for key in COMPONENT_STATUSES
                       if (status := _text(_field(entry, key)))),
    )


def _appliance(agent: Any, details: Any) -> Appliance:
    """A `reprotectAgents` entry with the components listed under the same name."""
    name = _text(_field(agent, "name")) or ""
    return Appliance(
        id=_text(_field(agent, "id")) or "",
        name=name,
        health=_text(_field(agent, "health")) or "None",
        last_heartbeat=_moment(_field(agent, "lastHeartbeatUtc")),
        health_errors=_issues(_field(agent, "healthErrors")),
        accessible_datastores=_texts(_field(agent, "accessibleDatastores")),
        vcenter_id=_text(_field(agent, "vcenterId")),
        protected_item_count=_int(_field(agent, "protectedItemCount")),
        version=_text(_field(agent, "version")),
        components=tuple(_component(kind, entry) for kind in COMPONENT_LISTS
                         for entry in _field(details, kind) or ()
                         if (_text(_field(entry, "name")) or "").lower() == name.lower()),
    )


def rcm_fabric(fabrics: Iterable[m.Fabric],
               items: Iterable[ProtectedItem] = ()) -> RcmFabric | None:
    """The `InMageRcm` fabric the items live on (else the vault's first one), or None."""
    rcm = [f for f in fabrics if _instance_type(_field(f, "properties", "customDetails")) == RCM]
    item_fabrics = {i.fabric_name.lower() for i in items}
    chosen = [f for f in rcm if (f.name or "").lower() in item_fabrics] or rcm
    if not chosen:
        return None
    fabric = chosen[0]
    details = _field(fabric, "properties", "customDetails")
    return RcmFabric(
        fabric_name=fabric.name or "",
        fabric_id=fabric.id or "",
        health=_text(_field(fabric, "properties", "health")),
        health_errors=_issues(_field(fabric, "properties", "healthErrorDetails")),
        appliances=tuple(_appliance(a, details) for a in _field(details, "reprotectAgents") or ()),
    )


def rcm_item(item: m.ReplicationProtectedItem) -> RcmItem:
    """The item's common fields (as the classic gateway reads them) and its modernized ones,
    from `InMageRcm` before reprotect or `InMageRcmFailback` after."""
    details = _field(item, "properties", "providerSpecificDetails")
    disks = [d for d in _field(details, "protectedDisks") or () if d is not None]
    failback = _instance_type(details) == RCM_FAILBACK
    common = _item(item)
    return RcmItem(
        item=common,
        agent_registered=common.agent_registered,
        discovered_datastores=_texts(_field(details, "discoveredVmDetails", "datastores")),
        vm_deleted=_flag(_text(_field(details, "discoveredVmDetails", "isDeleted"))),
        vcenter_id=_text(_field(details, "discoveredVmDetails", "vCenterId")),
        log_storage_account_ids=tuple(account for account, _ in Counter(
            _text(_field(d, "logStorageAccountId")) for d in disks).most_common() if account),
        disk_count=len(disks),
        failback_progress_percent=(
            _int(_field(details, "initialReplicationProgressPercentage")) if failback else None),
        reprotect_agent_id=_text(_field(details, "reprotectAgentId")),
        target_datastore=_text(_field(details, "targetDataStoreName")),
    )


def rcm_failback_policy(policies: Iterable[m.Policy],
                        mappings: Iterable[m.ProtectionContainerMapping],
                        fabric_name: str) -> RcmFailbackPolicy | None:
    """The `InMageRcmFailback` policy mapped from the fabric's container: PowerShell sends the
    mapping's policy as `policyId` (modernized.md §3)."""
    failback = [p for p in policies if _instance_type(
        _field(p, "properties", "providerSpecificDetails")) == RCM_FAILBACK]
    marker = f"/replicationFabrics/{fabric_name}/".lower()
    for mapping in mappings:
        if marker not in (mapping.id or "").lower():
            continue
        for policy in failback:
            if same_arm_id(_text(_field(mapping, "properties", "policyId")), policy.id):
                details = _field(policy, "properties", "providerSpecificDetails")
                return RcmFailbackPolicy(
                    id=policy.id or "", name=policy.name or "", mapping_name=mapping.name or "",
                    app_consistent_minutes=_int(_field(details, "appConsistentFrequencyInMinutes")),
                    crash_consistent_minutes=_int(
                        _field(details, "crashConsistentFrequencyInMinutes")),
                    mapping_state=_text(_field(mapping, "properties", "state")),
                )
    return None


@_reprotect_body.register
def reprotect_body(inputs: RcmReprotectInput) -> m.ReverseReplicationInput:
    """`POST {PI}/reProtect` body for an `InMageRcm` item (modernized.md §3), registered with
    the gateway's `reprotect_body`."""
    return failback(m.InMageRcmReprotectInput(
        reprotect_agent_id=inputs.reprotect_agent_id,
        datastore_name=inputs.datastore_name,
        log_storage_account_id=inputs.log_storage_account_id,
        policy_id=inputs.policy_id,
    ))
