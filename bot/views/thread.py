"""The thread's words: each event of `core.events` as a Slack message.

Replies are plain mrkdwn text (Slack renders it), clipped to stay readable; lists that must be
complete (every VM's job id, every VM that became protected) go into section blocks of at
most SECTION_LIMIT characters each, with the whole list as the text fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bot.views import (
    Message,
    _chunks,
    clip,
    commit,
    next_steps,
    powered_on,
    preflight_changed,
    run_words,
    section,
)
from bot.views.failback import AFTER_FAILBACK, NEXT, UNDONE, title
from bot.views.i18n import N_, _
from bot.views.job_errors import KNOWN_FIXES
from bot.views.mrkdwn import code, escape
from bot.views.to_azure import AFTER_DONE as TO_AZURE_AFTER_DONE
from core import actions
from core import events as ev
from core.plan import ResolvedPlan
from operations import operation_named
from store.models import FINAL_RUN_STATUSES, Run, RunStatus

REPLY_LIMIT = 3900      # Slack reads best under 4,000 characters of text
LIST_TEXT_LIMIT = 39_000  # Slack truncates text past 40,000 characters
# Characters of the progress message's VM lines: at 100 VMs, with links, it stays well under
# the ~13,000 characters of blocks at which Slack answers msg_blocks_too_long.
PROGRESS_BUDGET = 8000
LINKED_MOST = 5  # failed VMs that keep their portal links once the list is folded
AGENT_FIX = N_("Check that the Azure VM is running and that its Mobility service (InMage Scout "
               "application service) runs and reaches the configuration server on 443 and the "
               "process server on 9443")


def render(event: ev.Event, runs: Sequence[Run] = (), portal: str | None = None) -> Message:
    """The reply for an event. `runs` are the request's runs as they are at send time (the
    progress message shows each; the summary names the failed VMs; a failure links its job
    and item in the Azure `portal` when it is known)."""
    if isinstance(event, ev.Progress):
        return progress(runs, portal)
    if isinstance(event, ev.Summary):
        return summary(event, runs)
    builder = _BUILDERS.get(type(event))
    if builder is None:
        raise ValueError(f"no thread view for {type(event).__name__}")
    message = builder(event)
    if type(event) not in FAILURES:
        return message
    vm = getattr(event, "vm", "")
    run = next((r for r in runs if r.vm_name == vm), None)
    linked = _linked(message, run_words.links(run, portal)) if run is not None else message
    return {**linked, "reply_broadcast": True}


# A VM's run ended badly: these replies go to the channel too (`reply_broadcast`), so whoever
# follows the channel but not the thread hears of it; the outbox keeps a mass failure in the
# thread past the first few (`bot.outbox.BROADCAST_MOST`), and the summary names them all.
FAILURES = frozenset({ev.JobFailed, ev.JobCancelled, ev.WriteRefused, ev.NotStarted,
                      ev.RestartLost, ev.AgentGaveUp, ev.TimedOut})


def _linked(message: Message, links: str) -> Message:
    """A failure with its job and item links in the Azure portal after its first line."""
    if not links:
        return message
    where = "\n" + _("In the Azure portal: {links}").format(links=links)
    return {**message, "text": message["text"] + where, **(
        {"blocks": [section(message["blocks"][0]["text"]["text"] + where),
                    *message["blocks"][1:]]} if message.get("blocks") else {})}


def listed(head: str, lines: Sequence[str], tail: str = "") -> Message:
    """A head line and a list that must stay complete: sections of at most SECTION_LIMIT."""
    body = [*lines, tail] if tail else list(lines)
    text = clip(head + "\n" + "\n".join(body), LIST_TEXT_LIMIT)
    if len(text) <= REPLY_LIMIT:
        return {"text": text}
    return {"text": text, "blocks": [section(head), *(section(c) for c in _chunks(body, most=45))]}


def started(event: ev.RunStarted) -> Message:
    lines = ["• " + (_("{vm} — job {job}") if job else _("{vm} — submitted, job id pending"))
             .format(vm=code(vm), job=code(job or "")) for vm, job in event.jobs]
    return listed(":rocket: " + _("{operation} started for {count} VM(s) in Site Recovery:")
                  .format(operation=title(event.operation), count=len(event.jobs)), lines)


def progress(runs: Sequence[Run], portal: str | None) -> Message:
    """The one progress message, edited in place: each VM's state now, in words, with its
    job and item in the Azure portal; VMs done fold into one line when the list is long."""
    word = operation_named(runs[0].operation).done_word if runs else ""
    going = any(r.status not in FINAL_RUN_STATUSES for r in runs)
    icon = ":hourglass_flowing_sand:" if going or not runs else ":checkered_flag:"
    head = f"{icon} " + (_("*Progress* — {tally}").format(tally=run_words.tally(runs, word))
                         if runs else _("*Progress* — waiting for Site Recovery's first answer"))
    head += " " + _("(this message is updated in place)")
    return listed(head, _progress_lines(runs, word, portal))


def _progress_lines(runs: Sequence[Run], word: str, portal: str | None) -> list[str]:
    """Every VM with its links; past PROGRESS_BUDGET, links only where something went
    wrong, the VMs done in one line, then the others grouped by state."""
    full = [f"• {run_words.vm_line(r, word, portal)}" for r in runs]
    if sum(len(line) + 1 for line in full) <= PROGRESS_BUDGET:
        return full
    done = [r for r in runs if r.status == RunStatus.PROTECTED]
    bad = run_words.ended_badly(runs)
    rest = [r for r in runs if r.status not in FINAL_RUN_STATUSES]
    head = [f"• {word} ({len(done)}): {run_words.named(done, 30)}"] if done else []
    lines = [*head, *(f"• {run_words.vm_line(r, word, portal if i < LINKED_MOST else None)}"
                      for i, r in enumerate(bad)),
             *(f"• {run_words.vm_line(r, word, None)}" for r in rest)]
    if sum(len(line) + 1 for line in lines) <= PROGRESS_BUDGET:
        return lines
    groups: dict[str, list[Run]] = {}
    for r in [*bad, *rest]:
        groups.setdefault(run_words.state(r, word), []).append(r)
    return [*head, *(f"• {state} ({len(members)}): {run_words.named(members, 20)}"
                     for state, members in groups.items())]


# What an operation's done means for the operator: (for one VM, the head for several,
# what to do next); an operation missing here gets the bare "is <done word>".
AFTER_DONE = {"reprotect": (
    N_("{vm} is {word}: replication to the private cloud runs. Keep the AVS VM powered off "
       "until failback."),
    N_("Replication to the private cloud runs, so each of these {count} VMs is {word}:"),
    N_("Keep the AVS VMs powered off until failback.")),
    "failback": AFTER_FAILBACK, "failback-vm": AFTER_FAILBACK, **commit.AFTER_DONE,
    **TO_AZURE_AFTER_DONE}
# What the summary of an operation says comes next.
SUMMARY_NEXT = {"failback": NEXT, "failback-vm": NEXT, **commit.SUMMARY_NEXT}


def done(event: ev.Done) -> Message:
    """One reply for every VM the operation finished on since the last one."""
    word = operation_named(event.operation).done_word
    one, several, then = AFTER_DONE.get(event.operation, (
        N_("{vm} is {word}."), N_("Each of these {count} VMs is {word}:"), ""))
    if len(event.vms) == 1:
        return notice(":white_check_mark: " + _(one).format(vm=code(event.vms[0]), word=word))
    return listed(":white_check_mark: " + _(several).format(count=len(event.vms), word=word),
                  [", ".join(code(vm) for vm in event.vms[i:i + 10])
                   for i in range(0, len(event.vms), 10)], _(then) if then else "")


def failed(vm: str, reason: str, run_id: int | None = None) -> Message:
    """A VM's failure; with a Retry button (restart its job) when `run_id` can be retried."""
    text = clip(":x: " + _("{vm} failed.").format(vm=code(vm)) + f"\n{reason}", REPLY_LIMIT)
    if run_id is None:
        return {"text": text}
    return {"text": text, "blocks": [
        section(text),
        {"type": "actions", "block_id": f"retry:{run_id}", "elements": [
            {"type": "button", "action_id": actions.RETRY, "value": str(run_id),
             "text": {"type": "plain_text", "text": "Retry"}}]},  # kept in every language
    ]}


