"""A resolved reprotect plan: every value that will be sent, and the preflight verdicts.

Stored as JSON on the request row, rendered for the approver, and fingerprinted so that an
approval binds to exactly what runs.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any


class Verdict(enum.StrEnum):
    PASS = "pass"
    WARN = "warn"
    BLOCK = "block"
    MANUAL = "manual"


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome; `vms` names the VMs it concerns (empty: the whole plan)."""

    check: str
    verdict: Verdict
    message: str
    fix: str = ""
    vms: tuple[str, ...] = ()


def passed(check: str, message: str) -> list[CheckResult]:
    """A check's single passing result (checks return lists: one check may find several)."""
    return [CheckResult(check, Verdict.PASS, message)]


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
    provider: str = "classic"  # `commands.providers`: the architecture that resolved the plan
    appliance: Choice | None = None  # modernized: the replication appliance (reprotect agent)

    @property
    def blockers(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.verdict is Verdict.BLOCK)

    @property
    def approvable(self) -> bool:
        """No blocker, and every value its architecture requires is there to send."""
        if self.blockers:
            return False
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

    def sent(self) -> dict[str, Any]:
        """Exactly the values that go to Site Recovery, normalised for comparison."""
        values = [(c.id.lower(), c.name) if c else None for c in (
            self.master_target, self.process_server, self.datastore, self.retention,
            self.policy)]
        sent: dict[str, Any] = {
            "plan": self.plan_id.lower(),
            "items": sorted(i.item_id.lower() for i in self.items),
            "values": values,
            "run_as": self.run_as_account_id,
        }
        if self.appliance is not None:  # only modernized plans: classic fingerprints unchanged
            sent["appliance"] = _key(self.appliance)
            sent["per_item"] = sorted((i.item_id.lower(), _key(i.datastore), _key(i.log_storage))
                                      for i in self.items)
        return sent

    def per_item_values(self) -> dict[str, tuple[Choice | None, Choice | None]]:
        """VM name -> (datastore, log storage) where they are sent per VM (modernized)."""
        return {i.vm_name: (i.datastore, i.log_storage) for i in self.items
                if i.datastore or i.log_storage}

    def labelled_values(self, item_id: str) -> dict[str, str]:
        """What is sent for one item, keyed by what each value is and shown as the approver
        read it (`name (id)`); a value the architecture does not send is left out."""
        item = next((i for i in self.items if i.item_id.lower() == item_id.lower()), None)
        values: dict[str, Choice | None] = {
            "plan": Choice(self.plan_id, self.plan_friendly_name or self.plan_name),
            "vm": Choice(item_id, item.vm_name if item else ""),
            "appliance": self.appliance, "master_target": self.master_target,
            "process_server": self.process_server,
            "datastore": (item.datastore if item and item.datastore else self.datastore),
            "log_storage": item.log_storage if item else None,
            "retention_volume": self.retention, "failback_policy": self.policy,
            "run_as_account": Choice(self.run_as_account_id, "") if self.run_as_account_id
            else None,
        }
        return {key: _labelled(choice) for key, choice in values.items() if choice is not None}

    def fingerprint(self) -> str:
        """Hash of what will be sent plus the verdict: any change voids approvals."""
        signed = self.sent() | {"verdict": sorted(f"{c.check}:{c.verdict}" for c in self.checks)}
        return hashlib.sha256(json.dumps(signed, sort_keys=True).encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

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
            checks=tuple(CheckResult(check=c["check"], verdict=Verdict(c["verdict"]),
                                     message=c["message"], fix=c.get("fix", ""),
                                     vms=tuple(c.get("vms", ())))
                         for c in data.get("checks", ())),
        )


def _key(choice: Choice | None) -> tuple[str, str] | None:
    return (choice.id.lower(), choice.name) if choice else None


def _labelled(choice: Choice) -> str:
    """`name (id)`, or one of them where the other is empty or the same."""
    if not choice.name or choice.name == choice.id:
        return choice.id
    return f"{choice.name} ({choice.id})"
