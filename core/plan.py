"""A resolved reprotect plan: every value that will be sent, and the preflight verdicts.

Stored as JSON on the request row, rendered for the approver, and fingerprinted so that an
approval binds to exactly what runs.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from core.journey import PlanJourney

STORED = "stored"  # the outcome key of a result stored as words by an older version


@dataclass(frozen=True)
class ReprotectRequest:
    """What the operator asked for; names are resolved against Site Recovery later."""

    plan: str
    master: str = ""  # empty in the appliance form
    process_server: str | None = None
    datastore: str | None = None
    retention: str | None = None
    vms: tuple[str, ...] = ()
    account: str | None = None  # run-as account for the Mobility service push, sent only if named
    appliance: str | None = None  # modernized architecture: the replication appliance's name
    logstorage: str | None = None  # modernized: log storage account (ARM id or name)


@dataclass(frozen=True)
class StepRequest:
    """A step of the failback journey typed as `/failback [verb] plan=… [key=…] [vm=…]`:
    `operation` is the registered operation the command and verb name (`operations`),
    `options` the form's other keys with their values (defaults filled in)."""

    plan: str
    operation: str
    options: tuple[tuple[str, str], ...] = ()
    vms: tuple[str, ...] = ()

    def option(self, key: str) -> str:
        return dict(self.options).get(key, "")


# Every request a slash command can make.
CommandRequest = ReprotectRequest | StepRequest

class Verdict(enum.StrEnum):
    PASS = "pass"
    WARN = "warn"
    BLOCK = "block"
    MANUAL = "manual"


# A value a check result shows: a name, a number, a list of names; JSON as it is. A heartbeat's
# age is whole minutes (None: never); `bot.views.checks` words each.
Value = str | int | float | None | tuple["Value", ...]


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome, as data: `key` names which of the check's outcomes it is (its
    words are `bot.views.checks.CATALOG[(check, key)]`), `values` the raw names and numbers
    they show; `vms` the VMs it concerns (empty: the whole plan)."""

    check: str
    verdict: Verdict
    key: str
    values: dict[str, Value] = field(default_factory=dict, hash=False)
    vms: tuple[str, ...] = ()


def passed(check: str, key: str = "ok", values: dict[str, Value] | None = None
           ) -> list[CheckResult]:
    """A check's single passing result (checks return lists: one check may find several)."""
    return [CheckResult(check, Verdict.PASS, key, values or {})]


@dataclass(frozen=True)
class ManualItem:
    """A manual check the approver ticks; `key` is stable for the same plan."""

    key: str
    result: CheckResult


@dataclass(frozen=True)
class Choice:
    """A value sent to Site Recovery, with its display name and why it was chosen."""

    id: str
    name: str
    reason: str = ""


@dataclass(frozen=True)
class SentValue:
    """One value an operation's write sends, as one labelled list serves the request message,
    the re-check at approval, the fingerprint and the write: one value for the whole plan
    (`value`), or one per item (`per_item`: item id, VM name, value). `shown` False: sent but
    not named in the message (an id only Site Recovery knows, like the run-as account)."""

    key: str
    label: str
    value: Choice | None = None
    per_item: tuple[tuple[str, str, Choice | None], ...] | None = None
    shown: bool = True

    def normalised(self) -> list[Any]:
        """The key and the ids and names sent, for comparison and the fingerprint."""
        if self.per_item is None:
            return [self.key, choice_key(self.value)]
        return [self.key, sorted((i.lower(), choice_key(c)) for i, _, c in self.per_item)]

    def for_item(self, item_id: str) -> Choice | None:
        """The value sent for one item (the plan's value when not per item)."""
        if self.per_item is None:
            return self.value
        return next((c for i, _, c in self.per_item if i.lower() == item_id.lower()), None)


@dataclass(frozen=True)
class PlannedItem:
    """A protected item to reprotect; `avs_vm` is its AVS VM's vCenter moref when preflight
    found it, so the power guard reads its state without searching again. `datastore` and
    `log_storage` are the item's own values where the architecture sends them per VM
    (modernized); None for classic, whose values are the plan's."""

    item_id: str
    vm_name: str
    avs_vm: str | None = None
    datastore: Choice | None = None
    log_storage: Choice | None = None


