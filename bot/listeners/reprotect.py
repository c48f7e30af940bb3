"""`/reprotect`: request, status, help and cancel, acknowledged with the ephemeral reply;
status then says where each plan stands, read after the acknowledgement.

`on_command` serves every slash command the same way (`bot.listeners.failback` too): the
intake parses by command, so a command is one registration here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.listeners import Services
from bot.views import private
from bot.views.i18n import using
from bot.views.mrkdwn import decode_slash_text
from intake.slash import Answer, SlashCommand


def register(app: App, services: Services) -> None:
    app.command("/reprotect")(on_command(services, "/reprotect"))


def on_command(services: Services, name: str) -> Callable[[Ack, dict[str, Any]], None]:
    """The listener of slash command `name`: acknowledge with the intake's reply, then
    preflight (or cancel) after the acknowledgement."""
    def on_slash(ack: Ack, body: dict[str, Any]) -> None:
        command = SlashCommand(trigger_id=str(body.get("trigger_id", "")),
                               team_id=str(body.get("team_id", "")),
                               channel_id=str(body.get("channel_id", "")),
                               user_id=str(body.get("user_id", "")),
                               text=decode_slash_text(str(body.get("text", ""))),
                               command=name)
        reply = services.intake.receive(command)
        with using(services.notifier.languages.for_ack(command.user_id)):
            text = private.reply(reply)
        ack(text=text, response_type="ephemeral")
        if reply.answer is Answer.STATUS and reply.throttled is None:
            services.after_ack(command.channel_id, command.user_id, "status",
                               lambda: services.notifier.tell(
                                   command.channel_id, command.user_id,
                                   services.intake.stages()), admitted=True)
        if reply.cancel is not None:
            cancel = command.on(reply.cancel)
            services.after_ack(command.channel_id, command.user_id, "cancellation",
                               lambda: services.approvals.cancel(cancel), admitted=True)
        if reply.request_id is not None:
            request_id = reply.request_id
            services.after_ack(command.channel_id, command.user_id, "preflight",
                               lambda: services.intake.preflight(request_id), admitted=True)
    return on_slash
