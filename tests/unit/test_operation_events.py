"""Events name their operation: rows queued before operations existed still decode as
reprotect's, and the thread words an item done with its operation's word."""

from __future__ import annotations

import pytest

from bot.views import thread
from core import events as ev
from operations import OPERATIONS
from tests.unit.test_tracking_plan_scope import OP


def test_rows_queued_before_operations_decode_as_reprotect() -> None:
    assert ev.decode({"type": "Protected", "vms": ["app-01"]}) == ev.Done(("app-01",),
                                                                        "reprotect")
    old = ev.decode({"type": "Summary", "total": 3, "protected": 2, "failed": 1,
                     "timed_out": 0})
    assert old == ev.Summary(3, 2, 1, 0, "reprotect")
    assert thread.render(old)["text"] == ":warning: *Summary*: 2/3 protected, 1 failed."


def test_the_thread_says_the_operations_done_word(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(OPERATIONS, OP.name, OP)
    assert thread.render(ev.Done(("app-01",), OP.name))["text"] == \
        ":white_check_mark: `app-01` is failed back."
    several = thread.render(ev.Done(("app-01", "app-02"), OP.name))["text"]
    assert several.startswith(":white_check_mark: Each of these 2 VMs is failed back:")
    assert thread.render(ev.Summary(3, 3, 0, 0, OP.name))["text"] == \
        ":tada: *Summary*: 3/3 failed back."
    assert "is protected: replication to the private cloud runs" in \
        thread.render(ev.Done(("app-01",), "reprotect"))["text"]
