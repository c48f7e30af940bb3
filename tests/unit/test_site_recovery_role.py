"""The custom role `deploy/site-recovery-role.json` grants exactly what the bot calls.

The gateway modules are walked for their Azure SDK calls (`self._client.<group>.<method>`)
and their raw requests (`HttpRequest("GET", ...)`); each SDK call is turned into its HTTP
method and URL by the SDK's own request builder, then into the RBAC action ARM checks. The
integration suite adds the requests the ARM emulator actually receives
(`tests/integration/conftest.py`), so the role cannot drift from the code either way.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import azure.mgmt.recoveryservicessiterecovery.operations._operations as sdk_requests
import pytest

from gateways.site_recovery import WRITE_ACTIONS
from tests.support.arm_role import UnmappedRequest, action_for, role, role_actions, uncovered

ROOT = Path(__file__).resolve().parents[2]
VAULT = ("/subscriptions/sub/resourceGroups/rg/providers/Microsoft.RecoveryServices"
         "/vaults/vault")
PLAN = f"{VAULT}/replicationRecoveryPlans/plan"
ITEM = (f"{VAULT}/replicationFabrics/fabric/replicationProtectionContainers/container"
        "/replicationProtectedItems/item")
# Failback (fail back, commit, cancel; reprotect to Azure is the item's reProtect, already
# sent): the REST operations Microsoft documents for them, on the plan and on the item.
FAILBACK_REQUESTS = [("POST", f"{target}/{verb}") for target in (PLAN, ITEM)
                     for verb in ("plannedFailover", "unplannedFailover", "failoverCommit",
                                  "failoverCancel")]


def gateway_modules() -> list[Path]:
    return sorted((ROOT / "gateways").glob("*.py"))


def _sdk_calls(tree: ast.AST) -> Iterator[tuple[str, str]]:
    """(operation group, method) of every `self._client.<group>.<method>` in the module."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                and isinstance(node.value.value, ast.Attribute)
                and node.value.value.attr == "_client"):
            yield node.value.attr, node.attr


def _raw_requests(tree: ast.AST) -> Iterator[tuple[str, str]]:
    """(method, path) of every `HttpRequest("<METHOD>", f"{self._vault_path}/...")`."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "HttpRequest" and len(node.args) >= 2
                and isinstance(node.args[0], ast.Constant)):
            url = node.args[1]
            parts = url.values if isinstance(url, ast.JoinedStr) else [url]
            yield str(node.args[0].value), "".join(
                str(p.value) if isinstance(p, ast.Constant)
                else VAULT if isinstance(p, ast.FormattedValue)
                and ast.unparse(p.value).endswith("_vault_path") else "x"
                for p in parts)


def _as_request(group: str, method: str) -> tuple[str, str]:
    """The HTTP method and path the SDK sends for `client.<group>.<method>(...)`."""
    operation = method.removeprefix("begin_")
    builder = getattr(sdk_requests, f"build_{group}_{operation}_request", None)
    assert builder is not None, (
        f"the gateway calls {group}.{method}, which this walk cannot map to a request: "
        "extend tests/unit/test_site_recovery_role.py")
    request = builder(*["x"] * builder.__code__.co_argcount)  # one value per path parameter
    return request.method, request.url


def gateway_requests() -> list[tuple[str, str]]:
    """Every (method, path) the gateway modules can send to Azure Resource Manager."""
    found: set[tuple[str, str]] = set()
    for module in gateway_modules():
        tree = ast.parse(module.read_text(encoding="utf-8"))
        found |= {_as_request(group, method) for group, method in _sdk_calls(tree)
                  if not method.startswith("_") and method not in {"close", "send_request"}}
        found |= set(_raw_requests(tree))
    return sorted(found)


def test_the_walk_sees_the_calls_that_matter() -> None:
    """The walk must find the writes and the signed-key read, or it proves nothing."""
    actions = {action_for(m, p) for m, p in gateway_requests()}
    for expected in (
        "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers"
        "/replicationProtectedItems/reProtect/action",
        "Microsoft.RecoveryServices/vaults/replicationJobs/restart/action",
        "Microsoft.RecoveryServices/vaults/extendedInformation/read",
        "Microsoft.RecoveryServices/vaults/replicationProtectedItems/read",
    ):
        assert expected in actions


def test_the_role_grants_every_request_of_the_gateway() -> None:
    assert uncovered(gateway_requests()) == []


def test_the_role_grants_the_failback_operations() -> None:
    assert uncovered(FAILBACK_REQUESTS) == []


def test_the_role_grants_nothing_the_bot_does_not_call() -> None:
    """Least privilege: each action of the role is needed by a gateway call or by failback."""
    needed = {action_for(m, p).lower() for m, p in gateway_requests() + FAILBACK_REQUESTS}
    assert sorted(role_actions() - needed) == []


def test_the_role_is_a_custom_role_without_wildcards_or_data_actions() -> None:
    definition = role()
    assert definition["IsCustom"] is True
    assert definition["NotActions"] == definition["DataActions"] == []
    assert not any("*" in a for a in role_actions())
    assert definition["AssignableScopes"]


@pytest.mark.parametrize(("method", "path", "action"), [
    ("GET", f"{VAULT}/replicationProtectedItems?$filter=x",
     "Microsoft.RecoveryServices/vaults/replicationProtectedItems/read"),
    ("GET", ITEM, "Microsoft.RecoveryServices/vaults/replicationFabrics"
     "/replicationProtectionContainers/replicationProtectedItems/read"),
    ("POST", f"{ITEM}/reProtect", "Microsoft.RecoveryServices/vaults/replicationFabrics"
     "/replicationProtectionContainers/replicationProtectedItems/reProtect/action"),
    ("POST", f"{PLAN}/failoverCommit",
     "Microsoft.RecoveryServices/vaults/replicationRecoveryPlans/failoverCommit/action"),
    ("GET", VAULT, "Microsoft.RecoveryServices/vaults/read"),
])
def test_actions_are_named_as_arm_authorizes_them(method: str, path: str, action: str) -> None:
    assert action_for(method, path) == action


@pytest.mark.parametrize(("method", "path"), [
    ("PUT", PLAN), ("DELETE", ITEM), ("POST", PLAN),
    ("GET", "/subscriptions/sub/providers/Microsoft.Compute/virtualMachines"),
])
def test_writes_and_other_providers_are_never_mapped(method: str, path: str) -> None:
    with pytest.raises(UnmappedRequest):
        action_for(method, path)
    assert uncovered([(method, path)]) != []


def test_check_confirms_every_write_the_role_grants() -> None:
    """`reprotect-bot check` names any write RBAC refuses: each one the bot sends is asked."""
    writes = {a.lower() for a in role_actions() if a.lower().endswith("/action")}
    assert {a.lower() for a in WRITE_ACTIONS} <= writes
    assert {a for a in writes if "failovercommit" in a or "failovercancel" in a} \
        <= {a.lower() for a in WRITE_ACTIONS}
