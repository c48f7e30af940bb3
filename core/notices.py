"""What the domain tells one person privately, as data; `bot.views.private` words it."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from core.decisions import Decision
from core.journey import PlanJourney


@dataclass(frozen=True)
class PreflightFailed:
    """The preflight of `plan` could not run: a source said `explanation` (what happened and
    what to do), or it crashed on an internal error (None, logged)."""

    plan: str
    explanation: str | None = None


class PlanIssue(enum.StrEnum):
    """Why the command's plan cannot be planned (`bot.views.plan_problems` words each)."""

    NO_PLAN = "no-plan"          # `plan` is not in the vault; `names`: the vault's plans
    NOT_IN_PLAN = "not-in-plan"  # `vms` are not in `plan`; `names`: the plan's VMs
    WRONG_FORM = "wrong-form"    # `given`=`value` is the other architecture's form: `plan`
    #                              (of `architecture`) takes `right`=, one of `names`
    REFUSED_FORM = "refused-form"  # `given`= is not taken by operation `value` on a plan of
    #                              `architecture`; nothing is sent
    NOT_CANCELLABLE = "not-cancellable"  # `plan`'s `architecture` cannot cancel a failback
    WRONG_DIRECTION = "wrong-direction"  # `given`=`value` does not fit the form of `plan`'s
    #                              direction `right` ("azure", "avs") and `architecture`;
    #                              `names`: what the form's first key names


@dataclass(frozen=True)
class PlanProblem:
    """The plan or a VM named in the command is not in the vault, or the command is in the
    other architecture's form; `suggest` are the names closest to what was typed."""

    issue: PlanIssue
    plan: str
    names: tuple[str, ...] = ()
    suggest: tuple[str, ...] = ()
    vms: tuple[str, ...] = ()
    given: str = ""
    value: str = ""
    right: str = ""
    architecture: str = ""


@dataclass(frozen=True)
class Locked:
    """Another open request holds some of the plan's VMs: one open request per VM."""

    holder: int
    permalink: str | None
    requester: str
    status: str


@dataclass(frozen=True)
class NotTaken:
    """Slack could not say who someone is (`asked`: what Slack was asked), so the request was
    not taken."""

    asked: str


@dataclass(frozen=True)
class PlanStages:
    """Where each plan of the vault stands in the failback journey (`/reprotect status`);
    `explanation` (what happened, what to do) when Site Recovery could not be read."""

    plans: tuple[PlanJourney, ...] = ()
    explanation: str | None = None


Notice = Decision | PreflightFailed | PlanProblem | Locked | NotTaken | PlanStages
