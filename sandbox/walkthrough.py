"""`reprotect-bot sandbox`: the whole failback flow on loopback, shown in the terminal.

Starts the Slack and Site Recovery emulators and the real bot (SQLite in a temporary
folder), then plays an incident: an operator asks to reprotect a 3-VM recovery plan, the
requester's own click is refused, an approver approves, and the thread fills up until every
VM is protected. No credentials, no network, no input; exits 0 when every VM is protected.
With `keep_running`, the vault's other plans are filed and a console answers what is typed
(`sandbox.console`). The temporary folder goes away however the sandbox ends.
With `modernized`, the vault and the command are those of the modernized architecture (a
replication appliance: `appliance=`) instead of the classic one (`master=`).
"""

from __future__ import annotations

import re
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from sandbox.arm_emulator import ArmEmulator
from sandbox.arm_modernized import APPLIANCE, ModernizedWorld
from sandbox.arm_world import World
from sandbox.console import (
    APPROVER,
    REQUESTER,
    Console,
    file_extra_plans,
    say,
    tick_manual_items,
    wait_quiet,
)
from sandbox.local_bot import SIGNING_SECRET, LocalBot, local_settings
from sandbox.sandbox_plans import add_extra_plans
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import Message, SlackEmulator
from sandbox.terminal import render

CHANNEL = "C0INCIDENT"
WALK_TIMEOUT = 180.0
COMMANDS = {False: '/reprotect plan="Finance tier 1" master=avs-mt-01',
            True: f'/reprotect plan="Finance tier 1" appliance={APPLIANCE}'}


def run_sandbox(*, keep_running: bool = False, vms: int = 3, modernized: bool = False,
                lines: Iterable[str] | None = None) -> int:
    """Walk the flow; with `keep_running`, then answer the console's `lines` (stdin)."""
    vms = max(1, min(vms, 100))
    # The folder holds the database and the emulator's TLS key: removed on every exit,
    # Ctrl-C, SIGTERM, a closed terminal (SIGHUP) and errors included.
    with stop_signals_interrupt(), \
            tempfile.TemporaryDirectory(prefix="reprotect-sandbox-") as name:
        return _run_in(Path(name), keep_running=keep_running, vms=vms, modernized=modernized,
                       lines=sys.stdin if lines is None else lines)


class Workspace(NamedTuple):
    """The emulated workspace and vault, the bot between them, and a driver to click."""

    slack: SlackEmulator
    arm: ArmEmulator
    bot: LocalBot
    driver: SlackDriver


@contextmanager
def emulated(folder: Path, world: World) -> Iterator[Workspace]:
    """Slack and Site Recovery emulators and the bot (SQLite in `folder`), @bob approving."""
    users = {u: {"name": u.lower()} for u in (REQUESTER, APPROVER)}
    with SlackEmulator(users=users) as slack, ArmEmulator(world, ca_dir=folder) as arm:
        settings = local_settings(slack_api_url=slack.api_url, arm_env=arm.env(),
                                  database_url=f"sqlite:///{folder / 'sandbox.db'}",
                                  approvers=APPROVER, reprotect_poll_seconds=1.0)
        with LocalBot(settings) as bot:
            yield Workspace(slack, arm, bot,
                            SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack))


def _run_in(folder: Path, *, keep_running: bool, vms: int, modernized: bool,
            lines: Iterable[str]) -> int:
    world = (ModernizedWorld.modernized_sample if modernized else World.sample)(
        vms, task_seconds=1.0, protect_delay_seconds=1.0)
    add_extra_plans(world, modernized=modernized)
    with emulated(folder, world) as (slack, arm, bot, driver):
        say(f"Sandbox: Slack emulator {slack.api_url}, Site Recovery emulator {arm.base_url}"
            f", bot {bot.base_url}, database {folder / 'sandbox.db'}\n")
        started = time.monotonic()
        ok = walk(slack, driver, COMMANDS[modernized])
        say(f"\nWalk-through {'completed' if ok else 'FAILED'} in "
            f"{time.monotonic() - started:.1f} s.")
        if keep_running:
            console = Console(slack, driver, CHANNEL, modernized=modernized)
            say("\nFiling the vault's other plans as @alice, so there is something to act "
                "on:")
            for plan, reached in file_extra_plans(console):
                say(f"   {plan.friendly}: {plan.stage if reached else 'not there yet'}")
            console.run(lines)
        return 0 if ok else 1


@contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP unwind like Ctrl-C, so every `with` below cleans up; restored after.
    Signals can be set only from the main thread: elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    for stop in previous:
        signal.signal(stop, _interrupt)
    try:
        yield
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def walk(slack: SlackEmulator, driver: SlackDriver, command: str) -> bool:
    say(f"1. @alice types in #{CHANNEL}:  {command}")
    answer = driver.slash_command(command.split(" ", 1)[1], user_id=REQUESTER, channel_id=CHANNEL)
    say(f"   bot answers privately (HTTP {answer.status_code}): "
        f"{answer.json().get('text', '') if answer.content else ''}")
    root = wait_message(lambda: slack.messages(CHANNEL))
    if root is None:
        return False
    say("\n2. The bot posts the preflight in the channel:")
    say(render(root.text, root.blocks))
    if "Approve" not in str(root.blocks):
        say("   The plan is blocked: nothing can be approved.")
        return False
    say("\n3. @alice clicks Approve on her own request:")
    before = len(slack.ephemerals(REQUESTER))
    driver.click(root, "Approve", user_id=REQUESTER, channel_id=CHANNEL)
    slack.wait_for(lambda s: len(s.ephemerals(REQUESTER)) > before, timeout=10)
    say("   only she sees: " + render(_ephemeral_text(slack, REQUESTER), None, "").strip())
    say("\n4. @bob, an approver, ticks what the bot cannot see (network path, failback "
        "ports):")
    root = tick_manual_items(slack, driver, root, user_id=APPROVER, channel_id=CHANNEL)
    say(render("", [b for b in root.blocks if b.get("type") == "context"
                    and "Ticked" in str(b)]).rstrip())
    say("\n5. @bob clicks Approve: the bot re-runs the preflight, finds it unchanged, and "
        "starts:")
    driver.click(root, "Approve", user_id=APPROVER, channel_id=CHANNEL)
    return follow_thread(slack, root.ts, seen_edits=root.edits)


def follow_thread(slack: SlackEmulator, root_ts: str, seen_edits: int = 0,
                  done: str = "protected") -> bool:
    """Print the request's thread as it fills up; True when its summary counts every VM
    `done` (`3/3 protected`)."""
    shown: dict[str, int] = {root_ts: seen_edits}  # ts -> edits of the version printed
    deadline = time.monotonic() + WALK_TIMEOUT
    while time.monotonic() < deadline:
        message = next(m for m in slack.messages(CHANNEL) if m.ts == root_ts)
        if shown[root_ts] == seen_edits and message.edits > seen_edits:
            shown[root_ts] = message.edits
            say("   The channel message updates:")
            say(render(message.text, message.blocks))
            say("\n6. The thread fills up:")
        for reply in slack.thread(CHANNEL, root_ts):
            if reply.ts in shown:
                continue
            shown[reply.ts] = reply.edits
            say(render(reply.text, reply.blocks))
            if "Summary" in reply.text:
                show_final_versions(slack, shown)
                return every_vm(reply.text, done)
        time.sleep(0.2)
    say(f"   Gave up after {WALK_TIMEOUT:.0f} s without a summary.")
    return False


def every_vm(summary: str, done: str) -> bool:
    """The summary counts every VM `done` (`3/3 failed back`) and nothing else."""
    counted = re.search(rf"\b(\d+)/(\d+) {re.escape(done)}\b", summary)
    if counted is None:
        return False
    rest = summary.replace(counted.group(0), "")
    return counted.group(1) == counted.group(2) and "failed" not in rest


def show_final_versions(slack: SlackEmulator, shown: dict[str, int], quiet: float = 1.0) -> None:
    """Messages edited in place after they were printed (the request, the progress message),
    as they end up once the bot has been quiet for `quiet` seconds."""
    wait_quiet(slack, quiet, most=10)
    edited = [m for m in slack.messages(CHANNEL) if m.ts in shown and m.edits > shown[m.ts]]
    if edited:
        say("\n7. Messages edited in place since they were shown, as they end up:")
    for message in edited:
        say("   " + ("The request message:" if message.thread_ts is None
                     else "In the thread, edited:"))
        say(render(message.text, message.blocks))


def wait_message(get: Callable[[], list[Message]], timeout: float = 30) -> Message | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = get()
        if messages:
            return messages[0]
        time.sleep(0.1)
    say(f"   No channel message after {timeout:.0f} s; the bot's log above says why.")
    return None


def _ephemeral_text(slack: SlackEmulator, user: str) -> str:
    return str(slack.ephemerals(user)[-1].params.get("text", ""))
