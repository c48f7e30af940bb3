"""The sandbox's console after the walk: type as @alice, click as @bob, see what Slack shows.

Every line typed gets an answer: a command that has nothing to act on says so and what to
type instead; an unknown one points to `help`; nothing typed here ends the sandbox but
`quit`, `exit` or the end of input.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Iterable
from functools import partial

from core.actions import APPROVE, CONFIRM_MANUAL, REJECT, RETRY
from sandbox.sandbox_plans import EXTRA_PLANS, SandboxPlan, command_for
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import ApiCall, Message, SlackEmulator, block_elements
from sandbox.terminal import plain, render

REQUESTER = "U0ALICE"
APPROVER = "U0BOB"
REJECT_REASON = "rejected from the sandbox console"


def say(text: str = "") -> None:
    print(text, flush=True)


def has_action(message: Message, action_id: str) -> bool:
    return any(e.get("action_id") == action_id for _, e in block_elements(message.blocks))


def manual_checkboxes(message: Message) -> tuple[list[str], list[str]]:
    """The manual items' option values in a request message, and those shown ticked."""
    for _, element in block_elements(message.blocks):
        if element.get("action_id") == CONFIRM_MANUAL:
            return ([o["value"] for o in element.get("options", [])],
                    [o["value"] for o in element.get("initial_options", [])])
    return [], []


class Console:
    """Commands typed at the sandbox's prompt, answered against the emulated workspace."""

    def __init__(self, slack: SlackEmulator, driver: SlackDriver, channel: str, *,
                 modernized: bool) -> None:
        self.slack = slack
        self.driver = driver
        self.channel = channel
        self.modernized = modernized

    # -- what the person reads ------------------------------------------------------------

    def help_text(self) -> str:
        plans = "\n".join(f"  - {p.friendly}: {self.plan_now(p)}" for p in EXTRA_PLANS)
        example = command_for(EXTRA_PLANS[0], modernized=self.modernized)
        return (
            "\nPlans to act on (the walked one is protected: nothing is left to do there):\n"
            f"{plans}\n"
            "Type:\n"
            f"  /reprotect …        a command as @alice, e.g. /reprotect {example}\n"
            "  approve [words]     @bob approves the newest request waiting for approval "
            "(whose text has the words)\n"
            "  reject [words]      @bob rejects it, with a reason\n"
            "  retry [words]       @bob clicks Retry on the newest failed VM\n"
            "  help                this list;  quit (or Ctrl-D) ends the sandbox")

    def plan_now(self, plan: SandboxPlan) -> str:
        """Where the plan's request is now, and what to type for it."""
        key = plan.friendly.split()[0].lower()
        root = self.request_of(plan.friendly)
        if root is None:
            command = command_for(plan, modernized=self.modernized)
            return f"not asked for yet: type /reprotect {command}"
        if has_action(root, APPROVE):
            return f"waiting for approval: type `approve {key}` or `reject {key}`"
        if self.newest(RETRY, plan.friendly) is not None:
            return f"a VM failed, Retry is offered: type `retry {key}`"
        if plan.blocked:
            return "blocked: nothing to approve; its message says what blocks and how to fix it"
        return "nothing to act on now: `/reprotect status` shows where it is"

    # -- the loop ---------------------------------------------------------------------------

    def run(self, lines: Iterable[str]) -> None:
        say(self.help_text())
        time.sleep(1.5)  # let the last edits land: show only what the console causes
        seen = len(self.slack.calls)
        for line in lines:
            words = line.strip()
            if words in ("quit", "exit"):
                return
            try:
                self.answer(words)
            except (AssertionError, OSError) as exc:  # an emulator wait or a request failed
                say(f"   {shlex.quote(words)} did not complete ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0] if str(exc) else 'no detail'}); what Slack "
                    "showed follows. The sandbox goes on: type `help`.")
            seen = self.show_new(seen)

    def answer(self, words: str) -> None:
        """Do what one typed line asks, or say why there is nothing to do."""
        verb, _, rest = words.partition(" ")
        if not words:
            return
        if verb == "/reprotect":
            self.command(rest.strip())
        elif verb in ("approve", "reject", "retry"):
            self.click(verb, rest.strip())
        elif verb in ("help", "plans", "?"):
            say(self.help_text())
        else:
            say(f"   unknown command {shlex.quote(words)}: type `help` for what the console "
                "understands.")

    def command(self, text: str) -> None:
        answer = self.driver.slash_command(text, user_id=REQUESTER, channel_id=self.channel)
        reply = answer.json().get("text", "") if answer.content else ""
        say(f"   the bot answers @alice privately (HTTP {answer.status_code}):")
        say(render(reply, None, "     "))

    def click(self, verb: str, words: str) -> None:
        action = {"approve": APPROVE, "reject": REJECT, "retry": RETRY}[verb]
        target = self.newest(action, words)
        if target is None:
            say(self.nothing_to_do(verb, words))
            return
        if verb == "approve":
            self.approve(target)
        elif verb == "reject":
            self.reject(target)
        else:
            self.driver.click_action(target, RETRY, user_id=APPROVER, channel_id=self.channel)

    def newest(self, action_id: str, words: str) -> Message | None:
        """The newest message offering `action_id` whose text has `words` (a request's root,
        or for Retry a failure in a thread, matched with its request's text)."""
        messages = self.slack.messages(self.channel)
        roots = {m.ts: m for m in messages if m.thread_ts is None}
        for message in reversed(messages):
            if not has_action(message, action_id):
                continue
            root = roots.get(message.thread_ts or message.ts, message)
            if words.lower() in f"{root.text} {message.text}".lower():
                return message
        return None

    def nothing_to_do(self, verb: str, words: str) -> str:
        what = {"approve": "waits for approval", "reject": "waits for approval",
                "retry": "has a failed VM offering Retry"}[verb]
        matching = f" matching {shlex.quote(words)}" if words else ""
        return (f"   nothing to {verb}: no request in #{self.channel}{matching} {what} "
                "(the walked plan is already protected). Type `help` for the plans to act "
                "on, or `/reprotect …` to ask for one.")

    def approve(self, request: Message) -> None:
        """Tick the manual items first as the walk does (Approve waits for them), then click."""
        request = tick_manual_items(self.slack, self.driver, request, user_id=APPROVER,
                                    channel_id=self.channel)
        self.driver.click_action(request, APPROVE, user_id=APPROVER, channel_id=self.channel)

    def reject(self, request: Message) -> None:
        opened = self._views_opened()
        self.driver.click_action(request, REJECT, user_id=APPROVER, channel_id=self.channel)
        deadline = time.monotonic() + 5
        while self._views_opened() == opened:
            if time.monotonic() > deadline:
                return  # refused: the ephemeral reply says why
            time.sleep(0.1)
        modal = [c for c in self.slack.calls if c.method == "views.open"][-1].params["view"]
        self.driver.submit_view(modal, {"reason": {"reason_input": REJECT_REASON}},
                                user_id=APPROVER)

    def _views_opened(self) -> int:
        return len([c for c in self.slack.calls if c.method == "views.open"])

    # -- what Slack shows ---------------------------------------------------------------------

    def show_new(self, seen: int, quiet: float = 1.5, most: float = 20) -> int:
        """Print what Slack users would see from the calls after `seen`, once the bot is
        quiet; an edited message is shown once, as it ends up."""
        last = wait_quiet(self.slack, quiet, most)
        calls = [c for c in self.slack.calls[seen:last] if c.ok]
        final_update = {_message_key(c): i for i, c in enumerate(calls)
                        if c.method == "chat.update"}
        for index, call in enumerate(calls):
            if call.method == "chat.update" and final_update[_message_key(call)] != index:
                continue
            self._show(call)
        return last

    def _show(self, call: ApiCall) -> None:
        text, blocks = str(call.params.get("text", "")), call.params.get("blocks")
        if call.method == "chat.postEphemeral":
            say("   only " + plain(f"<@{call.params.get('user')}>") + " sees:")
        elif call.method == "chat.postMessage":
            say("   in the thread:" if call.params.get("thread_ts") else "   in the channel:")
        elif call.method == "chat.update":
            current = self.current(*_message_key(call))
            if current is None:
                return
            say("   a message is edited; it now reads:")
            text, blocks = current.text, current.blocks
        else:
            return
        say(render(text, blocks if isinstance(blocks, list) else None))

    def request_of(self, friendly: str) -> Message | None:
        """The request message of the plan named `friendly`, once posted."""
        return next((m for m in self.slack.messages(self.channel)
                     if m.thread_ts is None and friendly in m.text), None)

    def current(self, channel: str, ts: str) -> Message | None:
        return next((m for m in self.slack.messages(channel) if m.ts == ts), None)


