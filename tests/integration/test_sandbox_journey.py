"""`reprotect-bot sandbox --journey` as a person runs it: a real process, its output and exit
status read, its temporary folder gone afterwards; both architectures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_sandbox_console import leftovers, sandbox_env


def journey(tmp: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", "sandbox", "--journey", "--vms", "2",
                           *extra], env=sandbox_env(tmp), cwd=tmp, capture_output=True,
                          text=True, timeout=400, check=False)


@pytest.mark.parametrize("extra", [(), ("--modernized",)], ids=["classic", "modernized"])
def test_the_journey_walks_every_step_the_bot_takes(tmp_path: Path, extra: tuple[str, ...]
                                                    ) -> None:
    done = journey(tmp_path, *extra)
    output = done.stdout + done.stderr
    assert "Traceback" not in output and "AssertionError" not in output
    plan = "Web tier" if extra else "Finance tier 1"
    # Before any step: the status tells where the plan stands, and the first step follows.
    assert f"{plan} (2 VMs): failed over to Azure, not protected — next: /reprotect to AVS" \
        in output
    assert "=== Reprotect to AVS ===" in output and "Summary: 2/2 protected" in output
    assert "Where the plan stands (at preflight): failed over to Azure, not protected" in output
    assert f"{plan} (2 VMs): protected to AVS, ready to fail back — next: /failback" in output
    assert "=== Fail back ===" in output
    # Every later step runs to its summary, and the plan ends protected to Azure.
    assert "Journey completed" in output, output[-2000:]
    assert done.returncode == 0
    assert "2/2 failed back" in output
    for step, summary in (("Commit", "2/2 committed"), ("Reprotect to Azure", "2/2 protected")):
        assert f"=== {step} ===" in output and summary in output.split(f"=== {step} ===")[1]
    assert f"{plan} (2 VMs): protected to Azure" in output
    assert leftovers(tmp_path) == []
