"""Cancel a failback not yet committed (modernized plans only): the VMs in Azure start again
and replication to the private cloud resumes.

`POST failoverCancel` without a body, once on the recovery plan (`CANCEL`) or on each named
item (`CANCEL_VMS`, `vm=`). A VM is ready when its item lists `CancelFailover` in
`allowedOperations`; cancelled when it lists `PlannedFailover` again (Microsoft's
`ReplicationProtectedItems_FailoverCancel` example). A classic failback cannot be cancelled
("In Legacy architecture, you cannot cancel and retry the failback", Microsoft's modernized
failback tutorial; Azure PowerShell refuses every provider but `InMageRcmFailback`):
`refusal` answers so before anything is sent.
"""

from __future__ import annotations

from core.notices import PlanIssue, PlanProblem
from gateways.site_recovery_models import ProtectedItem
from operations.base import Form, Scope
from operations.steps import Step

ALLOWED_AS = "CancelFailover"
READY_AGAIN_AS = "PlannedFailover"
CANCELLABLE = ("modernized",)  # the architectures whose failback can be cancelled
FORM = Form(command="/failback", verb="cancel", keys=("plan", "vm"))


def cancelled(item: ProtectedItem) -> bool:
    """The item may be failed back again: the failover was undone."""
    return READY_AGAIN_AS in item.allowed_operations


def refusal(architecture: str, plan: str) -> PlanProblem | None:
    """Why a failback of `plan`'s architecture cannot be cancelled; None when it can."""
    if architecture in CANCELLABLE:
        return None
    return PlanProblem(PlanIssue.NOT_CANCELLABLE, plan, architecture=architecture)


def _cancel(name: str, scope: Scope) -> Step:
    return Step(name=name, form=FORM, scope=scope, done_word="cancelled", call="failoverCancel",
                allowed_as=ALLOWED_AS, check="cancel-ready", is_done=cancelled, refused=refusal)


CANCEL, CANCEL_VMS = _cancel("cancel", Scope.PLAN), _cancel("cancel-vm", Scope.ITEM)
