"""Run `reprotect-bot` as a real process, as Heroku-style platforms and the contract do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import requests

from sandbox.local_bot import SIGNING_SECRET, free_port


def bot_env(*, slack_api_url: str, arm_env: Mapping[str, str], database_url: str,
            approvers: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REPROTECT_",
                                                                       "VCENTER_", "AZURE_"))}
    env.update(arm_env)
    env.update({
        "SLACK_BOT_TOKEN": "xoxb-sandbox", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api_url, "DATABASE_URL": database_url,
        "REPROTECT_APPROVERS": approvers, "REPROTECT_POLL_SECONDS": "0.5",
        "PORT": str(free_port()), "PYTHONPATH": str(Path(__file__).parents[2]),
    })
    env.update(extra)
    return env


class BotProcess:
    """`python -m bot.cli serve` with an environment; waits for /healthz."""

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        self.env = dict(env)
        self.port = int(self.env["PORT"])
        self._log = log_path.open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"],
                                        env=self.env, stdout=self._log,
                                        stderr=subprocess.STDOUT)

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"bot exited early with {self.process.returncode}")
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise AssertionError("bot did not become healthy")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def terminate(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def close(self) -> None:
        if self.process.poll() is None:
            self.kill()
        self._log.close()
