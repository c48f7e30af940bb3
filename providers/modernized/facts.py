"""What the modernized preflight sees: Site Recovery's and vCenter's answers, values chosen."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from core.plan import Choice
from gateways.rcm_models import Appliance, RcmFabric, RcmFailbackPolicy, RcmItem
from gateways.site_recovery_models import same_arm_id
from gateways.vcenter_models import VCenterInventory
from providers.checks import known


@dataclass(frozen=True)
class ItemChoice:
    """The per-item values of `InMageRcmReprotectInput`: each VM has its own datastore
    (its own one for original location) and log storage account."""

    item_id: str
    vm_name: str
    datastore: Choice | None
    log_storage: Choice | None


@dataclass(frozen=True)
class ModernizedFacts:
    """Facts of one modernized plan.

    `appliance` is the fabric's appliance named `appliance_wanted` (None: not found).
    `vcenter` is the private cloud's inventory read with the appliance as the master target
    (its VM, host mounts and Storage vMotion events), None when not configured or unread.
    `failback_disks` counts the disks of items already failing back through the appliance
    (vault-wide, see `failback_disks`), None when not read.
    """

    now: datetime
    plan_name: str
    items: tuple[RcmItem, ...]
    fabric: RcmFabric | None
    appliance: Appliance | None
    appliance_wanted: str
    choices: tuple[ItemChoice, ...]
    policy: RcmFailbackPolicy | None
    vcenter: VCenterInventory | None = None
    failback_disks: int | None = None
    datastore_wanted: str | None = None
    logstorage_wanted: str | None = None


def failback_disks(appliance: Appliance, vault_items: Iterable[RcmItem]) -> int:
    """Disks of the vault's items already replicating back through the appliance
    (`InMageRcmFailback` with its `reprotectAgentId`): they count toward its 60."""
    return sum(i.disk_count for i in vault_items if same_arm_id(i.reprotect_agent_id, appliance.id))


FAILED_OVER = "InMageRcm"  # the provider of an item failed over and not yet reprotected


def pending_items(f: ModernizedFacts) -> list[RcmItem]:
    """Items still to reprotect: failed over (`InMageRcm`)."""
    return [i for i in f.items if known(i.provider, (FAILED_OVER,))]


def vm_names(items: Sequence[RcmItem]) -> tuple[str, ...]:
    return tuple(i.item.friendly_name for i in items)
