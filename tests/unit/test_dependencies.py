"""`pyproject.toml` (what `pip install .` resolves) never allows a version with a published fix
missing, and `requirements.lock` agrees with it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).parents[2]

# (package, last affected version, advisory): the floor must be above it.
ADVISORIES = [
    ("starlette", "1.0.0", "CVE-2026-48710"),
    ("cryptography", "49.0.0", "CVE-2026-69247"),
    ("requests", "2.32.5", "CVE-2026-25645"),
    ("h11", "0.15.0", "CVE-2025-43859"),
    ("urllib3", "2.6.3", "CVE-2026-44431, CVE-2026-44432"),
]


def requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {Requirement(d).name: Requirement(d) for d in project["dependencies"]}


def locked() -> dict[str, Version]:
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (ROOT / "requirements.lock").read_text(),
                      re.MULTILINE)
    return {name.lower(): Version(version) for name, version in pins}


@pytest.mark.parametrize(("package", "affected", "advisory"), ADVISORIES)
def test_floors_exclude_versions_with_published_fixes(package: str, affected: str,
                                                      advisory: str) -> None:
    requirement = requirements().get(package)
    assert requirement is not None, f"{package} is not bounded in pyproject.toml ({advisory})"
    assert not requirement.specifier.contains(affected), f"{package} {affected}: {advisory}"


def test_the_lock_satisfies_pyproject() -> None:
    pins = locked()
    for name, requirement in requirements().items():
        assert requirement.specifier.contains(pins[name.lower()]), (name, pins[name.lower()])
