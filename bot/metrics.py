"""The bot's Prometheus metrics, all defined here and counted at the edges.

Domain modules import no metrics library: Site Recovery calls are counted by an azure-core
pipeline policy (every HTTP request, retries and polls included), writes by a wrapper of the
gateway naming the operation, request and run transitions by the store's commit counts
(`store.commit_counts`) when the transaction that made them commits, clicks from the audit
rows written with them, and the outbox's backlog is read when `/metrics` is scraped.
Counters are per process: sum them over replicas.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from gateways.errors import SiteRecoveryError
from store.backlog import outbox_backlog
from store.commit_counts import on_commit
from store.db import Engine
from store.models import utcnow

T = TypeVar("T")

REQUESTS = Counter("reprotect_requests", "Requests that reached each state (a new request "
                   "counts as preflight)", ["state"])
SUBMISSIONS = Counter("reprotect_submissions", "Writes sent to Site Recovery, by operation and "
                      "outcome (accepted; refused: Site Recovery answered 4xx; error: 5xx, "
                      "throttled or no answer)", ["operation", "outcome"])
SITE_RECOVERY_CALLS = Counter("reprotect_site_recovery_calls", "HTTP requests to Azure Resource "
                              "Manager, retries and polls included, by method and status "
                              "(`none`: no answer)", ["method", "status"])
OUTBOX_PENDING = Gauge("reprotect_slack_outbox_pending", "Slack messages waiting to be sent")
OUTBOX_OLDEST = Gauge("reprotect_slack_outbox_oldest_pending_seconds", "Age of the oldest "
                      "Slack message waiting to be sent (0 when none waits)")
TICK_SECONDS = Histogram("reprotect_tick_duration_seconds", "Duration of each periodic job's "
                         "tick", ["job"], buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
                                                   30, 60))
APPROVALS = Counter("reprotect_approvals", "Approvals recorded (one per approver per request)")
REFUSALS = Counter("reprotect_refusals", "Clicks refused (not an approver, the requester, "
                   "already decided, …), by reason", ["reason"])
JOBS = Counter("reprotect_jobs", "VMs whose Site Recovery job ended, by outcome (protected, "
               "failed, timed_out)", ["outcome"])
DEPENDENCY_UP = Gauge("reprotect_dependency_up", "1 when the last readiness probe of the "
                      "dependency passed, else 0", ["dependency"])

FINAL_RUN_STATES = ("protected", "failed", "timed_out")


def render(engine: Engine) -> tuple[bytes, str]:
    """The text exposition, with the outbox gauges read now."""
    count, oldest = outbox_backlog(engine)
    OUTBOX_PENDING.set(count)
    OUTBOX_OLDEST.set(_age(oldest))
    return generate_latest(), CONTENT_TYPE_LATEST


def _age(moment: datetime | None) -> float:
    if moment is None:
        return 0.0
    return max(0.0, (utcnow() - moment).total_seconds())


def timed(job: str, func: Callable[[], None]) -> Callable[[], None]:
    """`func`, observed in the tick histogram under `job`."""
    histogram = TICK_SECONDS.labels(job=job)

    def tick() -> None:
        with histogram.time():
            func()
    return tick


# -- Site Recovery ----------------------------------------------------------------------

class CountArmCalls(HTTPPolicy[Any, Any]):
    """Per-retry azure-core policy: one count per HTTP request sent to ARM."""

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        method = request.http_request.method.upper()
        try:
            response = self.next.send(request)
        except Exception:
            SITE_RECOVERY_CALLS.labels(method=method, status="none").inc()
            raise
        SITE_RECOVERY_CALLS.labels(method=method,
                                   status=str(response.http_response.status_code)).inc()
        return response


@contextmanager
def submission(operation: str) -> Iterator[None]:
    """Count one write sent to Site Recovery under `operation` by how it ended."""
    try:
        yield
    except SiteRecoveryError as exc:
        refused = exc.status is not None and not exc.transient
        SUBMISSIONS.labels(operation=operation, outcome="refused" if refused else "error").inc()
        raise
    except Exception:
        SUBMISSIONS.labels(operation=operation, outcome="error").inc()
        raise
    SUBMISSIONS.labels(operation=operation, outcome="accepted").inc()


# -- state transitions, counted on commit ---------------------------------------------------

def count_transitions() -> None:
    """Count transitions and audit rows when their transaction commits, never for a
    rollback, a compare-and-set that lost, or an update that keeps the state (a lease
    renewed): `store.commit_counts` sees them."""
    on_commit(_count)


def _count(kind: str, value: str, count: int) -> None:
    if kind == "requests":
        REQUESTS.labels(state=value).inc(count)
    elif kind == "runs" and value in FINAL_RUN_STATES:
        JOBS.labels(outcome=value).inc(count)
    elif kind == "audit" and value == "approve":
        APPROVALS.inc(count)
    elif kind == "audit" and value.startswith("refused:"):
        REFUSALS.labels(reason=value.removeprefix("refused:")).inc(count)
