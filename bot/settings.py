"""The bot's configuration: its environment variables (the README's Settings table).

Loaded once by the CLI (never at import) so that bad values stop start-up with one line each
naming the variable, every problem in one run, and secrets stay `SecretStr` so they never
print. No value is ever echoed: a URL can carry credentials.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.http_limits import HttpLimits
from store.database_url import database_url_problem

SLACK_ID = re.compile(r"^[UWS][A-Z0-9]{2,}$")
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _user_ids(value: list[str]) -> list[str]:
    bad = [v for v in value if not SLACK_ID.match(v)]
    if bad:
        raise ValueError(f"not Slack user or user group IDs: {', '.join(bad)}")
    return value


LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class LogSettings(BaseSettings):
    """How the process logs: read by every command, before anything else is logged."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level


class Settings(LogSettings):
    """Every environment variable `serve` and `check` read, with its default."""

    slack_bot_token: SecretStr
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    port: int = Field(default=3000, ge=1, le=65535)
    database_url: str = "sqlite:///reprotect.db"
    azure_subscription_id: str
    asr_resource_group: str
    asr_vault_name: str
    azure_arm_endpoint: str = "https://management.azure.com"
    vcenter_url: str | None = None
    vcenter_user: str | None = None
    vcenter_password: SecretStr | None = None
    vcenter_ca_bundle: str | None = None
    vcenter_insecure: bool = False
    reprotect_approvers: Annotated[list[str], NoDecode]
    reprotect_channels: Annotated[list[str], NoDecode] = []
    reprotect_requesters: Annotated[list[str], NoDecode] = []
    reprotect_manual_confirmation: Literal["approve", "tick"] = "approve"
    reprotect_language: Literal["en", "fr"] = "en"
    reprotect_required_approvals: int = Field(default=1, ge=1, le=10)
    reprotect_approval_ttl_minutes: int = Field(default=60, ge=1)
    reprotect_poll_seconds: float = Field(default=30, gt=0)
    reprotect_protect_timeout_minutes: int = Field(default=720, ge=1)
    reprotect_readiness_seconds: float = Field(default=15, gt=0, le=300)
    http_max_connections: int = Field(default=500, ge=1)
    http_read_timeout_seconds: float = Field(default=10, gt=0, le=60)

    @field_validator("reprotect_approvers", "reprotect_channels", "reprotect_requesters",
                     mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("reprotect_language", mode="before")
    @classmethod
    def _language(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("reprotect_approvers")
    @classmethod
    def _approver_ids(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one Slack user (U…/W…) or user group (S…) ID")
        return _user_ids(value)

    @field_validator("reprotect_requesters")
    @classmethod
    def _requester_ids(cls, value: list[str]) -> list[str]:
        return _user_ids(value)

    @field_validator("reprotect_channels")
    @classmethod
    def _channel_ids(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not CHANNEL_ID.match(v)]
        if bad:
            raise ValueError(f"not Slack channel IDs: {', '.join(bad)}")
        return value

    @field_validator("slack_bot_token", "slack_signing_secret", "slack_app_token",
                     "vcenter_password")
    @classmethod
    def _not_blank(cls, value: SecretStr | None) -> SecretStr | None:
        """A blank secret is an unset variable templated in; it must never turn a check off."""
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("is blank: set it to the real value, or leave it unset")
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("slack_api_url", "azure_arm_endpoint", "vcenter_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            # The value is never echoed: a URL can carry credentials (user:password@host).
            raise ValueError("must be an http(s) URL (https://host/…)")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        problem = database_url_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _dependencies(self) -> Settings:
        problems = cross_problems({name.upper(): str(value) for name, value in (
            ("slack_app_token", self.slack_app_token),
            ("slack_signing_secret", self.slack_signing_secret),
            ("vcenter_url", self.vcenter_url), ("vcenter_user", self.vcenter_user),
            ("vcenter_password", self.vcenter_password)) if value is not None})
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def events_signing_secret(self) -> str | None:
        """The secret `/slack/events` verifies with; None in Socket Mode, where it is not
        served."""
        if self.slack_app_token is not None or self.slack_signing_secret is None:
            return None
        return self.slack_signing_secret.get_secret_value()

    @property
    def http_limits(self) -> HttpLimits:
        return HttpLimits(max_connections=self.http_max_connections,
                          read_seconds=self.http_read_timeout_seconds)

    @property
    def slack_api_base(self) -> str:
        """Slack Web API base URL with the trailing slash slack_sdk expects."""
        return self.slack_api_url if self.slack_api_url.endswith("/") else self.slack_api_url + "/"


def cross_problems(env: Mapping[str, str]) -> list[str]:
    """Settings that need one another, from the variables that are set (values unused)."""
    problems = []
    if "SLACK_APP_TOKEN" not in env and "SLACK_SIGNING_SECRET" not in env:
        problems.append("SLACK_SIGNING_SECRET: required in HTTP mode (SLACK_APP_TOKEN unset)")
    if env.get("VCENTER_URL"):
        missing = [v for v in ("VCENTER_USER", "VCENTER_PASSWORD") if not env.get(v)]
        if missing:
            problems.append(f"{' and '.join(missing)}: required with VCENTER_URL")
        if not env["VCENTER_URL"].startswith("https://"):
            problems.append("VCENTER_URL: must be https://, e.g. https://vcenter.example/sdk")
    return problems


class SettingsError(Exception):
    """Settings are missing or malformed; `lines` are the lines to print, one per problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def load_settings() -> Settings:
    """Read the environment; every problem becomes one line naming its variable."""
    try:
        return Settings()  # type: ignore[call-arg]
    except ValidationError as exc:
        lines = describe(exc)
        if not any(e["loc"] == () for e in exc.errors()):  # cross checks did not run
            env = {k.upper(): v for k, v in os.environ.items()}
            lines += [p for p in cross_problems(env) if p not in lines]
        raise SettingsError(lines) from None


def load_log_settings() -> LogSettings:
    """LOG_FORMAT and LOG_LEVEL alone (`migrate`, `audit`, `sandbox` need nothing else)."""
    try:
        return LogSettings()
    except ValidationError as exc:
        raise SettingsError(describe(exc)) from None


def describe(exc: ValidationError) -> list[str]:
    """Each problem as `VARIABLE: what is wrong`, without echoing any value given."""
    lines: list[str] = []
    for error in exc.errors(include_input=False, include_url=False):
        location = [str(part) for part in error["loc"]]
        message = str(error["msg"]).removeprefix("Value error, ")
        if not location:
            lines += message.splitlines()
        elif error["type"] == "missing":
            lines.append(f"{location[0].upper()}: required but not set")
        else:
            lines.append(f"{location[0].upper()}: {message}")
    return lines
