"""Reprotect to Azure: after a committed failback, replicate each VM from the private cloud
back to Azure, so it is protected against the next disaster.

`/reprotect` names both directions; the plan's items tell which (`goes_to_azure`), as they tell
the architecture, and the form the operator typed must fit both (`misdirected`, answered
privately). One write per protected item, the same `POST {item}/reProtect` as reprotect to the
private cloud: classic `InMageAzureV2` (`RecoveryToPrimary`), modernized `InMageRcmFailback`
(`PrimaryToRecovery`), the gateway builds both bodies. An item is done when its
`protectionState` is `Protected` again (provider `InMageAzureV2` / `InMageRcm`). A VM whose
agent has not re-registered since it booted in the private cloud (up to 15 minutes) is
refused "agent isn't installed": the tracking machine waits and retries, as for any reprotect.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from core.notices import PlanIssue, PlanProblem
from core.plan import (
    CheckResult,
    PlannedItem,
    ReprotectRequest,
    ResolvedPlan,
    SentValue,
)
from gateways.site_recovery_failback_models import AzureV2ReprotectInput, RcmFailbackReprotectInput
from gateways.site_recovery_models import PlanContext, ProtectedItem
from operations import to_azure_checks as checks
from operations.base import Form, Scope, Submission
from providers import MODERNIZED, provider_for
from providers.base import Provider
from providers.checks import VCenterReading

NAME = "reprotect-to-azure"
# The keys of each direction's form, by architecture: (the keys one of which names the form,
# the other keys it takes); `plan=` and `vm=` go with every form.
FORMS: dict[tuple[str, str], tuple[tuple[str, ...], tuple[str, ...]]] = {
    ("azure", "classic"): (("ps", "account"), ("master",)),
    ("azure", "modernized"): (("appliance",), ("account",)),
    ("avs", "classic"): (("master",), ("ps", "datastore", "retention", "account")),
    ("avs", "modernized"): (("appliance",), ("datastore", "logstorage")),
}


def goes_to_azure(items: Sequence[ProtectedItem]) -> bool:
    """A VM of the plan runs in the private cloud again: reprotect goes to Azure (the items
    that do not are blocked by name); else to the private cloud, as before failback."""
    return any(checks.back_in_private_cloud(i) for i in items)


def misdirected(request: ReprotectRequest, context: PlanContext,
                items: Sequence[ProtectedItem]) -> PlanProblem | None:
    """The command's keys do not fit the plan's direction and architecture: a key of another
    form, or none of the keys that name this one. The answer names the form that fits."""
    direction = "azure" if goes_to_azure(items) else "avs"
    architecture = provider_for(items).name
    naming, others = FORMS[direction, architecture]
    typed = {k: v for k, v in (
        ("master", request.master), ("appliance", request.appliance),
        ("ps", request.process_server), ("account", request.account),
        ("datastore", request.datastore), ("retention", request.retention),
        ("logstorage", request.logstorage)) if v}
    stray = [k for k in typed if k not in naming + others]
    if direction == "avs" and ("master" in stray or "appliance" in stray):
        return None  # the other architecture's form: the provider's `misdirected` answers
    if not stray and any(k in typed for k in naming):
        return None
    given = (stray or list(typed) or ["plan"])[0]
    return PlanProblem(PlanIssue.WRONG_DIRECTION, context.plan.friendly_name,
                       _names(context, direction, architecture), given=given,
                       value=typed.get(given, ""), right=direction, architecture=architecture)


def _names(context: PlanContext, direction: str, architecture: str) -> tuple[str, ...]:
    """What the form's first key names: process servers or appliances, master targets."""
    forward, cs = context.forward, context.config_server
    if direction == "azure":
        return tuple(p.name for p in forward.process_servers) if forward else ()
    if architecture == "classic":
        return tuple(m.name for m in cs.master_targets) if cs else ()
    fabric = getattr(context, "fabric", None)
    return tuple(a.name for a in fabric.appliances) if fabric else ()


