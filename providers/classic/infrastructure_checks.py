"""Preflight checks of the classic architecture's servers and storage: configuration server,
master target, process server, datastore, retention volume and failback policy.

Checks in the manner of `providers.classic.preflight` (which lists them in its registry and names
each blocker's source in `BLOCK_SOURCES`); split from it to keep each module readable.
"""

from __future__ import annotations

from core.mrkdwn import code
from core.plan import CheckResult, Verdict
from core.plan import passed as _ok
from gateways.site_recovery_models import RetentionVolume
from providers.checks import (
    HEALTH_BAD,
    HEALTH_GOOD,
    ago,
    health_problems,
    known,
    not_healthy,
    stale,
    unseen,
)
from providers.classic.facts import Facts

FAILBACK_DATASTORE_TYPES = ("VMFS", "vSAN")
SERVICE_RUNNING = ("Running",)
OS_FAMILIES = ("Windows", "Linux")


def cs_connected(f: Facts) -> list[CheckResult]:
    cs = f.config_server
    if cs is None:
        return [CheckResult("cs-connected", Verdict.BLOCK,
                            "No configuration server (VMware fabric) is registered in the vault.",
                            "Register the configuration server with the vault, then run "
                            "`/reprotect` again.")]
    problems = health_problems(f.now, cs.last_heartbeat, cs.health_errors)
    results = [] if not cs.service_status or known(cs.service_status, SERVICE_RUNNING) else [
        unseen("cs-connected", f"Configuration server `{cs.host_name}`'s service status "
               "(csServiceStatus)", cs.service_status, SERVICE_RUNNING,
               "in the vault, Site Recovery infrastructure → Configuration servers, the server "
               "shows Connected with a recent heartbeat; on the server, the Microsoft Azure "
               "Site Recovery services are running.")]
    if problems:
        return [*results, not_healthy(
            "cs-connected", f"Configuration server `{cs.host_name}`", problems,
            "Start the configuration server's services and check its connection to Azure "
            "(outbound 443); its heartbeat must be under 15 minutes old.")]
    return results or _ok("cs-connected", f"Configuration server `{cs.host_name}` is connected.")


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
    problems = health_problems(f.now, mt.last_heartbeat,
                                mt.health_errors + mt.validation_errors)
    if problems:
        return [not_healthy("mt-exists", f"Master target server `{mt.name}`", problems,
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
                            f"heartbeat {ago(f.now, ps.last_heartbeat)}).",
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
