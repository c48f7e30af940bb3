"""Manual preflight items (network path, failback ports): approvers tick them in the message.

The bot cannot see the network, so an approver confirms it. Slack sends the whole selection
of the checkboxes on every change; the table then holds exactly the ticked items with who
ticked each and when, every change is audited, and the message is re-rendered from the
table (which also undoes, on screen, a tick that was refused). Approve waits for all.
"""

from __future__ import annotations

import logging
from datetime import datetime

from core.decisions import Action, Click, Decision, Refusal
from core.events import RequestChanged
from core.plan import ManualItem, ResolvedPlan
from core.policy import Policy
from core.ports import Directory, Notifier
from store.approvals import confirm, confirmations, unconfirm
from store.db import Conflict, Engine, Session, read_scope, session_scope
from store.journal import audit, enqueue
from store.models import Request, RequestStatus
from store.requests import get_request, transition

log = logging.getLogger(__name__)


def unconfirmed(plan: ResolvedPlan, ticked: dict[str, tuple[str, datetime]]
                ) -> tuple[ManualItem, ...]:
    return tuple(i for i in plan.manual_items if i.key not in ticked)


def tick_refusal(ticks: Click, request: Request, approvers: frozenset[str],
                 workspace_team: str) -> Decision | None:
    """Why this person may not tick, or None: the same people who may approve."""
    if ticks.user_team != workspace_team:  # missing: not known to be one of ours
        return _refused(Refusal.OTHER_WORKSPACE)
    if request.status != RequestStatus.PENDING:
        return _refused(Refusal.ALREADY_DECIDED, status=str(request.status))
    if ticks.user_id == request.requester_id:
        return _refused(Refusal.OWN_REQUEST)
    if ticks.user_id not in approvers:
        return _refused(Refusal.NOT_APPROVER)
    return None


def _refused(refusal: Refusal, *, status: str = "", number: int | None = None) -> Decision:
    return Decision(False, Action.CONFIRM, refusal, status=status, number=number)


def confirm_remaining(session: Session, request: Request, user_id: str) -> None:
    """The approver's Approve click confirms the manual items nobody ticked, in their name;
    recorded and audited like ticks, in the caller's transaction, which records the approval:
    a refused or failed approval keeps none of them."""
    assert request.id is not None
    missing = unconfirmed(ResolvedPlan.from_json(request.plan),
                          confirmations(session, request.id))
    confirm(session, request.id, user_id, [i.key for i in missing])
    if missing:
        audit(session, user_id, "manual_confirm", request.id,
              ticked=[i.key for i in missing], by="approve")


class ManualChecks:
    def __init__(self, engine: Engine, directory: Directory, notifier: Notifier,
                 policy: Policy) -> None:
        self._engine = engine
        self._directory = directory
        self._notifier = notifier
        self._policy = policy

    def tick(self, ticks: Click, selected: frozenset[str]) -> bool:
        """Store the selection (Slack sends all of it on every change) if this person may
        confirm; the message shows the result."""
        with read_scope(self._engine) as session:
            request = get_request(session, ticks.request_id)
        if request is None:
            self._notifier.tell(ticks.channel_id, ticks.user_id,
                                _refused(Refusal.NO_SUCH_REQUEST, number=ticks.request_id))
            return False
        refusal = tick_refusal(ticks, request, self._directory.members(),
                               self._policy.workspace_team())
        try:
            with session_scope(self._engine) as session:
                # The request's row lock (a compare-and-set of `pending` onto itself) orders
                # ticks with approvals, which confirm what is unticked in their transaction.
                if refusal is None and not transition(session, ticks.request_id,
                                                      [RequestStatus.PENDING],
                                                      RequestStatus.PENDING):
                    refusal = _refused(Refusal.ALREADY_DECIDED)
                if refusal is None:
                    self._store(session, request, ticks, selected)
                else:
                    audit(session, ticks.user_id, "click_refused", ticks.request_id,
                          refusal="manual_confirm", reason=refusal.refusal,
                          team=ticks.user_team)
                enqueue(session, request, RequestChanged())
        except Conflict:  # another approver ticked the same item at the same moment
            log.info("concurrent ticks on request %s; the other one is kept", ticks.request_id)
            return False
        if refusal is not None:
            self._notifier.tell(ticks.channel_id, ticks.user_id, refusal)
        return refusal is None

    def _store(self, session: Session, request: Request, ticks: Click,
               selected: frozenset[str]) -> None:
        keys = {i.key for i in ResolvedPlan.from_json(request.plan).manual_items}
        wanted = selected & keys
        held = set(confirmations(session, ticks.request_id))
        removed = sorted(held - wanted)
        if removed:
            unconfirm(session, ticks.request_id, removed)
        added = sorted(wanted - held)
        confirm(session, ticks.request_id, ticks.user_id, added)
        session.flush()
        audit(session, ticks.user_id, "manual_confirm", ticks.request_id, ticked=added,
              unticked=removed)
