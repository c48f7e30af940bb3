"""Slack-backed implementations of the domain's ports: private replies and approver lookup."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


class SlackNotifier:
    """Ephemeral replies through `chat.postEphemeral` (response_url allows only 5 posts)."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def ephemeral(self, channel: str, user: str, text: str) -> None:
        try:
            self._client.chat_postEphemeral(channel=channel, user=user, text=text)
        except (SlackApiError, OSError) as exc:
            log.warning("could not send an ephemeral reply to %s in %s: %s", user, channel, exc)


class SlackDirectory:
    """User IDs of a configured list, with user groups (`S…`) expanded and cached for `ttl` s.

    When Slack cannot be asked, the last known members are kept: a Slack hiccup must not
    turn every approver away, nor let anyone new in.
    """

    def __init__(self, client: WebClient, ids: Iterable[str], ttl: float = 60.0) -> None:
        self._client = client
        self._users = frozenset(a for a in ids if not a.startswith("S"))
        self._groups = tuple(sorted(a for a in ids if a.startswith("S")))
        self._ttl = ttl
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def members(self) -> frozenset[str]:
        found = set(self._users)
        for group in self._groups:
            found |= self._group(group)
        return frozenset(found)

    def _group(self, group: str) -> frozenset[str]:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(group)
        if cached and now - cached[0] < self._ttl:
            return cached[1]
        try:
            response = self._client.usergroups_users_list(usergroup=group)
            users = frozenset(str(u) for u in response.get("users") or ())
        except (SlackApiError, OSError) as exc:
            log.warning("could not list user group %s: %s", group, exc)
            return cached[1] if cached else frozenset()
        with self._lock:
            self._cache[group] = (now, users)
        return users
