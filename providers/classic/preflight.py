"""Preflight checks: small functions from facts to verdicts, listed in one registry.

Each check reads the `Facts` gathered in bulk and returns `CheckResult`s; expected refusals
are values, never exceptions. Ids and verdicts follow `shared/reprotect-prerequisites.md`.

A blocker is a certainty: every check that can block names its source in `BLOCK_SOURCES`
(a tutorial step, a Microsoft doc, Azure PowerShell's own guard, or an enumeration of the
REST spec or SDK). A free-text field that no public source pins (facts.md §8) is compared
case-insensitively with the values known to be good; any other value is a warning that shows
it, says what was expected and how to confirm by hand (`unseen`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from core.plan import CheckResult, Verdict
from core.plan import passed as _ok
from gateways.agent_auth import EXTENDED_INFO_FIX
from gateways.site_recovery_models import ProtectedItem
from providers.checks import known, stale
from providers.classic.facts import Facts
from providers.classic.infrastructure_checks import (
    cs_connected,
    datastore_ok,
    datastore_type,
    failback_policy,
    mt_exists,
    mt_os_match,
    ps_exists,
    retention_ok,
)
from providers.classic.vcenter_checks import VCENTER_CHECKS

AZURE_TO_VMWARE_PROVIDER = "InMageAzureV2"
ACTIVE_IN_AZURE = "Recovery"

EXTENDED_INFO_ROLE = (
    "Give the bot's identity Microsoft.RecoveryServices/vaults/extendedInformation/read on the "
    "vault (part of the Site Recovery Contributor role), wait a few minutes, then run "
    "`/reprotect` again.")

TUTORIAL = "Tutorial avs-tutorial-reprotect.md"
BLOCK_SOURCES: dict[str, str] = {
    "cs-connected": f"{TUTORIAL}, before you begin, step 2 (configuration server running and "
                    "connected to Azure); heartbeat age and Site Recovery's own health errors",
    "vm-known": f"{TUTORIAL}, before you begin, step 2 (the VM must exist in the configuration "
                "server's database, or failback fails)",
    "azure-to-vmware": "Azure PowerShell Update-AzRecoveryServicesAsrProtectionDirection "
                       "-AzureToVMware: reprotects only an InMageAzureV2 item active in Azure "
                       "(activeLocation Recovery)",
    "reprotect-allowed": "REST spec enumeration ReplicationProtectedItemOperation "
                         "(allowedOperations lacks ReverseReplicate) and currentScenario (another "
                         f"operation runs); {TUTORIAL}, step 10 (migrated, moved, deleted, "
                         "unprotected VM)",
    "mt-exists": f"{TUTORIAL}, before you begin, step 1 (a master target server in the private "
                 "cloud); PowerShell's -MasterTarget comes from the fabric's "
                 "masterTargetServers",
    "ps-exists": f"{TUTORIAL}, before you begin, step 1 (a process server in Azure); SDK "
                 "enumeration ProtectionHealth (Warning, Critical)",
    "mt-os-match": f"{TUTORIAL}, before you begin, step 4 (same OS family as the master "
                   "target)",
    "group-same-mt": f"{TUTORIAL}, enable reprotection (replication groups only through their "
                     "recovery plan, one master target)",
    "source-supported": f"{TUTORIAL}, before you begin, step 10 (physical Windows Server 2008 "
                        "R2 SP1)",
    "datastore-ok": f"{TUTORIAL}, enable reprotection, step 4 (a datastore value is required); "
                    "before you start (the AVS VM's datastores mounted read/write on the master "
                    "target's host)",
    "datastore-type": "vmware-azure-reprotect.md (only VMFS or vSAN; NFS is not supported), "
                      "read from vCenter's DatastoreSummary.type enumeration",
    "retention-ok": f"{TUTORIAL}, enable reprotection, step 5 (a retention drive is required; "
                    "InMageReprotectInput.retentionDrive is required by the SDK): none, or no "
                    "free space at all",
    "failback-policy": "vmware-azure-reprotect.md (the InMage failback policy is selected "
                       "automatically); InMageReprotectInput.profileId is required by the SDK",
    "vcenter-connected": f"{TUTORIAL}, before you begin, step 6 (vCenter connected): Site "
                         "Recovery's own health errors, or the bot's vCenter refusing it",
    "vcenter-permissions": f"{TUTORIAL}, before you begin, step 7 (a read-only discovery "
                           "account fails reprotect)",
    "mt-no-snapshots": f"{TUTORIAL}, before you begin, step 3 (no snapshots on the master "
                       "target)",
    "uuid-unique": f"{TUTORIAL}, before you begin, step 8 (UUID clash with the master target)",
    "mt-vm-settings": "vmware-azure-reprotect.md and vmware-azure-prepare-failback.md (VMware "
                      "Tools, disk.EnableUUID, no Paravirtual SCSI, at most 60 disks, no Storage "
                      "vMotion of the master target)",
    "esxi-supported": f"{TUTORIAL}, before you begin, step 10 (free ESXi 5.5 / vSphere "
                      "Hypervisor 6)",
    "ps-unknown": "Azure PowerShell -ProcessServer takes one of the fabric's processServers: "
                  "a name Site Recovery does not list cannot be sent",
    "datastore-unknown": "Azure PowerShell -DataStore takes one of the master target's "
                         "dataStores: a name Site Recovery does not list cannot be sent",
    "retention-unknown": "Azure PowerShell -RetentionVolume takes one of the master target's "
                         "retentionVolumes: a name Site Recovery does not list cannot be sent",
    "account-unknown": "Azure PowerShell -Account takes one of the fabric's runAsAccounts: a "
                       "name Site Recovery does not list cannot be sent",
}


Check = Callable[[Facts], Sequence[CheckResult]]


def vm_known(f: Facts) -> list[CheckResult]:
    if f.config_server is None:
        return []
    unknown = [i.friendly_name for i in f.items
               if i.fabric_name.lower() != f.config_server.fabric_name.lower()]
    if unknown:
        return [CheckResult("vm-known", Verdict.BLOCK,
                            "Not replicated through this configuration server (failback would "
                            "fail).",
                            "Reprotect only VMs protected VMware-to-Azure through this "
                            "configuration server; check the VM's replication settings.",
                            tuple(unknown))]
    return _ok("vm-known", "Every VM is known to the configuration server.")


def _reprotected(item: ProtectedItem) -> bool:
    """Already replicating back to VMware: the provider became `InMage`, and protected."""
    return item.protected and known(item.provider, ("InMage",))


def azure_to_vmware(f: Facts) -> list[CheckResult]:
    """Refuse what Azure PowerShell's -AzureToVMware refuses, before anything is sent."""
    results: list[CheckResult] = []
    pending = [i for i in f.items if not _reprotected(i)]
    provider = tuple(i.friendly_name for i in pending
                     if not known(i.provider, (AZURE_TO_VMWARE_PROVIDER,)))
    if provider:
        kinds = ", ".join(sorted({f"`{i.provider or 'none'}`" for i in pending
                                  if i.friendly_name in provider}))
        results.append(CheckResult(
            "azure-to-vmware", Verdict.BLOCK,
            f"Replication provider {kinds}, not {AZURE_TO_VMWARE_PROVIDER}: only a VMware VM "
            "replicated to Azure through the configuration server fails back to VMware.",
            "Leave these VMs out with `vm=`; reprotect them with the tool of their own "
            "replication (Azure PowerShell refuses them with -AzureToVMware too).", provider))
    away = tuple(i.friendly_name for i in pending if i.friendly_name not in provider
                 and not known(i.active_location, (ACTIVE_IN_AZURE,)))
    if away:
        where = ", ".join(sorted({f"`{i.active_location or 'none'}`" for i in pending
                                  if i.friendly_name in away}))
        results.append(CheckResult(
            "azure-to-vmware", Verdict.BLOCK,
            f"Not active in Azure (activeLocation {where}, not {ACTIVE_IN_AZURE}): there is "
            "nothing to fail back from Azure.",
            "Fail the VM over to Azure and commit first, or leave it out with `vm=`.", away))
    return results or _ok("azure-to-vmware", "Every VM is an InMageAzureV2 item active in "
                                             "Azure, as Azure PowerShell requires.")


