"""`/reprotect`: request, status, help and cancel, acknowledged with the ephemeral reply."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.listeners import Services
from bot.views import private
from bot.views.i18n import using
from bot.views.mrkdwn import decode_slash_text
from intake.slash import SlashCommand


def register(app: App, services: Services) -> None:
    @app.command("/reprotect")
    def on_reprotect(ack: Ack, body: dict[str, Any]) -> None:
        command = SlashCommand(trigger_id=str(body.get("trigger_id", "")),
                               team_id=str(body.get("team_id", "")),
                               channel_id=str(body.get("channel_id", "")),
                               user_id=str(body.get("user_id", "")),
                               text=decode_slash_text(str(body.get("text", ""))))
        reply = services.intake.receive(command)
        with using(services.notifier.languages.for_ack(command.user_id)):
            text = private.reply(reply)
        ack(text=text, response_type="ephemeral")
        if reply.cancel is not None:
            cancel = command.on(reply.cancel)
            services.after_ack(command.channel_id, command.user_id, "cancellation",
                               lambda: services.approvals.cancel(cancel), admitted=True)
        if reply.request_id is not None:
            request_id = reply.request_id
            services.after_ack(command.channel_id, command.user_id, "preflight",
                               lambda: services.intake.preflight(request_id), admitted=True)
