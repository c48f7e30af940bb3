"""The gate in front of an approval: manual items ticked, and the preflight still holds.

Minutes or hours pass between the preflight and a click. Before an approval counts, the
plan is resolved again from the same request text; if something blocks now, or a value that
would be sent changed, the approval is refused, the request becomes `stale`, the new
results go to the thread and the requester is asked for a fresh `/reprotect`. Warnings that
come and go (an agent re-registering) do not void an approval.
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from core.decisions import Action, Decision, Refusal
from core.events import Change, ChangeKind, PreflightChanged, RequestChanged
from core.notices import PlanProblem
from core.plan import Choice, ResolvedPlan, SentValue, choice_key
from gateways.errors import GatewayError
from intake.manual_items import unconfirmed
from intake.planning import Sources
from intake.slash import replan
from operations import fingerprint, operation_named
from operations.base import Operation
from store.approvals import confirmations
from store.db import Engine, read_scope, session_scope
from store.journal import audit, enqueue
from store.models import Request, RequestStatus, utcnow
from store.requests import get_request, transition

log = logging.getLogger(__name__)

def changes(operation: Operation, old: ResolvedPlan,
            new: ResolvedPlan | PlanProblem) -> list[Change]:
    """What differs in a way that voids approval: new blockers, or values to be sent (the
    operation's one labelled list, as the request message showed it)."""
    if isinstance(new, PlanProblem):
        return [Change(ChangeKind.REFUSED, problem=new)]
    found = [Change(ChangeKind.BLOCKS, c.check, vms=c.vms) for c in new.blockers]
    before_values, after_values = operation.values(old), operation.values(new)
    before = {v.key: v for v in before_values}
    old_vms = {i.vm_name for i in old.items}
    hidden = []
    for value in after_values:
        was = before.get(value.key, SentValue(value.key, value.label))
        if not value.shown:
            if was.normalised() != value.normalised():
                hidden.append(Change(ChangeKind.RUN_AS, value.label))
        elif value.per_item is None:
            found += _changed(value.label, was.value, value.value)
        else:
            found += [change for item_id, vm, choice in value.per_item if vm in old_vms
                      for change in _changed(value.label, was.for_item(item_id), choice, vm)]
    gone = tuple(sorted(old_vms - {i.vm_name for i in new.items}))
    added = tuple(sorted({i.vm_name for i in new.items} - old_vms))
    if gone or added:
        found.append(Change(ChangeKind.VMS, vms=added, gone=gone))
    found += hidden
    if not found and old.sent(before_values) != new.sent(after_values):
        found.append(Change(ChangeKind.IDS))  # same names, other ids
    return found


def summary(found: list[Change]) -> str:
    """What changed, by check or value label, for the request row (no names: data only)."""
    return ", ".join(dict.fromkeys(c.label or c.kind.value for c in found))


def _changed(label: str, before: Choice | None, after: Choice | None,
             vm: str = "") -> list[Change]:
    """A value that would be sent differently; an empty name is "none"."""
    if choice_key(before) == choice_key(after):
        return []
    return [Change(ChangeKind.VALUE, label, before.name if before else "",
                   after.name if after else "", vm)]


def _held(refusal: Refusal, *, number: int | None = None, details: tuple[str, ...] = (),
          manual: tuple[tuple[str, str], ...] = ()) -> Decision:
    """An approval that may not count now, and why."""
    return Decision(False, Action.APPROVE, refusal, number=number, details=details,
                    manual=manual)


class Recheck:
    def __init__(self, engine: Engine, sources: Sources, *,
                 approval_confirms_manual: bool = True) -> None:
        self._engine = engine
        self._sources = sources
        self._approval_confirms_manual = approval_confirms_manual

    def hold(self, request_id: int, approver: str) -> Decision | None:
        """None when the approval may count; else why not (the thread is told of changes)."""
        with read_scope(self._engine) as session:
            request = get_request(session, request_id)
            ticked = confirmations(session, request_id)
        if request is None:
            return _held(Refusal.NO_SUCH_REQUEST, number=request_id)
        plan = ResolvedPlan.from_json(request.plan)
        operation = operation_named(request.operation)
        missing = unconfirmed(plan, ticked)
        if missing and not self._approval_confirms_manual:
            return _held(Refusal.UNCONFIRMED,
                         manual=tuple((i.result.check, i.result.key) for i in missing))
        try:
            fresh = replan(request, self._sources)
        except GatewayError as exc:
            log.warning("re-check of request %s could not run: %s", request_id, exc.what)
            return _held(Refusal.NOT_RECHECKED, details=(exc.explain(),))
        found = changes(operation, plan, fresh)
        if not found:
            return None
        self._go_stale(request, approver, found, fresh if isinstance(fresh, ResolvedPlan)
                       else None, operation)
        return _held(Refusal.STALE)

    def _go_stale(self, request: Request, approver: str, found: list[Change],
                  fresh: ResolvedPlan | None, operation: Operation) -> None:
        assert request.id is not None
        with session_scope(self._engine) as session:
            if not transition(session, request.id, [RequestStatus.PENDING], RequestStatus.STALE,
                              reason=summary(found)[:500], finished_at=utcnow()):
                return  # another click or the expiry got there first
            audit(session, approver, "recheck_changed", request.id,
                  changes=[asdict(c) for c in found],
                  fingerprint=fingerprint(operation, fresh) if fresh else None)
            enqueue(session, request, RequestChanged())
            enqueue(session, request, PreflightChanged(
                request.id, request.command_text, tuple(found),
                fresh.to_json() if fresh else None))
