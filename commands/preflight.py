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
from dataclasses import dataclass
from datetime import datetime, timedelta

from commands.mrkdwn import code
from commands.plan_model import CheckResult, Choice, Verdict
from commands.plan_model import passed as _ok
from commands.vcenter_checks import VCENTER_CHECKS, VCenterReading, known, unseen
from gateways.agent_auth import EXTENDED_INFO_FIX
from gateways.site_recovery_models import (
    ConfigurationServer,
    DiscoveredVCenter,
    FailbackPolicy,
    HealthIssue,
    MasterTarget,
    ProcessServer,
    ProtectedItem,
    RetentionVolume,
)
from gateways.timestamps import utc

HEARTBEAT_STALE = timedelta(minutes=15)
FAILBACK_DATASTORE_TYPES = ("VMFS", "vSAN")
SERVICE_RUNNING = ("Running",)
OS_FAMILIES = ("Windows", "Linux")
HEALTH_GOOD = ("Normal", "None")       # SDK enum ProtectionHealth
HEALTH_BAD = ("Warning", "Critical")
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


@dataclass(frozen=True)
class Facts:
    """What the checks see: Site Recovery's and vCenter's answers, and the values chosen.

    `vcenter` is None when VCENTER_URL is not set; `vcenters` are Site Recovery's.
    """

    now: datetime
    items: tuple[ProtectedItem, ...]
    config_server: ConfigurationServer | None
    master_target: MasterTarget | None
    master_wanted: str
    process_server: ProcessServer | None
    datastore: Choice | None
    datastore_type: str | None
    retention: RetentionVolume | None
    policy: FailbackPolicy | None
    narrowed: bool
    vcenter: VCenterReading | None = None
    vcenters: tuple[DiscoveredVCenter, ...] = ()
    vault_extended_info: bool = True
    vault_extended_info_forbidden: bool = False


Check = Callable[[Facts], Sequence[CheckResult]]


def stale(now: datetime, heartbeat: datetime | None) -> bool:
    return heartbeat is None or utc(now) - utc(heartbeat) > HEARTBEAT_STALE


