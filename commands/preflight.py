"""Preflight checks: small functions from facts to verdicts, listed in one registry.

Each check reads the `Facts` gathered in bulk and returns `CheckResult`s; expected refusals
are values, never exceptions. Ids and verdicts follow `shared/reprotect-prerequisites.md`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from commands.mrkdwn import code
from commands.plan_model import CheckResult, Choice, Verdict
from commands.plan_model import passed as _ok
from commands.vcenter_checks import VCENTER_CHECKS, VCenterReading
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

HEARTBEAT_STALE = timedelta(minutes=15)
FAILBACK_DATASTORE_TYPES = ("vmfs", "vsan")


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


Check = Callable[[Facts], Sequence[CheckResult]]


def _stale(now: datetime, heartbeat: datetime | None) -> bool:
    return heartbeat is None or now - heartbeat > HEARTBEAT_STALE


def _ago(now: datetime, heartbeat: datetime | None) -> str:
    if heartbeat is None:
        return "never"
    minutes = int((now - heartbeat).total_seconds() // 60)
    return f"{minutes} min ago"


def _health_problems(now: datetime, heartbeat: datetime | None,
                     errors: Sequence[HealthIssue]) -> list[str]:
    """A stale heartbeat and Site Recovery's health errors, as short phrases."""
    problems = [f"last heartbeat {_ago(now, heartbeat)}"] if _stale(now, heartbeat) else []
    return problems + [f"{e.code} {e.message}".strip() for e in errors]


def cs_connected(f: Facts) -> list[CheckResult]:
    cs = f.config_server
    if cs is None:
        return [CheckResult("cs-connected", Verdict.BLOCK,
                            "No configuration server (VMware fabric) is registered in the vault.",
                            "Register the configuration server with the vault, then run "
                            "`/reprotect` again.")]
    problems = _health_problems(f.now, cs.last_heartbeat, cs.health_errors)
    if cs.service_status and cs.service_status.lower() != "running":
        problems.append(f"service {cs.service_status}")
    if problems:
        return [CheckResult("cs-connected", Verdict.BLOCK,
                            f"Configuration server `{cs.host_name}` is not healthy: "
                            + "; ".join(problems) + ".",
                            "Start the configuration server's services and check its connection "
                            "to Azure (outbound 443); its heartbeat must be under 15 minutes old.")]
    return _ok("cs-connected", f"Configuration server `{cs.host_name}` is connected.")


def vm_known(f: Facts) -> list[CheckResult]:
    if f.config_server is None:
        return []
    unknown = [i.friendly_name for i in f.items
               if i.fabric_name.lower() != f.config_server.fabric_name.lower()
               or i.provider not in ("InMageAzureV2", "InMage")]
    if unknown:
        return [CheckResult("vm-known", Verdict.BLOCK,
                            "Not replicated through this configuration server (failback would "
                            "fail).",
                            "Reprotect only VMs protected VMware-to-Azure through this "
                            "configuration server; check the VM's replication settings.",
                            tuple(unknown))]
    return _ok("vm-known", "Every VM is known to the configuration server.")


def reprotect_allowed(f: Facts) -> list[CheckResult]:
    results: list[CheckResult] = []
    busy = [i for i in f.items if not i.current_scenario.idle]
    refused = [i for i in f.items if i.current_scenario.idle
               and "ReverseReplicate" not in i.allowed_operations]
    done = [i for i in refused if i.protected and i.provider == "InMage"]
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
                 if i.agent_heartbeat is not None and _stale(f.now, i.agent_heartbeat))
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
                            "No healthy process server in Azure is registered.",
                            "Deploy a process server in Azure and register it with the "
                            "configuration server, or pass `ps=` a healthy one.")]
    if ps.health.lower() in ("warning", "critical") or _stale(f.now, ps.last_heartbeat):
        return [CheckResult("ps-exists", Verdict.BLOCK,
                            f"Process server `{ps.name}` is not healthy (health {ps.health}, "
                            f"heartbeat {_ago(f.now, ps.last_heartbeat)}).",
                            "Fix the process server (services, disk space) or pass `ps=` another "
                            "one.")]
    return _ok("ps-exists", f"Process server `{ps.name}` is healthy.")


def mt_os_match(f: Facts) -> list[CheckResult]:
    mt = f.master_target
    if mt is None or not mt.os_type:
        return []
    family = mt.os_type.lower()
    wrong = tuple(i.friendly_name for i in f.items
                  if i.os_type and i.os_type.lower() != family)
    if wrong:
        return [CheckResult("mt-os-match", Verdict.BLOCK,
                            f"OS differs from the master target's ({mt.os_type}).",
                            "Use a master target server of the VMs' OS family (Windows VMs need "
                            "a Windows master target, Linux VMs a Linux one).", wrong)]
    return _ok("mt-os-match", f"VMs and master target share the {mt.os_type} OS family.")


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
    if f.datastore is None:
        return []
    if (f.datastore_type or "").lower() not in FAILBACK_DATASTORE_TYPES:
        return [CheckResult("datastore-type", Verdict.BLOCK,
                            f"Datastore `{f.datastore.name}` is "
                            f"{f.datastore_type or 'of unknown type'}: failback needs VMFS or vSAN "
                            "(NFS is not supported).",
                            "Pick a VMFS or vSAN datastore with `datastore=`.")]
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
    free = volume.free_percent
    if free is not None and volume.threshold_percent is not None and \
            free <= volume.threshold_percent:
        return [CheckResult("retention-ok", Verdict.BLOCK,
                            f"Retention volume `{volume.volume_name}` is {free:.0f}% free, at or "
                            f"below its {volume.threshold_percent}% threshold.",
                            "Free space on the volume or pass `retention=` another one.")]
    return _ok("retention-ok", f"Retention volume `{volume.volume_name}` has room.")


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
    cs_connected, vm_known, reprotect_allowed, agent_registered, mt_exists, ps_exists,
    mt_os_match, group_same_mt, source_supported, datastore_ok, datastore_type, retention_ok,
    failback_policy, vault_signing, *VCENTER_CHECKS, network_ready,
)


def run_checks(facts: Facts, checks: Sequence[Check] = CHECKS) -> tuple[CheckResult, ...]:
    return tuple(result for check in checks for result in check(facts))
