"""Private (ephemeral) replies: the only place their words, emoji and mentions are written.

The domain says what happened as data (a `Decision` with its `Refusal` and the values it
needs, a `Notice`, the slash command's `Reply`); these functions say it to the one person
who clicked or typed.
"""

from __future__ import annotations

from datetime import datetime

from bot.views import checks
from bot.views.journey import plan_stages
from bot.views.mrkdwn import code, escape
from bot.views.plan_problems import plan_problem
from bot.views.usage import help_text, usage
from core.decisions import Action, Decision, Refusal
from core.notices import Locked, Notice, NotTaken, PlanProblem, PlanStages, PreflightFailed
from core.ports import Throttled
from intake.slash import Answer, Reply
from store.models import OPEN_STATUSES, Request, utcnow

MAX_NAMED = 5
REFUSED = ":no_entry_sign: "


def names(users: frozenset[str]) -> str:
    """Who can act instead: a few mentions, or why nobody can."""
    shown = [f"<@{u}>" for u in sorted(users)][:MAX_NAMED]
    return ", ".join(shown) or "nobody else is listed in REPROTECT_APPROVERS"


def notice(what: Notice) -> str:
    if isinstance(what, Decision):
        return decision(what)
    if isinstance(what, PreflightFailed):
        if what.explanation is None:
            return (f":x: Preflight of plan {code(what.plan)} failed on an internal error "
                    "(logged). Nothing was sent to Site Recovery; try again or check the "
                    "bot's logs.")
        return (f":x: Preflight of plan {code(what.plan)} could not run: "
                f"{escape(what.explanation)}\n"
                "Nothing was sent to Site Recovery.")
    if isinstance(what, PlanProblem):
        return f":mag: {plan_problem(what)}\nNothing was sent."
    if isinstance(what, PlanStages):
        return plan_stages(what)
    if isinstance(what, Locked):
        link = f" (<{what.permalink}|message>)" if what.permalink else ""
        return (f":lock: Request #{what.holder}{link} by <@{what.requester}> is {what.status} "
                "for some of these VMs; one open request per VM. Wait for it to finish, or "
                f"cancel it with `/reprotect cancel {what.holder}`.")
    assert isinstance(what, NotTaken)
    return f":hourglass: Your request was not taken: {slack_unavailable(what.asked)}"


def decision(d: Decision) -> str:
    """An accepted approval that still needs more, or any refusal, in the person's words."""
    if d.accepted and d.action is Action.RETRY:
        return (f"Retry approval recorded: {d.missing} more distinct approval(s) needed "
                "before the job restarts (REPROTECT_REQUIRED_APPROVALS).")
    if d.accepted:
        return f"Approval recorded: {d.missing} more distinct approval(s) needed."
    text = REFUSED + _refusal(d)
    kept = d.action is Action.CONFIRM and d.refusal is not Refusal.NO_SUCH_REQUEST
    return text + " Your tick was not kept." if kept else text


def _refusal(d: Decision) -> str:
    verb = d.action.value
    match d.refusal:
        case Refusal.OTHER_WORKSPACE if d.action is Action.CONFIRM:
            return "Only members of this workspace can confirm preflight items."
        case Refusal.OTHER_WORKSPACE:
            return (f"Only members of this workspace can {verb} reprotect requests; people "
                    "from other organisations in a shared channel cannot.")
        case Refusal.ALREADY_DECIDED:
            note = " Running Site Recovery jobs are not stopped by the bot." \
                if d.status == "executing" and d.action is Action.CANCEL else ""
            state = f"already {d.status}" if d.status else "no longer pending"
            return f"This request is {state}: nothing to {verb}.{note}"
        case Refusal.OWN_REQUEST if d.action is Action.REJECT:
            return ("You cannot reject your own request: rejecting is an approver's decision "
                    "(four eyes). To withdraw it, click *Cancel* on the message or type "
                    "`/reprotect cancel` with its number.")
        case Refusal.OWN_REQUEST if d.action is Action.CONFIRM:
            return ("The requester cannot confirm their own request's manual checks (four "
                    "eyes): an approver ticks them.")
        case Refusal.OWN_REQUEST:
            what = "a retry of your own request" if d.action is Action.RETRY \
                else "your own request"
            return f"You cannot approve {what} (four eyes). Ask one of: {names(d.ask)}."
        case Refusal.NOT_APPROVER if d.action is Action.CONFIRM:
            return "Only approvers can confirm the manual checks (REPROTECT_APPROVERS)."
        case Refusal.NOT_APPROVER if d.action is Action.CANCEL:
            return ("Only the requester or an approver can cancel this request. Approvers: "
                    f"{names(d.ask)}.")
        case Refusal.NOT_APPROVER:
            return f"You are not an approver for reprotect. Approvers: {names(d.ask)}."
        case Refusal.NOT_REQUESTER:
            return ("You are not allowed to request reprotect (REPROTECT_REQUESTERS). Ask one "
                    f"of: {names(d.ask)}.")
        case Refusal.EXPIRED:
            return "This request has expired: run `/reprotect` again for a fresh preflight."
        case Refusal.ALREADY_APPROVED if d.missing is None:
            return "You already approved this request."
        case Refusal.ALREADY_APPROVED:
            return f"You already approved; {d.missing} more distinct approval(s) needed."
        case Refusal.UNCONFIRMED:
            return ("Tick the manual checks in the message first (the bot cannot see them): "
                    + "; ".join(checks.manual_item(check, key) for check, key in d.manual)
                    + ". Your approval was not recorded.")
        case Refusal.NOT_RECHECKED:
            return ("The preflight could not be re-checked before approving, so your approval "
                    "was not recorded.\n" + "\n".join(escape(t) for t in d.details)
                    + "\nTry again in a minute.")
        case Refusal.STALE:
            return ("The preflight changed since this request was posted (details in the "
                    "thread), so your approval was refused and nothing was sent. Ask for a "
                    "fresh `/reprotect`.")
        case Refusal.NO_SUCH_REQUEST:
            return f"{'Run' if d.action is Action.RETRY else 'Request'} #{d.number} does not exist."
        case Refusal.NOT_FAILED:
            return f"Nothing to retry: this VM's reprotect is {d.status} now."
        case Refusal.TAKEN:
            return (f"{code(d.vm)} belongs to request #{d.number} now, which is {d.status}: "
                    "retry it there.")
        case Refusal.RETRYING:
            return "This VM is already being retried."
    raise ValueError(f"no words for {d}")


