"""Who may approve: a pure function from facts to a decision with a reason.

No Slack, no database: the listener gathers the facts, this decides, and the tests cover
every rule table by table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.decisions import Decision, Refusal, who


@dataclass(frozen=True)
class ApprovalFacts:
    clicker: str
    clicker_team: str | None
    workspace_team: str
    requester: str
    approvers: frozenset[str]
    status: str
    expires_at: datetime | None
    now: datetime
    approved_by: frozenset[str]
    required: int


def _outsider(f: ApprovalFacts, verb: str) -> Decision | None:
    """Slack Connect: people of other organisations see the buttons but never decide. A
    payload that does not say the person's workspace is refused too (fail closed)."""
    if f.clicker_team != f.workspace_team:
        return Decision(False, f"Only members of this workspace can {verb} reprotect requests; "
                        "people from other organisations in a shared channel cannot.",
                        Refusal.OTHER_WORKSPACE)
    return None


def _closed(f: ApprovalFacts, open_states: tuple[str, ...], verb: str) -> Decision | None:
    if f.status in open_states:
        return None
    note = " Running Site Recovery jobs are not stopped by the bot." \
        if f.status == "executing" and verb == "cancel" else ""
    return Decision(False, f"This request is already {f.status}: nothing to {verb}.{note}",
                    Refusal.ALREADY_DECIDED)


def _four_eyes(f: ApprovalFacts, what: str) -> Decision | None:
    """An approver who is not the requester."""
    if f.clicker == f.requester:
        return Decision(False, f"You cannot approve {what} (four eyes). Ask one of: "
                        + who(f.approvers, f.clicker) + ".", Refusal.OWN_REQUEST)
    if f.clicker not in f.approvers:
        return Decision(False, "You are not an approver for reprotect. Approvers: "
                        + who(f.approvers, f.requester) + ".", Refusal.NOT_APPROVER)
    return None


def _requester_or_approver(f: ApprovalFacts, verb: str) -> Decision | None:
    if f.clicker in f.approvers or f.clicker == f.requester:
        return None
    return Decision(False, f"Only the requester or an approver can {verb} this request. "
                    "Approvers: " + who(f.approvers, f.requester) + ".", Refusal.NOT_APPROVER)


def decide_approval(f: ApprovalFacts) -> Decision:
    """Accept the click or say exactly why not and who can act instead."""
    refused = _outsider(f, "approve") or _closed(f, ("pending",), "approve")
    if refused:
        return refused
    if f.expires_at is not None and f.now >= f.expires_at:
        return Decision(False, "This request has expired: run `/reprotect` again for a fresh "
                        "preflight.", Refusal.EXPIRED)
    refused = _four_eyes(f, "your own request")
    if refused:
        return refused
    if f.clicker in f.approved_by:
        missing = f.required - len(f.approved_by)
        return Decision(False, f"You already approved; {missing} more distinct approval(s) "
                        "needed.", Refusal.ALREADY_APPROVED)
    count = len(f.approved_by - {f.requester}) + 1
    if count >= f.required:
        return Decision(True, "Approved: starting reprotect.", quorum_reached=True)
    return Decision(True, f"Approval recorded: {f.required - count} more distinct approval(s) "
                    "needed.")


def decide_cancel(f: ApprovalFacts) -> Decision:
    """The requester or an approver may withdraw a request until it starts running."""
    return (_outsider(f, "cancel") or _closed(f, ("pending", "approved"), "cancel")
            or _requester_or_approver(f, "cancel")
            or Decision(True, "Cancelled: nothing was sent to Site Recovery."))


def decide_rejection(f: ApprovalFacts) -> Decision:
    """Reject is an approver's decision (four eyes), as Approve is; the requester withdraws
    their own request with Cancel instead, which needs no reason."""
    refused = _outsider(f, "reject") or _closed(f, ("pending",), "reject")
    if refused:
        return refused
    if f.clicker == f.requester:
        return Decision(False, "You cannot reject your own request: rejecting is an approver's "
                        "decision (four eyes). To withdraw it, click *Cancel* on the message "
                        "or type `/reprotect cancel` with its number.", Refusal.OWN_REQUEST)
    return _four_eyes(f, "your own request") or Decision(True, "Rejected.")


def decide_retry(f: ApprovalFacts) -> Decision:
    """Restarting a failed VM's job rewrites its disks again: the approval rules apply."""
    return (_outsider(f, "retry") or _four_eyes(f, "a retry of your own request")
            or Decision(True, "Retry approved: restarting the Site Recovery job."))
