"""The Site Recovery operations the bot runs, by the name stored on requests and runs.

A further operation is one module implementing `base.Operation`, added to `OPERATIONS`.
"""

from __future__ import annotations

from core.plan import ResolvedPlan
from operations.base import Operation
from operations.reprotect import Reprotect

_REPROTECT = Reprotect()
REPROTECT: Operation = _REPROTECT
# `/reprotect` of a plan whose VMs run in the private cloud again: chosen when it resolves.
REPROTECT_TO_AZURE: Operation = _REPROTECT.to_azure
OPERATIONS: dict[str, Operation] = {op.name: op for op in (REPROTECT, REPROTECT_TO_AZURE)}


def operation_named(name: str) -> Operation:
    """The operation a stored request or run names."""
    found = OPERATIONS.get(name)
    if found is None:
        raise LookupError(f"no operation {name!r}: the request was made by a newer bot")
    return found


def fingerprint(operation: Operation, plan: ResolvedPlan) -> str:
    """What an approval binds to: the plan's values for this operation and its verdicts."""
    return plan.fingerprint(operation.values(plan))
