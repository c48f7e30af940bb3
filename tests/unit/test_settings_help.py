"""The settings are documented where an operator looks (`serve --help`, the README's Settings
table) and every problem with them is reported at once, naming the variable only."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.check import REQUIRED_SCOPES
from bot.help_text import SETTINGS
from bot.settings import Settings, SettingsError, load_settings
from core.log_context import current, log_context

ROOT = Path(__file__).parents[2]


def readme_settings() -> set[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("### Settings", 1)[1].split("\n#", 1)[0]
    return {name for row in section.splitlines() if row.startswith("| `")
            for name in re.findall(r"`([A-Z_]+)`", row.split("|")[1])}


def test_every_setting_is_in_help_and_readme() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    in_help = {name for name, _, _ in SETTINGS}
    assert in_help == fields
    assert readme_settings() == fields


def test_the_scopes_check_asks_for_are_the_manifests() -> None:
    manifest = json.loads((ROOT / "manifest.json").read_text())
    assert set(REQUIRED_SCOPES) == set(manifest["oauth_config"]["scopes"]["bot"])


def test_every_problem_is_one_line_naming_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "VCENTER_USER", "VCENTER_PASSWORD"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "x")
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "s")
    monkeypatch.setenv("ASR_RESOURCE_GROUP", "rg")
    monkeypatch.setenv("ASR_VAULT_NAME", "v")
    monkeypatch.setenv("REPROTECT_APPROVERS", "U0BOB")
    monkeypatch.setenv("LOG_LEVEL", "verbose")
    monkeypatch.setenv("DATABASE_URL", "mysql://root:hunter2@db/bot")
    monkeypatch.setenv("VCENTER_URL", "http://admin:hunter2@vc.example/sdk")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    lines = raised.value.lines
    assert sorted(line.split(":", 1)[0] for line in lines) == [
        "DATABASE_URL", "LOG_LEVEL", "SLACK_BOT_TOKEN", "VCENTER_URL",
        "VCENTER_USER and VCENTER_PASSWORD"]
    assert not any("hunter2" in line or "vc.example" in line for line in lines)


def test_log_context_nests_and_resets() -> None:
    assert current() == {}
    with log_context(request=7):
        with log_context(run=3, vm_name="vm-a"):
            assert current() == {"request_id": 7, "run_id": 3, "vm": "vm-a"}
        assert current() == {"request_id": 7}
    assert current() == {}
