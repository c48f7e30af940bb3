"""`/reprotect` end to end over real HTTP: Bolt, slack_sdk, the Azure SDK and azure-identity."""

from __future__ import annotations

import re
import threading
import time

import pytest

from sandbox.arm_emulator import ArmEmulator
from sandbox.local_bot import LocalBot
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator
from tests.integration.conftest import (
    APPROVER,
    CHANNEL,
    COMMAND,
    GROUP_MEMBERS,
    OUTSIDER,
    REQUESTER,
    BotFactory,
    approve,
    buttons,
    confirm,
    reprotect_posts,
    settle,
    wait_root,
    wait_summary,
)

pytestmark = pytest.mark.slow  # a whole bot per test: `pytest -m "not slow"` leaves them out

GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def test_happy_path_three_vms_protected(driver: SlackDriver, slack: SlackEmulator,
                                        arm: ArmEmulator) -> None:
    answer = driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    assert answer.status_code == 200
    assert "Checking plan" in answer.json()["text"]
    assert answer.json()["response_type"] == "ephemeral"

    root = wait_root(slack)
    assert buttons(root) == ["Approve", "Reject", "Cancel"]
    shown = str(root.blocks)
    for value in ("avs-mt-01", "azure-ps-01", "R:", "Finance tier 1"):
        assert value in shown
    assert not reprotect_posts(arm), "nothing may be sent before approval"

    approve(driver, slack, root, APPROVER)
    thread = wait_summary(slack, root)

    updated = slack.messages(CHANNEL)[0]
    assert f"<@{APPROVER}>" in str(updated.blocks) and buttons(updated) == []
    texts = [m.text for m in thread]
    started = next(t for t in texts if "Reprotect started" in t)
    posted_jobs = set(GUID.findall(started))
    assert posted_jobs == {job.lower() for job in arm.world.jobs} and len(posted_jobs) == 3
    for vm in ("app-01", "app-02", "app-03"):
        assert any(vm in t and "protected" in t for t in texts), f"no protected reply for {vm}"
    assert "Summary" in texts[-1] and "3/3 protected" in texts[-1]

    fabric = arm.world.fabric()
    mt = next(m for m in fabric["properties"]["customDetails"]["masterTargetServers"]
              if m["name"] == "avs-mt-01")
    policy = arm.world.policy("InMage")
    posts = reprotect_posts(arm)
    assert len(posts) == 3
    for post in posts:
        details = post.body["properties"]["providerSpecificDetails"]
        assert post.body["properties"]["failoverDirection"] == "RecoveryToPrimary"
        assert details["instanceType"] == "InMage"
        assert details["masterTargetId"] == mt["id"]
        assert details["retentionDrive"] == "R:"
        assert details["datastoreName"] == "vsan-avs-01"
        assert details["profileId"] == policy["id"]
        assert details["processServerId"].endswith(
            next(p["id"] for p in fabric["properties"]["customDetails"]["processServers"]
                 if p["friendlyName"] == "azure-ps-01"))


@pytest.mark.parametrize(("text", "says"), [
    ("plan=x", "`master` is required"),
    ("master=y", "`plan` is required"),
    ("plan=x master=y colour=red", "Unknown key `colour`"),
    ("plan=x plan=z master=y", "given twice"),
    ("plan= master=y", "empty value"),
    ("plan=x master=y appliance=z", "`master` and `appliance` are both given"),
    ("plan=x appliance=z ps=p", "`ps` goes with `master=`"),
])
def test_bad_input_gets_ephemeral_usage_and_nothing_else(
        text: str, says: str, bot: LocalBot, driver: SlackDriver, slack: SlackEmulator,
        arm: ArmEmulator) -> None:
    answer = driver.slash_command(text, user_id=REQUESTER, channel_id=CHANNEL)
    assert answer.status_code == 200
    body = answer.json()
    assert body["response_type"] == "ephemeral"
    assert says in body["text"] and "/reprotect plan=" in body["text"]
    settle(bot)
    assert slack.messages(CHANNEL) == []
    assert not reprotect_posts(arm)


