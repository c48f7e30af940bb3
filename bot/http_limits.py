"""Slow clients: a deadline to receive each request whole, and a cap on open connections.

uvicorn bounds the size of a request's headers (h11, 16 KiB) and the idle time between
requests (`timeout_keep_alive`), but not the time a client takes to send a request: a
connection trickling a byte now and then is held forever, and enough of them use up the
process's open files, so Slack's own requests and `/healthz` are no longer accepted. Its
`limit_concurrency` answers 503 to everyone once full, which is what the attacker wants.

`BoundedH11Protocol` is uvicorn's h11 protocol with two additions, at the connection (the
only place that sees a request before its headers are complete):

- each request must arrive whole (headers and body) within `read_seconds` of the connection
  opening, or of its first byte on a kept-alive connection, else the connection is closed;
- past `max_connections` open connections, a new one closes the connection that has waited
  longest for its request (a slow client, or an idle kept-alive one): Slack's requests, which
  arrive whole at once, get in; connections whose request is being answered are never closed.

Closures are counted and logged at most once a minute, so an attack cannot flood the log.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

# Open files kept for everything but HTTP clients: the database pool, Slack, Azure,
# vCenter, logs.
RESERVED_FILES = 128
REPORT_EVERY = 60.0


@dataclass(frozen=True)
class HttpLimits:
    """`HTTP_MAX_CONNECTIONS` and `HTTP_READ_TIMEOUT_SECONDS`."""

    max_connections: int = 500
    read_seconds: float = 10.0


class _Closures:
    """Connections closed for being slow or surplus, reported at most every REPORT_EVERY."""

    def __init__(self) -> None:
        self._count = 0
        self._since = time.monotonic() - REPORT_EVERY

    def note(self, why: str) -> None:
        self._count += 1
        now = time.monotonic()
        if now - self._since >= REPORT_EVERY:
            log.warning("closed %d HTTP connection(s) since the last report, the latest %s",
                        self._count, why)
            self._count, self._since = 0, now


class BoundedH11Protocol(H11Protocol):
    """See the module's docstring; `protocol_with` sets the limits of one server."""

    limits = HttpLimits()
    closures = _Closures()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_since = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()
        if sum(1 for c in self.connections if not c.transport.is_closing()) > \
                self.limits.max_connections:
            self._make_room()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and not self._received():
            self._arm()  # the first byte of the next request on a kept-alive connection
        super().data_received(data)
        if self._received():
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _received(self) -> bool:
        """The client has sent its whole request (what follows is the bot's answer)."""
        return self.conn.their_state in (h11.DONE, h11.MUST_CLOSE)

    def _arm(self) -> None:
        self._disarm()
        self._waiting_since = self.loop.time()
        self._deadline = self.loop.call_later(self.limits.read_seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if not self._received() and not self.transport.is_closing():
            self.closures.note(f"for not sending a whole request within "
                               f"{self.limits.read_seconds:g} s")
            self.transport.close()

    def _make_room(self) -> None:
        """Close the connection waiting longest for its request; this one if none is."""
        waiting = [c for c in self.connections if isinstance(c, BoundedH11Protocol)
                   and c is not self and not c.transport.is_closing() and not c._received()]
        victim = min(waiting, key=lambda c: c._waiting_since) if waiting else self
        self.closures.note(f"to stay within {self.limits.max_connections} connections")
        victim.transport.close()


def protocol_with(limits: HttpLimits) -> type[BoundedH11Protocol]:
    """The protocol class for one server (uvicorn builds it with its own arguments)."""
    fitted = _fit_open_files(limits)
    return type("BoundedH11Protocol", (BoundedH11Protocol,),
                {"limits": fitted, "closures": _Closures()})


def _fit_open_files(limits: HttpLimits) -> HttpLimits:
    """Raise the soft limit of open files to the hard one (each connection is one, and the
    common soft default of 1,024 is low for a server), then keep the cap under it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit from %d: %s", soft, exc)
    room = soft - RESERVED_FILES if soft != resource.RLIM_INFINITY else limits.max_connections
    if limits.max_connections <= room:
        return limits
    log.warning("HTTP_MAX_CONNECTIONS=%d does not fit the open-file limit (%d): using %d",
                limits.max_connections, soft, max(room, 1))
    return HttpLimits(max_connections=max(room, 1), read_seconds=limits.read_seconds)
