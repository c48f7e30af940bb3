"""`reprotect-bot sandbox`: the whole failback flow on loopback, shown in the terminal.

Starts the Slack and Site Recovery emulators and the real bot (SQLite in a temporary
folder), then plays an incident: an operator asks to reprotect a 3-VM recovery plan, the
requester's own click is refused, an approver approves, and the thread fills up until every
VM is protected. No credentials, no network, no input; exits 0 when every VM is protected.
With `modernized`, the vault and the command are those of the modernized architecture (a
replication appliance: `appliance=`) instead of the classic one (`master=`).
"""

from __future__ import annotations

import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from core.actions import CONFIRM_MANUAL
from sandbox.arm_emulator import ArmEmulator
from sandbox.arm_modernized import APPLIANCE, ModernizedWorld
from sandbox.arm_world import World
from sandbox.local_bot import SIGNING_SECRET, LocalBot, local_settings
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import Message, SlackEmulator, block_elements
from sandbox.terminal import render

CHANNEL = "C0INCIDENT"
REQUESTER = "U0ALICE"
APPROVER = "U0BOB"
WALK_TIMEOUT = 180.0
COMMANDS = {False: '/reprotect plan="Finance tier 1" master=avs-mt-01',
            True: f'/reprotect plan="Finance tier 1" appliance={APPLIANCE}'}


def say(text: str = "") -> None:
    print(text, flush=True)


def run_sandbox(*, keep_running: bool = False, vms: int = 3, modernized: bool = False) -> int:
    vms = max(1, min(vms, 100))
    folder = Path(tempfile.mkdtemp(prefix="reprotect-sandbox-"))
    users = {u: {"name": u.lower()} for u in (REQUESTER, APPROVER)}
    world = (ModernizedWorld.modernized_sample if modernized else World.sample)(
        vms, task_seconds=1.0, protect_delay_seconds=1.0)
    with SlackEmulator(users=users) as slack, ArmEmulator(world, ca_dir=folder) as arm:
        settings = local_settings(slack_api_url=slack.api_url, arm_env=arm.env(),
                                  database_url=f"sqlite:///{folder / 'sandbox.db'}",
                                  approvers=APPROVER, reprotect_poll_seconds=1.0)
        with LocalBot(settings) as bot:
            driver = SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)
            say(f"Sandbox: Slack emulator {slack.api_url}, Site Recovery emulator {arm.base_url}"
                f", bot {bot.base_url}, database {folder / 'sandbox.db'}\n")
            started = time.monotonic()
            ok = walk(slack, driver, COMMANDS[modernized])
            say(f"\nWalk-through {'completed' if ok else 'FAILED'} in "
                f"{time.monotonic() - started:.1f} s.")
            if keep_running:
                interactive(slack, driver)
            return 0 if ok else 1


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


def follow_thread(slack: SlackEmulator, root_ts: str, seen_edits: int = 0) -> bool:
    shown = 0
    deadline = time.monotonic() + WALK_TIMEOUT
    updated = False
    while time.monotonic() < deadline:
        message = slack.messages(CHANNEL)[0]
        if not updated and message.edits > seen_edits:
            updated = True
            say("   The channel message updates:")
            say(render(message.text, message.blocks))
            say("\n6. The thread fills up:")
        replies = slack.thread(CHANNEL, root_ts)
        for reply in replies[shown:]:
            say(render(reply.text, reply.blocks))
            if "Summary" in reply.text:
                return "protected" in reply.text and "failed" not in reply.text
        shown = len(replies)
        time.sleep(0.2)
    say(f"   Gave up after {WALK_TIMEOUT:.0f} s without a summary.")
    return False


def manual_checkboxes(message: Message) -> tuple[list[str], list[str]]:
    """The manual items' option values in a request message, and those shown ticked."""
    for _, element in block_elements(message.blocks):
        if element.get("action_id") == CONFIRM_MANUAL:
            return ([o["value"] for o in element.get("options", [])],
                    [o["value"] for o in element.get("initial_options", [])])
    return [], []


