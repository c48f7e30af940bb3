"""The Bolt app: each area of the bot registers its own thin listeners (`bot/listeners`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

from approvals.retry import Retries
from approvals.workflow import Approvals
from bot.admission import AfterAckPool
from bot.listeners import Services, decisions, home, names, reprotect
from bot.slack_ports import SlackNotifier
from core.ports import Waker
from core.readiness import DependencyState
from intake.manual_items import ManualChecks
from intake.slash import Intake
from store.db import Engine

log = logging.getLogger(__name__)


def build_app(*, client: WebClient, signing_secret: str | None, intake: Intake,
              approvals: Approvals, manual: ManualChecks, retries: Retries,
              notifier: SlackNotifier, waker: Waker, background: AfterAckPool, engine: Engine,
              readiness: Callable[[], Sequence[DependencyState]]) -> App:
    """`background` runs the work after each acknowledgement (see `bot.listeners`)."""
    app = App(client=client, signing_secret=signing_secret,
              request_verification_enabled=signing_secret is not None,
              token_verification_enabled=False, process_before_response=False,
              ignoring_self_events_enabled=True)
    services = Services(intake=intake, approvals=approvals, manual=manual, retries=retries,
                        notifier=notifier, waker=waker, background=background, engine=engine,
                        readiness=readiness)
    for area in (names, reprotect, decisions, home):
        area.register(app, services)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        log.error("unhandled error in a Slack listener: %s", error, exc_info=error)
        return BoltResponse(status=200, body="")

    return app
