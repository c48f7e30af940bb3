"""`/failback`: fail back, commit or cancel a recovery plan, acknowledged as `/reprotect` is
(the same admission gate, workspace and channel checks; the intake parses by command)."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import Services
from bot.listeners.reprotect import on_command


def register(app: App, services: Services) -> None:
    app.command("/failback")(on_command(services, "/failback"))
