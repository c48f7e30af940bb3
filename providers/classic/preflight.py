"""Preflight checks: small functions from facts to verdicts, listed in one registry.

Each check reads the `Facts` gathered in bulk and returns `CheckResult`s; expected refusals
are values, never exceptions. Ids and verdicts follow Microsoft's reprotect prerequisites
(README: What blocks).

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
        return [CheckResult("vm-known", Verdict.BLOCK, "foreign", {},
                            tuple(unknown))]
    return _ok("vm-known")


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
        kinds = tuple(sorted({i.provider or "none" for i in pending
                              if i.friendly_name in provider}))
        results.append(CheckResult("azure-to-vmware", Verdict.BLOCK, "provider",
                                   {"providers": kinds}, provider))
    away = tuple(i.friendly_name for i in pending if i.friendly_name not in provider
                 and not known(i.active_location, (ACTIVE_IN_AZURE,)))
    if away:
        where = tuple(sorted({i.active_location or "none" for i in pending
                              if i.friendly_name in away}))
        results.append(CheckResult("azure-to-vmware", Verdict.BLOCK, "not-in-azure",
                                   {"locations": where}, away))
    return results or _ok("azure-to-vmware")


def reprotect_allowed(f: Facts) -> list[CheckResult]:
    results: list[CheckResult] = []
    busy = [i for i in f.items if not i.current_scenario.idle]
    refused = [i for i in f.items if i.current_scenario.idle
               and not any(known(o, ("ReverseReplicate",)) for o in i.allowed_operations)]
    done = [i for i in refused if _reprotected(i)]
    refused = [i for i in refused if i not in done]
    if done:
        results.append(CheckResult("reprotect-allowed", Verdict.BLOCK, "done", {},
                                   tuple(i.friendly_name for i in done)))
    if busy:
        results.append(CheckResult(
            "reprotect-allowed", Verdict.BLOCK, "busy",
            {"running": tuple((i.friendly_name, i.current_scenario.name) for i in busy)},
            tuple(i.friendly_name for i in busy)))
    for state in sorted({i.protection_state_description or i.protection_state for i in refused}):
        vms = tuple(i.friendly_name for i in refused
                    if (i.protection_state_description or i.protection_state) == state)
        results.append(CheckResult("reprotect-allowed", Verdict.BLOCK, "state",
                                   {"state": state}, vms))
    return results or _ok("reprotect-allowed")


def agent_registered(f: Facts) -> list[CheckResult]:
    late = tuple(i.friendly_name for i in f.items
                 if i.agent_heartbeat is not None and stale(f.now, i.agent_heartbeat))
    if late:
        return [CheckResult("agent-registered", Verdict.WARN, "late", {}, late)]
    return _ok("agent-registered")


def group_same_mt(f: Facts) -> list[CheckResult]:
    grouped = tuple(i.friendly_name for i in f.items if i.multi_vm_group)
    if f.narrowed and grouped:
        return [CheckResult("group-same-mt", Verdict.BLOCK, "grouped", {}, grouped)]
    return _ok("group-same-mt")


def vault_signing(f: Facts) -> list[CheckResult]:
    """Reprotects are signed as Azure PowerShell signs them, with the vault's integrity key."""
    if f.vault_extended_info_forbidden:  # a warning too: never fail on an optional read
        return [CheckResult("vault-signing", Verdict.WARN, "forbidden")]
    if not f.vault_extended_info:  # a warning: unsigned is how the SDK and az CLI send it
        return [CheckResult("vault-signing", Verdict.WARN, "missing")]
    return _ok("vault-signing")


def source_supported(f: Facts) -> list[CheckResult]:
    """Physical Windows Server 2008 R2 SP1 cannot fail back; VMware never to Hyper-V."""
    physical_2008 = tuple(i.friendly_name for i in f.items
                          if (i.discovery_type or "").lower() == "physical"
                          and "2008 r2" in (i.os_version or "").lower())
    if physical_2008:
        return [CheckResult("source-supported", Verdict.BLOCK, "physical-2008", {},
                            physical_2008)]
    return _ok("source-supported")


def network_ready(_: Facts) -> list[CheckResult]:
    """Two items the approver ticks: the bot cannot see the network."""
    return [CheckResult("network-ready", Verdict.MANUAL, "vpn"),
            CheckResult("network-ready", Verdict.MANUAL, "ports")]


CHECKS: tuple[Check, ...] = (
    cs_connected, vm_known, azure_to_vmware, reprotect_allowed, agent_registered, mt_exists,
    ps_exists, mt_os_match, group_same_mt, source_supported, datastore_ok, datastore_type,
    retention_ok, failback_policy, vault_signing, *VCENTER_CHECKS, network_ready,
)


def run_checks(facts: Facts, checks: Sequence[Check] = CHECKS) -> tuple[CheckResult, ...]:
    return tuple(result for check in checks for result in check(facts))
