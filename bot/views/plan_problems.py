"""The words for a command whose plan cannot be planned (`core.notices.PlanProblem`): what is
not there, what is, and what to type instead; every name in a code span."""

from __future__ import annotations

from bot.views import commit
from bot.views.checks import spans
from bot.views.failback import refused_form
from bot.views.i18n import N_, _
from bot.views.mrkdwn import code, escape
from bot.views.to_azure import wrong_direction
from core.notices import PlanIssue, PlanProblem

# What `right=` names, and the architectures as the providers call them.
WHAT = {"master": N_("master target server"), "appliance": N_("replication appliance")}
WHAT_PLURAL = {"master": N_("master target servers"),
               "appliance": N_("replication appliances")}
ARCHITECTURES = {"classic": N_("classic (configuration server)"),
                 "modernized": N_("modernized (replication appliance)")}


def did_you_mean(names: tuple[str, ...]) -> str:
    return _("Did you mean {names}?").format(names=spans(names)) if names else ""


def _named(table: dict[str, str], key: str) -> str:
    return _(table[key]) if key in table else escape(key)


def plan_problem(p: PlanProblem) -> str:
    """What is wrong with the plan the command names, and what exists instead."""
    match p.issue:
        case PlanIssue.NO_PLAN:
            return (_("Recovery plan {plan} is not in the vault.").format(plan=code(p.plan))
                    + " " + (did_you_mean(p.suggest) or _("The vault has no recovery plans.")))
        case PlanIssue.NOT_IN_PLAN:
            return (_("{vms} is not in plan {plan}.").format(vms=code(", ".join(p.vms)),
                                                            plan=code(p.plan))
                    + " " + did_you_mean(p.suggest)).strip()
        case PlanIssue.WRONG_FORM:
            what = _named(WHAT, p.right)
            example = p.names[0] if len(p.names) == 1 else f"<{what}>"
            command = f'/reprotect plan="{p.plan}" {p.right}={example}'
            return _("Plan {plan} uses the {architecture} architecture, so it takes {right} "
                     "({what}), not {given}. Its {whats}: {names}. Type: {command}.").format(
                plan=code(p.plan), architecture=_named(ARCHITECTURES, p.architecture),
                right=code(p.right + "="), what=what, given=code(f"{p.given}={p.value}"),
                whats=_named(WHAT_PLURAL, p.right),
                names=spans(p.names, empty=_("none registered")), command=code(command))
        case PlanIssue.REFUSED_FORM:
            return refused_form(p)
        case PlanIssue.NOT_CANCELLABLE:
            return commit.not_cancellable(p.plan, ARCHITECTURES.get(p.architecture,
                                                                   escape(p.architecture)))
        case PlanIssue.WRONG_DIRECTION:
            return wrong_direction(p)
    raise ValueError(f"no words for {p}")
