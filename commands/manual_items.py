"""Manual preflight items (network path, failback ports): approvers tick them in the message.

The bot cannot see the network, so an approver confirms it. Slack sends the whole selection
of the checkboxes on every change; the table then holds exactly the ticked items with who
ticked each and when, every change is audited, and the message is re-rendered from the
table (which also undoes, on screen, a tick that was refused). Approve waits for all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from commands.plan_model import ManualItem, ResolvedPlan
from core.events import RequestChanged
from core.policy import Policy
from core.ports import Directory, Notifier
from store.db import session_scope
from store.models import ManualConfirmation, Request, RequestStatus
from store.repo import audit, enqueue, get_request, transition

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ticks:
    """One change of the checkboxes: the full selection after it."""

    request_id: int
    user_id: str
    user_team: str | None
    channel_id: str
    selected: frozenset[str]


def confirmations(session: Session, request_id: int) -> dict[str, tuple[str, datetime]]:
    """Ticked item keys with who ticked them and when."""
    rows = session.exec(select(ManualConfirmation)
                        .where(ManualConfirmation.request_id == request_id)).all()
    return {r.item_key: (r.user_id, r.at) for r in rows}


def unconfirmed(plan: ResolvedPlan, ticked: dict[str, tuple[str, datetime]]
                ) -> tuple[ManualItem, ...]:
    return tuple(i for i in plan.manual_items if i.key not in ticked)


def tick_refusal(ticks: Ticks, request: Request, approvers: frozenset[str],
                 workspace_team: str) -> str | None:
    """Why this person may not tick, or None: the same people who may approve."""
    if ticks.user_team != workspace_team:  # missing: not known to be one of ours
        return "Only members of this workspace can confirm preflight items."
    if request.status != RequestStatus.PENDING:
        return f"This request is already {request.status}: nothing to confirm."
    if ticks.user_id == request.requester_id:
        return ("The requester cannot confirm their own request's manual checks (four eyes): "
                "an approver ticks them.")
    if ticks.user_id not in approvers:
        return "Only approvers can confirm the manual checks (REPROTECT_APPROVERS)."
    return None


def confirm_remaining(session: Session, request: Request, user_id: str) -> None:
    """The approver's Approve click confirms the manual items nobody ticked, in their name;
    recorded and audited like ticks, in the caller's transaction, which records the approval:
    a refused or failed approval keeps none of them."""
    assert request.id is not None
    missing = unconfirmed(ResolvedPlan.from_json(request.plan),
                          confirmations(session, request.id))
    session.add_all(ManualConfirmation(request_id=request.id, item_key=i.key, user_id=user_id)
                    for i in missing)
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

    def tick(self, ticks: Ticks) -> bool:
        """Store the selection if this person may confirm; the message shows the result."""
        with Session(self._engine) as session:
            request = get_request(session, ticks.request_id)
        if request is None:
            self._notifier.ephemeral(ticks.channel_id, ticks.user_id,
                                     f":no_entry_sign: Request #{ticks.request_id} does not "
                                     "exist.")
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
                    refusal = "This request is no longer pending: nothing to confirm."
                if refusal is None:
                    self._store(session, request, ticks)
                else:
                    audit(session, ticks.user_id, "click_refused", ticks.request_id,
                          refusal="manual_confirm", reason=refusal, team=ticks.user_team)
                enqueue(session, request, RequestChanged())
        except IntegrityError:  # another approver ticked the same item at the same moment
            log.info("concurrent ticks on request %s; the other one is kept", ticks.request_id)
            return False
        if refusal is not None:
            self._notifier.ephemeral(ticks.channel_id, ticks.user_id,
                                     f":no_entry_sign: {refusal} Your tick was not kept.")
        return refusal is None

    def _store(self, session: Session, request: Request, ticks: Ticks) -> None:
        keys = {i.key for i in ResolvedPlan.from_json(request.plan).manual_items}
        wanted = ticks.selected & keys
        held = set(confirmations(session, ticks.request_id))
        removed = sorted(held - wanted)
        if removed:
            session.execute(delete(ManualConfirmation).where(
                col(ManualConfirmation.request_id) == ticks.request_id,
                col(ManualConfirmation.item_key).in_(removed)))
        added = sorted(wanted - held)
        session.add_all(ManualConfirmation(request_id=ticks.request_id, item_key=key,
                                           user_id=ticks.user_id) for key in added)
        session.flush()
        audit(session, ticks.user_id, "manual_confirm", ticks.request_id, ticked=added,
              unticked=removed)