def notice(text: str) -> Message:
    return {"text": clip(text, REPLY_LIMIT)}


def describe(errors: Sequence[ev.JobErrorInfo]) -> str:
    """Every error: code, message, causes, recommended action, provider error, known fix."""
    if not errors:
        return _("Site Recovery reported no error details; open the job in the Azure portal.")
    parts = []
    for error in errors:
        lines = [_("*Error {code}*: {message}").format(
            code=escape(error.code), message=escape(error.message)).strip()]
        if error.possible_causes:
            lines.append(_("_Possible causes:_ {causes}").format(
                causes=escape(error.possible_causes)))
        if error.recommended_action:
            lines.append(_("_Recommended action:_ {action}").format(
                action=escape(error.recommended_action)))
        if error.provider_code or error.provider_message:
            lines.append(_("_Provider error {code}:_ {message}").format(
                code=escape(error.provider_code),
                message=escape(error.provider_message)).rstrip())
        fix = KNOWN_FIXES.get(error.code) or KNOWN_FIXES.get(error.provider_code)
        if fix:
            lines.append(f":bulb: {_(fix)}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def item_state(item: ev.ItemState) -> str:
    """The item's protection state and health, with every health error and its fix."""
    text = _("protection state {state}, replication health {health}").format(
        state=code(item.state), health=escape(item.health) if item.health else _("n/a"))
    for error in item.errors:
        text += f"\n• *{escape(error.code)}* {escape(error.message)}" + (
            " " + _("_Recommended action:_ {action}").format(
                action=escape(error.recommended_action)) if error.recommended_action else "")
    return text


def _at(task: str) -> str:
    """Where a job stands, as Site Recovery names its task."""
    return " " + _("at _{task}_").format(task=escape(task)) if task else ""


def _reason(event: ev.AgentWaiting | ev.AgentGaveUp) -> str:
    return describe(event.errors) if event.errors else escape(event.reason.strip())


def duration(seconds: int) -> str:
    return (_("{minutes} min").format(minutes=seconds // 60) if seconds >= 60
            else _("{seconds} s").format(seconds=seconds))


def explain(what: str, why: str, fix: str) -> str:
    """A gateway's explanation; it may quote Azure's answer, so all of it is escaped."""
    return "\n".join([escape(what), *([_("Why: {why}").format(why=escape(why))] if why else []),
                      *([_("Next: {fix}").format(fix=escape(fix))] if fix else [])])


def job_failed(event: ev.JobFailed) -> Message:
    return failed(event.vm, _("Site Recovery job {job} failed").format(job=code(event.job_id))
                  + _at(event.task) + ".\n" + describe(event.errors)
                  + (f"\n{UNDONE[event.undone]}" if event.undone in UNDONE else "")
                  + ("\n" + _("An approver can press *Retry* to restart the job once the cause "
                               "is fixed.") if event.run_id is not None else ""), event.run_id)


def job_cancelled(event: ev.JobCancelled) -> Message:
    return failed(event.vm, _(
        "Site Recovery job {job} was cancelled (in the Azure portal or with "
        "`Stop-AzRecoveryServicesAsrJob`), so the VM is not reprotected and nothing else runs "
        "for it. Run `/reprotect` for it again once the reason for cancelling is dealt "
        "with.").format(job=code(event.job_id)))


def job_suspended(event: ev.JobSuspended) -> Message:
    return notice(":double_vertical_bar: " + _(
        "{vm}: Site Recovery job {job} is suspended: it waits for a manual action{at}. Resume "
        "it in the Azure portal (Site Recovery jobs → the job → Resume) or with "
        "`Resume-AzRecoveryServicesAsrJob`; the bot keeps following it.").format(
        vm=code(event.vm), job=code(event.job_id), at=_at(event.task)))


def write_refused(event: ev.WriteRefused) -> Message:
    what = (_("Site Recovery refused to restart job {job}.").format(job=code(event.job_id))
            if event.job_id else _("Site Recovery refused the reprotect request."))
    return failed(event.vm, f"{what}\n{explain(event.what, event.why, event.fix)}", event.run_id)


def not_started(event: ev.NotStarted) -> Message:
    return failed(event.vm, _(
        "Reprotect could not be started: {last}. Site Recovery shows no reprotect running for "
        "it; check the vault, then run `/reprotect` again for this VM.").format(
        last=escape(event.last)))


def restart_lost(event: ev.RestartLost) -> Message:
    return failed(event.vm, _(
        "The restart of job {job} did not reach Site Recovery (no new job runs for this VM). An "
        "approver can press Retry again.").format(job=code(event.job_id)), event.run_id)


def retried(event: ev.Retried) -> Message:
    values = {"by": f"<@{event.by}>", "vm": code(event.vm), "job": code(event.job_id),
              "previous": code(event.previous or "")}
    if event.cause == "approved":
        template = _("{by} approved a retry of {vm}: job {previous} restarted as {job}.")
    elif event.cause == "adopted":
        template = _("{vm}: the restarted job is {job}.")
    elif event.previous:
        template = _("{vm}: job {previous} restarted after waiting for the agent, new job "
                     "{job}.")
    else:
        template = _("{vm}: retried after waiting for the agent, job {job}.")
    return notice(":repeat: " + template.format(**values))


def agent_waiting(event: ev.AgentWaiting) -> Message:
    if event.modernized:
        return notice(":hourglass: " + _(
            "{vm}: waiting for its mobility agent to register with Site Recovery (the item "
            "reports isAgentRegistrationSuccessfulAfterFailover false). It registers up to 15 "
            "minutes after the VM boots in Azure; the bot reads the item again with backoff and "
            "sends the reprotect once it has registered, for up to {wait}, no new approval "
            "needed.").format(vm=code(event.vm), wait=duration(event.wait_s)))
    return notice(":hourglass: " + _(
        "{vm}: waiting for the agent to re-register with the configuration server. Site "
        "Recovery says: {reason}\nAfter failover the Azure VM's agent takes up to 15 minutes to "
        "re-register; the bot retries by itself with backoff for up to {wait}, no new approval "
        "needed.").format(vm=code(event.vm), reason=_reason(event), wait=duration(event.wait_s)))


def agent_gave_up(event: ev.AgentGaveUp) -> Message:
    if event.modernized and not event.errors:
        return failed(event.vm, _(
            "The mobility agent of {vm} did not register with Site Recovery within {wait} after "
            "approval, so no reprotect was sent. Check that the Azure VM runs, its mobility "
            "agent services run and reach Site Recovery's URLs, and resolve its critical health "
            "error (Replicated items → the VM); then run `/reprotect` again for this VM.").format(
            vm=code(event.vm), wait=duration(event.wait_s)), event.run_id)
    return failed(event.vm, _(
        "The agent of {vm} did not re-register with the configuration server within {wait}: "
        "reprotect was retried {tries} time(s) and still fails. Site Recovery says: {reason}\n"
        "{fix}; then press Retry, or run `/reprotect` again for this VM.").format(
        vm=code(event.vm), wait=duration(event.wait_s), tries=event.tries,
        reason=_reason(event), fix=_(AGENT_FIX)), event.run_id)


def health_warning(event: ev.HealthWarning) -> Message:
    return notice(":warning: " + _(
        "{vm} is not protected yet: {state}.\nThe bot keeps waiting for `Protected` until "
        "REPROTECT_PROTECT_TIMEOUT_MINUTES; fix the errors above meanwhile.").format(
        vm=code(event.vm), state=item_state(event.item)))


def timed_out(event: ev.TimedOut) -> Message:
    where = (item_state(event.item) if event.item is not None
             else _("job still {state}").format(state=escape(event.job_state))
             + (" " + _("at {task}").format(task=escape(event.task)) if event.task else ""))
    return failed(event.vm, _(
        "Time ran out: not protected after {minutes} min (REPROTECT_PROTECT_TIMEOUT_MINUTES). It "
        "is in this state: {where}. The bot stopped following it; Site Recovery carries on by "
        "itself: check the replicated item and its jobs in the Azure portal.").format(
        minutes=event.minutes, where=where))


def summary(event: ev.Summary, runs: Sequence[Run] = ()) -> Message:
    """The outcome, counted, naming the VMs that failed or timed out; also in the channel."""
    parts = [f"{event.done}/{event.total} {operation_named(event.operation).done_word}"]
    failed_runs = [r for r in runs if r.status == RunStatus.FAILED]
    late = [r for r in runs if r.status == RunStatus.TIMED_OUT]
    if event.failed:
        parts.append(_("{count} failed").format(count=event.failed)
                     + (f" ({run_words.named(failed_runs)})" if failed_runs else ""))
    if event.timed_out:
        parts.append(_("{count} timed out").format(count=event.timed_out)
                     + (f" ({run_words.named(late)})" if late else ""))
    icon = ":tada:" if event.done == event.total else ":warning:"
    then = SUMMARY_NEXT.get(event.operation, "") if event.done else ""
    text = f"{icon} " + _("*Summary*: {outcome}.").format(outcome=", ".join(parts)) + (
        f"\n{then}" if then else "")
    offered = next_steps.buttons(event.operation, event.request_id, event.provider, event.done)
    if offered:
        return {"text": text, "blocks": [section(text), *offered], "reply_broadcast": True}
    return {"text": text, "reply_broadcast": True}


OUTCOMES = {"rejected": N_("rejected"), "cancelled": N_("cancelled")}


def decided(event: ev.Decided) -> Message:
    template = (_("Request #{number} {outcome} by {by}: {reason}.") if event.reason
                else _("Request #{number} {outcome} by {by}."))
    outcome = _(OUTCOMES[event.outcome]) if event.outcome in OUTCOMES else escape(event.outcome)
    return notice(":no_entry_sign: " + template.format(
        number=event.request_id, outcome=outcome, by=f"<@{event.by}>", reason=code(event.reason))
                  + " " + _("Nothing was sent to Site Recovery."))


def approvals_void(event: ev.ApprovalsVoid) -> Message:
    return notice(":no_entry: " + _(
        "Request #{number} was not run: its approvals were given for different values than "
        "those it would send now, so they are void. Run `/reprotect` again for a fresh "
        "preflight and approval.").format(number=event.request_id))


def auth_problem(event: ev.AuthProblem) -> Message:
    return notice(f":closed_lock_with_key: {explain(event.what, event.why, event.fix)}\n"
                  + _("Tracking is paused for this request; nothing is lost."))


def _preflight_changed(event: ev.PreflightChanged) -> Message:
    return preflight_changed(event.request_id, event.command, event.changes,
                             ResolvedPlan.from_json(event.plan) if event.plan else None)


_BUILDERS: dict[type, Callable[[Any], Message]] = {
    ev.RunStarted: started,
    ev.Done: done,
    ev.JobFailed: job_failed,
    ev.JobCancelled: job_cancelled,
    ev.JobSuspended: job_suspended,
    ev.WriteRefused: write_refused,
    ev.NotStarted: not_started,
    ev.RestartLost: restart_lost,
    ev.Retried: retried,
    ev.AgentWaiting: agent_waiting,
    ev.AgentGaveUp: agent_gave_up,
    ev.HealthWarning: health_warning,
    ev.TimedOut: timed_out,
    ev.Decided: decided,
    ev.ApprovalsVoid: approvals_void,
    ev.AuthProblem: auth_problem,
    ev.AuthRecovered: lambda _event: notice(":unlock: " + _(
        "Azure accepts the bot's token again: tracking resumed.")),
    ev.PreflightChanged: _preflight_changed,
    ev.PoweredOn: lambda e: powered_on(e.vms, e.finished),
}
