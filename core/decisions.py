"""Who clicked, and what the rules decided: values both the approval rules and the commands
use, so neither package imports the other for them. They are data, never words: only
`bot.views.private` says them to the person."""

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
    NOT_RECHECKED = "not_rechecked"      # the re-check at approval could not reach a source
    NO_SUCH_REQUEST = "no_such_request"  # or no such run, for a Retry
    NOT_FAILED = "not_failed"            # Retry of a VM whose reprotect did not fail (now)
    TAKEN = "taken"                      # Retry of a VM another open request holds now
    RETRYING = "retrying"                # another click restarted it first


class Action(enum.StrEnum):
    """What the person tried to do; a refusal's words depend on it."""

    REQUEST = "request"
    APPROVE = "approve"
    REJECT = "reject"
    CANCEL = "cancel"
    RETRY = "retry"
    CONFIRM = "confirm"


@dataclass(frozen=True)
class Decision:
    """Accepted, or refused with the values the refusal names: the request's `status` when
    it is closed, who may act instead (`ask`), approvals still `missing`, the `vm` of a Retry,
    the `number` of the request (or run) that holds the VM or does not exist, `details` (a
    gateway's explanation of an outage) and the manual items left, as (check id, outcome key)
    of their check results (`manual`)."""

    accepted: bool
    action: Action
    refusal: Refusal | None = None
    status: str = ""
    ask: frozenset[str] = frozenset()
    missing: int | None = None
    vm: str = ""
    number: int | None = None
    details: tuple[str, ...] = ()
    quorum_reached: bool = False
    manual: tuple[tuple[str, str], ...] = ()


def decide_request(user: str, requesters: frozenset[str] | None) -> Decision:
    """Anyone in an allowed channel may ask, unless REPROTECT_REQUESTERS names who may."""
    if requesters is None or user in requesters:
        return Decision(True, Action.REQUEST)
    return Decision(False, Action.REQUEST, Refusal.NOT_REQUESTER, ask=requesters - {user})
