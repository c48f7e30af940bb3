"""The slice of settings the domain uses, so domain code never reads the environment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Policy:
    # The bot's own workspace (Slack's `auth.test`): only its members decide. Raises
    # `core.ports.SlackUnavailable` while Slack has not said which it is.
    workspace_team: Callable[[], str]
    channels: frozenset[str]
    required_approvals: int
    approval_ttl: timedelta
    poll_interval: timedelta
    protect_timeout: timedelta
    # True: an approver's Approve click confirms the manual items left unticked, in their name
    # (an approver's click records the approval). False: Approve is
    # refused until an approver ticked every one (REPROTECT_MANUAL_CONFIRMATION=tick).
    approval_confirms_manual: bool = True
