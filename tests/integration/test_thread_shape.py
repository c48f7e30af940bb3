"""A 100-VM request's thread stays readable: at most 20 messages, every VM told protected.

Runs the thread benchmark's harness (the bot's Tracker and OutboxSender against the ARM and
Slack emulators, through the real SDKs) with jobs ending over 10 s, so VMs become protected
over many ticks.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks.thread_size import measure

GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(autouse=True)
def no_azure_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"):
        monkeypatch.delenv(key, raising=False)


def test_a_hundred_vm_thread_has_at_most_twenty_messages(tmp_path: Path) -> None:
    thread = measure(100, tmp_path, over_s=10.0)

    assert len(thread.texts) <= 20, "\n---\n".join(thread.texts)
    started = "\n".join(t for t in thread.texts if "Reprotect started" in t)
    assert len(set(GUID.findall(started))) == 100
    told = "\n".join(t for t in thread.texts if "protected" in t and "Summary" not in t)
    assert len(set(re.findall(r"`(vm-app-\d+)`", told))) == 100
    assert sum("Progress" in t for t in thread.texts) == 1
    assert "Summary" in thread.texts[-1] and "100/100 protected" in thread.texts[-1]
