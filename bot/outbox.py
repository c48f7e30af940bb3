"""Outbox sender: delivers queued Slack messages in order per thread, within rate limits.

Rows are written in the same transaction as the state change that causes them; this sender
claims them with a lease, renewed and checked before each send (so no replica sends a row
another holds, and none is posted twice), renders them from the current database state, and
retries on 429 (honouring Retry-After) and on 5xx or connection errors. A Slack outage
delays messages; it never loses them. Each request's messages go strictly in order: nothing
of a thread is sent before its root has a `ts`, and a waiting message holds back the ones
after it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine
from sqlmodel import Session

from bot import views
from commands.mrkdwn import code
from commands.plan_model import ResolvedPlan
from store import outbox_queue as queue
from store.models import Outbox, OutboxKind, OutboxStatus, Request, utcnow
from store.repo import approvals_of, confirmations, get_request

log = logging.getLogger(__name__)

# Longer than one send can take (slack_sdk's 10 s timeout and one retry on a dropped
# connection), and renewed before each send: another replica never sends a row in flight.
LEASE = timedelta(seconds=60)
# Slack errors that heal by themselves. Any other error Slack answers (`channel_not_found`,
# `not_in_channel`, `is_archived`, `restricted_action*`, `invalid_blocks`, one added later…)
# will be the same on every attempt: that message is dropped and logged, so it does not hold
# back the rest of its thread forever. 429 and 5xx answers are retried whatever they say.
TRANSIENT_ERRORS = frozenset({
    "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
    "team_added_to_org",
})
MAX_BACKOFF = 300.0


class ChannelPacer:
    """Token bucket per channel: Slack allows about one message a second, short bursts."""

    def __init__(self, rate: float = 1.0, burst: int = 3) -> None:
        self._rate = rate
        self._burst = burst
        self._tokens: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, channel: str) -> float:
        """0 when a message may go now (and counts it), else the seconds to wait."""
        with self._lock:
            now = time.monotonic()
            tokens, last = self._tokens.get(channel, (float(self._burst), now))
            tokens = min(self._burst, tokens + (now - last) * self._rate)
            if tokens < 1:
                self._tokens[channel] = (tokens, now)
                return (1 - tokens) / self._rate
            self._tokens[channel] = (tokens - 1, now)
            return 0.0


class OutboxSender:
    def __init__(self, engine: Engine, client: WebClient, owner: str,
                 pacer: ChannelPacer | None = None, *,
                 approval_confirms_manual: bool = True) -> None:
        self._engine = engine
        self._client = client
        self._owner = owner
        self._pacer = pacer or ChannelPacer()
        self._approval_confirms_manual = approval_confirms_manual
        self._lock = threading.Lock()

    def tick(self) -> None:
        """Send what is due; one sender at a time per process keeps per-thread order."""
        if not self._lock.acquire(blocking=False):
            return
        try:
            for request_id in queue.due_requests(self._engine):
                self._drain(request_id)
        finally:
            self._lock.release()

    def _drain(self, request_id: int) -> None:
        """Send this request's pending messages in order until one has to wait."""
        if not queue.claim(self._engine, request_id, self._owner, LEASE):
            return
        try:
            while True:
                row, request = queue.next_pending(self._engine, request_id)
                if row is not None and row.lease_owner != self._owner:
                    return  # queued after the claim: the next tick claims it
                if row is None or request is None or row.next_attempt_at > utcnow():
                    return
                if row.kind != OutboxKind.ROOT and request.message_ts is None:
                    if not queue.root_pending(self._engine, request_id):
                        self._finish(row, OutboxStatus.DEAD, error="thread root was never posted")
                        continue
                    return
                if row.kind == OutboxKind.UPDATE and queue.superseded(self._engine, row):
                    self._finish(row, OutboxStatus.SUPERSEDED)
                    continue
                if not queue.renew(self._engine, row, self._owner, LEASE):
                    return  # the lease ran out and another replica took the thread over
                wait = self._pacer.take(row.channel_id)
                if wait:
                    return
                if not self._send(row, request):
                    return
        finally:
            queue.release(self._engine, request_id, self._owner)

    def _send(self, row: Outbox, request: Request) -> bool:
        """True when the row is done with (sent or dead); False when it must wait."""
        message = render(self._engine, request, row.payload,
                         approval_confirms_manual=self._approval_confirms_manual)
        try:
            if row.kind == OutboxKind.ROOT:
                response = self._client.chat_postMessage(channel=row.channel_id, **message)
                ts = str(response["ts"])
                assert request.id is not None
                queue.set_root(self._engine, request.id, ts,
                               self._permalink(row.channel_id, ts))
                self._finish(row, OutboxStatus.SENT, ts=ts)
            elif row.kind == OutboxKind.REPLY:
                response = self._client.chat_postMessage(channel=row.channel_id,
                                                          thread_ts=request.message_ts, **message)
                self._finish(row, OutboxStatus.SENT, ts=str(response["ts"]))
            else:
                assert request.message_ts is not None
                self._client.chat_update(channel=row.channel_id, ts=request.message_ts,
                                         **message)
                self._finish(row, OutboxStatus.SENT, ts=request.message_ts)
            return True
        except SlackApiError as exc:
            return self._failed(row, exc)
        except OSError as exc:  # connection refused, reset, timeout
            self._retry(row, f"Slack unreachable: {exc}", None)
            return False

    def _permalink(self, channel: str, ts: str) -> str | None:
        """Links to the request in refusals and `/reprotect status`; optional, never fatal."""
        try:
            return str(self._client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
        except (SlackApiError, OSError, KeyError) as exc:
            log.info("no permalink for %s/%s: %s", channel, ts, exc)
            return None

    def _failed(self, row: Outbox, exc: SlackApiError) -> bool:
        error = str(exc.response.get("error", "")) if exc.response is not None else ""
        status = exc.response.status_code if exc.response is not None else 0
        if status == 429:
            retry_after = float(exc.response.headers.get("Retry-After", "1"))
            self._retry(row, "rate limited by Slack", retry_after)
            return False
        if status < 500 and error not in TRANSIENT_ERRORS:
            log.error("Slack refused message %s of request %s for good (%s %s); it is dropped "
                      "and the thread goes on", row.id, row.request_id, status, error)
            self._finish(row, OutboxStatus.DEAD, error=error or f"HTTP {status}")
            return True
        self._retry(row, f"Slack error {status} {error}".strip(), None)
        return False

    def _retry(self, row: Outbox, why: str, after: float | None) -> None:
        delay = after if after is not None else min(MAX_BACKOFF, 2.0 ** min(row.attempts, 8))
        log.warning("Slack message %s delayed %.1fs: %s", row.id, delay, why)
        queue.postpone(self._engine, row, why, utcnow() + timedelta(seconds=delay))

    def _finish(self, row: Outbox, status: OutboxStatus, *, ts: str | None = None,
                error: str = "") -> None:
        queue.finish(self._engine, row, status, ts=ts, error=error)


def render(engine: Engine, request: Request, payload: dict[str, Any], *,
           approval_confirms_manual: bool = True) -> views.Message:
    """Build the message at send time: the root always shows the request as it is now."""
    view = payload.get("view")
    if view == "request":
        return _request_view(engine, request, approval_confirms_manual)
    builder = REPLY_VIEWS.get(str(view))
    if builder is None:
        raise ValueError(f"unknown view {view!r}")
    return builder(payload)


def _request_view(engine: Engine, request: Request,
                  approval_confirms_manual: bool) -> views.Message:
    assert request.id is not None
    with Session(engine) as session:
        fresh = get_request(session, request.id)
        assert fresh is not None
        approvals = approvals_of(session, request.id)
        ticked = confirmations(session, request.id)
    note = ""
    if fresh.decided_by and fresh.status in ("rejected", "cancelled"):
        note = f"by <@{fresh.decided_by}>" + (f": {code(fresh.reason)}" if fresh.reason else "")
    elif fresh.status == "stale":
        note = fresh.reason
    return views.request_message(
        request_id=request.id, requester=fresh.requester_id,
        plan=ResolvedPlan.from_json(fresh.plan), status=str(fresh.status),
        approvals=[(a.approver_id, a.created_at) for a in approvals],
        required=fresh.required_approvals, expires_at=fresh.expires_at, decided_note=note,
        confirmations=ticked, approval_confirms_manual=approval_confirms_manual)


REPLY_VIEWS: dict[str, Callable[[dict[str, Any]], views.Message]] = {
    "started": lambda p: views.started([tuple(j) for j in p["jobs"]]),
    "progress": lambda p: views.progress([tuple(c) for c in p["changes"]]),
    "protected": lambda p: views.protected(p["vm"]),
    "failed": lambda p: views.failed(p["vm"], p["reason"], p.get("run")),
    "summary": lambda p: views.summary(p["total"], p["protected"], p["failed"], p["timed_out"]),
    "notice": lambda p: views.notice(p["text"]),
    "preflight_changed": lambda p: views.preflight_changed(
        p["request_id"], p["command"], p["changes"],
        ResolvedPlan.from_json(p["plan"]) if p.get("plan") else None),
    "powered_on": lambda p: views.powered_on(p["vms"], p["finished"]),
}
