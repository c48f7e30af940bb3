"""Issue 6 over real HTTP: plans, failures and their fixes, retries, agent waits, faults, scale.

Every test runs the real bot (Bolt, slack_sdk, the Azure SDK, azure-identity) against the Slack
and ARM emulators on loopback, and reads what the channel would read.
"""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from gateways import site_recovery_calls
from gateways.agent_auth import AGENT_AUTH_HEADER, CLIENT_REQUEST_ID_HEADER, verify
from sandbox import arm_world
from sandbox.arm_emulator import ArmEmulator, RecordedRequest
from sandbox.arm_world import World
from sandbox.local_bot import SIGNING_SECRET, LocalBot
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import Message, SlackEmulator
from store.models import Run, RunStatus, utcnow
from tests.integration.conftest import (
    APPROVER,
    CHANNEL,
    COMMAND,
    REQUESTER,
    BotFactory,
    approve,
    buttons,
    progress_history,
    reprotect_posts,
    settle,
    wait_root,
    wait_summary,
)
from tracking import machine, runner

pytestmark = pytest.mark.slow  # a whole bot per test: `pytest -m "not slow"` leaves them out


def start(start_bot: BotFactory, slack: SlackEmulator) -> tuple[LocalBot, SlackDriver]:
    bot = start_bot()
    return bot, SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)


def request_approved(driver: SlackDriver, slack: SlackEmulator) -> Message:
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    approve(driver, slack, root, APPROVER)
    return root


def texts(slack: SlackEmulator, root: Message) -> list[str]:
    return [m.text for m in slack.thread(CHANNEL, root.ts)]


def wait_text(slack: SlackEmulator, root: Message, *parts: str, timeout: float = 30) -> str:
    """The first thread reply containing every part."""
    slack.wait_for(lambda s: any(all(p in t for p in parts) for t in texts(s, root)),
                   timeout=timeout)
    return next(t for t in texts(slack, root) if all(p in t for p in parts))


def posts_of(arm: ArmEmulator, vm: str) -> list[RecordedRequest]:
    return [r for r in reprotect_posts(arm) if f"/{vm}/" in r.path.lower()]


def restarts(arm: ArmEmulator) -> list[RecordedRequest]:
    return [r for r in arm.requests if r.method == "POST" and r.path.lower().endswith("/restart")]


# -- 1. names and defaults ---------------------------------------------------------------------


