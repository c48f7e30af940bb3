"""Loopback Azure Resource Manager emulator for the Site Recovery ``replication*`` API.

The bot is exercised with the real ``SiteRecoveryManagementClient`` and the real
``DefaultAzureCredential``: this module serves ARM over verified HTTPS (a throw-away CA, see
:mod:`sandbox.tls`) and an App Service style managed-identity endpoint over plain loopback
HTTP, so nothing in the client stack is patched. Behaviour follows
Site Recovery's REST reference (api-version 2025-08-01); the vault itself lives in
:mod:`sandbox.arm_world`.

Usage::

    with ArmEmulator(World.sample()) as emu:
        os.environ.update(emu.env())
        client = SiteRecoveryManagementClient(DefaultAzureCredential(), SUBSCRIPTION_ID,
                                              base_url=emu.base_url)
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hmac
import json
import math
import re
import secrets
import shutil
import socket
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from gateways.agent_auth import AGENT_AUTH_HEADER, CLIENT_REQUEST_ID_HEADER, verify
from sandbox.arm_failback import (
    OPERATIONS,
    is_reverse_reprotect,
    item_action,
    plan_action,
    reprotect_to_azure,
    restart_to_azure,
)
from sandbox.arm_world import (
    JOB_ACTIONS,
    ArmError,
    Job,
    Json,
    World,
    iso,
    parse_filter,
    parse_iso,
    same_id,
    stable_guid,
)
from sandbox.tls import issue_loopback_pki

__all__ = ["ArmEmulator", "RecordedRequest", "World"]

IDENTITY_PATH = "/msi/token"
IDENTITY_API_VERSION = "2019-08-01"
TOKEN_LIFETIME_S = 3600
ARM_AUDIENCES = frozenset({"https://management.azure.com", "https://management.core.windows.net"})
SKIP_TOKEN = "$skiptoken"
EXTENDED_INFO = ["extendedinformation", "vaultextendedinfo"]
PERMISSIONS = ["providers", "microsoft.authorization", "permissions"]
# ARM's token buckets per subscription and principal (facts §12): size, refill per second.
READ_BUCKET = (250, 25.0)
WRITE_BUCKET = (200, 10.0)

# Collection -> the collection it is nested in (None: directly under the vault). Nested ones
# are also listed vault-wide, as the service does.
_PARENT: dict[str, str | None] = {
    "replicationfabrics": None,
    "replicationpolicies": None,
    "replicationrecoveryplans": None,
    "replicationprotectioncontainers": "replicationfabrics",
    "replicationprotecteditems": "replicationprotectioncontainers",
    "replicationprotectioncontainermappings": "replicationprotectioncontainers",
    "replicationvcenters": "replicationfabrics",
    "replicationrecoveryservicesproviders": "replicationfabrics",
}
_ITEM_PATH = (
    "replicationfabrics",
    "replicationprotectioncontainers",
    "replicationprotecteditems",
)


@dataclass(frozen=True)
class RecordedRequest:
    """One ARM request as received (``body`` is parsed JSON, raw text if unparsable, or None)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass(frozen=True)
class _Call:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


@dataclass
class _Reply:
    status: int
    body: Json | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    headers: dict[str, str]
    body: Json | None
    remaining: int
    processed: bool


class _TokenBucket:
    """ARM's throttling model: a request takes a token; none left answers 429."""

    def __init__(self, size: int, refill_per_s: float) -> None:
        self.size = size
        self.refill_per_s = refill_per_s
        self._tokens = float(size)
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> tuple[float, int]:
        """(seconds to wait, 0 when a token was taken; tokens remaining)."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.size, self._tokens + (now - self._last) * self.refill_per_s)
            self._last = now
            if self._tokens < 1:
                return (1 - self._tokens) / self.refill_per_s, 0
            self._tokens -= 1
            return 0.0, int(self._tokens)


class _TokenAuthority:
    """Process-wide issuer, like one Entra tenant: a token is good at any emulator instance.

    Tokens are JWT-shaped (unsigned claims readable by code that logs them) but only the exact
    strings issued here are accepted.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._grants: dict[str, tuple[str, float]] = {}

    def issue(self, resource: str, principal_id: str) -> tuple[str, float]:
        now = time.time()
        expires = now + TOKEN_LIFETIME_S
        claims = {
            "aud": resource,
            "iss": "https://sts.windows.net/00000000-0000-0000-0000-00000000000a/",
            "iat": int(now),
            "nbf": int(now),
            "exp": int(expires),
            "oid": principal_id,
            "idtyp": "app",
            "jti": secrets.token_hex(8),
        }
        parts = [{"typ": "JWT", "alg": "RS256"}, claims]
        encoded = [base64.urlsafe_b64encode(json.dumps(p).encode()).rstrip(b"=") for p in parts]
        signature = base64.urlsafe_b64encode(secrets.token_bytes(64)).rstrip(b"=")
        token = b".".join([*encoded, signature]).decode()
        with self._lock:
            self._grants[token] = (resource, expires)
        return token, expires

    def grant(self, token: str) -> tuple[str, float] | None:
        with self._lock:
            return self._grants.get(token)


