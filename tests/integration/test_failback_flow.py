"""`/failback` end to end over real HTTP: Bolt and slack_sdk against the Slack emulator, the
Azure SDK against the ARM emulator. From plans protected to AVS (`finance-rp` classic,
`web-rp` modernized), each reaches `3/3 failed back` with ONE write on the recovery plan;
a VM not ready blocks with its name and reason; classic `vm=` is refused with nothing sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sandbox.arm_emulator import ArmEmulator
from sandbox.arm_failback import set_failback_failure
from sandbox.arm_journey import Stage, journey_sample
from sandbox.arm_modernized import ModernizedWorld
from sandbox.local_bot import SIGNING_SECRET, LocalBot
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator
from tests.integration.conftest import (
    APPROVER,
    CHANNEL,
    REQUESTER,
    approve,
    buttons,
    roots,
    settle,
    wait_root,
    wait_summary,
)
from tests.integration.processes import BotProcess, bot_env

FAILBACK = "/failback"
CLASSIC = "plan=finance-rp"
MODERNIZED = "plan=web-rp"


@pytest.fixture
def world() -> ModernizedWorld:
    return journey_sample(Stage.PROTECTED_TO_AVS, task_seconds=0.2, protect_delay_seconds=0.2)


def writes(arm: ArmEmulator) -> list[Any]:
    """Every POST the bot sent to Site Recovery (failovers, on plans or items)."""
    return [r for r in arm.requests if r.method == "POST" and "failover" in r.path.lower()]


def item(arm: ArmEmulator, name: str) -> dict[str, Any]:
    return next(i for i in arm.world.of_type("replicationProtectedItems") if i["name"] == name)


def test_classic_plan_fails_back_in_one_unplanned_failover(
        driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    answer = driver.slash_command(CLASSIC, command=FAILBACK, user_id=REQUESTER,
                                  channel_id=CHANNEL)
    assert answer.status_code == 200 and answer.json()["response_type"] == "ephemeral"
    root = wait_root(slack)
    assert buttons(root) == ["Approve", "Reject", "Cancel"]
    shown = str(root.blocks)
    assert root.blocks[0]["text"]["text"].split("\n")[1].startswith("Failback #")
    for value in ("unplannedFailover on the recovery plan", "`RecoveryToPrimary`", "`InMage`",
                  "`NotRequired`", "`LatestTime`", "application is down",
                  "Latest recovery point of each VM", "min old"):
        assert value in shown, value
    assert not writes(arm), "nothing may be sent before approval"

    approve(driver, slack, root, APPROVER)
    texts = [m.text for m in wait_summary(slack, root)]
    for vm in ("app-01", "app-02", "app-03"):
        assert any(vm in t and "failed back" in t for t in texts), f"no failed back for {vm}"
    assert "Summary" in texts[-1] and "3/3 failed back" in texts[-1]
    assert "/failback commit" in texts[-1]
    posts = writes(arm)
    assert len(posts) == 1
    assert posts[0].path.lower().endswith("/replicationrecoveryplans/finance-rp/unplannedfailover")
    properties = posts[0].body["properties"]
    assert properties["failoverDirection"] == "RecoveryToPrimary"
    assert properties["providerSpecificDetails"] == [
        {"instanceType": "InMage", "recoveryPointType": "LatestTime"}]
    assert "Commit" in item(arm, "vm-app-01")["properties"]["allowedOperations"]


def test_modernized_plan_fails_back_in_one_planned_failover(
        driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    driver.slash_command(MODERNIZED + " point=consistent", command=FAILBACK, user_id=REQUESTER,
                         channel_id=CHANNEL)
    root = wait_root(slack)
    assert buttons(root) == ["Approve", "Reject", "Cancel"]
    shown = str(root.blocks)
    for value in ("plannedFailover on the recovery plan", "`InMageRcmFailback`",
                  "`ApplicationConsistent`", "Multi-VM sync point: `True`"):
        assert value in shown, value
    approve(driver, slack, root, APPROVER)
    texts = [m.text for m in wait_summary(slack, root)]
    assert "3/3 failed back" in texts[-1]
    assert "/failback commit" in texts[-1] and "/failback cancel" in texts[-1]
    posts = writes(arm)
    assert len(posts) == 1
    assert posts[0].path.lower().endswith("/replicationrecoveryplans/web-rp/plannedfailover")
    assert posts[0].body["properties"]["providerSpecificDetails"] == [
        {"instanceType": "InMageRcmFailback", "recoveryPointType": "ApplicationConsistent",
         "useMultiVmSyncPoint": "True"}]


def test_modernized_vms_fail_back_one_planned_failover_each(
        driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    driver.slash_command(MODERNIZED + " vm=web-01,web-03", command=FAILBACK,
                         user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    assert "plannedFailover on each VM" in str(root.blocks)
    approve(driver, slack, root, APPROVER)
    texts = [m.text for m in wait_summary(slack, root)]
    assert "2/2 failed back" in texts[-1]
    posts = writes(arm)
    assert sorted(p.path.lower().split("/replicationprotecteditems/")[1] for p in posts) == [
        "vm-web-01/plannedfailover", "vm-web-03/plannedfailover"]
    assert all(p.body["properties"]["providerSpecificDetails"] == {
        "instanceType": "InMageRcmFailback", "recoveryPointType": "CrashConsistent"}
        for p in posts)
    assert "PlannedFailover" in item(arm, "vm-web-02")["properties"]["allowedOperations"]


def test_a_vm_not_ready_blocks_with_its_name_and_reason(
        bot: LocalBot, driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    busy = item(arm, "vm-app-02")["properties"]
    busy["allowedOperations"] = ["DisableProtection"]
    busy["currentScenario"] = {"scenarioName": "ReverseReplication", "jobId": "job-1"}
    driver.slash_command(CLASSIC, command=FAILBACK, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    assert buttons(root) == []
    shown = str(root.blocks)
    assert "failback-ready" in shown and "`app-02`" in shown
    assert "A Site Recovery job is running on it (`ReverseReplication`)" in shown
    assert "`UnplannedFailover` is not listed" in shown
    settle(bot)
    assert not writes(arm)


def test_classic_vm_form_is_refused_privately_and_sends_nothing(
        bot: LocalBot, driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    driver.slash_command(CLASSIC + " vm=app-01", command=FAILBACK, user_id=REQUESTER,
                         channel_id=CHANNEL)
    slack.wait_for(lambda s: bool(s.ephemerals(REQUESTER)), timeout=20)
    text = slack.ephemerals(REQUESTER)[-1].params["text"]
    assert "classic architecture" in text and "direction" in text
    assert "nothing was sent" in text and "`/failback plan=\"Finance tier 1\"`" in text
    settle(bot)
    assert slack.messages(CHANNEL) == []
    assert not writes(arm)


@pytest.mark.parametrize(("text", "says"), [
    ("point=latest", "`plan` is required"),
    ("plan=finance-rp point=yesterday", "it takes `latest` or `consistent`"),
    ("plan=finance-rp master=avs-mt-01", "Unknown key `master`"),
    ("plan=finance-rp plan=web-rp", "`plan` is given twice"),
    ("plan=", "`plan` has an empty value"),
])
def test_usage_errors_are_private_and_record_nothing(
        bot: LocalBot, driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator, text: str,
        says: str) -> None:
    answer = driver.slash_command(text, command=FAILBACK, user_id=REQUESTER, channel_id=CHANNEL)
    said = answer.json()
    assert said["response_type"] == "ephemeral"
    assert says in said["text"] and "/failback plan=<recovery plan>" in said["text"]
    settle(bot)
    assert slack.messages(CHANNEL) == [] and not writes(arm)


def test_slack_retry_of_a_failback_makes_one_request(bot: LocalBot, driver: SlackDriver,
                                                     slack: SlackEmulator) -> None:
    first = driver.slash_command(CLASSIC, command=FAILBACK, user_id=REQUESTER,
                                 channel_id=CHANNEL, trigger_id="trig.fb")
    again = driver.slash_command(CLASSIC, command=FAILBACK, user_id=REQUESTER,
                                 channel_id=CHANNEL, trigger_id="trig.fb", retry_num=1)
    assert first.status_code == again.status_code == 200
    assert "Already received" in again.json()["text"]
    wait_root(slack)
    settle(bot)
    assert len(roots(slack)) == 1


def test_classic_failure_8038_is_reported_with_its_fix(
        driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    set_failback_failure(arm.world, "vm-app-02")
    driver.slash_command(CLASSIC, command=FAILBACK, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    approve(driver, slack, root, APPROVER)
    texts = [m.text for m in wait_summary(slack, root)]
    failure = next(t for t in texts if "app-02" in t and "failed." in t)
    assert "8038" in failure and "vMotion the VM to a host with enough free memory" in failure
    assert "cancel" not in failure.lower()  # classic failback has no automatic cancel
    assert len(writes(arm)) == 1


def test_modernized_failure_is_reported_as_cancelled_by_site_recovery(
        bot: LocalBot, driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    """A failed planned failover: Site Recovery cancels it by itself (failback.md §4); the
    thread says so, and what to do, and the bot sends nothing more."""
    set_failback_failure(arm.world, "vm-web-02", code="28190",
                         message="The virtual machine is powered on in the private cloud.")
    driver.slash_command(MODERNIZED, command=FAILBACK, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    approve(driver, slack, root, APPROVER)
    texts = [m.text for m in wait_summary(slack, root)]
    failures = [t for t in texts if t.startswith(":x:")]
    assert failures and all("28190" in t for t in failures)
    assert all("Site Recovery cancelled this failed failback by itself" in t
               or "Site Recovery is cancelling this failed failback by itself" in t
               for t in failures)
    assert all("Do not disable replication" in t for t in failures)
    assert "0/3 failed back" in texts[-1]
    settle(bot)
    assert len(writes(arm)) == 1


@pytest.mark.parametrize(("command", "path"), [
    (CLASSIC, "/replicationrecoveryplans/finance-rp/unplannedfailover"),
    (MODERNIZED, "/replicationrecoveryplans/web-rp/plannedfailover"),
])
def test_killed_during_failback_resumes_without_a_second_write(
        slack: SlackEmulator, arm: ArmEmulator, tmp_path: Path, command: str,
        path: str) -> None:
    """The bot process dies while Site Recovery runs the failback; the next one follows the
    same job to `3/3 failed back` and never sends the failover again."""
    arm.world = journey_sample(Stage.PROTECTED_TO_AVS, task_seconds=1.0,
                               protect_delay_seconds=0.5)
    env = bot_env(slack_api_url=slack.api_url, arm_env=arm.env(),
                  database_url=f"sqlite:///{tmp_path / 'bot.db'}", approvers=APPROVER)
    first = BotProcess(env, tmp_path / "bot.log")
    try:
        first.wait_healthy()
        driver = SlackDriver(first.events_url, SIGNING_SECRET, emulator=slack)
        driver.slash_command(command, command=FAILBACK, user_id=REQUESTER, channel_id=CHANNEL)
        root = wait_root(slack)
        approve(driver, slack, root, APPROVER)
        slack.wait_for(lambda s: any("Failback started" in m.text
                                     for m in s.thread(CHANNEL, root.ts)), timeout=30)
        assert not any("Summary" in m.text for m in slack.thread(CHANNEL, root.ts))
    finally:
        first.kill()
        first.close()
    second = BotProcess(env, tmp_path / "bot.log")
    try:
        second.wait_healthy()
        texts = [m.text for m in wait_summary(slack, root, timeout=120)]
    finally:
        second.close()
    assert "3/3 failed back" in texts[-1]
    assert sum("Summary" in t for t in texts) == 1
    posts = writes(arm)
    assert len(posts) == 1 and posts[0].path.lower().endswith(path)
