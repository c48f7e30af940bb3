"""The request message's first line: where the request stands now, in words.

Whoever opens the channel at 3 a.m. reads the outcome first (waiting for whom, running with
what counts, done, failed and which VMs, blocked and why), not as the last of thirty lines.
The line is drawn again with every update of the message, from the request and its runs as
they are then.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.views import checks
from bot.views.i18n import _, ngettext
from bot.views.mrkdwn import escape
from bot.views.run_words import ended_badly, named, tally
from core.plan import ResolvedPlan
from store.models import Run

BLOCKER_CHARS = 300  # the first blocker's words in the header, when this short

ICONS = {"preflight": ":mag:", "pending": ":hourglass_flowing_sand:",
         "approved": ":arrow_forward:", "executing": ":arrows_counterclockwise:",
         "done": ":white_check_mark:", "failed": ":x:", "blocked": ":no_entry:",
         "rejected": ":no_entry_sign:", "expired": ":hourglass:", "cancelled": ":no_entry_sign:",
         "stale": ":arrows_counterclockwise:", "error": ":warning:"}


def headline(status: str, plan: ResolvedPlan, runs: Sequence[Run], *, missing: int,
             unconfirmed: int, approval_confirms: bool, decided_note: str,
             done_word: str) -> str:
    """`:x: *Failed*: `app-02` — 2/3 protected · 1 failed`, and so on for every status.
    `missing`: approvals still needed; `unconfirmed`: manual items nobody ticked yet."""
    icon = ICONS.get(status, ":grey_question:")
    counted = f" — {tally(runs, done_word)}" if runs else ""
    match status:
        case "preflight":
            words = _("*Checking*: the preflight is running")
        case "pending":
            words = ngettext("*Waiting for approval*: {count} more approval needed",
                             "*Waiting for approval*: {count} more approvals needed",
                             missing).format(count=missing)
            if unconfirmed:
                words += (_("; {count} to confirm by hand (Approve confirms them)")
                          if approval_confirms else
                          _("; {count} to confirm by hand (Approve waits until they are "
                            "ticked)")).format(count=unconfirmed)
        case "approved":
            words = _("*Approved*: sending to Site Recovery")
        case "executing":  # drawn when the runs start: their counts live in the thread
            vms = len(runs) or len(plan.items)
            words = ngettext("*Running* in Site Recovery: {count} VM; the thread's progress "
                             "message shows each one",
                             "*Running* in Site Recovery: {count} VMs; the thread's progress "
                             "message shows each one", vms).format(count=vms)
        case "done":
            words = _("*Done*") + counted
        case "failed":
            bad = ended_badly(runs)
            words = (_("*Failed*: {vms}").format(vms=named(bad)) if bad else _("*Failed*")) \
                + counted
        case "blocked":
            words = _("*Blocked*: {why}").format(why=_why_blocked(plan))
        case "rejected" | "cancelled":
            head = _("*Rejected*") if status == "rejected" else _("*Cancelled*")
            words = head + (f" {decided_note}" if decided_note else "") \
                + _("; nothing was sent")
        case "expired":
            words = _("*Expired*: not approved in time; nothing was sent")
        case "stale":
            words = _("*Stale*: the preflight changed when an approver clicked; nothing was "
                      "sent")
        case "error":
            words = _("*Preflight could not run*; nothing was sent")
        case _:
            words = f"*{escape(status)}*"
    return f"{icon} {words}"


def _why_blocked(plan: ResolvedPlan) -> str:
    """The first blocker's words, and how many more there are."""
    blockers = plan.blockers
    if not blockers:
        return _("see below")
    first = checks.message(blockers[0])  # escaped mrkdwn: never cut, or a span stays open
    more = len(blockers) - 1
    return (f"*{escape(blockers[0].check)}*"
            + (f" — {first}" if len(first) <= BLOCKER_CHARS else " " + _("(its words below)"))
            + (" " + ngettext("(and {count} more blocker below)",
                              "(and {count} more blockers below)", more).format(count=more)
               if more else ""))
