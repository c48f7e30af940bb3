"""Lint rules: Slack's own syntax (emoji shortcodes, mentions, links) is written only in views,
and so is Slack escaping: outside bot/, no module imports the views' escaping function, writes
Slack's entities (`&lt;`) or puts a value in hand-written backticks.

The domain hands typed values (core.events, decisions, check results) to bot/views, which
alone turns them into Slack's markup; a `:emoji:`, `<@user>`, `<#channel>`, `<!here>` or
`<http…>` in a string literal anywhere else would be words written outside the views, and a
`` f"`{name}`" `` a code span a name with a backtick could leave. The emulators (sandbox/)
speak Slack's wire format by design; tests and benchmarks are not shipped.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXEMPT = ("bot/views/", "sandbox/", "tests/", "benchmarks/", "mutants/", ".")
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


ENTITIES = ("&lt;", "&gt;", "&amp;")
OUTSIDE_BOT = ("bot/", "sandbox/", "tests/", "benchmarks/", "mutants/", ".")
# Words still written outside the views, each shown escaped by them: the reasons of the
# values chosen (`Choice.reason`) and a gateway's explanation of an error. A new module may
# not join this list; a module that stops needing it must leave it.
BACKTICKS_LEFT = {"providers/modernized/choices.py", "providers/classic/provider.py",
                  "providers/modernized/provider.py", "gateways/site_recovery_convert.py"}


def escaping_offences(path: Path) -> list[str]:
    """Imports of the views, Slack entities, and values in hand-written backticks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    where = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bot.views"):
            found.append(f"{where}:{node.lineno}: imports {node.module}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and any(e in node.value for e in ENTITIES):
            found.append(f"{where}:{node.lineno}: Slack entity in {node.value[:40]!r}")
        elif isinstance(node, ast.JoinedStr) and where not in BACKTICKS_LEFT:
            found += [f"{where}:{node.lineno}: `{{{ast.unparse(value)}}}` in backticks"
                      for value in _in_backticks(node)]
    return found


def _in_backticks(node: ast.JoinedStr) -> list[ast.expr]:
    """The f-string's values written between two backticks: `` `{value}` ``."""
    parts = node.values
    text = [p.value if isinstance(p, ast.Constant) and isinstance(p.value, str) else None
            for p in parts]
    return [p.value for i, p in enumerate(parts) if isinstance(p, ast.FormattedValue)
            and 0 < i < len(parts) - 1 and (text[i - 1] or "").endswith("`")
            and (text[i + 1] or "").startswith("`")]


def test_slack_escaping_is_done_only_in_bot() -> None:
    modules = [p for p in sorted(ROOT.rglob("*.py"))
               if not str(p.relative_to(ROOT)).startswith(OUTSIDE_BOT)]
    found = [o for path in modules for o in escaping_offences(path)]
    assert not found, "Slack escaping outside bot/:\n" + "\n".join(found)
    left = {p for p in BACKTICKS_LEFT if _in_backticks_anywhere(ROOT / p)}
    assert left == BACKTICKS_LEFT, f"no backticks left in {BACKTICKS_LEFT - left}: drop them"


def _in_backticks_anywhere(path: Path) -> bool:
    return any(_in_backticks(node) for node in ast.walk(ast.parse(path.read_text()))
               if isinstance(node, ast.JoinedStr))


def test_the_escaping_rule_sees_imports_entities_and_backticks(tmp_path: Path) -> None:
    module = tmp_path / "probe.py"
    module.write_text('from bot.views.mrkdwn import code\nA = "&lt;"\nB = f"`{A}`"\n')
    found = escaping_offences(module)
    assert [o.split(": ", 1)[1] for o in found] == [
        "imports bot.views.mrkdwn", "Slack entity in '&lt;'", "`{A}` in backticks"]
