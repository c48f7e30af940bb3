"""What a Site Recovery architecture brings to the engine: the `Provider` seam.

Planning (the operator's names and the defaults, as a `ResolvedPlan`), the architecture's
preflight checks, and the reprotect values sent from an approved plan differ between the
classic architecture (configuration server, master target, `InMageAzureV2`) and the
modernized one (replication appliance, `InMageRcm`); tracking, approvals and the thread do
not. Each architecture is one module implementing `Provider`, listed in
`providers.PROVIDERS`. "Protected" is `ProtectedItem.protected` for every provider:
Site Recovery reports it the same way whatever replicates the item.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from core.notices import PlanIssue, PlanProblem
from core.plan import CheckResult, ReprotectRequest, ResolvedPlan, SentValue, Verdict
from gateways.site_recovery_models import PlanContext, ProtectedItem, ProviderInput
from providers.checks import VCenterReading
from providers.names import find, suggest

T = TypeVar("T")


@dataclass(frozen=True)
class HelperVm:
    """The provider's VM in the private cloud that vCenter is asked about with the plan's VMs
    (classic: the master target server), by the name and IP Site Recovery shows."""

    name: str
    ip_address: str | None


class Provider(Protocol):
    """One Site Recovery architecture; `name` is stored on the plan (`ResolvedPlan.provider`)
    to find it again when the approved plan runs."""

    name: str

    def claims(self, item: ProtectedItem) -> bool:
        """The item replicates (or, reprotected, replicates back) through this architecture."""
        ...

    def misdirected(self, request: ReprotectRequest, context: PlanContext
                    ) -> PlanProblem | None:
        """Why the request is in another architecture's form (`master=` for a modernized plan,
        `appliance=` for a classic one), naming what the operator can pass; None if it is not."""
        ...

    def helper_vm(self, request: ReprotectRequest, context: PlanContext) -> HelperVm | None:
        """The VM vCenter should find besides the plan's VMs, None when there is none."""
        ...

    def plan(self, request: ReprotectRequest, context: PlanContext,
             items: tuple[ProtectedItem, ...], *, now: datetime,
             vcenter: VCenterReading) -> ResolvedPlan:
        """Choose every value to send (the operator's or a default, with the reason) and run
        the architecture's preflight checks."""
        ...

    def reprotect_values(self, plan: ResolvedPlan) -> tuple[SentValue, ...]:
        """What a reprotect of the plan sends, as one labelled list (`core.plan.SentValue`):
        the request message shows it, the re-check compares it, the write sends it."""
        ...

    def reprotect_input(self, plan: ResolvedPlan, item_id: str) -> ProviderInput:
        """The values the gateway sends for one item of an approved plan, taken from
        `reprotect_values`."""
        ...


def given(key: str, wanted: str, candidates: Sequence[T], extra: list[CheckResult],
          *keys: Callable[[T], str], of: str = "") -> T | None:
    """The candidate the operator named, else a blocker (`<key>-unknown`) that names the ones
    that exist; `of` names the master target whose candidates they are, if any."""
    found = find(wanted, candidates, *keys)
    if found is None:
        names = tuple(keys[0](c) for c in candidates)
        extra.append(CheckResult(f"{key}-unknown", Verdict.BLOCK, "unknown", {
            "given": f"{key}={wanted}", "known": names, "suggest": suggest(wanted, names),
            "of": of}))
    return found


def wrong_form(given: str, value: str, right: str, names: Sequence[str], plan: str,
               architecture: str) -> PlanProblem:
    """A request in the other architecture's form: `plan` of `architecture` takes `right=`."""
    return PlanProblem(PlanIssue.WRONG_FORM, plan, tuple(names), given=given, value=value,
                       right=right, architecture=architecture)
