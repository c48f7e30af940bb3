"""`/reprotect` from the slash command to a posted preflight.

`receive` runs before Slack's 3-second acknowledgement: it parses, refuses or records the
request (deduplicated on Slack's trigger id, so a retry never makes a second one) and
returns the ephemeral reply. `preflight` runs after the acknowledgement and posts the
result through the outbox.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import timedelta

from core.decisions import Click, decide_request
from core.events import RequestPosted
from core.log_context import about_request
from core.notices import Locked, Notice, NotTaken, PlanProblem, PreflightFailed
from core.plan import ReprotectRequest, ResolvedPlan
from core.policy import Policy
from core.ports import Directory, Gate, Notifier, SlackUnavailable, Throttled
from gateways.errors import GatewayError
from intake.parser import (
    CancelRequest,
    HelpRequest,
    StatusRequest,
    UsageError,
    parse,
)
from intake.planning import Sources, resolve
from operations import REPROTECT, fingerprint, operation_named
from store.db import Conflict, Engine, read_scope, session_scope
from store.journal import audit, enqueue
from store.locks import acquire_locks
from store.models import Request, RequestStatus, utcnow
from store.requests import get_request, requests_in, requests_since, transition

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlashCommand:
    trigger_id: str
    team_id: str
    channel_id: str
    user_id: str
    text: str

    def on(self, request_id: int) -> Click:
        """The command as an action on one request (cancel), like a click on its button."""
        return Click(request_id=request_id, user_id=self.user_id, user_team=self.team_id,
                     channel_id=self.channel_id)


class Answer(enum.StrEnum):
    """What the ephemeral acknowledgement says (`bot.views.private.reply` words it)."""

    USAGE = "usage"
    HELP = "help"
    WRONG_CHANNEL = "wrong_channel"
    OTHER_WORKSPACE = "other_workspace"
    NOT_TAKEN = "not_taken"
    THROTTLED = "throttled"
    STATUS = "status"
    CANCELLING = "cancelling"
    ALREADY_RECEIVED = "already_received"
    CHECKING = "checking"


@dataclass(frozen=True)
class Reply:
    """The acknowledgement, with what it names; the request to preflight after it, if any,
    and the request to cancel (cancellation follows the approval rules, in `approvals`)."""

    answer: Answer
    request_id: int | None = None
    cancel: int | None = None
    plan: str = ""
    usage: UsageError | None = None
    channels: frozenset[str] = frozenset()
    requests: tuple[Request, ...] = ()
    explanation: str = ""
    throttled: Throttled | None = None


def replan(request: Request, sources: Sources) -> ResolvedPlan | PlanProblem:
    """The plan a recorded request names, resolved against the sources now: the preflight
    and the re-check at approval read it the same way. Raises `GatewayError` on an outage."""
    parsed = parse(request.command_text)
    assert isinstance(parsed, ReprotectRequest)  # a request is recorded only once it parsed
    return resolve(parsed, sources, now=utcnow(), operation=operation_named(request.operation))


class Intake:
    def __init__(self, engine: Engine, sources: Sources, notifier: Notifier,
                 policy: Policy, requesters: Directory | None = None,
                 gate: Gate | None = None) -> None:
        self._engine = engine
        self._gate = gate
        self._sources = sources
        self._notifier = notifier
        self._policy = policy
        self._requesters = requesters

    def receive(self, command: SlashCommand) -> Reply:
        """Decide what to answer within Slack's 3 seconds; record a real request once."""
        parsed = parse(command.text)
        if isinstance(parsed, UsageError):
            return Reply(Answer.USAGE, usage=parsed)
        if isinstance(parsed, HelpRequest):
            return Reply(Answer.HELP)
        try:
            if command.team_id != self._policy.workspace_team():  # as clicks are, fail closed
                return Reply(Answer.OTHER_WORKSPACE)
        except SlackUnavailable as exc:  # only until auth.test has answered once
            return Reply(Answer.NOT_TAKEN, explanation=exc.what)
        if self._policy.channels and command.channel_id not in self._policy.channels:
            return Reply(Answer.WRONG_CHANNEL, channels=self._policy.channels)
        if isinstance(parsed, StatusRequest):
            return Reply(Answer.STATUS, requests=self.status(command.channel_id))
        throttled = self._gate.admit(command.user_id) if self._gate is not None else None
        if throttled is not None:  # before anything is recorded
            return Reply(Answer.THROTTLED, throttled=throttled)
        if isinstance(parsed, CancelRequest):
            return Reply(Answer.CANCELLING, cancel=parsed.request_id)
        return self._record(command, parsed)  # who may ask is checked after the ack

    def _record(self, command: SlashCommand, parsed: ReprotectRequest) -> Reply:
        try:
            with session_scope(self._engine) as session:
                request = Request(trigger_id=command.trigger_id, team_id=command.team_id,
                                  channel_id=command.channel_id, requester_id=command.user_id,
                                  command_text=command.text, operation=REPROTECT.name,
                                  plan_name=parsed.plan,
                                  required_approvals=self._policy.required_approvals)
                session.add(request)
                session.flush()
                audit(session, command.user_id, "request", request.id, text=command.text,
                      channel=command.channel_id)
        except Conflict:
            log.info("duplicate delivery of trigger %s ignored", command.trigger_id)
            return Reply(Answer.ALREADY_RECEIVED, plan=parsed.plan)
        return Reply(Answer.CHECKING, request.id, plan=parsed.plan)

    @about_request
    def preflight(self, request_id: int) -> None:
        """Resolve and check the plan, then post it; an outage is told, never swallowed."""
        with read_scope(self._engine) as session:
            request = get_request(session, request_id)
        if request is None or request.status != RequestStatus.PREFLIGHT:
            return
        refusal = self._requester_refusal(request.requester_id)
        if refusal is not None:
            self._fail(request, refusal, "requester refused")
            return
        try:
            outcome = replan(request, self._sources)
        except GatewayError as exc:
            log.warning("preflight of request %s failed: %s", request_id, exc.what)
            self._fail(request, PreflightFailed(request.plan_name, exc.explain()), exc.what)
            return
        except Exception:
            log.exception("preflight of request %s crashed", request_id)
            self._fail(request, PreflightFailed(request.plan_name), "internal error")
            return
        if isinstance(outcome, PlanProblem):
            self._fail(request, outcome, outcome.issue.value)
            return
        self._post(request, outcome)
        log.info("preflight of plan %s done: %d VM(s)", request.plan_name, len(outcome.items))

    def _requester_refusal(self, user: str) -> Notice | None:
        """REPROTECT_REQUESTERS, checked after the acknowledgement: its user groups may need
        `usergroups.users.list`, which must never hold up Slack's 3 seconds."""
        if self._requesters is None:
            return None
        try:
            decision = decide_request(user, self._requesters.members())
        except SlackUnavailable as exc:
            return NotTaken(exc.what)
        return None if decision.accepted else decision

    def _fail(self, request: Request, notice: Notice, reason: str) -> None:
        assert request.id is not None
        with session_scope(self._engine) as session:
            if transition(session, request.id, [RequestStatus.PREFLIGHT], RequestStatus.ERROR,
                          reason=reason, finished_at=utcnow()):
                audit(session, "bot", "preflight_error", request.id, reason=reason)
        self._notifier.tell(request.channel_id, request.requester_id, notice)

    def _post(self, request: Request, plan: ResolvedPlan) -> None:
        assert request.id is not None
        holder = self._settle(request, plan)
        if holder is not None:
            assert holder.id is not None
            self._fail(request, Locked(holder.id, holder.permalink, holder.requester_id,
                                       str(holder.status)), f"locked by request #{holder.id}")

    def _settle(self, request: Request, plan: ResolvedPlan) -> Request | None:
        """Leave `preflight` and, for an approvable plan, take its item locks, in one
        transaction (locks taken while still `preflight` would not count as held); the open
        request holding one of the items is returned instead, and nothing changes."""
        assert request.id is not None
        status = RequestStatus.PENDING if plan.approvable else RequestStatus.BLOCKED
        signed = fingerprint(operation_named(request.operation), plan)
        now = utcnow()
        with session_scope(self._engine) as session:
            if not transition(
                    session, request.id, [RequestStatus.PREFLIGHT], status,
                    plan=plan.to_json(), plan_name=plan.plan_name, fingerprint=signed,
                    expires_at=now + self._policy.approval_ttl if plan.approvable
                    else None, finished_at=None if plan.approvable else now):
                return None
            if status is RequestStatus.PENDING:
                holder = acquire_locks(session, request.id, [i.item_id for i in plan.items])
                if holder is not None:
                    session.expunge(holder)  # keep it readable after the rollback
                    session.rollback()
                    return holder
            audit(session, "bot", "preflight", request.id, status=status.value,
                  blockers=[c.check for c in plan.blockers], fingerprint=signed)
            enqueue(session, request, RequestPosted())
            return None

    def resume_interrupted(self, older_than: timedelta = timedelta(seconds=60)) -> None:
        """Preflights cut short by a crash or restart run again; the first to finish wins."""
        with read_scope(self._engine) as session:
            stuck = requests_since(session, RequestStatus.PREFLIGHT, utcnow() - older_than)
        for request_id in stuck:
            log.info("resuming interrupted preflight of request %s", request_id)
            self.preflight(request_id)

    def status(self, channel_id: str) -> tuple[Request, ...]:
        """The channel's latest requests, newest first, for `/reprotect status`."""
        with read_scope(self._engine) as session:
            return tuple(requests_in(session, channel_id, 15))
