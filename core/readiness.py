"""How ready the bot is, dependency by dependency, as data the App Home shows in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class DependencyState:
    """One dependency: `ok` (None: not configured or not known yet), when it last worked,
    and what went wrong last, never a secret."""

    name: str
    ok: bool | None
    last_success: datetime | None = None
    error: str = ""
