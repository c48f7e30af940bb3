"""What the preflight checks read: Site Recovery's and vCenter's answers, and the values chosen.

Every check module (`commands.preflight`, `commands.vcenter_checks`, …) imports this one and
none imports another's facts, so the checks form no import cycle. The helpers here are shared
by the checks: free-text values compared case-insensitively, heartbeats, "not healthy".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from commands.plan_model import CheckResult, Choice, Value, Verdict
from gateways.errors import VCenterError
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
from gateways.vcenter_absent import (
    NotConfiguredVCenter,
    VCenterNotConfigured,
    not_configured_error,
)
from gateways.vcenter_models import VCenterInventory

HEARTBEAT_STALE = timedelta(minutes=15)


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


@dataclass(frozen=True)
class Facts:
    """What the checks see: Site Recovery's and vCenter's answers, and the values chosen.

    `vcenter` is the bot's own vCenter (not configured when VCENTER_URL is unset);
    `vcenters` are Site Recovery's.
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
    vcenter: VCenterReading
    vcenters: tuple[DiscoveredVCenter, ...] = ()
    vault_extended_info: bool = True
    vault_extended_info_forbidden: bool = False


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
