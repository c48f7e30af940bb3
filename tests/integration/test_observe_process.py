"""The bot as a process, as an SRE meets it: JSON logs of a whole run, `check` with broken
dependencies, every bad setting at once, `--version` and `--help`."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from sandbox.arm_emulator import ArmEmulator
from sandbox.local_bot import SIGNING_SECRET
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator
from tests.integration.conftest import (
    APPROVER,
    CHANNEL,
    COMMAND,
    REQUESTER,
    approve,
    wait_root,
    wait_summary,
)
from tests.integration.processes import BotProcess, bot_env

pytestmark = pytest.mark.slow  # a whole bot per test: `pytest -m "not slow"` leaves them out

SETTINGS_VARIABLES = (
    "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "PORT",
    "DATABASE_URL", "AZURE_SUBSCRIPTION_ID", "ASR_RESOURCE_GROUP", "ASR_VAULT_NAME",
    "AZURE_ARM_ENDPOINT", "VCENTER_URL", "VCENTER_USER", "VCENTER_PASSWORD",
    "VCENTER_CA_BUNDLE", "VCENTER_INSECURE", "REPROTECT_APPROVERS", "REPROTECT_CHANNELS",
    "REPROTECT_REQUIRED_APPROVALS", "REPROTECT_APPROVAL_TTL_MINUTES", "REPROTECT_POLL_SECONDS",
    "REPROTECT_PROTECT_TIMEOUT_MINUTES", "LOG_FORMAT", "LOG_LEVEL")


@pytest.fixture
def env(slack: SlackEmulator, arm: ArmEmulator, tmp_path: Path) -> dict[str, str]:
    return bot_env(slack_api_url=slack.api_url, arm_env=arm.env(),
                   database_url=f"sqlite:///{tmp_path / 'bot.db'}", approvers=APPROVER)


def run_cli(args: list[str], env: dict[str, str] | None = None,
            timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_every_line_of_a_whole_run_is_one_json_object(env: dict[str, str], slack: SlackEmulator,
                                                      tmp_path: Path) -> None:
    env.update(LOG_FORMAT="json", LOG_LEVEL="DEBUG")
    log_path = tmp_path / "bot.log"
    bot = BotProcess(env, log_path)  # stdout and stderr both go to the log
    try:
        bot.wait_healthy()
        driver = SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)
        driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
        root = wait_root(slack)
        approve(driver, slack, root, APPROVER)
        assert "3/3 protected" in wait_summary(slack, root)[-1].text
        assert bot.terminate() == 0
    finally:
        bot.close()
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    records = []
    for line in lines:
        record = json.loads(line)  # raises on any line that is not one JSON object
        assert isinstance(record, dict), line
        assert datetime.fromisoformat(record["time"]).tzinfo is not None, line
        assert record["level"] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), line
        assert isinstance(record["message"], str), line
        records.append(record)
    loggers = {r["logger"] for r in records}
    assert "uvicorn.access" in loggers  # the HTTP server's own access lines, as JSON
    about_vms = [r for r in records if "vm" in r]
    assert about_vms and all("run_id" in r and "request_id" in r for r in about_vms)
    assert any("request_id" in r and "vm" not in r for r in records)
    assert any(r["message"] == "stopped cleanly" for r in records)
    assert "xoxb-sandbox" not in log_path.read_text()
    assert SIGNING_SECRET not in log_path.read_text()


def test_check_lists_every_broken_dependency(env: dict[str, str]) -> None:
    assert run_cli(["migrate"], env).returncode == 0
    env.update(SLACK_BOT_TOKEN="xoxb-revoked", ASR_VAULT_NAME="no-such-vault")
    result = run_cli(["check"], env)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    by_name = {line.split(":", 1)[0].split()[-1]: line for line in lines}
    assert by_name["slack"].startswith("FAIL") and "invalid_auth" in by_name["slack"]
    assert by_name["vault"].startswith("FAIL") and "no-such-vault" in by_name["vault"]
    assert by_name["database"].startswith("ok")
    assert by_name["vcenter"].startswith("warn") and "not configured" in by_name["vcenter"]
    assert lines[-1].startswith("FAIL") and "2 of 4 checks failed" in lines[-1]
    assert "xoxb-revoked" not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_check_passes_and_names_missing_scopes(env: dict[str, str], slack: SlackEmulator,
                                               arm: ArmEmulator) -> None:
    result = run_cli(["check"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warn database: the SQLite file does not exist yet" in result.stdout
    assert run_cli(["migrate"], env).returncode == 0
    result = run_cli(["check"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   database: reachable (sqlite), schema up to date" in result.stdout
    assert "; signing key readable" in result.stdout
    arm.fail_next("GET", r"/extendedInformation/vaultExtendedInfo$", 403)
    result = run_cli(["check"], env)
    assert result.returncode == 0, result.stdout
    assert "warn vault:" in result.stdout and "writes go unsigned" in result.stdout
    assert "all 4 checks passed" in result.stdout
    assert ("scopes commands, chat:write, usergroups:read, users:read, channels:read, "
            "groups:read granted") in result.stdout
    slack.scopes.remove("usergroups:read")
    result = run_cli(["check"], env)
    assert result.returncode == 1
    assert "scopes missing: usergroups:read" in result.stdout


def test_check_times_out_each_dependency_on_its_own(env: dict[str, str],
                                                    slack: SlackEmulator) -> None:
    held = slack.hold("auth.test")  # Slack never answers
    try:
        result = run_cli(["check", "--timeout", "3"], env)
    finally:
        held.set()
    assert result.returncode == 1
    assert "FAIL slack: no answer within 3 s" in result.stdout
    assert "ok   vault:" in result.stdout  # the others still ran and answered


def test_every_bad_setting_in_one_run(env: dict[str, str]) -> None:
    env.pop("SLACK_BOT_TOKEN")
    env.update(PORT="eighty", LOG_LEVEL="verbose", REPROTECT_APPROVERS="alice",
               DATABASE_URL="not a url")
    result = run_cli(["serve"], env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    for variable in ("SLACK_BOT_TOKEN", "PORT", "LOG_LEVEL", "REPROTECT_APPROVERS",
                     "DATABASE_URL"):
        assert sum(variable in line for line in lines) == 1, (variable, result.stderr)
    assert len(lines) == 5, result.stderr
    assert "Traceback" not in result.stderr and "not a url" not in result.stderr


def test_a_failed_start_leaves_no_database_behind(env: dict[str, str], tmp_path: Path) -> None:
    env.update(PORT="eighty", DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.db'}")
    assert run_cli(["serve"], env).returncode == 2
    assert not (tmp_path / "fresh.db").exists()


def test_bad_log_format_is_a_setting_error(env: dict[str, str]) -> None:
    env["LOG_FORMAT"] = "xml"
    for command in ("serve", "migrate", "check"):
        result = run_cli([command], env)
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [
            "reprotect-bot: configuration error: LOG_FORMAT: Input should be 'text' or 'json'"]


@pytest.mark.parametrize("case", ["malformed", "no-driver", "unreachable", "sqlite-nowhere"])
def test_database_problems_exit_2_with_one_line(case: str, env: dict[str, str],
                                                tmp_path: Path) -> None:
    secret = "s3cr3t-pw"
    if case == "malformed":
        env["DATABASE_URL"] = f"postgresql+psycopg://bot:{secret}@db:port/reprotect"
    elif case == "no-driver":  # the `postgres` extra not installed
        shadow = tmp_path / "no_psycopg" / "psycopg"
        shadow.mkdir(parents=True)
        (shadow / "__init__.py").write_text("raise ImportError(\"No module named 'psycopg'\", "
                                            "name='psycopg')\n")
        env["PYTHONPATH"] = f"{shadow.parent}:{env['PYTHONPATH']}"
        env["DATABASE_URL"] = f"postgresql+psycopg://bot:{secret}@127.0.0.1/reprotect"
    elif case == "unreachable":
        env["DATABASE_URL"] = f"postgresql+psycopg://bot:{secret}@127.0.0.1:1/reprotect"
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'no-such-dir' / 'bot.db'}"
    for command in ("serve", "migrate"):
        result = run_cli([command], env)
        assert result.returncode == 2, (command, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(
            "reprotect-bot: configuration error: DATABASE_URL: "), (command, result.stderr)
        assert secret not in result.stderr and env["DATABASE_URL"] not in result.stderr
        assert "127.0.0.1" not in result.stderr and "no-such-dir" not in result.stderr
        assert "Traceback" not in result.stderr
    if case == "no-driver":
        assert "reprotect-bot[postgres]" in lines[0]


def test_json_mode_reports_setting_errors_as_json(env: dict[str, str]) -> None:
    env.update(LOG_FORMAT="json", PORT="eighty")
    result = run_cli(["serve"], env)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    record = json.loads(line)
    assert record["level"] == "ERROR" and "PORT" in record["message"]


def test_version_and_help_stand_alone() -> None:
    version = run_cli(["--version"])
    assert version.returncode == 0 and version.stdout.startswith("reprotect-bot ")
    top = run_cli(["--help"])
    for command in ("serve", "migrate", "check", "sandbox", "audit"):
        assert command in top.stdout
    serve = run_cli(["serve", "--help"])
    for variable in SETTINGS_VARIABLES:
        assert variable in serve.stdout, variable
    for text in (top.stdout, serve.stdout, run_cli(["check", "--help"]).stdout):
        assert "shared/" not in text and "runtime contract" not in text.lower()


def test_check_names_the_writes_the_role_does_not_allow(env: dict[str, str],
                                                        arm: ArmEmulator) -> None:
    """A Reader-like role reads the vault but may not reprotect: `check` fails on it."""
    assert run_cli(["migrate"], env).returncode == 0
    arm.permissions = [{"actions": ["Microsoft.RecoveryServices/*/read"], "notActions": []}]
    result = run_cli(["check"], env)
    assert result.returncode == 1, result.stdout
    vault = next(line for line in result.stdout.splitlines() if " vault:" in line)
    assert vault.startswith("FAIL") and "reProtect/action" in vault and "restart/action" in vault
    arm.permissions = [{"actions": ["Microsoft.RecoveryServices/*"], "notActions": [
        "Microsoft.RecoveryServices/vaults/replicationJobs/*"]}]
    vault = next(line for line in run_cli(["check"], env).stdout.splitlines()
                 if " vault:" in line)
    assert vault.startswith("FAIL") and "restart/action" in vault
    assert "reProtect/action" not in vault
