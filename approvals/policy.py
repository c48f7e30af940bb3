"""Who may approve: a pure function from facts to a decision, with what its refusal names.

No Slack, no database: the listener gathers the facts, this decides, and the tests cover
every rule table by table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.decisions import Action, Decision, Refusal


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


def _outsider(f: ApprovalFacts, action: Action) -> Decision | None:
    """Slack Connect: people of other organisations see the buttons but never decide. A
    payload that does not say the person's workspace is refused too (fail closed)."""
    if f.clicker_team != f.workspace_team:
        return Decision(False, action, Refusal.OTHER_WORKSPACE)
    return None


def _closed(f: ApprovalFacts, open_states: tuple[str, ...], action: Action) -> Decision | None:
    if f.status in open_states:
        return None
    return Decision(False, action, Refusal.ALREADY_DECIDED, status=f.status)


def _four_eyes(f: ApprovalFacts, action: Action) -> Decision | None:
    """An approver who is not the requester."""
    if f.clicker == f.requester:
        return Decision(False, action, Refusal.OWN_REQUEST, ask=f.approvers - {f.clicker})
    if f.clicker not in f.approvers:
        return Decision(False, action, Refusal.NOT_APPROVER, ask=f.approvers - {f.requester})
    return None


def _requester_or_approver(f: ApprovalFacts, action: Action) -> Decision | None:
    if f.clicker in f.approvers or f.clicker == f.requester:
        return None
    return Decision(False, action, Refusal.NOT_APPROVER, ask=f.approvers - {f.requester})


def decide_approval(f: ApprovalFacts) -> Decision:
    """Accept the click or say exactly why not and who can act instead."""
    refused = _outsider(f, Action.APPROVE) or _closed(f, ("pending",), Action.APPROVE)
    if refused:
        return refused
    if f.expires_at is not None and f.now >= f.expires_at:
        return Decision(False, Action.APPROVE, Refusal.EXPIRED)
    return _four_eyes(f, Action.APPROVE) or _counted(f, Action.APPROVE)


def _counted(f: ApprovalFacts, action: Action) -> Decision:
    """One more distinct approver towards `required`; a second click of one is refused."""
    if f.clicker in f.approved_by:
        return Decision(False, action, Refusal.ALREADY_APPROVED,
                        missing=f.required - len(f.approved_by))
    count = len(f.approved_by - {f.requester}) + 1
    return Decision(True, action, missing=max(0, f.required - count),
                    quorum_reached=count >= f.required)


def decide_cancel(f: ApprovalFacts) -> Decision:
    """The requester or an approver may withdraw a request until it starts running."""
    return (_outsider(f, Action.CANCEL)
            or _closed(f, ("pending", "approved"), Action.CANCEL)
            or _requester_or_approver(f, Action.CANCEL)
            or Decision(True, Action.CANCEL))


def decide_rejection(f: ApprovalFacts) -> Decision:
    """Reject is an approver's decision (four eyes), as Approve is; the requester withdraws
    their own request with Cancel instead, which needs no reason."""
    return (_outsider(f, Action.REJECT) or _closed(f, ("pending",), Action.REJECT)
            or _four_eyes(f, Action.REJECT) or Decision(True, Action.REJECT))


def decide_retry(f: ApprovalFacts) -> Decision:
    """Restarting a failed VM's job rewrites its disks again: the approval rules apply, and
    the request's quorum too (`approved_by` holds who approved this retry so far)."""
    return (_outsider(f, Action.RETRY) or _four_eyes(f, Action.RETRY)
            or _counted(f, Action.RETRY))
