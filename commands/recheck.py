"""The gate in front of an approval: manual items ticked, and the preflight still holds.

Minutes or hours pass between the preflight and a click. Before an approval counts, the
plan is resolved again from the same request text; if something blocks now, or a value that
would be sent changed, the approval is refused, the request becomes `stale`, the new
results go to the thread and the requester is asked for a fresh `/reprotect`. Warnings that
come and go (an agent re-registering) do not void an approval.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session

from commands.manual_items import confirmations, unconfirmed
from commands.parser import ReprotectRequest, parse
from commands.plan_model import Choice, ResolvedPlan
from commands.planning import Refused, Sources, resolve
from gateways.errors import GatewayError
from store.db import session_scope
from store.models import OutboxKind, Request, RequestStatus, utcnow
from store.repo import audit, enqueue, get_request, transition

log = logging.getLogger(__name__)

VALUE_LABELS = ("Master target", "Process server", "Datastore", "Retention volume",
                "Failback policy", "Replication appliance")


@dataclass(frozen=True)
class Hold:
    """Why an approval may not count now; `stale` when the preflight itself changed."""

    reason: str
    stale: bool = False


def changes(old: ResolvedPlan, new: ResolvedPlan | Refused) -> list[str]:
    """What differs in a way that voids approval: new blockers, or values to be sent."""
    if isinstance(new, Refused):
        return [new.message]
    found = [f"{c.check} now blocks"
             + (f" ({', '.join(c.vms[:5])}{'…' if len(c.vms) > 5 else ''})" if c.vms else "")
             + f": {c.message}" for c in new.blockers]
    for label, before, after in zip(VALUE_LABELS, _values(old), _values(new), strict=True):
        if _key(before) != _key(after):
            found.append(f"{label}: `{before.name if before else 'none'}` → "
                         f"`{after.name if after else 'none'}`")
    before_items = old.per_item_values()
    for vm, (datastore, log_storage) in new.per_item_values().items():
        was = before_items.get(vm)
        if was is None:
            continue  # a VM that came or went is said below
        for label, before, after in (("Datastore", was[0], datastore),
                                     ("Log storage", was[1], log_storage)):
            if _key(before) != _key(after):
                found.append(f"{label} of `{vm}`: `{before.name if before else 'none'}` → "
                             f"`{after.name if after else 'none'}`")
    gone = sorted({i.vm_name for i in old.items} - {i.vm_name for i in new.items})
    added = sorted({i.vm_name for i in new.items} - {i.vm_name for i in old.items})
    if gone or added:
        found.append("VMs: " + ", ".join([f"+`{v}`" for v in added] + [f"−`{v}`" for v in gone]))
    if old.run_as_account_id != new.run_as_account_id:
        found.append("Run-as account of the configuration server changed")
    if not found and old.sent() != new.sent():  # ids changed under the same names
        found.append("Site Recovery ids of the values changed")
    return found


def _values(plan: ResolvedPlan) -> tuple[Choice | None, ...]:
    return (plan.master_target, plan.process_server, plan.datastore, plan.retention, plan.policy,
            plan.appliance)


def _key(choice: Choice | None) -> tuple[str, str] | None:
    return (choice.id.lower(), choice.name) if choice else None


class Recheck:
    def __init__(self, engine: Engine, sources: Sources, *,
                 approval_confirms_manual: bool = True) -> None:
        self._engine = engine
        self._sources = sources
        self._approval_confirms_manual = approval_confirms_manual

    def hold(self, request_id: int, approver: str) -> Hold | None:
        """None when the approval may count; else why not (the thread is told of changes)."""
        with Session(self._engine) as session:
            request = get_request(session, request_id)
            ticked = confirmations(session, request_id)
        if request is None:
            return Hold(f"Request #{request_id} does not exist.")
        plan = ResolvedPlan.from_json(request.plan)
        missing = unconfirmed(plan, ticked)
        if missing and not self._approval_confirms_manual:
            return Hold("Tick the manual checks in the message first (the bot cannot see "
                        "them): " + "; ".join(i.result.message for i in missing)
                        + ". Your approval was not recorded.")
        parsed = parse(request.command_text)
        assert isinstance(parsed, ReprotectRequest)
        try:
            fresh = resolve(parsed, self._sources, now=utcnow())
        except GatewayError as exc:
            log.warning("re-check of request %s could not run: %s", request_id, exc.what)
            return Hold("The preflight could not be re-checked before approving, so your "
                        f"approval was not recorded.\n{exc.explain()}\nTry again in a minute.")
        found = changes(plan, fresh)
        if not found:
            return None
        self._go_stale(request, approver, found, fresh if isinstance(fresh, ResolvedPlan)
                       else None)
        return Hold("The preflight changed since this request was posted (details in the "
                    "thread), so your approval was refused and nothing was sent. Ask for a "
                    "fresh `/reprotect`.", stale=True)

    def _go_stale(self, request: Request, approver: str, found: list[str],
                  fresh: ResolvedPlan | None) -> None:
        assert request.id is not None
        with session_scope(self._engine) as session:
            if not transition(session, request.id, [RequestStatus.PENDING], RequestStatus.STALE,
                              reason="; ".join(found)[:500], finished_at=utcnow()):
                return  # another click or the expiry got there first
            audit(session, approver, "recheck_changed", request.id, changes=found,
                  fingerprint=fresh.fingerprint() if fresh else None)
            enqueue(session, request, OutboxKind.UPDATE, {"view": "request"})
            enqueue(session, request, OutboxKind.REPLY, {
                "view": "preflight_changed", "request_id": request.id,
                "command": request.command_text, "changes": found,
                "plan": fresh.to_json() if fresh else None})
