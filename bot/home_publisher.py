"""Publish a person's App Home tab: the requests of the channels they are in, and readiness.

Who sees what follows Slack's own membership: of the channels the bot has requests in, only
those whose `conversations.members` lists the person (a channel the bot cannot read, such as
a private one it left, is left out rather than guessed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.scheduler import Ticker
from bot.views.home import MOST_LISTED, home_view
from core.readiness import DependencyState
from store.db import Engine
from store.home_queries import channels_with_requests, database_error, home_requests

log = logging.getLogger(__name__)
MEMBERS_PAGE = 200  # Slack recommends at most 200 per page


def is_member(client: WebClient, channel: str, user_id: str) -> bool:
    """Whether Slack lists `user_id` among the channel's members (every page read)."""
    cursor = ""
    while True:
        try:
            page = client.conversations_members(channel=channel, limit=MEMBERS_PAGE,
                                                cursor=cursor or None)
        except SlackApiError as exc:
            log.info("App Home: members of %s not readable (%s); left out", channel,
                     exc.response.get("error") if exc.response is not None else exc)
            return False
        if user_id in (page.get("members") or ()):
            return True
        cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
        if not cursor:
            return False


def publish_home(client: WebClient, engine: Engine,
                 readiness: Callable[[], Sequence[DependencyState]], user_id: str) -> None:
    channels = [c for c in channels_with_requests(engine) if is_member(client, c, user_id)]
    open_requests, recent = home_requests(engine, channels, recent=MOST_LISTED)
    client.views_publish(user_id=user_id, view=home_view(
        user_id=user_id, open_requests=open_requests, recent=recent, readiness=readiness(),
        channels=len(channels)))


TICKS = {"track": "Site Recovery tracking", "outbox": "Slack messages"}


def basic_readiness(engine: Engine, ticker: Ticker) -> Callable[[], list[DependencyState]]:
    """What this process knows of itself: the database and its last ticks (tracking Site
    Recovery, sending to Slack). The seam for the readiness `/readyz` reports (Slack, the
    vault, vCenter): pass its states instead, or add them to these."""

    def states() -> list[DependencyState]:
        error = database_error(engine)
        found = [DependencyState("database", not error, error=error)]
        for job, name in TICKS.items():
            failed = ticker.last_error.get(job, "" if ticker.running else "scheduler stopped")
            last = ticker.last_success.get(job)
            found.append(DependencyState(name, None if last is None and not failed
                                         else not failed, last_success=last,
                                         error=f"last tick: {failed}" if failed else ""))
        return found

    return states