def reprotect_allowed(f: Facts) -> list[CheckResult]:
    results: list[CheckResult] = []
    busy = [i for i in f.items if not i.current_scenario.idle]
    refused = [i for i in f.items if i.current_scenario.idle
               and not any(known(o, ("ReverseReplicate",)) for o in i.allowed_operations)]
    done = [i for i in refused if _reprotected(i)]
    refused = [i for i in refused if i not in done]
    if done:
        results.append(CheckResult(
            "reprotect-allowed", Verdict.BLOCK,
            "Already reprotected: replicating back to the private cloud (`Protected`); there "
            "is nothing to reprotect.",
            "Leave these VMs out with `vm=`, or go on with failback (a planned failover to the "
            "private cloud) in the Azure portal.", tuple(i.friendly_name for i in done)))
    if busy:
        results.append(CheckResult(
            "reprotect-allowed", Verdict.BLOCK,
            "Another Site Recovery operation is running: "
            + ", ".join(f"{i.friendly_name} ({i.current_scenario.name})" for i in busy) + ".",
            "Wait for that job to finish (Site Recovery jobs in the vault), then run "
            "`/reprotect` again.", tuple(i.friendly_name for i in busy)))
    for state in sorted({i.protection_state_description or i.protection_state for i in refused}):
        vms = tuple(i.friendly_name for i in refused
                    if (i.protection_state_description or i.protection_state) == state)
        results.append(CheckResult(
            "reprotect-allowed", Verdict.BLOCK,
            f"Site Recovery does not allow reprotect in state `{state}`.",
            "Reprotect needs a committed failover with the Azure VM still present and "
            "protected: commit the failover; a migrated, moved or deleted Azure VM cannot be "
            "reprotected.", vms))
    return results or _ok("reprotect-allowed", "Site Recovery allows reprotect for every VM.")