def wait_quiet(slack: SlackEmulator, quiet: float, most: float) -> int:
    """Wait until the bot has called Slack for nothing in `quiet` seconds (at most `most`);
    the number of calls then."""
    deadline = time.monotonic() + most
    last, calm_since = len(slack.calls), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - calm_since < quiet:
        time.sleep(0.1)
        if len(slack.calls) != last:
            last, calm_since = len(slack.calls), time.monotonic()
    return last


def _message_key(call: ApiCall) -> tuple[str, str]:
    return str(call.params.get("channel", "")), str(call.params.get("ts", ""))


def tick_manual_items(slack: SlackEmulator, driver: SlackDriver, root: Message, *,
                      user_id: str, channel_id: str) -> Message:
    """Tick every manual item as `user_id`; return the message once it shows them ticked
    (Approve is refused until then)."""
    values, ticked = manual_checkboxes(root)
    if not values or sorted(ticked) == sorted(values):
        return root

    def current(s: SlackEmulator) -> Message:
        return next(m for m in s.messages(channel_id) if m.ts == root.ts)

    driver.click_action(root, CONFIRM_MANUAL, user_id=user_id, channel_id=channel_id,
                        selected=values)
    slack.wait_for(lambda s: sorted(manual_checkboxes(current(s))[1]) == sorted(values),
                   timeout=20)
    return current(slack)


def wait_until(found: Callable[[], Message | None], timeout: float) -> Message | None:
    """Poll until `found` gives a message, or None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = found()
        if message is not None:
            return message
        time.sleep(0.1)
    return None


def file_extra_plans(console: Console) -> list[tuple[SandboxPlan, bool]]:
    """Ask for each extra plan as @alice (and approve the failing one as @bob), so the
    console starts with a pending, a blocked and a failed request; True where it got there."""
    reached = []
    for plan in EXTRA_PLANS:
        console.driver.slash_command(command_for(plan, modernized=console.modernized),
                                     user_id=REQUESTER, channel_id=console.channel)
        root = wait_until(partial(console.request_of, plan.friendly), 30)
        if root is not None and plan.approve and has_action(root, APPROVE):
            console.approve(root)
            retry = wait_until(partial(console.newest, RETRY, plan.friendly), 90)
            reached.append((plan, retry is not None))
        else:
            reached.append((plan, root is not None))
    return reached
