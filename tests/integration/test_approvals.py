"""Approvals people can trust: quorum, expiry, cancellation, locks, requesters, identity."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.views import private
from core.decisions import Decision
from core.notices import Notice
from core.policy import Policy
from gateways.site_recovery import AzureSiteRecovery
from intake import slash as intake_module
from intake.planning import Sources
from intake.recheck import Recheck
from intake.slash import Intake, SlashCommand
from sandbox.arm_emulator import ArmEmulator
from sandbox.local_bot import SIGNING_SECRET, LocalBot
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator
from store.db import make_engine, migrate, session_scope
from store.models import (
    Approval,
    AuditEvent,
    ItemLock,
    ManualConfirmation,
    Request,
    RequestStatus,
)
from store.requests import transition
from tests.integration.conftest import (
    APPROVER,
    CHANNEL,
    COMMAND,
    GROUP,
    GROUP_MEMBERS,
    REQUESTER,
    BotFactory,
    approve,
    buttons,
    confirm,
    open_request,
    reprotect_posts,
    roots,
    settle,
    wait_root,
    wait_summary,
)

pytestmark = pytest.mark.slow  # a whole bot per test: `pytest -m "not slow"` leaves them out


def last_ephemeral(slack: SlackEmulator, user: str) -> str:
    slack.wait_for(lambda s: bool(s.ephemerals(user)))
    return str(slack.ephemerals(user)[-1].params["text"])


def test_quorum_of_two_needs_two_distinct_approvers(start_bot: BotFactory,
                                                    slack: SlackEmulator,
                                                    arm: ArmEmulator) -> None:
    bot, driver, root = open_request(
        start_bot, slack, reprotect_required_approvals=2)
    approve(driver, slack, root, APPROVER)
    assert "1 more" in last_ephemeral(slack, APPROVER)
    driver.click(root, "Approve", user_id=APPROVER, channel_id=CHANNEL)
    slack.wait_for(lambda s: len(s.ephemerals(APPROVER)) >= 2)
    assert "already approved" in slack.ephemerals(APPROVER)[-1].params["text"]
    settle(bot)
    assert not reprotect_posts(arm)
    assert buttons(slack.messages(CHANNEL)[0]) == ["Approve", "Reject", "Cancel"]
    assert f"<@{APPROVER}>" in str(slack.messages(CHANNEL)[0].blocks)

    driver.click(root, "Approve", user_id=GROUP_MEMBERS[0], channel_id=CHANNEL)
    assert "3/3 protected" in wait_summary(slack, root)[-1].text
    assert len(reprotect_posts(arm)) == 3


def test_twenty_concurrent_clicks_on_quorum_two_execute_once(start_bot: BotFactory,
                                                             slack: SlackEmulator,
                                                             arm: ArmEmulator) -> None:
    bot = start_bot(reprotect_required_approvals=2)
    driver = SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = confirm(driver, slack, wait_root(slack), GROUP_MEMBERS[0])
    click_together(driver, root, "Approve", GROUP_MEMBERS)
    thread_replies = wait_summary(slack, root)
    assert sum("Reprotect started" in m.text for m in thread_replies) == 1
    assert len(reprotect_posts(arm)) == 3


def test_pending_request_expires_and_loses_its_buttons(start_bot: BotFactory,
                                                       slack: SlackEmulator,
                                                       arm: ArmEmulator) -> None:
    bot, driver, root = open_request(
        start_bot, slack, reprotect_approval_ttl_minutes=1)
    from approvals.workflow import expire_due
    from store.db import session_scope
    from store.models import Request

    assert bot.services is not None
    engine = bot.services.engine
    with session_scope(engine) as session:
        request = session.get(Request, 1)
        assert request is not None and request.expires_at is not None
        request.expires_at = request.expires_at.replace(year=2000)
    assert expire_due(engine) == 1
    slack.wait_for(lambda s: s.messages(CHANNEL)[0].edits > 0)
    assert buttons(slack.messages(CHANNEL)[0]) == []
    assert ":hourglass: *Expired*: not approved in time" in str(slack.messages(CHANNEL)[0].blocks)
    driver.click(root, "Approve", user_id=APPROVER, channel_id=CHANNEL)
    assert "expired" in last_ephemeral(slack, APPROVER)
    settle(bot)
    assert not reprotect_posts(arm)


def test_cancel_by_command_and_by_button(start_bot: BotFactory, slack: SlackEmulator,
                                         arm: ArmEmulator) -> None:
    bot, driver, root = open_request(start_bot, slack)
    driver.slash_command("cancel 1", user_id=REQUESTER, channel_id=CHANNEL)
    slack.wait_for(lambda s: s.messages(CHANNEL)[0].edits > 0)
    assert f"*Cancelled* by <@{REQUESTER}>" in str(slack.messages(CHANNEL)[0].blocks)
    assert buttons(slack.messages(CHANNEL)[0]) == []

    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    slack.wait_for(lambda s: len(roots(s)) == 2)
    second = roots(slack)[1]
    driver.click(second, "Cancel", user_id="U0MALLORY", channel_id=CHANNEL)
    assert "Only the requester or an approver" in last_ephemeral(slack, "U0MALLORY")
    driver.click(second, "Cancel", user_id=APPROVER, channel_id=CHANNEL)
    slack.wait_for(lambda s: roots(s)[1].edits > 0)
    assert f"*Cancelled* by <@{APPROVER}>" in str(roots(slack)[1].blocks)
    driver.click(second, "Approve", user_id=APPROVER, channel_id=CHANNEL)
    slack.wait_for(lambda s: any("already cancelled" in c.params["text"]
                                 for c in s.ephemerals(APPROVER)))
    driver.click(root, "Approve", user_id=APPROVER, channel_id=CHANNEL)
    settle(bot)
    assert not reprotect_posts(arm)


def test_second_request_for_the_same_vms_is_refused_with_a_link(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    bot = start_bot()
    driver = SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    wait_root(slack)
    driver.slash_command('plan=finance-rp master=avs-mt-01 vm=app-02', user_id=APPROVER,
                         channel_id=CHANNEL)
    text = last_ephemeral(slack, APPROVER)
    assert "Request #1" in text and "cancel 1" in text and "https://" in text
    settle(bot)
    assert len(roots(slack)) == 1

    driver.slash_command("cancel 1", user_id=REQUESTER, channel_id=CHANNEL)
    slack.wait_for(lambda s: s.messages(CHANNEL)[0].edits > 0)
    driver.slash_command('plan=finance-rp master=avs-mt-01 vm=app-02', user_id=APPROVER,
                         channel_id=CHANNEL)
    slack.wait_for(lambda s: len(roots(s)) == 2)  # the lock went with the cancel


def test_requesters_setting_limits_who_may_ask(start_bot: BotFactory,
                                              slack: SlackEmulator) -> None:
    """Checked after the acknowledgement (user groups need Slack), and said privately."""
    bot = start_bot(reprotect_requesters=GROUP)
    driver = SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    assert "not allowed to request" in last_ephemeral(slack, REQUESTER)
    settle(bot)
    assert slack.messages(CHANNEL) == []
    accepted = driver.slash_command(COMMAND, user_id=GROUP_MEMBERS[3], channel_id=CHANNEL)
    assert "Checking plan" in accepted.json()["text"]
    wait_root(slack)


def test_channel_restriction(start_bot: BotFactory, slack: SlackEmulator) -> None:
    bot = start_bot(reprotect_channels="C0OTHER")
    driver = SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)
    refused = driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    assert "not enabled in this channel" in refused.json()["text"]
    settle(bot)
    assert slack.messages(CHANNEL) == []


def test_audit_export_tells_the_whole_story(start_bot: BotFactory,
                                            slack: SlackEmulator) -> None:
    bot, driver, root = open_request(start_bot, slack)
    driver.click(root, "Approve", user_id=REQUESTER, channel_id=CHANNEL)
    last_ephemeral(slack, REQUESTER)
    approve(driver, slack, root, APPROVER)
    wait_summary(slack, root)

    env = {**os.environ, "DATABASE_URL": bot.settings.database_url}
    exported = subprocess.run([sys.executable, "-m", "bot.cli", "audit", "--format", "json"],
                              env=env, capture_output=True, text=True, timeout=60, check=True)
    story = [(e["actor"], e["action"]) for e in json.loads(exported.stdout)]
    assert story[:3] == [(REQUESTER, "request"), ("bot", "preflight"),
                         (REQUESTER, "click_refused")]
    assert (APPROVER, "approve") in story and ("bot", "execute") in story
    assert story.count(("bot", "submit")) == 3 and story[-1] == ("bot", "finish")
    assert story.count(("bot", "vm_running")) == 3, "each job start is recorded"
    started = [e for e in json.loads(exported.stdout) if e["action"] == "vm_running"]
    assert all(len(e["detail"]["job"]) == 36 for e in started), "with its job id"
    assert story.count(("bot", "vm_protected")) == 3, "each VM's outcome is recorded"

    as_csv = subprocess.run([sys.executable, "-m", "bot.cli", "audit", "--since",
                             "2000-01-01", "--request", "1"], env=env, capture_output=True,
                            text=True, timeout=60, check=True)
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["action"] for r in rows] == [a for _, a in story]
    assert json.loads(rows[2]["detail"])["refusal"] == "own_request"


def test_two_approvals_clicked_together_reach_a_quorum_of_two(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    """Each click is counted with the other one it races, not on a snapshot taken before."""
    bot = start_bot(reprotect_required_approvals=2)
    driver = SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = confirm(driver, slack, wait_root(slack), GROUP_MEMBERS[0])
    click_together(driver, root, "Approve", GROUP_MEMBERS[1:3])
    assert "3/3 protected" in wait_summary(slack, root, timeout=30)[-1].text
    assert len(reprotect_posts(arm)) == 3


def test_a_refused_approval_leaves_no_confirmations(
        start_bot: BotFactory, slack: SlackEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The manual items an Approve click confirms are kept only with the approval itself."""
    bot, driver, root = open_request(start_bot, slack)
    assert bot.services is not None
    engine = bot.services.engine
    original = Recheck.hold

    def cancelled_meanwhile(self: Recheck, request_id: int, user_id: str) -> Decision | None:
        held = original(self, request_id, user_id)
        with session_scope(engine) as session:  # the requester cancels on another replica
            transition(session, request_id, [RequestStatus.PENDING], RequestStatus.CANCELLED,
                       decided_by=REQUESTER)
        return held

    monkeypatch.setattr(Recheck, "hold", cancelled_meanwhile)
    driver.click(root, "Approve", user_id=APPROVER, channel_id=CHANNEL)
    assert "already cancelled" in last_ephemeral(slack, APPROVER)
    with Session(engine) as session:
        assert session.exec(select(ManualConfirmation)).all() == []
        assert session.exec(select(Approval)).all() == []
        actions = [e.action for e in session.exec(select(AuditEvent)).all()]
    assert "manual_confirm" not in actions and "approve" not in actions


