"""Remember the names Slack sends with each payload, so the audit names who acted where.

A middleware, so every command, click and dialog is covered; it reads no API (the names are
in the payload) and a failure to store them never stops the request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltResponse

from bot.listeners import Services
from store.slack_names import remember

log = logging.getLogger(__name__)
# Slack's placeholder channel names for conversations that have none of their own.
NAMELESS_CHANNELS = ("directmessage", "privategroup", "mpdm")


def names_in(body: dict[str, Any]) -> dict[str, str]:
    """User and channel ids with their names, from a slash command (`user_name`,
    `channel_name`) or an interaction (`user.name`/`user.username`, `channel.name`)."""
    user = _object(body, "user")
    channel = _object(body, "channel")
    people = {
        str(body.get("user_id") or ""): str(body.get("user_name") or ""),
        str(user.get("id") or ""): str(user.get("name") or user.get("username") or ""),
    }
    channels = {
        str(body.get("channel_id") or ""): str(body.get("channel_name") or ""),
        str(channel.get("id") or ""): str(channel.get("name") or ""),
    }
    named = {k: v for k, v in channels.items() if not v.startswith(NAMELESS_CHANNELS)}
    return {k: v for k, v in (people | named).items() if k and v}


def _object(body: dict[str, Any], key: str) -> dict[str, Any]:
    """`body[key]` when it is an object (events carry a user id string there instead)."""
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def register(app: App, services: Services) -> None:
    @app.middleware
    def remember_names(body: dict[str, Any],
                       next_: Callable[[], BoltResponse | None]) -> BoltResponse | None:
        try:
            remember(services.engine, names_in(body))
        except Exception as exc:  # the audit then shows the id alone
            log.warning("names of a Slack payload not stored: %s", type(exc).__name__)
        return next_()
