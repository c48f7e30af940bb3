"""What the preflight checks read: Site Recovery's and vCenter's answers, and the values chosen.

Every check module of `providers.classic` (`preflight`, `vcenter_checks`, …) imports this one and
none imports another's facts, so the checks form no import cycle. The helpers here are shared
by the checks: free-text values compared case-insensitively, heartbeats, "not healthy".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.plan import CheckResult, Choice, Verdict
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


def unseen(check: str, what: str, raw: str, expected: Sequence[str], confirm: str
           ) -> CheckResult:
    """A free-text value no public source pins that is not a known-good one: shown as given,
    with what was expected and how to confirm by hand. A warning, never a blocker."""
    wanted = " or ".join(f"`{e}`" for e in expected)
    return CheckResult(check, Verdict.WARN,
                       f"{what} is `{raw}`, not a value the bot knows (expected {wanted}, in any "
                       "case); Site Recovery does not document its values, so it does not block.",
                       f"Confirm by hand: {confirm}")


def stale(now: datetime, heartbeat: datetime | None) -> bool:
    return heartbeat is None or utc(now) - utc(heartbeat) > HEARTBEAT_STALE


def ago(now: datetime, heartbeat: datetime | None) -> str:
    if heartbeat is None:
        return "never"
    minutes = int((utc(now) - utc(heartbeat)).total_seconds() // 60)
    return f"{minutes} min ago"


def health_problems(now: datetime, heartbeat: datetime | None,
                    errors: Sequence[HealthIssue]) -> list[str]:
    """A stale heartbeat and Site Recovery's health errors, as short phrases."""
    problems = [f"last heartbeat {ago(now, heartbeat)}"] if stale(now, heartbeat) else []
    return problems + [f"{e.code} {e.message}".strip() for e in errors]


def not_healthy(check: str, what: str, problems: Sequence[str], fix: str) -> CheckResult:
    """The blocker for a server Site Recovery reports unhealthy, naming every problem."""
    return CheckResult(check, Verdict.BLOCK,
                       f"{what} is not healthy: " + "; ".join(problems) + ".", fix)
