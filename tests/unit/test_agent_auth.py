"""The Agent-Authentication token against PowerShell's own test vector (facts §15)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from gateways.agent_auth import (
    AGENT_AUTH_HEADER,
    CLIENT_REQUEST_ID_HEADER,
    sign,
    signed_headers,
    verify,
)

KEY = "RandomRandom"
REQUEST_ID = "e5ec3f71-75c6-4688-b557-6ef69d2e7514-2018-04-27 22:43:45Z-Ps"
SIGNED_TEXT = (
    '{"NotBeforeTimestamp":"\\/Date(1524865429692)\\/","NotAfterTimestamp":'
    '"\\/Date(1525470229692)\\/","ClientRequestId":"' + REQUEST_ID + '","HashFunction":null,'
    '"Hmac":null,"Version":{"Major":1,"Minor":2,"Build":-1,"Revision":-1,"MajorRevision":-1,'
    '"MinorRevision":-1},"PropertyBag":{}}'
)


def test_token_matches_the_published_vector() -> None:
    header = sign(KEY, REQUEST_ID, 1524865429692, 1525470229692)
    assert json.loads(header)["Hmac"] == "cYcaVjQ7BOG/lVrrl7dhwK5WXad6mvQdqm3ce3JSRY4="
    assert header.startswith('{"NotBeforeTimestamp":"\\/Date(1524865429692)\\/"')
    assert header.replace('"HashFunction":"HMACSHA256"', '"HashFunction":null').replace(
        '"Hmac":"cYcaVjQ7BOG\\/lVrrl7dhwK5WXad6mvQdqm3ce3JSRY4="', '"Hmac":null') == SIGNED_TEXT


def test_headers_carry_a_matching_request_id_and_verify() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    headers = signed_headers(KEY, now)
    request_id = headers[CLIENT_REQUEST_ID_HEADER]
    assert request_id.endswith("-2026-03-01 12:00:00Z-Ps")
    token = json.loads(headers[AGENT_AUTH_HEADER])
    assert token["ClientRequestId"] == request_id and token["HashFunction"] == "HMACSHA256"
    assert verify(KEY, headers[AGENT_AUTH_HEADER], request_id, now) is None


def test_wrong_key_request_id_time_or_shape_are_refused() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    headers = signed_headers(KEY, now)
    token, request_id = headers[AGENT_AUTH_HEADER], headers[CLIENT_REQUEST_ID_HEADER]
    assert "HMAC" in (verify("OtherKey", token, request_id, now) or "")
    assert "ClientRequestId" in (verify(KEY, token, "another-id", now) or "")
    assert "validity" in (verify(KEY, token, request_id, now + timedelta(days=8)) or "")
    assert "JSON" in (verify(KEY, "not json", request_id, now) or "")
