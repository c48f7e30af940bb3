"""Who may approve or reject: every rule of the policy, table-driven."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from approvals.policy import (
    ApprovalFacts,
    decide_approval,
    decide_cancel,
    decide_rejection,
    decide_retry,
)
from bot.views.private import decision as said
from core.decisions import Action, Decision, Refusal, decide_request

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
BASE = ApprovalFacts(clicker="U2", clicker_team="T1", workspace_team="T1", requester="U1",
                     approvers=frozenset({"U1", "U2", "U3"}), status="pending",
                     expires_at=NOW + timedelta(minutes=5), now=NOW, approved_by=frozenset(),
                     required=1)


OTHERS = frozenset({"U2", "U3"})  # the approvers who are not the requester U1
APPROVE, REJECT, CANCEL, RETRY = Action.APPROVE, Action.REJECT, Action.CANCEL, Action.RETRY


def refused(action: Action, refusal: Refusal, **values: object) -> Decision:
    return Decision(False, action, refusal, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("change", "decision"), [
    ({}, Decision(True, APPROVE, missing=0, quorum_reached=True)),
    ({"clicker": "U1"}, refused(APPROVE, Refusal.OWN_REQUEST, ask=OTHERS)),
    ({"clicker": "U9"}, refused(APPROVE, Refusal.NOT_APPROVER, ask=OTHERS)),
    ({"clicker_team": "T_OTHER"}, refused(APPROVE, Refusal.OTHER_WORKSPACE)),
    ({"clicker_team": None}, refused(APPROVE, Refusal.OTHER_WORKSPACE)),  # unknown: fail closed
    ({"status": "approved"}, refused(APPROVE, Refusal.ALREADY_DECIDED, status="approved")),
    ({"status": "rejected"}, refused(APPROVE, Refusal.ALREADY_DECIDED, status="rejected")),
    ({"expires_at": NOW}, refused(APPROVE, Refusal.EXPIRED)),  # the boundary is expired
    ({"expires_at": NOW + timedelta(microseconds=1)},
     Decision(True, APPROVE, missing=0, quorum_reached=True)),
    ({"expires_at": None}, Decision(True, APPROVE, missing=0, quorum_reached=True)),
    ({"required": 2, "approved_by": frozenset({"U2"})},
     refused(APPROVE, Refusal.ALREADY_APPROVED, missing=1)),
    ({"required": 3, "approved_by": frozenset({"U2"})},
     refused(APPROVE, Refusal.ALREADY_APPROVED, missing=2)),
    # The first rule that refuses wins: workspace, then state, then lifetime, then four eyes.
    ({"clicker_team": "T2", "status": "approved"}, refused(APPROVE, Refusal.OTHER_WORKSPACE)),
    ({"status": "approved", "expires_at": NOW},
     refused(APPROVE, Refusal.ALREADY_DECIDED, status="approved")),
    ({"clicker": "U1", "expires_at": NOW}, refused(APPROVE, Refusal.EXPIRED)),
])
def test_approval_decision(change: dict[str, object], decision: Decision) -> None:
    assert decide_approval(replace(BASE, **change)) == decision  # type: ignore[arg-type]


def test_requester_refusal_names_who_can_approve() -> None:
    decision = decide_approval(replace(BASE, clicker="U1"))
    assert "<@U2>" in said(decision) and "<@U1>" not in said(decision)


@pytest.mark.parametrize(("required", "already", "missing", "quorum"), [
    (1, frozenset(), 0, True),
    (2, frozenset(), 1, False),
    (2, frozenset({"U3"}), 0, True),
    (2, frozenset({"U1"}), 1, False),  # the requester never counts
    (3, frozenset({"U3"}), 1, False),
    (1, frozenset({"U3"}), 0, True),   # beyond the quorum, nothing is missing
])
def test_quorum_counts_distinct_approvers_but_never_the_requester(
        required: int, already: frozenset[str], missing: int, quorum: bool) -> None:
    decision = decide_approval(replace(BASE, required=required, approved_by=already))
    assert decision == Decision(True, APPROVE, missing=missing, quorum_reached=quorum)


@pytest.mark.parametrize(("change", "decision"), [
    ({}, Decision(True, REJECT)),
    ({"clicker": "U1"}, refused(REJECT, Refusal.OWN_REQUEST, ask=OTHERS)),
    ({"clicker": "U9"}, refused(REJECT, Refusal.NOT_APPROVER, ask=OTHERS)),
    ({"status": "approved"}, refused(REJECT, Refusal.ALREADY_DECIDED, status="approved")),
    ({"clicker_team": "T2"}, refused(REJECT, Refusal.OTHER_WORKSPACE)),
    ({"clicker_team": "T2", "status": "approved"}, refused(REJECT, Refusal.OTHER_WORKSPACE)),
    ({"clicker": "U1", "status": "approved"},
     refused(REJECT, Refusal.ALREADY_DECIDED, status="approved")),
])
def test_rejection_by_an_approver_other_than_the_requester_only(
        change: dict[str, object], decision: Decision) -> None:
    assert decide_rejection(replace(BASE, **change)) == decision  # type: ignore[arg-type]


def test_the_requester_rejecting_is_pointed_to_cancel() -> None:
    assert "Cancel" in said(decide_rejection(replace(BASE, clicker="U1")))


@pytest.mark.parametrize(("user", "requesters", "decision"), [
    ("U1", None, Decision(True, Action.REQUEST)),
    ("U1", frozenset({"U1", "U2"}), Decision(True, Action.REQUEST)),
    ("U9", frozenset({"U1", "U2"}),
     refused(Action.REQUEST, Refusal.NOT_REQUESTER, ask=frozenset({"U1", "U2"}))),
    ("U9", frozenset(), refused(Action.REQUEST, Refusal.NOT_REQUESTER)),
])
def test_who_may_request(user: str, requesters: frozenset[str] | None,
                         decision: Decision) -> None:
    assert decide_request(user, requesters) == decision
    if not decision.accepted:
        assert "REPROTECT_REQUESTERS" in said(decision)


@pytest.mark.parametrize(("change", "decision"), [
    ({}, Decision(True, CANCEL)),
    ({"clicker": "U1"}, Decision(True, CANCEL)),
    ({"status": "approved"}, Decision(True, CANCEL)),
    ({"expires_at": NOW}, Decision(True, CANCEL)),
    ({"clicker": "U9"}, refused(CANCEL, Refusal.NOT_APPROVER, ask=OTHERS)),
    ({"status": "executing"}, refused(CANCEL, Refusal.ALREADY_DECIDED, status="executing")),
    ({"status": "done"}, refused(CANCEL, Refusal.ALREADY_DECIDED, status="done")),
    ({"clicker_team": "T2"}, refused(CANCEL, Refusal.OTHER_WORKSPACE)),
    ({"clicker_team": "T2", "status": "done"}, refused(CANCEL, Refusal.OTHER_WORKSPACE)),
    ({"clicker": "U9", "status": "done"},
     refused(CANCEL, Refusal.ALREADY_DECIDED, status="done")),
])
def test_cancel_until_execution_by_requester_or_approver(
        change: dict[str, object], decision: Decision) -> None:
    assert decide_cancel(replace(BASE, **change)) == decision  # type: ignore[arg-type]


@pytest.mark.parametrize(("change", "decision"), [
    ({}, Decision(True, RETRY, missing=0, quorum_reached=True)),
    ({"status": "failed"}, Decision(True, RETRY, missing=0, quorum_reached=True)),
    ({"expires_at": NOW}, Decision(True, RETRY, missing=0, quorum_reached=True)),
    ({"required": 2}, Decision(True, RETRY, missing=1, quorum_reached=False)),
    ({"required": 2, "clicker": "U3", "approved_by": frozenset({"U2"})},
     Decision(True, RETRY, missing=0, quorum_reached=True)),
    ({"required": 2, "approved_by": frozenset({"U2"})},
     refused(RETRY, Refusal.ALREADY_APPROVED, missing=1)),
    ({"clicker": "U1"}, refused(RETRY, Refusal.OWN_REQUEST, ask=OTHERS)),
    ({"clicker": "U9"}, refused(RETRY, Refusal.NOT_APPROVER, ask=OTHERS)),
    ({"clicker_team": "T2"}, refused(RETRY, Refusal.OTHER_WORKSPACE)),
    ({"clicker_team": "T2", "clicker": "U1"}, refused(RETRY, Refusal.OTHER_WORKSPACE)),
])
def test_retry_follows_the_approval_rules(change: dict[str, object],
                                          decision: Decision) -> None:
    assert decide_retry(replace(BASE, **change)) == decision  # type: ignore[arg-type]


def test_retry_counts_towards_the_request_quorum() -> None:
    """Retry needs REPROTECT_REQUIRED_APPROVALS distinct approvers, counted like approvals."""
    first = decide_retry(replace(BASE, required=2))
    assert "1 more distinct approval" in said(first) and "restarts" in said(first)
