"""What the domain needs from the outside world, as small Protocols (Slack stays in `bot`)."""

from __future__ import annotations

from typing import Protocol


class Notifier(Protocol):
    """Private replies to one person; channel messages go through the outbox instead."""

    def ephemeral(self, channel: str, user: str, text: str) -> None: ...


class Directory(Protocol):
    """A configured list of users and user groups, as user IDs (groups expanded)."""

    def members(self) -> frozenset[str]: ...


class Waker(Protocol):
    """Asks the scheduler to run a periodic job now rather than at its next tick."""

    def wake(self, job: str) -> None: ...
