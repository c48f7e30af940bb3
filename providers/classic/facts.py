"""What the classic preflight checks read: Site Recovery's and vCenter's answers, and the
values chosen.

Every check module of `providers.classic` (`preflight`, `vcenter_checks`, …) imports this one and
none imports another's facts, so the checks form no import cycle. The helpers every
architecture's checks share are in `providers.checks`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.plan import Choice
from gateways.site_recovery_models import (
    ConfigurationServer,
    DiscoveredVCenter,
    FailbackPolicy,
    MasterTarget,
    ProcessServer,
    ProtectedItem,
    RetentionVolume,
)
from gateways.vcenter_models import VmInfo
from providers.checks import VCenterReading, avs_candidates


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


def avs_vms(f: Facts) -> list[tuple[ProtectedItem, VmInfo]]:
    """Plan VMs found exactly once in vCenter, with their AVS VM."""
    inv = f.vcenter.inventory
    if inv is None:
        return []
    found = ((item, avs_candidates(inv, item)) for item in f.items)
    return [(item, vms[0]) for item, vms in found if len(vms) == 1]


def master_vm(f: Facts) -> VmInfo | None:
    inv = f.vcenter.inventory
    return inv.master_target if inv is not None and f.master_target is not None else None