@dataclass(frozen=True)
class ResolvedPlan:
    plan_id: str
    plan_name: str
    plan_friendly_name: str
    items: tuple[PlannedItem, ...]
    master_target: Choice | None
    process_server: Choice | None
    datastore: Choice | None
    retention: Choice | None
    policy: Choice | None
    run_as_account_id: str | None
    checks: tuple[CheckResult, ...] = field(default_factory=tuple)
    provider: str = "classic"  # `providers`: the architecture that resolved the plan
    appliance: Choice | None = None  # modernized: the replication appliance (reprotect agent)
    # The operation that resolved the plan (`operations.OPERATIONS`): `/reprotect` resolves to
    # `reprotect-to-azure` when the VMs run in the private cloud again; an operation after
    # reprotect sends only the values of `point` (None: no body), chosen before the checks ran.
    operation: str = "reprotect"
    point: Choice | None = None
    run_as: Choice | None = None  # reprotect to Azure: the run-as account, by id and name
    # Where the whole plan stood in the failback journey when the preflight read it (shown,
    # never sent nor fingerprinted); None for plans stored before it was recorded.
    journey: PlanJourney | None = None

    @property
    def blockers(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.verdict is Verdict.BLOCK)

    @property
    def approvable(self) -> bool:
        """No blocker, and every value its architecture requires is there to send."""
        if self.blockers:
            return False
        if self.operation != "reprotect":
            return True
        if self.appliance is not None:  # modernized: policyId is optional (modernized.md §3)
            return all(i.datastore and i.log_storage for i in self.items)
        return all(v is not None for v in (self.master_target, self.process_server,
                                           self.retention, self.policy))

    @property
    def manual_items(self) -> tuple[ManualItem, ...]:
        """The manual checks, keyed `check:n` (n counts results of the same check)."""
        seen: dict[str, int] = {}
        items = []
        for result in self.checks:
            if result.verdict is Verdict.MANUAL:
                seen[result.check] = seen.get(result.check, 0) + 1
                items.append(ManualItem(f"{result.check}:{seen[result.check]}", result))
        return tuple(items)

    def sent(self, values: Sequence[SentValue]) -> dict[str, Any]:
        """Exactly what goes to Site Recovery (`values`: the operation's list for this plan),
        normalised for comparison."""
        return {"plan": self.plan_id.lower(),
                "items": sorted(i.item_id.lower() for i in self.items),
                "values": [v.normalised() for v in values]}

    def labelled(self, values: Sequence[SentValue], item_id: str) -> dict[str, str]:
        """What one item's write sends, as the audit keeps it: the plan, the VM and each value
        by its key, shown as the approver read it (`name (id)`)."""
        item = next((i for i in self.items if i.item_id.lower() == item_id.lower()), None)
        chosen: dict[str, Choice | None] = {
            "plan": Choice(self.plan_id, self.plan_friendly_name or self.plan_name),
            "vm": Choice(item_id, item.vm_name if item else "")}
        chosen |= {value.key: value.for_item(item_id) for value in values}
        return {key: _labelled(choice) for key, choice in chosen.items() if choice is not None}

    def fingerprint(self, values: Sequence[SentValue]) -> str:
        """Hash of what will be sent plus the verdict: any change voids approvals."""
        signed = self.sent(values) | {
            "verdict": sorted(f"{c.check}:{c.verdict}" for c in self.checks)}
        return hashlib.sha256(json.dumps(signed, sort_keys=True).encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"journey": self.journey.to_json() if self.journey else None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResolvedPlan:
        def choice(value: dict[str, Any] | None) -> Choice | None:
            return Choice(**value) if value else None

        def item(value: dict[str, Any]) -> PlannedItem:
            return PlannedItem(**(value | {"datastore": choice(value.get("datastore")),
                                           "log_storage": choice(value.get("log_storage"))}))

        return cls(
            plan_id=data["plan_id"],
            plan_name=data["plan_name"],
            plan_friendly_name=data["plan_friendly_name"],
            items=tuple(item(i) for i in data["items"]),
            master_target=choice(data["master_target"]),
            process_server=choice(data["process_server"]),
            datastore=choice(data["datastore"]),
            retention=choice(data["retention"]),
            policy=choice(data["policy"]),
            run_as_account_id=data.get("run_as_account_id"),
            provider=data.get("provider", "classic"),  # plans stored before providers: classic
            appliance=choice(data.get("appliance")),
            operation=data.get("operation", "reprotect"),
            point=choice(data.get("point")),
            run_as=choice(data.get("run_as")),
            checks=tuple(_check(c) for c in data.get("checks", ())),
            journey=PlanJourney.from_json(data["journey"]) if data.get("journey") else None,
        )


def choice_key(choice: Choice | None) -> tuple[str, str] | None:
    """A value as compared: its id in any case, and its name."""
    return (choice.id.lower(), choice.name) if choice else None


def _check(data: dict[str, Any]) -> CheckResult:
    """A stored result; one stored as words (before results were data) keeps its text as the
    value of the catalog's `stored` outcome, which shows it escaped."""
    if "key" not in data:
        return CheckResult(data["check"], Verdict(data["verdict"]), STORED,
                           {"message": data.get("message", ""), "fix": data.get("fix", "")},
                           tuple(data.get("vms", ())))
    return CheckResult(data["check"], Verdict(data["verdict"]), data["key"],
                       {k: _tuples(v) for k, v in data.get("values", {}).items()},
                       tuple(data.get("vms", ())))


def _tuples(value: Any) -> Value:
    """JSON's lists back into the tuples the checks made."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value
def _labelled(choice: Choice) -> str:
    """`name (id)`, or one of them where the other is empty or the same."""
    if not choice.name or choice.name == choice.id:
        return choice.id
    return f"{choice.name} ({choice.id})"
