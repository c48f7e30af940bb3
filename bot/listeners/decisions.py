"""Clicks on a request: approve, reject (with its reason dialog), cancel, retry, manual ticks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import views
from bot.listeners import Services, action_of, click_of
from bot.views import private
from bot.views.i18n import using
from core import actions
from core.decisions import Click
from core.plan import ResolvedPlan
from store.db import read_scope
from store.requests import get_request

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    approvals = services.approvals

    clicks: dict[str, tuple[str, Callable[[Click], object]]] = {
        actions.APPROVE: ("approval", approvals.approve),
        actions.CANCEL: ("cancellation", approvals.cancel),
    }
    for action_id, (what, decide) in clicks.items():
        _on_click(app, services, action_id, what, decide)

    @app.action(actions.REJECT)
    def on_reject(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """Ask the approver why in a modal; the rejection happens when it is submitted."""
        ack()
        c = click_of(body)

        def open_modal() -> None:
            if not approvals.may_reject(c).accepted:
                return
            with using(services.notifier.languages.for_ack(c.user_id)):  # the clicker's own
                modal = views.reject_modal(c.request_id, c.channel_id)
            try:
                client.views_open(trigger_id=str(body.get("trigger_id", "")), view=modal)
            except (SlackApiError, OSError) as exc:  # a rejection needs its reason: wait
                log.warning("reject reason dialog did not open (%s); nothing changed", exc)
                why = _slack_error(exc)
                services.notifier.say(c.channel_id, c.user_id,
                                      lambda: private.dialog_failed(c.request_id, why))

        services.report_failures(c.channel_id, c.user_id, "rejection",
                                 open_modal)  # now: the trigger id expires within 3 seconds

    @app.view(actions.REJECT_CALLBACK)
    def on_reject_reason(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        reason = views.reject_reason(view)
        if not reason:
            with using(services.notifier.languages.for_ack(click_of(body).user_id)):
                errors = {actions.REASON_BLOCK: private.reason_missing()}
            ack(response_action="errors", errors=errors)
            return
        ack()
        target = views.reject_target(view)
        if target is None:
            log.warning("a reject reason came without its request (private_metadata); ignored")
            return
        request_id, channel = target
        c = replace(click_of(body), request_id=request_id, channel_id=channel)
        services.after_ack(c.channel_id, c.user_id, "rejection",
                           lambda: approvals.reject(c, reason))

    @app.action(actions.RETRY)
    def on_retry(ack: Ack, body: dict[str, Any]) -> None:
        """Retry a failed VM (the button's value is its run id) under the approval rules."""
        ack()
        c = click_of(body)
        services.after_ack(c.channel_id, c.user_id, "retry",
                           lambda: services.retries.retry(c.request_id, c))

    @app.action(actions.SHOW_PASSED)
    def on_show_passed(ack: Ack, body: dict[str, Any]) -> None:
        """Details on demand: the request's passed checks, privately, to whoever asks in
        the request's own channel."""
        ack()
        c = click_of(body)

        def show() -> None:
            with read_scope(services.engine) as session:
                request = get_request(session, c.request_id)
            if request is not None and request.channel_id == c.channel_id:
                plan = ResolvedPlan.from_json(request.plan)
                services.notifier.say(c.channel_id, c.user_id,
                                      lambda: views.passed_list(c.request_id, plan))

        services.after_ack(c.channel_id, c.user_id, "list of passed checks", show)

    @app.action(actions.CONFIRM_MANUAL)
    def on_manual_ticks(ack: Ack, body: dict[str, Any]) -> None:
        """An approver ticks or unticks the manual checks; Slack sends the whole selection."""
        ack()
        c = click_of(body)
        action = action_of(body)
        on = replace(c, request_id=views.manual_request(str(action.get("block_id", ""))))
        options = action.get("selected_options")
        selected = frozenset(str(o.get("value", "")) for o in
                             (options if isinstance(options, list) else ())
                             if isinstance(o, dict))
        services.after_ack(c.channel_id, c.user_id, "confirmation",
                           lambda: services.manual.tick(on, selected))


def _on_click(app: App, services: Services, action_id: str, what: str,
              decide: Callable[[Click], object]) -> None:
    """A button whose click is decided after the acknowledgement, as it is."""

    @app.action(action_id)
    def on_click(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        c = click_of(body)
        services.after_ack(c.channel_id, c.user_id, what, lambda: decide(c))


def _slack_error(exc: Exception) -> str | None:
    """What Slack said (its error code), or None: it could not be reached."""
    if isinstance(exc, SlackApiError) and exc.response is not None:
        return str(exc.response.get("error") or exc.response.status_code)
    return None