def test_unknown_plan_is_told_privately_with_suggestions(
        bot: LocalBot, driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    driver.slash_command('plan="Finance tier 2" master=avs-mt-01', user_id=REQUESTER,
                         channel_id=CHANNEL)
    slack.wait_for(lambda s: bool(s.ephemerals(REQUESTER)))
    text = slack.ephemerals(REQUESTER)[-1].params["text"]
    assert "`Finance tier 2` is not in the vault" in text and "Finance tier 1" in text
    settle(bot)
    assert slack.messages(CHANNEL) == []
    assert not reprotect_posts(arm)


def test_unknown_master_target_blocks_without_approve(
        bot: LocalBot, driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    driver.slash_command('plan="Finance tier 1" master=avs-mt-99', user_id=REQUESTER,
                         channel_id=CHANNEL)
    root = wait_root(slack)
    assert buttons(root) == []
    shown = str(root.blocks)
    assert "avs-mt-99" in shown and "mt-exists" in shown and "avs-mt-01" in shown
    settle(bot)
    assert not reprotect_posts(arm)


def test_requester_and_non_approver_are_refused(bot: LocalBot, driver: SlackDriver,
                                                slack: SlackEmulator,
                                                arm: ArmEmulator) -> None:
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    driver.click(root, "Approve", user_id=REQUESTER, channel_id=CHANNEL)
    driver.click(root, "Approve", user_id=OUTSIDER, channel_id=CHANNEL)
    slack.wait_for(lambda s: bool(s.ephemerals(REQUESTER)) and bool(s.ephemerals(OUTSIDER)))
    assert "own request" in slack.ephemerals(REQUESTER)[-1].params["text"]
    assert "not an approver" in slack.ephemerals(OUTSIDER)[-1].params["text"]
    settle(bot)
    assert slack.messages(CHANNEL)[0].edits == 0
    assert buttons(slack.messages(CHANNEL)[0]) == ["Approve", "Reject", "Cancel"]
    assert not reprotect_posts(arm)


def test_slack_connect_user_cannot_approve(bot: LocalBot, driver: SlackDriver, slack: SlackEmulator,
                                           arm: ArmEmulator) -> None:
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    driver.click(root, "Approve", user_id=APPROVER, channel_id=CHANNEL,
                 user_team_id="T0OTHERORG")
    slack.wait_for(lambda s: bool(s.ephemerals(APPROVER)))
    assert "workspace" in slack.ephemerals(APPROVER)[-1].params["text"]
    settle(bot)
    assert not reprotect_posts(arm)


def test_reject_removes_buttons_and_sends_nothing(bot: LocalBot, driver: SlackDriver,
                                                  slack: SlackEmulator,
                                                  arm: ArmEmulator) -> None:
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    driver.click(root, "Reject", user_id=APPROVER, channel_id=CHANNEL)
    slack.wait_for(lambda s: any(c.method == "views.open" for c in s.calls))
    modal = next(c for c in slack.calls if c.method == "views.open").params["view"]
    empty = driver.submit_view(modal, {"reason": {"reason_input": ""}}, user_id=APPROVER)
    assert empty.json()["response_action"] == "errors"
    driver.submit_view(modal, {"reason": {"reason_input": "MT has a snapshot"}},
                       user_id=APPROVER)
    slack.wait_for(lambda s: s.messages(CHANNEL)[0].edits > 0
                   and bool(s.thread(CHANNEL, root.ts)))
    updated = slack.messages(CHANNEL)[0]
    assert buttons(updated) == [] and "*Rejected* by <@U0BOB>" in str(updated.blocks)
    assert "MT has a snapshot" in str(updated.blocks)
    assert "MT has a snapshot" in slack.thread(CHANNEL, root.ts)[-1].text
    settle(bot)
    assert not reprotect_posts(arm)


def test_twenty_concurrent_approvals_submit_each_vm_once(
        driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = confirm(driver, slack, wait_root(slack), GROUP_MEMBERS[0])
    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def click(user: str) -> None:
        barrier.wait()
        statuses.append(driver.click(root, "Approve", user_id=user, channel_id=CHANNEL)
                        .status_code)

    threads = [threading.Thread(target=click, args=(u,)) for u in GROUP_MEMBERS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 20
    wait_summary(slack, root)
    posts = reprotect_posts(arm)
    items = [p.path.lower().split("/replicationprotecteditems/")[1].split("/")[0] for p in posts]
    assert sorted(items) == sorted(set(items)) and len(items) == 3


def test_slack_retry_of_a_command_makes_one_request(bot: LocalBot, driver: SlackDriver,
                                                    slack: SlackEmulator) -> None:
    first = driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL,
                                 trigger_id="trig.1")
    again = driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL,
                                 trigger_id="trig.1", retry_num=1)
    assert first.status_code == again.status_code == 200
    wait_root(slack)
    settle(bot)
    assert len(slack.messages(CHANNEL)) == 1


def test_forged_signature_and_stale_timestamp_get_401(bot: LocalBot, driver: SlackDriver,
                                                      slack: SlackEmulator) -> None:
    body = b"command=%2Freprotect&text=plan%3Dx+master%3Dy&user_id=U0ALICE&channel_id=C0INCIDENT"
    forged = driver.signed_post(body, "application/x-www-form-urlencoded",
                                signature="v0=" + "0" * 64)
    stale = driver.signed_post(body, "application/x-www-form-urlencoded",
                               timestamp=int(time.time()) - 3600)
    assert forged.status_code == 401 and stale.status_code == 401
    settle(bot)
    assert slack.messages(CHANNEL) == []


def test_healthz_reports_database_and_scheduler(bot: LocalBot) -> None:
    import requests

    answer = requests.get(f"{bot.base_url}/healthz", timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": "ok", "scheduler": "running"}


def test_job_failure_is_reported_with_code_and_fix(start_bot: BotFactory, slack: SlackEmulator,
                                                   arm: ArmEmulator) -> None:
    arm.world.set_reprotect_failure("vm-app-02", code="95226")
    bot = start_bot()
    driver = SlackDriver(bot.events_url, "sandbox-signing-secret", emulator=slack)
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    approve(driver, slack, root, APPROVER)
    texts = [m.text for m in wait_summary(slack, root)]
    failure = next(t for t in texts if "app-02" in t and "failed" in t)
    assert "95226" in failure and "InMage Scout" in failure
    assert "2/3 protected" in texts[-1] and "1 failed" in texts[-1]


def test_passed_checks_are_a_count_with_the_list_given_privately_on_demand(
        bot: LocalBot, driver: SlackDriver, slack: SlackEmulator) -> None:
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    assert re.search(r":white_check_mark: \d+ checks passed", str(root.blocks))
    assert "`cs-connected`" not in str(root.blocks)
    driver.click(root, "Show passed checks", user_id="U0CAROL", channel_id="C0ELSEWHERE")
    driver.click(root, "Show passed checks", user_id="U0MALLORY", channel_id=CHANNEL)
    slack.wait_for(lambda s: any("Checks passed for request #1" in str(c.params.get("text"))
                                 for c in s.ephemerals("U0MALLORY")))
    (listed,) = [str(c.params["text"]) for c in slack.ephemerals("U0MALLORY")]
    assert "`cs-connected`" in listed and "`reprotect-allowed`" in listed
    settle(bot)
    assert slack.ephemerals("U0CAROL") == []  # another channel's click learns nothing
    assert buttons(slack.messages(CHANNEL)[0]) == ["Approve", "Reject", "Cancel"]
