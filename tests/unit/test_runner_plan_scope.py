"""The runner over a plan-scope operation, with its database: the plan's lead run sends the
one write on the recovery plan, every other run follows that job, each item is done by its
own reading, and the summary counts them with the operation's name.

Site Recovery here is a small vault that keeps state (its jobs and items) and records every
write, since no plan-scope write exists in the gateway or the ARM emulator yet; the
operation is the failback-like one of `test_tracking_plan_scope`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from core import events as ev
from core.plan import PlannedItem, ResolvedPlan
from core.policy import Policy
from gateways.site_recovery import job_name
from gateways.site_recovery_models import (
    Accepted,
    Job,
    PlanContext,
    ProtectedItem,
    ProviderInput,
    RecoveryPlan,
)
from operations import OPERATIONS, fingerprint
from store.db import make_engine, migrate, session_scope
from store.models import Approval, Outbox, Request, RequestStatus, Run, RunStatus, utcnow
from tests.support.preflight import item as make_item
from tests.unit.test_tracking_plan_scope import FAILED_OVER, OP, PLAN_ID
from tracking import Runner

POLICY = Policy(workspace_team=lambda: "T0", channels=frozenset(), required_approvals=1,
                approval_ttl=timedelta(hours=1), poll_interval=timedelta(0),
                protect_timeout=timedelta(hours=12))
ITEMS = tuple(replace(make_item(i), allowed_operations=FAILED_OVER.allowed_operations)
              for i in (1, 2, 3))


class PlanVault:
    """Site Recovery for one recovery plan: a write on the plan starts one job whose target
    is the plan; `finish` ends it and lets every item offer `Commit`."""

    def __init__(self, items: tuple[ProtectedItem, ...]) -> None:
        self.items = {i.id.lower(): i for i in items}
        self.jobs: dict[str, Job] = {}
        self.writes: list[tuple[str, str]] = []

    def submit(self, operation: str, target: str, inputs: ProviderInput | None) -> Accepted:
        self.writes.append((operation, target))
        job = Job(id=f"job-plan-{len(self.writes)}", state="InProgress",
                  state_description="In progress", scenario_name="PlannedFailover",
                  target_object_id=target, start_time=utcnow())
        self.jobs[job.id.lower()] = job
        return Accepted(job.id)

    def finish(self) -> None:
        self.jobs = {k: replace(j, state="Succeeded") for k, j in self.jobs.items()}
        self.items = {k: replace(i, allowed_operations=("Commit",),
                                 protection_state="FailedBack")
                      for k, i in self.items.items()}

    def list_jobs(self, since: datetime) -> list[Job]:
        return list(self.jobs.values())

    def get_job(self, job_id: str) -> Job:
        return self.jobs[job_name(job_id).lower()]

    def get_item(self, item_id: str) -> ProtectedItem:
        return self.items[item_id.lower()]

    def plan_items(self, plan: RecoveryPlan) -> tuple[ProtectedItem, ...]:
        return tuple(self.items[i.lower()] for i in plan.item_ids)

    def restart_job(self, job_id: str) -> Accepted:
        raise AssertionError("a plan-scope run restarted a job")

    def list_plans(self) -> list[RecoveryPlan]:
        raise AssertionError("not read by the runner")

    def plan_context(self, plan: RecoveryPlan) -> PlanContext:
        raise AssertionError("not read by the runner")


def approved_request(engine_path: Path) -> tuple[Runner, PlanVault, Session]:
    engine = make_engine(f"sqlite:///{engine_path}")
    migrate(engine)
    plan = ResolvedPlan(plan_id=PLAN_ID, plan_name="finance-rp", plan_friendly_name="Finance",
                        items=tuple(PlannedItem(i.id, i.friendly_name) for i in ITEMS),
                        master_target=None, process_server=None, datastore=None,
                        retention=None, policy=None, run_as_account_id=None)
    signed = fingerprint(OP, plan)
    with session_scope(engine) as session:
        request = Request(trigger_id="t1", team_id="T0", channel_id="C0", requester_id="U0R",
                          command_text="", operation=OP.name, plan=plan.to_json(),
                          plan_name="finance-rp", status=RequestStatus.APPROVED,
                          fingerprint=signed, message_ts="1.0")
        session.add(request)
        session.flush()
        assert request.id is not None
        session.add(Approval(request_id=request.id, approver_id="U0A", fingerprint=signed))
    vault = PlanVault(ITEMS)
    return Runner(engine, vault, POLICY, "replica-A"), vault, Session(engine)


def runs(session: Session) -> list[Run]:
    session.expire_all()
    return list(session.exec(select(Run).order_by(Run.id)).all())


def events(session: Session) -> list[ev.Event]:
    return [ev.decode(row.payload) for row in session.exec(select(Outbox).order_by(Outbox.id))]


def test_one_write_on_the_plan_and_every_run_follows_its_job(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(OPERATIONS, OP.name, OP)
    runner, vault, session = approved_request(tmp_path / "plan.db")

    runner.tick()  # runs created; the lead writes, the others wait for its job
    assert vault.writes == [(OP.name, PLAN_ID)]
    lead, *others = runs(session)
    assert (lead.status, lead.job_id, lead.operation) == (RunStatus.RUNNING, "job-plan-1", OP.name)
    assert [r.status for r in others] == [RunStatus.QUEUED, RunStatus.QUEUED]

    runner.tick()  # the others follow the lead's job
    assert [(r.status, r.job_id) for r in runs(session)] == [(RunStatus.RUNNING, "job-plan-1")] * 3

    vault.finish()
    for _ in range(3):
        runner.tick()
    assert vault.writes == [(OP.name, PLAN_ID)]
    assert [r.status for r in runs(session)] == [RunStatus.PROTECTED] * 3
    said = events(session)
    assert [e for e in said if isinstance(e, ev.Done)] == [
        ev.Done((i.friendly_name,), OP.name) for i in ITEMS]
    assert [e for e in said if isinstance(e, ev.Summary)] == [
        ev.Summary(3, 3, 0, 0, OP.name, lead.request_id, "classic")]
    session.close()
