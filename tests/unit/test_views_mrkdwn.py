"""Outside text in Slack messages: escaped, inside a code span it cannot leave."""

from __future__ import annotations

import pytest

from bot.views.mrkdwn import code, decode_slash_text, escape


@pytest.mark.parametrize(("text", "shown"), [
    ("<!channel>", "&lt;!channel&gt;"),
    ("<https://evil.example|Azure portal>", "&lt;https://evil.example|Azure portal&gt;"),
    ("R&D", "R&amp;D"),
    ("&lt;", "&amp;lt;"),  # typed literally, shown literally
])
def test_escape(text: str, shown: str) -> None:
    assert escape(text) == shown


@pytest.mark.parametrize(("text", "span"), [
    ("vm-01", "`vm-01`"),
    ("a`<@U1>`b", "`aˋ&lt;@U1&gt;ˋb`"),
    ("two\nlines", "`two lines`"),
    ("", "` `"),
])
def test_code_span_cannot_be_left(text: str, span: str) -> None:
    assert code(text) == span
    assert span.count("`") == 2


@pytest.mark.parametrize(("sent", "typed"), [
    ("plan=R&amp;D", "plan=R&D"),
    ("plan=&lt;x&gt;", "plan=<x>"),
    ("plan=&amp;lt;", "plan=&lt;"),  # decoded once: what the user typed
])
def test_slash_text_is_decoded_once(sent: str, typed: str) -> None:
    assert decode_slash_text(sent) == typed
