"""The Site Recovery architectures the bot speaks, and which one a plan uses.

A second architecture is one module implementing `base.Provider`, added to `PROVIDERS`.
"""

from __future__ import annotations

from collections.abc import Sequence

from commands.plan_model import ResolvedPlan
from commands.providers.base import Provider
from commands.providers.classic import ClassicProvider
from gateways.site_recovery_models import ProtectedItem, ProviderInput

# The first is the default: the one whose preflight says why it cannot take a plan's items.
PROVIDERS: tuple[Provider, ...] = (ClassicProvider(),)


def provider_for(items: Sequence[ProtectedItem]) -> Provider:
    """The architecture that claims every item of the plan; when none (or several) does, the
    default, whose checks block what it cannot reprotect and say why."""
    claiming = [p for p in PROVIDERS if items and all(p.claims(i) for i in items)]
    return claiming[0] if len(claiming) == 1 else PROVIDERS[0]


def provider_named(name: str) -> Provider:
    """The provider a stored plan was resolved with."""
    found = next((p for p in PROVIDERS if p.name == name), None)
    if found is None:
        raise LookupError(f"no provider {name!r}: the plan was resolved by a newer bot")
    return found


def reprotect_input(plan: ResolvedPlan) -> ProviderInput:
    """What the gateway sends for each item of the approved plan, by its provider."""
    return provider_named(plan.provider).reprotect_input(plan)