def agent_registered(f: Facts) -> list[CheckResult]:
    late = tuple(i.friendly_name for i in f.items
                 if i.agent_heartbeat is not None and stale(f.now, i.agent_heartbeat))
    if late:
        return [CheckResult("agent-registered", Verdict.WARN,
                            "The Azure VM's agent has not re-registered with the configuration "
                            "server yet (it can take 15 minutes after failover).",
                            "Approving is fine: the bot waits for the agent and retries.", late)]
    return _ok("agent-registered", "Agents have re-registered.")


def group_same_mt(f: Facts) -> list[CheckResult]:
    grouped = tuple(i.friendly_name for i in f.items if i.multi_vm_group)
    if f.narrowed and grouped:
        return [CheckResult("group-same-mt", Verdict.BLOCK,
                            "Part of a multi-VM consistency group: such VMs are reprotected "
                            "only with their whole recovery plan.",
                            "Drop `vm=` to reprotect the whole plan through one master target.",
                            grouped)]
    return _ok("group-same-mt", "Replication groups go through one master target.")


def vault_signing(f: Facts) -> list[CheckResult]:
    """Reprotects are signed as Azure PowerShell signs them, with the vault's integrity key."""
    if f.vault_extended_info_forbidden:  # a warning too: never fail on an optional read
        return [CheckResult("vault-signing", Verdict.WARN,
                            "Azure refused the bot's identity the read of the vault's extended "
                            "information (HTTP 403), so reprotects go unsigned, as the Python "
                            "SDK and the az CLI send them; Azure PowerShell signs them "
                            "(Agent-Authentication). If Site Recovery refuses them:",
                            EXTENDED_INFO_ROLE)]
    if not f.vault_extended_info:  # a warning: unsigned is how the SDK and az CLI send it
        return [CheckResult("vault-signing", Verdict.WARN,
                            "The vault's extended information (its integrity key) is missing or "
                            "could not be read, so reprotects go unsigned, as the Python SDK and "
                            "the az CLI send them; Azure PowerShell signs them "
                            "(Agent-Authentication). If Site Recovery refuses them:",
                            EXTENDED_INFO_FIX)]
    return _ok("vault-signing", "The vault's integrity key signs the reprotect requests.")


def source_supported(f: Facts) -> list[CheckResult]:
    """Physical Windows Server 2008 R2 SP1 cannot fail back; VMware never to Hyper-V."""
    physical_2008 = tuple(i.friendly_name for i in f.items
                          if (i.discovery_type or "").lower() == "physical"
                          and "2008 r2" in (i.os_version or "").lower())
    if physical_2008:
        return [CheckResult("source-supported", Verdict.BLOCK,
                            "Physical server with Windows Server 2008 R2 SP1: Site Recovery "
                            "cannot fail it back.",
                            "Leave it out with `vm=` and rebuild it in the private cloud (or "
                            "keep it in Azure).", physical_2008)]
    return _ok("source-supported", "Every VM fails back to VMware (never to Hyper-V) from a "
                                   "supported source.")


def network_ready(_: Facts) -> list[CheckResult]:
    """Two items the approver ticks: the bot cannot see the network."""
    return [CheckResult("network-ready", Verdict.MANUAL,
                        "Site-to-site VPN or ExpressRoute private peering is up",
                        "Between the Azure network of the process server and the private "
                        "cloud's network of the master target server."),
            CheckResult("network-ready", Verdict.MANUAL,
                        "Failback ports are open between Azure and the private cloud",
                        "Process server → master target TCP 9443 (replication data); master "
                        "target and process server → configuration server TCP 443 and 9443.")]


CHECKS: tuple[Check, ...] = (
    cs_connected, vm_known, azure_to_vmware, reprotect_allowed, agent_registered, mt_exists,
    ps_exists, mt_os_match, group_same_mt, source_supported, datastore_ok, datastore_type,
    retention_ok, failback_policy, vault_signing, *VCENTER_CHECKS, network_ready,
)


def run_checks(facts: Facts, checks: Sequence[Check] = CHECKS) -> tuple[CheckResult, ...]:
    return tuple(result for check in checks for result in check(facts))
