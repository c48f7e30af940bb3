"""No import cycle between the project's modules, type-only imports included (a cycle hidden
behind `TYPE_CHECKING` still ties two modules into one: `Facts` once did so for the preflight
and its vCenter checks)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
PACKAGES = ("bot", "core", "intake", "providers", "operations", "tracking", "approvals", "gateways",
            "store", "sandbox")


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph(*, deferred: bool = True) -> dict[str, set[str]]:
    """Module -> the project modules it imports; `deferred=False` leaves out the imports made
    inside a function (run only when it is called)."""
    files = {_module(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
             if "migrations" not in p.parts}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        targets: set[str] = set()
        for node in _imports(ast.parse(path.read_text()), deferred):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [f"{node.module}.{a.name}" for a in node.names]
                targets |= {n if n in files else node.module for n in names}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def _imports(tree: ast.AST, deferred: bool) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif deferred or not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found += _imports(node, deferred)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle, as the modules in order, or [] (depth-first search)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        stack.pop()
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return []


def test_no_module_imports_itself_through_others() -> None:
    assert _cycle(_graph()) == []


# Bottom first: a module may import its own layer and the layers below it, never one above.
LAYERS = (
    ("gateways",),
    ("core",),
    ("store",),
    ("providers",),
    ("operations",),
    ("intake",),
    ("tracking",),
    ("approvals",),
    ("bot",),
    ("sandbox",),
)


def _layer(module: str) -> int:
    top = module.split(".")[0]
    return next(i for i, names in enumerate(LAYERS) if top in names)


# The shipped command imports the sandbox only to run `reprotect-bot sandbox`.
DEFERRED_UPWARD = {"bot.cli -> sandbox.walkthrough"}


def _upward(graph: dict[str, set[str]]) -> set[str]:
    return {f"{name} -> {target}" for name, targets in graph.items()
            for target in targets if _layer(target) > _layer(name)}


def test_no_module_imports_a_layer_above_its_own() -> None:
    assert _upward(_graph(deferred=False)) == set()
    assert _upward(_graph()) == DEFERRED_UPWARD


def test_every_package_has_its_layer() -> None:
    assert sorted(PACKAGES) == sorted(name for names in LAYERS for name in names)


def test_the_shipped_bot_loads_no_sandbox_module() -> None:
    """Importing what `reprotect-bot run` imports leaves the emulators out of the process."""
    script = ("import sys, bot.cli, bot.container, bot.server, bot.socket_mode; "
              "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sandbox'))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    assert done.stdout.strip() == "[]"


# Every query lives in store/: no other shipped module imports a database library, so the
# domain holds only `store.db`'s handle (Engine, Session, read_scope/session_scope, Conflict).
DATABASE_LIBRARIES = ("sqlalchemy", "sqlmodel", "alembic")


def _database_imports(source: str, where: str) -> list[str]:
    found: list[str] = []
    for node in _imports(ast.parse(source), deferred=True):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
            [a.name for a in node.names]
        found += [f"{where}:{node.lineno}: {name}" for name in names
                  if name.split(".")[0] in DATABASE_LIBRARIES]
    return found


def test_only_the_store_imports_the_database_libraries() -> None:
    outside = [p for pkg in PACKAGES if pkg != "store" for p in sorted((ROOT / pkg).rglob("*.py"))]
    assert [line for path in outside
            for line in _database_imports(path.read_text(), str(path.relative_to(ROOT)))] == []


def test_the_database_rule_sees_every_form_of_import() -> None:
    source = ("import sqlalchemy\nfrom sqlmodel import Session\n"
              "def f():\n    from sqlalchemy.exc import IntegrityError\n"
              "if TYPE_CHECKING:\n    from alembic import command\nimport json\n")
    assert _database_imports(source, "probe") == [
        "probe:1: sqlalchemy", "probe:2: sqlmodel", "probe:4: sqlalchemy.exc",
        "probe:6: alembic"]
