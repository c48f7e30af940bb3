"""How fast the bot acknowledges Slack (budget: 3 s), alone and in a 20-click storm.

Runs the real bot in-process against the emulators, sends signed slash commands one by one,
then 20 concurrent Approve clicks, and prints latency percentiles. Also times the sandbox
walk-through (preflight, approval, 3 VMs protected). Run: `python benchmarks/ack_latency.py`.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from sandbox.arm_emulator import ArmEmulator
from sandbox.arm_world import World
from sandbox.console import tick_manual_items
from sandbox.local_bot import SIGNING_SECRET, LocalBot, local_settings
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator

CHANNEL = "C0BENCH"
APPROVERS = [f"U0APPR{i:02d}" for i in range(20)]


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (f"n={len(ordered)} p50={statistics.median(ordered) * 1000:.1f} ms "
            f"p95={p95 * 1000:.1f} ms max={ordered[-1] * 1000:.1f} ms")


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="reprotect-bench-"))
    users = {u: {"name": u} for u in ["U0ALICE", *APPROVERS]}
    world = World.sample(3, task_seconds=1.0, protect_delay_seconds=1.0)
    with SlackEmulator(users=users, usergroups={"S0APPR": APPROVERS}) as slack, \
            ArmEmulator(world, ca_dir=folder) as arm:
        for key, value in arm.env().items():
            os.environ[key] = value
        settings = local_settings(slack_api_url=slack.api_url, arm_env=arm.env(),
                                  database_url=f"sqlite:///{folder / 'bench.db'}",
                                  approvers="S0APPR", reprotect_poll_seconds=1.0)
        with LocalBot(settings) as bot:
            driver = SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)
            commands = []
            for _ in range(30):
                began = time.perf_counter()
                answer = driver.slash_command('plan="Finance tier 1" master=avs-mt-01',
                                              user_id="U0ALICE", channel_id=CHANNEL)
                commands.append(time.perf_counter() - began)
                assert answer.status_code == 200
            print("slash command ack:", percentiles(commands))

            # The first request locks the plan's VMs: the 29 others are refused privately.
            slack.wait_for(lambda s: bool(s.messages(CHANNEL))
                           and len(s.ephemerals("U0ALICE")) >= 29, timeout=120)
            root = tick_manual_items(slack, driver, slack.messages(CHANNEL)[0],
                                     user_id=APPROVERS[0], channel_id=CHANNEL)
            clicks: list[float] = []
            barrier = threading.Barrier(20)

            def click(user: str) -> None:
                barrier.wait()
                began = time.perf_counter()
                driver.click(root, "Approve", user_id=user, channel_id=CHANNEL)
                clicks.append(time.perf_counter() - began)

            threads = [threading.Thread(target=click, args=(u,)) for u in APPROVERS]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            print("20 concurrent Approve clicks ack:", percentiles(clicks))

            began = time.perf_counter()
            slack.wait_for(lambda s: any("Summary" in m.text for m in s.thread(CHANNEL, root.ts)),
                           timeout=120)
            print(f"approval to summary (3 VMs, 4 tasks x 1 s, poll 1 s): "
                  f"{time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