def tick_manual_items(slack: SlackEmulator, driver: SlackDriver, root: Message, *,
                      user_id: str, channel_id: str) -> Message:
    """Tick every manual item as `user_id`; return the message once it shows them ticked
    (Approve is refused until then)."""
    values, _ = manual_checkboxes(root)
    if not values:
        return root

    def current(s: SlackEmulator) -> Message:
        return next(m for m in s.messages(channel_id) if m.ts == root.ts)

    driver.click_action(root, CONFIRM_MANUAL, user_id=user_id, channel_id=channel_id,
                        selected=values)
    slack.wait_for(lambda s: sorted(manual_checkboxes(current(s))[1]) == sorted(values),
                   timeout=20)
    return current(slack)


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


def interactive(slack: SlackEmulator, driver: SlackDriver) -> None:
    """A tiny console: type commands as @alice, click buttons as @bob, see what Slack shows."""
    say("\nInteractive: `/reprotect …` runs as @alice; `approve` / `reject` click the newest "
        "request as @bob; `quit` ends.")
    time.sleep(1.5)  # let the walk's last edits land: show only what the console causes
    seen = len(slack.calls)
    for line in sys.stdin:
        words = line.strip()
        if words in ("quit", "exit"):
            return
        if words.startswith("/reprotect"):
            answer = driver.slash_command(words.removeprefix("/reprotect").strip(),
                                          user_id=REQUESTER, channel_id=CHANNEL)
            say(render(answer.json().get("text", ""), None) if answer.content else "")
        elif words in ("approve", "reject"):
            requests = [m for m in slack.messages(CHANNEL) if m.thread_ts is None]
            if not requests:
                say("   no request yet: type a /reprotect command first")
                continue
            decide(slack, driver, requests[-1], words)
        elif words:
            say("   unknown input: " + shlex.quote(words))
        seen = show_new(slack, seen)


def decide(slack: SlackEmulator, driver: SlackDriver, request: Message, verb: str) -> None:
    """Approve (ticking the manual items first, as in the walk) or reject with a reason."""
    if verb == "approve":
        request = tick_manual_items(slack, driver, request, user_id=APPROVER,
                                    channel_id=CHANNEL)
        driver.click(request, "Approve", user_id=APPROVER, channel_id=CHANNEL)
        return
    opened = len([c for c in slack.calls if c.method == "views.open"])
    driver.click(request, "Reject", user_id=APPROVER, channel_id=CHANNEL)
    try:
        slack.wait_for(lambda s: len([c for c in s.calls if c.method == "views.open"]) > opened,
                       timeout=5)
    except AssertionError:
        return  # refused: the ephemeral reply says why
    modal = [c for c in slack.calls if c.method == "views.open"][-1].params["view"]
    driver.submit_view(modal, {"reason": {"reason_input": "rejected from the sandbox console"}},
                       user_id=APPROVER)


def show_new(slack: SlackEmulator, seen: int, quiet: float = 1.5, most: float = 20) -> int:
    """Print what Slack users would see from the calls after `seen`, once the bot is quiet."""
    deadline = time.monotonic() + most
    last = len(slack.calls)
    calm_since = time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - calm_since < quiet:
        time.sleep(0.1)
        if len(slack.calls) != last:
            last, calm_since = len(slack.calls), time.monotonic()
    for call in slack.calls[seen:last]:
        text, blocks = str(call.params.get("text", "")), call.params.get("blocks")
        if call.method == "chat.postEphemeral":
            say(f"   only <@{call.params.get('user')}> sees:")
        elif call.method == "chat.postMessage":
            say("   in the thread:" if call.params.get("thread_ts") else "   in the channel:")
        elif call.method == "chat.update":
            say("   the request message now reads:")
        else:
            continue
        say(render(text, blocks if isinstance(blocks, list) else None))
    return last
