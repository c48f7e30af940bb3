"""What `deploy/Containerfile` builds, checked without a container engine.

No engine runs where the suite runs (and no registry serves the base image), so the image
itself is not built here; CI lints the Containerfile with hadolint. These tests check what
can be checked: the build context `.dockerignore` leaves holds what the wheel needs and no
tests; the wheel the builder stage makes holds the bot and nothing else; the runtime stage
runs `reprotect-bot serve` as a non-root user on port 3000, with `migrate` as its release.
"""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTAINERFILE = ROOT / "deploy" / "Containerfile"


def ignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(relative: Path, patterns: list[str]) -> bool:
    """`.dockerignore` matching for the patterns this repository uses: a path, a glob, or
    `**/name` for a name at any depth; a match on a folder leaves out all it holds."""
    parts = relative.parts
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for pattern in patterns:
        if pattern.startswith("**/"):
            if any(fnmatch.fnmatch(part, pattern[3:]) for part in parts):
                return True
        elif any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes):
            return True
    return False


def build_context(target: Path) -> Path:
    """A copy of what the engine sends as the build context."""
    patterns = ignore_patterns()
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if path.is_file() and not ignored(relative, patterns):
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / relative)
    return target


def stages() -> list[list[str]]:
    """The Containerfile's instructions (continuations joined), split at each FROM."""
    text = CONTAINERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.strip().startswith("#")]
    found: list[list[str]] = []
    for line in lines:
        if line.upper().startswith("FROM "):
            found.append([])
        found[-1].append(line)
    return found


def packages() -> list[str]:
    """The top-level packages pyproject.toml ships that exist in the tree."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    includes: list[str] = project["tool"]["setuptools"]["packages"]["find"]["include"]
    return [p.rstrip("*") for p in includes if (ROOT / p.rstrip("*")).is_dir()]


def test_the_context_holds_what_the_wheel_needs_and_no_tests() -> None:
    patterns = ignore_patterns()
    for needed in ("pyproject.toml", "README.md", "requirements.lock", *packages()):
        assert (ROOT / needed).exists(), needed
        assert not ignored(Path(needed), patterns), needed
    for left_out in ("tests", "benchmarks", ".git", ".ci", "tests/unit/test_parser.py"):
        assert ignored(Path(left_out), patterns), left_out


def test_the_builder_wheel_holds_the_bot_and_nothing_else(tmp_path: Path) -> None:
    """Built as the builder stage builds it: pip with build isolation, so with the
    build-system of pyproject.toml (fetched from PyPI, as in the image)."""
    context = build_context(tmp_path / "context")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
         "--wheel-dir", str(tmp_path / "wheels"), str(context)],
        check=True, capture_output=True, timeout=240)
    (wheel,) = (tmp_path / "wheels").glob("reprotect_bot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert tops == set(packages())
    assert "bot/cli.py" in names
    assert any(n.startswith("store/migrations/versions/") for n in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "reprotect-bot = bot.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_builder_installs_with_the_lock() -> None:
    builder, _ = stages()
    run = " ".join(line for line in builder if line.startswith("RUN"))
    assert "--constraint requirements.lock" in run
    assert "'.[postgres]'" in run


def test_the_runtime_stage_runs_serve_as_a_non_root_user_on_3000() -> None:
    builder, runtime = stages()
    assert builder[0].split()[1] == runtime[0].split()[1] == "python:3.11-slim"
    user = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert user and user[-1].split(":")[0] not in {"0", "root"}
    assert "EXPOSE 3000" in runtime
    assert 'ENTRYPOINT ["reprotect-bot"]' in runtime
    assert 'CMD ["serve"]' in runtime
    copies = [line for line in runtime if line.startswith(("COPY", "ADD"))]
    assert copies == ["COPY --from=builder /opt/reprotect-bot /opt/reprotect-bot"]


@pytest.mark.parametrize("tool", ["gcc", "build-essential", "pytest", "apt-get install"])
def test_the_runtime_stage_installs_no_build_or_test_tool(tool: str) -> None:
    _, runtime = stages()
    assert not any(tool in line for line in runtime if line.startswith("RUN"))


def test_the_release_step_is_migrate_as_in_the_procfile() -> None:
    """The Procfile's `release` and the image's entry point give the same command."""
    procfile = dict(line.split(": ", 1) for line in
                    (ROOT / "Procfile").read_text(encoding="utf-8").splitlines() if line)
    assert procfile["release"] == "reprotect-bot migrate"
    assert procfile["web"] == "reprotect-bot serve"
