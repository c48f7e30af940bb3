"""`/reprotect` of a plan whose VMs run in the private cloud again (failback committed) end to
end over real HTTP: Bolt and slack_sdk against the Slack emulator, the Azure SDK over HTTPS
against the ARM emulator. Both architectures reach `3/3 protected` with one `reProtect` per
item, each body checked by wire name (classic `InMageAzureV2ReprotectInput`, modernized
`InMageRcmFailbackReprotectInput`)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sandbox.arm_emulator import ArmEmulator
from sandbox.arm_journey import Stage, journey_sample
from sandbox.arm_modernized import ModernizedWorld
from sandbox.local_bot import SIGNING_SECRET, LocalBot
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import Message, SlackEmulator
from tests.integration.conftest import (
    APPROVER,
    CHANNEL,
    REQUESTER,
    approve,
    buttons,
    reprotect_posts,
    roots,
    settle,
    wait_root,
    wait_summary,
)
from tests.integration.processes import BotProcess, bot_env
from tests.integration.test_observe import delta, scrape
from tracking import machine

pytestmark = pytest.mark.slow  # a whole bot per test: `pytest -m "not slow"` leaves them out

CLASSIC = "plan=finance-rp ps=cs01 account=vcenter-avs"
MODERNIZED = "plan=web-rp appliance=avs-appliance-01"
# InMageAzureV2ReprotectInput / InMageRcmFailbackReprotectInput as the bot sends them.
CLASSIC_WIRE = {"instanceType", "processServerId", "masterTargetId", "runAsAccountId",
                "policyId"}
MODERNIZED_WIRE = {"instanceType", "processServerId", "policyId"}


@pytest.fixture
def world() -> ModernizedWorld:
    """Both plans committed: `finance-rp` classic (app-01..03), `web-rp` modernized."""
    return journey_sample(Stage.COMMITTED, task_seconds=0.2, protect_delay_seconds=0.5)


def _fabric_servers(arm: ArmEmulator, fabric: str) -> list[Any]:
    world = arm.world
    return list(world.fabric(fabric)["properties"]["customDetails"]["processServers"])


def _item(arm: ArmEmulator, post: Any) -> Any:
    path = post.path.lower().removesuffix("/reprotect")
    return next(i for i in arm.world.of_type("replicationProtectedItems")
                if i["id"].lower() == path)


def _run(driver: SlackDriver, slack: SlackEmulator, command: str) -> tuple[Message, list[str]]:
    driver.slash_command(command, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    assert buttons(root) == ["Approve", "Reject", "Cancel"], str(root.blocks)
    approve(driver, slack, root, APPROVER)
    return root, [m.text for m in wait_summary(slack, root)]


def test_classic_plan_goes_back_to_azure_three_of_three_protected(
        driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    driver.slash_command(CLASSIC, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    header = root.blocks[0]["text"]["text"]
    assert "classic architecture" in header and "reprotect *to Azure*" in header
    shown = str(root.blocks)
    for value in ("Process server: `cs01`", "Run-as account: `vcenter-avs`",
                  "Replication policy (to Azure): `vmware-azure-policy`", "Master target: `cs01`"):
        assert value in shown, value
    assert not reprotect_posts(arm), "nothing may be sent before approval"

    approve(driver, slack, root, APPROVER)
    texts = [m.text for m in wait_summary(slack, root)]
    for vm in ("app-01", "app-02", "app-03"):
        assert any(vm in t and "protected" in t for t in texts), f"no protected reply for {vm}"
    assert any("replicates to Azure again" in t for t in texts)
    assert not any("Keep the AVS VM" in t for t in texts)
    assert "Summary" in texts[-1] and "3/3 protected" in texts[-1]

    cs01 = next(p for p in _fabric_servers(arm, "cs-fabric-01") if p["friendlyName"] == "cs01")
    policy = arm.world.policy("InMageAzureV2")
    posts = reprotect_posts(arm)
    assert len(posts) == 3 and len({p.path.lower() for p in posts}) == 3
    for post in posts:
        assert post.body["properties"]["failoverDirection"] == "RecoveryToPrimary"
        details = post.body["properties"]["providerSpecificDetails"]
        assert set(details) == CLASSIC_WIRE
        assert details["instanceType"] == "InMageAzureV2"
        assert details["processServerId"] == details["masterTargetId"] == cs01["id"]
        assert details["runAsAccountId"] == "1"
        assert details["policyId"] == policy["id"]
        item = _item(arm, post)["properties"]
        assert item["providerSpecificDetails"]["instanceType"] == "InMageAzureV2"
        assert item["protectionState"] == "Protected"


def test_modernized_plan_goes_back_to_azure_three_of_three_protected(
        bot: LocalBot, driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    before = scrape(bot)
    root, texts = _run(driver, slack, MODERNIZED)
    after = scrape(bot)  # the contract's operation label: a reprotect, in either direction
    assert delta(before, after, "reprotect_submissions_total", operation="reprotect",
                 outcome="accepted") == 3
    header = root.blocks[0]["text"]["text"]
    assert "modernized architecture" in header and "to Azure" in header
    assert "Replication appliance: `avs-appliance-01`" in str(slack.messages(CHANNEL)[0].blocks)
    for vm in ("web-01", "web-02", "web-03"):
        assert any(vm in t and "protected" in t for t in texts), f"no protected reply for {vm}"
    assert "3/3 protected" in texts[-1]

    fabric = next(f["name"] for f in arm.world.of_type("replicationFabrics")
                  if f["properties"]["customDetails"]["instanceType"] == "InMageRcm")
    appliance = next(p for p in _fabric_servers(arm, fabric) if p["name"] == "avs-appliance-01")
    policy = arm.world.policy("InMageRcm")
    posts = reprotect_posts(arm)
    assert len(posts) == 3 and len({p.path.lower() for p in posts}) == 3
    for post in posts:
        assert post.body["properties"]["failoverDirection"] == "PrimaryToRecovery"
        details = post.body["properties"]["providerSpecificDetails"]
        assert set(details) == MODERNIZED_WIRE
        assert details["instanceType"] == "InMageRcmFailback"
        assert details["processServerId"] == appliance["id"]
        assert details["policyId"] == policy["id"]
        assert _item(arm, post)["properties"]["providerSpecificDetails"]["instanceType"] == \
            "InMageRcm"


@pytest.mark.parametrize(("command", "says"), [
    ("plan=finance-rp master=avs-mt-01",
     ["`Finance tier 1`", "reprotect goes to Azure",
      "`ps=&lt;process server&gt; account=&lt;run-as account&gt; [master=&lt;master "
      "target&gt;]`", "not `master=avs-mt-01`", "`cs01`"]),
    ("plan=web-rp appliance=avs-appliance-01 datastore=vsan-avs-01",
     ["`Web tier`", "modernized architecture", "not `datastore=vsan-avs-01`",
      "`appliance=&lt;replication appliance&gt; [account=&lt;run-as account&gt;]`"]),
])
def test_a_form_that_does_not_fit_the_direction_is_answered_privately(
        bot: LocalBot, driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator, command: str,
        says: list[str]) -> None:
    driver.slash_command(command, user_id=REQUESTER, channel_id=CHANNEL)
    slack.wait_for(lambda s: bool(s.ephemerals(REQUESTER)), timeout=20)
    text = slack.ephemerals(REQUESTER)[-1].params["text"]
    for part in says:
        assert part in text, (part, text)
    settle(bot)
    assert slack.messages(CHANNEL) == []
    assert not reprotect_posts(arm)


def test_a_vm_not_committed_blocks_with_its_name_and_reason(
        bot: LocalBot, driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    """One VM failed back but not committed (Site Recovery still lists Commit): no Approve."""
    item = arm.world.item("vm-app-02")
    item["properties"]["allowedOperations"] = ["Commit", "ChangePit", "DisableProtection"]
    driver.slash_command(CLASSIC, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    assert buttons(root) == []
    shown = str(root.blocks)
    assert "back-in-private-cloud" in shown and "`app-02`" in shown
    assert "not committed yet" in shown and "/failback commit plan=" in shown
    settle(bot)
    assert not reprotect_posts(arm)


def test_an_unknown_run_as_account_blocks_with_the_known_ones(
        driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    driver.slash_command("plan=finance-rp ps=cs01 account=nobody", user_id=REQUESTER,
                         channel_id=CHANNEL)
    root = wait_root(slack)
    assert buttons(root) == []
    shown = str(root.blocks)
    assert "account-unknown" in shown and "`account=nobody`" in shown and "`vcenter-avs`" in shown


def test_agent_not_registered_yet_is_waited_for_then_protected(
        monkeypatch: pytest.MonkeyPatch, driver: SlackDriver, slack: SlackEmulator,
        arm: ArmEmulator) -> None:
    """The tutorial's wait: up to 15 minutes after the VM boots in the private cloud the agent
    is not re-registered and reprotect is refused "agent isn't installed" (here a few
    seconds, told once as a refused POST, once as a failed job): waited for, retried, no new
    approval."""
    monkeypatch.setattr(machine, "AGENT_BACKOFF", timedelta(seconds=0.3))
    monkeypatch.setattr(machine, "AGENT_BACKOFF_MAX", timedelta(seconds=0.6))
    arm.world.set_agent_unregistered("vm-app-01", 2.5, as_job=False)
    arm.world.set_agent_unregistered("vm-app-02", 2.5, as_job=True)
    _, texts = _run(driver, slack, CLASSIC)
    assert sum("waiting for the agent to re-register" in t for t in texts) == 2, texts
    assert "3/3 protected" in texts[-1]
    app01 = [p for p in reprotect_posts(arm) if "/vm-app-01/" in p.path.lower()]
    app02 = [p for p in reprotect_posts(arm) if "/vm-app-02/" in p.path.lower()]
    assert len(app01) >= 2, "a refused POST is sent again"
    assert len(app02) == 1, "a failed job is restarted, not sent again"
    assert len(roots(slack)) == 1


def test_killed_while_tracking_resumes_without_a_second_write(
        slack: SlackEmulator, arm: ArmEmulator, tmp_path: Path) -> None:
    """The bot's process is killed (SIGKILL) after the writes went out; a new process on the
    same database follows the jobs to `3/3 protected` and sends nothing again."""
    arm.world.task_seconds = 1.0  # still running when the process is killed
    env = bot_env(slack_api_url=slack.api_url, arm_env=arm.env(),
                  database_url=f"sqlite:///{tmp_path / 'bot.db'}", approvers=APPROVER)
    processes = [BotProcess(env, tmp_path / "bot.log")]
    try:
        processes[0].wait_healthy()
        driver = SlackDriver(processes[0].events_url, SIGNING_SECRET, emulator=slack)
        driver.slash_command(MODERNIZED, user_id=REQUESTER, channel_id=CHANNEL)
        root = wait_root(slack)
        approve(driver, slack, root, APPROVER)
        slack.wait_for(lambda s: len(reprotect_posts(arm)) == 3, timeout=30)
        assert not any("Summary" in m.text for m in slack.thread(CHANNEL, root.ts))
        processes[0].kill()
        processes.append(BotProcess(env, tmp_path / "bot.log"))
        processes[1].wait_healthy()
        texts = [m.text for m in wait_summary(slack, root, timeout=120)]
    finally:
        for process in processes:
            process.close()
    assert "3/3 protected" in texts[-1]
    assert sum("Summary" in t for t in texts) == 1
    assert len(reprotect_posts(arm)) == 3


def test_a_slack_retry_and_a_second_approval_send_nothing_twice(
        bot: LocalBot, driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    """Slack delivers the command twice (retry header): one request; a click after the
    approval: no second write once Site Recovery accepted the first."""
    for retry in (None, 1):
        driver.slash_command(CLASSIC, user_id=REQUESTER, channel_id=CHANNEL,
                             trigger_id="trig.azure", retry_num=retry)
    root = wait_root(slack)
    approve(driver, slack, root, APPROVER)
    driver.click(root, "Approve", user_id=APPROVER, channel_id=CHANNEL)
    assert "3/3 protected" in wait_summary(slack, root)[-1].text
    settle(bot)
    assert len(roots(slack)) == 1
    assert len(reprotect_posts(arm)) == 3


def test_a_lost_answer_is_adopted_and_a_refusal_before_the_start_sent_again(
        driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    """Site Recovery started web-01's reprotect but the answer was lost (500): its job is
    adopted, never sent again; web-02's was refused before it started (503): sent once more."""
    arm.fail_next("POST", r"/vm-web-01/reProtect$", 500, processed=True)
    arm.fail_next("POST", r"/vm-web-02/reProtect$", 503)
    _, texts = _run(driver, slack, MODERNIZED)
    assert "3/3 protected" in texts[-1]
    posts = [p.path.lower() for p in reprotect_posts(arm)]
    assert sum("/vm-web-01/" in p for p in posts) == 1
    assert sum("/vm-web-02/" in p for p in posts) == 2
