"""Case-insensitive name matching with "did you mean" suggestions."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")


def find(wanted: str, candidates: Iterable[T], *keys: Callable[[T], str]) -> T | None:
    """The candidate one of whose `keys` equals `wanted`, ignoring case."""
    target = wanted.strip().lower()
    for candidate in candidates:
        if any(key(candidate).lower() == target for key in keys):
            return candidate
    return None


def suggest(wanted: str, names: Sequence[str], limit: int = 3) -> tuple[str, ...]:
    """Close matches first; when nothing is close, the first few names that exist."""
    lowered = {n.lower(): n for n in names}
    close = difflib.get_close_matches(wanted.lower(), list(lowered), n=limit, cutoff=0.5)
    return tuple([lowered[c] for c in close] or sorted(names)[:limit])