def reply(r: Reply) -> str:
    """The slash command's acknowledgement."""
    match r.answer:
        case Answer.USAGE:
            assert r.usage is not None
            return usage(r.usage)
        case Answer.HELP:
            return help_text(r.command)
        case Answer.WRONG_CHANNEL:
            allowed = ", ".join(f"<#{c}>" for c in sorted(r.channels))
            return (f":no_entry: {code(r.command)} is not enabled in this channel. Use it in "
                    f"{allowed} (REPROTECT_CHANNELS).")
        case Answer.OTHER_WORKSPACE:
            return (REFUSED + f"Only members of this workspace can use {code(r.command)}; "
                    "people from other organisations in a shared channel cannot. Nothing was "
                    "recorded.")
        case Answer.NOT_TAKEN:
            return f":hourglass: Your command was not taken: {slack_unavailable(r.explanation)}"
        case Answer.THROTTLED:
            assert r.throttled is not None
            return throttled(r.throttled, "command")
        case Answer.STATUS:
            return status(r.requests, r.throttled)
        case Answer.CANCELLING:
            return ":hourglass: Cancelling…"
        case Answer.ALREADY_RECEIVED:
            return f":hourglass: Already received: checking plan {code(r.plan)}…"
        case Answer.CHECKING:
            return f":hourglass: Checking plan {code(r.plan)} against Site Recovery…"
    raise ValueError(f"no words for {r}")


def throttled(t: Throttled, what: str) -> str:
    """Slow work turned away (`bot.admission`): why, and when to try again."""
    why = ("The bot is busy with other checks right now" if t.everyone else
           "You have started as many requests as one person may in a minute")
    return (f":hourglass: {why}, so your {what} was not taken and nothing changed. Try again "
            f"in about {t.retry_in} s.")


def status(rows: tuple[Request, ...], stages_throttled: Throttled | None = None) -> str:
    """`/reprotect status`: the channel's open requests, then the recent closed ones; then
    that each plan's stage is being read (or why not now)."""
    reading = "\n" + (throttled(stages_throttled, "reading of each plan's stage")
                      if stages_throttled else
                      ":hourglass: Reading where each plan stands from Site Recovery…")
    if not rows:
        return "No reprotect requests in this channel yet." + reading
    lines = [status_line(r) for r in rows if r.status in OPEN_STATUSES]
    recent = [status_line(r) for r in rows if r.status not in OPEN_STATUSES][:10]
    return ("*Open*\n" + ("\n".join(lines) or "none") + "\n*Recent*\n"
            + ("\n".join(recent) or "none") + reading)


def status_line(request: Request) -> str:
    number = (f"<{request.permalink}|#{request.id}>" if request.permalink
              else f"#{request.id}")
    return (f"• {number} plan {code(request.plan_name)} — *{request.status}* — "
            f"<@{request.requester_id}>, {_age(request.created_at)}")


def _age(moment: datetime) -> str:
    minutes = int((utcnow() - moment).total_seconds() // 60)
    return f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"


def dialog_failed(request_id: int, why: str) -> str:
    return (f":warning: The dialog that asks why you reject #{request_id} could not open "
            f"({escape(why)}). Nothing changed: the request is still pending. Please click Reject "
            "again.")


def slack_unavailable(asked: str) -> str:
    """Slack did not say who someone is: the decision is refused, never taken on a guess."""
    return (f"Slack did not answer when asked {escape(asked)}, so the bot cannot check who may "
            "do this. Nothing changed: try again in a minute.")


def not_taken(what: str, asked: str) -> str:
    """Work after an acknowledgement that needed Slack to say who someone is."""
    return f":hourglass: The {what} was not taken: {slack_unavailable(asked)}"


def crashed(what: str) -> str:
    return (f":x: The {what} failed on an internal error (logged). Nothing half-done was kept; "
            "try again, or ask the bot's operators to check its logs.")
