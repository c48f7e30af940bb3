"""What the bot tells a request's channel and thread, as typed values (no words).

The domain queues these through the outbox (`store.journal.enqueue`) in the same transaction as
the change that causes them; only `bot.views` turns them into Block Kit and sentences. The
outbox stores an event as its type name and fields (`encode`), and `decode` rebuilds it at
send time: an unknown type or a missing field fails there, loudly, never a half message.
"""

from __future__ import annotations

import enum
import sys
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, fields, is_dataclass
from typing import Any, ClassVar

from core.notices import PlanProblem
from gateways.site_recovery_models import HealthIssue


class Delivery(enum.StrEnum):
    """How a message reaches Slack (the outbox row's kind)."""

    ROOT = "root"          # the request's channel message; its ts roots the thread
    UPDATE = "update"      # chat.update of the root, re-rendered from the request as it is now
    REPLY = "reply"        # a new reply in the thread
    PROGRESS = "progress"  # the thread's one progress reply: posted once, then edited in place


@dataclass(frozen=True)
class Event:
    """Base of every event; `delivery` says which kind of outbox row carries it."""

    delivery: ClassVar[Delivery] = Delivery.REPLY


# -- the root message -----------------------------------------------------------------------

@dataclass(frozen=True)
class RequestPosted(Event):
    """Post the request (preflight, values, buttons) as the channel message."""

    delivery: ClassVar[Delivery] = Delivery.ROOT


@dataclass(frozen=True)
class RequestChanged(Event):
    """Re-render the channel message from the request as it is when sent."""

    delivery: ClassVar[Delivery] = Delivery.UPDATE


# -- before execution -----------------------------------------------------------------------

@dataclass(frozen=True)
class Decided(Event):
    """An approver rejected, or someone cancelled, a request that had not run."""

    request_id: int
    outcome: str  # "rejected" or "cancelled"
    by: str       # Slack user id
    reason: str = ""


@dataclass(frozen=True)
class ApprovalsVoid(Event):
    """Approved values differ from what would be sent now: the request was not run."""

    request_id: int


class ChangeKind(enum.StrEnum):
    """What kind of difference the re-check at approval found."""

    REFUSED = "refused"   # the plan no longer resolves: `problem` says why
    BLOCKS = "blocks"     # check `label` now blocks (`vms`); its words are in the fresh plan
    VALUE = "value"       # value `label` (of VM `vm` when sent per VM): `before` → `after`
    VMS = "vms"           # VMs `vms` came into the plan, `gone` left it
    RUN_AS = "run-as"     # the configuration server's run-as account changed
    IDS = "ids"           # same names, other Site Recovery ids


@dataclass(frozen=True)
class Change:
    """One difference that voids an approval, as data: `bot.views` words it."""

    kind: ChangeKind
    label: str = ""
    before: str = ""
    after: str = ""
    vm: str = ""
    vms: tuple[str, ...] = ()
    gone: tuple[str, ...] = ()
    problem: PlanProblem | None = None


@dataclass(frozen=True)
class PreflightChanged(Event):
    """The re-check at approval found changes, so the approval was refused."""

    request_id: int
    command: str
    changes: tuple[Change, ...]
    plan: dict[str, Any] | None = None  # the fresh ResolvedPlan as JSON, when it resolved


# -- execution ------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunStarted(Event):
    """Jobs Site Recovery accepted this tick: (VM, job id or None while pending)."""

    jobs: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class Progress(Event):
    """Job state or task changes seen in one tick: (VM, job state, task text)."""

    delivery: ClassVar[Delivery] = Delivery.PROGRESS
    changes: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class Done(Event):
    """VMs on which Site Recovery shows the operation done (reprotect: their item reached
    `Protected`); consecutive ones merge at send time. `operation` is its name."""

    vms: tuple[str, ...]
    operation: str = "reprotect"


@dataclass(frozen=True)
class JobErrorInfo:
    """One error of a Site Recovery job, as Site Recovery worded it."""

    code: str
    message: str
    possible_causes: str = ""
    recommended_action: str = ""
    provider_code: str = ""
    provider_message: str = ""


@dataclass(frozen=True)
class ItemState:
    """A protected item's protection state and replication health."""

    state: str
    health: str
    errors: tuple[HealthIssue, ...] = ()


@dataclass(frozen=True)
class JobFailed(Event):
    """A reprotect job failed; `run_id` set when an approver may restart it (Retry)."""

    vm: str
    job_id: str
    task: str
    errors: tuple[JobErrorInfo, ...]
    run_id: int | None = None


@dataclass(frozen=True)
class JobCancelled(Event):
    vm: str
    job_id: str


@dataclass(frozen=True)
class JobSuspended(Event):
    """A job waits for a manual Resume."""

    vm: str
    job_id: str
    task: str


