"""Reprotect to the private cloud: after a failover to Azure, replicate each VM back to AVS.

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
from providers import provider_named
from providers.base import Provider
from providers.checks import VCenterReading

FORM = Form(
    command="/reprotect",
    keys=("plan", "master", "appliance", "ps", "datastore", "retention", "logstorage", "vm",
          "account"),
    # Keys of one architecture's form only (runtime contract, "The command").
    form_keys={"master": ("ps", "retention", "account"), "appliance": ("logstorage",)},
)
# Site Recovery's name for reprotect in an item's `allowedOperations`.
ALLOWED_AS = "ReverseReplicate"


class Reprotect:
    name = "reprotect"
    form = FORM
    scope = Scope.ITEM
    done_word = "protected"

    def plan(self, provider: Provider, request: ReprotectRequest, context: PlanContext,
             items: tuple[ProtectedItem, ...], *, now: datetime,
             vcenter: VCenterReading) -> ResolvedPlan:
        return provider.plan(request, context, items, now=now, vcenter=vcenter)

    def values(self, plan: ResolvedPlan) -> tuple[SentValue, ...]:
        return provider_named(plan.provider).reprotect_values(plan)

    def submission(self, plan: ResolvedPlan, item_id: str) -> Submission:
        return Submission(item_id, provider_named(plan.provider).reprotect_input(plan, item_id))

    def done(self, item: ProtectedItem) -> bool:
        return item.protected

    def may_send(self, item: ProtectedItem) -> bool:
        return ALLOWED_AS in item.allowed_operations
