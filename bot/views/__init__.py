"""Block Kit views: pure functions returning `{"text", "blocks"}` within Slack's limits.

Every message carries a plain-text fallback; section texts stay under 3,000 characters and
messages under 50 blocks whatever the plan size (1 to 100 VMs), by folding VMs that share a
result into one line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.views import checks, journey
from bot.views.failback import notes, title
from bot.views.i18n import N_, _, ngettext
from bot.views.mrkdwn import code, escape
from bot.views.plan_problems import plan_problem
from bot.views.request_state import headline
from bot.views.to_azure import TITLE as TO_AZURE_TITLE
from core import actions
from core.events import Change, ChangeKind
from core.plan import CheckResult, Choice, ResolvedPlan, Verdict
from operations import REPROTECT, REPROTECT_TO_AZURE
from operations.base import Operation
from store.models import Run, row_number

SECTION_LIMIT = 2900
Message = dict[str, Any]
ICON = {Verdict.BLOCK: ":no_entry:", Verdict.WARN: ":warning:", Verdict.MANUAL: ":ballot_box:",
        Verdict.PASS: ":white_check_mark:"}
# Findings are labelled in words as well as icons: an icon alone is lost on a screen reader,
# in a notification, and on a tired reader.
LABEL = {Verdict.BLOCK: N_("Blocker"), Verdict.WARN: N_("Warning")}


def clip(text: str, limit: int = SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text)}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text)}]}


def when(moment: datetime) -> str:
    """Slack renders this in each reader's time zone, with a UTC fallback."""
    return (f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|"
            f"{moment:%Y-%m-%d %H:%M} UTC>")


