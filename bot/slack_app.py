"""The Bolt app: thin listeners that acknowledge, call a service, and report failures.

Every listener acknowledges first (well inside Slack's 3 seconds); the slow part runs
after the acknowledgement in Bolt's worker thread, and anything that goes wrong there is
told to the person who asked, never swallowed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from slack_bolt import Ack, App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from approvals.retry import Retries
from approvals.workflow import Approvals
from bot import views
from commands.intake import Intake, SlashCommand
from commands.manual_items import ManualChecks, Ticks
from commands.mrkdwn import decode_slash_text
from core import actions
from core.decisions import Click
from core.ports import Notifier, SlackUnavailable, Waker

log = logging.getLogger(__name__)


def build_app(*, client: WebClient, signing_secret: str | None, intake: Intake,
              approvals: Approvals, manual: ManualChecks, retries: Retries,
              notifier: Notifier, waker: Waker, background: Executor) -> App:
    """`background` runs the work after each acknowledgement, so Bolt's own workers only
    acknowledge: a burst of slow preflights or re-checks never delays the next ack."""

    def after_ack(channel: str, user: str, what: str, work: Callable[[], object]) -> None:
        background.submit(_report_failures, notifier, waker, channel, user, what, work)

    app = App(client=client, signing_secret=signing_secret,
              request_verification_enabled=signing_secret is not None,
              token_verification_enabled=False, process_before_response=False,
              ignoring_self_events_enabled=True)

    @app.command("/reprotect")
    def on_reprotect(ack: Ack, body: dict[str, Any]) -> None:
        command = SlashCommand(trigger_id=str(body.get("trigger_id", "")),
                               team_id=str(body.get("team_id", "")),
                               channel_id=str(body.get("channel_id", "")),
                               user_id=str(body.get("user_id", "")),
                               text=decode_slash_text(str(body.get("text", ""))))
        reply = intake.receive(command)
        ack(text=reply.text, response_type="ephemeral")
        if reply.cancel is not None:
            cancel = Click(request_id=reply.cancel, user_id=command.user_id,
                           user_team=command.team_id, channel_id=command.channel_id)
            after_ack(command.channel_id, command.user_id, "cancellation",
                      lambda: approvals.cancel(cancel))
        if reply.request_id is not None:
            after_ack(command.channel_id, command.user_id, "preflight",
                      lambda: intake.preflight(reply.request_id))  # type: ignore[arg-type]

    def click(body: dict[str, Any]) -> Click:
        user = body.get("user") or {}
        action = (body.get("actions") or [{}])[0]
        channel = (body.get("channel") or {}).get("id") or \
            (body.get("container") or {}).get("channel_id", "")
        value = str(action.get("value", ""))  # ours: a request or run number
        return Click(request_id=int(value) if value.isdigit() else 0,
                     user_id=str(user.get("id", "")), user_team=user.get("team_id"),
                     channel_id=str(channel))

    @app.action(actions.APPROVE)
    def on_approve(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        c = click(body)
        after_ack(c.channel_id, c.user_id, "approval", lambda: approvals.approve(c))

    @app.action(actions.REJECT)
    def on_reject(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """Ask the approver why in a modal; the rejection happens when it is submitted."""
        ack()
        c = click(body)

        def open_modal() -> None:
            if not approvals.may_reject(c).accepted:
                return
            try:
                client.views_open(trigger_id=body["trigger_id"],
                                  view=views.reject_modal(c.request_id, c.channel_id))
            except (SlackApiError, OSError) as exc:  # a rejection needs its reason: wait
                log.warning("reject reason dialog did not open (%s); nothing changed", exc)
                notifier.ephemeral(c.channel_id, c.user_id, (
                    f":warning: The dialog that asks why you reject #{c.request_id} could not "
                    f"open ({_slack_error(exc)}). Nothing changed: the request is still "
                    "pending. Please click Reject again."))

        _report_failures(notifier, waker, c.channel_id, c.user_id, "rejection",
                         open_modal)  # now: the trigger id expires within 3 seconds

    @app.view(actions.REJECT_CALLBACK)
    def on_reject_reason(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        reason = views.reject_reason(view)
        if not reason:
            ack(response_action="errors", errors={actions.REASON_BLOCK: "Say why, in a few words."})
            return
        ack()
        target = views.reject_target(view)
        if target is None:
            log.warning("a reject reason came without its request (private_metadata); ignored")
            return
        request_id, channel = target
        user = body.get("user") or {}
        c = Click(request_id=request_id, user_id=str(user.get("id", "")),
                  user_team=user.get("team_id"), channel_id=channel)
        after_ack(c.channel_id, c.user_id, "rejection", lambda: approvals.reject(c, reason))

    @app.action(actions.RETRY)
    def on_retry(ack: Ack, body: dict[str, Any]) -> None:
        """Retry a failed VM (the button's value is its run id) under the approval rules."""
        ack()
        c = click(body)
        after_ack(c.channel_id, c.user_id, "retry", lambda: retries.retry(c.request_id, c))

    @app.action(actions.CANCEL)
    def on_cancel(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        c = click(body)
        after_ack(c.channel_id, c.user_id, "cancellation", lambda: approvals.cancel(c))

    @app.action(actions.CONFIRM_MANUAL)
    def on_manual_ticks(ack: Ack, body: dict[str, Any]) -> None:
        """An approver ticks or unticks the manual checks; Slack sends the whole selection."""
        ack()
        c = click(body)
        action = (body.get("actions") or [{}])[0]
        ticks = Ticks(request_id=views.manual_request(str(action.get("block_id", ""))),
                      user_id=c.user_id, user_team=c.user_team, channel_id=c.channel_id,
                      selected=frozenset(str(o.get("value", ""))
                                         for o in action.get("selected_options") or ()))
        after_ack(c.channel_id, c.user_id, "confirmation", lambda: manual.tick(ticks))

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        log.error("unhandled error in a Slack listener: %s", error, exc_info=error)
        return BoltResponse(status=200, body="")

    return app


def _slack_error(exc: Exception) -> str:
    """What Slack said (its error code), or that it could not be reached."""
    if isinstance(exc, SlackApiError) and exc.response is not None:
        return f"Slack answered `{exc.response.get('error') or exc.response.status_code}`"
    return "Slack could not be reached"


def _report_failures(notifier: Notifier, waker: Waker, channel: str, user: str, what: str,
                     work: Callable[[], object]) -> None:
    """Run work after an acknowledgement: what it queued for Slack goes out at once, and a
    crash becomes a message to the user instead of a line in a log nobody reads."""
    try:
        work()
        waker.wake("outbox")
    except SlackUnavailable as exc:
        notifier.ephemeral(channel, user, f":hourglass: The {what} was not taken: "
                           f"{exc.explain()}")
    except Exception:
        log.exception("%s failed after acknowledgement", what)
        notifier.ephemeral(channel, user, f":x: The {what} failed on an internal error (logged). "
                           "Nothing half-done was kept; try again, or ask the bot's operators "
                           "to check its logs.")
