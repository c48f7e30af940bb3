"""`/reprotect` from the slash command to a posted preflight.

`receive` runs before Slack's 3-second acknowledgement: it parses, refuses or records the
request (deduplicated on Slack's trigger id, so a retry never makes a second one) and
returns the ephemeral reply. `preflight` runs after the acknowledgement and posts the
result through the outbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from commands.mrkdwn import code
from commands.parser import (
    USAGE,
    CancelRequest,
    HelpRequest,
    ReprotectRequest,
    StatusRequest,
    UsageError,
    parse,
)
from commands.plan_model import ResolvedPlan
from commands.planning import Refused, Sources, resolve
from core.decisions import decide_request
from core.policy import Policy
from core.ports import Directory, Notifier, SlackUnavailable
from gateways.errors import GatewayError
from store.db import session_scope
from store.models import OPEN_STATUSES, OutboxKind, Request, RequestStatus, utcnow
from store.repo import acquire_locks, audit, enqueue, get_request, transition

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlashCommand:
    trigger_id: str
    team_id: str
    channel_id: str
    user_id: str
    text: str


@dataclass(frozen=True)
class Reply:
    """The ephemeral acknowledgement text, the request to preflight after it, if any, and the
    request to cancel (cancellation follows the approval rules, in `approvals`)."""

    text: str
    request_id: int | None = None
    cancel: int | None = None


CANCEL_VIA_APPROVALS = ":hourglass: Cancelling…"


class Intake:
    def __init__(self, engine: Engine, sources: Sources, notifier: Notifier,
                 policy: Policy, requesters: Directory | None = None) -> None:
        self._engine = engine
        self._sources = sources
        self._notifier = notifier
        self._policy = policy
        self._requesters = requesters

    def receive(self, command: SlashCommand) -> Reply:
        """Decide what to answer within Slack's 3 seconds; record a real request once."""
        parsed = parse(command.text)
        if isinstance(parsed, UsageError):
            return Reply(parsed.render())
        if isinstance(parsed, HelpRequest):
            return Reply(parsed_help())
        if self._policy.channels and command.channel_id not in self._policy.channels:
            allowed = ", ".join(f"<#{c}>" for c in sorted(self._policy.channels))
            return Reply(f":no_entry: `/reprotect` is not enabled in this channel. Use it in "
                         f"{allowed} (REPROTECT_CHANNELS).")
        if isinstance(parsed, StatusRequest):
            return Reply(self.status(command.channel_id))
        if isinstance(parsed, CancelRequest):
            return Reply(CANCEL_VIA_APPROVALS, cancel=parsed.request_id)
        return self._record(command, parsed)  # who may ask is checked after the ack

    def _record(self, command: SlashCommand, parsed: ReprotectRequest) -> Reply:
        try:
            with session_scope(self._engine) as session:
                request = Request(trigger_id=command.trigger_id, team_id=command.team_id,
                                  channel_id=command.channel_id, requester_id=command.user_id,
                                  command_text=command.text, plan_name=parsed.plan,
                                  required_approvals=self._policy.required_approvals)
                session.add(request)
                session.flush()
                audit(session, command.user_id, "request", request.id, text=command.text,
                      channel=command.channel_id)
        except IntegrityError:
            log.info("duplicate delivery of trigger %s ignored", command.trigger_id)
            return Reply(f":hourglass: Already received: checking plan {code(parsed.plan)}…")
        return Reply(f":hourglass: Checking plan {code(parsed.plan)} against Site Recovery…",
                     request.id)

    def preflight(self, request_id: int) -> None:
        """Resolve and check the plan, then post it; an outage is told, never swallowed."""
        with Session(self._engine) as session:
            request = get_request(session, request_id)
        if request is None or request.status != RequestStatus.PREFLIGHT:
            return
        parsed = parse(request.command_text)
        assert isinstance(parsed, ReprotectRequest)
        refusal = self._requester_refusal(request.requester_id)
        if refusal is not None:
            self._fail(request, refusal, "requester refused")
            return
        try:
            outcome = resolve(parsed, self._sources, now=utcnow())
        except GatewayError as exc:
            log.warning("preflight of request %s failed: %s", request_id, exc.what)
            self._fail(request, f":x: Preflight of plan {code(parsed.plan)} could not run: "
                                f"{exc.explain()}\nNothing was sent to Site Recovery.", exc.what)
            return
        except Exception:
            log.exception("preflight of request %s crashed", request_id)
            self._fail(request, f":x: Preflight of plan {code(parsed.plan)} failed on an internal "
                                "error (logged). Nothing was sent to Site Recovery; try again "
                                "or check the bot's logs.", "internal error")
            return
        if isinstance(outcome, Refused):
            self._fail(request, f":mag: {outcome.message}\nNothing was sent.", outcome.message)
            return
        self._post(request, outcome)

    def _requester_refusal(self, user: str) -> str | None:
        """REPROTECT_REQUESTERS, checked after the acknowledgement: its user groups may need
        `usergroups.users.list`, which must never hold up Slack's 3 seconds."""
        if self._requesters is None:
            return None
        try:
            decision = decide_request(user, self._requesters.members())
        except SlackUnavailable as exc:
            return f":hourglass: Your request was not taken: {exc.explain()}"
        return None if decision.accepted else f":no_entry_sign: {decision.reason}"

    def _fail(self, request: Request, text: str, reason: str) -> None:
        assert request.id is not None
        with session_scope(self._engine) as session:
            if transition(session, request.id, [RequestStatus.PREFLIGHT], RequestStatus.ERROR,
                          reason=reason, finished_at=utcnow()):
                audit(session, "bot", "preflight_error", request.id, reason=reason)
        self._notifier.ephemeral(request.channel_id, request.requester_id, text)

    def _post(self, request: Request, plan: ResolvedPlan) -> None:
        assert request.id is not None
        holder = self._settle(request, plan)
        if holder is not None:
            link = f" (<{holder.permalink}|message>)" if holder.permalink else ""
            self._fail(request, f":lock: Request #{holder.id}{link} by "
                                f"<@{holder.requester_id}> is {holder.status} for some of "
                                "these VMs; one open request per VM. Wait for it to finish, "
                                f"or cancel it with `/reprotect cancel {holder.id}`.",
                       f"locked by request #{holder.id}")

    def _settle(self, request: Request, plan: ResolvedPlan) -> Request | None:
        """Leave `preflight` and, for an approvable plan, take its item locks, in one
        transaction (locks taken while still `preflight` would not count as held); the open
        request holding one of the items is returned instead, and nothing changes."""
        assert request.id is not None
        status = RequestStatus.PENDING if plan.approvable else RequestStatus.BLOCKED
        now = utcnow()
        for _ in range(3):
            try:
                with session_scope(self._engine) as session:
                    if not transition(
                            session, request.id, [RequestStatus.PREFLIGHT], status,
                            plan=plan.to_json(), plan_name=plan.plan_name,
                            fingerprint=plan.fingerprint(),
                            expires_at=now + self._policy.approval_ttl if plan.approvable
                            else None, finished_at=None if plan.approvable else now):
                        return None
                    if status is RequestStatus.PENDING:
                        holder = acquire_locks(session, request.id,
                                               [i.item_id for i in plan.items])
                        if holder is not None:
                            session.expunge(holder)  # keep it readable after the rollback
                            session.rollback()
                            return holder
                    audit(session, "bot", "preflight", request.id, status=status.value,
                          blockers=[c.check for c in plan.blockers],
                          fingerprint=plan.fingerprint())
                    enqueue(session, request, OutboxKind.ROOT, {"view": "request"})
                    return None
            except IntegrityError:  # another request took a lock at the same moment: look again
                continue
        raise RuntimeError("item locks kept changing; try again")

    def resume_interrupted(self, older_than: timedelta = timedelta(seconds=60)) -> None:
        """Preflights cut short by a crash or restart run again; the first to finish wins."""
        with Session(self._engine) as session:
            stuck = session.exec(select(Request.id).where(
                Request.status == RequestStatus.PREFLIGHT,
                col(Request.created_at) < utcnow() - older_than)).all()
        for request_id in stuck:
            if request_id is not None:
                log.info("resuming interrupted preflight of request %s", request_id)
                self.preflight(request_id)

    def status(self, channel_id: str) -> str:
        with Session(self._engine) as session:
            rows = session.exec(
                select(Request).where(Request.channel_id == channel_id)
                .order_by(col(Request.id).desc()).limit(15)).all()
        if not rows:
            return "No reprotect requests in this channel yet."
        lines = [status_line(r) for r in rows if r.status in OPEN_STATUSES]
        recent = [status_line(r) for r in rows if r.status not in OPEN_STATUSES][:10]
        return ("*Open*\n" + ("\n".join(lines) or "none") + "\n*Recent*\n"
                + ("\n".join(recent) or "none"))


def status_line(request: Request) -> str:
    number = (f"<{request.permalink}|#{request.id}>" if request.permalink
              else f"#{request.id}")
    return (f"• {number} plan {code(request.plan_name)} — *{request.status}* — "
            f"<@{request.requester_id}>, {_age(request.created_at)}")


def _age(moment: datetime) -> str:
    minutes = int((utcnow() - moment).total_seconds() // 60)
    return f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"


def parsed_help() -> str:
    return ("*/reprotect* preflights a recovery plan's reprotect (Azure → AVS failback), asks "
            "an approver, then starts and follows it in a thread.\n" + USAGE)
