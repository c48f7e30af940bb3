"""Show Slack messages readably in a terminal: mrkdwn flattened, emoji as symbols."""

from __future__ import annotations

import re
import textwrap
from typing import Any

EMOJI = {
    ":white_check_mark:": "✔", ":no_entry:": "⛔", ":warning:": "⚠", ":ballot_box:": "☐",
    ":x:": "✘", ":rocket:": "🚀", ":hourglass_flowing_sand:": "⏳", ":hourglass:": "⏳",
    ":tada:": "🎉", ":bulb:": "💡", ":arrows_counterclockwise:": "🔄", ":mag:": "🔍",
    ":no_entry_sign:": "🚫", ":ballot_box_with_check:": "☑",
    ":large_green_circle:": "🟢", ":red_circle:": "🔴", ":large_blue_circle:": "🔵",
    ":grey_question:": "❔",
}
USERS = {"U0ALICE": "alice (operator)", "U0BOB": "bob (approver)"}


def plain(text: str) -> str:
    """mrkdwn to terminal text: user mentions, dates and emoji made readable."""
    text = re.sub(r"<@(\w+)>", lambda m: "@" + USERS.get(m.group(1), m.group(1)), text)
    text = re.sub(r"<!date\^\d+\^[^|]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"<#(\w+)>", r"#\1", text)
    for code, symbol in EMOJI.items():
        text = text.replace(code, symbol)
    return text.replace("*", "").replace("`", "")


def _checkboxes(element: dict[str, Any]) -> list[str]:
    """A checkboxes element's options as [x] / [ ] lines (none for other elements)."""
    ticked = {o["value"] for o in element.get("initial_options", [])}
    return [f"[{'x' if o['value'] in ticked else ' '}] {plain(o['text']['text'])}"
            for o in element.get("options", []) if element.get("type") == "checkboxes"]


def render(text: str, blocks: list[dict[str, Any]] | None, indent: str = "  ") -> str:
    """One message as indented lines; buttons shown as [Approve] [Reject]."""
    lines: list[str] = []
    for block in blocks or []:
        kind = block.get("type")
        if kind == "section":
            lines.extend(plain(block["text"]["text"]).splitlines())
        elif kind == "context":
            lines.extend(plain(" ".join(e.get("text", "") for e in block["elements"]))
                         .splitlines())
        elif kind == "actions":
            for element in block["elements"]:
                lines.extend(_checkboxes(element))
            buttons = [f"[{e['text']['text']}]" for e in block["elements"] if "text" in e]
            if buttons:
                lines.append("  ".join(buttons))
    if not lines:
        lines = plain(text).splitlines()
    wrapped = [textwrap.fill(line, width=100, subsequent_indent="    ") for line in lines]
    return textwrap.indent("\n".join(wrapped), indent)
