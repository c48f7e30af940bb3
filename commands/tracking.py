"""Execution and tracking: one scheduler tick submits approved plans and follows their jobs.

Each tick claims due runs with a lease (a compare-and-set in the database), so several
replicas never poll or submit the same run at once, and a restarted bot resumes from the
tables alone. A reprotect POST is sent from `queued` only; a run found in `submitting`
(crash, or an answer lost on the wire) is first looked up on the protected item, and is
adopted if Site Recovery already runs it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, or_, update
from sqlmodel import Session, col, select

from commands.config import Policy
from commands.job_errors import describe
from commands.plan_model import ResolvedPlan
from gateways.errors import GatewayError, SiteRecoveryError
from gateways.site_recovery import SiteRecovery, job_name
from gateways.site_recovery_models import ProtectedItem, ReprotectInput
from store.db import session_scope
from store.models import (
    FINAL_RUN_STATUSES,
    Approval,
    OutboxKind,
    Request,
    RequestStatus,
    Run,
    RunStatus,
    utcnow,
)
from store.repo import audit, enqueue, get_request, runs_of, transition, transition_run

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
CLAIM_BATCH = 500
MAX_SUBMIT_ATTEMPTS = 3


@dataclass
class _Posts:
    """Thread replies gathered during one tick, written with the state they describe."""

    started: dict[int, list[tuple[str, str | None]]] = field(default_factory=lambda:
                                                              defaultdict(list))
    progress: dict[int, list[tuple[str, str, str]]] = field(default_factory=lambda:
                                                             defaultdict(list))


class Tracker:
    def __init__(self, engine: Engine, site_recovery: SiteRecovery, policy: Policy,
                 owner: str) -> None:
        self._engine = engine
        self._asr = site_recovery
        self._policy = policy
        self._owner = owner

    def tick(self) -> None:
        """Start approved requests, advance every due run, close finished requests."""
        self._start_approved()
        posts = _Posts()
        for run in self._claim():
            try:
                self._advance(run, posts)
            except GatewayError as exc:
                self._defer(run, exc)
            except Exception:
                log.exception("tracking run %s crashed; will retry", run.id)
                self._defer(run, None)
        self._flush(posts)
        self._finish_requests()

    # -- start -----------------------------------------------------------------------------

    def _start_approved(self) -> None:
        with Session(self._engine) as session:
            approved = session.exec(select(Request).where(
                Request.status == RequestStatus.APPROVED)).all()
        for request in approved:
            assert request.id is not None
            plan = ResolvedPlan.from_json(request.plan)
            with session_scope(self._engine) as session:
                if not self._approvals_bind(session, request):
                    continue
                if not transition(session, request.id, [RequestStatus.APPROVED],
                                  RequestStatus.EXECUTING):
                    continue
                for item in plan.items:
                    session.add(Run(request_id=request.id, item_id=item.item_id,
                                    vm_name=item.vm_name))
                audit(session, "bot", "execute", request.id, vms=len(plan.items),
                      fingerprint=request.fingerprint)
                enqueue(session, request, OutboxKind.UPDATE, {"view": "request"})

    def _approvals_bind(self, session: Session, request: Request) -> bool:
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
            enqueue(session, request, OutboxKind.UPDATE, {"view": "request"})
            enqueue(session, request, OutboxKind.REPLY, {"view": "notice", "text": (
                f":no_entry: Request #{request.id} was not run: its approvals were given for "
                "different values than those it would send now, so they are void. Run "
                "`/reprotect` again for a fresh preflight and approval.")})
        return False

    # -- claim -----------------------------------------------------------------------------

    def _claim(self) -> list[Run]:
        now = utcnow()
        free = or_(col(Run.lease_until).is_(None), col(Run.lease_until) < now)
        due = (select(Run.id).where(col(Run.status).not_in(list(FINAL_RUN_STATUSES)),
                                    col(Run.next_poll_at) <= now, free)
               .order_by(col(Run.next_poll_at)).limit(CLAIM_BATCH))
        with session_scope(self._engine) as session:
            session.execute(update(Run).where(col(Run.id).in_(due.scalar_subquery()), free)
                            .values(lease_owner=self._owner, lease_until=now + LEASE))
        with Session(self._engine) as session:
            return list(session.exec(select(Run).where(
                Run.lease_owner == self._owner, col(Run.lease_until) > now,
                col(Run.status).not_in(list(FINAL_RUN_STATUSES)))
                .order_by(col(Run.request_id), col(Run.id))).all())

    def _save(self, run: Run, expected: RunStatus, new: RunStatus, *,
              reply: dict[str, Any] | None = None, **values: Any) -> bool:
        """Move a run, release its lease and queue its reply, in one transaction."""
        assert run.id is not None
        values.setdefault("next_poll_at", utcnow() + self._policy.poll_interval)
        if new in FINAL_RUN_STATUSES:
            values.setdefault("finished_at", utcnow())
        with session_scope(self._engine) as session:
            if not transition_run(session, run.id, [expected], new, lease_owner=None,
                                  lease_until=None, **values):
                return False
            if reply is not None:
                request = get_request(session, run.request_id)
                assert request is not None
                enqueue(session, request, OutboxKind.REPLY, reply)
        for key, value in values.items():
            setattr(run, key, value)
        run.status = new
        return True

    def _defer(self, run: Run, exc: GatewayError | None) -> None:
        """Release the lease and poll again later; a read outage is not the VM's failure."""
        delay = self._policy.poll_interval * 2
        if isinstance(exc, SiteRecoveryError) and exc.status == 429:
            delay = max(delay, timedelta(seconds=30))
        with session_scope(self._engine) as session:
            session.execute(update(Run).where(col(Run.id) == run.id).values(
                lease_owner=None, lease_until=None, next_poll_at=utcnow() + delay))
        if exc is not None:
            log.warning("run %s (%s): %s; retrying in %s", run.id, run.vm_name, exc.what, delay)

    # -- advance ---------------------------------------------------------------------------

    def _advance(self, run: Run, posts: _Posts) -> None:
        if run.status == RunStatus.QUEUED:
            self._submit(run, posts)
        elif run.status == RunStatus.SUBMITTING:
            self._recover_submission(run, posts)
        elif run.status == RunStatus.RUNNING:
            self._follow_job(run, posts)
        elif run.status == RunStatus.SYNCING:
            self._await_protected(run)

    def _plan(self, run: Run) -> ResolvedPlan:
        with Session(self._engine) as session:
            request = get_request(session, run.request_id)
            assert request is not None
            return ResolvedPlan.from_json(request.plan)

    def _submit(self, run: Run, posts: _Posts) -> None:
        """The only place a reprotect POST is sent, and only once per `queued` run."""
        assert run.id is not None
        with session_scope(self._engine) as session:
            if not transition_run(session, run.id, [RunStatus.QUEUED], RunStatus.SUBMITTING,
                                  started_at=utcnow()):
                return
            audit(session, "bot", "submit", run.request_id, vm=run.vm_name, item=run.item_id)
        run.status = RunStatus.SUBMITTING
        run.started_at = utcnow()
        self._post_reprotect(run, posts, attempt=1)

    def _post_reprotect(self, run: Run, posts: _Posts, *, attempt: int) -> None:
        plan = self._plan(run)
        try:
            job = self._asr.reprotect(run.item_id, _inputs(plan))
        except SiteRecoveryError as exc:
            if exc.transient:
                self._save(run, RunStatus.SUBMITTING, RunStatus.SUBMITTING,
                           error={"attempts": attempt, "last": exc.what},
                           next_poll_at=utcnow() + self._policy.poll_interval)
                return
            self._save(run, RunStatus.SUBMITTING, RunStatus.FAILED,
                       error={"code": exc.code, "message": exc.explain()},
                       reply={"view": "failed", "vm": run.vm_name,
                              "reason": "Site Recovery refused the reprotect request.\n"
                                        + exc.explain()})
            return
        if job is None:
            job = _scenario_job(self._asr.get_item(run.item_id))
        self._save(run, RunStatus.SUBMITTING, RunStatus.RUNNING, job_id=job, error={})
        posts.started[run.request_id].append((run.vm_name, job))

    def _recover_submission(self, run: Run, posts: _Posts) -> None:
        """A POST may have gone out: look at the item before anything is sent again."""
        item = self._asr.get_item(run.item_id)
        running = _scenario_job(item)
        if running:
            self._save(run, RunStatus.SUBMITTING, RunStatus.RUNNING, job_id=running, error={})
            posts.started[run.request_id].append((run.vm_name, running))
        elif item.protected:
            self._save(run, RunStatus.SUBMITTING, RunStatus.PROTECTED,
                       reply={"view": "protected", "vm": run.vm_name})
        elif "ReverseReplicate" in item.allowed_operations and \
                int(run.error.get("attempts", 0)) < MAX_SUBMIT_ATTEMPTS:
            self._post_reprotect(run, posts, attempt=int(run.error.get("attempts", 0)) + 1)
        else:
            last = run.error.get("last") or f"the item is {item.protection_state_description}"
            self._save(run, RunStatus.SUBMITTING, RunStatus.FAILED,
                       error={"message": last},
                       reply={"view": "failed", "vm": run.vm_name,
                              "reason": f"Reprotect could not be started: {last}. Site Recovery "
                                        "shows no reprotect running for it; check the vault, "
                                        "then run `/reprotect` again for this VM."})

    def _follow_job(self, run: Run, posts: _Posts) -> None:
        assert run.job_id is not None
        job = self._asr.get_job(run.job_id)
        task = job.current_task.name if job.current_task else ""
        if (job.state, task) != (run.job_state, run.job_task):
            posts.progress[run.request_id].append((run.vm_name, job.state, task))
        if job.state == "Succeeded":
            self._save(run, RunStatus.RUNNING, RunStatus.SYNCING, job_state=job.state,
                       job_task=task, next_poll_at=utcnow())
        elif job.finished:
            self._save(run, RunStatus.RUNNING, RunStatus.FAILED, job_state=job.state,
                       job_task=task,
                       error={"codes": [e.code for e in job.errors], "state": job.state},
                       reply={"view": "failed", "vm": run.vm_name,
                              "reason": f"Site Recovery job `{job.id}` {job.state.lower()}.\n"
                                        + describe(job.errors)})
        elif self._timed_out(run):
            self._give_up(run, RunStatus.RUNNING, f"job still {job.state} at {task or 'start'}")
        else:
            self._save(run, RunStatus.RUNNING, RunStatus.RUNNING, job_state=job.state,
                       job_task=task)

    def _await_protected(self, run: Run) -> None:
        item = self._asr.get_item(run.item_id)
        if item.protected:
            self._save(run, RunStatus.SYNCING, RunStatus.PROTECTED,
                       protection_state=item.protection_state,
                       reply={"view": "protected", "vm": run.vm_name})
        elif self._timed_out(run):
            self._give_up(run, RunStatus.SYNCING,
                          "protection state is still "
                          + (item.protection_state_description or item.protection_state))
        else:
            self._save(run, RunStatus.SYNCING, RunStatus.SYNCING,
                       protection_state=item.protection_state)

    def _timed_out(self, run: Run) -> bool:
        started = run.started_at or utcnow()
        return utcnow() - started > self._policy.protect_timeout

    def _give_up(self, run: Run, expected: RunStatus, where: str) -> None:
        minutes = int(self._policy.protect_timeout.total_seconds() // 60)
        self._save(run, expected, RunStatus.TIMED_OUT, error={"message": where},
                   reply={"view": "failed", "vm": run.vm_name,
                          "reason": f"Not protected after {minutes} min "
                                    f"(REPROTECT_PROTECT_TIMEOUT_MINUTES): {where}. The bot "
                                    "stopped following it; check the job in the Azure portal."})

    # -- replies and closing ---------------------------------------------------------------

    def _flush(self, posts: _Posts) -> None:
        request_ids = set(posts.started) | set(posts.progress)
        if not request_ids:
            return
        with session_scope(self._engine) as session:
            for request_id in sorted(request_ids):
                request = get_request(session, request_id)
                assert request is not None
                if posts.started.get(request_id):
                    enqueue(session, request, OutboxKind.REPLY,
                            {"view": "started", "jobs": posts.started[request_id]})
                if posts.progress.get(request_id):
                    enqueue(session, request, OutboxKind.REPLY,
                            {"view": "progress", "changes": posts.progress[request_id]})

    def _finish_requests(self) -> None:
        with Session(self._engine) as session:
            executing = session.exec(select(Request).where(
                Request.status == RequestStatus.EXECUTING)).all()
        for request in executing:
            assert request.id is not None
            with session_scope(self._engine) as session:
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
                enqueue(session, request, OutboxKind.REPLY, {
                    "view": "summary", "total": len(runs),
                    "protected": counts[RunStatus.PROTECTED],
                    "failed": counts[RunStatus.FAILED],
                    "timed_out": counts[RunStatus.TIMED_OUT]})
                enqueue(session, request, OutboxKind.UPDATE, {"view": "request"})


def _inputs(plan: ResolvedPlan) -> ReprotectInput:
    assert plan.master_target and plan.process_server and plan.retention and plan.policy
    return ReprotectInput(
        master_target_id=plan.master_target.id, process_server_id=plan.process_server.id,
        retention_drive=plan.retention.id,
        datastore_name=plan.datastore.id if plan.datastore else None,
        profile_id=plan.policy.id, run_as_account_id=plan.run_as_account_id)


def _scenario_job(item: ProtectedItem) -> str | None:
    """The job Site Recovery runs on the item now, if it is a reprotect."""
    scenario = item.current_scenario
    if scenario.idle or not scenario.job_id:
        return None
    name = job_name(scenario.job_id)
    return None if name.lower() == "none" else name
