"""Runs as the outbox reads them at send time, for the views' tests: a run going well and a
bad night, at any size."""

from __future__ import annotations

from typing import Any

from store.models import Run, RunStatus

GUID = "9f0c3a7e-3b1d-4c55-8a2e-0d6b1f2e4a{:02d}"
PORTAL = "https://portal.azure.com"
VAULT = ("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-asr/providers/"
         "Microsoft.RecoveryServices/vaults/vault-prod")


def run(i: int, status: RunStatus, **values: Any) -> Run:
    """VM app-<i>'s run as the outbox reads it when it sends; `values` set other columns."""
    built = Run(request_id=7, vm_name=f"app-{i:03d}", status=status,
                job_id=GUID.format(i % 100),
                item_id=f"{VAULT}/replicationFabrics/cs-01/replicationProtectionContainers/"
                        f"cloud_1/replicationProtectedItems/vm-app-{i:03d}")
    for column, value in values.items():
        setattr(built, column, value)
    return built


def healthy_runs(count: int) -> tuple[Run, ...]:
    """A run going well: some VMs protected, some replicating, some at a job task."""
    shapes = (lambda i: run(i, RunStatus.PROTECTED, protection_state="Protected"),
              lambda i: run(i, RunStatus.SYNCING, flags={"percent": 40}),
              lambda i: run(i, RunStatus.RUNNING, job_state="InProgress",
                            job_task="Preparing for reprotect (InProgress), 1/4 tasks done"),
              lambda i: run(i, RunStatus.SYNCING),
              lambda i: run(i, RunStatus.QUEUED, job_id=None))
    return tuple(shapes[i % len(shapes)](i) for i in range(1, count + 1))


def failing_runs(count: int) -> tuple[Run, ...]:
    """A bad night: every third VM failed (8038, or cancelled), one timed out, one suspended."""
    runs = []
    for i in range(1, count + 1):
        if i % 3 == 1:
            runs.append(run(i, RunStatus.FAILED, job_state="Failed",
                            error={"codes": ["8038"], "state": "Failed"}))
        elif i == 2:
            runs.append(run(i, RunStatus.TIMED_OUT, error={"message": "job still InProgress"}))
        elif i % 9 == 3:
            runs.append(run(i, RunStatus.FAILED, error={"state": "Cancelled"}))
        elif i % 3 == 2:
            runs.append(run(i, RunStatus.RUNNING, job_state="Suspended",
                            job_task="Manual action (InProgress), 2/5 tasks done"))
        else:
            runs.append(run(i, RunStatus.PROTECTED))
    return tuple(runs)


def ended(runs: tuple[Run, ...]) -> tuple[Run, ...]:
    """The same runs once the request is over: whatever was still going became protected."""
    return tuple(r if r.status in (RunStatus.PROTECTED, RunStatus.FAILED, RunStatus.TIMED_OUT)
                 else run(int(r.vm_name[4:]), RunStatus.PROTECTED) for r in runs)