def vm_list(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(code(n) for n in names[:limit])
    return _("{names} and {count} more").format(names=shown, count=len(names) - limit) \
        if len(names) > limit else shown


# Characters of check lines in one message: with the values, the VM list, the manual items
# and the buttons, a 100-VM plan stays near 8,000 characters of blocks, well under the
# ~13,000 at which Slack answers msg_blocks_too_long.
CHECK_BUDGET = 5500
# Detail levels tried in turn until the findings fit: findings shown per check, characters
# per message or fix, VM names per line.
DETAIL_LEVELS = ((None, 900, 12), (8, 400, 12), (4, 250, 8), (2, 160, 5), (1, 120, 3))
CHECKBOX_TEXT_LIMIT = 75


def _findings(results: Sequence[CheckResult]) -> list[str]:
    """Blockers, then warnings: one entry per check, its findings folded, within budget."""
    groups: dict[tuple[Verdict, str], list[CheckResult]] = {}
    for verdict in (Verdict.BLOCK, Verdict.WARN):
        for result in results:
            if result.verdict is verdict:
                groups.setdefault((verdict, result.check), []).append(result)
    lines: list[str] = []
    for shown, chars, names in DETAIL_LEVELS:
        lines = [_group_line(group, shown, chars, names) for group in groups.values()]
        if sum(len(line) + 1 for line in lines) <= CHECK_BUDGET and \
                all(len(line) <= SECTION_LIMIT for line in lines):
            break
    return lines


def _group_line(group: Sequence[CheckResult], shown: int | None, chars: int, names: int) -> str:
    """One check: its findings (VMs: message), and its fix once when they share it."""
    verdict = group[0].verdict
    head = f"{ICON[verdict]} *{_(LABEL[verdict])}:* *{escape(group[0].check)}*"
    fixes = {checks.fix(r) for r in group}
    one_fix = len(fixes) == 1

    def finding(r: CheckResult) -> str:
        who = f"{vm_list(r.vms, names)}: " if r.vms else ""
        said = checks.fix(r)
        fix = "" if one_fix or not said else " " + _("_Fix:_ {fix}").format(
            fix=clip(said, chars))
        return f"{who}{clip(checks.message(r), chars)}{fix}"

    if len(group) == 1:
        body = f"{head} — {finding(group[0])}"
    else:
        visible = group[:shown] if shown is not None else group
        body = f"{head} " + _("({count} findings)").format(count=len(group)) + "".join(
            f"\n    • {finding(r)}" for r in visible)
        hidden = group[len(visible):]
        if hidden:
            rest = [vm for r in hidden for vm in r.vms]
            body += "\n    • " + (_("… and {count} more on {vms}") if rest
                                  else _("… and {count} more")).format(
                count=len(hidden), vms=vm_list(rest, names))
    fix = next(iter(fixes)) if one_fix else ""
    return body + ("\n    " + _("_Fix:_ {fix}").format(fix=clip(fix, chars)) if fix else "")


def manual_request(block_id: str) -> int:
    """The request id in the checkboxes' block id (`manual:<id>`); 0 when malformed."""
    prefix, _, request_id = block_id.partition(":")
    number = row_number(request_id) if prefix == actions.MANUAL_BLOCK else None
    return number or 0


def passed_checks(plan: ResolvedPlan) -> list[str]:
    """The checks that passed for every VM (a check with a finding is not among them)."""
    failing = {c.check for c in plan.checks if c.verdict in (Verdict.BLOCK, Verdict.WARN)}
    return sorted({c.check for c in plan.checks if c.verdict is Verdict.PASS} - failing)


def check_blocks(plan: ResolvedPlan, request_id: int | None = None) -> list[dict[str, Any]]:
    """Blockers with their fix, then warnings, then the passes folded to a count; with a
    `request_id`, a button that lists them privately on demand."""
    blocks = [section(chunk) for chunk in _chunks(_findings(plan.checks), most=6)]
    passed = passed_checks(plan)
    if not passed:
        return blocks
    count = ":white_check_mark: " + ngettext("{count} check passed", "{count} checks passed",
                                             len(passed)).format(count=len(passed))
    if request_id is None:
        return [*blocks, context(count)]
    return [*blocks, {**section(count), "accessory": {
        "type": "button", "action_id": actions.SHOW_PASSED, "value": str(request_id),
        "text": {"type": "plain_text", "text": _("Show passed checks")}}}]


def passed_list(request_id: int, plan: ResolvedPlan) -> str:
    """The private answer to "Show passed checks": every check id that passed."""
    passed = passed_checks(plan)
    return ":white_check_mark: " + _("Checks passed for request #{number} ({count}): "
                                     "{checks}").format(
        number=request_id, count=len(passed),
        checks=", ".join(code(p) for p in passed) or _("none"))


def _manual_blocks(request_id: int, plan: ResolvedPlan, status: str,
                   confirmations: Mapping[str, tuple[str, datetime]],
                   approval_confirms: bool) -> list[dict[str, Any]]:
    """While pending, checkboxes an approver ticks; afterwards, who confirmed what."""
    items = plan.manual_items
    if not items:
        return []
    if status != "pending":
        lines = [f"{':ballot_box_with_check:' if i.key in confirmations else ':ballot_box:'} "
                 f"*{i.result.check}*: {checks.message(i.result)} — "
                 + (_("confirmed by {who} at {when}").format(
                     who=f"<@{confirmations[i.key][0]}>", when=when(confirmations[i.key][1]))
                    if i.key in confirmations else _("not confirmed")) for i in items]
        return [section("*" + _("Confirmed by hand") + "*\n" + "\n".join(lines))]
    detail = "\n".join(f"• *{checks.message(i.result)}*: {checks.fix(i.result)}"
                       for i in items)
    options = [{"text": {"type": "mrkdwn",
                         "text": clip(checks.message(i.result), CHECKBOX_TEXT_LIMIT)},
                "value": i.key} for i in items]
    ticked = [o for o, i in zip(options, items, strict=True) if i.key in confirmations]
    checkboxes: dict[str, Any] = {"type": "checkboxes", "action_id": actions.CONFIRM_MANUAL,
                                  "options": options}
    if ticked:
        checkboxes["initial_options"] = ticked
    head = (_("*Confirm before approving* (the bot cannot see these; an approver ticks them, "
              "and approving confirms any left unticked in the approver's name):")
            if approval_confirms else
            _("*Confirm before approving* (the bot cannot see these; an approver ticks them, "
              "and Approve waits for all):"))
    blocks = [section(f":ballot_box: {head}\n" + detail),
              {"type": "actions", "block_id": f"{actions.MANUAL_BLOCK}:{request_id}",
               "elements": [checkboxes]}]
    if confirmations:
        blocks.append(context(_("Ticked: {items}").format(items="; ".join(
            _("{item} by {who} at {when}").format(
                item=checks.message(i.result), who=f"<@{confirmations[i.key][0]}>",
                when=when(confirmations[i.key][1])) for i in items if i.key in confirmations))))
    return blocks


ARCHITECTURES = {"classic": N_("classic architecture (configuration server, master target)"),
                 "modernized": N_("modernized architecture (replication appliance)")}
# Distinct per-VM values shown before "… and N more": the approver sees every value that
# is sent for up to this many datastores or log storage accounts (an appliance reaches few).
PER_VM_GROUPS = 6


def architecture(plan: ResolvedPlan) -> str:
    """Which architecture the plan uses, as its provider and `architecture` check say."""
    if any(c.check == "architecture" and c.verdict is Verdict.BLOCK for c in plan.checks):
        return _("architecture not reprotectable as one plan (see *architecture*)")
    if plan.provider in ARCHITECTURES:
        return _(ARCHITECTURES[plan.provider])
    return _("{provider} architecture").format(provider=escape(plan.provider))


def _value(label: str, choice: Choice | None) -> str:
    if choice is None:
        return f"• {label}: _{_('none')}_"
    why = f" _({escape(choice.reason)})_" if choice.reason and choice.reason != "given" else ""
    return f"• {label}: {code(choice.name)}{why}"


def _per_vm(label: str, values: Sequence[tuple[str, Choice | None]]) -> str:
    """One line when every VM gets the same value; else one line per value, naming its VMs."""
    groups: dict[str | None, list[tuple[str, Choice | None]]] = {}
    for vm, choice in values:
        groups.setdefault(choice.name if choice else None, []).append((vm, choice))
    if len(groups) == 1:
        return _value(_("{label} (every VM)").format(label=label), values[0][1])
    lines = ["• " + _("{label}, per VM:").format(label=label)]
    for shown, members in enumerate(groups.values()):
        if shown == PER_VM_GROUPS:
            rest = sum(len(m) for m in list(groups.values())[shown:])
            lines.append("    • " + _("… {count} more values for {vms} VMs").format(
                count=len(groups) - shown, vms=rest))
            break
        lines.append("    " + _value(vm_list([vm for vm, _ in members], 8), members[0][1]))
    return "\n".join(lines)


def _values(operation: Operation, plan: ResolvedPlan) -> str:
    lines = [_value(v.label, v.value) if v.per_item is None
             else _per_vm(v.label, [(vm, choice) for _item, vm, choice in v.per_item])
             for v in operation.values(plan) if v.shown]
    return "*" + _("Values that will be sent") + "*\n" + "\n".join(lines)


def summary_line(plan: ResolvedPlan) -> str:
    """VMs, blockers, warnings (what is left to confirm by hand is the first line's)."""
    count = {v: sum(1 for c in plan.checks if c.verdict is v) for v in Verdict}
    vms = len(plan.items)
    return " · ".join((
        ngettext("{count} VM", "{count} VMs", vms).format(count=vms),
        _("{count} blocker(s)").format(count=count[Verdict.BLOCK]),
        _("{count} warning(s)").format(count=count[Verdict.WARN])))


def decided_note(status: str, decided_by: str | None, reason: str) -> str:
    """Who rejected or cancelled, and why; for a stale request, what changed."""
    if decided_by and status in ("rejected", "cancelled"):
        return (_("by {who}: {reason}") if reason else _("by {who}")).format(
            who=f"<@{decided_by}>", reason=code(reason))
    return _("changed: {what}").format(what=escape(reason)) \
        if status == "stale" and reason else ""


def request_message(*, request_id: int, requester: str, plan: ResolvedPlan, status: str,
                    approvals: Sequence[tuple[str, datetime]], required: int,
                    expires_at: datetime | None, decided_note: str = "",
                    confirmations: Mapping[str, tuple[str, datetime]] | None = None,
                    approval_confirms_manual: bool = True,
                    operation: Operation = REPROTECT, runs: Sequence[Run] = ()) -> Message:
    """The channel message: where the request stands (first line), the request, values,
    preflight, manual items, and buttons while approvable. `confirmations` maps ticked
    manual item keys to (who, when); `runs` are the request's runs as they are now (the
    thread's progress message shows each VM; the first line counts them)."""
    ticked = confirmations or {}
    state = headline(status, plan, runs, missing=max(required - len(approvals), 0),
                     unconfirmed=sum(1 for i in plan.manual_items if i.key not in ticked),
                     approval_confirms=approval_confirms_manual, decided_note=decided_note,
                     done_word=operation.done_word)
    what = title(operation.name)
    direction = f", {TO_AZURE_TITLE}" if plan.operation == REPROTECT_TO_AZURE.name else ""
    head = _("{operation} #{number}: plan *{plan}*, {architecture} — {summary}").format(
        operation=what, number=request_id, plan=escape(plan.plan_friendly_name),
        architecture=architecture(plan) + direction, summary=summary_line(plan))
    blocks: list[dict[str, Any]] = [
        section(f"{state}\n{head}\n" + _("Requested by {who}.").format(who=f"<@{requester}>")),
        *([context(journey.at_preflight(plan.journey))] if plan.journey else []),
        *[section(line) for line in notes(operation.name, plan)],
        section(_values(operation, plan)),
        section(_("*VMs ({count})*: {vms}").format(
            count=len(plan.items), vms=vm_list([i.vm_name for i in plan.items], 40))),
        *check_blocks(plan, request_id),
        *_manual_blocks(request_id, plan, status, ticked, approval_confirms_manual),
    ]
    if approvals:
        blocks.append(context(_("Approved by {who}").format(who=", ".join(
            _("{who} at {when}").format(who=f"<@{who}>", when=when(at))
            for who, at in approvals))))
    if status == "pending":
        needs = (_("Needs {count} approval(s) from an approver other than {requester}; expires "
                   "{when}.") if expires_at else
                 _("Needs {count} approval(s) from an approver other than {requester}."))
        blocks.append(context(needs.format(count=required, requester=f"<@{requester}>",
                                           when=when(expires_at) if expires_at else "")))
        blocks.append({"type": "actions", "block_id": f"decide:{request_id}", "elements": [
            {"type": "button", "action_id": actions.APPROVE, "value": str(request_id),
             "style": "primary", "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "action_id": actions.REJECT, "value": str(request_id),
             "style": "danger", "text": {"type": "plain_text", "text": "Reject"}},
            {"type": "button", "action_id": actions.CANCEL, "value": str(request_id),
             "text": {"type": "plain_text", "text": "Cancel"}},  # kept in every language
        ]})
    elif status == "blocked":
        blocks.append(context(":no_entry: " + _(
            "Blocked: fix the blockers above, then run {command} again. Nothing was sent to "
            "Site Recovery.").format(command=f"`{operation.form.command}`")))
    elif status == "stale":
        blocks.append(context(":arrows_counterclockwise: " + _(
            "Preflight changed when an approver clicked ({what}): approval refused and nothing "
            "was sent. Run {command} again for a fresh request.").format(
            what=decided_note or _("see the thread"), command=f"`{operation.form.command}`")))
    text = _("{operation} #{number} for plan {plan}: {state}").format(
        operation=what, number=request_id, plan=escape(plan.plan_friendly_name), state=state)
    return {"text": clip(text, 3000), "blocks": blocks[:50]}


def _chunks(lines: Sequence[str], limit: int = SECTION_LIMIT, most: int = 30) -> list[str]:
    """Pack lines into as few section texts as fit, never more than `most` sections."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        if current and len(current) + len(line) + 1 > limit:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks[:most]


def change_line(change: Change, plan: ResolvedPlan | None) -> str:
    """One difference the re-check found, every name from Azure in a code span."""
    match change.kind:
        case ChangeKind.REFUSED:
            return plan_problem(change.problem) if change.problem \
                else _("The plan did not resolve")
        case ChangeKind.BLOCKS:
            found = [r for r in (plan.blockers if plan else ()) if r.check == change.label
                     and r.vms == change.vms]
            vms = (f" ({', '.join(code(v) for v in change.vms[:5])}"
                   f"{'…' if len(change.vms) > 5 else ''})" if change.vms else "")
            return _("{check} now blocks{vms}").format(check=escape(change.label), vms=vms) \
                + "".join(f": {checks.message(r)}" for r in found[:1])
        case ChangeKind.VALUE:
            label = (_("{label} of {vm}").format(label=escape(change.label), vm=code(change.vm))
                     if change.vm else escape(change.label))
            return (f"{label}: {code(change.before or _('none'))} → "
                    f"{code(change.after or _('none'))}")
        case ChangeKind.VMS:
            return _("VMs: {changes}").format(changes=", ".join(
                [f"+{code(v)}" for v in change.vms] + [f"−{code(v)}" for v in change.gone]))
        case ChangeKind.RUN_AS:
            return _("Run-as account of the configuration server changed")
        case ChangeKind.IDS:
            return _("Site Recovery ids of the values changed")
    raise ValueError(f"no words for {change}")


def preflight_changed(request_id: int, command: str, changes: Sequence[Change],
                      plan: ResolvedPlan | None) -> Message:
    """Thread reply when the re-check at approval differs from what was posted."""
    head = (":arrows_counterclockwise: " + _(
        "Preflight of request #{number} changed since it was posted, so the approval was "
        "refused and nothing was sent:").format(number=request_id) + "\n"
            + "\n".join(f"• {change_line(c, plan)}" for c in changes) + "\n"
            + _("Run {command} again for a fresh request to approve.").format(
                command=code("/reprotect " + command)))
    blocks = [section(head)]
    if plan is not None:
        blocks += [context(_("Preflight now: {summary}").format(summary=summary_line(plan))),
                   *check_blocks(plan)]
    return {"text": clip(head, 3900), "blocks": blocks}


def powered_on(vms: Sequence[str], finished: bool) -> Message:
    """Thread warning from the power guard: an AVS VM must stay off until failback."""
    template = (_("Powered on in the private cloud after reprotect: {vms}.") if finished
                else _("Powered on in the private cloud while reprotect runs: {vms}."))
    return {"text": clip(":warning: " + template.format(vms=vm_list(vms)) + " " + _(
        "The AVS VM must stay off until failback: replication overwrites its disks, and changes "
        "made in it are lost. Power it off in vCenter now and leave it off; failback (a planned "
        "failover back) starts it."), 3900)}


REASON_ACTION = "reason_input"


def reject_modal(request_id: int, channel: str) -> dict[str, Any]:
    """Rejections carry a reason, shown in the thread for whoever picks the incident up."""
    return {
        "type": "modal", "callback_id": actions.REJECT_CALLBACK,
        "private_metadata": json.dumps({"request_id": request_id, "channel": channel}),
        "title": {"type": "plain_text", "text": f"Reject #{request_id}"},  # the button's word
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": _("Back")},
        "blocks": [{
            "type": "input", "block_id": actions.REASON_BLOCK,
            "label": {"type": "plain_text", "text": _("Why reject this reprotect?")},
            "element": {"type": "plain_text_input", "action_id": REASON_ACTION,
                        "multiline": True, "max_length": 500},
        }],
    }


def reject_reason(view: dict[str, Any]) -> str:
    """The reason typed in `reject_modal`; empty when the view is not shaped as it sends."""
    value: object = view
    for key in ("state", "values", actions.REASON_BLOCK, REASON_ACTION, "value"):
        value = value.get(key) if isinstance(value, dict) else None
    return str(value or "").strip()


def reject_target(view: dict[str, Any]) -> tuple[int, str] | None:
    """The request and channel `reject_modal` stored; None when the metadata is not ours."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        return int(meta["request_id"]), str(meta["channel"])
    except (ValueError, KeyError, TypeError, RecursionError):  # not ours: forged or mangled
        return None
