"""What the domain needs from the outside world, as small Protocols (Slack stays in `bot`,
Azure in `gateways.site_recovery`, vCenter in `gateways.vcenter`): every port is here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from core.decisions import Click, Decision
from core.notices import Notice
from gateways.site_recovery_failback_models import FailbackContext, FailbackItem
from gateways.site_recovery_models import (
    Accepted,
    Job,
    PlanContext,
    ProtectedItem,
    ProviderInput,
    RecoveryPlan,
)
from gateways.vcenter_models import VCenterInventory


class SlackUnavailable(Exception):
    """Slack could not say who someone is (a user group's members, the bot's own workspace)
    and what the bot remembered is too old: a decision that depends on it is refused and the
    person told, never taken on a guess."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what  # what Slack was asked, for `bot.views.private.slack_unavailable`


class Notifier(Protocol):
    """Private replies to one person, as data the bot words; channel messages go through
    the outbox instead."""

    def tell(self, channel: str, user: str, notice: Notice) -> None: ...


class Directory(Protocol):
    """A configured list of users and user groups, as user IDs (groups expanded); raises
    `SlackUnavailable` when a group's members are not known recently enough."""

    def members(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class Throttled:
    """Slow work was not taken now: retry in `retry_in` seconds. `everyone`: the bot's queue
    is full; else this person started as many as one person may in a while."""

    retry_in: int
    everyone: bool


class Gate(Protocol):
    """Admits one more preflight or cancellation from `user` (and counts it), or says when
    to retry."""

    def admit(self, user: str) -> Throttled | None: ...


class Waker(Protocol):
    """Asks the scheduler to run a periodic job now rather than at its next tick."""

    def wake(self, job: str) -> None: ...


class VCenter(Protocol):
    """The private cloud's vCenter, read in bulk (`gateways.vcenter.VCenterGateway`).

    Both calls raise `gateways.errors.VCenterError` subclasses on an outage, a refused login
    or a missing privilege; preflight turns those into blocking results.
    """

    def inventory(self, *, vm_names: Sequence[str], vm_uuids: Sequence[str],
                  master_target: str, master_target_ip: str | None = None) -> VCenterInventory:
        ...

    def power_states(self, vm_refs: Sequence[str]) -> dict[str, str]: ...


class SiteRecovery(Protocol):
    """What the domain needs from Site Recovery; the emulator and Azure both satisfy it."""

    def list_plans(self) -> list[RecoveryPlan]: ...

    def plan_context(self, plan: RecoveryPlan) -> PlanContext: ...

    def failback_context(self, plan: RecoveryPlan) -> FailbackContext:
        """The plan's and its items' journey signals (the steps after reprotect)."""
        ...

    def get_item(self, item_id: str) -> ProtectedItem: ...

    def plan_items(self, plan: RecoveryPlan) -> tuple[ProtectedItem, ...]: ...

    def vault_items(self) -> tuple[FailbackItem, ...]:
        """Every item of the vault with its journey signals, in one list (`/reprotect status`)."""
        ...

    def submit(self, operation: str, target: str, inputs: ProviderInput | None) -> Accepted:
        """Send an operation's write (reprotect: on a protected item) exactly once."""
        ...

    def restart_job(self, job_id: str) -> Accepted: ...

    def get_job(self, job_id: str) -> Job: ...

    def list_jobs(self, since: datetime) -> list[Job]: ...


class RetryAuthority(Protocol):
    """Who may restart a failed VM's job (`approvals.workflow.Approvals`)."""

    def may_retry(self, click: Click, retried_by: frozenset[str]) -> Decision: ...