class ReprotectToAzure:
    """`operations.base.Operation`: reprotect from the private cloud back to Azure."""

    name = NAME
    scope = Scope.ITEM
    done_word = "protected"

    def __init__(self, form: Form) -> None:
        self.form = form  # typed as `/reprotect`, whose form it shares

    def plan(self, provider: Provider, request: ReprotectRequest, context: PlanContext,
             items: tuple[ProtectedItem, ...], *, now: datetime,
             vcenter: VCenterReading) -> ResolvedPlan:
        """Choose the values (the operator's, or a default with its reason) and check that
        every VM is back in the private cloud with its failback committed."""
        found: list[CheckResult] = []
        modernized = provider is MODERNIZED
        if modernized:
            ps = checks.appliance(request.appliance or "", context.forward, now, found)
            master, run_as = None, checks.rcm_run_as(request.account, found)
        else:
            cs = context.config_server
            ps = checks.process_server(request.process_server, cs, now, found)
            master = checks.master_target(request.master, cs, ps, found)
            run_as = checks.run_as_account(request.account, cs.run_as_accounts if cs else (),
                                           found)
        policy = checks.forward_policy(context.forward,
                                       "InMageRcm" if modernized else "InMageAzureV2", found)
        return ResolvedPlan(
            operation=self.name, provider=provider.name,
            plan_id=context.plan.id, plan_name=context.plan.name,
            plan_friendly_name=context.plan.friendly_name,
            items=tuple(PlannedItem(item_id=i.id, vm_name=i.friendly_name) for i in items),
            master_target=master, process_server=ps, datastore=None, retention=None,
            policy=policy, run_as_account_id=run_as.id if run_as else None, run_as=run_as,
            checks=tuple(checks.readiness(items)) + tuple(found))

    def values(self, plan: ResolvedPlan) -> tuple[SentValue, ...]:
        """Classic: process server, master target, run-as account, forward policy; modernized:
        the appliance's process server, the forward policy and the run-as account if named."""
        if plan.provider == MODERNIZED.name:
            return (SentValue("process_server", "Replication appliance", plan.process_server),
                    SentValue("policy", "Replication policy (to Azure)", plan.policy),
                    SentValue("run_as", "Run-as account", plan.run_as,
                              shown=plan.run_as is not None))
        return (SentValue("process_server", "Process server", plan.process_server),
                SentValue("master_target", "Master target", plan.master_target),
                SentValue("run_as", "Run-as account", plan.run_as),
                SentValue("policy", "Replication policy (to Azure)", plan.policy))

    def submission(self, plan: ResolvedPlan, item_id: str) -> Submission:
        """`InMageAzureV2ReprotectInput` or `InMageRcmFailbackReprotectInput` for one item of an
        approved plan (approvable only with every value its checks require)."""
        if not any(i.item_id.lower() == item_id.lower() for i in plan.items):
            raise LookupError(f"item {item_id} is not in plan {plan.plan_name}")
        sent = {v.key: v.value for v in self.values(plan)}
        ps, policy, run_as = sent["process_server"], sent["policy"], sent["run_as"]
        assert ps and policy
        if plan.provider == MODERNIZED.name:
            return Submission(item_id, RcmFailbackReprotectInput(
                process_server_id=ps.id, policy_id=policy.id,
                run_as_account_id=run_as.id if run_as else None))
        master = sent["master_target"]
        assert run_as and master
        return Submission(item_id, AzureV2ReprotectInput(
            process_server_id=ps.id, run_as_account_id=run_as.id, policy_id=policy.id,
            master_target_id=master.id))

    def done(self, item: ProtectedItem) -> bool:
        """`Protected` through the forward provider again (a VM still replicating to the
        private cloud is not done, whatever its state says)."""
        return checks.protected_to_azure(item)

    def may_send(self, item: ProtectedItem) -> bool:
        return checks.REPROTECT_AS in item.allowed_operations

