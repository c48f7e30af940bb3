"""Approve and Reject clicks: policy decides, the database arbitrates.

The approval row is unique per (request, approver) and the request moves `pending →
approved` by compare-and-set, so twenty concurrent clicks, Slack retries and clicks on
several replicas yield at most one approved request, and so one execution. An approval is
counted in the transaction that records it, after taking the request's row lock, so two
approvers clicking together both count towards the quorum.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from approvals.policy import (
    ApprovalFacts,
    decide_approval,
    decide_cancel,
    decide_rejection,
    decide_retry,
)
from core.decisions import Action, Click, Decision, Refusal
from core.events import Decided, RequestChanged
from core.log_context import about_request
from core.policy import Policy
from core.ports import Directory, Notifier, Waker
from intake.manual_items import confirm_remaining
from intake.recheck import Recheck
from store.approvals import approvals_of
from store.db import Conflict, Engine, Session, read_scope, session_scope
from store.journal import audit, enqueue
from store.models import Approval, Request, RequestStatus, utcnow
from store.requests import get_request, pending_due, transition

log = logging.getLogger(__name__)


class Approvals:
    def __init__(self, engine: Engine, directory: Directory, notifier: Notifier,
                 waker: Waker, policy: Policy, recheck: Recheck | None = None) -> None:
        self._engine = engine
        self._directory = directory
        self._notifier = notifier
        self._waker = waker
        self._policy = policy
        self._recheck = recheck

    def _facts(self, session: Session, request: Request, click: Click,
               approvers: frozenset[str] | None = None,
               approved_by: frozenset[str] | None = None) -> ApprovalFacts:
        assert request.id is not None
        approved = [a.approver_id for a in approvals_of(session, request.id)] \
            if approved_by is None else approved_by
        return ApprovalFacts(
            clicker=click.user_id, clicker_team=click.user_team,
            workspace_team=self._policy.workspace_team(),
            requester=request.requester_id,
            approvers=self._directory.members() if approvers is None else approvers,
            status=request.status.value if isinstance(request.status, RequestStatus)
            else str(request.status),
            expires_at=request.expires_at, now=utcnow(), approved_by=frozenset(approved),
            required=request.required_approvals)

    @about_request
    def approve(self, click: Click) -> Decision:
        decision = self._decide(click, decide_approval, Action.APPROVE)
        if not decision.accepted:
            return self._refuse(click, decision)
        # Preflight gate (issue 4): manual items ticked, and the plan re-checked unchanged.
        hold = self._recheck.hold(click.request_id, click.user_id) if self._recheck else None
        if hold is not None:
            return self._refuse(click, hold)
        approvers = self._directory.members()  # asked before the row lock is taken
        try:
            with session_scope(self._engine) as session:
                # A compare-and-set of `pending` onto itself takes the request's row lock:
                # concurrent approvals wait here, so the count below sees every one before.
                transition(session, click.request_id, [RequestStatus.PENDING],
                           RequestStatus.PENDING)
                request = get_request(session, click.request_id)
                assert request is not None
                decision = decide_approval(self._facts(session, request, click, approvers))
                if not decision.accepted:
                    raise _Refused(decision)
                if self._policy.approval_confirms_manual:
                    confirm_remaining(session, request, click.user_id)
                session.add(Approval(request_id=click.request_id, approver_id=click.user_id,
                                     fingerprint=request.fingerprint))
                session.flush()
                if decision.quorum_reached:
                    transition(session, click.request_id, [RequestStatus.PENDING],
                               RequestStatus.APPROVED, decided_by=click.user_id)
                audit(session, click.user_id, "approve", click.request_id,
                      fingerprint=request.fingerprint, quorum=decision.quorum_reached)
                enqueue(session, request, RequestChanged())
        except Conflict:
            return self._refuse(click, Decision(False, Action.APPROVE,
                                                Refusal.ALREADY_APPROVED))
        except _Refused as refused:  # decided by another click, cancelled or expired meanwhile
            return self._refuse(click, refused.decision)
        if decision.quorum_reached:
            self._waker.wake("track")
        else:
            self._notifier.tell(click.channel_id, click.user_id, decision)
        return decision

    def may_reject(self, click: Click) -> Decision:
        """Checked before the reason modal opens, so a refused click never sees the modal."""
        decision = self._decide(click, decide_rejection, Action.REJECT)
        if not decision.accepted:
            self._refuse(click, decision)
        return decision

    def may_retry(self, click: Click, retried_by: frozenset[str]) -> Decision:
        """A Retry click on a failed VM follows the approval rules and the request's quorum,
        counted over `retried_by` (this failure's retry approvals); a refusal is told why."""
        decision = self._decide(click, decide_retry, Action.RETRY, retried_by)
        return decision if decision.accepted else self._refuse(click, decision)

    @about_request
    def reject(self, click: Click, reason: str) -> Decision:
        return self._close(click, decide_rejection, Action.REJECT, RequestStatus.REJECTED,
                           reason)

    @about_request
    def cancel(self, click: Click) -> Decision:
        return self._close(click, decide_cancel, Action.CANCEL, RequestStatus.CANCELLED, "")

    def _decide(self, click: Click, rule: Callable[[ApprovalFacts], Decision],
                action: Action, approved_by: frozenset[str] | None = None) -> Decision:
        with read_scope(self._engine) as session:
            request = get_request(session, click.request_id)
            if request is None:
                return Decision(False, action, Refusal.NO_SUCH_REQUEST, number=click.request_id)
            return rule(self._facts(session, request, click, approved_by=approved_by))

    def _close(self, click: Click, rule: Callable[[ApprovalFacts], Decision],
               action: Action, new: RequestStatus, reason: str) -> Decision:
        """Reject or cancel: a compare-and-set from pending (or approved, for cancel)."""
        decision = self._decide(click, rule, action)
        if not decision.accepted:
            return self._refuse(click, decision)
        with session_scope(self._engine) as session:
            request = get_request(session, click.request_id)
            assert request is not None
            if not transition(session, click.request_id,
                              [RequestStatus.PENDING, RequestStatus.APPROVED], new,
                              decided_by=click.user_id, reason=reason, finished_at=utcnow()):
                session.rollback()
                return self._refuse(click, Decision(
                    False, action, Refusal.ALREADY_DECIDED,
                    status=self._status(click.request_id)))
            audit(session, click.user_id, action.value, click.request_id, reason=reason)
            enqueue(session, request, RequestChanged())
            verb = "rejected" if new is RequestStatus.REJECTED else "cancelled"
            enqueue(session, request, Decided(click.request_id, verb, click.user_id, reason))
        return decision

    def _status(self, request_id: int) -> str:
        with read_scope(self._engine) as session:
            request = get_request(session, request_id)
            return str(request.status) if request else "gone"

    def _refuse(self, click: Click, decision: Decision) -> Decision:
        with session_scope(self._engine) as session:
            audit(session, click.user_id, "click_refused", click.request_id,
                  refusal=str(decision.refusal), clicked=decision.action.value,
                  status=decision.status, team=click.user_team)
        self._notifier.tell(click.channel_id, click.user_id, decision)
        return decision


def expire_due(engine: Engine) -> int:
    """Expire pending requests past their TTL; their message loses its buttons."""
    with read_scope(engine) as session:
        due = pending_due(session, utcnow())
    expired = 0
    for request in due:
        assert request.id is not None
        with session_scope(engine) as session:
            if transition(session, request.id, [RequestStatus.PENDING], RequestStatus.EXPIRED,
                          finished_at=utcnow()):
                audit(session, "bot", "expire", request.id)
                enqueue(session, request, RequestChanged())
                expired += 1
    return expired


class _Refused(Exception):
    """The approval, decided again under the request's row lock, does not count: nothing of
    the click (approval, confirmations) is kept."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(str(decision.refusal))
        self.decision = decision
