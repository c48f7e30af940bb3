"""Signing Site Recovery writes as Azure PowerShell does (`Agent-Authentication`).

PowerShell's Site Recovery module adds two headers to the calls that reach on-premises
components (reprotect and job restart among them): `x-ms-client-request-id` and an
`Agent-Authentication` token, a JSON object whose HMAC-SHA256 is keyed by the vault's channel
integrity key (`extendedInformation/vaultExtendedInfo` → `integrityKey`). See facts §15.
Pure functions: no Azure SDK, no clock of their own, so the published vector tests them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

HASH_FUNCTION = "HMACSHA256"
VERSION = {"Major": 1, "Minor": 2, "Build": -1, "Revision": -1, "MajorRevision": -1,
           "MinorRevision": -1}
NOT_BEFORE_SKEW = timedelta(hours=1)
VALIDITY = timedelta(days=7)
AGENT_AUTH_HEADER = "Agent-Authentication"
CLIENT_REQUEST_ID_HEADER = "x-ms-client-request-id"


def client_request_id(now: datetime) -> str:
    """`{uuid}-{UTC now as yyyy-MM-dd HH:mm:ss}Z-Ps`, the form PowerShell sends."""
    return f"{uuid.uuid4()}-{now.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z-Ps"


def _ms_date(milliseconds: int) -> str:
    """A Microsoft JSON date; the JSON text escapes its slashes (`\\/Date(…)\\/`)."""
    return f"/Date({milliseconds})/"


def _text(token: dict[str, Any]) -> str:
    """Compact JSON in field order, with `/` escaped as .NET's serializer writes it."""
    return json.dumps(token, separators=(",", ":")).replace("/", "\\/")


def _unsigned(not_before_ms: int, not_after_ms: int, request_id: str) -> dict[str, Any]:
    return {"NotBeforeTimestamp": _ms_date(not_before_ms),
            "NotAfterTimestamp": _ms_date(not_after_ms),
            "ClientRequestId": request_id, "HashFunction": None, "Hmac": None,
            "Version": VERSION, "PropertyBag": {}}


def sign(key: str, request_id: str, not_before_ms: int, not_after_ms: int) -> str:
    """The `Agent-Authentication` header value for one request."""
    token = _unsigned(not_before_ms, not_after_ms, request_id)
    digest = hmac.new(key.encode(), _text(token).encode(), hashlib.sha256).digest()
    token["HashFunction"] = HASH_FUNCTION
    token["Hmac"] = base64.b64encode(digest).decode()
    return _text(token)


def signed_headers(key: str, now: datetime) -> dict[str, str]:
    """Both headers for a write sent now: a fresh request id and the token that names it."""
    request_id = client_request_id(now)
    not_before = int((now - NOT_BEFORE_SKEW).timestamp() * 1000)
    not_after = not_before + int(VALIDITY.total_seconds() * 1000)
    return {CLIENT_REQUEST_ID_HEADER: request_id,
            AGENT_AUTH_HEADER: sign(key, request_id, not_before, not_after)}


def verify(key: str, header: str, request_id: str | None, now: datetime) -> str | None:
    """Why a token is not valid for `key`, the request id and `now`; None when it is."""
    try:
        token = json.loads(header)
        not_before = int(token["NotBeforeTimestamp"].removeprefix("/Date(").removesuffix(")/"))
        not_after = int(token["NotAfterTimestamp"].removeprefix("/Date(").removesuffix(")/"))
        claimed, mac = str(token["ClientRequestId"]), str(token["Hmac"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return "the token is not the JSON object Site Recovery expects"
    if claimed != request_id:
        return "the token's ClientRequestId differs from the x-ms-client-request-id header"
    expected = json.loads(sign(key, claimed, not_before, not_after))["Hmac"]
    if not hmac.compare_digest(expected, mac):
        return "the token's HMAC does not match the vault's integrity key"
    moment = int(now.timestamp() * 1000)
    if not not_before <= moment <= not_after:
        return "the token is outside its validity window"
    return None
