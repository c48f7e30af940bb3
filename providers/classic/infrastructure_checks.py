"""Preflight checks of the classic architecture's servers and storage: configuration server,
master target, process server, datastore, retention volume and failback policy.

Checks in the manner of `providers.classic.preflight` (which lists them in its registry and names
each blocker's source in `BLOCK_SOURCES`); split from it to keep each module readable.
"""

from __future__ import annotations

from core.plan import CheckResult, Verdict
from core.plan import passed as _ok
from gateways.site_recovery_models import RetentionVolume
from providers.checks import (
    HEALTH_BAD,
    HEALTH_GOOD,
    age_minutes,
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
        return [CheckResult("cs-connected", Verdict.BLOCK, "none")]
    problems = health_problems(f.now, cs.last_heartbeat, cs.health_errors)
    results = [] if not cs.service_status or known(cs.service_status, SERVICE_RUNNING) else [
        unseen("cs-connected", "service-unseen", {"host": cs.host_name}, cs.service_status,
               SERVICE_RUNNING)]
    if problems:
        return [*results, not_healthy("cs-connected", "unhealthy", {"host": cs.host_name},
                                      problems)]
    return results or _ok("cs-connected", "ok", {"host": cs.host_name})


def mt_exists(f: Facts) -> list[CheckResult]:
    mt = f.master_target
    if mt is None:
        names = tuple(m.name for m in f.config_server.master_targets) if f.config_server \
            else ()
        return [CheckResult("mt-exists", Verdict.BLOCK, "unknown",
                            {"wanted": f.master_wanted, "registered": names})]
    problems = health_problems(f.now, mt.last_heartbeat,
                                mt.health_errors + mt.validation_errors)
    if problems:
        return [not_healthy("mt-exists", "unhealthy", {"name": mt.name}, problems)]
    return _ok("mt-exists", "ok", {"name": mt.name})


def ps_exists(f: Facts) -> list[CheckResult]:
    ps = f.process_server
    if ps is None:
        return [CheckResult("ps-exists", Verdict.BLOCK, "none")]
    if known(ps.health, HEALTH_BAD) or stale(f.now, ps.last_heartbeat):
        return [CheckResult("ps-exists", Verdict.BLOCK, "unhealthy",
                            {"name": ps.name, "health": ps.health,
                             "heartbeat": age_minutes(f.now, ps.last_heartbeat)})]
    results = [] if known(ps.health, HEALTH_GOOD) else [
        unseen("ps-exists", "health-unseen", {"name": ps.name}, ps.health,
               HEALTH_GOOD + HEALTH_BAD)]
    if ps.service_status and not known(ps.service_status, SERVICE_RUNNING):
        results.append(unseen("ps-exists", "service-unseen", {"name": ps.name},
                              ps.service_status, SERVICE_RUNNING))
    return results or _ok("ps-exists", "ok", {"name": ps.name})


def mt_os_match(f: Facts) -> list[CheckResult]:
    mt = f.master_target
    if mt is None or not mt.os_type:
        return []
    odd = [("mt-unseen", mt.name, mt.os_type)] if not known(mt.os_type, OS_FAMILIES) else []
    odd += [("vm-unseen", i.friendly_name, i.os_type) for i in f.items
            if i.os_type and not known(i.os_type, OS_FAMILIES)]
    results = [unseen("mt-os-match", key, {"name": name}, raw, OS_FAMILIES)
               for key, name, raw in odd]
    family = mt.os_type.casefold()
    wrong = tuple(i.friendly_name for i in f.items if known(mt.os_type, OS_FAMILIES)
                  and known(i.os_type, OS_FAMILIES) and (i.os_type or "").casefold() != family)
    if wrong:
        results.append(CheckResult("mt-os-match", Verdict.BLOCK, "differs",
                           {"os_type": mt.os_type}, wrong))
    return results or _ok("mt-os-match", "ok", {"os_type": mt.os_type})


def datastore_ok(f: Facts) -> list[CheckResult]:
    if f.master_target is None:
        return []
    if f.datastore is None:
        return [CheckResult("datastore-ok", Verdict.BLOCK, "none",
                            {"master_target": f.master_target.name})]
    return _ok("datastore-ok", "ok",
               {"datastore": f.datastore.name, "master_target": f.master_target.name})


def datastore_type(f: Facts) -> list[CheckResult]:
    """Site Recovery's spelling of the type is not pinned: vCenter's, when read, can block."""
    if f.datastore is None:
        return []
    if not known(f.datastore_type, FAILBACK_DATASTORE_TYPES):
        return [unseen("datastore-type", "unseen", {"datastore": f.datastore.name},
                       f.datastore_type or "", FAILBACK_DATASTORE_TYPES)]
    return _ok("datastore-type", "ok",
               {"datastore": f.datastore.name, "type": f.datastore_type})


def retention_ok(f: Facts) -> list[CheckResult]:
    if f.master_target is None:
        return []
    volume = f.retention
    if volume is None:
        return [CheckResult("retention-ok", Verdict.BLOCK, "none",
                            {"master_target": f.master_target.name})]
    size = retention_size(volume)
    if not volume.free_bytes:
        return [CheckResult("retention-ok", Verdict.BLOCK, "full",
                            {"volume": volume.volume_name, "size": size})]
    threshold = volume.threshold_percent
    used, free = volume.used_percent, volume.free_percent
    if threshold is not None and used is not None and free is not None and \
            (used >= threshold or free <= threshold):
        return [CheckResult("retention-ok", Verdict.WARN, "near-threshold",
                            {"volume": volume.volume_name, "size": size, "used": used,
                             "free": free})]
    return _ok("retention-ok", "ok", {"volume": volume.volume_name, "size": size})


def retention_size(volume: RetentionVolume) -> str:
    """Free space and threshold as Site Recovery gives them (numbers only: no names)."""
    gib = 2**30
    free = "free space not reported" if volume.free_bytes is None else \
        f"{volume.free_bytes / gib:.0f} GiB free"
    capacity = "" if not volume.capacity_bytes else f" of {volume.capacity_bytes / gib:.0f} GiB"
    threshold = "" if volume.threshold_percent is None else \
        f", threshold {volume.threshold_percent}%"
    return free + capacity + threshold


def failback_policy(f: Facts) -> list[CheckResult]:
    if f.policy is None:
        return [CheckResult("failback-policy", Verdict.BLOCK, "none")]
    return _ok("failback-policy", "ok", {"name": f.policy.name})
