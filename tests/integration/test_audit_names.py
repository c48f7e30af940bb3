"""The audit export after a full flow: who acted by id and by the name Slack gave then, in
which channel, and the values each VM's reprotect carried."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from typing import Any

import pytest

from sandbox.slack_emulator import SlackEmulator
from store.db import make_engine
from store.slack_names import remember
from tests.integration.conftest import (
    APPROVER,
    CHANNEL,
    REQUESTER,
    BotFactory,
    approve,
    open_request,
    wait_summary,
)

pytestmark = pytest.mark.slow  # a whole bot per test: `pytest -m "not slow"` leaves them out


def export(database_url: str, fmt: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "bot.cli", "audit", "--format", fmt], env=env,
                          capture_output=True, text=True, timeout=60, check=True).stdout


def test_export_names_who_acted_where_and_the_values_sent(start_bot: BotFactory,
                                                          slack: SlackEmulator) -> None:
    bot, driver, root = open_request(start_bot, slack)
    approve(driver, slack, root, APPROVER)
    wait_summary(slack, root)
    # Renamed after the fact: the trail keeps the names of the time of each action.
    remember(make_engine(bot.settings.database_url), {APPROVER: "robert", CHANNEL: "renamed"})

    events: list[dict[str, Any]] = json.loads(export(bot.settings.database_url, "json"))
    by_action = {(e["actor"], e["action"]): e for e in events}
    request = by_action[(REQUESTER, "request")]
    assert (request["actor_name"], request["channel_id"], request["channel_name"]) == (
        "u0alice", CHANNEL, CHANNEL.lower()), "the slash command's user_name and channel_name"
    approval = by_action[(APPROVER, "approve")]
    assert (approval["actor_name"], approval["channel_name"]) == ("u0bob", CHANNEL.lower())
    ticks = by_action[(APPROVER, "manual_confirm")]
    assert ticks["actor_name"] == "u0bob", "the click payload's user.name"

    submits = [e for e in events if e["action"] == "submit"]
    assert sorted(s["detail"]["vm"] for s in submits) == ["app-01", "app-02", "app-03"]
    for submit in submits:
        values, sent = submit["detail"]["values"], submit["detail"]["sent"]
        assert values["vm"].startswith(f"{submit['detail']['vm']} (")
        assert values["plan"].startswith("Finance tier 1 (")
        assert values["master_target"].startswith("avs-mt-01 (")
        assert values["process_server"].startswith("azure-ps-01 (")
        assert values["retention"].startswith("R:")
        assert values["policy"].startswith("vmware-azure-policy-failback (")
        assert values["master_target"].endswith(f"({sent['master_target_id']})")
        assert sent["retention_drive"] and sent["profile_id"] and sent["process_server_id"]
        assert submit["channel_id"] == CHANNEL and submit["actor"] == "bot"

    rows = list(csv.DictReader(io.StringIO(export(bot.settings.database_url, "csv"))))
    assert list(rows[0]) == ["at", "request_id", "actor", "actor_name", "channel_id",
                             "channel_name", "action", "detail"]
    assert [(r["actor"], r["actor_name"], r["action"]) for r in rows] == [
        (e["actor"], e["actor_name"], e["action"]) for e in events]
    submitted = [json.loads(r["detail"]) for r in rows if r["action"] == "submit"]
    assert [s["values"] for s in submitted] == [s["detail"]["values"] for s in submits]
