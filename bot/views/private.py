"""Private (ephemeral) replies: the only place their words, emoji and mentions are written.

The domain says what happened as data (a `Decision` with its `Refusal` and the values it
needs, a `Notice`, the slash command's `Reply`); these functions say it to the one person
who clicked or typed, in that person's language (`bot.views.i18n`).
"""

from __future__ import annotations

from datetime import datetime

from bot.views import checks
from bot.views.home import run_word
from bot.views.i18n import N_, _, ngettext
from bot.views.journey import plan_stages
from bot.views.mrkdwn import code, escape
from bot.views.plan_problems import plan_problem
from bot.views.usage import help_text, usage
from core.decisions import Action, Decision, Refusal
from core.notices import Locked, Notice, NotTaken, PlanProblem, PlanStages, PreflightFailed
from core.ports import Throttled
from intake.slash import Answer, Reply
from store.models import OPEN_STATUSES, Request, RequestStatus, utcnow

MAX_NAMED = 5
REFUSED = ":no_entry_sign: "
# A request's status as a word (the stored values are the API's, in English).
STATUS_WORDS = {
    RequestStatus.PREFLIGHT: N_("checking"), RequestStatus.BLOCKED: N_("blocked"),
    RequestStatus.PENDING: N_("pending"), RequestStatus.APPROVED: N_("approved"),
    RequestStatus.EXECUTING: N_("executing"), RequestStatus.DONE: N_("done"),
    RequestStatus.FAILED: N_("failed"), RequestStatus.REJECTED: N_("rejected"),
    RequestStatus.EXPIRED: N_("expired"), RequestStatus.CANCELLED: N_("cancelled"),
    RequestStatus.ERROR: N_("in error"), RequestStatus.STALE: N_("stale"),
}
# What the person tried to do, as a verb.
VERBS = {Action.REQUEST: N_("request"), Action.APPROVE: N_("approve"),
         Action.REJECT: N_("reject"), Action.CANCEL: N_("cancel"), Action.RETRY: N_("retry"),
         Action.CONFIRM: N_("confirm")}


def status_word(status: str | None) -> str:
    """A stored status in words (an unknown one as stored, escaped)."""
    try:
        return _(STATUS_WORDS[RequestStatus(str(status))])
    except ValueError:
        return escape(str(status))


def names(users: frozenset[str]) -> str:
    """Who can act instead: a few mentions, or why nobody can."""
    shown = [f"<@{u}>" for u in sorted(users)][:MAX_NAMED]
    return ", ".join(shown) or _("nobody else is listed in REPROTECT_APPROVERS")


def notice(what: Notice) -> str:
    if isinstance(what, Decision):
        return decision(what)
    if isinstance(what, PreflightFailed):
        if what.explanation is None:
            return ":x: " + _("Preflight of plan {plan} failed on an internal error (logged). "
                              "Nothing was sent to Site Recovery; try again or check the "
                              "bot's logs.").format(plan=code(what.plan))
        return ":x: " + _("Preflight of plan {plan} could not run: {why}\n"
                          "Nothing was sent to Site Recovery.").format(
            plan=code(what.plan), why=escape(what.explanation))
    if isinstance(what, PlanProblem):
        return f":mag: {plan_problem(what)}\n" + _("Nothing was sent.")
    if isinstance(what, PlanStages):
        return plan_stages(what)
    if isinstance(what, Locked):
        label = _("message")
        link = f" (<{what.permalink}|{label}>)" if what.permalink else ""
        return ":lock: " + _(
            "Request #{number}{link} by {requester} is {status} for some of these VMs; one open "
            "request per VM. Wait for it to finish, or cancel it with {command}.").format(
            number=what.holder, link=link, requester=f"<@{what.requester}>",
            status=status_word(what.status), command=code(f"/reprotect cancel {what.holder}"))
    assert isinstance(what, NotTaken)
    return ":hourglass: " + _("Your request was not taken: {why}").format(
        why=slack_unavailable(what.asked))


def _more(missing: int | None) -> str:
    n = missing or 0
    return ngettext("{count} more distinct approval needed", "{count} more distinct approvals "
                    "needed", n).format(count=n)


def decision(d: Decision) -> str:
    """An accepted approval that still needs more, or any refusal, in the person's words."""
    if d.accepted and d.action is Action.RETRY:
        return _("Retry approval recorded: {more} before the job restarts "
                 "(REPROTECT_REQUIRED_APPROVALS).").format(more=_more(d.missing))
    if d.accepted:
        return _("Approval recorded: {more}.").format(more=_more(d.missing))
    text = REFUSED + _refusal(d)
    kept = d.action is Action.CONFIRM and d.refusal is not Refusal.NO_SUCH_REQUEST
    return text + " " + _("Your tick was not kept.") if kept else text


