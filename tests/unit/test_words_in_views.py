"""Lint rule: Slack's own syntax (emoji shortcodes, mentions, links) is written only in views.

The domain hands typed values (core.events, decisions) to bot/views, which alone turns them
into Slack's markup; a `:emoji:`, `<@user>`, `<#channel>`, `<!here>` or `<http…>` in a string
literal anywhere else would be words written outside the views. The emulators (sandbox/) speak
Slack's wire format by design; tests and benchmarks are not shipped.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXEMPT = ("bot/views/", "sandbox/", "tests/", "benchmarks/", ".")
SLACK_SYNTAX = re.compile(r"(?<![\w/]):[a-z0-9_+-]*[a-z][a-z0-9_+-]*:(?![\w/])|<[@#!]|<http")


def offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                       ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [f"{path.relative_to(ROOT)}:{node.lineno}: {match.group()!r}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings
            for match in [SLACK_SYNTAX.search(node.value)] if match]


def production_modules() -> list[Path]:
    return [p for p in sorted(ROOT.rglob("*.py"))
            if not str(p.relative_to(ROOT)).startswith(EXEMPT)]


def test_slack_syntax_is_written_only_in_views() -> None:
    found = [o for path in production_modules() for o in offences(path)]
    assert not found, "Slack markup outside bot/views:\n" + "\n".join(found)


def test_the_rule_sees_emoji_mentions_and_links() -> None:
    for text in (":rocket: go", "by <@U1>", "in <#C1>", "<!here>", "<https://x|y>"):
        assert SLACK_SYNTAX.search(text), text
    for text in ("12:30:00", "https://example.com", "key: value", "a:b", "%H:%M:%S"):
        assert not SLACK_SYNTAX.search(text), text
