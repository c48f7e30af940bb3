"""Opening and closing requests around their runs: approvals bind, then the summary."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from core.events import ApprovalsVoid, Progress, RequestChanged, Summary
from core.plan import ResolvedPlan
from store.db import session_scope
from store.models import (
    FINAL_RUN_STATUSES,
    Approval,
    Request,
    RequestStatus,
    Run,
    RunStatus,
    utcnow,
)
from store.repo import audit, enqueue, runs_of, transition
from tracking.machine import AGENT_GATE


def start_approved(engine: Engine) -> None:
    """Open the runs of approved requests, once each (a compare-and-set on the request)."""
    with Session(engine) as session:
        approved = session.exec(select(Request).where(
            Request.status == RequestStatus.APPROVED)).all()
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
    approvers = set(session.exec(select(Approval.approver_id).where(
        Approval.request_id == request.id, Approval.fingerprint == request.fingerprint,
        Approval.approver_id != request.requester_id)).all())
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
    with Session(engine) as session:
        executing = session.exec(select(Request).where(
            Request.status == RequestStatus.EXECUTING)).all()
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
                                              counts[RunStatus.TIMED_OUT], request.operation))
            enqueue(session, request, RequestChanged())
