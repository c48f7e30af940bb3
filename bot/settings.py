"""The bot's configuration: exactly the runtime contract's environment variables.

Loaded once by the CLI (never at import) so that a bad value stops start-up with one line
naming the variable, and secrets stay `SecretStr` so they never print.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.http_limits import HttpLimits

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


class Settings(BaseSettings):
    """Environment variables of `shared/runtime-contract.md`, with its defaults."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

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
    reprotect_required_approvals: int = Field(default=1, ge=1, le=10)
    reprotect_approval_ttl_minutes: int = Field(default=60, ge=1)
    reprotect_poll_seconds: float = Field(default=30, gt=0)
    reprotect_protect_timeout_minutes: int = Field(default=720, ge=1)
    http_max_connections: int = Field(default=500, ge=1)
    http_read_timeout_seconds: float = Field(default=10, gt=0, le=60)

    @field_validator("reprotect_approvers", "reprotect_channels", "reprotect_requesters",
                     mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

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
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a SQLAlchemy URL for SQLite or PostgreSQL")
        return value

    @model_validator(mode="after")
    def _dependencies(self) -> Settings:
        if self.slack_app_token is None and self.slack_signing_secret is None:
            raise ValueError("SLACK_SIGNING_SECRET: required in HTTP mode (SLACK_APP_TOKEN unset)")
        if self.vcenter_url and not (self.vcenter_user and self.vcenter_password):
            raise ValueError("VCENTER_USER and VCENTER_PASSWORD: required with VCENTER_URL")
        if self.vcenter_url and not self.vcenter_url.startswith("https://"):
            raise ValueError("VCENTER_URL: must be https://, e.g. https://vcenter.example/sdk")
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


class SettingsError(Exception):
    """A setting is missing or malformed; `str()` is the one line to print."""


def load_settings() -> Settings:
    """Read the environment; turn pydantic's report into one line naming the variable."""
    try:
        return Settings()  # type: ignore[call-arg]
    except ValidationError as exc:
        raise SettingsError(describe(exc)) from None


def describe(exc: ValidationError) -> str:
    """First problem as `VARIABLE: what is wrong`, without echoing any value given."""
    error = exc.errors(include_input=False, include_url=False)[0]
    location = [str(part) for part in error["loc"]]
    message = str(error["msg"]).removeprefix("Value error, ")
    if not location:
        return message
    variable = location[0].upper()
    if error["type"] == "missing":
        return f"{variable}: required but not set"
    return f"{variable}: {message}"
