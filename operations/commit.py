"""Commit a failback: Site Recovery removes the failed-back VMs in Azure (irreversible).

`POST failoverCommit` without a body, once on the recovery plan (`COMMIT`) or on each named
item (`COMMIT_VMS`, `vm=`), in both architectures. A VM is ready when its item lists `Commit`
in `allowedOperations`; committed when `Commit` is gone and `ReverseReplicate` (reprotect to
Azure) is listed. That last signal is assumed: Microsoft's only commit example is Hyper-V's.
"""

from __future__ import annotations

from gateways.site_recovery_models import ProtectedItem
from operations.base import Form, Scope
from operations.steps import COMMITTED_AS, Step

ALLOWED_AS = "Commit"
FORM = Form(command="/failback", verb="commit", keys=("plan", "vm"))


def committed(item: ProtectedItem) -> bool:
    """`Commit` no longer offered and reprotect to Azure offered instead."""
    return ALLOWED_AS not in item.allowed_operations and COMMITTED_AS in item.allowed_operations


def _commit(name: str, scope: Scope) -> Step:
    return Step(name=name, form=FORM, scope=scope, done_word="committed", call="failoverCommit",
                allowed_as=ALLOWED_AS, check="commit-ready", is_done=committed)


COMMIT, COMMIT_VMS = _commit("commit", Scope.PLAN), _commit("commit-vm", Scope.ITEM)
