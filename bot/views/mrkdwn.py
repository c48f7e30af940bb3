"""Text the bot did not write (what people type, names read from Azure) made safe for Slack.

Slack reads `<…>` as mentions (`<!channel>`, `<@U…>`) and links (`<https://…|label>`), and
its documentation asks apps to escape `&`, `<` and `>` as HTML entities. Such text is also
shown in a code span, where Slack renders no link, mention or formatting: backticks and line
breaks, which would end the span, are replaced. Every message built from outside text goes
through here, so no reason, name or command value can notify a channel or hide a link.
"""

from __future__ import annotations

# MODIFIER LETTER GRAVE ACCENT: looks like a backtick, cannot close a code span.
BACKTICK_STAND_IN = "\u02cb"


def escape(text: str) -> str:
    """`&`, `<`, `>` as Slack's entities: shown literally, never a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: str) -> str:
    """`text` escaped, as one inline code span it cannot leave."""
    flat = " ".join(text.replace("`", BACKTICK_STAND_IN).splitlines())
    return f"`{escape(flat)}`" if flat.strip() else "` `"


def decode_slash_text(text: str) -> str:
    """Slack sends a slash command's `&`, `<`, `>` as `&amp;`, `&lt;`, `&gt;`; undo exactly
    that (and nothing more), so a plan called `R&D` is found by its name."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
