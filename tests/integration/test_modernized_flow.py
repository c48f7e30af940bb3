"""`/reprotect` of a modernized plan (replication appliance) end to end over real HTTP: Bolt,
slack_sdk, the Azure SDK and azure-identity against the emulators. Each reprotect body is
checked against the wire names of the SDK's InMageRcmReprotectInput."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from sandbox.arm_emulator import ArmEmulator
from sandbox.arm_modernized import APPLIANCE, ModernizedWorld
from sandbox.local_bot import LocalBot
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator
from sandbox.walkthrough import run_sandbox
from tests.integration.conftest import (
    APPROVER,
    CHANNEL,
    REQUESTER,
    approve,
    buttons,
    confirm,
    progress_history,
    reprotect_posts,
    roots,
    settle,
    wait_root,
    wait_summary,
)
from tracking import machine

pytestmark = pytest.mark.slow  # a whole bot per test: `pytest -m "not slow"` leaves them out

COMMAND = f'plan="Finance tier 1" appliance={APPLIANCE}'
# InMageRcmReprotectInput's wire names (modernized.md §3), nothing else.
WIRE_NAMES = {"instanceType", "reprotectAgentId", "datastoreName", "logStorageAccountId",
              "policyId"}


@pytest.fixture
def world() -> ModernizedWorld:
    return ModernizedWorld.modernized_sample(3, task_seconds=0.2, protect_delay_seconds=4.0)


def _rcm_world(arm: ArmEmulator) -> ModernizedWorld:
    assert isinstance(arm.world, ModernizedWorld)
    return arm.world


def test_modernized_plan_goes_to_three_of_three_protected(
        driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    answer = driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    assert answer.status_code == 200 and answer.json()["response_type"] == "ephemeral"

    root = wait_root(slack)
    assert buttons(root) == ["Approve", "Reject", "Cancel"]
    header = root.blocks[0]["text"]["text"]
    assert "modernized architecture (replication appliance)" in header
    shown = str(root.blocks)
    for value in (APPLIANCE, "Datastore (every VM): `vsan-avs-01`", "rcm-policy-failback",
                  "original location"):
        assert value in shown, value
    assert not reprotect_posts(arm), "nothing may be sent before approval"

    approve(driver, slack, root, APPROVER)
    thread = wait_summary(slack, root)
    texts = [m.text for m in thread]
    assert any("Reprotect started" in t for t in texts)
    for vm in ("web-01", "web-02", "web-03"):
        assert any(vm in t and "protected" in t for t in texts), f"no protected reply for {vm}"
    assert any(re.search(r"`web-0\d` — initial replication \d+ %", t)
               for t in progress_history(slack)), \
        "progress shows initialReplicationProgressPercentage"
    assert "Summary" in texts[-1] and "3/3 protected" in texts[-1]

    w = _rcm_world(arm)
    agent = w.reprotect_agent(APPLIANCE)
    policy = next(p for p in w.of_type("replicationPolicies")
                  if p["properties"]["providerSpecificDetails"]["instanceType"]
                  == "InMageRcmFailback")
    items = {i["id"].lower(): i for i in w.of_type("replicationProtectedItems")}
    posts = reprotect_posts(arm)
    assert len(posts) == 3
    for post in posts:
        assert post.body["properties"]["failoverDirection"] == "RecoveryToPrimary"
        details = post.body["properties"]["providerSpecificDetails"]
        assert set(details) == WIRE_NAMES
        assert details["instanceType"] == "InMageRcm"
        assert details["reprotectAgentId"] == agent["id"]
        assert details["datastoreName"] == "vsan-avs-01"
        assert details["policyId"] == policy["id"]
        item = items[post.path.lower().removesuffix("/reprotect")]
        assert item["properties"]["providerSpecificDetails"]["instanceType"] == \
            "InMageRcmFailback"
        assert item["properties"]["providerSpecificDetails"]["logStorageAccountId"] == \
            details["logStorageAccountId"]
        assert details["logStorageAccountId"].endswith("/storageAccounts/rcmlogweu01")


def test_unreachable_datastore_is_blocked_with_its_fix(
        bot: LocalBot, driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    driver.slash_command(COMMAND + " datastore=vmfs-avs-04", user_id=REQUESTER,
                         channel_id=CHANNEL)
    root = wait_root(slack)
    assert buttons(root) == []
    shown = str(root.blocks)
    assert "appliance-datastore" in shown and "vmfs-avs-04" in shown
    assert "is not one replication appliance" in shown
    assert "Pass `datastore=` one the appliance reaches" in shown
    settle(bot)
    assert not reprotect_posts(arm)


def test_mixed_plan_is_blocked_with_how_to_split_it(
        bot: LocalBot, driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    mixed = ModernizedWorld.modernized_sample(2, classic_vm_count=2, plan_name="payroll-rp",
                                              plan_friendly_name="Payroll")
    mixed.add_plan("mixed-rp", friendly_name="Mixed", items=["vm-app-01", "vm-web-01"])
    arm.world = mixed
    driver.slash_command(f"plan=Mixed appliance={APPLIANCE}", user_id=REQUESTER,
                         channel_id=CHANNEL)
    root = wait_root(slack)
    assert buttons(root) == []
    shown = str(root.blocks)
    assert "architecture not reprotectable as one plan" in root.blocks[0]["text"]["text"]
    assert "mixes both architectures" in shown
    # Slack shows `&lt;…&gt;` as `<…>`; raw angle brackets would be read as a link
    assert "master=&lt;master target&gt; vm=app-01" in shown
    assert "appliance=&lt;appliance&gt; vm=web-01" in shown
    assert "<master target>" not in shown
    settle(bot)
    assert not reprotect_posts(arm)


def test_master_on_a_modernized_plan_is_told_privately_with_the_appliances(
        bot: LocalBot, driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    driver.slash_command('plan="Finance tier 1" master=avs-mt-01', user_id=REQUESTER,
                         channel_id=CHANNEL)
    slack.wait_for(lambda s: bool(s.ephemerals(REQUESTER)), timeout=20)
    text = slack.ephemerals(REQUESTER)[-1].params["text"]
    assert "modernized (replication appliance) architecture" in text
    assert "`avs-appliance-01`" in text and "`avs-appliance-02`" in text
    assert 'Type: `/reprotect plan="Finance tier 1" appliance=&lt;replication appliance&gt;`' \
        in text
    settle(bot)
    assert slack.messages(CHANNEL) == []
    assert not reprotect_posts(arm)


def test_appliance_on_a_classic_plan_is_told_privately_with_the_master_targets(
        bot: LocalBot, driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    arm.world = ModernizedWorld.modernized_sample(2, classic_vm_count=2, plan_name="payroll-rp",
                                                  plan_friendly_name="Payroll")
    driver.slash_command(f'plan="Finance tier 1" appliance={APPLIANCE}', user_id=REQUESTER,
                         channel_id=CHANNEL)
    slack.wait_for(lambda s: bool(s.ephemerals(REQUESTER)), timeout=20)
    text = slack.ephemerals(REQUESTER)[-1].params["text"]
    assert "classic (configuration server) architecture" in text
    assert "`avs-mt-01`, `avs-mt-02`" in text
    assert 'Type: `/reprotect plan="Finance tier 1" master=&lt;master target server&gt;`' in text
    settle(bot)
    assert slack.messages(CHANNEL) == []


def test_a_changed_datastore_voids_the_approval(
        bot: LocalBot, driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    """The re-check at approval resolves the modernized plan again: one VM's datastore
    (its own, for original location) moved, so the values to send changed."""
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = confirm(driver, slack, wait_root(slack), APPROVER)
    item = next(i for i in _rcm_world(arm).of_type("replicationProtectedItems")
                if i["name"] == "vm-web-02")
    item["properties"]["providerSpecificDetails"]["discoveredVmDetails"]["datastores"] = [
        "vmfs-avs-02"]

    driver.click(root, "Approve", user_id=APPROVER, channel_id=CHANNEL)
    slack.wait_for(lambda s: bool(s.thread(CHANNEL, root.ts)))
    reply = slack.thread(CHANNEL, root.ts)[-1]
    assert "Datastore of `web-02`: `vsan-avs-01` → `vmfs-avs-02`" in reply.text
    slack.wait_for(lambda s: "*Stale*: the preflight changed" in s.messages(CHANNEL)[0].text)
    assert buttons(slack.messages(CHANNEL)[0]) == []
    settle(bot)
    assert not reprotect_posts(arm)


def test_sandbox_walks_a_modernized_plan_to_protected(capsys: pytest.CaptureFixture[str]) -> None:
    """`reprotect-bot sandbox --modernized`: the walk-through with the appliance form."""
    assert run_sandbox(modernized=True) == 0
    out = capsys.readouterr().out
    assert f"appliance={APPLIANCE}" in out and "modernized architecture" in out
    assert "3/3 protected" in out


def test_agent_registering_after_approval_is_waited_for_then_reprotected(
        monkeypatch: pytest.MonkeyPatch, driver: SlackDriver, slack: SlackEmulator,
        arm: ArmEmulator) -> None:
    """Issue 20 item 8: an agent not registered yet (the tutorial's up to 15 minutes after the
    VM boots; here a few seconds) is a warning, the approval holds at the re-check, and the
    reprotect goes once the item says it registered: never before, no second request."""
    monkeypatch.setattr(machine, "AGENT_BACKOFF", timedelta(seconds=0.3))
    monkeypatch.setattr(machine, "AGENT_BACKOFF_MAX", timedelta(seconds=0.6))
    world = _rcm_world(arm)
    world.set_agent_unregistered("vm-web-02", 8.0, as_job=False)
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    shown = str(root.blocks)
    assert buttons(root) == ["Approve", "Reject", "Cancel"]
    assert "agent-registered-rcm" in shown and "the bot waits for it" in shown
    approve(driver, slack, root, APPROVER)
    slack.wait_for(lambda s: any("waiting for its mobility agent" in m.text and "web-02" in m.text
                                 for m in s.thread(CHANNEL, root.ts)), timeout=20)
    assert not [p for p in reprotect_posts(arm) if "/vm-web-02/" in p.path.lower()]
    thread = wait_summary(slack, root, timeout=60)
    assert "3/3 protected" in thread[-1].text
    assert not any("stale" in m.text.lower() for m in thread)
    # the emulator refuses a reprotect sent before registration: one POST means none was
    assert len([p for p in reprotect_posts(arm) if "/vm-web-02/" in p.path.lower()]) == 1
    assert len(roots(slack)) == 1
