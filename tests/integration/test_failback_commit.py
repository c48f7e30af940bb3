"""`/failback commit` and `/failback cancel`, and the next-step buttons of a failback's
summary, end to end over real HTTP: Bolt and slack_sdk against the Slack emulator, the Azure
SDK against the ARM emulator's failback journey (`sandbox.arm_journey`)."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import slack_driver
from sandbox.arm_emulator import ArmEmulator
from sandbox.arm_journey import (
    CLASSIC_PLAN,
    MODERNIZED_PLAN,
    Stage,
    journey_sample,
    set_item_stage,
)
from sandbox.arm_modernized import ModernizedWorld
from sandbox.local_bot import LocalBot
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import Message, SlackEmulator
from tests.integration.conftest import (
    APPROVER,
    CHANNEL,
    OUTSIDER,
    REQUESTER,
    approve,
    buttons,
    roots,
    settle,
    wait_root,
    wait_summary,
)

OTHER_REQUESTER = OUTSIDER  # anyone may ask (no REPROTECT_REQUESTERS), not only the failback's
VMS = {CLASSIC_PLAN: ("app-01", "app-02", "app-03"),
       MODERNIZED_PLAN: ("web-01", "web-02", "web-03")}


@pytest.fixture
def world() -> ModernizedWorld:
    return journey_sample(Stage.FAILED_BACK, task_seconds=0.2, protect_delay_seconds=0.2)


def writes(arm: ArmEmulator, action: str = "") -> list[Any]:
    """The POSTs the bot sent to Site Recovery (ending in `/action`, any when empty)."""
    return [r for r in arm.requests if r.method == "POST"
            and (not action or r.path.lower().endswith(f"/{action.lower()}"))]


def failback(driver: SlackDriver, text: str, user: str = REQUESTER) -> Any:
    return driver.slash_command(text, user_id=user, channel_id=CHANNEL, command="/failback")


def allowed(arm: ArmEmulator, vm: str) -> list[str]:
    item = next(i for i in arm.world.of_type("replicationProtectedItems")
                if i["properties"]["friendlyName"] == vm)
    return list(item["properties"]["allowedOperations"])


@pytest.mark.parametrize("plan", [CLASSIC_PLAN, MODERNIZED_PLAN])
def test_commit_goes_to_three_of_three_committed_with_one_write_on_the_plan(
        plan: str, driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    failback(driver, f"commit plan={plan}")
    root = wait_root(slack)
    shown = str(root.blocks)
    assert buttons(root) == ["Approve", "Reject", "Cancel"]
    assert "Commit failback #" in root.blocks[0]["text"]["text"]
    assert "Committing removes the VMs in Azure" in shown and "cannot be undone" in shown
    assert "failoverCommit" in shown
    assert not writes(arm), "nothing may be sent before approval"

    approve(driver, slack, root, APPROVER)
    thread = wait_summary(slack, root)
    assert "Summary" in thread[-1].text and "3/3 committed" in thread[-1].text
    assert "reprotect them to Azure with `/reprotect`" in thread[-1].text
    assert buttons(thread[-1]) == [], "a commit's summary offers no failback step"
    texts = " ".join(m.text for m in thread)
    for vm in VMS[plan]:
        assert vm in texts
        assert "Commit" not in allowed(arm, vm) and "ReverseReplicate" in allowed(arm, vm)
    sent = writes(arm)
    assert [r.path.rsplit("/", 2)[-2:] for r in sent] == [[plan, "failoverCommit"]]
    assert not sent[0].body, "failoverCommit takes no body"


def test_cancel_of_a_modernized_failback_goes_to_three_of_three_cancelled(
        driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    failback(driver, f"cancel plan={MODERNIZED_PLAN}")
    root = wait_root(slack)
    assert "Cancel failback #" in root.blocks[0]["text"]["text"]
    approve(driver, slack, root, APPROVER)
    thread = wait_summary(slack, root)
    assert "3/3 cancelled" in thread[-1].text
    assert [r.path.rsplit("/", 2)[-2:] for r in writes(arm)] == [
        [MODERNIZED_PLAN, "failoverCancel"]]
    for vm in VMS[MODERNIZED_PLAN]:
        assert "PlannedFailover" in allowed(arm, vm)


def test_cancel_on_a_classic_plan_is_answered_privately_and_nothing_is_sent(
        bot: LocalBot, driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    failback(driver, f"cancel plan={CLASSIC_PLAN}")
    slack.wait_for(lambda s: any("cannot be cancelled" in e.params["text"]
                                 for e in s.ephemerals(REQUESTER)), timeout=20)
    text = slack.ephemerals(REQUESTER)[-1].params["text"]
    assert "classic (configuration server)" in text and "Nothing was sent" in text
    settle(bot)
    assert slack.messages(CHANNEL) == []
    assert not writes(arm)


def test_a_vm_not_failed_back_blocks_the_commit_with_its_name(
        bot: LocalBot, driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    world = arm.world
    item = next(i for i in world.of_type("replicationProtectedItems") if i["name"] == "vm-app-02")
    with world.lock:
        set_item_stage(world, item, Stage.PROTECTED_TO_AVS)
    failback(driver, f"commit plan={CLASSIC_PLAN}")
    root = wait_root(slack)
    assert buttons(root) == []
    shown = str(root.blocks)
    assert "`app-02` is not failed back" in shown
    assert "Fail it back first" in shown
    settle(bot)
    assert not writes(arm)


def failed_back(driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator,
                plan: str) -> Message:
    """Fail `plan` back from protected to AVS through the bot; its summary reply."""
    arm.world = journey_sample(Stage.PROTECTED_TO_AVS, task_seconds=0.2,
                               protect_delay_seconds=0.2)
    failback(driver, f"plan={plan}")
    root = wait_root(slack)
    approve(driver, slack, root, APPROVER)
    thread = wait_summary(slack, root, timeout=90)
    summary = next(m for m in thread if "Summary" in m.text)
    assert "3/3 failed back" in summary.text
    return summary


def test_the_commit_button_after_a_failback_opens_a_commit_request(
        bot: LocalBot, driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator,
        monkeypatch: pytest.MonkeyPatch) -> None:
    summary = failed_back(driver, slack, arm, MODERNIZED_PLAN)
    assert buttons(summary) == ["Commit", "Cancel failback"]

    before = len(writes(arm))
    # Slack retries a click it saw no timely answer to with the same payload (trigger id).
    monkeypatch.setattr(slack_driver, "_trigger_id", lambda: "1234.5678.same-click")
    driver.click(summary, "Commit", user_id=OTHER_REQUESTER, channel_id=CHANNEL)
    driver.click(summary, "Commit", user_id=OTHER_REQUESTER, channel_id=CHANNEL, retry_num=1)
    slack.wait_for(lambda s: len(roots(s)) == 2, timeout=20)
    settle(bot)
    assert len(roots(slack)) == 2, "a retried click opens no second request"
    request = roots(slack)[-1]
    head = request.blocks[0]["text"]["text"]
    assert "Commit failback #" in head and "plan *Web tier*" in head
    assert f"Requested by <@{OTHER_REQUESTER}>" in head, "the clicker asks"
    assert "Committing removes the VMs in Azure" in str(request.blocks)
    assert buttons(request) == ["Approve", "Reject", "Cancel"]
    assert any(f"Checking plan `{MODERNIZED_PLAN}`" in e.params["text"]
               for e in slack.ephemerals(OTHER_REQUESTER))
    assert len(writes(arm)) == before, "a click opens a request: nothing is sent before approval"

    approve(driver, slack, request, APPROVER)
    assert "3/3 committed" in wait_summary(slack, request)[-1].text
    assert len(writes(arm, "failoverCommit")) == 1


def test_a_classic_failback_offers_commit_only_and_a_click_from_elsewhere_is_refused(
        bot: LocalBot, driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    summary = failed_back(driver, slack, arm, CLASSIC_PLAN)
    assert buttons(summary) == ["Commit"]

    driver.click(summary, "Commit", user_id=REQUESTER, channel_id=CHANNEL,
                 user_team_id="T0OTHER")
    slack.wait_for(lambda s: any("Only members of this workspace" in e.params["text"]
                                 for e in s.ephemerals(REQUESTER)), timeout=20)
    driver.click(summary, "Commit", user_id=REQUESTER, channel_id="C0ELSEWHERE")
    slack.wait_for(lambda s: any("is not a failback of this channel" in e.params["text"]
                                 for e in s.ephemerals(REQUESTER)), timeout=20)
    settle(bot)
    assert len(roots(slack)) == 1, "a refused click opens nothing"
    assert not writes(arm, "failoverCommit")


def test_commit_with_vm_sends_one_write_per_named_item_and_leaves_the_others(
        driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    failback(driver, f"commit plan={MODERNIZED_PLAN} vm=web-01,web-03")
    root = wait_root(slack)
    assert "`failoverCommit on each VM, without a body`" in str(root.blocks)
    approve(driver, slack, root, APPROVER)
    assert "2/2 committed" in wait_summary(slack, root)[-1].text
    sent = sorted(r.path.rsplit("/", 2)[-2:] for r in writes(arm))
    assert sent == [["vm-web-01", "failoverCommit"], ["vm-web-03", "failoverCommit"]]
    assert "Commit" in allowed(arm, "web-02"), "a VM not named is not committed"


def test_a_lost_answer_to_the_plan_commit_is_followed_never_sent_again(
        driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    """Site Recovery took the commit but its answer was lost: the bot finds the plan's job
    among the vault's recent ones and follows it; a second commit is never sent."""
    arm.fail_next("POST", rf"/replicationRecoveryPlans/{CLASSIC_PLAN}/failoverCommit$", 500,
                  processed=True)
    failback(driver, f"commit plan={CLASSIC_PLAN}")
    root = wait_root(slack)
    approve(driver, slack, root, APPROVER)
    assert "3/3 committed" in wait_summary(slack, root)[-1].text
    assert len(writes(arm, "failoverCommit")) == 1
