"""Block Kit views: pure functions returning `{"text", "blocks"}` within Slack's limits.

Every message carries a plain-text fallback; section texts stay under 3,000 characters and
messages under 50 blocks whatever the plan size (1 to 100 VMs), by folding VMs that share a
result into one line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from commands.plan_model import CheckResult, ResolvedPlan, Verdict

SECTION_LIMIT = 2900
Message = dict[str, Any]
ICON = {Verdict.BLOCK: ":no_entry:", Verdict.WARN: ":warning:", Verdict.MANUAL: ":ballot_box:",
        Verdict.PASS: ":white_check_mark:"}


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
    shown = ", ".join(f"`{n}`" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _check_line(result: CheckResult) -> str:
    who = f" — {vm_list(result.vms)}" if result.vms else ""
    fix = f"\n    _Fix:_ {result.fix}" if result.fix and result.verdict is not Verdict.PASS else ""
    return f"{ICON[result.verdict]} *{result.check}*{who}: {result.message}{fix}"


def _values(plan: ResolvedPlan) -> str:
    rows = [("Master target", plan.master_target), ("Process server", plan.process_server),
            ("Datastore", plan.datastore), ("Retention volume", plan.retention),
            ("Failback policy", plan.policy)]
    lines = []
    for label, choice in rows:
        if choice is None:
            lines.append(f"• {label}: _none_")
            continue
        why = f" _({choice.reason})_" if choice.reason and choice.reason != "given" else ""
        lines.append(f"• {label}: `{choice.name}`{why}")
    return "*Values that will be sent*\n" + "\n".join(lines)


def summary_line(plan: ResolvedPlan) -> str:
    count = {v: sum(1 for c in plan.checks if c.verdict is v) for v in Verdict}
    vms = len(plan.items)
    return (f"{vms} VM{'s' if vms != 1 else ''} · {count[Verdict.BLOCK]} blocker(s) · "
            f"{count[Verdict.WARN]} warning(s) · {count[Verdict.MANUAL]} to confirm")


def request_message(*, request_id: int, requester: str, plan: ResolvedPlan, status: str,
                    approvals: Sequence[tuple[str, datetime]], required: int,
                    expires_at: datetime | None, decided_note: str = "") -> Message:
    """The channel message: request, values, preflight, and buttons while approvable."""
    title = f"Reprotect #{request_id}: plan *{plan.plan_friendly_name}* — {summary_line(plan)}"
    blocks: list[dict[str, Any]] = [
        section(f":arrows_counterclockwise: {title}\nRequested by <@{requester}>."),
        section(_values(plan)),
        section(f"*VMs ({len(plan.items)})*: " + vm_list([i.vm_name for i in plan.items], 40)),
    ]
    ordered = [c for v in (Verdict.BLOCK, Verdict.WARN, Verdict.MANUAL)
               for c in plan.checks if c.verdict is v]
    for chunk in _chunks([_check_line(c) for c in ordered]):
        blocks.append(section(chunk))
    passed = sorted({c.check for c in plan.checks if c.verdict is Verdict.PASS})
    if passed:
        blocks.append(context(":white_check_mark: Passed: " + ", ".join(passed)))
    if approvals:
        blocks.append(context("Approved by " + ", ".join(
            f"<@{who}> at {when(at)}" for who, at in approvals)))
    if status == "pending":
        blocks.append(context(f"Needs {required} approval(s) from an approver other than "
                              f"<@{requester}>" + (f"; expires {when(expires_at)}."
                                                   if expires_at else ".")))
        blocks.append({"type": "actions", "block_id": f"decide:{request_id}", "elements": [
            {"type": "button", "action_id": "approve", "value": str(request_id),
             "style": "primary", "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "action_id": "reject", "value": str(request_id),
             "style": "danger", "text": {"type": "plain_text", "text": "Reject"}},
            {"type": "button", "action_id": "cancel", "value": str(request_id),
             "text": {"type": "plain_text", "text": "Cancel"}},
        ]})
    elif status == "blocked":
        blocks.append(context(":no_entry: Blocked: fix the blockers above, then run "
                              "`/reprotect` again. Nothing was sent to Site Recovery."))
    else:
        blocks.append(context(f"Status: *{status}*" + (f" — {decided_note}"
                                                        if decided_note else "")))
    text = f"Reprotect #{request_id} for plan {plan.plan_friendly_name}: {status}"
    return {"text": text, "blocks": blocks[:50]}


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


def started(jobs: Sequence[tuple[str, str | None]]) -> Message:
    lines = [f"• `{vm}` — job `{job}`" if job else f"• `{vm}` — submitted, job id pending"
             for vm, job in jobs]
    head = f":rocket: Reprotect started for {len(jobs)} VM(s) in Site Recovery:"
    text = head + "\n" + "\n".join(lines)
    return {"text": clip(text, 3900)}


def progress(changes: Sequence[tuple[str, str, str]]) -> Message:
    """One reply for all job changes seen in a poll: `vm`, state, current task."""
    lines = [f"• `{vm}`: {state}" + (f" — _{task}_" if task else "") for vm, state, task in changes]
    return {"text": clip(":hourglass_flowing_sand: Progress\n" + "\n".join(lines), 3900)}


def protected(vm: str) -> Message:
    return {"text": f":white_check_mark: `{vm}` is protected: replication to the private cloud "
                    "runs. Keep the AVS VM powered off until failback."}


def failed(vm: str, reason: str) -> Message:
    return {"text": clip(f":x: `{vm}` failed.\n{reason}", 3900)}


def notice(text: str) -> Message:
    return {"text": clip(text, 3900)}


def summary(total: int, protected_count: int, failed_count: int, timed_out: int) -> Message:
    parts = [f"{protected_count}/{total} protected"]
    if failed_count:
        parts.append(f"{failed_count} failed")
    if timed_out:
        parts.append(f"{timed_out} timed out")
    icon = ":tada:" if protected_count == total else ":warning:"
    return {"text": f"{icon} *Summary*: " + ", ".join(parts) + "."}


REJECT_CALLBACK = "reject_reason"
REASON_BLOCK = "reason"
REASON_ACTION = "reason_input"


def reject_modal(request_id: int, channel: str) -> dict[str, Any]:
    """Rejections carry a reason, shown in the thread for whoever picks the incident up."""
    return {
        "type": "modal", "callback_id": REJECT_CALLBACK,
        "private_metadata": json.dumps({"request_id": request_id, "channel": channel}),
        "title": {"type": "plain_text", "text": f"Reject #{request_id}"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": [{
            "type": "input", "block_id": REASON_BLOCK,
            "label": {"type": "plain_text", "text": "Why reject this reprotect?"},
            "element": {"type": "plain_text_input", "action_id": REASON_ACTION,
                        "multiline": True, "max_length": 500},
        }],
    }


def reject_reason(view: dict[str, Any]) -> str:
    value = (view.get("state", {}).get("values", {}).get(REASON_BLOCK, {})
             .get(REASON_ACTION, {}).get("value"))
    return str(value or "").strip()


def reject_target(view: dict[str, Any]) -> tuple[int, str]:
    meta = json.loads(view.get("private_metadata") or "{}")
    return int(meta["request_id"]), str(meta["channel"])
