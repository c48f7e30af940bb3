"""Preflight at approval time, over HTTP: manual items ticked, re-check, power guard.

The whole bot runs against the Slack and ARM emulators (and vcsim for the power guard).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, select

from providers.classic.vcenter_checks import BY_HAND
from sandbox.arm_emulator import ArmEmulator
from sandbox.arm_world import stable_guid
from sandbox.console import manual_checkboxes
from sandbox.local_bot import SIGNING_SECRET, LocalBot
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator
from store.models import AuditEvent, ManualConfirmation
from tests.integration.conftest import (
    APPROVER,
    CHANNEL,
    COMMAND,
    REQUESTER,
    BotFactory,
    approve,
    buttons,
    confirm,
    open_request,
    reprotect_posts,
    settle,
    wait_root,
    wait_summary,
)
from tests.support.vcsim import VcsimInstance, start_vcsim
from tests.support.vcsim_shapes import (
    WaitForTask,
    admin_content,
    create_vm,
    find_vm,
    reconfigure,
)

pytestmark = pytest.mark.slow  # a whole bot per test: `pytest -m "not slow"` leaves them out


def test_unreachable_vcenter_leaves_its_checks_to_an_approver_and_the_run_proceeds(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    """Issue 20 item 9: vCenter configured but not answering is no proof of a problem (Site
    Recovery reaches vCenter on its own): its checks become manual items with the reason."""
    with socket.socket() as probe:  # a port nothing listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bot = start_bot(vcenter_url=f"https://127.0.0.1:{port}/sdk", vcenter_user="bot",
                    vcenter_password="secret", vcenter_insecure=True)
    driver = SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack, timeout=60)
    shown = str(root.blocks)
    assert buttons(root)[0] == "Approve", shown
    assert "could not check" in shown and "approver confirms" in shown
    keys, _ = manual_checkboxes(root)
    assert {f"{check}:1" for check in BY_HAND} <= set(keys), keys
    assert "No snapshots on the master target VM" in shown
    approve(driver, slack, root, APPROVER)
    assert "3/3 protected" in wait_summary(slack, root)[-1].text
    assert len(reprotect_posts(arm)) == 3


def ephemeral_texts(slack: SlackEmulator, user: str) -> list[str]:
    return [str(c.params["text"]) for c in slack.ephemerals(user)]


def test_approve_confirms_unticked_manual_items_by_default(
        driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator, bot: Any) -> None:
    """The documented behaviour: an approver's click records the approval. The message says that
    approving confirms the manual items, and they are recorded in the approver's name."""
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    values, ticked = manual_checkboxes(root)
    assert ticked == [] and "approving confirms any left unticked" in str(root.blocks)
    driver.click(root, "Approve", user_id=APPROVER, channel_id=CHANNEL)
    assert "3/3 protected" in wait_summary(slack, root)[-1].text
    assert bot.services is not None
    with Session(bot.services.engine) as session:
        rows = session.exec(select(ManualConfirmation)).all()
        audited = [e.detail for e in session.exec(select(AuditEvent).where(
            AuditEvent.action == "manual_confirm")).all()]
    assert {(r.item_key, r.user_id) for r in rows} == {(v, APPROVER) for v in values}
    assert audited == [{"ticked": values, "by": "approve"}]
    assert "confirmed by <@U0BOB>" in str(slack.messages(CHANNEL)[0].blocks)


