"""`manifest.json` creates the Slack app the README's deploy guide starts from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
    return loaded


def commands() -> dict[str, dict[str, Any]]:
    return {c["command"]: c for c in manifest()["features"]["slash_commands"]}


def test_both_commands_are_declared_and_sent_to_the_events_endpoint() -> None:
    assert set(commands()) == {"/reprotect", "/failback"}
    for command in commands().values():
        assert command["url"] == "https://YOUR-BOT-HOST/slack/events"
        assert command["should_escape"] is False
    assert manifest()["settings"]["interactivity"]["request_url"] \
        == "https://YOUR-BOT-HOST/slack/events"


def test_usage_hints_show_every_form_of_the_commands() -> None:
    reprotect = commands()["/reprotect"]["usage_hint"]
    assert "master=<master target>" in reprotect
    assert "appliance=<replication appliance>" in reprotect
    failback = commands()["/failback"]["usage_hint"]
    for form in ("plan=<recovery plan>", "point=latest|consistent", "commit plan=",
                 "cancel plan="):
        assert form in failback