def test_names_are_case_insensitive_defaults_explained_foreign_values_refused(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    bot, driver = start(start_bot, slack)
    driver.slash_command('plan="FINANCE TIER 1" master=AVS-MT-01', user_id=REQUESTER,
                         channel_id=CHANNEL)
    root = wait_root(slack)
    shown = str(root.blocks)
    assert buttons(root)[0] == "Approve"
    assert "azure-ps-01" in shown and "replication pairs" in shown
    assert "vsan-avs-01" in shown and "most free space" in shown and "`R:`" in shown

    driver.slash_command('plan=finance-rp master=avs-mt-01 datastore=vmfs-avs-04 retention=T:',
                         user_id=REQUESTER, channel_id=CHANNEL)
    slack.wait_for(lambda s: len(s.messages(CHANNEL)) >= 2)
    refused = slack.messages(CHANNEL)[1]
    shown = str(refused.blocks)
    assert buttons(refused) == []
    assert "datastore=vmfs-avs-04" in shown and "vsan-avs-01" in shown and "vmfs-avs-02" in shown
    assert "retention=T:" in shown and "`R:`" in shown and "`S:`" in shown
    settle(bot)
    assert not reprotect_posts(arm)


# -- 2. plans and multi-VM consistency groups -----------------------------------------------


def test_multi_vm_group_goes_whole_through_one_master_target(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    world = arm.world
    for name in ("vm-sql-01", "vm-sql-02"):
        world.add_item(name, multi_vm_group_name="sql-group")
    world.add_item("vm-web-01")
    world.add_plan("sql-rp", friendly_name="SQL tier", items=["vm-sql-01", "vm-sql-02",
                                                              "vm-web-01"])
    _, driver = start(start_bot, slack)
    driver.slash_command('plan="SQL tier" master=avs-mt-01 vm=sql-01', user_id=REQUESTER,
                         channel_id=CHANNEL)
    narrowed = wait_root(slack)
    assert buttons(narrowed) == [] and "group-same-mt" in str(narrowed.blocks)

    driver.slash_command('plan="SQL tier" master=avs-mt-01', user_id=REQUESTER,
                         channel_id=CHANNEL)
    slack.wait_for(lambda s: len(s.messages(CHANNEL)) >= 2)
    root = slack.messages(CHANNEL)[1]
    approve(driver, slack, root, APPROVER)
    thread = [m.text for m in wait_summary(slack, root)]
    assert "3/3 protected" in thread[-1]
    posts = reprotect_posts(arm)
    masters = {p.body["properties"]["providerSpecificDetails"]["masterTargetId"] for p in posts}
    assert len(posts) == 3 and len(masters) == 1
    assert not any("replicationrecoveryplans" in r.path.lower() and r.method == "POST"
                   for r in arm.requests), "plan-level reprotect does not work for InMage"


# -- 3 and 10. failback policy and vault extended info are preflight blockers ----------------


def test_missing_failback_policy_blocks_and_missing_extended_info_warns_with_fixes(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    world = arm.world
    mapping = next(k for k in world.resources if k.endswith("cs01-vmware-azure-policy-failback"))
    del world.resources[mapping]
    world.integrity_key = None
    bot, driver = start(start_bot, slack)
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    shown = str(root.blocks)
    assert buttons(root) == []
    assert "failback-policy" in shown and "No failback (InMage) policy" in shown
    assert "vault-signing" in shown and "extendedInformation/vaultExtendedInfo" in shown
    settle(bot)
    assert not reprotect_posts(arm)


def test_without_extended_info_reprotects_go_unsigned_like_the_sdk_and_cli(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    """Whether Site Recovery needs PowerShell's signature is undocumented: a vault without
    extended information is a warning, not a reason to block a failback."""
    arm.world.integrity_key = None
    _, driver = start(start_bot, slack)
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    assert "vault-signing" in str(root.blocks) and "Approve" in buttons(root)
    approve(driver, slack, root, APPROVER)
    assert "3/3 protected" in wait_summary(slack, root)[-1].text
    posts = reprotect_posts(arm)
    assert len(posts) == 3
    assert all(AGENT_AUTH_HEADER.lower() not in {h.lower() for h in p.headers} for p in posts)


# -- 4 and 10. failures with their fix, Retry under the approval rules, signed writes ---------


def test_failed_job_reports_every_error_and_retry_restarts_it_once(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    arm.world.set_reprotect_failure(
        "vm-app-02", code="78052", message="Protection couldn't be completed.",
        possible_causes="A VM with the same name already exists on the master target's host.",
        recommended_action="Rename the VM or use another master target.",
        provider_code=31389, provider_message="Duplicate VM name on ESXi host.", at_task=3)
    _, driver = start(start_bot, slack)
    root = request_approved(driver, slack)
    failure = wait_text(slack, root, "app-02", "failed")
    for part in ("78052", "Protection couldn't be completed", "same name already exists",
                 "Rename the VM", "31389", "Duplicate VM name", "vMotion the master target",
                 "Starting replication"):
        assert part in failure, part
    assert "2/3 protected" in wait_summary(slack, root)[-1].text
    message = next(m for m in slack.thread(CHANNEL, root.ts) if "app-02" in m.text
                   and "failed" in m.text)
    assert buttons(message) == ["Retry"]

    driver.click(message, "Retry", user_id=REQUESTER, channel_id=CHANNEL)
    slack.wait_for(lambda s: bool(s.ephemerals(REQUESTER)))
    assert "own request" in slack.ephemerals(REQUESTER)[-1].params["text"]
    assert restarts(arm) == []

    driver.click(message, "Retry", user_id=APPROVER, channel_id=CHANNEL)
    wait_text(slack, root, "approved a retry", "app-02")
    slack.wait_for(lambda s: texts(s, root)[-1].count("3/3 protected") == 1, timeout=30)
    driver.click(message, "Retry", user_id=APPROVER, channel_id=CHANNEL)
    slack.wait_for(lambda s: any("Nothing to retry" in e.params["text"]
                                 for e in s.ephemerals(APPROVER)))
    assert len(restarts(arm)) == 1 and len(posts_of(arm, "vm-app-02")) == 1
    key = arm.world.integrity_key
    assert key is not None
    for write in [*reprotect_posts(arm), *restarts(arm)]:
        request_id = write.headers.get(CLIENT_REQUEST_ID_HEADER)
        assert request_id and request_id.endswith("Z-Ps")
        assert verify(key, write.headers[AGENT_AUTH_HEADER], request_id, utcnow()) is None


def test_a_token_signed_with_another_key_is_refused_and_told(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    _, driver = start(start_bot, slack)
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)  # the preflight read (and cached) the vault's key
    arm.world.integrity_key = "rotated-key"
    approve(driver, slack, root, APPROVER)
    failure = wait_text(slack, root, "app-01", "failed")
    assert "AgentAuthenticationFailed" in failure and "HMAC" in failure
    assert arm.world.reprotect_posts == []


def test_task_progress_suspended_and_cancelled_jobs(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    world = arm.world
    world.task_seconds = 1.0
    _, driver = start(start_bot, slack)
    root = request_approved(driver, slack)
    slack.wait_for(lambda s: len(world.jobs) == 3, timeout=20)
    by_vm = {job.item_name: job.name for job in world.jobs.values()}
    world.halt_job(by_vm["vm-app-01"], "Suspended")
    world.job_action(by_vm["vm-app-02"], "cancel")
    suspended = wait_text(slack, root, "app-01", "suspended", "manual action")
    assert "Resume-AzRecoveryServicesAsrJob" in suspended
    cancelled = wait_text(slack, root, "app-02", "cancelled")
    assert "Stop-AzRecoveryServicesAsrJob" in cancelled
    world.job_action(by_vm["vm-app-01"], "resume")
    final = wait_summary(slack, root)[-1].text
    assert "2/3 protected" in final and "1 failed (`app-02`)" in final
    # The failure and the summary reach the channel too, not only the thread's followers.
    in_channel = [m.text for m in slack.channel_view(CHANNEL)]
    assert final in in_channel and any(cancelled in t for t in in_channel)
    # While it ran, the one progress message said each VM's task in words, not API spellings.
    history = progress_history(slack)
    assert any("`app-01` — running: Preparing for reprotect (step " in t for t in history)
    assert not any("InProgress" in t for t in history)
    progress = [t for t in texts(slack, root) if "*Progress*" in t]
    assert len(progress) == 1 and "`app-02` — cancelled" in progress[0]
    assert "`app-01` — protected" in progress[0] and "`app-03` — protected" in progress[0]


# -- 5. until protected --------------------------------------------------------------------


def test_succeeded_job_waits_for_protected_then_says_time_ran_out(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    arm.world.hold_protection("vm-app-03", [{
        "errorCode": "78122", "errorMessage": "Initial replication is not progressing.",
        "recommendedAction": "Check the process server's throughput and free space.",
        "errorLevel": "Error", "creationTimeUtc": "2026-01-01T00:00:00Z"}])
    bot, driver = start(start_bot, slack)
    root = request_approved(driver, slack)
    health = wait_text(slack, root, "app-03", "not protected yet")
    assert "78122" in health and "process server's throughput" in health
    assert services(bot)
    with Session(services(bot)) as session:
        run = session.exec(select(Run).where(col(Run.vm_name) == "app-03")).one()
        assert run.status == RunStatus.SYNCING
        session.execute(update(Run).where(col(Run.id) == run.id).values(
            started_at=utcnow() - timedelta(minutes=721)))
        session.commit()
    timed_out = wait_text(slack, root, "app-03", "Time ran out")
    assert "Initial replication in progress" in timed_out and "78122" in timed_out
    final = wait_summary(slack, root)[-1].text
    assert "2/3 protected" in final and "1 timed out" in final


def services(bot: LocalBot) -> Any:
    assert bot.services is not None
    return bot.services.engine


# -- 6. agent re-registration ------------------------------------------------------------------


@pytest.fixture
def quick_agent_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine, "AGENT_BACKOFF", timedelta(seconds=0.3))
    monkeypatch.setattr(machine, "AGENT_BACKOFF_MAX", timedelta(seconds=0.6))


def test_agent_reregistration_is_waited_out_without_a_new_approval(
        quick_agent_backoff: None, start_bot: BotFactory, slack: SlackEmulator,
        arm: ArmEmulator) -> None:
    arm.world.set_agent_unregistered("vm-app-01", 2.5, as_job=False)
    arm.world.set_agent_unregistered("vm-app-02", 2.5, as_job=True)
    _, driver = start(start_bot, slack)
    root = request_approved(driver, slack)
    for vm in ("app-01", "app-02"):
        waiting = wait_text(slack, root, vm, "waiting for the agent to re-register")
        assert "isn't installed" in waiting and "no new approval" in waiting
    final = wait_summary(slack, root, timeout=60)[-1].text
    assert "3/3 protected" in final
    assert len(posts_of(arm, "vm-app-01")) >= 2, "refused POSTs are sent again"
    assert len(posts_of(arm, "vm-app-02")) == 1 and len(restarts(arm)) >= 1
    assert sum("waiting for the agent to re-register" in t for t in texts(slack, root)) == 2


def test_agent_that_never_registers_is_reported(
        quick_agent_backoff: None, monkeypatch: pytest.MonkeyPatch, start_bot: BotFactory,
        slack: SlackEmulator, arm: ArmEmulator) -> None:
    monkeypatch.setattr(machine, "AGENT_WAIT", timedelta(seconds=2))
    arm.world.set_agent_unregistered("vm-app-01", 3600, as_job=False)
    _, driver = start(start_bot, slack)
    root = request_approved(driver, slack)
    failure = wait_text(slack, root, "app-01", "did not re-register")
    assert "InMage Scout" in failure and "9443" in failure
    final = wait_summary(slack, root)[-1].text
    assert "2/3 protected" in final and "1 failed" in final


# -- 7. faults --------------------------------------------------------------------------------


def test_reprotect_answered_500_after_it_started_is_not_sent_again(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    arm.fail_next("POST", r"/vm-app-01/reProtect$", 500, processed=True)
    arm.fail_next("POST", r"/vm-app-02/reProtect$", 503)
    _, driver = start(start_bot, slack)
    root = request_approved(driver, slack)
    assert "3/3 protected" in wait_summary(slack, root)[-1].text
    assert len(posts_of(arm, "vm-app-01")) == 1, "the job started: adopted, not resent"
    assert len(posts_of(arm, "vm-app-02")) == 2, "refused before it started: resent once"
    accepted = [name for name, _ in arm.world.reprotect_posts]
    assert sorted(accepted) == ["vm-app-01", "vm-app-02", "vm-app-03"]


def test_a_lost_answer_adopts_the_job_whatever_its_scenario_name(
        monkeypatch: pytest.MonkeyPatch, start_bot: BotFactory, slack: SlackEmulator,
        arm: ArmEmulator) -> None:
    """The scenario name of an item's reprotect job is not pinned by any public source: the
    job on the item that started since the submission is the one, whatever its name, even
    when it has already ended by the time the bot looks."""
    monkeypatch.setattr(arm_world, "REPROTECT_SCENARIO", "ReprotectToOnPremises")
    world = arm.world
    world.task_seconds = 0.05
    world.hold_protection("vm-app-01")
    arm.fail_next("POST", r"/vm-app-01/reProtect$", 500, processed=True)
    _, driver = start(start_bot, slack)
    root = request_approved(driver, slack)
    slack.wait_for(lambda s: len(world.jobs) == 3, timeout=20)
    job = next(j.name for j in world.jobs.values() if j.item_name == "vm-app-01")
    wait_text(slack, root, "app-01", job)
    world.release_protection("vm-app-01")
    assert "3/3 protected" in wait_summary(slack, root)[-1].text
    assert len(posts_of(arm, "vm-app-01")) == 1
    assert not any("failed" in t for t in texts(slack, root))


@pytest.fixture
def late_answers(monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    """Seconds by which the answer to a VM's reprotect POST is held up on its way back, after
    Site Recovery took it (the emulator answers inside its lock: the delay comes after).
    Request it before `arm`, whose handler it patches."""
    delays: dict[str, float] = {}
    handle = ArmEmulator._handle_arm

    def late(self: ArmEmulator, call: Any) -> Any:
        reply = handle(self, call)
        for vm, seconds in delays.items():
            if call.method == "POST" and call.path.lower().endswith(f"/{vm}/reprotect"):
                time.sleep(seconds)
        return reply

    monkeypatch.setattr(ArmEmulator, "_handle_arm", late)
    return delays


def test_a_reprotect_answer_that_does_not_come_is_given_up_and_its_job_adopted(
        late_answers: dict[str, float], monkeypatch: pytest.MonkeyPatch,
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    """A write waits for its answer only as long as its own timeouts (azure-core's default
    read timeout of 300 s would outlive the run's lease), then the item is looked at."""
    # raising=False: without write timeouts the test fails on what the user sees, not a name
    monkeypatch.setattr(site_recovery_calls, "WRITE_TIMEOUTS", (5.0, 0.5))
    late_answers["vm-app-01"] = 20
    _, driver = start(start_bot, slack)
    root = request_approved(driver, slack)
    assert "3/3 protected" in wait_summary(slack, root, timeout=15)[-1].text
    assert len(posts_of(arm, "vm-app-01")) == 1


def test_throttling_storm_is_survived(start_bot: BotFactory, slack: SlackEmulator,
                                      arm: ArmEmulator) -> None:
    arm.fail_next("GET", r"/replicationJobs$", 429, headers={"Retry-After": "1"}, count=8)
    arm.fail_next("GET", r"/replicationProtectedItems$", 429, headers={"Retry-After": "1"},
                  count=3)
    arm.fail_next("GET", r"/replicationJobs/[^/]+$", 503, count=3)
    _, driver = start(start_bot, slack)
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    arm.set_throttle(read=(6, 3.0), write=(2, 1.0))
    approve(driver, slack, root, APPROVER)
    assert "3/3 protected" in wait_summary(slack, root, timeout=90)[-1].text
    assert arm.throttled > 0
    assert len(arm.world.reprotect_posts) == 3


def test_expired_token_is_reported_as_an_authentication_problem(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    expired = {"error": {"code": "ExpiredAuthenticationToken",
                         "message": "The access token has expired."}}
    _, driver = start(start_bot, slack)
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    arm.fail_next("GET", r"/replicationJobs", 401, body=expired, count=3)
    approve(driver, slack, root, APPROVER)
    told = wait_text(slack, root, "Authentication problem")
    assert "ExpiredAuthenticationToken" in told and "AZURE_CLIENT_SECRET" in told
    wait_text(slack, root, "accepts the bot's token again")
    assert "3/3 protected" in wait_summary(slack, root)[-1].text
    assert sum("Authentication problem" in t for t in texts(slack, root)) == 1


# -- 2 and 8. a 100-VM plan, with reads per tick that do not grow with it -------------------


@pytest.fixture
def world(request: pytest.FixtureRequest) -> World:
    """The sample vault with `param` VMs in its plan (3 unless a test asks for more)."""
    return World.sample(getattr(request, "param", 3), task_seconds=0.2,
                        protect_delay_seconds=0.2)


@pytest.mark.parametrize("world", [100], indirect=True)
def test_hundred_vm_plan_is_reprotected_with_bounded_reads(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    bot, driver = start(start_bot, slack)
    root = request_approved(driver, slack)
    engine = services(bot)

    def protected() -> int:
        with Session(engine) as session:
            return len(session.exec(select(Run).where(
                Run.status == RunStatus.PROTECTED)).all())

    slack.wait_for(lambda s: protected() == 100, timeout=120)
    assert len(reprotect_posts(arm)) == 100 and len(arm.world.reprotect_posts) == 100
    lists = [r for r in arm.requests if r.method == "GET"
             and r.path.lower().endswith("/replicationjobs") and "$skiptoken" not in r.query]
    job_reads = [r for r in arm.requests if r.method == "GET"
                 and re.search(r"/replicationjobs/[^/]+$", r.path.lower())]
    item_reads = [r for r in arm.requests if r.method == "GET"
                  and re.search(r"/replicationprotecteditems/[^/]+$", r.path.lower())]
    assert lists and len(job_reads) <= runner.JOB_READS_PER_TICK * len(lists)
    assert len(item_reads) < 100, "items waiting for Protected are listed, not read one by one"
    assert "Values that will be sent" in str(root.blocks)
    started = wait_text(slack, root, "Reprotect started")
    assert json.dumps(started).count("job `") >= 1


def test_jobs_are_read_one_by_one_when_the_job_list_fails(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    arm.fail_next("GET", r"/replicationJobs$", 503, count=10_000)
    _, driver = start(start_bot, slack)
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    approve(driver, slack, root, APPROVER)
    assert "3/3 protected" in wait_summary(slack, root)[-1].text
    single_reads = [r for r in arm.requests if r.method == "GET"
                    and "/replicationjobs/" in r.path.lower()]
    assert single_reads, "the per-job fallback was used"
