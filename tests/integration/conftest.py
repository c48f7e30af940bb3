"""Fixtures that run the real bot against the Slack and Site Recovery emulators on loopback."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from gateways.vcenter import VCenterGateway
from sandbox.arm_emulator import ArmEmulator
from sandbox.arm_world import World
from sandbox.console import tick_manual_items
from sandbox.local_bot import SIGNING_SECRET, LocalBot, local_settings
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import Message, SlackEmulator
from tests.support.arm_role import uncovered
from tests.support.vcsim import VcsimInstance
from tests.support.vcsim_shapes import admin_content
from tests.support.vcsim_shapes import config as vcsim_config

CHANNEL = "C0INCIDENT"
REQUESTER = "U0ALICE"
APPROVER = "U0BOB"
OUTSIDER = "U0MALLORY"
GROUP = "S0APPROVERS"
GROUP_MEMBERS = [f"U0APPR{i:02d}" for i in range(20)]
COMMAND = 'plan="Finance tier 1" master=avs-mt-01'


def workspace(**options: Any) -> SlackEmulator:
    """The emulated workspace the tests use: its people and the approvers' user group."""
    users = {u: {"name": u.lower()} for u in (REQUESTER, APPROVER, OUTSIDER, *GROUP_MEMBERS)}
    return SlackEmulator(users=users, usergroups={GROUP: GROUP_MEMBERS}, **options)


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with workspace() as emulator:
        yield emulator


@pytest.fixture
def world() -> World:
    return World.sample(3, task_seconds=0.2, protect_delay_seconds=0.2)


@pytest.fixture
def arm(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ArmEmulator]:
    with ArmEmulator(world, ca_dir=tmp_path / "ca") as emulator:
        for key in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET",
                    "MSI_ENDPOINT", "MSI_SECRET", "AZURE_FEDERATED_TOKEN_FILE"):
            monkeypatch.delenv(key, raising=False)
        for key, value in emulator.env().items():
            monkeypatch.setenv(key, value)
        yield emulator
    # Every request the bot sent in the test is one the least-privilege role allows.
    denied = uncovered([(r.method, r.path) for r in emulator.requests])
    assert not denied, f"deploy/site-recovery-role.json does not allow: {denied}"


BotFactory = Callable[..., LocalBot]


@pytest.fixture
def start_bot(slack: SlackEmulator, arm: ArmEmulator, tmp_path: Path) -> Iterator[BotFactory]:
    """Start the bot with settings overrides; stopped at the end of the test."""
    bots: list[LocalBot] = []

    def start(**overrides: Any) -> LocalBot:
        settings = local_settings(
            slack_api_url=slack.api_url, arm_env=arm.env(),
            database_url=f"sqlite:///{tmp_path / 'bot.db'}",
            approvers=overrides.pop("approvers", f"{APPROVER},{GROUP}"), **overrides)
        bot = LocalBot(settings).start()
        bots.append(bot)
        return bot

    yield start
    for bot in bots:
        bot.stop()


@pytest.fixture
def bot(start_bot: BotFactory) -> LocalBot:
    return start_bot()


@pytest.fixture
def driver(bot: LocalBot, slack: SlackEmulator) -> SlackDriver:
    return SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)


class Opened(NamedTuple):
    """A started bot, a driver to it, and the channel message of one `/reprotect`."""

    bot: LocalBot
    driver: SlackDriver
    root: Message


def open_request(start_bot: BotFactory, slack: SlackEmulator, **overrides: Any) -> Opened:
    """Start a bot with `overrides`, run the standard command as the requester, wait for it."""
    bot = start_bot(**overrides)
    driver = SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    return Opened(bot, driver, wait_root(slack))


def roots(slack: SlackEmulator) -> list[Message]:
    """Channel messages that are not thread replies."""
    return [m for m in slack.messages(CHANNEL) if m.thread_ts is None]


def wait_root(slack: SlackEmulator, timeout: float = 20) -> Message:
    slack.wait_for(lambda s: bool(s.messages(CHANNEL)), timeout=timeout)
    return slack.messages(CHANNEL)[0]


def wait_summary(slack: SlackEmulator, root: Message, timeout: float = 60) -> list[Message]:
    slack.wait_for(lambda s: any("Summary" in r.text for r in s.thread(CHANNEL, root.ts)),
                   timeout=timeout)
    return slack.thread(CHANNEL, root.ts)


def progress_history(slack: SlackEmulator) -> list[str]:
    """Every version the thread's progress message went through (it is edited in place, so
    the thread shows only its last): the texts of the posts and edits that carried it."""
    return [str(c.params.get("text", "")) for c in slack.calls
            if c.ok and c.method in ("chat.postMessage", "chat.update")
            and "*Progress*" in str(c.params.get("text", ""))]


def buttons(message: Message) -> list[str]:
    return [e["text"]["text"] for b in message.blocks if b.get("type") == "actions"
            for e in b["elements"] if e.get("type") == "button"]


def reprotect_posts(arm: ArmEmulator) -> list[Any]:
    return [r for r in arm.requests
            if r.method == "POST" and r.path.lower().endswith("/reprotect")]


def settle(bot: LocalBot, ticks: int = 2) -> None:
    """Before asserting that something did NOT happen: wait until `bot` is idle (nothing
    queued after an acknowledgement, `ticks` whole tracking and outbox ticks, nothing due)."""
    bot.idle(ticks)


def probed(bot: LocalBot, arm: ArmEmulator, timeout: float = 20) -> int:
    """Wait for the bot's first readiness probe of the vault (its own background reads), and
    return how many requests Site Recovery had by then: what a command reads comes after."""
    assert bot.services is not None
    readiness = bot.services.readiness
    deadline = time.monotonic() + timeout
    while readiness.report()[1]["dependencies"]["vault"]["state"] == "starting":
        if time.monotonic() > deadline:
            raise TimeoutError("the vault was never probed")
        time.sleep(0.05)
    return len(arm.requests)


def confirm(driver: SlackDriver, slack: SlackEmulator, root: Message, user: str) -> Message:
    """Tick every manual preflight item (network path, failback ports) as `user`; the bot
    refuses approvals until they are. Returns the message as it shows them ticked."""
    return tick_manual_items(slack, driver, root, user_id=user, channel_id=CHANNEL)


def approve(driver: SlackDriver, slack: SlackEmulator, root: Message, user: str,
            **click: Any) -> Any:
    """Tick the manual preflight items as `user`, then click Approve."""
    ticked = confirm(driver, slack, root, user)
    return driver.click(ticked, "Approve", user_id=user, channel_id=CHANNEL, **click)


@pytest.fixture(scope="module")
def content(vcsim: VcsimInstance) -> Iterator[Any]:
    """The vSphere admin's own session on the module's vcsim (each vCenter test module starts
    its simulator with the inventory it needs, as a `vcsim` fixture)."""
    with admin_content(vcsim) as service_content:
        yield service_content


@pytest.fixture
def gateway(vcsim: VcsimInstance) -> Iterator[VCenterGateway]:
    """The bot's vCenter gateway on the module's vcsim, logged out afterwards."""
    gw = VCenterGateway(vcsim_config(vcsim))
    yield gw
    gw.close()