@dataclass(frozen=True)
class WriteRefused(Event):
    """Site Recovery refused a reprotect (`job_id` None) or the restart of `job_id`."""

    vm: str
    what: str
    why: str = ""
    fix: str = ""
    job_id: str | None = None
    run_id: int | None = None


@dataclass(frozen=True)
class NotStarted(Event):
    """A submission that never reached Site Recovery, and cannot be sent again."""

    vm: str
    last: str


@dataclass(frozen=True)
class RestartLost(Event):
    """An approved restart that did not reach Site Recovery."""

    vm: str
    job_id: str
    run_id: int


@dataclass(frozen=True)
class Retried(Event):
    """A job runs again: `cause` is "agent" (after the agent wait), "adopted" (a restart
    whose answer was lost) or "approved" (an approver's Retry, `by`)."""

    vm: str
    job_id: str
    cause: str
    previous: str | None = None
    by: str | None = None


@dataclass(frozen=True)
class AgentWaiting(Event):
    """The agent has not re-registered since failover; the bot retries for `wait_s`
    (`modernized`: the item says so, and the reprotect is sent once it registers)."""

    vm: str
    reason: str
    wait_s: int
    errors: tuple[JobErrorInfo, ...] = ()
    modernized: bool = False


@dataclass(frozen=True)
class AgentGaveUp(Event):
    """The agent did not re-register within the wait; Retry when a job can be restarted."""

    vm: str
    reason: str
    wait_s: int
    tries: int
    errors: tuple[JobErrorInfo, ...] = ()
    run_id: int | None = None
    modernized: bool = False


@dataclass(frozen=True)
class HealthWarning(Event):
    """The job succeeded but the item is not protected yet and shows health errors."""

    vm: str
    item: ItemState


@dataclass(frozen=True)
class TimedOut(Event):
    """Not protected within REPROTECT_PROTECT_TIMEOUT_MINUTES: at a job state, or an item's."""

    vm: str
    minutes: int
    job_state: str = ""
    task: str = ""
    item: ItemState | None = None


@dataclass(frozen=True)
class AuthProblem(Event):
    """Azure refuses the bot's token: tracking pauses."""

    what: str
    why: str = ""
    fix: str = ""


@dataclass(frozen=True)
class AuthRecovered(Event):
    pass


@dataclass(frozen=True)
class Summary(Event):
    """The request's outcome once every run is final: how many VMs are done, failed, timed
    out."""

    total: int
    done: int
    failed: int
    timed_out: int
    operation: str = "reprotect"


@dataclass(frozen=True)
class PoweredOn(Event):
    """AVS VMs powered on while (or after) reprotect runs."""

    vms: tuple[str, ...]
    finished: bool


EVENTS: dict[str, type[Event]] = {
    cls.__name__: cls for cls in (
        RequestPosted, RequestChanged, Decided, ApprovalsVoid, PreflightChanged, RunStarted,
        Progress, Done, JobFailed, JobCancelled, JobSuspended, WriteRefused, NotStarted,
        RestartLost, Retried, AgentWaiting, AgentGaveUp, HealthWarning, TimedOut, AuthProblem,
        AuthRecovered, Summary, PoweredOn)}
EVENTS["Protected"] = Done  # rows queued before operations had a name
# Fields renamed since rows may have been queued: type name -> {old field: new field}.
RENAMED = {"Summary": {"protected": "done"}}


def encode(event: Event) -> dict[str, Any]:
    """The outbox payload: the type name and the fields, JSON-ready."""
    return {"type": type(event).__name__, **asdict(event)}


def decode(payload: Mapping[str, Any]) -> Event:
    """The event an outbox payload holds; ValueError for an unknown type or bad fields."""
    name = payload.get("type")
    cls = EVENTS.get(str(name))
    if cls is None:
        raise ValueError(f"unknown event type {name!r} in the outbox")
    renamed = RENAMED.get(str(name), {})
    built = _build(cls, {renamed.get(k, k): v for k, v in payload.items() if k != "type"})
    assert isinstance(built, Event)
    return built


def _build(cls: type, data: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls, vars(sys.modules[__name__]))
    known = {f.name for f in fields(cls)}
    missing = [f.name for f in fields(cls)
               if f.name not in data and f.default is MISSING and f.default_factory is MISSING]
    if missing or set(data) - known:
        raise ValueError(f"{cls.__name__}: missing {missing}, unknown {sorted(set(data) - known)}")
    return cls(**{k: _value(hints[k], v) for k, v in data.items()})


def _value(hint: Any, value: Any) -> Any:
    """JSON back into the annotated shape: tuples, nested dataclasses, optionals."""
    if value is None:
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        items = args if (len(args) != 2 or args[1] is not Ellipsis) else (args[0],) * len(value)
        return tuple(_value(h, v) for h, v in zip(items, value, strict=True))
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _value(inner[0], value) if len(inner) == 1 else value
    if isinstance(hint, type) and is_dataclass(hint):
        return _build(hint, value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    return value
