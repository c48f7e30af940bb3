"""What the domain needs from the outside world, as small Protocols (Slack stays in `bot`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from core.notices import Notice
from gateways.vcenter_models import VCenterInventory


class SlackUnavailable(Exception):
    """Slack could not say who someone is (a user group's members, the bot's own workspace)
    and what the bot remembered is too old: a decision that depends on it is refused and the
    person told, never taken on a guess."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what  # what Slack was asked, for `bot.views.private.slack_unavailable`


class Notifier(Protocol):
    """Private replies to one person, as data the bot words; channel messages go through
    the outbox instead."""

    def tell(self, channel: str, user: str, notice: Notice) -> None: ...


class Directory(Protocol):
    """A configured list of users and user groups, as user IDs (groups expanded); raises
    `SlackUnavailable` when a group's members are not known recently enough."""

    def members(self) -> frozenset[str]: ...


class Waker(Protocol):
    """Asks the scheduler to run a periodic job now rather than at its next tick."""

    def wake(self, job: str) -> None: ...


class VCenter(Protocol):
    """The private cloud's vCenter, read in bulk (`gateways.vcenter.VCenterGateway`).

    Both calls raise `gateways.errors.VCenterError` subclasses on an outage, a refused login
    or a missing privilege; preflight turns those into blocking results.
    """

    def inventory(self, *, vm_names: Sequence[str], vm_uuids: Sequence[str],
                  master_target: str, master_target_ip: str | None = None) -> VCenterInventory:
        ...

    def power_states(self, vm_refs: Sequence[str]) -> dict[str, str]: ...
