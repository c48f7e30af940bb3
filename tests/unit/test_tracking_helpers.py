"""Pure decisions of the runner: which job an item runs, which job targets it, progress text."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.views.thread import duration
from gateways.site_recovery_models import CurrentScenario, Job, JobTask
from tests.support.preflight import item
from tracking.observe import scenario_job as _scenario_job
from tracking.observe import targets as _targets
from tracking.observe import task_text as _task_text

VAULT = "/Subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v"


@pytest.mark.parametrize(("scenario", "expected"), [
    (CurrentScenario("None", f"{VAULT}/replicationJobs/None"), None),   # idle sentinel
    (CurrentScenario("ReverseReplication", f"{VAULT}/replicationJobs/None"), None),
    (CurrentScenario("ReverseReplication", None), None),
    (CurrentScenario("ReverseReplication", f"{VAULT}/replicationJobs/1d5b-77"), "1d5b-77"),
])
def test_the_job_an_item_runs_ignores_the_idle_sentinels(scenario: CurrentScenario,
                                                          expected: str | None) -> None:
    assert _scenario_job(item(1, current_scenario=scenario)) == expected


def test_a_job_targets_an_item_by_name_or_id_whatever_the_case() -> None:
    target = item(1)
    job = Job(id="j", state="InProgress", state_description="", scenario_name="x",
              target_object_id=target.name.upper())
    assert _targets(job, target)
    assert _targets(Job(id="j", state="", state_description="", scenario_name="",
                        target_object_id=target.id.lower()), target)
    assert not _targets(Job(id="j", state="", state_description="", scenario_name="",
                            target_object_id=None), target)


def test_progress_names_the_current_task_and_counts_the_done_ones() -> None:
    tasks = (JobTask("Prerequisites check", "Succeeded"), JobTask("Starting replication",
                                                                  "InProgress"),
             JobTask("Finalizing protection", "NotStarted"))
    job = Job(id="j", state="InProgress", state_description="", scenario_name="",
              target_object_id=None, tasks=tasks)
    assert _task_text(job) == "Starting replication (InProgress), 1/3 tasks done"
    listed = Job(id="j", state="InProgress", state_description="", scenario_name="",
                 target_object_id=None)  # the job list carries no tasks
    assert _task_text(listed) == ""


@pytest.mark.parametrize(("span", "text"), [(timedelta(seconds=45), "45 s"),
                                            (timedelta(minutes=20), "20 min")])
def test_durations_read_naturally(span: timedelta, text: str) -> None:
    assert duration(int(span.total_seconds())) == text
