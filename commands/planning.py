"""From the operator's names to a resolved plan: ids to send, defaults chosen, checks run.

Reads Site Recovery and vCenter in bulk through the gateways (a fixed number of calls for
any plan size, vCenter concurrently with Site Recovery) and leaves every decision to pure
functions, so the preflight reads the same in tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from commands.facts import Facts, VCenterReading, known, stale
from commands.infrastructure_checks import (
    FAILBACK_DATASTORE_TYPES,
    HEALTH_BAD,
    HEALTH_GOOD,
    retention_size,
)
from commands.mrkdwn import code
from commands.names import did_you_mean, find
from commands.parser import ReprotectRequest
from commands.plan_model import CheckResult, Choice, PlannedItem, ResolvedPlan, Verdict
from commands.preflight import run_checks
from commands.vcenter_checks import avs_candidates
from core.ports import VCenter
from gateways.errors import VCenterError
from gateways.site_recovery import SiteRecovery
from gateways.site_recovery_models import (
    ConfigurationServer,
    Datastore,
    MasterTarget,
    PlanContext,
    ProcessServer,
    ProtectedItem,
    RetentionVolume,
)
from gateways.vcenter_absent import NotConfiguredVCenter
from gateways.vcenter_models import VCenterInventory

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


@dataclass(frozen=True)
class PlanNotFound:
    """The named plan is not in the vault; `message` says so with suggestions."""

    message: str


@dataclass(frozen=True)
class VmNotInPlan:
    message: str


def resolve(request: ReprotectRequest, sources: Sources, *,
            now: datetime) -> ResolvedPlan | PlanNotFound | VmNotInPlan:
    """Find the plan, read its context and vCenter in bulk, choose values and run the checks.

    vCenter is read while Site Recovery lists the plan's context, looking VMs up by the
    plan's VM UUIDs and the master target by the name given; only if that misses is it read
    once more by the names and IP address Site Recovery shows.
    """
    gateway = sources.site_recovery
    plans = gateway.list_plans()
    plan = find(request.plan, plans, lambda p: p.name, lambda p: p.friendly_name)
    if plan is None:
        names = [p.friendly_name for p in plans] + [p.name for p in plans]
        return PlanNotFound(
            f"Recovery plan {code(request.plan)} is not in the vault. "
            + (did_you_mean(request.plan, names) or "The vault has no recovery plans."))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="vcenter-read") as pool:
        early = pool.submit(_read_vcenter, sources, (), plan.vm_ids, request.master,
                            request.master)
        context = gateway.plan_context(plan)
        reading = early.result()
    items = context.items
    if request.vms:
        missing = [v for v in request.vms if find(v, items, lambda i: i.friendly_name,
                                                  lambda i: i.name) is None]
        if missing:
            names = [i.friendly_name for i in items]
            return VmNotInPlan(
                f"{code(', '.join(missing))} is not in plan {code(plan.friendly_name)}. "
                + did_you_mean(missing[0], names))
        wanted = {v.lower() for v in request.vms}
        items = tuple(i for i in items
                      if i.friendly_name.lower() in wanted or i.name.lower() in wanted)
    master = _master(request, context.config_server)
    if _missed(reading, items, master):
        reading = _read_vcenter(sources, [i.friendly_name for i in items],
                                [u for i in items for u in (i.vm_uuid, i.infrastructure_vm_id)
                                 if u],
                                master.name if master else request.master,
                                master.ip_address if master else None)
    return choose_and_check(request, context, items, now=now, vcenter=reading)


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
            master: MasterTarget | None) -> bool:
    """The early read missed a plan VM or the master target: worth a read by name."""
    inv = reading.inventory
    if inv is None:
        return False
    return any(not avs_candidates(inv, i) for i in items) or \
        (master is not None and not inv.master_target_candidates)


def _master(request: ReprotectRequest, cs: ConfigurationServer | None) -> MasterTarget | None:
    if cs is None:
        return None
    return find(request.master, cs.master_targets, lambda m: m.name, lambda m: m.ip_address)


def choose_and_check(request: ReprotectRequest, context: PlanContext,
                     items: tuple[ProtectedItem, ...], *, now: datetime,
                     vcenter: VCenterReading) -> ResolvedPlan:
    """Pick master target, process server, datastore and retention; then run every check."""
    cs = context.config_server
    extra: list[CheckResult] = []
    master = _master(request, cs)
    ps_choice = _process_server(request, cs, now, extra)
    ds_choice, ds_type = _datastore(request, master, extra)
    retention = _retention(request, master, extra)
    facts = Facts(
        now=now, items=items, config_server=cs, master_target=master,
        master_wanted=request.master, process_server=ps_choice[0] if ps_choice else None,
        datastore=ds_choice, datastore_type=ds_type,
        retention=retention[0] if retention else None, policy=context.failback_policy,
        narrowed=bool(request.vms), vcenter=vcenter, vcenters=context.vcenters,
        vault_extended_info=context.vault_extended_info,
        vault_extended_info_forbidden=context.vault_extended_info_forbidden,
    )
    inventory = vcenter.inventory
    policy = context.failback_policy
    run_as = _given("account", request.account, cs.run_as_accounts if cs else (),
                    "the configuration server's run-as accounts", extra,
                    lambda a: a.name, lambda a: a.account_id) if request.account else None
    return ResolvedPlan(
        plan_id=context.plan.id, plan_name=context.plan.name,
        plan_friendly_name=context.plan.friendly_name,
        items=tuple(PlannedItem(item_id=i.id, vm_name=i.friendly_name,
                                avs_vm=_avs_moref(inventory, i)) for i in items),
        master_target=Choice(master.id, master.name, "given") if master else None,
        process_server=Choice(ps_choice[0].id, ps_choice[0].name, ps_choice[1])
        if ps_choice else None,
        datastore=ds_choice,
        retention=Choice(retention[0].volume_name, retention[0].volume_name, retention[1])
        if retention else None,
        policy=Choice(policy.id, policy.name, "mapped to the configuration server")
        if policy else None,
        run_as_account_id=run_as.account_id if run_as else None,
        checks=tuple(extra) + run_checks(facts),
    )


def _avs_moref(inventory: VCenterInventory | None, item: ProtectedItem) -> str | None:
    found = avs_candidates(inventory, item) if inventory else ()
    return found[0].moref if len(found) == 1 else None


def _given(key: str, wanted: str, candidates: Sequence[T], owner: str,
           extra: list[CheckResult], *keys: Callable[[T], str]) -> T | None:
    """The candidate the operator named, else a blocker that names the ones that exist."""
    found = find(wanted, candidates, *keys)
    if found is None:
        names = [keys[0](c) for c in candidates]
        known = ", ".join(code(n) for n in names) or "none"
        extra.append(CheckResult(
            f"{key}-unknown", Verdict.BLOCK,
            f"{code(f'{key}={wanted}')} is not one of {owner}: {known}. "
            + did_you_mean(wanted, names),
            f"Pass `{key}=` one of those, or leave it out to let the bot choose."))
    return found


def _process_server(request: ReprotectRequest, cs: ConfigurationServer | None, now: datetime,
                    extra: list[CheckResult]) -> tuple[ProcessServer, str] | None:
    """The operator's `ps=`, else a process server in Azure: the configuration server's
    built-in one (same host) is left out, the rest ranked by health, heartbeat, then load."""
    servers = cs.process_servers if cs else ()
    if request.process_server:
        found = _given("ps", request.process_server, servers, "the registered process servers",
                       extra, lambda p: p.name, lambda p: p.ip_address)
        return (found, "given") if found else None
    built_in = [p for p in servers if cs and cs.hosts(p)]
    in_azure = [p for p in servers if p not in built_in]
    if not in_azure:
        return None

    def rank(p: ProcessServer) -> tuple[int, bool, int, str]:
        health = 0 if known(p.health, HEALTH_GOOD) else 2 if known(p.health, HEALTH_BAD) else 1
        return health, stale(now, p.last_heartbeat), p.replication_pair_count or 0, p.name

    best = min(in_azure, key=rank)
    left_out = f"; the configuration server's built-in `{built_in[0].name}` left out" \
        if built_in else ""
    return best, (f"health {best.health}, heartbeat "
                  f"{'stale' if stale(now, best.last_heartbeat) else 'fresh'}, "
                  f"{best.replication_pair_count or 0} replication pairs: the best of "
                  f"{len(in_azure)} in Azure{left_out}; `ps=` chooses another")


def _datastore(request: ReprotectRequest, master: MasterTarget | None,
               extra: list[CheckResult]) -> tuple[Choice | None, str | None]:
    if master is None:
        return None, None
    stores = master.datastores
    if request.datastore:
        found = _given("datastore", request.datastore, stores,
                       f"the datastores of `{master.name}`", extra, lambda d: d.symbolic_name)
        if found is None:
            return None, None
        return Choice(found.symbolic_name, found.symbolic_name, "given"), found.type
    if not stores:
        return None, None

    def rank(d: Datastore) -> tuple[int, float]:
        """Known VMFS/vSAN first, then types spelled otherwise, NFS-looking ones last."""
        kind = 0 if known(d.type, FAILBACK_DATASTORE_TYPES) else \
            2 if "nfs" in d.type.casefold() else 1
        return -kind, d.free_gb or 0.0

    best = max(stores, key=rank)
    return (Choice(best.symbolic_name, best.symbolic_name,
                   f"{best.type}, most free space ({best.free_gb or 0:.0f} GB); `datastore=` "
                   "chooses another"), best.type)


def _retention(request: ReprotectRequest, master: MasterTarget | None,
               extra: list[CheckResult]) -> tuple[RetentionVolume, str] | None:
    if master is None:
        return None
    volumes = master.retention_volumes
    if request.retention:
        found = _given("retention", request.retention, volumes,
                       f"the retention volumes of `{master.name}`", extra,
                       lambda v: v.volume_name)
        return (found, "given") if found else None
    if not volumes:
        return None
    best = max(volumes, key=lambda v: v.free_bytes or 0)
    return best, f"most free space ({retention_size(best)}); `retention=` chooses another"
