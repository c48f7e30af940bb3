"""Reprotect to the private cloud: after a failover to Azure, replicate each VM back to AVS.
(After a committed failback, `/reprotect` goes to Azure: `operations.reprotect_to_azure`.)

One write per protected item (`POST {item}/reProtect`, `failoverDirection: RecoveryToPrimary`)
with the architecture's provider input; an item is done when its `protectionState` is
`Protected`. The values and the input are the provider's (`Provider.reprotect_values`,
`reprotect_input`); the checks are its preflight, run while it resolves the plan.
"""

from __future__ import annotations

from datetime import datetime

from core.plan import ReprotectRequest, ResolvedPlan, SentValue
from gateways.site_recovery_models import PlanContext, ProtectedItem
from operations.base import Form, Scope, Submission
from operations.reprotect_to_azure import ReprotectToAzure, goes_to_azure
from providers import provider_named
from providers.base import Provider
from providers.checks import VCenterReading

FORM = Form(
    command="/reprotect",
    keys=("plan", "master", "appliance", "ps", "datastore", "retention", "logstorage", "vm",
          "account"),
    # Keys of one architecture's form only (README: Using it); `account` goes
    # with both once the direction is known (`reprotect_to_azure.misdirected`).
    form_keys={"master": ("ps", "retention"), "appliance": ("logstorage",)},
)
# Site Recovery's name for reprotect in an item's `allowedOperations`.
ALLOWED_AS = "ReverseReplicate"


class Reprotect:
    name = "reprotect"
    form = FORM
    scope = Scope.ITEM
    done_word = "protected"

    def __init__(self) -> None:
        self.to_azure = ReprotectToAzure(FORM)

    def plan(self, provider: Provider, request: ReprotectRequest, context: PlanContext,
             items: tuple[ProtectedItem, ...], *, now: datetime,
             vcenter: VCenterReading) -> ResolvedPlan:
        """To the private cloud through the provider; a plan whose VMs run there again goes
        to Azure (`reprotect_to_azure`), the operation its plan names from then on."""
        if goes_to_azure(items):
            return self.to_azure.plan(provider, request, context, items, now=now,
                                      vcenter=vcenter)
        return provider.plan(request, context, items, now=now, vcenter=vcenter)

    def values(self, plan: ResolvedPlan) -> tuple[SentValue, ...]:
        return provider_named(plan.provider).reprotect_values(plan)

    def submission(self, plan: ResolvedPlan, item_id: str) -> Submission:
        return Submission(item_id, provider_named(plan.provider).reprotect_input(plan, item_id))

    def done(self, item: ProtectedItem) -> bool:
        return item.protected

    def may_send(self, item: ProtectedItem) -> bool:
        return ALLOWED_AS in item.allowed_operations
