"""What the tracking machine reads: the run as stored, and Site Recovery's answers.

Pure functions over the gateway's types (no database, no HTTP): which job an item runs,
which recent job targets it, whether a refusal means another operation runs, the task text
of a job, and the errors and item state the thread shows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.events import ItemState, JobErrorInfo
from gateways.errors import SiteRecoveryError
from gateways.site_recovery import job_name
from gateways.site_recovery_models import Job, ProtectedItem
from operations import REPROTECT, operation_named
from operations.base import Operation
from store.models import Run, RunStatus

CLOCK_SKEW = timedelta(minutes=3)  # a job this much older than the run may still be its own
# "Another operation (…) is in progress", "conflicting operation", "operation already running":
# Site Recovery does not document the code, so the wording (or a 409 Conflict) decides.
IN_PROGRESS = re.compile(r"\b(?:another|other|conflicting|existing)\b.{0,60}?\b(?:operation|job)"
                         r"|in[\s-]?progress\b|\balready\s+running\b", re.IGNORECASE)


@dataclass(frozen=True)
class RunView:
    """The run as stored when this tick claimed it (or as the last step left it)."""

    id: int
    request_id: int
    item_id: str
    vm_name: str
    status: RunStatus
    job_id: str | None = None
    job_state: str = ""
    job_task: str = ""
    protection_state: str = ""
    started_at: datetime | None = None
    tasks_read_at: datetime | None = None
    wait_until: datetime | None = None
    restarts: int = 0
    flags: Mapping[str, Any] = field(default_factory=dict)
    error: Mapping[str, Any] = field(default_factory=dict)
    operation: Operation = REPROTECT

    @classmethod
    def of(cls, run: Run) -> RunView:
        assert run.id is not None
        return cls(run.id, run.request_id, run.item_id, run.vm_name, RunStatus(run.status),
                   run.job_id, run.job_state, run.job_task, run.protection_state,
                   run.started_at, run.tasks_read_at, run.wait_until, run.restarts,
                   dict(run.flags), dict(run.error), operation_named(run.operation))


def read_rank(run: RunView, jobs: Mapping[str, Job], task_refresh: timedelta,
              now: datetime) -> int | None:
    """Why a running job needs a full read (lower goes first), None when the list will do:
    missing from the list, finished, changed state, or tasks not read for a while."""
    entry = jobs.get(job_name(run.job_id or "").lower())
    if entry is None:
        return 0
    if entry.state == "Failed":
        return 1  # its errors and allowed actions come from a full read
    if entry.finished:
        return None  # Succeeded or Cancelled: the list entry says all that matters
    if entry.state != run.job_state:
        return 2
    if run.tasks_read_at is None or now - run.tasks_read_at >= task_refresh:
        return 3
    return None


def find_started(run: RunView, item: ProtectedItem, jobs: Mapping[str, Job],
                 now: datetime, plan_ids: tuple[str, ...] = ()) -> str | None:
    """A job Site Recovery runs or ran for this item since the run (re)started, which
    this run does not know yet: the item's current scenario, else the recent jobs on the
    item (or, for a plan-scope write, on the recovery plan: `plan_ids`)."""
    known = {j.lower() for j in [*run.flags.get("jobs", []), run.job_id] if j}
    current = scenario_job(item)
    if current and current.lower() not in known:
        return current
    since = (run.started_at or now) - CLOCK_SKEW
    recent = [j for j in jobs.values()
              if j.id.lower() not in known and targets(j, item, plan_ids)
              and (j.start_time is None or j.start_time >= since)]
    newest = max(recent, key=lambda j: j.start_time or since, default=None)
    return newest.id if newest else None


def in_progress(exc: SiteRecoveryError) -> bool:
    """Refused because another operation runs on the item (maybe the one this run sent)."""
    return exc.status == 409 or bool(IN_PROGRESS.search(f"{exc.code or ''} {exc.why}"))


def scenario_job(item: ProtectedItem) -> str | None:
    """The job Site Recovery runs on the item now, if any."""
    scenario = item.current_scenario
    if scenario.idle or not scenario.job_id:
        return None
    name = job_name(scenario.job_id)
    return None if name.lower() == "none" else name


def targets(job: Job, item: ProtectedItem, plan_ids: tuple[str, ...] = ()) -> bool:
    """Whether a job acts on the item (its target is the item's name or ARM id), or on the
    recovery plan named by `plan_ids`."""
    target = (job.target_object_id or "").lower()
    return bool(target) and target in (item.name.lower(), item.id.lower(),
                                       *(p.lower() for p in plan_ids))


def task_text(job: Job) -> str:
    """Task-level progress: the current task, its state, and how many tasks are done."""
    if not job.tasks:
        return ""
    done = sum(1 for t in job.tasks if t.state == "Succeeded")
    current = job.current_task
    head = f"{current.name} ({current.state}), " if current else ""
    return f"{head}{done}/{len(job.tasks)} tasks done"


def job_errors(job: Job) -> tuple[JobErrorInfo, ...]:
    return tuple(JobErrorInfo(e.code, e.message, e.possible_causes, e.recommended_action,
                              e.provider_code or "", e.provider_message or "")
                 for e in job.errors)


def item_state(item: ProtectedItem) -> ItemState:
    """The item's protection state and health, with every health error and its fix."""
    return ItemState(
        item.protection_state_description or item.protection_state or "unknown",
        item.replication_health or "",
        item.health_errors)
