"""The sandbox vault's other plans, so the console has something to act on after the walk.

Besides the walked plan the vault holds three more, each reaching a state a person meets in
production: one waiting for an approval, one blocked by a preflight check (its item does not
allow `ReverseReplicate`), and one whose reprotect job fails once, so Retry is offered.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.arm_modernized import APPLIANCE, RCM_FABRIC, ModernizedWorld
from sandbox.arm_world import World


@dataclass(frozen=True)
class SandboxPlan:
    """A plan of the sandbox vault: its names, VMs, the stage the console brings it to, and
    whether that takes an approval (so its job runs) or a preflight blocks it."""

    name: str
    friendly: str
    vms: tuple[str, ...]
    stage: str
    approve: bool = False
    blocked: bool = False


PENDING = SandboxPlan("hr-rp", "HR tier 2", ("vm-hr-01", "vm-hr-02"), "pending approval")
BLOCKED = SandboxPlan("legacy-rp", "Legacy apps", ("vm-legacy-01",),
                      "blocked (its VM does not allow reprotect)", blocked=True)
FAILING = SandboxPlan("payments-rp", "Payments", ("vm-pay-01",),
                      "failed (the job of vm-pay-01), Retry offered", approve=True)
EXTRA_PLANS = (PENDING, BLOCKED, FAILING)


def add_extra_plans(world: World, *, modernized: bool) -> None:
    """Add the three plans and their items to `world` (either architecture)."""
    for number, plan in enumerate(EXTRA_PLANS):
        operations = ("DisableProtection",) if plan.blocked else ("ReverseReplicate",
                                                              "DisableProtection")
        for index, vm in enumerate(plan.vms):
            address = f"10.2{2 + number}.0.{10 + index}"
            if modernized:
                assert isinstance(world, ModernizedWorld)
                world.add_rcm_item(vm, ip_address=address, allowed_operations=operations)
            else:
                world.add_item(vm, ip_address=address, allowed_operations=operations)
        world.add_plan(plan.name, friendly_name=plan.friendly, items=plan.vms,
                       fabric_name=RCM_FABRIC if modernized else None)
    world.set_reprotect_failure(FAILING.vms[0], times=1)


def command_for(plan: SandboxPlan, *, modernized: bool) -> str:
    """The `/reprotect` text that asks for `plan` in the sandbox vault's architecture."""
    target = f"appliance={APPLIANCE}" if modernized else "master=avs-mt-01"
    return f'plan="{plan.friendly}" {target}'
