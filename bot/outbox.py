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
from datetime import timedelta
from typing import cast

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import views
from bot.views import thread
from core.events import Done, Event, RequestChanged, RequestPosted, decode
from core.log_context import about_request
from core.plan import ResolvedPlan
from operations import operation_named
from store import outbox_queue as queue
from store.approvals import approvals_of, confirmations
from store.db import Engine, read_scope
from store.models import Outbox, OutboxKind, OutboxStatus, Request, RequestStatus, Run, utcnow
from store.requests import get_request
from store.runs import runs_of

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
MERGE_MOST = 500  # Done replies sent as one (one line per 10 VMs)
# A large plan's Done replies are gathered: about this many per request, each held no
# longer than PROTECTED_HOLD; plans of up to this many VMs get one reply per tick, unheld.
PROTECTED_REPLIES = 10
PROTECTED_HOLD = timedelta(minutes=5)
# Failure replies of one request also sent to the channel (`reply_broadcast`); past these,
# the rest stay in the thread, so a mass failure does not flood the channel (the summary,
# always broadcast, names every VM that failed).
BROADCAST_MOST = 5


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
                 approval_confirms_manual: bool = True, portal: str | None = None) -> None:
        """`portal`: the Azure portal that jobs and items link to (None: no links)."""
        self._engine = engine
        self._client = client
        self._owner = owner
        self._pacer = pacer or ChannelPacer()
        self._approval_confirms_manual = approval_confirms_manual
        self._portal = portal
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

    @about_request
    def _drain(self, request_id: int) -> None:
        """Send this request's pending messages in order until one has to wait."""
        if not queue.claim(self._engine, request_id, self._owner, LEASE):
            return
        try:
            while True:
                pending, request = queue.pending(self._engine, request_id)
                row = _next(pending, request)
                if row is not None and row.lease_owner != self._owner:
                    return  # queued after the claim: the next tick claims it
                if row is None or request is None or row.next_attempt_at > utcnow():
                    return
                if row.kind != OutboxKind.ROOT and request.message_ts is None:
                    if not queue.root_pending(self._engine, request_id):
                        self._finish(row, OutboxStatus.DEAD, error="thread root was never posted")
                        continue
                    return
                if row.kind in (OutboxKind.UPDATE, OutboxKind.PROGRESS) and \
                        queue.superseded(self._engine, row):
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
        event = decode(row.payload)
        held = queue.held_replies(self._engine, row, self._owner) \
            if isinstance(event, Done) else []
        merged = [r for r in held if r.payload.get("type") == Done.__name__][:MERGE_MOST]
        if isinstance(event, Done) and merged:
            event = Done(tuple(vm for r in [row, *merged]
                               for vm in cast(Done, decode(r.payload)).vms), event.operation)
        message = render(self._engine, request, event,
                         approval_confirms_manual=self._approval_confirms_manual,
                         portal=self._portal)
        if type(event) in thread.FAILURES and queue.sent_of_types(
                self._engine, row.request_id,
                {t.__name__ for t in thread.FAILURES}) >= BROADCAST_MOST:
            message = {k: v for k, v in message.items() if k != "reply_broadcast"}
        try:
            if row.kind == OutboxKind.ROOT:
                response = self._client.chat_postMessage(channel=row.channel_id, **message)
                ts = str(response["ts"])
                assert request.id is not None
                queue.set_root(self._engine, request.id, ts,
                               self._permalink(row.channel_id, ts))
                self._finish(row, OutboxStatus.SENT, ts=ts)
            elif row.kind == OutboxKind.PROGRESS and (
                    posted := queue.progress_ts(self._engine, row)):
                self._finish(row, OutboxStatus.SENT,
                             ts=self._edit_progress(row, request, posted, message))
            elif row.kind in (OutboxKind.REPLY, OutboxKind.PROGRESS):
                response = self._client.chat_postMessage(channel=row.channel_id,
                                                          thread_ts=request.message_ts, **message)
                for done in [row, *merged]:
                    self._finish(done, OutboxStatus.SENT, ts=str(response["ts"]))
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

    def _edit_progress(self, row: Outbox, request: Request, posted: str,
                       message: views.Message) -> str:
        """Edit the thread's progress message; once someone has deleted it, post the
        progress again (later rows edit the new one). Returns the ts edited or posted."""
        try:
            self._client.chat_update(channel=row.channel_id, ts=posted, **message)
            return posted
        except SlackApiError as exc:
            if _error_of(exc) != "message_not_found":
                raise
        log.info("the progress message of request %s is gone; posting it again",
                 row.request_id)
        response = self._client.chat_postMessage(channel=row.channel_id,
                                                  thread_ts=request.message_ts, **message)
        return str(response["ts"])

    def _permalink(self, channel: str, ts: str) -> str | None:
        """Links to the request in refusals and `/reprotect status`; optional, never fatal."""
        try:
            return str(self._client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
        except (SlackApiError, OSError, KeyError) as exc:
            log.info("no permalink for %s/%s: %s", channel, ts, exc)
            return None

    def _failed(self, row: Outbox, exc: SlackApiError) -> bool:
        error = _error_of(exc)
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


def _error_of(exc: SlackApiError) -> str:
    return str(exc.response.get("error", "")) if exc.response is not None else ""


def _next(pending: list[Outbox], request: Request | None) -> Outbox | None:
    """The request's first pending row; past Done replies held for a batch
    (`_gathering`), the progress edits queued behind them, which may go first."""
    if not pending or pending[0].payload.get("type") != Done.__name__:
        return pending[0] if pending else None
    held = [r for r in pending if r.payload.get("type") == Done.__name__]
    behind = [r for r in pending if r not in held]
    if any(r.kind != OutboxKind.PROGRESS for r in behind) or not _gathering(request, held):
        return pending[0]
    return behind[0] if behind else None


def _gathering(request: Request | None, held: list[Outbox]) -> bool:
    """Whether to hold Done replies for more VMs: a large plan gets about
    PROTECTED_REPLIES of them, each naming many VMs; never longer than PROTECTED_HOLD, and
    never once anything else (a failure, the summary) is queued behind them."""
    if request is None or request.status != RequestStatus.EXECUTING:
        return False
    batch = -(-len(ResolvedPlan.from_json(request.plan).items) // PROTECTED_REPLIES)
    vms = sum(len(r.payload.get("vms", ())) for r in held)
    return vms < batch and utcnow() - min(r.created_at for r in held) < PROTECTED_HOLD


def render(engine: Engine, request: Request, event: Event, *,
           approval_confirms_manual: bool = True, portal: str | None = None) -> views.Message:
    """Build the message at send time, from the request and its runs as they are now: the
    root shows where the request stands, the progress message where each VM stands."""
    assert request.id is not None
    with read_scope(engine) as session:
        runs = runs_of(session, request.id)
    if isinstance(event, (RequestPosted, RequestChanged)):
        return _request_view(engine, request, runs, approval_confirms_manual)
    return thread.render(event, runs, portal)


def _request_view(engine: Engine, request: Request, runs: list[Run],
                  approval_confirms_manual: bool) -> views.Message:
    assert request.id is not None
    with read_scope(engine) as session:
        fresh = get_request(session, request.id)
        assert fresh is not None
        approvals = approvals_of(session, request.id)
        ticked = confirmations(session, request.id)
    note = views.decided_note(str(fresh.status), fresh.decided_by, fresh.reason)
    return views.request_message(
        request_id=request.id, requester=fresh.requester_id,
        plan=ResolvedPlan.from_json(fresh.plan), status=str(fresh.status),
        approvals=[(a.approver_id, a.created_at) for a in approvals],
        required=fresh.required_approvals, expires_at=fresh.expires_at, decided_note=note,
        confirmations=ticked, approval_confirms_manual=approval_confirms_manual,
        operation=operation_named(fresh.operation), runs=runs)
