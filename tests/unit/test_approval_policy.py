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
from core.decisions import Refusal, decide_request

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
BASE = ApprovalFacts(clicker="U2", clicker_team="T1", workspace_team="T1", requester="U1",
                     approvers=frozenset({"U1", "U2", "U3"}), status="pending",
                     expires_at=NOW + timedelta(minutes=5), now=NOW, approved_by=frozenset(),
                     required=1)


@pytest.mark.parametrize(("change", "refusal"), [
    ({"clicker": "U1"}, Refusal.OWN_REQUEST),
    ({"clicker": "U9"}, Refusal.NOT_APPROVER),
    ({"clicker_team": "T_OTHER"}, Refusal.OTHER_WORKSPACE),
    ({"clicker_team": None}, Refusal.OTHER_WORKSPACE),  # unknown workspace: fail closed
    ({"status": "approved"}, Refusal.ALREADY_DECIDED),
    ({"status": "rejected"}, Refusal.ALREADY_DECIDED),
    ({"expires_at": NOW}, Refusal.EXPIRED),
    ({"required": 2, "approved_by": frozenset({"U2"})}, Refusal.ALREADY_APPROVED),
])
def test_refusals(change: dict[str, object], refusal: Refusal) -> None:
    decision = decide_approval(replace(BASE, **change))  # type: ignore[arg-type]
    assert not decision.accepted
    assert decision.refusal is refusal
    assert said(decision)


def test_requester_refusal_names_who_can_approve() -> None:
    decision = decide_approval(replace(BASE, clicker="U1"))
    assert "<@U2>" in said(decision) and "<@U1>" not in said(decision)


@pytest.mark.parametrize(("required", "already", "quorum"), [
    (1, frozenset(), True),
    (2, frozenset(), False),
    (2, frozenset({"U3"}), True),
    (2, frozenset({"U1"}), False),  # the requester never counts
])
def test_quorum_counts_distinct_approvers_but_never_the_requester(
        required: int, already: frozenset[str], quorum: bool) -> None:
    decision = decide_approval(replace(BASE, required=required, approved_by=already))
    assert decision.accepted
    assert decision.quorum_reached is quorum


def test_rejection_by_an_approver_other_than_the_requester_only() -> None:
    assert decide_rejection(BASE).accepted
    own = decide_rejection(replace(BASE, clicker="U1"))
    assert not own.accepted and own.refusal is Refusal.OWN_REQUEST and "Cancel" in said(own)
    refused = decide_rejection(replace(BASE, clicker="U9"))
    assert not refused.accepted and refused.refusal is Refusal.NOT_APPROVER
    assert not decide_rejection(replace(BASE, status="approved")).accepted


@pytest.mark.parametrize(("user", "requesters", "accepted"), [
    ("U1", None, True),
    ("U1", frozenset({"U1", "U2"}), True),
    ("U9", frozenset({"U1", "U2"}), False),
    ("U9", frozenset(), False),
])
def test_who_may_request(user: str, requesters: frozenset[str] | None, accepted: bool) -> None:
    decision = decide_request(user, requesters)
    assert decision.accepted is accepted
    if not accepted:
        assert decision.refusal is Refusal.NOT_REQUESTER and "REPROTECT_REQUESTERS" in \
            said(decision)


@pytest.mark.parametrize(("change", "accepted", "refusal"), [
    ({}, True, None),
    ({"clicker": "U1"}, True, None),
    ({"status": "approved"}, True, None),
    ({"clicker": "U9"}, False, Refusal.NOT_APPROVER),
    ({"status": "executing"}, False, Refusal.ALREADY_DECIDED),
    ({"status": "done"}, False, Refusal.ALREADY_DECIDED),
    ({"clicker_team": "T2"}, False, Refusal.OTHER_WORKSPACE),
])
def test_cancel_until_execution_by_requester_or_approver(
        change: dict[str, object], accepted: bool, refusal: Refusal | None) -> None:
    decision = decide_cancel(replace(BASE, **change))  # type: ignore[arg-type]
    assert decision.accepted is accepted and decision.refusal is refusal


@pytest.mark.parametrize(("change", "refusal"), [
    ({}, None),
    ({"status": "failed"}, None),
    ({"clicker": "U1"}, Refusal.OWN_REQUEST),
    ({"clicker": "U9"}, Refusal.NOT_APPROVER),
    ({"clicker_team": "T2"}, Refusal.OTHER_WORKSPACE),
])
def test_retry_follows_the_approval_rules(change: dict[str, object],
                                          refusal: Refusal | None) -> None:
    decision = decide_retry(replace(BASE, **change))  # type: ignore[arg-type]
    assert decision.accepted is (refusal is None) and decision.refusal is refusal


def test_retry_counts_towards_the_request_quorum() -> None:
    """Retry needs REPROTECT_REQUIRED_APPROVALS distinct approvers, counted like approvals."""
    first = decide_retry(replace(BASE, required=2))
    assert first.accepted and not first.quorum_reached and first.missing == 1
    assert "1 more distinct approval" in said(first) and "restarts" in said(first)
    second = decide_retry(replace(BASE, required=2, clicker="U3",
                                  approved_by=frozenset({"U2"})))
    assert second.accepted and second.quorum_reached
    again = decide_retry(replace(BASE, required=2, approved_by=frozenset({"U2"})))
    assert again.refusal is Refusal.ALREADY_APPROVED
