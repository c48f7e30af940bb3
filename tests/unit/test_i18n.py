"""The French catalog covers every word the code marks, keeps each message's placeholders and
the command's own tokens, and is the catalog the bot reads; languages follow Slack's locale."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bot.settings import SettingsError, load_settings
from bot.views import checks, private
from bot.views.i18n import (
    LANGUAGES,
    SOURCE_LANGUAGE,
    _,
    from_locale,
    language,
    ngettext,
    po_path,
    set_workspace_language,
    translations,
    using,
    workspace_language,
)
from core.decisions import Action, Decision, Refusal

ROOT = Path(__file__).parents[2]
TRANSLATED = [lang for lang in LANGUAGES if lang != SOURCE_LANGUAGE]
# Tokens a translation must keep as they are: the command's keys and sub-commands, settings
# and the API's field names (hidden tests and people type or search for them).
KEPT = re.compile(r"/reprotect(?: (?:status|cancel|help))?|\b[a-z]+=|\b[A-Z][A-Z0-9_]{4,}\b"
                  r"|\b(?:Approve|Reject|Cancel|Retry)\b|\*Summary\*"
                  r"|\b[a-z]{2,}[A-Z][A-Za-z]+\b")


def extracted() -> dict[str, tuple[str, ...]]:
    """What `pybabel extract -F babel.cfg` finds in the code: msgid -> its forms."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, tuple[str, ...]] = {}
    for *_where, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map):
        forms = (message,) if isinstance(message, str) else tuple(message)
        found[forms[0]] = forms
    return found


def catalog(lang: str) -> Catalog:
    with po_path(lang).open("rb") as po:
        return read_po(po, locale=lang)


def entries(lang: str) -> Iterator[Message]:
    return (m for m in catalog(lang) if m.id)


def fields(text: str) -> list[tuple[str | None, str | None, str | None]]:
    """The placeholders of a template, with conversion and format spec, sorted."""
    return sorted(((name, conv, spec) for _t, name, spec, conv in string.Formatter().parse(text)
                   if name is not None), key=repr)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_word_in_the_code_has_a_translation(lang: str) -> None:
    po = {(m.id if isinstance(m.id, str) else m.id[0]): m for m in entries(lang)}
    code = extracted()
    assert len(code) > 400  # the check catalog's templates are extracted, not only `_()`
    missing = sorted(set(code) - set(po))
    assert not missing, f"not in {po_path(lang)}: {missing[:5]} (run pybabel update)"
    stale = sorted(set(po) - set(code))
    assert not stale, f"no longer in the code: {stale[:5]}"
    for msgid, message in po.items():
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(f.strip() for f in forms), f"empty translation of {msgid!r}"
        assert not message.fuzzy, f"fuzzy translation of {msgid!r}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_keep_placeholders_and_command_tokens(lang: str) -> None:
    for message in entries(lang):
        ids = (message.id,) if isinstance(message.id, str) else message.id
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for form in forms:
            assert fields(form) == fields(ids[-1]), (ids[0], form)
            for token in set(KEPT.findall(ids[0])):
                assert token in form, f"{token!r} lost in {form!r}"


def test_the_bot_reads_the_committed_catalog() -> None:
    """Compiled from the `.po` at first use: what a translator commits is what Slack shows."""
    for message in entries("fr"):
        if isinstance(message.id, str):
            with using("fr"):
                assert _(message.id) == message.string


def test_plurals_follow_the_count() -> None:
    one, many = "{count} more distinct approval needed", "{count} more distinct approvals needed"
    with using("fr"):
        assert ngettext(one, many, 1).format(count=1) == "encore 1 approbation distincte nécessaire"
        assert ngettext(one, many, 3).format(count=3) == (
            "encore 3 approbations distinctes nécessaires")
    assert ngettext(one, many, 1) == one and ngettext(one, many, 2) == many


@pytest.mark.parametrize(("locale", "expected"), [
    ("fr-FR", "fr"), ("fr-CA", "fr"), ("en-US", "en"), ("en-GB", "en"), ("FR_fr", "fr"),
    ("de-DE", None), ("", None), (None, None)])
def test_a_slack_locale_picks_a_supported_language(locale: str | None,
                                                   expected: str | None) -> None:
    assert from_locale(locale) == expected


def test_a_person_language_applies_inside_its_context_only() -> None:
    refusal = Decision(False, Action.APPROVE, Refusal.NOT_APPROVER, ask=frozenset({"U0BOB"}))
    assert language() == workspace_language() == "en"
    with using("fr"):
        assert private.decision(refusal).startswith(
            ":no_entry_sign: Vous n'êtes pas approbateur pour la reprotection. Approbateurs : "
            "<@U0BOB>.")
    assert "You are not an approver" in private.decision(refusal)
    with using("de"):  # a locale the bot has no words for: the workspace's language
        assert language() == "en"


def test_the_workspace_language_is_the_default_for_everyone() -> None:
    try:
        set_workspace_language("fr")
        assert checks.age(None) == "jamais"
        with using("en"):
            assert checks.age(3) == "3 min ago"
        with pytest.raises(ValueError, match="not a supported language"):
            set_workspace_language("de")
    finally:
        set_workspace_language("en")
    assert checks.age(None) == "never"


def test_french_is_a_real_catalog_not_the_english() -> None:
    fr = translations("fr")
    differs = [m for m in entries("fr") if isinstance(m.id, str) and m.string != m.id]
    assert len(differs) > 0.9 * len(list(entries("fr")))
    assert fr.gettext("Open requests") == "Demandes ouvertes"


def test_a_language_the_bot_has_no_words_for_stops_start_up(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """REPROTECT_LANGUAGE is checked with the other settings: one line naming it, any case."""
    for key, value in {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s",
                       "AZURE_SUBSCRIPTION_ID": "s", "ASR_RESOURCE_GROUP": "rg",
                       "ASR_VAULT_NAME": "v", "REPROTECT_APPROVERS": "U0BOB"}.items():
        monkeypatch.setenv(key, value)
    for key in ("SLACK_APP_TOKEN", "VCENTER_URL", "DATABASE_URL", "LOG_LEVEL", "LOG_FORMAT"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("REPROTECT_LANGUAGE", "de")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert raised.value.lines == ["REPROTECT_LANGUAGE: Input should be 'en' or 'fr'"]
    monkeypatch.setenv("REPROTECT_LANGUAGE", " FR ")
    assert load_settings().reprotect_language == "fr"
    monkeypatch.delenv("REPROTECT_LANGUAGE")
    assert load_settings().reprotect_language == "en"


def test_what_slack_was_asked_is_said_in_the_reader_language() -> None:
    """`bot.slack_ports` names what it asked Slack; the refusal says it in French too."""
    with using("fr"):
        group = private.slack_unavailable("who is in user group S1")
        workspace = private.slack_unavailable("which workspace the bot belongs to")
        unknown = private.slack_unavailable("<!channel> something new")
    assert "quand le bot a demandé qui fait partie du groupe d'utilisateurs S1" in group
    assert "demandé à quel espace de travail le bot appartient :" in workspace
    assert "&lt;!channel&gt; something new" in unknown
