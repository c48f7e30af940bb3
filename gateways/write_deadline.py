"""One deadline for a whole Site Recovery write, the token and the vault key included.

The write's own timeouts (`WRITE_TIMEOUTS`) bound only its connection to Azure Resource
Manager: fetching a token from the identity endpoint and reading the vault's integrity key come
before it, with their own (long) timeouts. So the write runs in a thread of its own, and the
request may leave only within `CREDENTIALS_S` of the start (a per-call hook, run by the SDK's
pipeline after the token and right before the transport, refuses it later). The caller waits
`CREDENTIALS_S` for the request to leave, then the write's own timeouts for the answer. A
write given up on before its request left is never sent afterwards, and is reported as not
sent; one whose request left is reported as unanswered, which the tracker looks up before
any resend.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from gateways.errors import SiteRecoveryError

T = TypeVar("T")
Hook = Callable[[Any], None]

CREDENTIALS_S = 10.0   # token and vault key, before the request may leave
ANSWER_MARGIN_S = 5.0  # past the write's connect and read timeouts


class _TooLate(Exception):
    """The request was about to leave after its deadline: it is not sent."""


class _Gate:
    """Lets the request leave once, before `send_by`, unless the caller gave up first."""

    def __init__(self, send_by: float) -> None:
        self._send_by = send_by
        self._lock = threading.Lock()
        self._closed = False
        self.sent = False
        self.moved = threading.Event()  # the request left, or the write ended before it

    def hook(self, _request: Any) -> None:
        with self._lock:
            if self._closed or time.monotonic() > self._send_by:
                self._closed = True
                raise _TooLate()
            self.sent = True
        self.moved.set()

    def close(self) -> bool:
        """Give up; True when the request had not left (and now never will)."""
        with self._lock:
            self._closed = True
            return not self.sent


def bounded_write(action: str, write: Callable[[Hook], T], answer_s: float) -> T:
    """Run `write` (credentials, then the request with the hook it is given) under one
    deadline: `CREDENTIALS_S` for the request to leave, then `answer_s` for its answer."""
    gate = _Gate(time.monotonic() + CREDENTIALS_S)
    result: Future[T] = Future()

    def run() -> None:
        try:
            result.set_result(write(gate.hook))
        except BaseException as exc:  # handed to the caller, who raises it
            result.set_exception(exc)
        finally:
            gate.moved.set()

    threading.Thread(target=run, name="asr-write", daemon=True).start()
    if not gate.moved.wait(CREDENTIALS_S) and gate.close():
        raise _not_sent(action)
    try:
        return result.result(timeout=answer_s + ANSWER_MARGIN_S)
    except _TooLate:
        gate.close()
        raise _not_sent(action) from None
    except TimeoutError:
        if gate.close():
            raise _not_sent(action) from None
        raise SiteRecoveryError(
            f"Site Recovery did not answer in time to {action}.",
            f"no answer within {answer_s + ANSWER_MARGIN_S:.0f} s of sending it",
            "The bot looks at the item and its recent jobs before sending it again.",
        ) from None


def _not_sent(action: str) -> SiteRecoveryError:
    return SiteRecoveryError(
        f"Could not {action}: the bot's Azure token or the vault's key did not come within "
        f"{CREDENTIALS_S:.0f} s, so nothing was sent.",
        "the identity endpoint or Azure Resource Manager is slow",
        "Nothing to do: the bot tries again by itself; if it persists, check the managed "
        "identity endpoint (IDENTITY_ENDPOINT) or the network path to Azure.")