def _refusal(d: Decision) -> str:
    verb = _(VERBS[d.action])
    match d.refusal:
        case Refusal.OTHER_WORKSPACE if d.action is Action.CONFIRM:
            return _("Only members of this workspace can confirm preflight items.")
        case Refusal.OTHER_WORKSPACE:
            return _("Only members of this workspace can {verb} reprotect requests; people "
                     "from other organisations in a shared channel cannot.").format(verb=verb)
        case Refusal.ALREADY_DECIDED:
            note = (" " + _("Running Site Recovery jobs are not stopped by the bot.")
                    if d.status == "executing" and d.action is Action.CANCEL else "")
            if d.status:
                return _("This request is already {status}: nothing to {verb}.").format(
                    status=status_word(d.status), verb=verb) + note
            return _("This request is no longer pending: nothing to {verb}.").format(
                verb=verb) + note
        case Refusal.OWN_REQUEST if d.action is Action.REJECT:
            return _("You cannot reject your own request: rejecting is an approver's decision "
                     "(four eyes). To withdraw it, click *Cancel* on the message or type "
                     "`/reprotect cancel` with its number.")
        case Refusal.OWN_REQUEST if d.action is Action.CONFIRM:
            return _("The requester cannot confirm their own request's manual checks (four "
                     "eyes): an approver ticks them.")
        case Refusal.OWN_REQUEST if d.action is Action.RETRY:
            return _("You cannot approve a retry of your own request (four eyes). Ask one of: "
                     "{names}.").format(names=names(d.ask))
        case Refusal.OWN_REQUEST:
            return _("You cannot approve your own request (four eyes). Ask one of: "
                     "{names}.").format(names=names(d.ask))
        case Refusal.NOT_APPROVER if d.action is Action.CONFIRM:
            return _("Only approvers can confirm the manual checks (REPROTECT_APPROVERS).")
        case Refusal.NOT_APPROVER if d.action is Action.CANCEL:
            return _("Only the requester or an approver can cancel this request. Approvers: "
                     "{names}.").format(names=names(d.ask))
        case Refusal.NOT_APPROVER:
            return _("You are not an approver for reprotect. Approvers: {names}.").format(
                names=names(d.ask))
        case Refusal.NOT_REQUESTER:
            return _("You are not allowed to request reprotect (REPROTECT_REQUESTERS). Ask one "
                     "of: {names}.").format(names=names(d.ask))
        case Refusal.EXPIRED:
            return _("This request has expired: run `/reprotect` again for a fresh preflight.")
        case Refusal.ALREADY_APPROVED if d.missing is None:
            return _("You already approved this request.")
        case Refusal.ALREADY_APPROVED:
            return _("You already approved; {more}.").format(more=_more(d.missing))
        case Refusal.UNCONFIRMED:
            return _("Tick the manual checks in the message first (the bot cannot see them): "
                     "{items}. Your approval was not recorded.").format(
                items="; ".join(checks.manual_item(check, key) for check, key in d.manual))
        case Refusal.NOT_RECHECKED:
            return _("The preflight could not be re-checked before approving, so your approval "
                     "was not recorded.\n{details}\nTry again in a minute.").format(
                details="\n".join(escape(t) for t in d.details))
        case Refusal.STALE:
            return _("The preflight changed since this request was posted (details in the "
                     "thread), so your approval was refused and nothing was sent. Ask for a "
                     "fresh `/reprotect`.")
        case Refusal.NO_SUCH_REQUEST if d.action is Action.RETRY:
            return _("Run #{number} does not exist.").format(number=d.number)
        case Refusal.NO_SUCH_REQUEST:
            return _("Request #{number} does not exist.").format(number=d.number)
        case Refusal.NOT_FAILED:
            return _("Nothing to retry: this VM's reprotect is {status} now.").format(
                status=run_word(d.status))
        case Refusal.TAKEN:
            return _("{vm} belongs to request #{number} now, which is {status}: retry it "
                     "there.").format(vm=code(d.vm), number=d.number,
                                      status=status_word(d.status))
        case Refusal.RETRYING:
            return _("This VM is already being retried.")
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
            return ":no_entry: " + _("`/reprotect` is not enabled in this channel. Use it in "
                                     "{channels} (REPROTECT_CHANNELS).").format(
                channels=allowed).replace("`/reprotect`", code(r.command))
        case Answer.OTHER_WORKSPACE:
            return REFUSED + _("Only members of this workspace can use `/reprotect`; people "
                               "from other organisations in a shared channel cannot. Nothing "
                               "was recorded.").replace("`/reprotect`", code(r.command))
        case Answer.NOT_TAKEN:
            return ":hourglass: " + _("Your command was not taken: {why}").format(
                why=slack_unavailable(r.explanation))
        case Answer.THROTTLED:
            assert r.throttled is not None
            return throttled(r.throttled, COMMAND)
        case Answer.STATUS:
            return status(r.requests, r.throttled)
        case Answer.CANCELLING:
            return ":hourglass: " + _("Cancelling…")
        case Answer.ALREADY_RECEIVED:
            return ":hourglass: " + _("Already received: checking plan {plan}…").format(
                plan=code(r.plan))
        case Answer.CHECKING:
            return ":hourglass: " + _("Checking plan {plan} against Site Recovery…").format(
                plan=code(r.plan))
    raise ValueError(f"no words for {r}")


