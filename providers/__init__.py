"""The Site Recovery architectures the bot speaks, and which one a plan uses.

A second architecture is one module implementing `base.Provider`, added to `PROVIDERS`.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateways.site_recovery_models import ProtectedItem
from providers.base import Provider
from providers.classic.provider import ClassicProvider
from providers.modernized.provider import ModernizedProvider

CLASSIC, MODERNIZED = ClassicProvider(), ModernizedProvider()
# The first is the default: the one whose preflight says why it cannot take a plan's items.
PROVIDERS: tuple[Provider, ...] = (CLASSIC, MODERNIZED)


def provider_for(items: Sequence[ProtectedItem]) -> Provider:
    """The architecture that claims every item of the plan. A plan mixing both goes to the
    modernized one, whose `architecture` check blocks it and says how to split it; a plan
    nobody claims to the default, whose checks block what it cannot reprotect and say why."""
    claiming = [p for p in PROVIDERS if items and all(p.claims(i) for i in items)]
    if len(claiming) == 1:
        return claiming[0]
    return MODERNIZED if any(MODERNIZED.claims(i) for i in items) else PROVIDERS[0]


def provider_named(name: str) -> Provider:
    """The provider a stored plan was resolved with."""
    found = next((p for p in PROVIDERS if p.name == name), None)
    if found is None:
        raise LookupError(f"no provider {name!r}: the plan was resolved by a newer bot")
    return found
