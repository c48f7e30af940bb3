"""The Azure RBAC action each Site Recovery request needs, and the bot's custom role.

Azure Resource Manager authorizes a request by the resource type its URL names: the
provider, then every collection after a name (`vaults/replicationJobs`), then `read` for a
GET, or `<verb>/action` for a POST that ends in a verb (`replicationJobs/restart/action`).
`deploy/site-recovery-role.json` must grant every action the bot's requests need, so the
tests map the requests the bot sends (recorded by the ARM emulator, or read from the
gateway's SDK calls) through `action_for` and compare with the role.
"""

from __future__ import annotations

import json
from pathlib import Path

ROLE_FILE = Path(__file__).resolve().parents[2] / "deploy" / "site-recovery-role.json"
PROVIDER = "Microsoft.RecoveryServices"
READ_METHODS = frozenset({"GET", "HEAD"})


class UnmappedRequest(ValueError):
    """A request whose URL is not under a Recovery Services vault, or whose verb ARM does not
    authorize as read or action (a PUT, PATCH or DELETE the bot must never send)."""


def action_for(method: str, path: str) -> str:
    """`Microsoft.RecoveryServices/vaults/.../read` or `.../<verb>/action` for one request."""
    segments = [s for s in path.split("?", 1)[0].split("/") if s]
    lowered = [s.lower() for s in segments]
    try:
        start = lowered.index("providers") + 1
    except ValueError:
        raise UnmappedRequest(f"{method} {path}: not an ARM resource path") from None
    if lowered[start:start + 2] != [PROVIDER.lower(), "vaults"] or len(segments) < start + 3:
        raise UnmappedRequest(f"{method} {path}: not under a Recovery Services vault")
    rest = segments[start + 3:]  # after vaults/{vault}
    if [s.lower() for s in rest] == ["providers", "microsoft.authorization", "permissions"]:
        return "Microsoft.Authorization/permissions/read"  # the caller's own, by `check`
    types = ["vaults", *rest[0::2]]  # collection names; the names in between are instances
    method = method.upper()
    if method in READ_METHODS:
        return "/".join([PROVIDER, *types, "read"])
    if method == "POST" and len(rest) % 2 == 1:  # .../{collection}/{name}/{verb}
        return "/".join([PROVIDER, *types[:-1], types[-1], "action"])
    raise UnmappedRequest(f"{method} {path}: the bot only reads and posts actions")


def role() -> dict[str, object]:
    loaded: dict[str, object] = json.loads(ROLE_FILE.read_text(encoding="utf-8"))
    return loaded


def role_actions() -> frozenset[str]:
    """The role's actions, lower-cased: ARM compares action names case-insensitively."""
    actions = role()["Actions"]
    assert isinstance(actions, list)
    return frozenset(str(a).lower() for a in actions)


def uncovered(requests: list[tuple[str, str]]) -> list[str]:
    """Each request the role does not allow, as `METHOD path -> action` (empty: all allowed)."""
    granted = role_actions()
    missing = []
    for method, path in requests:
        try:
            action = action_for(method, path)
        except UnmappedRequest as exc:
            missing.append(str(exc))
            continue
        if action.lower() not in granted:
            missing.append(f"{method} {path} -> {action}")
    return sorted(set(missing))
