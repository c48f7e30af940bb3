"""Where each plan of the vault stands: one list of plans and one list of the vault's items,
read concurrently, whatever the number of plans and VMs (never a read per VM)."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from core.journey import ItemSignals, vault_journey
from core.notices import PlanStages
from core.ports import SiteRecovery
from gateways.errors import GatewayError

log = logging.getLogger(__name__)


def read_stages(site_recovery: SiteRecovery) -> PlanStages:
    """Every plan's stage; an outage is told with what to do, never raised."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="journey-read") as pool:
        plans_f = pool.submit(site_recovery.list_plans)
        items_f = pool.submit(site_recovery.vault_items)
        try:
            plans, items = plans_f.result(), items_f.result()
        except GatewayError as exc:
            log.warning("reading the plans' stages failed: %s", exc.what)
            return PlanStages(explanation=exc.explain())
    signals = [(i.item.id, ItemSignals.of(i.item, i.active_site_type)) for i in items]
    return PlanStages(plans=vault_journey(plans, signals))
