"""`reprotect-bot sandbox --journey`: one plan through the whole failback, as people see it.

From a plan failed over to Azure: reprotect to AVS, fail back, commit, reprotect to Azure,
each typed by @alice, approved by @bob, followed in its thread until its summary, with
`/reprotect status` (typed by @bob) saying where the plan stands between the steps. The walk
is generic over `STEPS`: the step to take is the one whose starting stage the status shows.
A step this version of the bot does not take (no request message after its command) is said
to be missing and the walk stops there, rather than pretending; it never crashes, and its
temporary folder (database, TLS key) goes away however it ends.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bot.views.journey import STAGE_WORDS
from bot.views.mrkdwn import code
from core.journey import Stage
from sandbox.arm_journey import CLASSIC_PLAN, MODERNIZED_PLAN
from sandbox.arm_modernized import APPLIANCE, ModernizedWorld
from sandbox.console import APPROVER, REQUESTER, say, tick_manual_items
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import Message, SlackEmulator
from sandbox.terminal import render
from sandbox.walkthrough import CHANNEL, emulated, follow_thread, stop_signals_interrupt

FRIENDLY = {False: "Finance tier 1", True: "Web tier"}
PLAN_NAMES = {False: CLASSIC_PLAN, True: MODERNIZED_PLAN}
REQUEST_WAIT = 30.0
STATUS_WAIT = 20.0


@dataclass(frozen=True)
class Step:
    """One step of the journey: what @alice types, the stage it starts from, and the word
    its summary counts when every VM has done it."""

    title: str
    command: str
    starts_at: Stage
    done: str


def steps(modernized: bool) -> tuple[Step, ...]:
    plan = f'plan="{FRIENDLY[modernized]}"'
    to_avs = f"appliance={APPLIANCE}" if modernized else "master=avs-mt-01"
    to_azure = f"appliance={APPLIANCE}" if modernized else "ps=cs01 account=vcenter-avs"
    return (
        Step("Reprotect to AVS", f"/reprotect {plan} {to_avs}", Stage.FAILED_OVER_TO_AZURE,
             "protected"),
        Step("Fail back", f"/failback {plan}", Stage.PROTECTED_TO_AVS, "failed back"),
        Step("Commit", f"/failback commit {plan}", Stage.FAILED_BACK, "committed"),
        Step("Reprotect to Azure", f"/reprotect {plan} {to_azure}", Stage.COMMITTED,
             "protected"),
    )


def run_journey(*, modernized: bool = False, vms: int = 3) -> int:
    """Walk the journey; 0 when the plan ends protected to Azure, 1 otherwise."""
    vms = max(1, min(vms, 100))
    with stop_signals_interrupt(), \
            tempfile.TemporaryDirectory(prefix="reprotect-sandbox-") as name:
        folder = Path(name)
        world = ModernizedWorld.modernized_sample(
            vms, classic_vm_count=vms, plan_name=MODERNIZED_PLAN, plan_friendly_name="Web tier",
            task_seconds=1.0, protect_delay_seconds=1.0)
        with emulated(folder, world) as (slack, arm, _, driver):
            say(f"Sandbox journey: plan {FRIENDLY[modernized]} "
                f"({'modernized' if modernized else 'classic'} architecture), {vms} VMs; "
                f"Slack emulator {slack.api_url}, Site Recovery emulator {arm.base_url}\n")
            started = time.monotonic()
            ok = Journey(slack, driver, modernized).walk()
            say(f"\nJourney {'completed' if ok else 'NOT completed'} in "
                f"{time.monotonic() - started:.1f} s.")
            return 0 if ok else 1


class Journey:
    """The walk: read where the plan stands, take the step that starts there, again."""

    def __init__(self, slack: SlackEmulator, driver: SlackDriver, modernized: bool) -> None:
        self.slack = slack
        self.driver = driver
        self.plan = FRIENDLY[modernized]
        self.steps = steps(modernized)

    def walk(self) -> bool:
        taken: set[str] = set()
        for _ in range(len(self.steps) + 1):
            line = self.status()
            if line is None:
                return False
            if "mixed:" in line:
                say("   The plan's VMs are at different stages: no one step fits; stopping.")
                return False
            if STAGE_WORDS[Stage.PROTECTED_TO_AZURE] in line:
                say("\nThe plan is protected to Azure: the journey is over.")
                return True
            step = next((s for s in self.steps if STAGE_WORDS[s.starts_at] in line
                         and s.title not in taken), None)
            if step is None:
                say("   The plan is at no stage a step of the journey starts from; stopping.")
                return False
            taken.add(step.title)
            if not self.take(step):
                return False
        return False

    def status(self) -> str | None:
        """@bob types `/reprotect status`; the line of the walked plan in its second reply."""
        say(f"\n@bob types in #{CHANNEL}:  /reprotect status")
        before = len(self.slack.ephemerals(APPROVER))
        self.driver.slash_command("status", user_id=APPROVER, channel_id=CHANNEL)
        deadline = time.monotonic() + STATUS_WAIT
        while time.monotonic() < deadline:
            for call in self.slack.ephemerals(APPROVER)[before:]:
                text = str(call.params.get("text", ""))
                if "Where each plan stands" in text or "could not be read" in text:
                    say("   only he sees: " + render(text, None, "").strip())
                    line = next((x for x in text.splitlines() if code(self.plan) in x), None)
                    if line is None:
                        say(f"   The status does not show plan {self.plan}; stopping.")
                    return line
            time.sleep(0.2)
        say(f"   No answer about the plans' stages after {STATUS_WAIT:.0f} s; stopping.")
        return None

    def take(self, step: Step) -> bool:
        """Type the step's command as @alice, approve it as @bob, follow its thread."""
        say(f"\n=== {step.title} ===\n@alice types in #{CHANNEL}:  {step.command}")
        name, _, text = step.command.partition(" ")
        roots = {m.ts for m in self.roots()}
        answer = self.driver.slash_command(text, user_id=REQUESTER, channel_id=CHANNEL,
                                           command=name)
        said = answer.json().get("text", "") if answer.content and answer.status_code == 200 \
            else ""
        say(f"   bot answers privately (HTTP {answer.status_code}): "
            + (render(said, None, "").strip() if said else "(nothing)"))
        root = self.new_root(roots) if answer.status_code == 200 else None
        if root is None:
            say(f"   No request message for {step.title.lower()}: this version of the bot does "
                f"not take {code(name)} for this step yet, so the journey stops here.")
            return False
        say("   The bot posts the preflight in the channel:")
        say(render(root.text, root.blocks))
        if "Approve" not in str(root.blocks):
            say("   The step is blocked: nothing can be approved.")
            return False
        root = tick_manual_items(self.slack, self.driver, root, user_id=APPROVER,
                                 channel_id=CHANNEL)
        say("   @bob, an approver, clicks Approve:")
        self.driver.click(root, "Approve", user_id=APPROVER, channel_id=CHANNEL)
        return follow_thread(self.slack, root.ts, seen_edits=root.edits, done=step.done)

    def roots(self) -> list[Message]:
        return [m for m in self.slack.messages(CHANNEL) if m.thread_ts is None]

    def new_root(self, before: set[str]) -> Message | None:
        deadline = time.monotonic() + REQUEST_WAIT
        while time.monotonic() < deadline:
            fresh = [m for m in self.roots() if m.ts not in before]
            if fresh:
                return fresh[0]
            time.sleep(0.2)
        return None
