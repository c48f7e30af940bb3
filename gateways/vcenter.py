"""vCenter gateway: one pyVmomi session, reused, and vCenter's faults in our own terms.

Preflight reads the VMs of a plan, the master target VM, the hosts and the datastores in a
fixed number of round trips (`vcenter_retrieval`, converted in `vcenter_convert`).
Nothing outside these modules imports pyVmomi; callers get `vcenter_models` dataclasses and
`VCenterError` subclasses whose messages say what to do.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import ssl
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pyVim.connect

from gateways.errors import (
    VCenterAuthError,
    VCenterError,
    VCenterPermissionError,
    VCenterUnreachable,
)
from gateways.vcenter_convert import fault_text, vim, vmodl
from gateways.vcenter_models import VCenterInventory
from gateways.vcenter_retrieval import (
    VimSession,
    missing_root_privileges,
    read_inventory,
    read_power_states,
)

log = logging.getLogger(__name__)

pyvim_connect: Any = pyVim.connect

T = TypeVar("T")


@dataclass(frozen=True)
class VCenterConfig:
    """Connection settings; `password` is the unwrapped secret and never shown in repr."""

    url: str
    user: str
    password: str = field(repr=False)
    ca_bundle: str | None = None
    insecure: bool = False
    timeout_seconds: float = 30.0


class VCenterGateway:
    """A lazily opened, reused vCenter session (thread-safe; re-logs in once on expiry).

    `round_trips` counts the SOAP requests sent after login, so tests can prove that an
    inventory costs the same for 5 VMs as for 100.
    """

    def __init__(self, config: VCenterConfig) -> None:
        parts = urlsplit(config.url)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError(
                f"VCENTER_URL must look like https://vcenter.example/sdk, got {config.url!r}"
            )
        self._config = config
        self._host = parts.hostname
        self._port = parts.port or 443
        self._path = parts.path or "/sdk"
        self._lock = threading.Lock()
        self._session: VimSession | None = None
        self._warned_insecure = False
        self.round_trips = 0

    # -- public API ---------------------------------------------------------------------

    def inventory(
        self,
        *,
        vm_names: Sequence[str],
        vm_uuids: Sequence[str],
        master_target: str,
        master_target_ip: str | None = None,
    ) -> VCenterInventory:
        """Read every VM, host and datastore once, then find the requested ones; then the
        master target's migration events, in one more call."""
        return self._call(
            lambda s: read_inventory(s, vm_names, vm_uuids, master_target, master_target_ip)
        )

    def power_states(self, vm_refs: Sequence[str]) -> dict[str, str]:
        """`runtime.powerState` of the given VM morefs in one retrieval; `notFound` if gone."""
        if not vm_refs:
            return {}
        return self._call(lambda s: read_power_states(s, vm_refs))

    def probe(self) -> tuple[str, ...]:
        """Log in (or reuse the session) and name the write privileges missing on the root."""
        return self._call(missing_root_privileges)

    def close(self) -> None:
        """Log out; the next call logs in again."""
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            try:
                session.content.sessionManager.Logout()
            except (vmodl.MethodFault, OSError, http.client.HTTPException) as exc:
                log.info("vCenter logout failed, session will expire on its own: %s", exc)

    # -- session ------------------------------------------------------------------------

    def _call(self, operation: Callable[[VimSession], T]) -> T:
        """Run `operation` in a session, logging in first or again once if it expired."""
        session = self._ensure_session()
        try:
            return self._translate(session, operation)
        except _SessionExpired:
            log.info("vCenter session expired; logging in again")
            self._drop_session(session)
            session = self._ensure_session()
            try:
                return self._translate(session, operation)
            except _SessionExpired as exc:
                raise VCenterAuthError(
                    "vCenter ended the new session immediately.",
                    why=str(exc),
                    fix="Check the account in vCenter (locked or disabled?) and retry.",
                ) from None

    def _translate(self, session: VimSession, operation: Callable[[VimSession], T]) -> T:
        """Turn pyVmomi and socket failures into `VCenterError`s with a fix."""
        with self._faults(f"vCenter {self._host} refused a request.",
                          "Retry; if it persists, check vCenter's health.", session):
            try:
                return operation(session)
            except vim.fault.NotAuthenticated as exc:  # a NoPermission subclass: test it first
                raise _SessionExpired(fault_text(exc)) from exc
            except vim.fault.NoPermission as exc:
                raise VCenterPermissionError(
                    f"vCenter account {self._config.user!r} may not read the inventory.",
                    why=fault_text(exc),
                    fix="Give the account at least read-only access to the vCenter root, "
                    "propagated to children.",
                ) from None

    @contextlib.contextmanager
    def _faults(self, refused: str, fix: str, session: VimSession | None = None
                ) -> Iterator[None]:
        """The faults every call shares: vCenter refused (`refused`, `fix`), or could not be
        reached (the session, if any, is dropped: the next call logs in again)."""
        try:
            yield
        except vmodl.MethodFault as exc:
            raise VCenterError(refused, why=fault_text(exc), fix=fix) from None
        except (OSError, http.client.HTTPException) as exc:
            if session is not None:
                self._drop_session(session)
            raise self._unreachable(exc) from None

    def _ensure_session(self) -> VimSession:
        with self._lock:
            if self._session is None:
                self._session = self._login()
                self._session.stub.requestModifierList.append(self._count_request)
            return self._session

    def _drop_session(self, session: VimSession) -> None:
        """Forget `session` unless another thread already replaced it."""
        with self._lock:
            if self._session is session:
                self._session = None

    def _login(self) -> VimSession:
        cfg = self._config
        with self._faults(f"vCenter {self._host} refused the login of {cfg.user!r}.",
                          "Check the account in vCenter and retry."):
            try:
                si = pyvim_connect.SmartConnect(
                    host=self._host,
                    port=self._port,
                    path=self._path,
                    user=cfg.user,
                    pwd=cfg.password,
                    sslContext=self._ssl_context(),
                    httpConnectionTimeout=cfg.timeout_seconds,
                )
            except vim.fault.InvalidLogin:
                raise VCenterAuthError(
                    f"vCenter {self._host} rejected the login of {cfg.user!r}.",
                    why="Wrong user name or password, or the account is locked.",
                    fix="Check VCENTER_USER and VCENTER_PASSWORD (user names look like "
                    "cloudadmin@vsphere.local).",
                ) from None
            return VimSession(si._stub, si.RetrieveContent())

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self._config.ca_bundle)
        if self._config.insecure:
            if not self._warned_insecure:
                log.warning(
                    "VCENTER_INSECURE=1: not verifying the certificate of %s; anyone on the "
                    "path can read the vCenter password",
                    self._host,
                )
                self._warned_insecure = True
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _unreachable(self, exc: BaseException) -> VCenterUnreachable:
        where = f"https://{self._host}:{self._port}{self._path}"
        if isinstance(exc, ssl.SSLCertVerificationError):
            return VCenterUnreachable(
                f"vCenter {where} presented a certificate this bot does not trust.",
                why=exc.verify_message or str(exc),
                fix="Set VCENTER_CA_BUNDLE to the CA file that signs vCenter's certificate "
                "(VCENTER_INSECURE=1 only for a lab).",
            )
        if isinstance(exc, ssl.SSLError):
            return VCenterUnreachable(
                f"TLS handshake with vCenter {where} failed.",
                why=str(exc),
                fix="Check VCENTER_URL points at vCenter's HTTPS port.",
            )
        return VCenterUnreachable(
            f"Cannot reach vCenter at {where}.",
            why=f"{type(exc).__name__}: {exc}",
            fix="Check VCENTER_URL, DNS, and that the VPN or ExpressRoute to the private "
            f"cloud is up and port {self._port} is open.",
        )

    def _count_request(self, request: T) -> T:
        """pyVmomi request modifier: sees every SOAP request once, returns it untouched."""
        self.round_trips += 1
        return request


class _SessionExpired(Exception):
    """Internal: the session cookie is no longer valid (vim.fault.NotAuthenticated)."""