def test_approve_waits_for_every_manual_item_in_tick_mode(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    bot, driver, root = open_request(start_bot, slack, reprotect_manual_confirmation="tick")
    assert "Approve waits for all" in str(root.blocks)
    values, ticked = manual_checkboxes(root)
    assert values == ["network-ready:1", "network-ready:2"] and ticked == []

    driver.click(root, "Approve", user_id=APPROVER, channel_id=CHANNEL)
    slack.wait_for(lambda s: any("Tick the manual checks" in t
                                 for t in ephemeral_texts(s, APPROVER)))

    driver.click_action(root, "confirm_manual", user_id=REQUESTER, channel_id=CHANNEL,
                        selected=values)  # the requester may not vouch for their own request
    slack.wait_for(lambda s: any("requester cannot confirm" in t
                                 for t in ephemeral_texts(s, REQUESTER)))
    slack.wait_for(lambda s: s.messages(CHANNEL)[0].edits > 0)
    assert manual_checkboxes(slack.messages(CHANNEL)[0])[1] == []  # the tick was undone

    driver.click_action(root, "confirm_manual", user_id=APPROVER, channel_id=CHANNEL,
                        selected=values[:1])
    slack.wait_for(lambda s: manual_checkboxes(s.messages(CHANNEL)[0])[1] == values[:1])
    driver.click(root, "Approve", user_id=APPROVER, channel_id=CHANNEL)
    slack.wait_for(lambda s: sum("Tick the manual checks" in t
                                 for t in ephemeral_texts(s, APPROVER)) == 2)
    assert "Failback ports are open" in ephemeral_texts(slack, APPROVER)[-1]
    settle(bot)
    assert not reprotect_posts(arm)

    approve(driver, slack, root, APPROVER)
    assert "3/3 protected" in wait_summary(slack, root)[-1].text
    assert bot.services is not None
    with Session(bot.services.engine) as session:
        rows = session.exec(select(ManualConfirmation)).all()
        ticks = [e.detail for e in session.exec(select(AuditEvent).where(
            AuditEvent.action == "manual_confirm")).all()]
    assert {(r.item_key, r.user_id) for r in rows} == {(v, APPROVER) for v in values}
    assert ticks == [{"ticked": ["network-ready:1"], "unticked": []},
                     {"ticked": ["network-ready:2"], "unticked": []}]
    shown = str(slack.messages(CHANNEL)[0].blocks)
    assert "confirmed by <@U0BOB>" in shown


def test_a_changed_preflight_voids_the_approval(bot: LocalBot, driver: SlackDriver,
                                                slack: SlackEmulator,
                                               arm: ArmEmulator) -> None:
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = confirm(driver, slack, wait_root(slack), APPROVER)
    assert "azure-ps-01" in str(root.blocks)
    servers = arm.world.fabric()["properties"]["customDetails"]["processServers"]
    servers[0]["health"] = "Critical"  # the bot now picks azure-ps-02 instead

    driver.click(root, "Approve", user_id=APPROVER, channel_id=CHANNEL)
    slack.wait_for(lambda s: bool(s.thread(CHANNEL, root.ts)))
    reply = slack.thread(CHANNEL, root.ts)[-1]
    assert "Process server: `azure-ps-01` → `azure-ps-02`" in reply.text
    assert f"/reprotect {COMMAND}" in reply.text
    assert any("preflight changed" in t for t in ephemeral_texts(slack, APPROVER))
    slack.wait_for(lambda s: "*Stale*: the preflight changed" in s.messages(CHANNEL)[0].text)
    assert buttons(slack.messages(CHANNEL)[0]) == []
    settle(bot)
    assert not reprotect_posts(arm)


# -- power guard, with vCenter -------------------------------------------------------------


@pytest.fixture(scope="module")
def vcsim() -> Iterator[VcsimInstance]:
    with start_vcsim(vms=3) as instance:
        yield instance


@pytest.fixture
def avs(vcsim: VcsimInstance, arm: ArmEmulator) -> Iterator[Any]:
    """vcsim shaped as the plan's private cloud: the master target VM, and three AVS VMs
    with the BIOS UUIDs Site Recovery knows them by."""
    with admin_content(vcsim) as content:
        if content.searchIndex.FindByInventoryPath("DC0/vm/avs-mt-01") is None:
            create_vm(content, "avs-mt-01", ip="10.40.0.21")
        for index in range(1, 4):
            vm = find_vm(content, f"DC0_C0_RP0_VM{index - 1}")
            reconfigure(vm, uuid=stable_guid("bios", f"vm-app-{index:02d}"))
        yield content


def test_power_guard_warns_once_per_power_on(start_bot: BotFactory, slack: SlackEmulator,
                                             vcsim: VcsimInstance, avs: Any) -> None:
    bot = start_bot(vcenter_url=vcsim.url, vcenter_user=vcsim.username,
                    vcenter_password=vcsim.password, vcenter_ca_bundle=vcsim.ca_pem_path)
    driver = SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    # Passes are folded to a count; their ids come privately on demand.
    assert "Logged in to vCenter" not in str(root.blocks)
    assert "mt-no-snapshots" not in str(root.blocks) and buttons(root)[0] == "Approve"
    driver.click(root, "Show passed checks", user_id=REQUESTER, channel_id=CHANNEL)
    slack.wait_for(lambda s: any("`mt-no-snapshots`" in str(c.params.get("text"))
                                 for c in s.ephemerals(REQUESTER)))
    approve(driver, slack, root, APPROVER)
    slack.wait_for(lambda s: any("Reprotect started" in m.text
                                 for m in s.thread(CHANNEL, root.ts)), timeout=30)

    app_02 = find_vm(avs, "DC0_C0_RP0_VM1")

    def warnings() -> list[str]:
        return [m.text for m in slack.thread(CHANNEL, root.ts) if "Powered on" in m.text]

    WaitForTask(app_02.PowerOnVM_Task())
    slack.wait_for(lambda s: bool(warnings()), timeout=30)
    assert "`app-02`" in warnings()[0] and "must stay off until failback" in warnings()[0]
    settle(bot)
    assert len(warnings()) == 1  # once per power-on, not once per tick

    WaitForTask(app_02.PowerOffVM_Task())
    settle(bot)
    WaitForTask(app_02.PowerOnVM_Task())
    slack.wait_for(lambda s: len(warnings()) == 2, timeout=30)
    WaitForTask(app_02.PowerOffVM_Task())