_AUTHORITY = _TokenAuthority()


class _Server(ThreadingHTTPServer):
    """Loopback server; TLS is negotiated in the worker thread so a stuck client can't block
    the accept loop, and open connections are tracked so :meth:`close_connections` can end
    idle keep-alive threads at stop."""

    daemon_threads = True

    def __init__(self, app: Callable[[_Call], _Reply], tls: ssl.SSLContext | None) -> None:
        self.app = app
        self.tls = tls
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        connection: socket.socket = request
        try:
            if self.tls is not None:
                request.settimeout(5)
                connection = self.tls.wrap_socket(request, server_side=True)
            with self._open_lock:
                self._open.add(connection)
            super().finish_request(connection, client_address)
        except OSError:  # includes ssl.SSLError: client left or failed the handshake
            pass
        finally:
            with self._open_lock:
                self._open.discard(connection)
            if connection is not request:
                connection.close()

    def close_connections(self) -> None:
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        split = urlsplit(self.path)
        call = _Call(
            method=self.command,
            path=split.path,
            query=parse_qsl(split.query, keep_blank_values=True),
            headers=dict(self.headers.items()),
            body=self.rfile.read(length) if length else b"",
        )
        reply = self.server.app(call)
        payload = b"" if reply.body is None else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests read :attr:`ArmEmulator.requests` instead of stderr."""


def _not_found(what: str) -> ArmError:
    return ArmError(404, "NotFound", f"The resource '{what}' was not found.")


def _unauthorized(code: str, message: str) -> ArmError:
    challenge = (
        'Bearer authorization_uri="https://login.microsoftonline.com/common", '
        f'error="invalid_token", error_description="{message}"'
    )
    return ArmError(401, code, message, headers={"WWW-Authenticate": challenge})


def _encode_skip(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).rstrip(b"=").decode()


def _decode_skip(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "offset":
            raise ValueError(token)
        return int(value)
    except (ValueError, binascii.Error) as exc:
        raise ArmError(400, "InvalidSkipToken", f"The skip token '{token}' is invalid.") from exc


def _valid_collection_path(lowered: Sequence[str]) -> bool:
    """Type segments must nest as in the ASR resource hierarchy."""
    types = lowered[0::2]
    for depth, kind in enumerate(types):
        if kind not in _PARENT:
            return False
        parent = _PARENT[kind]
        if depth == 0 and parent is not None and len(lowered) > 1:
            return False
        if depth > 0 and types[depth - 1] != parent:
            return False
    return True


class ArmEmulator:
    """ARM (HTTPS) + managed identity (HTTP) on loopback, serving one :class:`World` vault."""

    def __init__(
        self,
        world: World | None = None,
        *,
        latency_s: float = 0.0,
        ca_dir: Path | None = None,
        throttle: bool = False,
    ) -> None:
        self.world = world if world is not None else World.sample()
        self.latency_s = latency_s
        self.requests: list[RecordedRequest] = []
        # ``throttle``: ARM's read and write token buckets; ``throttled`` counts 429 answers.
        self._buckets: dict[str, _TokenBucket] = {}
        self.throttled = 0
        if throttle:
            self.set_throttle()
        # What Azure RBAC grants the bot's identity on the vault (Permissions - List For
        # Resource): Site Recovery Contributor's `Microsoft.RecoveryServices/*` by default.
        self.permissions: list[Json] = [{"actions": ["Microsoft.RecoveryServices/*"],
                                         "notActions": []}]
        self.identity_header = secrets.token_urlsafe(24)
        self.principal_id = str(uuid.uuid4())
        # Seconds the managed-identity endpoint takes to answer (a slow or overloaded one).
        self.identity_latency_s = 0.0
        # Retry-After of 202 answers. The service says 30 s; by default the emulator scales
        # that to its world's clock (a task of `task_seconds`), so that a client honouring it
        # keeps sandbox runs quick. Set a number to send exactly that.
        self.lro_retry_after: int | None = None
        self.base_url = ""
        self.identity_endpoint = ""
        self.ca_path = ""
        self._ca_dir = ca_dir
        self._owned_dir: Path | None = None
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Issue the CA, bind both listeners on ephemeral loopback ports, serve in threads."""
        if self._servers:
            raise RuntimeError("emulator already started")
        directory = self._ca_dir
        if directory is None:
            directory = self._owned_dir = Path(tempfile.mkdtemp(prefix="arm-emulator-"))
        pki = issue_loopback_pki(directory)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(pki.cert_path, pki.key_path)
        arm = _Server(self._handle_arm, context)
        identity = _Server(self._handle_identity, None)
        self._servers = [arm, identity]
        for server in self._servers:
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"arm-emulator-{server.server_port}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        self.ca_path = str(pki.ca_path)
        self.base_url = f"https://127.0.0.1:{arm.server_port}"
        self.identity_endpoint = f"http://127.0.0.1:{identity.server_port}{IDENTITY_PATH}"

    def stop(self) -> None:
        """Stop serving, end open connections and remove the CA directory if we created it."""
        for server in self._servers:
            server.shutdown()
            server.close_connections()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers, self._threads = [], []
        if self._owned_dir is not None:
            shutil.rmtree(self._owned_dir, ignore_errors=True)
            self._owned_dir = None

    def __enter__(self) -> ArmEmulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def env(self) -> dict[str, str]:
        """Environment for a process (or monkeypatched test) that should use this emulator."""
        if not self.base_url:
            raise RuntimeError("start the emulator first")
        return {
            "AZURE_ARM_ENDPOINT": self.base_url,
            "REQUESTS_CA_BUNDLE": self.ca_path,
            "IDENTITY_ENDPOINT": self.identity_endpoint,
            "IDENTITY_HEADER": self.identity_header,
            "AZURE_SUBSCRIPTION_ID": self.world.subscription_id,
            "ASR_RESOURCE_GROUP": self.world.resource_group,
            "ASR_VAULT_NAME": self.world.vault_name,
        }

    def set_throttle(
        self,
        read: tuple[int, float] = READ_BUCKET,
        write: tuple[int, float] = WRITE_BUCKET,
    ) -> None:
        """Throttle like ARM: a token bucket (size, refill per second) for reads and writes."""
        self._buckets = {"read": _TokenBucket(*read), "write": _TokenBucket(*write)}

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        count: int = 1,
        processed: bool = False,
    ) -> None:
        """Answer the next ``count`` matching ARM requests with ``status`` (after auth).

        ``path_regex`` is searched case-insensitively in the URL path. Without ``body`` an ARM
        error envelope fitting the status is sent (429: ARM's throttling error). With
        ``processed`` the request takes effect first and only its answer is lost (a 500 after
        the service started the job).
        """
        with self._lock:
            self._faults.append(
                _Fault(
                    method=method.upper(),
                    pattern=re.compile(path_regex, re.IGNORECASE),
                    status=status,
                    headers=dict(headers or {}),
                    body=body,
                    remaining=count,
                    processed=processed,
                )
            )

    # ------------------------------------------------------------------ managed identity
    def _handle_identity(self, call: _Call) -> _Reply:
        """App Service managed identity (api 2019-08-01): what azure-identity/MSAL call."""
        if self.identity_latency_s:
            time.sleep(self.identity_latency_s)

        def refuse(status: int, message: str) -> _Reply:
            return _Reply(status, {"statusCode": status, "message": message})

        if call.method != "GET" or call.path != IDENTITY_PATH:
            return refuse(404, "Not found.")
        secret = call.header("X-IDENTITY-HEADER")
        if secret is None:
            return refuse(400, "The X-IDENTITY-HEADER header is required.")
        if not hmac.compare_digest(secret.encode(), self.identity_header.encode()):
            return refuse(401, "The X-IDENTITY-HEADER header is invalid.")
        query = dict(call.query)
        if query.get("api-version") != IDENTITY_API_VERSION:
            return refuse(400, f"api-version must be {IDENTITY_API_VERSION}.")
        resource = query.get("resource")
        if not resource:
            return refuse(400, "The resource parameter is required.")
        if {"client_id", "mi_res_id", "object_id", "principal_id"} & query.keys():
            return refuse(400, "No user-assigned identity with the requested id is assigned.")
        token, expires = _AUTHORITY.issue(resource, self.principal_id)
        return _Reply(
            200,
            {
                "access_token": token,
                "expires_on": str(int(expires)),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": self.principal_id,
            },
        )

    # ------------------------------------------------------------------ ARM
    def _handle_arm(self, call: _Call) -> _Reply:
        body: Any = None
        body_error = False
        if call.body:
            try:
                body = json.loads(call.body)
            except ValueError:
                body, body_error = call.body.decode(errors="replace"), True
        with self._lock:
            self.requests.append(
                RecordedRequest(call.method, call.path, dict(call.query), call.headers, body)
            )
        if self.latency_s:
            time.sleep(self.latency_s)
        remaining: dict[str, str] = {}
        try:
            self._authenticate(call)
            remaining = self._throttle(call)
            fault = self._take_fault(call)
            if fault is not None and not fault.processed:
                raise self._fault_error(call, fault.status, fault.headers, fault.body)
            query = dict(call.query)
            if not query.get("api-version"):
                raise ArmError(
                    400,
                    "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.",
                )
            if body_error:
                raise ArmError(
                    400, "InvalidRequestContent", "The request content is not valid JSON."
                )
            reply = self._route(call, query, body)
            if fault is not None:
                raise self._fault_error(call, fault.status, fault.headers, fault.body)
        except ArmError as error:
            reply = _Reply(error.status, error.body(), dict(error.headers))
        reply.headers.update(remaining)
        reply.headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
        reply.headers.setdefault("x-ms-correlation-request-id", str(uuid.uuid4()))
        return reply

    def _authenticate(self, call: _Call) -> None:
        header = call.header("Authorization")
        if not header:
            raise _unauthorized(
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
            )
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized(
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is provided in an invalid "
                "format.",
            )
        grant = _AUTHORITY.grant(token)
        if grant is None:
            raise _unauthorized("InvalidAuthenticationToken", "The access token is invalid.")
        audience, expires = grant
        if expires <= time.time():
            raise _unauthorized("ExpiredAuthenticationToken", "The access token has expired.")
        if audience.rstrip("/") not in ARM_AUDIENCES:
            raise _unauthorized(
                "InvalidAuthenticationTokenAudience",
                f"The access token has been obtained for wrong audience or resource '{audience}'.",
            )

    def _throttle(self, call: _Call) -> dict[str, str]:
        """Take a token of the read or write bucket; 429 with Retry-After when none is left."""
        kind = "read" if call.method == "GET" else "write"
        bucket = self._buckets.get(kind)
        if bucket is None:
            return {}
        wait, left = bucket.take()
        if wait:
            with self._lock:
                self.throttled += 1
            after = max(1, math.ceil(wait))
            raise self._fault_error(call, 429, {"Retry-After": str(after)}, None)
        return {f"x-ms-ratelimit-remaining-subscription-{kind}s": str(left)}

    def _take_fault(self, call: _Call) -> _Fault | None:
        with self._lock:
            fault = next(
                (
                    f
                    for f in self._faults
                    if f.remaining > 0 and f.method == call.method and f.pattern.search(call.path)
                ),
                None,
            )
            if fault is not None:
                fault.remaining -= 1
            return fault

    def _fault_error(
        self, call: _Call, status: int, headers: dict[str, str], body: Json | None
    ) -> ArmError:
        phrase = next((s.phrase for s in HTTPStatus if s.value == status), "Error")
        if status == 429:
            code = "SubscriptionRequestsThrottled"
            after = headers.get("Retry-After", "1")
            message = (
                f"Number of '{'read' if call.method == 'GET' else 'write'}' requests for "
                f"subscription actor '{self.principal_id}' exceeded. Please try again after "
                f"'{after}' seconds after additional tokens are available."
            )
        else:
            code, message = phrase.replace(" ", ""), f"Injected {status} {phrase}."
        return ArmError(status, code, message, headers=headers, body=body)

    def _check_agent_auth(self, call: _Call) -> None:
        """A signed write must carry a token of this vault's key naming its request id."""
        token = call.header(AGENT_AUTH_HEADER)
        if token is None:
            return
        key = self.world.integrity_key
        why = (
            "the vault has no extended information (no integrity key)"
            if key is None
            else verify(key, token, call.header(CLIENT_REQUEST_ID_HEADER), dt.datetime.now(dt.UTC))
        )
        if why is not None:
            raise ArmError(
                400,
                "AgentAuthenticationFailed",
                f"The Agent-Authentication token was refused: {why}.",
                possible_causes="The token was signed with another key than the vault's "
                "channel integrity key, or for another request.",
                recommended_action="Sign with the integrityKey of the vault's extended info.",
            )

    def _vault_relative(self, segments: list[str]) -> list[str]:
        """Strip and check ``subscriptions/../resourceGroups/../vaults/{vault}`` like ARM."""
        literals = {0: "subscriptions", 2: "resourcegroups", 4: "providers", 6: "vaults"}
        if len(segments) < 8 or any(segments[i].lower() != v for i, v in literals.items()):
            raise _not_found("/" + "/".join(segments))
        world = self.world
        if not same_id(segments[1], world.subscription_id):
            raise ArmError(
                404, "SubscriptionNotFound", f"The subscription '{segments[1]}' could not be found."
            )
        if not same_id(segments[3], world.resource_group):
            raise ArmError(
                404, "ResourceGroupNotFound", f"Resource group '{segments[3]}' could not be found."
            )
        if segments[5].lower() != "microsoft.recoveryservices" or not same_id(
            segments[7], world.vault_name
        ):
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource '{segments[5]}/vaults/{segments[7]}' under resource group "
                f"'{segments[3]}' was not found.",
            )
        return segments[8:]

    def _route(self, call: _Call, query: dict[str, str], body: Any) -> _Reply:
        rest = self._vault_relative([unquote(s) for s in call.path.split("/") if s])
        lowered = [s.lower() for s in rest]
        world = self.world
        with world.lock:
            world.settle()
            try:
                if lowered == EXTENDED_INFO and call.method == "GET":
                    return self._extended_info()
                if lowered == PERMISSIONS and call.method == "GET":
                    return _Reply(200, {"value": self.permissions})
                if call.method == "GET" and len(lowered) >= 2 and lowered[-2] == "operationresults":
                    return self._operation_result(query, rest[-1])
                if lowered[:1] == ["replicationjobs"]:
                    return self._jobs(call, query, rest)
                if (
                    call.method == "POST"
                    and len(lowered) == 7
                    and tuple(lowered[0:6:2]) == _ITEM_PATH
                    and (lowered[6] == "reprotect" or lowered[6] in OPERATIONS)
                ):
                    item = world.resources["/".join(lowered[:6])]
                    self._check_agent_auth(call)
                    return self._accepted(query, self._item_write(item, lowered[6], body).name)
                if (
                    call.method == "POST"
                    and len(lowered) == 3
                    and lowered[0] == "replicationrecoveryplans"
                    and lowered[2] in OPERATIONS
                ):
                    plan = world.resources["/".join(lowered[:2])]
                    self._check_agent_auth(call)
                    return self._accepted(query, plan_action(world, plan, lowered[2], body).name)
                if call.method == "GET" and _valid_collection_path(lowered):
                    return self._read(call, query, lowered)
            except KeyError:
                raise _not_found("/".join(rest)) from None
        raise _not_found("/".join(rest))

    def _item_write(self, item: Json, action: str, body: Any) -> Job:
        """An item's POST: a failback step, or reProtect in whichever direction the item's
        provider replicates (to AVS: the world's reprotect; back to Azure: failback's)."""
        if action in OPERATIONS:
            return item_action(self.world, item, action, body)
        if is_reverse_reprotect(item):
            return reprotect_to_azure(self.world, item, body)
        return self.world.reprotect(item, body)

    def _read(self, call: _Call, query: dict[str, str], lowered: list[str]) -> _Reply:
        """GET of any resource or collection of the ASR hierarchy."""
        world = self.world
        key = "/".join(lowered)
        if len(lowered) % 2 == 0:
            return _Reply(200, world.resources[key])
        if len(lowered) == 1 and _PARENT[key] is not None:
            items = world.of_type(key)
        else:
            if len(lowered) > 1 and "/".join(lowered[:-1]) not in world.resources:
                raise _not_found("/".join(lowered[:-1]))
            items = world.children(key)
        if key == "replicationprotecteditems":
            items = self._filter_items(items, query)
        return self._page(call, items)

    def _filter_items(self, items: list[Json], query: dict[str, str]) -> list[Json]:
        """Vault-wide PI list: ``RecoveryPlanName eq 'x'`` (as PowerShell sends it)."""
        plans = parse_filter(query.get("$filter")).get("recoveryplanname")
        if not plans:
            return items
        member_ids = [
            member["id"]
            for plan in self.world.of_type("replicationRecoveryPlans")
            if any(same_id(plan["name"], wanted) for wanted in plans)
            for group in plan["properties"]["groups"]
            for member in group["replicationProtectedItems"]
        ]
        return [item for item in items if any(same_id(item["id"], m) for m in member_ids)]

    def _jobs(self, call: _Call, query: dict[str, str], rest: list[str]) -> _Reply:
        world = self.world
        if call.method == "GET" and len(rest) == 1:
            return self._page(call, self._list_jobs(query))
        if call.method == "GET" and len(rest) == 2:
            return _Reply(200, world.job_json(rest[1].lower()))
        if call.method == "POST" and len(rest) == 3 and rest[2].lower() in JOB_ACTIONS:
            self._check_agent_auth(call)
            name, action = rest[1].lower(), rest[2].lower()
            restarted = restart_to_azure(world, name) if action == "restart" else None
            return self._accepted(query, (restarted or world.job_action(name, action)).name)
        raise _not_found("/".join(rest))

    def _extended_info(self) -> _Reply:
        """``vaults/{v}/extendedInformation/vaultExtendedInfo``: 404 like ARM when absent."""
        key = self.world.integrity_key
        resource_id = f"{self.world.vault_id}/extendedInformation/vaultExtendedInfo"
        if key is None:
            raise _not_found(resource_id)
        return _Reply(
            200,
            {
                "id": resource_id,
                "name": "vaultExtendedInfo",
                "type": "Microsoft.RecoveryServices/vaults/extendedInformation",
                "etag": stable_guid("etag", key),
                "properties": {"integrityKey": key, "algorithm": "None"},
            },
        )

    def _list_jobs(self, query: dict[str, str]) -> list[Json]:
        """Jobs newest first, filtered on StartTime (lower bound), EndTime, JobStatus."""
        world = self.world
        terms = parse_filter(query.get("$filter"))
        try:
            after = max((parse_iso(v) for v in terms.get("starttime", [])), default=None)
            before = min((parse_iso(v) for v in terms.get("endtime", [])), default=None)
        except ValueError as exc:
            raise ArmError(400, "InvalidFilter", f"Invalid date in $filter: {exc}.") from exc
        states = {s.lower() for s in terms.get("jobstatus", [])}
        jobs = sorted(world.jobs.values(), key=lambda j: j.started, reverse=True)
        # Compare at the wire's microsecond precision: a client echoes back what it was shown.
        return [
            world.job_json(job.name, summary=True)
            for job in jobs
            if (after is None or parse_iso(iso(job.started)) >= after)
            and (before is None or parse_iso(iso(job.started)) <= before)
            and (not states or world.job_state(job).lower() in states)
        ]

    def _page(self, call: _Call, items: Sequence[Json]) -> _Reply:
        """One page of a list answer; ``nextLink`` repeats the query with a skip token."""
        size = max(1, self.world.page_size)
        token = next((v for k, v in call.query if k.lower() == SKIP_TOKEN), None)
        offset = _decode_skip(token) if token else 0
        body: Json = {"value": list(items[offset : offset + size])}
        if offset + size < len(items):
            params = [(k, v) for k, v in call.query if k.lower() != SKIP_TOKEN]
            params.append((SKIP_TOKEN, _encode_skip(offset + size)))
            body["nextLink"] = f"{self.base_url}{call.path}?{urlencode(params, quote_via=quote)}"
        return _Reply(200, body)

    def _lro_headers(self, job_name: str, api_version: str) -> dict[str, str]:
        """Where and when to poll, as ASR answers actions (Location=operationresults/{job})."""
        return {
            "Location": (
                f"{self.base_url}{self.world.vault_id}/operationresults/{job_name}"
                f"?api-version={quote(api_version)}"
            ),
            "Retry-After": str(
                self.lro_retry_after
                if self.lro_retry_after is not None
                else min(30, max(1, math.ceil(self.world.task_seconds)))
            ),
        }

    def _accepted(self, query: dict[str, str], job_name: str) -> _Reply:
        """202 of reProtect/restart; the request id is the job's ARM id, as the service sends."""
        headers = self._lro_headers(job_name, query["api-version"])
        headers["x-ms-request-id"] = self.world.job_id(job_name)
        return _Reply(202, None, headers)

    def _operation_result(self, query: dict[str, str], job_name: str) -> _Reply:
        status, body = self.world.operation_result(job_name.lower())
        if status == 200:
            return _Reply(200, body)
        return _Reply(202, None, self._lro_headers(job_name, query["api-version"]))
