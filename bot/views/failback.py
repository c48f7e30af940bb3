"""The words of `/failback`: its usage and help, what a failback request tells the approver
beyond its values and checks (downtime, recovery points), what comes after it, and the
private answer to a form the plan's architecture does not take."""

from __future__ import annotations

from bot.views import checks, commit
from bot.views.mrkdwn import code
from core.notices import PlanProblem
from core.plan import ResolvedPlan

FAILBACK_USAGE = (
    "Usage:\n"
    "• `/failback plan=<recovery plan> [point=latest|consistent] [vm=<name>[,<name>…]]` — fail "
    "the VMs back to the private cloud (`point=latest`, the default, is the latest "
    "crash-consistent point Microsoft recommends; `consistent` the latest "
    "application-consistent one; `vm=` only on a modernized plan)\n"
    "• `/failback commit plan=<recovery plan> [vm=<name>[,<name>…]]` — commit a failback: "
    "Site Recovery removes the VMs in Azure\n"
    "• `/failback cancel plan=<recovery plan> [vm=<name>[,<name>…]]` — cancel a failback "
    "not yet committed (modernized plans)\n"
    "• `/failback help` — this text\n"
    'Quote values with spaces: `plan="Finance tier 1"`.'
)
FAILBACK_HELP = (
    "*/failback* runs the steps after reprotect: it preflights a recovery plan's failback "
    "from Site Recovery's own state, asks an approver, then starts and follows it in a "
    "thread.\n" + FAILBACK_USAGE)

# How each operation's request is titled (an operation missing here shows its name).
TITLES = {"reprotect": "Reprotect", "failback": "Failback", "failback-vm": "Failback",
          **commit.TITLES}

DOWNTIME = (":warning: *Downtime*: the application is down from the moment Site Recovery "
            "shuts the VMs down in Azure until they boot in the private cloud.")
# What comes after a failback, by architecture of the plan.
NEXT = ("Next: `/failback commit plan=…` once the VMs run as they should in the private cloud "
        "(Site Recovery then removes the VMs in Azure; it cannot be undone); on a modernized "
        "plan, `/failback cancel plan=…` instead brings them back up in Azure.")
AFTER_FAILBACK = (
    "it runs in the private cloud and waits for its commit.",
    "Each of these {count} VMs is {word} and runs in the private cloud:",
    NEXT)


_RETRY = ("Do not disable replication: fix the cause above, then run `/failback` again for "
          "a fresh request.")
# What Site Recovery did by itself about a failed planned failover (`operations.failback.Undone`).
UNDONE = {
    "cancelling": ":leftwards_arrow_with_hook: Site Recovery is cancelling this failed failback "
                  "by itself (its automatic cancel job): the VM comes back up in Azure and "
                  "replication to the private cloud resumes. " + _RETRY,
    "cancelled": ":leftwards_arrow_with_hook: Site Recovery cancelled this failed failback by "
                 "itself and restored the state before it: the VM runs in Azure and "
                 "replicates to the private cloud again. " + _RETRY,
    "cancel-needed": ":warning: Site Recovery's automatic cancel of this failed failback did "
                     "not complete: cancel it (`/failback cancel plan=…`, or *Cancel failover* "
                     "on the VM in the portal). Do not disable replication; if the cancel "
                     "fails too, contact Microsoft support.",
}


def typed(value: str) -> str:
    """A value as the operator types it: quoted when it holds a space."""
    return f'"{value}"' if " " in value else value


def title(operation: str) -> str:
    return TITLES.get(operation, operation.capitalize())


def notes(operation: str, plan: ResolvedPlan) -> tuple[str, ...]:
    """Lines a request of `operation` shows above its values: the downtime, and the recovery
    point each VM will use with its age (a passing result, so not among the findings)."""
    if operation in commit.WARNINGS:
        return (commit.WARNINGS[operation],)
    if operation not in ("failback", "failback-vm"):
        return ()
    points = [checks.message(c) for c in plan.checks if c.check == "recovery-point"]
    return (DOWNTIME, *(f":round_pushpin: {p}" for p in points))


def refused_form(p: PlanProblem) -> str:
    """`vm=` (or another form) the plan's architecture does not take: why, and what to type."""
    if p.given == "vm" and p.value.startswith("failback"):
        return (f"Plan {code(p.plan)} uses the classic architecture: its VMs fail back "
                "together, through one unplanned failover on the recovery plan. Microsoft's "
                "sources leave the direction of a single classic VM's failover unsettled, so "
                "the bot does not guess it, and nothing was sent. Fail the whole plan back: "
                f"{code(f'/failback plan={typed(p.plan)}')}.")
    return (f"Plan {code(p.plan)} ({code(p.architecture)} architecture) does not take "
            f"{code(p.given + '=')} for {code(p.value)}; nothing was sent.")
