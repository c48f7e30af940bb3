"""The words for a command whose plan cannot be planned (`core.notices.PlanProblem`): what is
not there, what is, and what to type instead; every name in a code span."""

from __future__ import annotations

from bot.views import commit
from bot.views.checks import spans
from bot.views.failback import refused_form
from bot.views.mrkdwn import code, escape
from bot.views.to_azure import wrong_direction
from core.notices import PlanIssue, PlanProblem

# What `right=` names, and the architectures as the providers call them.
WHAT = {"master": "master target server", "appliance": "replication appliance"}
ARCHITECTURES = {"classic": "classic (configuration server)",
                 "modernized": "modernized (replication appliance)"}


def did_you_mean(names: tuple[str, ...]) -> str:
    return f"Did you mean {spans(names)}?" if names else ""


def plan_problem(p: PlanProblem) -> str:
    """What is wrong with the plan the command names, and what exists instead."""
    match p.issue:
        case PlanIssue.NO_PLAN:
            return (f"Recovery plan {code(p.plan)} is not in the vault. "
                    + (did_you_mean(p.suggest) or "The vault has no recovery plans."))
        case PlanIssue.NOT_IN_PLAN:
            return (f"{code(', '.join(p.vms))} is not in plan {code(p.plan)}. "
                    + did_you_mean(p.suggest)).strip()
        case PlanIssue.WRONG_FORM:
            what = WHAT.get(p.right, escape(p.right))
            example = p.names[0] if len(p.names) == 1 else f"<{what}>"
            command = f'/reprotect plan="{p.plan}" {p.right}={example}'
            architecture = ARCHITECTURES.get(p.architecture, escape(p.architecture))
            return (f"Plan {code(p.plan)} uses the {architecture} architecture, so it takes "
                    f"{code(p.right + '=')} ({what}), not {code(f'{p.given}={p.value}')}. "
                    f"Its {what}s: {spans(p.names, empty='none registered')}. "
                    f"Type: {code(command)}.")
        case PlanIssue.REFUSED_FORM:
            return refused_form(p)
        case PlanIssue.NOT_CANCELLABLE:
            return commit.not_cancellable(p.plan, ARCHITECTURES.get(p.architecture,
                                                                   escape(p.architecture)))
        case PlanIssue.WRONG_DIRECTION:
            return wrong_direction(p)
    raise ValueError(f"no words for {p}")
