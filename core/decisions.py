"""Who clicked, and what the rules decided: values both the approval rules and the commands
use, so neither package imports the other for them."""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class Click:
    """A person's click (or slash command) on one request, where it happened."""

    request_id: int
    user_id: str
    user_team: str | None
    channel_id: str


class Refusal(enum.StrEnum):
    NOT_REQUESTER = "not_requester"
    NOT_APPROVER = "not_approver"
    OWN_REQUEST = "own_request"
    OTHER_WORKSPACE = "other_workspace"
    ALREADY_DECIDED = "already_decided"
    ALREADY_APPROVED = "already_approved"
    EXPIRED = "expired"
    STALE = "stale"
    UNCONFIRMED = "unconfirmed"


@dataclass(frozen=True)
class Decision:
    accepted: bool
    reason: str
    refusal: Refusal | None = None
    quorum_reached: bool = False


def who(approvers: frozenset[str], exclude: str) -> str:
    names = [f"<@{a}>" for a in sorted(approvers) if a != exclude]
    return ", ".join(names[:5]) or "nobody else is listed in REPROTECT_APPROVERS"


def decide_request(user: str, requesters: frozenset[str] | None) -> Decision:
    """Anyone in an allowed channel may ask, unless REPROTECT_REQUESTERS names who may."""
    if requesters is None or user in requesters:
        return Decision(True, "Request accepted.")
    return Decision(False, "You are not allowed to request reprotect (REPROTECT_REQUESTERS). "
                    "Ask one of: " + who(requesters, user) + ".", Refusal.NOT_REQUESTER)


