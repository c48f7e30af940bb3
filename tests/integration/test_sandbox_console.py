"""`reprotect-bot sandbox --keep-running` as a person uses it: a real process, commands typed
into its standard input, its output and exit status read; its temporary folder (database,
TLS key) gone afterwards, whichever way it ended."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from sandbox.sandbox_plans import BLOCKED, FAILING, PENDING

pytestmark = pytest.mark.slow  # a whole bot per test: `pytest -m "not slow"` leaves them out

ROOT = Path(__file__).parents[2]
PROMPT_READY = "help                this list"


def sandbox_env(tmp: Path) -> dict[str, str]:
    """This checkout's code, no settings of the developer's, a TMPDIR of its own."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "REPROTECT_", "AZURE_", "VCENTER_"))}
    env.update({"TMPDIR": str(tmp), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"})
    return env


def sandbox(tmp: Path, *extra: str) -> subprocess.Popen[str]:
    """The sandbox in its own process, with a TMPDIR of its own to see what it leaves."""
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "sandbox", "--keep-running",
                             *extra], env=sandbox_env(tmp), cwd=tmp, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


class Reader:
    """Collects a process's output in a thread, so a test can wait for a line."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.text = ""
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.text += line

    def wait_for(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            assert time.monotonic() < deadline, f"no {needle!r} in:\n{self.text[-3000:]}"
            time.sleep(0.2)

    def join(self) -> str:
        self._thread.join(timeout=10)
        return self.text


def leftovers(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.iterdir())


def type_lines(process: subprocess.Popen[str], reader: Reader, lines: list[tuple[str, str]],
               timeout: float = 90) -> None:
    """Type each line once the output shows what the previous one should have caused."""
    assert process.stdin is not None
    for line, expected in lines:
        process.stdin.write(line + "\n")
        process.stdin.flush()
        reader.wait_for(expected, timeout)


def test_every_typed_command_is_answered_and_nothing_is_left(tmp_path: Path) -> None:
    process = sandbox(tmp_path)
    reader = Reader(process)
    reader.wait_for(PROMPT_READY, 240)
    before = reader.text
    # What the console offers after the walk: each plan with its stage and what to type.
    for plan in (PENDING, BLOCKED, FAILING):
        assert f"{plan.friendly}: {plan.stage}" in before, "reached when filed"
    assert "HR tier 2: waiting for approval: type `approve hr` or `reject hr`" in before
    assert "Legacy apps: blocked: nothing to approve; its message says what blocks" in before
    assert "Payments: a VM failed, Retry is offered: type `retry payments`" in before
    type_lines(process, reader, [
        ("something odd", "unknown command 'something odd': type `help`"),
        ("reject nothing-like-this", "nothing to reject: no request in #C0INCIDENT matching "
                                     "nothing-like-this waits for approval"),
        ("retry payments", "approved a retry of pay-01"),
        ("approve hr", "2/2 protected"),
        ("approve", "nothing to approve: no request in #C0INCIDENT waits for approval"),
        ("reject", "nothing to reject: no request in #C0INCIDENT waits for approval"),
        ("/reprotect status", "plan legacy-rp — blocked"),
        ("help", "HR tier 2: nothing to act on now"),
    ])
    assert process.stdin is not None
    process.stdin.write("quit\n")
    process.stdin.flush()
    assert process.wait(timeout=60) == 0
    output = reader.join()
    assert "Traceback" not in output and "AssertionError" not in output
    # The Retry restarted the failed job, which then protected its VM.
    assert "Summary: 1/1 protected" in output  # Payments' only VM (the walk's plan has 3)
    # An edited message is printed as it ends up: the request of HR tier 2 reads done.
    assert "a message is edited; it now reads:" in output
    assert re.search(r"Done — (\d+)/\1 protected", output)  # its first line, in words
    assert leftovers(tmp_path) == []


def test_a_rejection_closes_the_pending_request(tmp_path: Path) -> None:
    process = sandbox(tmp_path)
    reader = Reader(process)
    reader.wait_for(PROMPT_READY, 240)
    type_lines(process, reader, [("reject hr", "rejected from the sandbox console")])
    assert process.stdin is not None
    process.stdin.close()  # end of input (Ctrl-D) ends it too
    assert process.wait(timeout=60) == 0
    assert leftovers(tmp_path) == []


def test_ctrl_c_and_sigterm_remove_the_temporary_folder(tmp_path: Path) -> None:
    for stop, status in ((signal.SIGINT, 130), (signal.SIGTERM, 130)):
        folder = tmp_path / stop.name
        folder.mkdir()
        process = sandbox(folder)
        reader = Reader(process)
        reader.wait_for("Sandbox: Slack emulator", 60)  # the folder and its TLS key exist
        assert any(p.name.startswith("reprotect-sandbox-") for p in folder.iterdir())
        process.send_signal(stop)
        assert process.wait(timeout=60) == status, reader.join()
        assert "Traceback" not in reader.join()
        assert leftovers(folder) == [], stop.name


def test_an_error_during_the_walk_leaves_nothing(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception escapes as itself (the CLI reports it), the folder is removed first."""
    from sandbox import walkthrough

    for key in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "REQUESTS_CA_BUNDLE"):
        monkeypatch.setenv(key, "")  # the sandbox sets them: restored after the test
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def broken(*_: object) -> bool:
        assert leftovers(tmp_path), "the folder exists while the walk runs"
        raise RuntimeError("the walk broke")

    monkeypatch.setattr(walkthrough, "walk", broken)
    with pytest.raises(RuntimeError, match="the walk broke"):
        walkthrough.run_sandbox(keep_running=True, lines=[])
    assert leftovers(tmp_path) == []
