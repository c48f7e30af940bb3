"""Slack-backed implementations of the domain's ports: private replies (in each person's
language) and approver lookup."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.views import private
from bot.views.i18n import from_locale, using
from core.notices import Notice
from core.ports import SlackUnavailable

log = logging.getLogger(__name__)


# How long a person's Slack locale is trusted: a change in their Slack preferences shows in
# the bot's private replies within this. A failed lookup is tried again sooner.
LOCALE_TTL = 3600.0
LOCALE_RETRY = 60.0
# An acknowledgement waits at most this for a locale not yet known, well inside Slack's 3
# seconds; past it, it is worded in the workspace's language and the answer, when it comes,
# serves the person's next reply.
ACK_LOOKUP_SECONDS = 0.8


class UserLanguages:
    """Each person's language, from the locale Slack gives (`users.info` with
    `include_locale`), cached for LOCALE_TTL seconds per person.

    None means the workspace's language (`REPROTECT_LANGUAGE`): Slack gave no locale, one
    the bot has no words for, or could not be asked (a private reply is still sent, in the
    workspace's language, rather than held back for a word choice)."""

    def __init__(self, client: WebClient) -> None:
        self._client = client
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()
        self._lookups = ThreadPoolExecutor(max_workers=2, thread_name_prefix="locale")

    def of(self, user: str) -> str | None:
        """The person's language, asking Slack when it is not known (or known too long)."""
        cached = self._cached(user)
        return cached[0] if cached is not None else self._ask(user)

    def for_ack(self, user: str) -> str | None:
        """The same within ACK_LOOKUP_SECONDS: an acknowledgement never waits longer."""
        cached = self._cached(user)
        if cached is not None:
            return cached[0]
        try:
            return self._lookups.submit(self._ask, user).result(timeout=ACK_LOOKUP_SECONDS)
        except FutureTimeout:
            return None

    def _cached(self, user: str) -> tuple[str | None] | None:
        with self._lock:
            cached = self._cache.get(user)
        return (cached[1],) if cached and time.monotonic() < cached[0] else None

    def _ask(self, user: str) -> str | None:
        now = time.monotonic()
        try:
            found = self._client.users_info(user=user, include_locale=True).get("user")
            language = from_locale(str(found.get("locale") or "")) \
                if isinstance(found, dict) else None
            until = now + LOCALE_TTL
        except (SlackApiError, OSError) as exc:
            log.info("locale of %s not known (%s): the workspace's language is used", user,
                     type(exc).__name__)
            language, until = None, now + LOCALE_RETRY
        with self._lock:
            self._cache[user] = (until, language)
        return language


class SlackNotifier:
    """Ephemeral replies through `chat.postEphemeral` (response_url allows only 5 posts),
    each worded in its reader's language."""

    def __init__(self, client: WebClient, languages: UserLanguages | None = None) -> None:
        self._client = client
        self.languages = languages or UserLanguages(client)

    def tell(self, channel: str, user: str, notice: Notice) -> None:
        """The domain's notice, worded by `bot.views.private`."""
        self.say(channel, user, lambda: private.notice(notice))

    def say(self, channel: str, user: str, words: Callable[[], str]) -> None:
        """`words()` worded in `user`'s language, sent to them alone."""
        with using(self.languages.of(user)):
            text = words()
        self.ephemeral(channel, user, text)

    def ephemeral(self, channel: str, user: str, text: str) -> None:
        try:
            self._client.chat_postEphemeral(channel=channel, user=user, text=text)
        except (SlackApiError, OSError) as exc:
            log.warning("could not send an ephemeral reply to %s in %s: %s", user, channel, exc)


# How long a user group's members are trusted without asking Slack again: someone removed
# from the group loses their say within this.
MEMBERSHIP_TTL = 60.0


class SlackDirectory:
    """User IDs of a configured list, with user groups (`S…`) expanded and cached for
    MEMBERSHIP_TTL seconds.

    Past that, if Slack cannot be asked, the group's members are unknown: `members` raises
    `SlackUnavailable` and the decision waiting on it is refused with that reason, rather
    than taken on members who may have left (or with nobody, turning every approver away
    with a wrong reason).
    """

    def __init__(self, client: WebClient, ids: Iterable[str]) -> None:
        self._client = client
        self._users = frozenset(a for a in ids if not a.startswith("S"))
        self._groups = tuple(sorted(a for a in ids if a.startswith("S")))
        self._ttl = MEMBERSHIP_TTL
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
            raise SlackUnavailable(f"who is in user group {group}") from None
        with self._lock:
            self._cache[group] = (now, users)
        return users


class SlackWorkspace:
    """The bot's own workspace, as `auth.test` tells it: asked at start, and again on demand
    until Slack has answered once (a workspace does not change under a running bot)."""

    def __init__(self, client: WebClient) -> None:
        self._client = client
        self._team: str | None = None
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if self._team is None:
                self._team = self._ask()
            return self._team

    def _ask(self) -> str:
        try:
            team = str(self._client.auth_test().get("team_id") or "")
        except (SlackApiError, OSError) as exc:
            log.warning("auth.test failed, the bot's workspace is not known yet: %s", exc)
            raise SlackUnavailable("which workspace the bot belongs to") from None
        if not team:
            raise SlackUnavailable("which workspace the bot belongs to (auth.test: no team_id)")
        return team
