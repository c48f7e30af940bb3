"""Clicks on a failback summary's next-step buttons (`Commit`, `Cancel failback`): each opens
the request its `/failback` command would, asked by whoever clicked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.listeners import Services, click_of
from bot.views import next_steps, private
from intake.next_steps import next_step_command


def register(app: App, services: Services) -> None:
    for action_id, verb in next_steps.VERBS.items():
        app.action(action_id)(_on_next_step(services, verb))


def _on_next_step(services: Services, verb: str) -> Callable[[Ack, dict[str, Any]], None]:
    def on_click(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        c = click_of(body)
        command = next_step_command(services.engine, c, verb, str(body.get("trigger_id", "")))
        if command is None:
            services.notifier.ephemeral(c.channel_id, c.user_id,
                                        next_steps.unknown_source(c.request_id))
            return
        reply = services.intake.receive(command)
        services.notifier.ephemeral(c.channel_id, c.user_id, private.reply(reply))
        if reply.request_id is not None:
            request_id = reply.request_id
            services.after_ack(c.channel_id, c.user_id, "preflight",
                               lambda: services.intake.preflight(request_id), admitted=True)
    return on_click