def _ago(now: datetime, heartbeat: datetime | None) -> str:
    if heartbeat is None:
        return "never"
    minutes = int((utc(now) - utc(heartbeat)).total_seconds() // 60)
    return f"{minutes} min ago"


def _health_problems(now: datetime, heartbeat: datetime | None,
                     errors: Sequence[HealthIssue]) -> list[str]:
    """A stale heartbeat and Site Recovery's health errors, as short phrases."""
    problems = [f"last heartbeat {_ago(now, heartbeat)}"] if stale(now, heartbeat) else []
    return problems + [f"{e.code} {e.message}".strip() for e in errors]


def cs_connected(f: Facts) -> list[CheckResult]:
    cs = f.config_server
    if cs is None:
        return [CheckResult("cs-connected", Verdict.BLOCK,
                            "No configuration server (VMware fabric) is registered in the vault.",
                            "Register the configuration server with the vault, then run "
                            "`/reprotect` again.")]
    problems = _health_problems(f.now, cs.last_heartbeat, cs.health_errors)
    results = [] if not cs.service_status or known(cs.service_status, SERVICE_RUNNING) else [
        unseen("cs-connected", f"Configuration server `{cs.host_name}`'s service status "
               "(csServiceStatus)", cs.service_status, SERVICE_RUNNING,
               "in the vault, Site Recovery infrastructure → Configuration servers, the server "
               "shows Connected with a recent heartbeat; on the server, the Microsoft Azure "
               "Site Recovery services are running.")]
    if problems:
        return [*results, CheckResult(
            "cs-connected", Verdict.BLOCK,
            f"Configuration server `{cs.host_name}` is not healthy: " + "; ".join(problems) + ".",
            "Start the configuration server's services and check its connection to Azure "
            "(outbound 443); its heartbeat must be under 15 minutes old.")]
    return results or _ok("cs-connected", f"Configuration server `{cs.host_name}` is connected.")


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


def mt_exists(f: Facts) -> list[CheckResult]:
    mt = f.master_target
    if mt is None:
        names = [m.name for m in f.config_server.master_targets] if f.config_server else []
        known = ", ".join(code(n) for n in names) or "none"
        return [CheckResult("mt-exists", Verdict.BLOCK,
                            f"Master target server {code(f.master_wanted)} is not registered "
                            f"on the configuration server. Registered: {known}.",
                            "Pass `master=` one of the registered names, or install and register "
                            "the master target server in the private cloud first.")]
    problems = _health_problems(f.now, mt.last_heartbeat,
                                mt.health_errors + mt.validation_errors)
    if problems:
        return [CheckResult("mt-exists", Verdict.BLOCK,
                            f"Master target server `{mt.name}` is not healthy: "
                            + "; ".join(problems) + ".",
                            "Check the master target VM is running and its agent services are "
                            "started; it must reach the configuration server on 443.")]
    return _ok("mt-exists", f"Master target server `{mt.name}` is registered and alive.")


def ps_exists(f: Facts) -> list[CheckResult]:
    ps = f.process_server
    if ps is None:
        return [CheckResult("ps-exists", Verdict.BLOCK,
                            "No process server in Azure is registered (the configuration "
                            "server's built-in one serves replication to Azure, not failback).",
                            "Deploy a process server in Azure and register it with the "
                            "configuration server, or pass `ps=` one.")]
    if known(ps.health, HEALTH_BAD) or stale(f.now, ps.last_heartbeat):
        return [CheckResult("ps-exists", Verdict.BLOCK,
                            f"Process server `{ps.name}` is not healthy (health {ps.health}, "
                            f"heartbeat {_ago(f.now, ps.last_heartbeat)}).",
                            "Fix the process server (services, disk space) or pass `ps=` another "
                            "one.")]
    how = ("in the vault, Site Recovery infrastructure → Configuration servers → the server → "
           "Process servers: the process server shows healthy with a recent heartbeat.")
    results = [] if known(ps.health, HEALTH_GOOD) else [
        unseen("ps-exists", f"Process server `{ps.name}`'s health", ps.health,
               HEALTH_GOOD + HEALTH_BAD, how)]
    if ps.service_status and not known(ps.service_status, SERVICE_RUNNING):
        results.append(unseen("ps-exists", f"Process server `{ps.name}`'s service status "
                              "(psServiceStatus)", ps.service_status, SERVICE_RUNNING, how))
    return results or _ok("ps-exists", f"Process server `{ps.name}` is healthy.")


def mt_os_match(f: Facts) -> list[CheckResult]:
    mt = f.master_target
    if mt is None or not mt.os_type:
        return []
    odd = [(f"Master target `{mt.name}`'s OS type", mt.os_type)] \
        if not known(mt.os_type, OS_FAMILIES) else []
    odd += [(f"VM `{i.friendly_name}`'s OS type", i.os_type) for i in f.items
            if i.os_type and not known(i.os_type, OS_FAMILIES)]
    results = [unseen("mt-os-match", what, raw, OS_FAMILIES,
                      "the VMs and the master target run the same OS family (Windows or "
                      "Linux); Site Recovery shows it on each replicated item and on the "
                      "master target server.") for what, raw in odd]
    family = mt.os_type.casefold()
    wrong = tuple(i.friendly_name for i in f.items if known(mt.os_type, OS_FAMILIES)
                  and known(i.os_type, OS_FAMILIES) and (i.os_type or "").casefold() != family)
    if wrong:
        results.append(CheckResult(
            "mt-os-match", Verdict.BLOCK, f"OS differs from the master target's ({mt.os_type}).",
            "Use a master target server of the VMs' OS family (Windows VMs need a Windows "
            "master target, Linux VMs a Linux one).", wrong))
    return results or _ok("mt-os-match", f"VMs and master target share the {mt.os_type} OS family.")


def group_same_mt(f: Facts) -> list[CheckResult]:
    grouped = tuple(i.friendly_name for i in f.items if i.multi_vm_group)
    if f.narrowed and grouped:
        return [CheckResult("group-same-mt", Verdict.BLOCK,
                            "Part of a multi-VM consistency group: such VMs are reprotected "
                            "only with their whole recovery plan.",
                            "Drop `vm=` to reprotect the whole plan through one master target.",
                            grouped)]
    return _ok("group-same-mt", "Replication groups go through one master target.")


def datastore_ok(f: Facts) -> list[CheckResult]:
    if f.master_target is None:
        return []
    if f.datastore is None:
        return [CheckResult("datastore-ok", Verdict.BLOCK,
                            f"No usable datastore on master target `{f.master_target.name}`.",
                            "Give the master target's ESXi host a VMFS or vSAN datastore with "
                            "free space, refresh the configuration server, then retry.")]
    return _ok("datastore-ok", f"Datastore `{f.datastore.name}` is on master target "
                               f"`{f.master_target.name}` with room.")


def datastore_type(f: Facts) -> list[CheckResult]:
    """Site Recovery's spelling of the type is not pinned: vCenter's, when read, can block."""
    if f.datastore is None:
        return []
    if not known(f.datastore_type, FAILBACK_DATASTORE_TYPES):
        return [unseen("datastore-type", f"Site Recovery's type of datastore "
                       f"`{f.datastore.name}`", f.datastore_type or "", FAILBACK_DATASTORE_TYPES,
                       "in vCenter, Storage → the datastore → Summary shows type VMFS or vSAN "
                       "(NFS is not supported for failback); with VCENTER_URL set the bot reads "
                       "it there. Else pass `datastore=` another one.")]
    return _ok("datastore-type", f"Datastore `{f.datastore.name}` is {f.datastore_type}.")


def retention_ok(f: Facts) -> list[CheckResult]:
    if f.master_target is None:
        return []
    volume = f.retention
    if volume is None:
        return [CheckResult("retention-ok", Verdict.BLOCK,
                            f"No retention volume on master target `{f.master_target.name}`.",
                            "Add a retention volume to the master target (it shows up within 15 "
                            "minutes, or refresh the configuration server).")]
    size = retention_size(volume)
    if not volume.free_bytes:
        return [CheckResult("retention-ok", Verdict.BLOCK,
                            f"Retention volume `{volume.volume_name}` has no free space "
                            f"({size}).",
                            "Free space on the volume, or pass `retention=` another one; refresh "
                            "the configuration server if it has room.")]
    threshold = volume.threshold_percent
    used, free = volume.used_percent, volume.free_percent
    if threshold is not None and used is not None and free is not None and \
            (used >= threshold or free <= threshold):
        return [CheckResult(
            "retention-ok", Verdict.WARN,
            f"Retention volume `{volume.volume_name}` may be close to full: {size}. Site "
            f"Recovery does not say whether its threshold is the used space that raises an "
            f"alert ({used:.0f}% used) or the free space that must remain ({free:.0f}% free).",
            "Check the volume's free space on the master target and its alerts in the vault; "
            "free space, or pass `retention=` a roomier volume.")]
    return _ok("retention-ok", f"Retention volume `{volume.volume_name}` has room: {size}.")


def retention_size(volume: RetentionVolume) -> str:
    """Free space and threshold as Site Recovery gives them."""
    gib = 2**30
    free = "free space not reported" if volume.free_bytes is None else \
        f"{volume.free_bytes / gib:.0f} GiB free"
    capacity = "" if not volume.capacity_bytes else f" of {volume.capacity_bytes / gib:.0f} GiB"
    threshold = "" if volume.threshold_percent is None else \
        f", threshold {volume.threshold_percent}%"
    return free + capacity + threshold


def failback_policy(f: Facts) -> list[CheckResult]:
    if f.policy is None:
        return [CheckResult("failback-policy", Verdict.BLOCK,
                            "No failback (InMage) policy is mapped to the configuration server.",
                            "Create the VMware-to-Azure replication policy (its failback policy "
                            "is created with it) and associate it with the configuration "
                            "server.")]
    return _ok("failback-policy", f"Failback policy `{f.policy.name}` is mapped.")


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
