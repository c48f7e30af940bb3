"""The VCenter port when VCENTER_URL is not set: every read says so, nothing is asked.

Planning and preflight read vCenter through one object either way; the "not configured"
answer becomes a warning in the preflight (`providers.classic.vcenter_checks`), like any
other reason vCenter could not be read, instead of `None` checks at every step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from gateways.errors import VCenterError
from gateways.vcenter_models import VCenterInventory

FIX = ("Set VCENTER_URL, VCENTER_USER and VCENTER_PASSWORD (the private cloud's vCenter) to "
       "have the bot check them.")


class VCenterNotConfigured(VCenterError):
    """No vCenter to ask (VCENTER_URL unset): a warning, never a blocker."""


def not_configured_error() -> VCenterNotConfigured:
    """What every read of a not-configured vCenter answers."""
    return VCenterNotConfigured("vCenter not configured", fix=FIX)


class NotConfiguredVCenter:
    """Implements `core.ports.VCenter` for a bot without VCENTER_URL."""

    host = ""

    def inventory(self, *, vm_names: Sequence[str], vm_uuids: Sequence[str],
                  master_target: str, master_target_ip: str | None = None) -> VCenterInventory:
        self._refuse()

    def power_states(self, vm_refs: Sequence[str]) -> dict[str, str]:
        self._refuse()

    @staticmethod
    def _refuse() -> NoReturn:
        raise not_configured_error()
