"""The bot as a process: configuration errors, SIGTERM, and a crash during tracking."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.arm_emulator import ArmEmulator
from sandbox.arm_world import World
from sandbox.local_bot import SIGNING_SECRET
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator
from tests.integration.conftest import (
    APPROVER,
    CHANNEL,
    COMMAND,
    REQUESTER,
    approve,
    reprotect_posts,
    wait_root,
    wait_summary,
)
from tests.integration.processes import BotProcess, bot_env

pytestmark = pytest.mark.slow  # a whole bot per test: `pytest -m "not slow"` leaves them out


@pytest.fixture
def world() -> World:
    return World.sample(3, task_seconds=1.0, protect_delay_seconds=0.5)


@pytest.fixture
def env(slack: SlackEmulator, arm: ArmEmulator, tmp_path: Path) -> dict[str, str]:
    return bot_env(slack_api_url=slack.api_url, arm_env=arm.env(),
                   database_url=f"sqlite:///{tmp_path / 'bot.db'}", approvers=APPROVER)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[BotProcess]]:
    started: list[BotProcess] = []
    yield started
    for process in started:
        process.close()


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("change", "variable"), [
    ({"SLACK_BOT_TOKEN": None}, "SLACK_BOT_TOKEN"),
    ({"REPROTECT_APPROVERS": "alice"}, "REPROTECT_APPROVERS"),
    ({"PORT": "eighty"}, "PORT"),
    ({"SLACK_SIGNING_SECRET": None}, "SLACK_SIGNING_SECRET"),
    ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET"),
    ({"SLACK_SIGNING_SECRET": "  \t "}, "SLACK_SIGNING_SECRET"),
    ({"SLACK_BOT_TOKEN": " "}, "SLACK_BOT_TOKEN"),
    ({"SLACK_APP_TOKEN": ""}, "SLACK_APP_TOKEN"),
    ({"VCENTER_URL": "https://vc.example/sdk", "VCENTER_USER": "svc",
      "VCENTER_PASSWORD": "  "}, "VCENTER_PASSWORD"),
    ({"VCENTER_URL": "https://vc.example/sdk"}, "VCENTER_USER"),
])
def test_bad_setting_exits_2_with_one_line(change: dict[str, str | None], variable: str,
                                           env: dict[str, str]) -> None:
    for key, value in change.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    result = run_cli(["serve"], env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], result.stderr
    assert "Traceback" not in result.stderr and SIGNING_SECRET not in result.stderr


def test_migrate_creates_the_schema(env: dict[str, str], tmp_path: Path) -> None:
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert run_cli(["migrate"], env).returncode == 0
    assert run_cli(["migrate"], env).returncode == 0  # idempotent


def test_sigterm_stops_cleanly_with_status_0(env: dict[str, str], tmp_path: Path,
                                             processes: list[BotProcess]) -> None:
    bot = BotProcess(env, tmp_path / "bot.log")
    processes.append(bot)
    bot.wait_healthy()
    assert bot.terminate() == 0
    assert "stopped cleanly" in (tmp_path / "bot.log").read_text()


def test_killed_during_tracking_resumes_without_resubmitting(
        env: dict[str, str], tmp_path: Path, slack: SlackEmulator, arm: ArmEmulator,
        processes: list[BotProcess]) -> None:
    first = BotProcess(env, tmp_path / "bot.log")
    processes.append(first)
    first.wait_healthy()
    driver = SlackDriver(first.events_url, SIGNING_SECRET, emulator=slack)
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    approve(driver, slack, root, APPROVER)
    slack.wait_for(lambda s: any("Reprotect started" in m.text
                                 for m in s.thread(CHANNEL, root.ts)), timeout=30)
    assert not any("Summary" in m.text for m in slack.thread(CHANNEL, root.ts))
    first.kill()

    second = BotProcess(env, tmp_path / "bot.log")
    processes.append(second)
    second.wait_healthy()
    texts = [m.text for m in wait_summary(slack, root, timeout=120)]
    assert "3/3 protected" in texts[-1]
    assert len(reprotect_posts(arm)) == 3
    assert sum("Summary" in t for t in texts) == 1
