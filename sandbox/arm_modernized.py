"""A modernized (replication appliance) site in the ARM emulator's vault.

:class:`ModernizedWorld` is a :class:`~sandbox.arm_world.World` that also serves the
modernized VMware architecture: an ``InMageRcm`` fabric whose appliances are listed as
``reprotectAgents`` (and the other appliance components), ``InMageRcm`` items failed over to
Azure, the ``InMageRcmFailback`` policy with its container mapping, and a reprotect that takes
an ``InMageRcm`` input and turns the item into ``InMageRcmFailback``. Classic items in the same
vault keep the classic behaviour, so one world can hold both (a mixed plan included).

Wire names follow Site Recovery's REST reference for the modernized architecture and the SDK
2.0.0 models
(``InMageRcmFabricSpecificDetails``, ``ReprotectAgentDetails``, ``InMageRcmReplicationDetails``,
``InMageRcmFailbackReplicationDetails``, ``InMageRcmReprotectInput``). Values are guesses where
Microsoft shows none (modernized.md §7): the item ends ``Protected`` as classic does, and the
refusal codes are the classic emulator's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from sandbox.arm_world import (
    AZURE_FABRIC,
    CODE_UNKNOWN_INFRASTRUCTURE,
    FAILED_OVER_OPERATIONS,
    GB,
    ArmError,
    Job,
    Json,
    Progress,
    World,
    invalid_input,
    iso,
    same_id,
    stable_guid,
)

RCM = "InMageRcm"
RCM_FAILBACK = "InMageRcmFailback"
RCM_FABRIC = "rcm-fabric-01"
APPLIANCE = "avs-appliance-01"
AGENT_VERSION = "9.62.7096.1"
# Wire names of InMageRcmReprotectInput (modernized.md §3): required, then optional.
REPROTECT_REQUIRED = ("reprotectAgentId", "datastoreName", "logStorageAccountId")
REPROTECT_KEYS = frozenset({"instanceType", *REPROTECT_REQUIRED, "policyId"})
STORAGE_ACCOUNT_ID = re.compile(
    r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Storage"
    r"/storageAccounts/[^/]+",
    re.IGNORECASE,
)
# The appliance's components as the fabric lists them (InMageRcmApplianceDetails groups them).
COMPONENTS = ("processServers", "rcmProxies", "pushInstallers", "replicationAgents", "marsAgents")


def storage_account_id(subscription_id: str, name: str) -> str:
    """ARM id of a log storage account in the failover resource group."""
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/rg-avs-failover"
        f"/providers/Microsoft.Storage/storageAccounts/{name}"
    )


def make_appliance(
    name: str,
    *,
    heartbeat: float,
    accessible_datastores: Sequence[str],
    vcenter_id: str,
    health: str = "Normal",
    health_errors: Sequence[Json] = (),
) -> dict[str, Json]:
    """One replication appliance: an entry per fabric list, all with the same name.

    The ``reprotectAgents`` entry has the ``replicationAgents`` entry's id, as in the fabric
    dump of Azure/azure-powershell#19148.
    """
    agent_id = stable_guid("replication-agent", name)

    def component(kind: str, **extra: Any) -> Json:
        return {
            "id": agent_id if kind in ("replicationAgents", "reprotectAgents")
            else stable_guid(kind, name),
            "name": name,
            "biosId": stable_guid("appliance-bios", name).upper(),
            "fabricObjectId": stable_guid("appliance-object", name),
            "fqdn": f"{name}.avs.example",
            "version": AGENT_VERSION,
            "lastHeartbeatUtc": iso(heartbeat),
            "health": health,
            "healthErrors": list(health_errors),
            **extra,
        }

    return {
        "processServers": component(
            "processServers",
            ipAddresses=["10.40.0.30"],
            totalMemoryInBytes=32 * GB,
            availableMemoryInBytes=20 * GB,
            usedMemoryInBytes=12 * GB,
            memoryUsagePercentage=37.5,
            totalSpaceInBytes=1024 * GB,
            availableSpaceInBytes=700 * GB,
            usedSpaceInBytes=324 * GB,
            freeSpacePercentage=68.4,
            throughputUploadPendingDataInBytes=0,
            throughputInBytes=40 * 1024**2,
            processorUsagePercentage=12.0,
            throughputStatus="Healthy",
            systemLoad=2,
            systemLoadStatus="Healthy",
            diskUsageStatus="Healthy",
            memoryUsageStatus="Healthy",
            processorUsageStatus="Healthy",
            protectedItemCount=0,
            historicHealth=health,
        ),
        "rcmProxies": component("rcmProxies", clientAuthenticationType="Certificate"),
        "pushInstallers": component("pushInstallers"),
        "replicationAgents": component("replicationAgents"),
        "marsAgents": component("marsAgents"),
        "reprotectAgents": component(
            "reprotectAgents",
            protectedItemCount=0,
            accessibleDatastores=list(accessible_datastores),
            vcenterId=vcenter_id,
            lastDiscoveryInUtc=iso(heartbeat - 300),
        ),
    }


def _provider(item: Json) -> str:
    return str(item["properties"]["providerSpecificDetails"]["instanceType"])


class ModernizedWorld(World):
    """A vault that serves the modernized architecture beside (or instead of) the classic one."""

    # ------------------------------------------------------------------ lookups for tests
    def rcm_fabric(self, name: str | None = None) -> Json:
        """An ``InMageRcm`` fabric by name, default the first one."""
        for fabric in self.of_type("replicationFabrics"):
            if fabric["properties"]["customDetails"]["instanceType"] == RCM and (
                name is None or same_id(fabric["name"], name)
            ):
                return fabric
        raise KeyError(name or "no InMageRcm fabric")

    def reprotect_agent(self, name: str, fabric_name: str | None = None) -> Json:
        """The fabric's ``reprotectAgents`` entry of an appliance (mutable)."""
        agents = self.rcm_fabric(fabric_name)["properties"]["customDetails"]["reprotectAgents"]
        return next(a for a in agents if a["name"].lower() == name.lower())

    # ------------------------------------------------------------------ builders
    def add_rcm_fabric(self, name: str, *, appliances: Sequence[dict[str, Json]]) -> Json:
        """An ``InMageRcm`` fabric listing ``appliances`` (from :func:`make_appliance`), with
        one protection container."""
        site = f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
        details: Json = {
            "instanceType": RCM,
            "vmwareSiteId": f"{site}/providers/Microsoft.OffAzure/VMwareSites/{name}-site",
            "physicalSiteId": f"{site}/providers/Microsoft.OffAzure/ServerSites/{name}-site",
            "serviceEndpoint": "https://weu-rcm.hypervrecoverymanager.windowsazure.com",
            "serviceResourceId": stable_guid("rcm-service", name),
            "serviceContainerId": stable_guid("rcm-container", name),
            "dataPlaneUri": "https://weu-rcm-dataplane.hypervrecoverymanager.windowsazure.com",
            "controlPlaneUri": "https://weu-rcm-controlplane.hypervrecoverymanager.windowsazure.com",
            "sourceAgentIdentityDetails": {
                "tenantId": stable_guid("tenant"),
                "applicationId": stable_guid("appliance-app", name),
                "objectId": stable_guid("appliance-sp", name),
                "audience": f"api://{stable_guid('audience', name)}",
                "aadAuthority": "https://login.microsoftonline.com",
            },
            **{kind: [a[kind] for a in appliances] for kind in (*COMPONENTS, "reprotectAgents")},
            "dras": [],
            "agentDetails": [],
        }
        return self._fabric(name, name, RCM, details)

    def add_rcm_policies(self, fabric_name: str, *, prefix: str = "rcm") -> tuple[Json, Json]:
        """The forward ``InMageRcm`` policy and the ``InMageRcmFailback`` one, each mapped from
        the fabric's container (forward to Azure, failback back to the container)."""
        forward = self.add_policy(
            f"{prefix}-policy",
            {
                "instanceType": RCM,
                "recoveryPointHistoryInMinutes": 4320,
                "appConsistentFrequencyInMinutes": 240,
                "crashConsistentFrequencyInMinutes": 5,
                "enableMultiVmSync": "True",
            },
        )
        failback = self.add_policy(
            f"{prefix}-policy-failback",
            {
                "instanceType": RCM_FAILBACK,
                "appConsistentFrequencyInMinutes": 240,
                "crashConsistentFrequencyInMinutes": 5,
            },
        )
        container = self.container(fabric_name)
        mapping = self.add_mapping(
            f"{prefix}-containerpairing",
            policy=forward,
            target_container_id=AZURE_FABRIC,
            target_friendly_name=AZURE_FABRIC,
            fabric_name=fabric_name,
        )
        mapping["properties"]["providerSpecificDetails"] = {
            "instanceType": RCM,
            "enableAgentAutoUpgrade": "true",
        }
        self.add_mapping(
            f"{prefix}-failback-containerpairing",
            policy=failback,
            target_container_id=container["id"],
            target_friendly_name=container["properties"]["friendlyName"],
            fabric_name=fabric_name,
        )
        return forward, failback

    def add_rcm_item(
        self,
        name: str,
        *,
        fabric_name: str = RCM_FABRIC,
        friendly_name: str | None = None,
        os_type: str = "Windows",
        ip_address: str = "10.20.0.10",
        datastores: Sequence[str] = ("vsan-avs-01",),
        disk_count: int = 2,
        log_storage_account: str = "rcmlogweu01",
        multi_vm_group_name: str = "",
        agent_registered: bool = True,
        vm_deleted: bool = False,
        allowed_operations: Iterable[str] = FAILED_OVER_OPERATIONS,
    ) -> Json:
        """A VMware VM protected by the appliance and failed over to Azure (``InMageRcm``)."""
        fabric = self.rcm_fabric(fabric_name)
        container = self.container(fabric["name"])
        policy = self.policy(RCM)
        appliance = fabric["properties"]["customDetails"]["processServers"][0]
        friendly = friendly_name or name.removeprefix("vm-")
        now = self.clock()
        internal_id = stable_guid("rcm-item", name)
        log_account = storage_account_id(self.subscription_id, log_storage_account)
        disks = [
            {
                "diskId": f"6000C29{stable_guid('disk', name, str(index))[:25].replace('-', '')}",
                "diskName": f"{friendly}_disk{index}",
                "isOSDisk": "True" if index == 0 else "False",
                "capacityInBytes": (128 if index == 0 else 256) * GB,
                "diskState": "Valid",
                "logStorageAccountId": log_account,
                "seedManagedDiskId": "",
                "targetManagedDiskId": (
                    f"/subscriptions/{self.subscription_id}/resourceGroups/rg-avs-failover"
                    f"/providers/Microsoft.Compute/disks/{friendly}-disk{index}"
                ),
                "diskType": "Premium_LRS",
                "dataPendingInLogDataStoreInMB": 0.0,
                "dataPendingAtSourceAgentInMB": 0.0,
                "isInitialReplicationComplete": "True",
            }
            for index in range(disk_count)
        ]
        details: Json = {
            "instanceType": RCM,
            "internalIdentifier": internal_id,
            "fabricDiscoveryMachineId": f"{fabric['name']}-site/machines/{stable_guid('vm', name)}",
            "multiVmGroupName": multi_vm_group_name,
            "discoveryType": "vCenter",
            "processServerId": appliance["id"],
            "processServerName": appliance["name"],
            "processorCoreCount": 2,
            "allocatedMemoryInMB": 8192.0,
            "runAsAccountId": stable_guid("run-as", fabric["name"]),
            "osType": os_type,
            "osName": "Windows Server 2019" if os_type == "Windows" else "Ubuntu 20.04",
            "firmwareType": "BIOS",
            "primaryNicIpAddress": ip_address,
            "targetGeneration": "V1",
            "targetVmName": friendly,
            "targetVmSize": "Standard_D2s_v3",
            "targetResourceGroupId": (
                f"/subscriptions/{self.subscription_id}/resourceGroups/rg-avs-failover"
            ),
            "targetLocation": "westeurope",
            "failoverRecoveryPointId": "",
            "lastRecoveryPointReceived": iso(now - 3700),
            "lastRpoInSeconds": 0,
            "initialReplicationProgressPercentage": 100,
            "resyncRequired": "false",
            "resyncState": "None",
            "agentUpgradeState": "None",
            "protectedDisks": disks,
            "unprotectedDisks": [],
            "isLastUpgradeSuccessful": "true",
            "isAgentRegistrationSuccessfulAfterFailover": agent_registered,
            "mobilityAgentDetails": {
                "version": AGENT_VERSION,
                "latestVersion": AGENT_VERSION,
                "driverVersion": AGENT_VERSION,
                "lastHeartbeatUtc": iso(now - 300),
                "reasonsBlockingUpgrade": [],
                "isUpgradeable": "false",
            },
            "lastAgentUpgradeErrorDetails": [],
            "agentUpgradeBlockingErrorDetails": [],
            "vmNics": [],
            "discoveredVmDetails": {
                "vCenterId": self.reprotect_agents(fabric)[0]["vcenterId"],
                "vCenterFqdn": "vcenter-avs.avs.example",
                "datastores": list(datastores),
                "ipAddresses": [ip_address],
                "vmwareToolsStatus": "Running",
                "powerStatus": "OFF",
                "vmFqdn": f"{friendly}.corp.example",
                "osName": "Windows Server 2019" if os_type == "Windows" else "Ubuntu 20.04",
                "createdTimestamp": iso(now - 90 * 86400),
                "updatedTimestamp": iso(now - 600),
                "isDeleted": vm_deleted,
                "lastDiscoveryTimeInUtc": iso(now - 600),
            },
        }
        item = self._resource(
            container["id"],
            "replicationProtectedItems",
            name,
            {
                "friendlyName": friendly,
                "protectedItemType": "VMwareVirtualMachine",
                "protectableItemId": "",
                "recoveryServicesProviderId": "",
                "primaryFabricFriendlyName": fabric["properties"]["friendlyName"],
                "primaryFabricProvider": RCM,
                "recoveryFabricFriendlyName": AZURE_FABRIC,
                "recoveryFabricId": AZURE_FABRIC,
                "primaryProtectionContainerFriendlyName": container["properties"]["friendlyName"],
                "recoveryProtectionContainerFriendlyName": AZURE_FABRIC,
                "protectionState": "FailedOver",
                "protectionStateDescription": "Failed over",
                "activeLocation": "Recovery",
                "testFailoverState": "None",
                "testFailoverStateDescription": "None",
                "allowedOperations": list(allowed_operations),
                "replicationHealth": "Normal" if agent_registered else "Critical",
                "failoverHealth": "Normal",
                "healthErrors": [],
                "policyId": policy["id"],
                "policyFriendlyName": policy["properties"]["friendlyName"],
                "lastSuccessfulFailoverTime": iso(now - 3600),
                "currentScenario": self._idle_scenario(),
                "recoveryContainerId": AZURE_FABRIC,
                "eventCorrelationId": stable_guid("event", name),
                "providerSpecificDetails": details,
            },
        )
        container["properties"]["protectedItemCount"] += 1
        return item

    @staticmethod
    def reprotect_agents(fabric: Json) -> list[Json]:
        return list(fabric["properties"]["customDetails"]["reprotectAgents"])

    def add_modernized_site(
        self,
        vm_count: int = 3,
        *,
        fabric_name: str = RCM_FABRIC,
        plan_name: str = "finance-rp",
        plan_friendly_name: str = "Finance tier 1",
        appliance: str = APPLIANCE,
    ) -> Json:
        """An appliance site after failover of ``vm_count`` VMs: two appliances (the second
        reaching fewer datastores), the policies and mappings, the items and their plan."""
        now = self.clock()
        vcenter_id = stable_guid("rcm-vcenter", "vcenter-avs")
        self.add_rcm_fabric(
            fabric_name,
            appliances=[
                make_appliance(
                    appliance,
                    heartbeat=now - 40,
                    accessible_datastores=["vsan-avs-01", "vmfs-avs-02", "nfs-avs-03"],
                    vcenter_id=vcenter_id,
                ),
                make_appliance(
                    "avs-appliance-02",
                    heartbeat=now - 55,
                    accessible_datastores=["vmfs-avs-04"],
                    vcenter_id=vcenter_id,
                ),
            ],
        )
        self.add_rcm_policies(fabric_name)
        names = [f"vm-web-{index:02d}" for index in range(1, vm_count + 1)]
        for index, name in enumerate(names, start=1):
            self.add_rcm_item(name, fabric_name=fabric_name, ip_address=f"10.21.0.{10 + index}")
        return self.add_plan(
            plan_name, friendly_name=plan_friendly_name, items=names, fabric_name=fabric_name
        )

    @classmethod
    def modernized_sample(
        cls,
        vm_count: int = 3,
        *,
        classic_vm_count: int = 0,
        plan_name: str = "finance-rp",
        plan_friendly_name: str = "Finance tier 1",
        task_seconds: float = 1.0,
        protect_delay_seconds: float = 1.0,
    ) -> ModernizedWorld:
        """A vault right after failover of ``vm_count`` VMs protected by appliances.

        With ``classic_vm_count`` it also holds :meth:`World.sample`'s configuration server,
        classic items and plan (``finance-rp``: name the modernized plan otherwise).
        """
        world = (
            cls.sample(
                classic_vm_count,
                task_seconds=task_seconds,
                protect_delay_seconds=protect_delay_seconds,
            )
            if classic_vm_count
            else cls(task_seconds=task_seconds, protect_delay_seconds=protect_delay_seconds)
        )
        assert isinstance(world, cls)
        world.add_modernized_site(
            vm_count, plan_name=plan_name, plan_friendly_name=plan_friendly_name
        )
        return world

    # ------------------------------------------------------------------ reprotect
    def _validate_provider_input(self, item: Json, inputs: Any) -> Json:
        """``InMageRcm`` items take an ``InMageRcmReprotectInput``, checked by wire name
        against the item's fabric and the vault's failback policies."""
        if _provider(item) not in (RCM, RCM_FAILBACK):
            return super()._validate_provider_input(item, inputs)
        if not isinstance(inputs, dict) or inputs.get("instanceType") != RCM:
            raise invalid_input(
                "The replication provider input is invalid for an InMageRcm item.",
                "Reprotect of an InMageRcm item to VMware takes an 'InMageRcm' provider input.",
                "Set providerSpecificDetails.instanceType to 'InMageRcm'.",
            )
        unknown = sorted(set(inputs) - REPROTECT_KEYS)
        missing = [k for k in REPROTECT_REQUIRED if not inputs.get(k)]
        if unknown or missing:
            raise invalid_input(
                "The InMageRcm reprotect input is invalid: "
                + "; ".join(
                    ([f"missing {', '.join(missing)}"] if missing else [])
                    + ([f"unknown {', '.join(unknown)}"] if unknown else [])
                )
                + ".",
                "InMageRcm reprotect takes reprotectAgentId, datastoreName and "
                "logStorageAccountId, and optionally policyId.",
                "Send the InMageRcmReprotectInput fields with these names.",
            )
        agent = self._reprotect_agent_of(item, inputs["reprotectAgentId"])
        if inputs["datastoreName"] not in agent.get("accessibleDatastores", []):
            raise self._unknown(
                f"Datastore '{inputs['datastoreName']}' is not accessible from the replication "
                f"appliance '{agent['name']}'.",
                "Pick one of the appliance's accessibleDatastores.",
            )
        if not STORAGE_ACCOUNT_ID.fullmatch(inputs["logStorageAccountId"]):
            raise self._unknown(
                f"'{inputs['logStorageAccountId']}' is not the ARM id of a storage account.",
                "Use the log storage account of the item's protected disks.",
            )
        return {**inputs, "policyId": self._failback_policy_id(item, inputs.get("policyId"))}

    @staticmethod
    def _unknown(message: str, action: str) -> ArmError:
        return ArmError(
            400,
            CODE_UNKNOWN_INFRASTRUCTURE,
            message,
            possible_causes="The value does not match what the replication appliance reports.",
            recommended_action=action,
        )

    def _fabric_of(self, item: Json) -> Json:
        return self.resources["/".join(self.key(item["id"]).split("/")[:2])]

    def _reprotect_agent_of(self, item: Json, agent_id: str) -> Json:
        agents = self.reprotect_agents(self._fabric_of(item))
        agent = next((a for a in agents if same_id(a["id"], agent_id)), None)
        if agent is None:
            raise self._unknown(
                f"Reprotect agent '{agent_id}' is not a replication appliance of the item's "
                "fabric.",
                "Pick an id from the fabric's reprotectAgents.",
            )
        return agent

    def _failback_policy_id(self, item: Json, policy_id: str | None) -> str:
        """The sent policy, which must be ``InMageRcmFailback``; else the container's mapping's."""
        failback = [
            p
            for p in self.of_type("replicationPolicies")
            if p["properties"]["providerSpecificDetails"]["instanceType"] == RCM_FAILBACK
        ]
        if policy_id is not None:
            if not any(same_id(p["id"], policy_id) for p in failback):
                raise self._unknown(
                    f"Policy '{policy_id}' is not a failback (InMageRcmFailback) policy of "
                    "this vault.",
                    "Use the policyId of the fabric's InMageRcmFailback container mapping.",
                )
            return policy_id
        container_key = "/".join(self.key(item["id"]).split("/")[:4])
        for mapping in self.children(container_key + "/replicationprotectioncontainermappings"):
            if any(same_id(p["id"], mapping["properties"]["policyId"]) for p in failback):
                return str(mapping["properties"]["policyId"])
        raise self._unknown(
            "The item's protection container has no InMageRcmFailback policy mapping.",
            "Create a failback policy and map it to the container, or send policyId.",
        )

    def _enter_failback_replication(self, item: Json, job: Job) -> None:
        """Replication now runs Azure -> VMware through the appliance: ``InMageRcmFailback``."""
        previous = item["providerSpecificDetails"]
        if previous["instanceType"] != RCM:
            super()._enter_failback_replication(item, job)
            return
        inputs = job.reprotect_input
        agent = self._reprotect_agent_of(self.resources[job.item_key], inputs["reprotectAgentId"])
        agent["protectedItemCount"] += 1
        policy = next(
            p for p in self.of_type("replicationPolicies") if same_id(p["id"], inputs["policyId"])
        )
        now = self.clock()
        item["policyId"] = policy["id"]
        item["policyFriendlyName"] = policy["properties"]["friendlyName"]
        item["allowedOperations"] = ["DisableProtection"]
        item["providerSpecificDetails"] = {
            "instanceType": RCM_FAILBACK,
            "internalIdentifier": previous["internalIdentifier"],
            "azureVirtualMachineId": (
                f"{previous['targetResourceGroupId']}/providers/Microsoft.Compute"
                f"/virtualMachines/{previous['targetVmName']}"
            ),
            "multiVmGroupName": previous.get("multiVmGroupName"),
            "reprotectAgentId": agent["id"],
            "reprotectAgentName": agent["name"],
            "osType": previous.get("osType"),
            "logStorageAccountId": inputs["logStorageAccountId"],
            "targetvCenterId": agent.get("vcenterId"),
            "targetDataStoreName": inputs["datastoreName"],
            "targetVmName": item["friendlyName"],
            "initialReplicationProgressPercentage": 0,
            "initialReplicationProcessedBytes": 0,
            "initialReplicationTransferredBytes": 0,
            "initialReplicationProgressHealth": "InProgress",
            "resyncRequired": "false",
            "resyncState": "None",
            "protectedDisks": [
                {
                    "diskId": disk["diskId"],
                    "diskName": disk["diskName"],
                    "isOSDisk": disk["isOSDisk"],
                    "capacityInBytes": disk["capacityInBytes"],
                    "diskUuid": stable_guid("vmdk", disk["diskId"]),
                    "dataPendingInLogDataStoreInMB": 0.0,
                    "dataPendingAtSourceAgentInMB": 0.0,
                    "isInitialReplicationComplete": "False",
                    "irDetails": {"progressHealth": "InProgress", "progressPercentage": 0},
                }
                for disk in previous.get("protectedDisks", [])
            ],
            "mobilityAgentDetails": {
                "version": AGENT_VERSION,
                "latestVersion": AGENT_VERSION,
                "driverVersion": AGENT_VERSION,
                "lastHeartbeatUtc": iso(now),
                "reasonsBlockingUpgrade": [],
                "isUpgradeable": "false",
            },
            "vmNics": [],
            "lastPlannedFailoverStatus": "Unknown",
            "discoveredVmDetails": dict(previous.get("discoveredVmDetails") or {}),
            "lastUsedPolicyId": policy["id"],
            "lastUsedPolicyFriendlyName": policy["properties"]["friendlyName"],
            "isAgentRegistrationSuccessfulAfterFailover": True,
        }
        self._set_protection_state(
            item, "InitialReplicationInProgress", "Initial replication in progress"
        )

    def _set_protection_state(self, item: Json, state: str, description: str) -> None:
        """Modernized details carry no ``vmProtectionState``: only the item's fields change."""
        if item["providerSpecificDetails"]["instanceType"] not in (RCM, RCM_FAILBACK):
            super()._set_protection_state(item, state, description)
            return
        item["protectionState"] = state
        item["protectionStateDescription"] = description

    def settle(self) -> None:
        """Classic effects, then the modernized ones: failback progress grows from the job's
        end to ``Protected`` (100), and an agent set to re-register later reports it."""
        with self.lock:
            super().settle()
            now = self.clock()
            for job in self.jobs.values():
                if job.on_end is not None:
                    continue
                item = self.resources[job.item_key]["properties"]
                details = item["providerSpecificDetails"]
                if details["instanceType"] != RCM_FAILBACK or job.state(now) != "Succeeded":
                    continue
                if job.progress is Progress.PROTECTED:
                    percent = 100
                else:
                    elapsed = (now - job.ended_at) / max(self.protect_delay_seconds, 1e-9)
                    percent = min(99, int(100 * elapsed))
                details["initialReplicationProgressPercentage"] = percent
                for disk in details["protectedDisks"]:
                    disk["irDetails"]["progressPercentage"] = percent
                    disk["isInitialReplicationComplete"] = "True" if percent == 100 else "False"
                if percent == 100:
                    details["initialReplicationProgressHealth"] = "None"
            for name, (registers_at, _) in self._agent_registers_at.items():
                details = self._find("replicationProtectedItems", name)["properties"][
                    "providerSpecificDetails"
                ]
                if details["instanceType"] == RCM:
                    details["isAgentRegistrationSuccessfulAfterFailover"] = now >= registers_at
