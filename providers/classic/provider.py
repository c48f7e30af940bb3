"""The classic architecture (configuration server, process server in Azure, master target
server in the private cloud): items `InMageAzureV2` when failed over, `InMage` once
reprotected. Azure PowerShell's `-AzureToVMware` is the reference for what is sent.
"""

from __future__ import annotations

from datetime import datetime

from core.notices import PlanProblem
from core.plan import (
    CheckResult,
    Choice,
    PlannedItem,
    ReprotectRequest,
    ResolvedPlan,
    SentValue,
)
from gateways.site_recovery_models import (
    ConfigurationServer,
    Datastore,
    MasterTarget,
    PlanContext,
    ProcessServer,
    ProtectedItem,
    ReprotectInput,
    RetentionVolume,
)
from providers.base import HelperVm, given, wrong_form
from providers.checks import HEALTH_BAD, HEALTH_GOOD, VCenterReading, avs_moref, known, stale
from providers.classic.facts import Facts
from providers.classic.infrastructure_checks import (
    FAILBACK_DATASTORE_TYPES,
    retention_size,
)
from providers.classic.preflight import run_checks
from providers.names import find

ITEM_PROVIDERS = ("InMageAzureV2", "InMage")  # failed over to Azure; reprotected


class ClassicProvider:
    """`providers.base.Provider` for the classic architecture."""

    name = "classic"

    def claims(self, item: ProtectedItem) -> bool:
        return known(item.provider, ITEM_PROVIDERS)

    def misdirected(self, request: ReprotectRequest, context: PlanContext
                    ) -> PlanProblem | None:
        """`appliance=` on a plan whose items are all classic."""
        if request.appliance is None or not all(self.claims(i) for i in context.items):
            return None
        cs = context.config_server
        return wrong_form("appliance", request.appliance, "master",
                          [m.name for m in cs.master_targets] if cs else [],
                          context.plan.friendly_name, self.name)

    def helper_vm(self, request: ReprotectRequest, context: PlanContext) -> HelperVm | None:
        master = _master(request, context.config_server)
        return HelperVm(master.name, master.ip_address) if master else None

    def plan(self, request: ReprotectRequest, context: PlanContext,
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
        run_as = given("account", request.account, cs.run_as_accounts if cs else (), extra,
                       lambda a: a.name, lambda a: a.account_id) if request.account else None
        return ResolvedPlan(
            provider=self.name,
            plan_id=context.plan.id, plan_name=context.plan.name,
            plan_friendly_name=context.plan.friendly_name,
            items=tuple(PlannedItem(item_id=i.id, vm_name=i.friendly_name,
                                    avs_vm=avs_moref(inventory, i)) for i in items),
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

    def reprotect_values(self, plan: ResolvedPlan) -> tuple[SentValue, ...]:
        """The plan's values, the same for every item (`InMageReprotectInput`)."""
        run_as = plan.run_as_account_id
        return (SentValue("master_target", "Master target", plan.master_target),
                SentValue("process_server", "Process server", plan.process_server),
                SentValue("datastore", "Datastore", plan.datastore),
                SentValue("retention", "Retention volume", plan.retention),
                SentValue("policy", "Failback policy", plan.policy),
                SentValue("run_as", "Run-as account of the configuration server",
                          Choice(run_as, run_as) if run_as else None, shown=False))

    def reprotect_input(self, plan: ResolvedPlan, item_id: str) -> ReprotectInput:
        """`InMageReprotectInput` from the approved plan's values; an approvable plan has
        every value but the datastore and the run-as account."""
        sent = {v.key: v.value for v in self.reprotect_values(plan)}
        master, ps, retention, policy = (sent["master_target"], sent["process_server"],
                                         sent["retention"], sent["policy"])
        assert master and ps and retention and policy
        datastore, run_as = sent["datastore"], sent["run_as"]
        return ReprotectInput(
            master_target_id=master.id, process_server_id=ps.id, retention_drive=retention.id,
            datastore_name=datastore.id if datastore else None, profile_id=policy.id,
            run_as_account_id=run_as.id if run_as else None)


def _master(request: ReprotectRequest, cs: ConfigurationServer | None) -> MasterTarget | None:
    if cs is None:
        return None
    return find(request.master, cs.master_targets, lambda m: m.name, lambda m: m.ip_address)


def _process_server(request: ReprotectRequest, cs: ConfigurationServer | None, now: datetime,
                    extra: list[CheckResult]) -> tuple[ProcessServer, str] | None:
    """The operator's `ps=`, else a process server in Azure: the configuration server's
    built-in one (same host) is left out, the rest ranked by health, heartbeat, then load."""
    servers = cs.process_servers if cs else ()
    if request.process_server:
        found = given("ps", request.process_server, servers, extra, lambda p: p.name,
                      lambda p: p.ip_address)
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
        found = given("datastore", request.datastore, stores, extra, lambda d: d.symbolic_name,
                      of=master.name)
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
        found = given("retention", request.retention, volumes, extra, lambda v: v.volume_name,
                      of=master.name)
        return (found, "given") if found else None
    if not volumes:
        return None
    best = max(volumes, key=lambda v: v.free_bytes or 0)
    return best, f"most free space ({retention_size(best)}); `retention=` chooses another"
