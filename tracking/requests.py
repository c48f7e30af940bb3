"""Opening and closing requests around their runs: approvals bind, then the summary."""

from __future__ import annotations

from core.events import ApprovalsVoid, Progress, RequestChanged, Summary
from core.plan import ResolvedPlan
from store.approvals import approvers_of
from store.db import Engine, Session, read_scope, session_scope
from store.journal import audit, enqueue
from store.models import FINAL_RUN_STATUSES, Request, RequestStatus, Run, RunStatus, utcnow
from store.requests import requests_with, transition
from store.runs import runs_of
from tracking.machine import AGENT_GATE


def start_approved(engine: Engine) -> None:
    """Open the runs of approved requests, once each (a compare-and-set on the request)."""
    with read_scope(engine) as session:
        approved = requests_with(session, RequestStatus.APPROVED)
    for request in approved:
        assert request.id is not None
        plan = ResolvedPlan.from_json(request.plan)
        with session_scope(engine) as session:
            if not _approvals_bind(session, request):
                continue
            if not transition(session, request.id, [RequestStatus.APPROVED],
                              RequestStatus.EXECUTING):
                continue
            gate = {AGENT_GATE: True} if plan.appliance is not None else {}  # modernized
            for item in plan.items:
                session.add(Run(request_id=request.id, item_id=item.item_id,
                                vm_name=item.vm_name, flags=dict(gate),
                                operation=request.operation))
            audit(session, "bot", "execute", request.id, vms=len(plan.items),
                  fingerprint=request.fingerprint)
            enqueue(session, request, RequestChanged())

def _approvals_bind(session: Session, request: Request) -> bool:
    """Execute only what was approved: enough approvals of this exact fingerprint."""
    assert request.id is not None
    approvers = approvers_of(session, request)
    if len(approvers) >= request.required_approvals:
        return True
    if transition(session, request.id, [RequestStatus.APPROVED], RequestStatus.CANCELLED,
                  reason="approvals void: what would be sent changed after approval",
                  finished_at=utcnow()):
        audit(session, "bot", "void", request.id, fingerprint=request.fingerprint)
        enqueue(session, request, RequestChanged())
        enqueue(session, request, ApprovalsVoid(request.id))
    return False


def finish_requests(engine: Engine) -> None:
    """Close executing requests whose runs are all final, with the summary."""
    with read_scope(engine) as session:
        executing = requests_with(session, RequestStatus.EXECUTING)
    for request in executing:
        assert request.id is not None
        with session_scope(engine) as session:
            runs = runs_of(session, request.id)
            if not runs or any(r.status not in FINAL_RUN_STATUSES for r in runs):
                continue
            counts = {s: sum(1 for r in runs if r.status == s) for s in FINAL_RUN_STATUSES}
            final = (RequestStatus.DONE if counts[RunStatus.PROTECTED] == len(runs)
                     else RequestStatus.FAILED)
            if not transition(session, request.id, [RequestStatus.EXECUTING], final,
                              finished_at=utcnow()):
                continue
            audit(session, "bot", "finish", request.id, status=final.value,
                  counts={k.value: v for k, v in counts.items()})
            enqueue(session, request, Progress(()))  # the progress message's final states
            enqueue(session, request, Summary(len(runs), counts[RunStatus.PROTECTED],
                                              counts[RunStatus.FAILED],
                                              counts[RunStatus.TIMED_OUT], request.operation,
                                              request.id, str(request.plan.get("provider", ""))))
            enqueue(session, request, RequestChanged())
