"""`reprotect-bot check`: every configured dependency tried once, one line each.

Checks run side by side, each in its own thread with its own timeout, so a dependency that
hangs costs its timeout and never hides the others; every failure is listed. Exit 0 when
none fails (warnings allowed: vCenter not configured), 1 otherwise.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.health import slack_failure
from bot.settings import Settings
from gateways.errors import GatewayError
from gateways.site_recovery import AzureSiteRecovery
from store.database_url import database_unreachable, sqlite_file, sqlite_problem

# The bot token's scopes, as manifest.json declares them (a unit test keeps them equal).
REQUIRED_SCOPES = ("commands", "chat:write", "usergroups:read", "users:read", "channels:read",
                   "groups:read")
CHECK_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Outcome:
    mark: str   # "ok", "warn" or "FAIL"
    text: str


Check = Callable[[], Outcome]


def run_checks(settings: Settings, out: TextIO = sys.stdout,
               timeout: float = CHECK_TIMEOUT_S) -> int:
    """Print one line per check, in a fixed order; 1 if any failed."""
    checks = checks_for(settings)
    results: dict[str, Outcome] = {}
    threads = []
    for name, check in checks.items():
        thread = threading.Thread(target=_run, args=(name, check, results), daemon=True,
                                  name=f"check-{name}")
        thread.start()
        threads.append((name, thread))
    for name, thread in threads:
        thread.join(timeout)
        outcome = results.get(name) or Outcome("FAIL", f"no answer within {timeout:.0f} s")
        print(f"{outcome.mark:<4} {name}: {outcome.text}", file=out, flush=True)
    failed = sum(1 for name, _ in threads if (results.get(name) or Outcome("FAIL", "")).mark
                 == "FAIL")
    print(f"{'FAIL' if failed else 'ok':<4} check: "
          + (f"{failed} of {len(threads)} checks failed" if failed
             else f"all {len(threads)} checks passed"), file=out, flush=True)
    return 1 if failed else 0


def _run(name: str, check: Check, results: dict[str, Outcome]) -> None:
    try:
        results[name] = check()
    except GatewayError as exc:
        why = exc.why.splitlines()[0][:300] if exc.why else ""
        results[name] = Outcome("FAIL", " ".join(p for p in (exc.what, why, exc.fix) if p))
    except Exception as exc:  # a check's own failure is a failed check, not a crash
        results[name] = Outcome("FAIL", f"unexpected {type(exc).__name__}")


def checks_for(settings: Settings) -> dict[str, Check]:
    checks: dict[str, Check] = {
        "database": lambda: _database(settings),
        "slack": lambda: _slack(settings),
    }
    if settings.slack_app_token is not None:
        checks["slack-socket-mode"] = lambda: _socket_mode(settings)
    checks["vault"] = lambda: _vault(settings)
    checks["vcenter"] = lambda: _vcenter(settings)
    return checks


def _database(settings: Settings) -> Outcome:
    from store.db import make_engine, schema_is_current

    sqlite = sqlite_file(settings.database_url)
    if sqlite is not None and (problem := sqlite_problem(sqlite)):
        return Outcome("FAIL", problem)
    if sqlite is not None and not sqlite.exists():
        return Outcome("warn", "the SQLite file does not exist yet: `serve` or `migrate` "
                               "creates it")
    engine = make_engine(settings.database_url)
    try:
        problem = database_unreachable(engine)
        if problem is not None:
            return Outcome("FAIL", problem)
        if not schema_is_current(engine):
            return Outcome("warn", "reachable; schema not up to date (`serve` applies the "
                                   "migrations at start, or run `reprotect-bot migrate`)")
        return Outcome("ok", f"reachable ({engine.dialect.name}), schema up to date")
    finally:
        engine.dispose()


def _slack_error(exc: BaseException, token: str) -> Outcome:
    return Outcome("FAIL", f"{slack_failure(exc, token)}: check {token.split('(')[-1][:-1]}, "
                           "SLACK_API_URL and the network path to Slack")


def _slack(settings: Settings) -> Outcome:
    client = WebClient(token=settings.slack_bot_token.get_secret_value(),
                       base_url=settings.slack_api_base, timeout=10)
    try:
        answer = client.auth_test()
    except (SlackApiError, OSError) as exc:
        return _slack_error(exc, "bot token (SLACK_BOT_TOKEN)")
    granted_header = next((v for k, v in answer.headers.items()
                           if k.lower() == "x-oauth-scopes"), None)
    who = f"token accepted for workspace {answer.get('team')} as {answer.get('user')}"
    if granted_header is None:
        return Outcome("warn", f"{who}; Slack did not report the token's scopes")
    granted = {s.strip() for s in str(granted_header).split(",")}
    missing = [s for s in REQUIRED_SCOPES if s not in granted]
    if missing:
        return Outcome("FAIL", f"{who}, but scopes missing: {', '.join(missing)} (add them "
                               "under OAuth & Permissions, then reinstall the app)")
    return Outcome("ok", f"{who}; scopes {', '.join(REQUIRED_SCOPES)} granted")


def _socket_mode(settings: Settings) -> Outcome:
    assert settings.slack_app_token is not None
    client = WebClient(token=settings.slack_app_token.get_secret_value(),
                       base_url=settings.slack_api_base, timeout=10)
    try:
        client.apps_connections_open(app_token=settings.slack_app_token.get_secret_value())
    except (SlackApiError, OSError) as exc:
        return _slack_error(exc, "app-level token (SLACK_APP_TOKEN)")
    return Outcome("ok", "app-level token accepted: Socket Mode can connect")


def _vault(settings: Settings) -> Outcome:
    site_recovery = AzureSiteRecovery(
        subscription_id=settings.azure_subscription_id,
        resource_group=settings.asr_resource_group, vault=settings.asr_vault_name,
        arm_endpoint=settings.azure_arm_endpoint)
    try:
        fabrics, plans = site_recovery.probe_vault()
        key = site_recovery.signing_key_state()
        denied = _denied_writes(site_recovery)
    finally:
        site_recovery.close()
    readable = (f"vault {settings.asr_vault_name} readable: {fabrics} fabric(s), {plans} "
                "recovery plan(s) on the first page")
    if denied is None:
        return Outcome("warn", f"{readable}; the identity's permissions could not be listed, "
                               "so reprotect's right is not confirmed")
    if denied:
        return Outcome("FAIL", f"{readable}, but the bot's identity may not "
                               f"{', '.join(denied)} (give it Site Recovery Contributor or "
                               "the custom role of the deploy guide on the vault)")
    if key == "forbidden":
        return Outcome("warn", f"{readable}; its extended information is forbidden to the "
                               "bot's identity, so writes go unsigned (grant Microsoft."
                               "RecoveryServices/vaults/extendedInformation/read)")
    return Outcome("ok", f"{readable}; signing key {key}")


def _denied_writes(site_recovery: AzureSiteRecovery) -> tuple[str, ...] | None:
    """The writes RBAC refuses the identity; None when its permissions cannot be listed."""
    try:
        return site_recovery.denied_writes()
    except GatewayError:
        return None


def _vcenter(settings: Settings) -> Outcome:
    from bot.container import vcenter_gateway

    vcenter = vcenter_gateway(settings)
    if vcenter is None:
        return Outcome("warn", "not configured (VCENTER_URL unset): the preflight's vCenter "
                               "checks will not run")
    try:
        missing = vcenter.probe()
    finally:
        vcenter.close()
    if missing:
        return Outcome("FAIL", f"login accepted, but the account lacks {', '.join(missing)} "
                               "on the inventory root (give its role these privileges, "
                               "propagated)")
    return Outcome("ok", "login accepted; write privileges granted on the inventory root")
