"""The App Home tab: a person's open requests and recent runs, and how ready the bot is.

Every word of the tab is here; values from Slack or Azure (plan names, errors) are escaped.
A home view holds at most 100 blocks: the lists are capped well below that.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.views import clip, context, section, when
from bot.views.mrkdwn import code, escape
from core.readiness import DependencyState
from store.home_queries import HomeRequest
from store.models import RequestStatus, RunStatus

MOST_LISTED = 20  # per list: two lists of 20 requests and the rest stay under 100 blocks

STAGES = {
    RequestStatus.PREFLIGHT: ":mag: checking the plan",
    RequestStatus.BLOCKED: ":no_entry: blocked: a check must be fixed first",
    RequestStatus.PENDING: ":ballot_box: waiting for approval",
    RequestStatus.APPROVED: ":white_check_mark: approved, starting",
    RequestStatus.EXECUTING: ":arrows_counterclockwise: reprotecting",
    RequestStatus.DONE: ":white_check_mark: done: every VM protected",
    RequestStatus.FAILED: ":x: failed",
    RequestStatus.REJECTED: ":no_entry_sign: rejected",
    RequestStatus.EXPIRED: ":hourglass: expired before approval",
    RequestStatus.CANCELLED: ":no_entry_sign: cancelled",
    RequestStatus.ERROR: ":warning: the preflight could not run",
    RequestStatus.STALE: ":warning: the plan changed: ask again",
}
RUN_WORDS = {
    RunStatus.PROTECTED: "protected", RunStatus.FAILED: "failed",
    RunStatus.TIMED_OUT: "timed out", RunStatus.RESTARTING: "restarting",
    RunStatus.WAITING_AGENT: "waiting for the agent", RunStatus.SYNCING: "syncing",
    RunStatus.RUNNING: "running", RunStatus.SUBMITTING: "submitting",
    RunStatus.QUEUED: "queued",
}


def stage(item: HomeRequest) -> str:
    """The request's state in words, with its VMs counted by state once it runs."""
    words = STAGES.get(RequestStatus(item.request.status), str(item.request.status))
    if not item.runs:
        return words
    counts = ", ".join(f"{item.runs[s.value]} {RUN_WORDS[s]}" for s in RUN_WORDS
                       if item.runs.get(s.value))
    return f"{words} ({counts})"


def _line(item: HomeRequest) -> str:
    request = item.request
    number = f"#{request.id}"
    thread = (f"<{request.permalink}|thread>" if request.permalink
              else "no thread link yet")
    return (f"*{number}* plan {code(request.plan_name or '?')} in <#{request.channel_id}>: "
            f"{stage(item)}\n{thread} · asked by <@{request.requester_id}> "
            f"{when(request.created_at)}")


def _listed(title: str, items: Sequence[HomeRequest], empty: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "header",
                                     "text": {"type": "plain_text", "text": title}}]
    if not items:
        return [*blocks, context(empty)]
    blocks += [section(clip(_line(item))) for item in items[:MOST_LISTED]]
    if len(items) > MOST_LISTED:
        blocks.append(context(f"…and {len(items) - MOST_LISTED} more: `/reprotect status` "
                              "in their channel lists them."))
    return blocks


def _readiness_line(state: DependencyState) -> str:
    if state.ok is None:
        icon, words = ":grey_question:", "not known yet"
    elif state.ok:
        icon, words = ":white_check_mark:", "ready"
    else:
        icon, words = ":x:", "not ready"
    line = f"{icon} *{escape(state.name)}*: {words}"
    if state.last_success is not None:
        line += f", last worked {when(state.last_success)}"
    if state.error:
        line += f" — {escape(clip(state.error, 300))}"
    return line


def home_view(*, user_id: str, open_requests: Sequence[HomeRequest],
              recent: Sequence[HomeRequest], readiness: Sequence[DependencyState],
              channels: int) -> dict[str, Any]:
    """The Home tab `user_id` sees: open requests, recent runs, then the bot's readiness."""
    where = (f"the {channels} channel(s) with reprotect requests that you are in"
             if channels else "no channel with reprotect requests that you are in yet")
    blocks: list[dict[str, Any]] = [
        section(f"Reprotect requests of {where}. Type `/reprotect help` in a channel to ask "
                "for one."),
        *_listed("Open requests", open_requests, "No open request."),
        *_listed("Recent runs", recent, "Nothing finished yet."),
        {"type": "header", "text": {"type": "plain_text", "text": "Bot readiness"}},
        section("\n".join(_readiness_line(s) for s in readiness) or "Not known yet."),
    ]
    return {"type": "home", "callback_id": "reprotect_home", "blocks": blocks}
