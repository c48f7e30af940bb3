"""Snapshot comparison shared by the view tests: a snapshot is rewritten only on an explicit
`UPDATE_SNAPSHOTS=1`, so a stray `UPDATE_SNAPSHOTS=0` (or any other value) still compares."""

from __future__ import annotations

import os
from pathlib import Path


def updating() -> bool:
    """True only when the developer asked for new snapshots with `UPDATE_SNAPSHOTS=1`."""
    return os.environ.get("UPDATE_SNAPSHOTS") == "1"


def assert_matches_snapshot(path: Path, rendered: str) -> None:
    """`rendered` equals the committed snapshot at `path` (written first when updating)."""
    if updating():
        path.parent.mkdir(exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}: run with UPDATE_SNAPSHOTS=1 and review it"
    assert rendered == path.read_text(encoding="utf-8"), \
        f"{path.name} differs: run with UPDATE_SNAPSHOTS=1 after a deliberate change and review it"
