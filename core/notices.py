"""What the domain tells one person privately, as data; `bot.views.private` words it."""

from __future__ import annotations

from dataclasses import dataclass

from core.decisions import Decision


@dataclass(frozen=True)
class PreflightFailed:
    """The preflight of `plan` could not run: a source said `explanation` (what happened and
    what to do), or it crashed on an internal error (None, logged)."""

    plan: str
    explanation: str | None = None


@dataclass(frozen=True)
class PlanProblem:
    """The plan or a VM named in the command is not in the vault (`message` says which)."""

    message: str


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


Notice = Decision | PreflightFailed | PlanProblem | Locked | NotTaken
