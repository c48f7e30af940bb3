"""The slice of settings the domain uses, so domain code never reads the environment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Policy:
    workspace_team: str | None
    channels: frozenset[str]
    required_approvals: int
    approval_ttl: timedelta
    poll_interval: timedelta
    protect_timeout: timedelta
