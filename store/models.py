"""Tables: the database is the source of truth for requests, approvals, runs and messages.

Every status is an explicit enum and every timestamp is UTC, so a
restarted replica rebuilds nothing: it reads what is unfinished and carries on.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Aware UTC now: sqlmodel stores UTC and gives aware datetimes back on every backend."""
    return datetime.now(UTC)


class RequestStatus(enum.StrEnum):
    PREFLIGHT = "preflight"        # recorded, checks running
    BLOCKED = "blocked"            # a check blocks: no approval possible
    PENDING = "pending"            # waiting for approvals
    APPROVED = "approved"          # quorum reached, submission not started
    EXECUTING = "executing"        # reprotect submitted, tracking jobs
    DONE = "done"                  # every VM protected
    FAILED = "failed"              # at least one VM failed or timed out
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    ERROR = "error"                # preflight could not run (outage); nothing was sent
    STALE = "stale"                # preflight changed at approval; a fresh request is needed


# Names of plans and VMs as stored; the command parser refuses longer values up front, since
# PostgreSQL enforces the column length that SQLite ignores.
NAME_LENGTH = 255
# Row ids are PostgreSQL INTEGERs (SQLite's are wider): a larger number names no row, and
# must not reach a query, where it overflows SQLite's INTEGER or PostgreSQL's.
MAX_ROW_ID = 2**31 - 1
OPEN_STATUSES = (RequestStatus.PREFLIGHT, RequestStatus.PENDING, RequestStatus.APPROVED,
                 RequestStatus.EXECUTING)
LOCKING_STATUSES = (RequestStatus.PENDING, RequestStatus.APPROVED, RequestStatus.EXECUTING)


class RunStatus(enum.StrEnum):
    QUEUED = "queued"              # approved, POST not sent yet
    SUBMITTING = "submitting"      # POST may be in flight: look at the item before resending
    RUNNING = "running"            # job id known, following the job
    SYNCING = "syncing"            # job succeeded, waiting for protectionState Protected
    WAITING_AGENT = "waiting_agent"  # agent not re-registered yet: retried with backoff
    RESTARTING = "restarting"      # an approved Retry is restarting the failed job
    PROTECTED = "protected"        # the operation is done on the item (reprotect: Protected)
    FAILED = "failed"
    TIMED_OUT = "timed_out"


FINAL_RUN_STATUSES = (RunStatus.PROTECTED, RunStatus.FAILED, RunStatus.TIMED_OUT)


class OutboxKind(enum.StrEnum):
    ROOT = "root"                  # the request's channel message (its ts roots the thread)
    REPLY = "reply"                # a reply in the request's thread
    UPDATE = "update"              # chat.update of the root message
    PROGRESS = "progress"          # the thread's progress reply: posted once, then chat.update


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"                  # Slack refused it for good (e.g. invalid_blocks)
    SUPERSEDED = "superseded"      # an older update of a message a newer update replaces


class Request(SQLModel, table=True):
    __tablename__ = "requests"
    __table_args__ = (UniqueConstraint("trigger_id", name="uq_requests_trigger"),
                      Index("ix_requests_channel_status", "channel_id", "status"))

    id: int | None = Field(default=None, primary_key=True)
    trigger_id: str = Field(max_length=255)
    team_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    requester_id: str = Field(max_length=32)
    command_text: str
    operation: str = Field(default="reprotect", max_length=32)  # `operations.OPERATIONS`
    plan_name: str = Field(default="", max_length=NAME_LENGTH)
    status: RequestStatus = Field(default=RequestStatus.PREFLIGHT, index=True, sa_type=String(16))
    plan: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    fingerprint: str = Field(default="", max_length=64)
    message_ts: str | None = Field(default=None, max_length=32)
    permalink: str | None = Field(default=None, max_length=512)
    required_approvals: int = 1
    reason: str = ""
    decided_by: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    finished_at: datetime | None = None


class ItemLock(SQLModel, table=True):
    """Which request holds a protected item. The lock is held only while that request is open
    (pending, approved, executing): a crash or an expiry releases it without a cleanup step."""

    __tablename__ = "item_locks"

    item_key: str = Field(primary_key=True, max_length=1024)
    request_id: int = Field(foreign_key="requests.id", index=True)


