"""From the operator's names to a resolved plan: ids to send, defaults chosen, checks run.

Reads Site Recovery and vCenter in bulk through the gateways (a fixed number of calls for
any plan size, vCenter concurrently with Site Recovery) and leaves every decision to the
provider of the plan's architecture (`providers`), pure functions of what was read,
so the preflight reads the same in tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar, cast

from core.journey import ItemSignals, plan_journey
from core.notices import PlanIssue, PlanProblem
from core.plan import CommandRequest, ReprotectRequest, ResolvedPlan, StepRequest
from core.ports import SiteRecovery, VCenter
from gateways.errors import VCenterError
from gateways.site_recovery_models import PlanContext, ProtectedItem, RecoveryPlan
from gateways.vcenter_absent import NotConfiguredVCenter
from operations import REPROTECT, reprotect_to_azure
from operations.base import Operation, ReprotectOperation, StepOperation
from providers import provider_for
from providers.base import HelperVm
from providers.checks import VCenterReading, avs_candidates
from providers.names import find, suggest

T = TypeVar("T")


@dataclass(frozen=True)
class Sources:
    """Where a preflight reads: Site Recovery, and the private cloud's vCenter, which says
    "not configured" without VCENTER_URL (`vcenter_host` is VCENTER_URL's host,
    `vcenter_insecure` VCENTER_INSECURE)."""

    site_recovery: SiteRecovery
    vcenter: VCenter = field(default_factory=NotConfiguredVCenter)
    vcenter_host: str = ""
    vcenter_insecure: bool = False


def resolve(request: CommandRequest, sources: Sources, *, now: datetime,
            operation: Operation = REPROTECT) -> ResolvedPlan | PlanProblem:
    """Find the plan, read what the operation needs in bulk, choose values, run the checks:
    a step after reprotect from the plan's journey signals (`resolve_step`), a reprotect
    from its reprotect context."""
    plans = sources.site_recovery.list_plans()
    plan = find(request.plan, plans, lambda p: p.name, lambda p: p.friendly_name)
    if plan is None:
        names = tuple(p.friendly_name for p in plans) + tuple(p.name for p in plans)
        return PlanProblem(PlanIssue.NO_PLAN, request.plan, names,
                           suggest(request.plan, names))
    if isinstance(request, StepRequest):
        return resolve_step(request, plan, sources, now=now,
                            operation=cast(StepOperation, operation))
    return _resolve_reprotect(request, plan, sources, now=now,
                              operation=cast(ReprotectOperation, operation))


def _resolve_reprotect(request: ReprotectRequest, plan: RecoveryPlan, sources: Sources, *,
                       now: datetime, operation: ReprotectOperation) -> ResolvedPlan | PlanProblem:
    """vCenter is read while Site Recovery lists the plan's context, looking VMs up by the
    plan's VM UUIDs and the master target (or appliance) by the name given; only if that
    misses is it read once more by the names and IP address Site Recovery shows."""
    gateway = sources.site_recovery
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="vcenter-read") as pool:
        helper_name = request.appliance or request.master
        early = pool.submit(_read_vcenter, sources, (), plan.vm_ids, helper_name, helper_name)
        context = gateway.plan_context(plan)
        reading = early.result()
    items = named(request.vms, context.items, plan.friendly_name, lambda i: i)
    if isinstance(items, PlanProblem):
        return items
    provider = provider_for(items)
    misdirected = reprotect_to_azure.misdirected(request, context, items) \
        or provider.misdirected(request, context)
    if misdirected is not None:
        return misdirected
    helper = provider.helper_vm(request, context)
    if _missed(reading, items, helper):
        reading = _read_vcenter(sources, [i.friendly_name for i in items],
                                [u for i in items for u in (i.vm_uuid, i.infrastructure_vm_id)
                                 if u],
                                helper.name if helper else helper_name,
                                helper.ip_address if helper else None)
    return choose_and_check(request, context, items, now=now, vcenter=reading,
                            operation=operation)


def resolve_step(request: StepRequest, plan: RecoveryPlan, sources: Sources, *,
                 now: datetime, operation: StepOperation) -> ResolvedPlan | PlanProblem:
    """A step after reprotect: the plan's journey signals (a fixed number of reads), and
    vCenter by the plan's VM UUIDs at the same time (by name once more if that misses)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="vcenter-read") as pool:
        early = pool.submit(_read_vcenter, sources, (), plan.vm_ids, "", None)
        context = sources.site_recovery.failback_context(plan)
        reading = early.result()
    items = named(request.vms, context.items, plan.friendly_name, lambda i: i.item)
    if isinstance(items, PlanProblem):
        return items
    if _missed(reading, [i.item for i in items], None):
        reading = _read_vcenter(sources, [i.item.friendly_name for i in items],
                                [u for i in items for u in (i.item.vm_uuid,
                                                            i.item.infrastructure_vm_id) if u],
                                "", None)
    resolved = operation.plan_step(request, replace(context, items=items), now=now,
                                   vcenter=reading)
    if isinstance(resolved, PlanProblem):
        return resolved
    return replace(resolved, journey=plan_journey(  # the whole plan, whatever `vm=` names
        plan.name, plan.friendly_name,
        [ItemSignals.of(i.item, i.active_site_type) for i in context.items]))


