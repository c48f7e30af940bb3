"""Slack listeners, one module per area, each exposing `register(app, services)`.

Every listener acknowledges first (well inside Slack's 3 seconds); the slow part runs after
the acknowledgement on `Services.background`, and anything that goes wrong there is told to
the person who asked, never swallowed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from approvals.retry import Retries
from approvals.workflow import Approvals
from bot.slack_ports import SlackNotifier
from bot.views import private
from commands.intake import Intake
from commands.manual_items import ManualChecks
from core.decisions import Click
from core.ports import SlackUnavailable, Waker
from core.readiness import DependencyState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """What the listeners call. `background` runs the work after each acknowledgement, so
    Bolt's own workers only acknowledge: a burst of slow preflights never delays the next ack."""

    intake: Intake
    approvals: Approvals
    manual: ManualChecks
    retries: Retries
    notifier: SlackNotifier
    waker: Waker
    background: Executor
    engine: Engine  # for the store's queries of the thin listeners (names, App Home)
    readiness: Callable[[], Sequence[DependencyState]]

    def after_ack(self, channel: str, user: str, what: str, work: Callable[[], object]) -> None:
        self.background.submit(self.report_failures, channel, user, what, work)

    def report_failures(self, channel: str, user: str, what: str,
                        work: Callable[[], object]) -> None:
        """Run work after an acknowledgement: what it queued for Slack goes out at once, and
        a crash becomes a message to the user instead of a line in a log nobody reads."""
        try:
            work()
            self.waker.wake("outbox")
        except SlackUnavailable as exc:
            self.notifier.ephemeral(channel, user, private.not_taken(what, exc.explain()))
        except Exception:
            log.exception("%s failed after acknowledgement", what)
            self.notifier.ephemeral(channel, user, private.crashed(what))


def click_of(body: dict[str, Any]) -> Click:
    """Who clicked which request (or run: the button's value is ours) in which channel."""
    user = body.get("user") or {}
    action = (body.get("actions") or [{}])[0]
    channel = (body.get("channel") or {}).get("id") or \
        (body.get("container") or {}).get("channel_id", "")
    value = str(action.get("value", ""))
    return Click(request_id=int(value) if value.isdigit() else 0,
                 user_id=str(user.get("id", "")), user_team=user.get("team_id"),
                 channel_id=str(channel))