class Approval(SQLModel, table=True):
    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("request_id", "approver_id", name="uq_approval_once"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="requests.id", index=True)
    approver_id: str = Field(max_length=32)
    fingerprint: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class Run(SQLModel, table=True):
    """One VM's reprotect: its protected item, Site Recovery job and where tracking is."""

    __tablename__ = "runs"
    __table_args__ = (UniqueConstraint("request_id", "item_id", name="uq_run_item"),
                      Index("ix_runs_due", "status", "next_poll_at"))

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="requests.id", index=True)
    item_id: str = Field(max_length=1024)
    vm_name: str = Field(max_length=NAME_LENGTH)
    operation: str = Field(default="reprotect", max_length=32)  # its request's operation
    status: RunStatus = Field(default=RunStatus.QUEUED, sa_type=String(16))
    job_id: str | None = Field(default=None, max_length=255)
    job_state: str = Field(default="", max_length=64)
    job_task: str = Field(default="", max_length=255)
    protection_state: str = Field(default="", max_length=64)
    error: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    next_poll_at: datetime = Field(default_factory=utcnow)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    tasks_read_at: datetime | None = None    # last full job read (task states)
    wait_until: datetime | None = None       # give up waiting for the agent after this
    restarts: int = 0                        # job restarts (agent waits and approved retries)
    flags: dict[str, Any] = Field(default_factory=dict,  # one-time notices already posted
                                  sa_column=Column(JSON, nullable=False))


class Outbox(SQLModel, table=True):
    """A Slack message to post or update, written with the state change that causes it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="requests.id", index=True)
    kind: OutboxKind = Field(sa_type=String(16))
    channel_id: str = Field(max_length=32)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: OutboxStatus = Field(default=OutboxStatus.PENDING, sa_type=String(16))
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = None
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    ts: str | None = Field(default=None, max_length=32)


class AuditEvent(SQLModel, table=True):
    """Who did what, when: requests, clicks (accepted or refused), transitions, submissions.
    Names are copied as Slack gave them at the time of the action: a later rename does not
    rewrite the trail."""

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int | None = Field(default=None, index=True)
    actor: str = Field(max_length=64)
    actor_name: str = Field(default="", max_length=NAME_LENGTH)
    channel_id: str = Field(default="", max_length=32)
    channel_name: str = Field(default="", max_length=NAME_LENGTH)
    action: str = Field(max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime = Field(default_factory=utcnow, index=True)


class ManualConfirmation(SQLModel, table=True):
    """A manual preflight item an approver ticked (who, when); unticking deletes the row."""

    __tablename__ = "manual_confirmations"
    __table_args__ = (UniqueConstraint("request_id", "item_key", name="uq_manual_item"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="requests.id", index=True)
    item_key: str = Field(max_length=128)
    user_id: str = Field(max_length=32)
    at: datetime = Field(default_factory=utcnow)


class PowerWatch(SQLModel, table=True):
    """The last power state the power guard saw of one AVS VM of a request, so a restart
    neither repeats nor loses a warning."""

    __tablename__ = "power_watch"
    __table_args__ = (UniqueConstraint("request_id", "vm_ref", name="uq_power_vm"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="requests.id", index=True)
    vm_ref: str = Field(max_length=64)
    vm_name: str = Field(max_length=NAME_LENGTH)
    state: str = Field(default="", max_length=32)
    warned_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


def row_number(text: str) -> int | None:
    """A row id as Slack brings it back (typed after `cancel`, a button's value): ASCII
    digits only, since `str.isdigit()` also accepts `²`, which `int()` refuses; else None."""
    return int(text) if text.isascii() and text.isdigit() else None


def names_a_row(number: int) -> bool:
    """Whether `number` can be a row id at all; a query is never asked about one that cannot."""
    return 0 < number <= MAX_ROW_ID


class SlackName(SQLModel, table=True):
    """The newest name Slack gave for a user or channel id (from the payloads people send):
    the audit copies it onto each event as it is written."""

    __tablename__ = "slack_names"

    slack_id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=NAME_LENGTH)
    updated_at: datetime = Field(default_factory=utcnow)
