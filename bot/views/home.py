"""The App Home tab: a person's open requests and recent runs, and how ready the bot is.

Every word of the tab is here; values from Slack or Azure (plan names, errors) are escaped.
A home view holds at most 100 blocks: the lists are capped well below that. The tab is the
person's own, so it is worded in their language (`bot.home_publisher` sets it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.views import clip, context, section, when
from bot.views.i18n import N_, _, ngettext
from bot.views.mrkdwn import code, escape
from core.readiness import DependencyState
from store.home_queries import HomeRequest
from store.models import RequestStatus, RunStatus

MOST_LISTED = 20  # per list: two lists of 20 requests and the rest stay under 100 blocks

STAGES = {
    RequestStatus.PREFLIGHT: (":mag:", N_("checking the plan")),
    RequestStatus.BLOCKED: (":no_entry:", N_("blocked: a check must be fixed first")),
    RequestStatus.PENDING: (":ballot_box:", N_("waiting for approval")),
    RequestStatus.APPROVED: (":white_check_mark:", N_("approved, starting")),
    RequestStatus.EXECUTING: (":arrows_counterclockwise:", N_("reprotecting")),
    RequestStatus.DONE: (":white_check_mark:", N_("done: every VM protected")),
    RequestStatus.FAILED: (":x:", N_("failed")),
    RequestStatus.REJECTED: (":no_entry_sign:", N_("rejected")),
    RequestStatus.EXPIRED: (":hourglass:", N_("expired before approval")),
    RequestStatus.CANCELLED: (":no_entry_sign:", N_("cancelled")),
    RequestStatus.ERROR: (":warning:", N_("the preflight could not run")),
    RequestStatus.STALE: (":warning:", N_("the plan changed: ask again")),
}
RUN_WORDS = {
    RunStatus.PROTECTED: N_("protected"), RunStatus.FAILED: N_("failed"),
    RunStatus.TIMED_OUT: N_("timed out"), RunStatus.RESTARTING: N_("restarting"),
    RunStatus.WAITING_AGENT: N_("waiting for the agent"), RunStatus.SYNCING: N_("syncing"),
    RunStatus.RUNNING: N_("running"), RunStatus.SUBMITTING: N_("submitting"),
    RunStatus.QUEUED: N_("queued"),
}

# What `/readyz` and the process itself name their dependencies (`bot.container`,
# `bot.home_publisher.TICKS`), as a reader says them.
DEPENDENCIES = {
    "slack": N_("Slack"), "vault": N_("Site Recovery vault"), "vcenter": N_("vCenter"),
    "database": N_("database"), "Site Recovery tracking": N_("Site Recovery tracking"),
    "Slack messages": N_("Slack messages"),
}


def run_word(status: str | None) -> str:
    """A VM's run status in words; one the bot does not know as stored, escaped."""
    try:
        return _(RUN_WORDS[RunStatus(str(status))])
    except (ValueError, KeyError):
        return escape(str(status))


def stage(item: HomeRequest) -> str:
    """The request's state in words, with its VMs counted by state once it runs."""
    try:
        icon, words = STAGES[RequestStatus(item.request.status)]
        shown = f"{icon} {_(words)}"
    except ValueError:
        shown = escape(str(item.request.status))
    if not item.runs:
        return shown
    counts = ", ".join(f"{item.runs[s.value]} {_(RUN_WORDS[s])}" for s in RUN_WORDS
                       if item.runs.get(s.value))
    return f"{shown} ({counts})"


def _line(item: HomeRequest) -> str:
    request = item.request
    label = _("thread")
    thread = f"<{request.permalink}|{label}>" if request.permalink else _("no thread link yet")
    return _("*#{number}* plan {plan} in {channel}: {stage}\n{thread} · asked by {requester} "
             "{when}").format(number=request.id, plan=code(request.plan_name or "?"),
                              channel=f"<#{request.channel_id}>", stage=stage(item),
                              thread=thread, requester=f"<@{request.requester_id}>",
                              when=when(request.created_at))


def _listed(title: str, items: Sequence[HomeRequest], empty: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "header",
                                     "text": {"type": "plain_text", "text": title}}]
    if not items:
        return [*blocks, context(empty)]
    blocks += [section(clip(_line(item))) for item in items[:MOST_LISTED]]
    if len(items) > MOST_LISTED:
        blocks.append(context(_("…and {count} more: `/reprotect status` in their channel "
                                "lists them.").format(count=len(items) - MOST_LISTED)))
    return blocks


def _readiness_line(state: DependencyState) -> str:
    if state.ok is None:
        icon, words = ":grey_question:", _("not known yet")
    elif state.ok:
        icon, words = ":white_check_mark:", _("ready")
    else:
        icon, words = ":x:", _("not ready")
    name = _(DEPENDENCIES[state.name]) if state.name in DEPENDENCIES else escape(state.name)
    line = f"{icon} *{name}*: {words}"
    if state.last_success is not None:
        line += _(", last worked {when}").format(when=when(state.last_success))
    if state.error:
        line += f" — {escape(clip(state.error, 300))}"
    return line


def home_view(*, user_id: str, open_requests: Sequence[HomeRequest],
              recent: Sequence[HomeRequest], readiness: Sequence[DependencyState],
              channels: int) -> dict[str, Any]:
    """The Home tab `user_id` sees: open requests, recent runs, then the bot's readiness."""
    where = (ngettext("Reprotect requests of the {count} channel with reprotect requests "
                      "that you are in.",
                      "Reprotect requests of the {count} channels with reprotect requests "
                      "that you are in.", channels).format(count=channels)
             if channels else
             _("Reprotect requests: no channel with reprotect requests that you are in yet."))
    blocks: list[dict[str, Any]] = [
        section(where + " " + _("Type `/reprotect help` in a channel to ask for one.")),
        *_listed(_("Open requests"), open_requests, _("No open request.")),
        *_listed(_("Recent runs"), recent, _("Nothing finished yet.")),
        {"type": "header", "text": {"type": "plain_text", "text": _("Bot readiness")}},
        section("\n".join(_readiness_line(s) for s in readiness) or _("Not known yet.")),
    ]
    return {"type": "home", "callback_id": "reprotect_home", "blocks": blocks}
