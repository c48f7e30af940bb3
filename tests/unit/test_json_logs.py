"""LOG_FORMAT=json: a traceback, a warning and a thread's uncaught exception each stay one
JSON object on one line, with the ids of the work they concern."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import warnings
from collections.abc import Iterator

import pytest

from bot import logs
from core.log_context import log_context


@pytest.fixture
def stderr(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, sys.excepthook, threading.excepthook)
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buffer)
    logs.configure("json", "INFO")
    yield buffer
    handlers, level, sys.excepthook, threading.excepthook = saved
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(False)


def records(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_traceback_is_one_line_with_the_ids(stderr: io.StringIO) -> None:
    with log_context(request=4, run=9, vm_name="fin-db-01"):
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("commands.tracking.ticker").exception("tick failed")
    [record] = records(stderr)
    assert record["message"] == "tick failed" and record["level"] == "ERROR"
    assert (record["request_id"], record["run_id"], record["vm"]) == (4, 9, "fin-db-01")
    assert "RuntimeError: boom" in str(record["exc_info"])
    assert str(record["time"]).endswith("+00:00")


def test_warnings_and_thread_crashes_are_json(stderr: io.StringIO) -> None:
    warnings.warn("deprecated thing", DeprecationWarning, stacklevel=1)

    def crash() -> None:
        raise ValueError("in a thread")

    thread = threading.Thread(target=crash, name="worker")
    thread.start()
    thread.join()
    found = records(stderr)
    assert any("deprecated thing" in str(r["message"]) for r in found)
    crashed = [r for r in found if r["level"] == "CRITICAL"]
    assert crashed and "worker" in str(crashed[0]["message"])
    assert "ValueError: in a thread" in str(crashed[0]["exc_info"])
