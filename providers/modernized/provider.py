"""The modernized architecture (replication appliance in the private cloud, log storage account
in Azure): items `InMageRcm` when failed over, `InMageRcmFailback` once reprotected. Azure
PowerShell's `-ReplicateAzureToVMware` is the reference for what is sent (modernized.md §3).

A plan mixing both architectures comes here too: its `architecture` check blocks with the two
commands that reprotect each part.
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
    Verdict,
    passed,
)
from gateways.rcm_models import (
    MODERNIZED_PROVIDERS,
    Architecture,
    ModernizedPlanContext,
    RcmItem,
    RcmReprotectInput,
    detect_architecture,
)
from gateways.site_recovery_models import PlanContext, ProtectedItem
from gateways.vcenter_absent import VCenterNotConfigured
from providers.base import HelperVm, wrong_form
from providers.checks import VCenterReading, avs_moref
from providers.modernized.checks import run_checks
from providers.modernized.choices import choose, choose_appliance
from providers.modernized.facts import ItemChoice, ModernizedFacts, failback_disks


class ModernizedProvider:
    """`providers.base.Provider` for the modernized architecture."""

    name = "modernized"

    def claims(self, item: ProtectedItem) -> bool:
        return item.provider.lower() in MODERNIZED_PROVIDERS

    def misdirected(self, request: ReprotectRequest, context: PlanContext
                    ) -> PlanProblem | None:
        """`master=` on a plan whose items are all modernized (a mixed plan is left to the
        `architecture` check, which says how to split it)."""
        if request.appliance is not None or detect_architecture(
                i.provider for i in context.items) is not Architecture.MODERNIZED:
            return None
        fabric = _site(context).fabric
        return wrong_form("master", request.master, "appliance",
                          [a.name for a in fabric.appliances] if fabric else [],
                          context.plan.friendly_name, self.name)

    def helper_vm(self, request: ReprotectRequest, context: PlanContext) -> HelperVm | None:
        """The appliance VM, looked up in vCenter by the appliance's name."""
        appliance = choose_appliance(request.appliance or "", _site(context).fabric)
        return HelperVm(appliance.name, None) if appliance else None

    def plan(self, request: ReprotectRequest, context: PlanContext,
             items: tuple[ProtectedItem, ...], *, now: datetime,
             vcenter: VCenterReading) -> ResolvedPlan:
        """Pick the appliance, each VM's datastore and log storage account; run every check."""
        site = _site(context)
        read = {i.item.id.lower(): i for i in site.rcm_items}
        rcm_items = tuple(read.get(i.id.lower()) or _unread(i) for i in items)
        appliance = choose_appliance(request.appliance or "", site.fabric)
        inventory = vcenter.inventory
        choices = choose(rcm_items, appliance, datastore=request.datastore,
                         logstorage=request.logstorage, inventory=inventory)
        facts = ModernizedFacts(
            now=now, plan_name=context.plan.friendly_name, items=rcm_items, fabric=site.fabric,
            appliance=appliance, appliance_wanted=request.appliance or request.master,
            choices=choices, policy=site.rcm_policy, vcenter=inventory,
            failback_disks=failback_disks(appliance, site.failing_back) or None
            if appliance else None,
            datastore_wanted=request.datastore, logstorage_wanted=request.logstorage)
        by_id = {c.item_id.lower(): c for c in choices}
        policy = site.rcm_policy
        return ResolvedPlan(
            provider=self.name,
            plan_id=context.plan.id, plan_name=context.plan.name,
            plan_friendly_name=context.plan.friendly_name,
            items=tuple(_planned(i, by_id.get(i.id.lower()), vcenter) for i in items),
            master_target=None, process_server=None, datastore=None, retention=None,
            policy=Choice(policy.id, policy.name, f"mapped by `{policy.mapping_name}`")
            if policy else None,
            run_as_account_id=None,
            appliance=Choice(appliance.id, appliance.name, "given") if appliance else None,
            checks=_vcenter_results(vcenter) + run_checks(facts),
        )

    def reprotect_values(self, plan: ResolvedPlan) -> tuple[SentValue, ...]:
        """The appliance and policy of the plan, each VM's datastore and log storage
        (`InMageRcmReprotectInput`)."""
        return (SentValue("appliance", "Replication appliance", plan.appliance),
                SentValue("datastore", "Datastore", per_item=tuple(
                    (i.item_id, i.vm_name, i.datastore) for i in plan.items)),
                SentValue("log_storage", "Log storage account", per_item=tuple(
                    (i.item_id, i.vm_name, i.log_storage) for i in plan.items)),
                SentValue("policy", "Failback policy", plan.policy))

    def reprotect_input(self, plan: ResolvedPlan, item_id: str) -> RcmReprotectInput:
        """`InMageRcmReprotectInput` for one item; an approvable plan has every value."""
        if not any(i.item_id.lower() == item_id.lower() for i in plan.items):
            raise LookupError(f"item {item_id} is not in plan {plan.plan_name}")
        sent = {v.key: v.for_item(item_id) for v in self.reprotect_values(plan)}
        appliance, datastore, log_storage, policy = (
            sent["appliance"], sent["datastore"], sent["log_storage"], sent["policy"])
        assert appliance and datastore and log_storage
        return RcmReprotectInput(
            reprotect_agent_id=appliance.id, datastore_name=datastore.id,
            log_storage_account_id=log_storage.id, policy_id=policy.id if policy else None)


def _site(context: PlanContext) -> ModernizedPlanContext:
    """The gateway reads a plan with modernized items as a `ModernizedPlanContext`."""
    if isinstance(context, ModernizedPlanContext):
        return context
    return ModernizedPlanContext(**vars(context))


def _unread(item: ProtectedItem) -> RcmItem:
    """An item without its modernized details (not read as such): nothing known of them."""
    return RcmItem(item=item, agent_registered=None, discovered_datastores=(), vm_deleted=None,
                   vcenter_id=None, log_storage_account_ids=(), disk_count=0)


def _planned(item: ProtectedItem, choice: ItemChoice | None,
             vcenter: VCenterReading) -> PlannedItem:
    inventory = vcenter.inventory
    return PlannedItem(item_id=item.id, vm_name=item.friendly_name,
                       avs_vm=avs_moref(inventory, item),
                       datastore=choice.datastore if choice else None,
                       log_storage=choice.log_storage if choice else None)


def _vcenter_results(reading: VCenterReading) -> tuple[CheckResult, ...]:
    """The bot's vCenter: not configured warns; a refusal blocks, as in classic plans
    (`vcenter-connected`), since the appliance's datastore mounts could not be checked."""
    error = reading.error
    if isinstance(error, VCenterNotConfigured):
        return (CheckResult("vcenter-connected", Verdict.WARN, "modernized-not-configured",
                            {"what": error.what, "fix": error.fix}),)
    if error is not None:
        return (CheckResult("vcenter-connected", Verdict.BLOCK,
                            "modernized-unread" if error.fix else "modernized-unread-no-fix",
                            {"what": error.what, "why": error.why, "fix": error.fix}),)
    inventory = reading.inventory
    return tuple(passed("vcenter-connected", "ok",
                        {"host": reading.host, "product": inventory.about.full_name})) \
        if inventory else ()
