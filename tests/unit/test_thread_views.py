"""Every thread event as Slack sees it: snapshots, Slack's limits, and the outbox encoding.

Snapshots are the rendered JSON committed under tests/unit/snapshots/thread_*.json. A missing
or different snapshot fails; `UPDATE_SNAPSHOTS=1 pytest tests/unit/test_thread_views.py`
rewrites them after a deliberate change (review the diff).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.views import run_words, thread
from core import events as ev
from gateways.site_recovery_models import HealthIssue
from store.models import Run, RunStatus
from tests.support.runs import GUID, PORTAL, VAULT, failing_runs, healthy_runs, run
from tests.support.snapshots import assert_matches_snapshot
from tests.unit.test_views_limits import healthy

SNAPSHOTS = Path(__file__).with_name("snapshots")
ERRORS = (ev.JobErrorInfo("95226", "The Azure VM could not reach the configuration server.",
                          "The Mobility service is stopped.", "Start the InMage Scout service.",
                          "ProviderError", "scout unreachable"),
          ev.JobErrorInfo("999", "Something Site Recovery did not explain."))
ITEM = ev.ItemState("Initial replication in progress", "Critical", (
    HealthIssue("78122", "Initial replication is not progressing.",
                       "Check the process server's network."),))


def vms(count: int) -> tuple[str, ...]:
    return tuple(f"app-{i:03d}" for i in range(1, count + 1))


SAMPLES: dict[str, ev.Event] = {
    "decided_rejected": ev.Decided(7, "rejected", "U0APPROVER", "window <!channel> closed"),
    "decided_cancelled": ev.Decided(7, "cancelled", "U0REQUESTER"),
    "approvals_void": ev.ApprovalsVoid(7),
    "preflight_changed": ev.PreflightChanged(7, "plan=finance-rp master=avs-mt-01",
                                             (ev.Change(ev.ChangeKind.VALUE, "Master target",
                                                        "avs-mt-01", "avs-mt-02"),
                                              ev.Change(ev.ChangeKind.VMS, vms=("app-004",),
                                                        gone=("app-003",))),
                                             json.loads(json.dumps(healthy(3).to_json()))),
    "run_started_3": ev.RunStarted((*((vm, GUID.format(i)) for i, vm in enumerate(vms(3))),
                                    ("app-pending", None))),
    "run_started_100": ev.RunStarted(tuple((vm, GUID.format(i))
                                           for i, vm in enumerate(vms(100)))),
    **{f"progress_healthy_{n}": ev.Progress(()) for n in (1, 10, 100)},
    **{f"progress_failing_{n}": ev.Progress(()) for n in (1, 10, 100)},
    "protected_1": ev.Done(("app-001",)),
    "protected_100": ev.Done(vms(100)),
    "job_failed_retry": ev.JobFailed("app-001", GUID.format(1), "Enable replication", ERRORS, 5),
    "job_failed_final": ev.JobFailed("app-001", GUID.format(1), "", (), None),
    "job_cancelled": ev.JobCancelled("app-002", GUID.format(2)),
    "job_suspended": ev.JobSuspended("app-003", GUID.format(3), "Manual action (InProgress)"),
    "write_refused_reprotect": ev.WriteRefused("app-001", "Site Recovery answered 400.",
                                               "The item cannot be reprotected now.",
                                               "Check the item in the vault."),
    "write_refused_restart": ev.WriteRefused("app-001", "Site Recovery answered 400.",
                                             job_id=GUID.format(1), run_id=5),
    "not_started": ev.NotStarted("app-001", "the item is Protected by another operation"),
    "restart_lost": ev.RestartLost("app-001", GUID.format(1), 5),
    "retried_approved": ev.Retried("app-001", GUID.format(9), "approved", GUID.format(1),
                                   "U0APPROVER"),
    "retried_adopted": ev.Retried("app-001", GUID.format(9), "adopted"),
    "retried_agent_restart": ev.Retried("app-001", GUID.format(9), "agent", GUID.format(1)),
    "retried_agent_post": ev.Retried("app-001", GUID.format(9), "agent"),
    "agent_waiting": ev.AgentWaiting("app-001", "The agent isn't installed on the VM.", 1200),
    "agent_waiting_job": ev.AgentWaiting("app-001", "", 1200, ERRORS[:1]),
    "agent_gave_up": ev.AgentGaveUp("app-001", "The agent isn't installed.", 1200, 6, (), 5),
    "health_warning": ev.HealthWarning("app-001", ITEM),
    "timed_out_item": ev.TimedOut("app-001", 720, item=ITEM),
    "timed_out_job": ev.TimedOut("app-001", 720, "InProgress", "Starting replication"),
    "auth_problem": ev.AuthProblem("Azure refused the bot's token (401).", "The secret expired.",
                                   "Rotate AZURE_CLIENT_SECRET."),
    "auth_recovered": ev.AuthRecovered(),
    "summary_all": ev.Summary(3, 3, 0, 0),
    "summary_mixed": ev.Summary(100, 97, 2, 1),
    **{f"summary_failing_{n}": ev.Summary(n, sum(r.status == RunStatus.PROTECTED
                                                   for r in failing_runs(n)),
                                           sum(r.status == RunStatus.FAILED
                                               for r in failing_runs(n)),
                                           sum(r.status == RunStatus.TIMED_OUT
                                               for r in failing_runs(n)))
       for n in (1, 10, 100)},
    "powered_on": ev.PoweredOn(vms(3), False),
}
ROOT_EVENTS = {ev.RequestPosted, ev.RequestChanged}  # the request view: test_views_limits
# The runs each sample is sent with (the outbox reads them at send time); others have none.
RUNS: dict[str, tuple[Run, ...]] = {
    **{f"progress_healthy_{n}": healthy_runs(n) for n in (1, 10, 100)},
    **{f"progress_failing_{n}": failing_runs(n) for n in (1, 10, 100)},
    **{f"summary_failing_{n}": failing_runs(n) for n in (1, 10, 100)},
    "job_failed_retry": failing_runs(1),
}


def render(name: str) -> thread.Message:
    return thread.render(SAMPLES[name], RUNS.get(name, ()), PORTAL)


def sections(message: thread.Message) -> list[str]:
    return [b["text"]["text"] for b in message.get("blocks", []) if b["type"] == "section"]


def shown(message: thread.Message) -> str:
    """What Slack shows: the blocks when there are any, else the text."""
    return "\n".join(sections(message)) if message.get("blocks") else message["text"]


def test_every_thread_event_has_a_sample() -> None:
    assert {type(e) for e in SAMPLES.values()} | ROOT_EVENTS == set(ev.EVENTS.values())


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_event_renders_like_its_snapshot_within_slack_limits(name: str) -> None:
    message = render(name)
    assert message["text"] and len(message["text"]) <= 40_000
    assert len(json.dumps(message.get("blocks", []))) < 13_000
    assert len(message.get("blocks", [])) <= 50
    assert all(len(text) <= 3000 for text in sections(message))
    rendered = json.dumps(message, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    path = SNAPSHOTS / f"thread_{name}.json"
    assert_matches_snapshot(path, rendered)


@pytest.mark.parametrize("value", ["0", "", "yes", "true"])
def test_a_snapshot_is_rewritten_only_on_an_explicit_1(
        value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    committed = tmp_path / "thread_sample.json"
    committed.write_text("old\n", encoding="utf-8")
    monkeypatch.setenv("UPDATE_SNAPSHOTS", value)
    with pytest.raises(AssertionError, match=r"thread_sample\.json differs"):
        assert_matches_snapshot(committed, "new\n")
    assert committed.read_text(encoding="utf-8") == "old\n"
    monkeypatch.setenv("UPDATE_SNAPSHOTS", "1")
    assert_matches_snapshot(committed, "new\n")
    assert committed.read_text(encoding="utf-8") == "new\n"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_event_survives_the_outbox(name: str) -> None:
    event = SAMPLES[name]
    assert ev.decode(json.loads(json.dumps(ev.encode(event)))) == event


def test_outbox_refuses_what_it_cannot_rebuild() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        ev.decode({"type": "Nonsense"})
    with pytest.raises(ValueError, match="missing"):
        ev.decode({"type": "Protected"})
    with pytest.raises(ValueError, match="unknown"):
        ev.decode({"type": "Summary", "total": 1, "protected": 1, "failed": 0, "timed_out": 0,
                   "extra": 1})


def test_a_hundred_vm_start_keeps_every_job_id() -> None:
    message = render("run_started_100")
    assert all(GUID.format(i) in shown(message) and GUID.format(i) in message["text"]
               for i in range(100))


def test_a_hundred_protected_vms_are_each_named_in_one_reply() -> None:
    message = render("protected_100")
    assert "protected" in message["text"]
    assert all(f"`{vm}`" in shown(message) and f"`{vm}`" in message["text"] for vm in vms(100))


def test_the_progress_message_says_where_each_vm_stands_in_words() -> None:
    text = render("progress_healthy_10")["text"]
    assert "`app-001` — initial replication 40 %" in text
    assert "`app-002` — running: Preparing for reprotect (step 2 of 4)" in text
    assert "`app-003` — job done, waiting until protected" in text
    assert "`app-004` — queued" in text and "`app-005` — protected" in text
    assert "InProgress" not in text and "Succeeded" not in text
    assert f"<{PORTAL}/#@/resource{VAULT}/replicationJobs/{GUID.format(1)}|job>" in text
    assert f"<{PORTAL}/#@/resource{VAULT}/replicationFabrics/cs-01/" in text
    failing = render("progress_failing_10")["text"]
    assert "`app-001` — failed (code 8038)" in failing and "`app-002` — timed out" in failing
    assert "`app-003` — cancelled" in failing
    assert "`app-005` — suspended: waits for a manual action" in failing


def test_a_hundred_vm_progress_folds_what_went_well_and_keeps_every_failure() -> None:
    message = render("progress_failing_100")
    text = shown(message)
    failed = [r.vm_name for r in failing_runs(100) if r.status == RunStatus.FAILED]
    assert all(f"`{vm}` — failed (code 8038)" in text or f"`{vm}` — cancelled" in text
               for vm in failed)
    assert text.count(f"<{PORTAL}/") == 2 * thread.LINKED_MOST  # the first failures' links
    assert "• protected (22): `app-006`, `app-009`" in text  # the VMs done, on one line


def test_failures_and_the_summary_reach_the_channel_and_name_the_failed_vms() -> None:
    assert all(render(name).get("reply_broadcast") for name in (
        "job_failed_retry", "job_cancelled", "write_refused_reprotect", "not_started",
        "restart_lost", "agent_gave_up", "timed_out_item", "summary_mixed"))
    assert not any(render(name).get("reply_broadcast") for name in (
        "progress_healthy_10", "protected_100", "run_started_3", "job_suspended"))
    summary = render("summary_failing_10")["text"]
    assert ("*Summary*: 2/10 protected, 5 failed (`app-001`, `app-003`, `app-004`, `app-007`, "
            "`app-010`), 1 timed out (`app-002`).") in summary
    linked = render("job_failed_retry")
    assert f"<{PORTAL}/#@/resource{VAULT}/replicationJobs/{GUID.format(1)}|job>" in \
        linked["text"] and "In the Azure portal" in sections(linked)[0]


def test_portal_links_follow_the_cloud_and_never_carry_markup() -> None:
    assert run_words.portal_for("https://management.usgovcloudapi.net/") == \
        "https://portal.azure.us"
    assert run_words.portal_for("https://management.chinacloudapi.cn") == "https://portal.azure.cn"
    assert run_words.portal_for("https://127.0.0.1:8443") is None  # unknown: no link at all
    assert run_words.portal_link(None, VAULT, "x") == ""
    hostile = run_words.portal_link(PORTAL, "/subscriptions/s/x|<!channel>&y", "job")
    assert hostile.count("|") == 1 and "<!channel>" not in hostile and "&y" not in hostile


def test_words_come_from_the_fields_people_cannot_inject() -> None:
    """A reason typed by a person cannot notify the channel."""
    text = render("decided_rejected")["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text



def test_what_azure_says_about_a_run_cannot_notify_or_link() -> None:
    """VM names, task names, error codes and health codes come from Azure: shown, escaped."""
    hostile = "<!channel> <https://evil|x> &"
    runs = (run(1, RunStatus.RUNNING, vm_name=hostile, job_state="InProgress",
                job_task=f"{hostile} (InProgress), 0/2 tasks done"),
            run(2, RunStatus.FAILED, vm_name=hostile, error={"codes": [hostile]}),
            run(3, RunStatus.SYNCING, flags={"health": hostile}))
    for message in (thread.render(ev.Progress(()), runs, PORTAL),
                    thread.render(ev.Summary(3, 0, 1, 0), runs, PORTAL),
                    thread.render(ev.JobCancelled(hostile, "job"), runs, PORTAL)):
        text = message["text"]
        assert "<!channel>" not in text and "<https://evil" not in text, text
