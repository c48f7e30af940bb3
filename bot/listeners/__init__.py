"""Slack listeners, one module per area, each exposing `register(app, services)`.

Every listener acknowledges first (well inside Slack's 3 seconds); the slow part runs after
the acknowledgement on `Services.background`, and anything that goes wrong there is told to
the person who asked, never swallowed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from approvals.retry import Retries
from approvals.workflow import Approvals
from bot.admission import BUSY_RETRY, AfterAckPool
from bot.slack_ports import SlackNotifier
from bot.views import private
from core.decisions import Click
from core.ports import SlackUnavailable, Throttled, Waker
from core.readiness import DependencyState
from intake.manual_items import ManualChecks
from intake.slash import Intake
from store.db import Engine
from store.models import row_number

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
    background: AfterAckPool
    engine: Engine  # for the store's queries of the thin listeners (names, App Home)
    readiness: Callable[[], Sequence[DependencyState]]

    def after_ack(self, channel: str, user: str, what: str, work: Callable[[], object], *,
                  admitted: bool = False) -> None:
        """Queue `work`, unless the queue is full: then the person is told when to retry.
        A slash command's work was `admitted` before its acknowledgement (`bot.admission`)."""
        if not admitted and not self.background.has_room():
            self.notifier.say(channel, user, lambda: private.throttled(
                Throttled(retry_in=BUSY_RETRY, everyone=True), what))
            return
        self.background.submit(self.report_failures, channel, user, what, work)

    def report_failures(self, channel: str, user: str, what: str,
                        work: Callable[[], object]) -> None:
        """Run work after an acknowledgement: what it queued for Slack goes out at once, and
        a crash becomes a message to the user instead of a line in a log nobody reads."""
        try:
            work()
            self.waker.wake("outbox")
        except SlackUnavailable as exc:
            asked = exc.what
            self.notifier.say(channel, user, lambda: private.not_taken(what, asked))
        except Exception:
            log.exception("%s failed after acknowledgement", what)
            self.notifier.say(channel, user, lambda: private.crashed(what))


def click_of(body: dict[str, Any]) -> Click:
    """Who clicked which request (or run: the button's value is ours) in which channel.

    Total over whatever a signed payload holds: a part not shaped as Slack sends it reads as
    missing (no user, no workspace, request 0), which every decision refuses."""
    user = _part(body, "user")
    action = action_of(body)
    channel = _part(body, "channel").get("id") or _part(body, "container").get("channel_id")
    team = user.get("team_id")
    return Click(request_id=row_number(str(action.get("value", ""))) or 0,
                 user_id=str(user.get("id", "")),
                 user_team=team if isinstance(team, str) else None,
                 channel_id=str(channel or ""))


def action_of(body: dict[str, Any]) -> dict[str, Any]:
    """The first action of a block_actions payload; empty when it has none shaped as one."""
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    return first if isinstance(first, dict) else {}


def _part(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    return value if isinstance(value, dict) else {}
