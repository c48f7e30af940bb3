"""Helpers shared by the checks of every architecture (`providers.classic`,
`providers.modernized`): free-text values Site Recovery may spell in any case, heartbeats and
health, what was read from vCenter, and which vCenter VM answers to a plan's VM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.plan import CheckResult, Value, Verdict
from gateways.errors import VCenterError
from gateways.site_recovery_models import HealthIssue, ProtectedItem
from gateways.timestamps import utc
from gateways.vcenter_absent import (
    NotConfiguredVCenter,
    VCenterNotConfigured,
    not_configured_error,
)
from gateways.vcenter_models import StorageVMotion, VCenterInventory, VmInfo

HEARTBEAT_STALE = timedelta(minutes=15)
HEALTH_GOOD = ("Normal", "None")       # SDK enum ProtectionHealth
HEALTH_BAD = ("Warning", "Critical")


@dataclass(frozen=True)
class VCenterReading:
    """What preflight got from the bot's vCenter (`host` of VCENTER_URL): its inventory, or
    the error that prevented reading it (`VCenterNotConfigured` without VCENTER_URL).
    `insecure` is VCENTER_INSECURE=1."""

    host: str
    insecure: bool = False
    inventory: VCenterInventory | None = None
    error: VCenterError | None = None

    @property
    def configured(self) -> bool:
        return not isinstance(self.error, VCenterNotConfigured)


def not_configured() -> VCenterReading:
    """The reading of a bot without VCENTER_URL, as the not-configured vCenter answers."""
    return VCenterReading(host=NotConfiguredVCenter.host, error=not_configured_error())


def known(value: str | None, good: Sequence[str]) -> bool:
    """A free-text value Site Recovery may spell in any case, among the known-good ones."""
    return (value or "").strip().casefold() in {g.casefold() for g in good}


def unseen(check: str, key: str, values: dict[str, Value], raw: str,
           expected: Sequence[str]) -> CheckResult:
    """A free-text value no public source pins that is not a known-good one: shown as given,
    with what was expected and how to confirm by hand. A warning, never a blocker."""
    return CheckResult(check, Verdict.WARN, key,
                       values | {"raw": raw, "expected": tuple(expected)})


def stale(now: datetime, heartbeat: datetime | None) -> bool:
    return heartbeat is None or utc(now) - utc(heartbeat) > HEARTBEAT_STALE


def age_minutes(now: datetime, heartbeat: datetime | None) -> int | None:
    """Whole minutes since the heartbeat; None when there never was one."""
    if heartbeat is None:
        return None
    return int((utc(now) - utc(heartbeat)).total_seconds() // 60)


def health_problems(now: datetime, heartbeat: datetime | None,
                    errors: Sequence[HealthIssue]) -> tuple[Value, ...]:
    """A stale heartbeat (its age in minutes, None: never) and Site Recovery's health errors
    (code and message, as given)."""
    late: tuple[Value, ...] = (age_minutes(now, heartbeat),) if stale(now, heartbeat) else ()
    return late + tuple(f"{e.code} {e.message}".strip() for e in errors)


def not_healthy(check: str, key: str, values: dict[str, Value],
                problems: tuple[Value, ...]) -> CheckResult:
    """The blocker for a server Site Recovery reports unhealthy, naming every problem."""
    return CheckResult(check, Verdict.BLOCK, key, values | {"problems": problems})


def norm_uuid(uuid: str | None) -> str:
    """A UUID as vCenter and Site Recovery may both spell it: no braces, dashes or case."""
    return (uuid or "").strip("{} ").replace("-", "").casefold()


def avs_match(inv: VCenterInventory, item: ProtectedItem) -> tuple[str, tuple[VmInfo, ...]]:
    """The vCenter VMs answering to a plan VM, and how they were found: the item's vmId, then
    its infrastructureVmId (each as BIOS or instance UUID), then its name; several = clash."""
    keys = (("vmId", item.vm_uuid, inv.vms_by_uuid),
            ("infrastructureVmId", item.infrastructure_vm_id, inv.vms_by_uuid),
            ("name", item.friendly_name, inv.vms_by_name))
    for label, key, unique in keys:
        if key and key in inv.duplicates:
            return label, inv.duplicates[key]
        if key and key in unique:
            found = unique[key]
            if label != "name":
                kind = "BIOS " if norm_uuid(found.bios_uuid) == norm_uuid(key) else \
                    "instance " if norm_uuid(found.instance_uuid) == norm_uuid(key) else ""
                label = f"{label} as {kind}UUID"
            return label, (found,)
    return "", ()


def avs_candidates(inv: VCenterInventory, item: ProtectedItem) -> tuple[VmInfo, ...]:
    """The vCenter VMs answering to a plan VM (`avs_match` without how)."""
    return avs_match(inv, item)[1]


def avs_moref(inventory: VCenterInventory | None, item: ProtectedItem) -> str | None:
    """The AVS VM's moref when exactly one vCenter VM answers to the plan VM (the power guard
    watches it without searching again)."""
    found = avs_candidates(inventory, item) if inventory else ()
    return found[0].moref if len(found) == 1 else None


def storage_vmotions(moves: Sequence[StorageVMotion]) -> tuple[Value, ...]:
    """Storage vMotions as values: (when in ISO 8601 UTC, from, to, by whom or "")."""
    return tuple((utc(m.when).isoformat(), m.source_datastore, m.target_datastore, m.user or "")
                 for m in moves)
