"""A bad setting is named in one line that never echoes its value: URLs can carry
credentials (`https://user:password@host/`)."""

from __future__ import annotations

import pytest

from bot.settings import SettingsError, load_settings

SECRET = "hunter2"
GOOD = {
    "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "AZURE_SUBSCRIPTION_ID": "sub",
    "ASR_RESOURCE_GROUP": "rg", "ASR_VAULT_NAME": "vault", "REPROTECT_APPROVERS": "U0BOB",
}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key, value in GOOD.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


@pytest.mark.parametrize(("variable", "value"), [
    ("SLACK_API_URL", f"ftp://bot:{SECRET}@slack.example/api/"),
    ("AZURE_ARM_ENDPOINT", f"bot:{SECRET}@management.example"),
    ("VCENTER_URL", f"http://svc:{SECRET}@vcenter.example/sdk"),
    ("DATABASE_URL", f"mysql://bot:{SECRET}@db.example/bot"),
    ("HTTP_MAX_CONNECTIONS", f"{SECRET}"),
])
def test_a_bad_url_is_named_without_its_value(environment: pytest.MonkeyPatch, variable: str,
                                              value: str) -> None:
    environment.setenv(variable, value)
    if variable == "VCENTER_URL":
        environment.setenv("VCENTER_USER", "svc")
        environment.setenv("VCENTER_PASSWORD", "p")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value).startswith(variable)
    assert SECRET not in str(raised.value) and "@" not in str(raised.value)


def test_the_http_limits_come_from_the_environment(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("HTTP_MAX_CONNECTIONS", "50")
    environment.setenv("HTTP_READ_TIMEOUT_SECONDS", "2.5")
    limits = load_settings().http_limits
    assert (limits.max_connections, limits.read_seconds) == (50, 2.5)