def test_two_open_requests_never_hold_the_same_vms(arm: ArmEmulator, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A second request whose preflight ends while the first is taking its locks is refused:
    the locks and the move to `pending` are one transaction."""
    env = arm.env()
    asr = AzureSiteRecovery(subscription_id=env["AZURE_SUBSCRIPTION_ID"],
                            resource_group=env["ASR_RESOURCE_GROUP"],
                            vault=env["ASR_VAULT_NAME"], arm_endpoint=env["AZURE_ARM_ENDPOINT"])
    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    migrate(engine)
    told: list[tuple[str, str]] = []

    class Told:
        def tell(self, channel: str, user: str, notice: Notice) -> None:
            told.append((user, private.notice(notice)))

    policy = Policy(workspace_team=lambda: "T0", channels=frozenset(), required_approvals=1,
                    approval_ttl=timedelta(hours=1), poll_interval=timedelta(seconds=1),
                    protect_timeout=timedelta(hours=12))
    intake = Intake(engine, Sources(asr), Told(), policy)
    first = intake.receive(SlashCommand("t.1", "T0", CHANNEL, REQUESTER, COMMAND)).request_id
    second = intake.receive(SlashCommand("t.2", "T0", CHANNEL, APPROVER, COMMAND)).request_id
    assert first is not None and second is not None
    real_transition = intake_module.transition

    def second_finishes_meanwhile(session: Session, request_id: int, *args: Any,
                                  **values: Any) -> bool:
        if request_id == first:  # the first is about to become pending: the second ends now
            intake.preflight(second)
        return real_transition(session, request_id, *args, **values)

    monkeypatch.setattr(intake_module, "transition", second_finishes_meanwhile)
    try:
        intake.preflight(first)
    finally:
        asr.close()
    with Session(engine) as session:
        statuses = {r.id: r.status for r in session.exec(select(Request)).all()}
        holders = {lock.request_id for lock in session.exec(select(ItemLock)).all()}
    assert statuses == {first: RequestStatus.ERROR, second: RequestStatus.PENDING}
    assert holders == {second}
    assert any(user == REQUESTER and f"Request #{second}" in text for user, text in told)


def click_together(driver: SlackDriver, message: Any, button: str, users: list[str]) -> None:
    """Each of `users` clicks `button` at the same moment (a barrier), in a thread each."""
    barrier = threading.Barrier(len(users))

    def click(user: str) -> None:
        barrier.wait()
        driver.click(message, button, user_id=user, channel_id=CHANNEL)

    threads = [threading.Thread(target=click, args=(u,)) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def restarts_of(arm: ArmEmulator) -> int:
    return sum(1 for r in arm.requests
               if r.method == "POST" and r.path.lower().endswith("/restart"))


def failed_with_retry(start_bot: BotFactory, slack: SlackEmulator,
                      arm: ArmEmulator) -> tuple[LocalBot, SlackDriver, Any, Any]:
    """A request approved by a quorum of two whose app-02 fails: the bot, the driver, the
    root and the failure reply carrying the Retry button."""
    arm.world.set_reprotect_failure("vm-app-02", times=1)
    bot = start_bot(reprotect_required_approvals=2)
    driver = SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = confirm(driver, slack, wait_root(slack), GROUP_MEMBERS[0])
    driver.click(root, "Approve", user_id=GROUP_MEMBERS[0], channel_id=CHANNEL)
    driver.click(root, "Approve", user_id=GROUP_MEMBERS[1], channel_id=CHANNEL)
    thread = wait_summary(slack, root)
    assert "2/3 protected" in thread[-1].text
    failure = next(m for m in thread if "Retry" in buttons(m))
    return bot, driver, root, failure


def test_retry_needs_the_same_quorum_as_the_approval(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    """Issue 20 item 13: with REPROTECT_REQUIRED_APPROVALS=2 one approver's Retry restarts
    nothing; a second distinct approver's does, once."""
    bot, driver, root, failure = failed_with_retry(start_bot, slack, arm)
    driver.click(failure, "Retry", user_id=GROUP_MEMBERS[2], channel_id=CHANNEL)
    assert "1 more distinct approval" in last_ephemeral(slack, GROUP_MEMBERS[2])
    driver.click(failure, "Retry", user_id=GROUP_MEMBERS[2], channel_id=CHANNEL)
    slack.wait_for(lambda s: len(s.ephemerals(GROUP_MEMBERS[2])) >= 2)
    assert "already approved" in last_ephemeral(slack, GROUP_MEMBERS[2])
    settle(bot)
    assert restarts_of(arm) == 0
    driver.click(failure, "Retry", user_id=GROUP_MEMBERS[3], channel_id=CHANNEL)
    slack.wait_for(lambda s: any("3/3 protected" in m.text
                                 for m in s.thread(CHANNEL, root.ts)), timeout=30)
    assert restarts_of(arm) == 1


def test_two_retries_clicked_together_reach_a_quorum_of_two(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    """Each Retry is counted with the one it races (under the run's row lock): one restart."""
    bot, driver, root, failure = failed_with_retry(start_bot, slack, arm)
    click_together(driver, failure, "Retry", GROUP_MEMBERS[2:4])
    slack.wait_for(lambda s: any("3/3 protected" in m.text
                                 for m in s.thread(CHANNEL, root.ts)), timeout=30)
    settle(bot)
    assert restarts_of(arm) == 1
