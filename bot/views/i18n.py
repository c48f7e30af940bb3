"""The bot's languages: gettext catalogs through Babel, and which language a message is in.

English is written in the code (it is each message's id); French lives in
`bot/locale/fr/LC_MESSAGES/messages.po`, compiled in memory by Babel the first time it is
needed, so the catalog the bot reads is always the committed `.po` (no `.mo` to forget).

A message is in the language of whoever reads it: channel messages in the workspace's
(`REPROTECT_LANGUAGE`, set once at start-up), a private reply in the person's own Slack
locale when Slack gives one (`bot.slack_ports.UserLanguages` sets it with `using`).

Words are marked `_("…{name}…")` where they are shown; words kept in module-level tables
are marked `N_("…")` there and translated with `_()` when shown. Placeholders stay named
(`{name}`) so a translation may put them in another order.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = ("en", "fr")
SOURCE_LANGUAGE = "en"  # the language of the msgids: needs no catalog
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"

_workspace = SOURCE_LANGUAGE
_current: ContextVar[str | None] = ContextVar("reprotect_language", default=None)


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> NullTranslations:
    """The language's catalog, compiled from its `.po` (fuzzy entries left out)."""
    if language == SOURCE_LANGUAGE:
        return NullTranslations()
    with po_path(language).open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def set_workspace_language(language: str) -> None:
    """The language of channel messages and of people whose locale Slack does not give."""
    global _workspace
    if language not in LANGUAGES:
        raise ValueError(f"not a supported language: {language!r}")
    _workspace = language


def workspace_language() -> str:
    return _workspace


def language() -> str:
    """The language messages are worded in here and now."""
    return _current.get() or _workspace


@contextmanager
def using(language: str | None) -> Iterator[None]:
    """Word the messages built inside in `language` (None: the workspace's)."""
    token = _current.set(language if language in LANGUAGES else None)
    try:
        yield
    finally:
        _current.reset(token)


def from_locale(locale: str | None) -> str | None:
    """The supported language of a Slack locale (`fr-FR` → `fr`); None when unsupported."""
    if not locale:
        return None
    primary = locale.replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in LANGUAGES else None


def _(message: str) -> str:
    """`message` in the current language (itself when it has no translation)."""
    return translations(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of `singular`/`plural` for `n`, in the current language."""
    return translations(language()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a message kept in a table for extraction; `_()` translates it when shown."""
    return message
