"""What an operation is: one Site Recovery write the bot asks approval for, then follows.

An operation says how it is typed (`Form`), how a plan is resolved and checked for it (through
the plan's `providers.base.Provider`), the values it sends as one labelled list (the request
message, the re-check at approval, the fingerprint and the write all read that list), the
write itself (`Submission`: its target and body), whether that write goes per item or once on
the recovery plan (`Scope`), and how Site Recovery shows an item done (`done`), with the word
the thread uses for it. The tracking machine, the runner, the events and the views are generic
over it; `operations.OPERATIONS` lists them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from core.notices import PlanProblem
from core.plan import ReprotectRequest, ResolvedPlan, SentValue, StepRequest
from gateways.site_recovery_failback_models import FailbackContext
from gateways.site_recovery_models import PlanContext, ProtectedItem, ProviderInput
from providers.base import Provider
from providers.checks import VCenterReading


class Scope(enum.StrEnum):
    """Where the write goes. ITEM: one write per protected item, each run follows its own
    job. PLAN: one write on the recovery plan, sent by the plan's first run (its lead); its
    job covers every item, and every other run follows that job."""

    ITEM = "item"
    PLAN = "plan"


@dataclass(frozen=True)
class Form:
    """The slash command as the parser reads it: its keys and the keys that belong to one
    architecture's form only (its usage is worded in `bot.views.usage`). A step after
    reprotect is typed `command [verb] key=value…`: `verb` ("" for none) and `scope` pick the
    operation (`operations.operation_for`; ITEM when `vm=` is given), `required` are the keys
    it needs, `choices` the keys taking one of a few words (the first is the default)."""

    command: str
    keys: tuple[str, ...]
    form_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    verb: str = ""
    required: tuple[str, ...] = ("plan",)
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Submission:
    """One write: its target (a protected item's or the recovery plan's ARM id) and the
    provider's body for it (None: the write takes no body)."""

    target: str
    inputs: ProviderInput | None = None


class Operation(Protocol):
    """One Site Recovery operation. `name` is stored on requests and runs (and labels the
    submission metric); `done_word` is how the thread names an item done ("protected")."""

    name: str
    form: Form
    scope: Scope
    done_word: str

    def values(self, plan: ResolvedPlan) -> tuple[SentValue, ...]:
        """What the write sends, as one labelled list."""
        ...

    def submission(self, plan: ResolvedPlan, item_id: str) -> Submission:
        """The write for one item (ITEM scope), or for the whole plan (PLAN scope, asked
        with the lead run's item)."""
        ...

    def done(self, item: ProtectedItem) -> bool:
        """Site Recovery shows the operation done on this item."""
        ...

    def may_send(self, item: ProtectedItem) -> bool:
        """Site Recovery would take the write on this item now (its `allowedOperations`):
        a run whose first write went unanswered sends again only then."""
        ...


class ReprotectOperation(Operation, Protocol):
    """An operation typed as `/reprotect`, resolved from the plan's reprotect context."""

    def plan(self, provider: Provider, request: ReprotectRequest, context: PlanContext,
             items: tuple[ProtectedItem, ...], *, now: datetime,
             vcenter: VCenterReading) -> ResolvedPlan:
        """Choose every value to send and run the operation's checks, through the provider
        of the plan's architecture."""
        ...


class StepOperation(Operation, Protocol):
    """A step after reprotect (`/failback …`), resolved from the plan's journey signals
    (`context.items`: the items the request names, all of the plan's without `vm=`)."""

    def plan_step(self, request: StepRequest, context: FailbackContext, *, now: datetime,
                  vcenter: VCenterReading) -> ResolvedPlan | PlanProblem:
        """Choose the values, run the checks from Site Recovery's state; a request the
        architecture cannot take is a `PlanProblem` answered privately."""
        ...
