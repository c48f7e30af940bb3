"""The Site Recovery operations the bot runs, by the name stored on requests and runs.

A further operation is one module implementing `base.Operation`, added to `OPERATIONS`. Its
`form` (command, verb, and the scope `vm=` asks for) makes it a command: `operation_for`
finds the operation a typed command names, so the parser and the intake need no change.
"""

from __future__ import annotations

from core.plan import CommandRequest, ReprotectRequest, ResolvedPlan
from operations.base import Operation, ReprotectOperation, Scope
from operations.cancel import CANCEL, CANCEL_VMS
from operations.commit import COMMIT, COMMIT_VMS
from operations.failback import FAILBACK, FAILBACK_VMS
from operations.reprotect import Reprotect

_REPROTECT = Reprotect()
REPROTECT: ReprotectOperation = _REPROTECT
# `/reprotect` of a plan whose VMs run in the private cloud again: chosen when it resolves.
REPROTECT_TO_AZURE: Operation = _REPROTECT.to_azure
OPERATIONS: dict[str, Operation] = {op.name: op for op in (
    REPROTECT, REPROTECT_TO_AZURE, FAILBACK, FAILBACK_VMS, COMMIT, COMMIT_VMS, CANCEL,
    CANCEL_VMS)}


def _command_key(op: Operation) -> tuple[str, str, Scope]:
    return op.form.command, op.form.verb, op.scope


# The operations typed after a command other than `/reprotect` (whose operations, to AVS or
# to Azure, are chosen when the plan resolves): (command, verb, scope).
COMMANDS: dict[tuple[str, str, Scope], Operation] = {
    _command_key(op): op for op in OPERATIONS.values() if op.form.command != REPROTECT.form.command}


def operation_for(command: str, verb: str, *, vms: bool = False) -> Operation | None:
    """The operation `command verb …` names: the item-scope one when `vm=` is given and
    one is registered, else the plan-scope one (None: no such command and verb)."""
    if vms and (command, verb, Scope.ITEM) in COMMANDS:
        return COMMANDS[command, verb, Scope.ITEM]
    return COMMANDS.get((command, verb, Scope.PLAN)) or COMMANDS.get((command, verb, Scope.ITEM))


def verbs(command: str) -> tuple[str, ...]:
    """The verbs `command` takes ("" for the bare command), in registration order."""
    return tuple(dict.fromkeys(verb for c, verb, _ in COMMANDS if c == command))


def requested(request: CommandRequest) -> Operation:
    """The operation a parsed request asks for."""
    if isinstance(request, ReprotectRequest):
        return REPROTECT
    return operation_named(request.operation)


def operation_named(name: str) -> Operation:
    """The operation a stored request or run names."""
    found = OPERATIONS.get(name)
    if found is None:
        raise LookupError(f"no operation {name!r}: the request was made by a newer bot")
    return found


def fingerprint(operation: Operation, plan: ResolvedPlan) -> str:
    """What an approval binds to: the plan's values for this operation and its verdicts."""
    return plan.fingerprint(operation.values(plan))