# The work a person asked for, as the listeners name it (`Services.after_ack`'s `what`).
COMMAND = "command"
WORK = {COMMAND: N_("command"), "preflight": N_("preflight"), "approval": N_("approval"),
        "cancellation": N_("cancellation"), "rejection": N_("rejection"),
        "retry": N_("retry request"), "confirmation": N_("confirmation"),
        "list of passed checks": N_("list of passed checks")}


def work(what: str) -> str:
    return _(WORK[what]) if what in WORK else escape(what)


def throttled(t: Throttled, what: str) -> str:
    """Slow work turned away (`bot.admission`): why, and when to try again."""
    template = (_("The bot is busy with other checks right now, so your {what} was not taken "
                  "and nothing changed. Try again in about {seconds} s.") if t.everyone else
                _("You have started as many requests as one person may in a minute, so your "
                  "{what} was not taken and nothing changed. Try again in about {seconds} s."))
    return ":hourglass: " + template.format(what=work(what), seconds=t.retry_in)


def status(rows: tuple[Request, ...], stages_throttled: Throttled | None = None) -> str:
    """`/reprotect status`: the channel's open requests, then the recent closed ones; then
    that each plan's stage is being read (or why not now)."""
    reading = "\n" + (throttled(stages_throttled, "reading of each plan's stage")
                      if stages_throttled else
                      ":hourglass: Reading where each plan stands from Site Recovery…")
    if not rows:
        return _("No reprotect requests in this channel yet.") + reading
    lines = [status_line(r) for r in rows if r.status in OPEN_STATUSES]
    recent = [status_line(r) for r in rows if r.status not in OPEN_STATUSES][:10]
    return ("*" + _("Open") + "*\n" + ("\n".join(lines) or _("none")) + "\n*" + _("Recent")
            + "*\n" + ("\n".join(recent) or _("none")) + reading)


def status_line(request: Request) -> str:
    number = (f"<{request.permalink}|#{request.id}>" if request.permalink
              else f"#{request.id}")
    return "• " + _("{number} plan {plan} — *{status}* — {requester}, {age}").format(
        number=number, plan=code(request.plan_name), status=status_word(request.status),
        requester=f"<@{request.requester_id}>", age=_age(request.created_at))


def _age(moment: datetime) -> str:
    minutes = int((utcnow() - moment).total_seconds() // 60)
    return (_("{minutes} min ago").format(minutes=minutes) if minutes < 120
            else _("{hours} h ago").format(hours=minutes // 60))


def dialog_failed(request_id: int, slack_error: str | None) -> str:
    """The reject dialog did not open: Slack's error code, or None when it was unreachable."""
    why = (_("Slack answered {error}").format(error=code(slack_error)) if slack_error
           else _("Slack could not be reached"))
    return ":warning: " + _(
        "The dialog that asks why you reject #{number} could not open ({why}). Nothing "
        "changed: the request is still pending. Please click Reject again.").format(
        number=request_id, why=why)


def reason_missing() -> str:
    """The reject dialog was submitted without a reason."""
    return _("Say why, in a few words.")


# What `bot.slack_ports` asks Slack (`SlackUnavailable.what`), as a reader says it.
ASKED = {"which workspace the bot belongs to": N_("which workspace the bot belongs to"),
         "which workspace the bot belongs to (auth.test: no team_id)":
             N_("which workspace the bot belongs to (auth.test: no team_id)")}
GROUP_ASKED = "who is in user group "


def _asked(asked: str) -> str:
    if asked.startswith(GROUP_ASKED):
        return _("who is in user group {group}").format(
            group=escape(asked.removeprefix(GROUP_ASKED)))
    return _(ASKED[asked]) if asked in ASKED else escape(asked)


def slack_unavailable(asked: str) -> str:
    """Slack did not say who someone is: the decision is refused, never taken on a guess."""
    return _("Slack did not answer when asked {asked}, so the bot cannot check who may do "
             "this. Nothing changed: try again in a minute.").format(asked=_asked(asked))


def not_taken(what: str, asked: str) -> str:
    """Work after an acknowledgement that needed Slack to say who someone is."""
    return ":hourglass: " + _("The {what} was not taken: {why}").format(
        what=work(what), why=slack_unavailable(asked))


def crashed(what: str) -> str:
    return ":x: " + _("The {what} failed on an internal error (logged). Nothing half-done was "
                      "kept; try again, or ask the bot's operators to check its logs.").format(
        what=work(what))