def named(vms: Sequence[str], items: Sequence[T], plan: str,
          item_of: Callable[[T], ProtectedItem]) -> tuple[T, ...] | PlanProblem:
    """The items `vm=` names (all of them without `vm=`), by VM or item name in any case."""
    if not vms:
        return tuple(items)
    missing = [v for v in vms if find(v, items, lambda i: item_of(i).friendly_name,
                                      lambda i: item_of(i).name) is None]
    if missing:
        names = tuple(item_of(i).friendly_name for i in items)
        return PlanProblem(PlanIssue.NOT_IN_PLAN, plan, names, suggest(missing[0], names),
                           tuple(missing))
    wanted = {v.lower() for v in vms}
    return tuple(i for i in items if item_of(i).friendly_name.lower() in wanted
                 or item_of(i).name.lower() in wanted)


def _read_vcenter(sources: Sources, names: Sequence[str], uuids: Sequence[str], master: str,
                  master_ip: str | None) -> VCenterReading:
    """One inventory read; vCenter's refusals become part of the reading, never exceptions."""
    reading = VCenterReading(host=sources.vcenter_host, insecure=sources.vcenter_insecure)
    try:
        inventory = sources.vcenter.inventory(vm_names=names, vm_uuids=uuids,
                                              master_target=master, master_target_ip=master_ip)
    except VCenterError as exc:
        return replace(reading, error=exc)
    return replace(reading, inventory=inventory)


def _missed(reading: VCenterReading, items: Sequence[ProtectedItem],
            helper: HelperVm | None) -> bool:
    """The early read missed a plan VM or the provider's VM: worth a read by name."""
    inv = reading.inventory
    if inv is None:
        return False
    return any(not avs_candidates(inv, i) for i in items) or \
        (helper is not None and not inv.master_target_candidates)


def choose_and_check(request: ReprotectRequest, context: PlanContext,
                     items: tuple[ProtectedItem, ...], *, now: datetime,
                     vcenter: VCenterReading, operation: ReprotectOperation = REPROTECT
                     ) -> ResolvedPlan:
    """The plan as the operation resolves it with the provider of its items' architecture:
    values chosen, checks run; and where the whole plan stands in the journey."""
    resolved = operation.plan(provider_for(items), request, context, items, now=now,
                              vcenter=vcenter)
    return replace(resolved, journey=plan_journey(
        context.plan.name, context.plan.friendly_name,
        [ItemSignals.of(i) for i in context.items]))
