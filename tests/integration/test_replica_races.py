"""Replicas on one PostgreSQL database, at the moments a lease runs out under a slow call.

Each test drives two replicas' runners or outbox senders in one process against the ARM and
Slack emulators, and makes time pass during a call by moving the database's lease and due
times back by the call's duration, instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from bot.outbox import ChannelPacer, OutboxSender
from bot.views import thread
from core.events import (
    AgentGaveUp,
    AuthRecovered,
    JobCancelled,
    JobFailed,
    NotStarted,
    PoweredOn,
    RequestPosted,
    RestartLost,
    Summary,
    TimedOut,
    WriteRefused,
    decode,
)
from core.plan import ReprotectRequest, ResolvedPlan
from core.policy import Policy
from gateways.site_recovery import AzureSiteRecovery
from gateways.site_recovery_models import Accepted, ReprotectInput
from intake.parser import parse
from intake.planning import Sources, resolve
from operations import REPROTECT, fingerprint
from sandbox.arm_emulator import ArmEmulator
from sandbox.slack_emulator import SlackEmulator
from store.db import make_engine, migrate, session_scope
from store.journal import enqueue
from store.models import (
    FINAL_RUN_STATUSES,
    Approval,
    Outbox,
    Request,
    RequestStatus,
    Run,
    RunStatus,
    utcnow,
)
from tests.integration.conftest import APPROVER, CHANNEL, COMMAND, REQUESTER, reprotect_posts
from tests.support.postgres import PostgresInstance, new_database, start_postgres
from tracking import Runner

pytestmark = pytest.mark.slow  # a whole bot per test: `pytest -m "not slow"` leaves them out

POLICY = Policy(workspace_team=lambda: "T0", channels=frozenset(), required_approvals=1,
                approval_ttl=timedelta(hours=1), poll_interval=timedelta(0),
                protect_timeout=timedelta(hours=12))


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresInstance]:
    with start_postgres() as instance:
        yield instance


@pytest.fixture
def engine(postgres: PostgresInstance) -> Iterator[Engine]:
    """A fresh database of the module's server, at the newest migration."""
    engine = make_engine(new_database(postgres, "race"))
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def asr(arm: ArmEmulator) -> Iterator[AzureSiteRecovery]:
    env = arm.env()
    gateway = AzureSiteRecovery(subscription_id=env["AZURE_SUBSCRIPTION_ID"],
                                resource_group=env["ASR_RESOURCE_GROUP"],
                                vault=env["ASR_VAULT_NAME"],
                                arm_endpoint=env["AZURE_ARM_ENDPOINT"])
    yield gateway
    gateway.close()

FAILURES = (JobFailed, JobCancelled, WriteRefused, NotStarted, RestartLost, AgentGaveUp, TimedOut)
REPLIES = (AuthRecovered(), PoweredOn(("app-01",), False), Summary(3, 3, 0, 0))

def add_request(engine: Engine, asr: AzureSiteRecovery, status: RequestStatus) -> Request:
    """The standard plan, preflighted, recorded in `status` (approved: with its approval)."""
    parsed = parse(COMMAND)
    assert isinstance(parsed, ReprotectRequest)
    plan = resolve(parsed, Sources(asr), now=utcnow())
    assert isinstance(plan, ResolvedPlan)
    with session_scope(engine) as session:
        request = Request(trigger_id="t.1", team_id="T0", channel_id=CHANNEL,
                          requester_id=REQUESTER, command_text=COMMAND,
                          plan_name=plan.plan_name, status=status, plan=plan.to_json(),
                          fingerprint=fingerprint(REPROTECT, plan),
                          expires_at=utcnow() + timedelta(hours=1))
        session.add(request)
        session.flush()
        assert request.id is not None
        if status is RequestStatus.APPROVED:
            session.add(Approval(request_id=request.id, approver_id=APPROVER,
                                 fingerprint=fingerprint(REPROTECT, plan)))
    return request


def time_passes(engine: Engine, table: Any, span: timedelta, *columns: str) -> None:
    """`span` elapses for the leases and due times in `columns` of `table`."""
    with session_scope(engine) as session:
        session.execute(update(table).values(
            {name: getattr(table, name) - span for name in columns}))


class Delegate:
    """A Site Recovery gateway whose writes (reprotect POSTs) go through `hook`."""

    def __init__(self, inner: AzureSiteRecovery, hook: Any) -> None:
        self._inner = inner
        self._hook = hook

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def submit(self, operation: str, target: str, inputs: ReprotectInput) -> Accepted:
        return self._hook(lambda: self._inner.submit(operation, target, inputs))


def track_to_the_end(engine: Engine, *runners: Runner, timeout: float = 30) -> list[Run]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for runner in runners:
            runner.tick()
        with Session(engine) as session:
            runs = list(session.exec(select(Run).order_by(col(Run.id))).all())
        if runs and all(r.status in FINAL_RUN_STATUSES for r in runs):
            return runs
        time.sleep(0.2)
    raise AssertionError(f"runs not finished: {[(r.vm_name, r.status) for r in runs]}")


def failures(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return [str(o.payload) for o in session.exec(select(Outbox)).all()
                if isinstance(decode(o.payload), FAILURES)]


def test_a_slow_reprotect_post_is_not_sent_again_by_another_replica(
        engine: Engine, asr: AzureSiteRecovery, arm: ArmEmulator) -> None:
    """Each of replica A's POSTs takes 25 s (within the write timeouts); replica B ticks
    meanwhile. A's lease, extended when a run enters `submitting`, keeps B away."""
    add_request(engine, asr, RequestStatus.APPROVED)
    replica_b = Runner(engine, asr, POLICY, "replica-B")

    def slow(post: Any) -> Accepted:
        time_passes(engine, Run, timedelta(seconds=25), "lease_until", "next_poll_at")
        replica_b.tick()
        return post()  # type: ignore[no-any-return]

    replica_a = Runner(engine, Delegate(asr, slow), POLICY, "replica-A")
    runs = track_to_the_end(engine, replica_a, replica_b)

    assert len(reprotect_posts(arm)) == 3
    assert Counter(name for name, _ in arm.world.reprotect_posts) == {
        "vm-app-01": 1, "vm-app-02": 1, "vm-app-03": 1}
    assert [r.status for r in runs] == [RunStatus.PROTECTED] * 3
    assert failures(engine) == []


def test_a_post_refused_as_already_in_progress_adopts_the_running_job(
        engine: Engine, asr: AzureSiteRecovery, arm: ArmEmulator) -> None:
    """Replica A freezes past its lease and the grace with its third POST in flight; B looks,
    finds nothing yet and sends it too, just after A's reached Site Recovery. B's POST is
    refused as another operation in progress: B adopts A's job, and A's late answer changes
    nothing."""
    add_request(engine, asr, RequestStatus.APPROVED)
    b_posting, a_posted = threading.Event(), threading.Event()

    def after_a(post: Any) -> Accepted:
        b_posting.set()
        a_posted.wait(10)
        return post()  # type: ignore[no-any-return]

    replica_b = Runner(engine, Delegate(asr, after_a), POLICY, "replica-B")
    posts = 0

    def frozen_on_third(post: Any) -> Accepted:
        nonlocal posts
        posts += 1
        if posts != 3:
            return post()  # type: ignore[no-any-return]
        time_passes(engine, Run, timedelta(minutes=10), "lease_until", "next_poll_at")
        other = threading.Thread(target=replica_b.tick)
        other.start()
        assert b_posting.wait(10), "replica B did not take the run over"
        try:
            return post()  # type: ignore[no-any-return]
        finally:
            a_posted.set()
            other.join()

    replica_a = Runner(engine, Delegate(asr, frozen_on_third), POLICY, "replica-A")
    runs = track_to_the_end(engine, replica_a, replica_b)

    assert Counter(name for name, _ in arm.world.reprotect_posts) == {
        "vm-app-01": 1, "vm-app-02": 1, "vm-app-03": 1}
    jobs = {job.item_name: job.name for job in arm.world.jobs.values()}
    assert {r.item_id.rsplit("/", 1)[1]: r.job_id for r in runs} == jobs
    assert [r.status for r in runs] == [RunStatus.PROTECTED] * 3
    assert failures(engine) == []


def test_a_slow_slack_post_is_not_posted_again_by_another_replica(
        engine: Engine, asr: AzureSiteRecovery, slack: SlackEmulator) -> None:
    """Each of replica A's Slack posts takes 20 s (within slack_sdk's timeout and one
    retry); replica B's sender ticks meanwhile. A renews its lease before each send."""
    request = add_request(engine, asr, RequestStatus.PENDING)
    with session_scope(engine) as session:
        enqueue(session, request, RequestPosted())
        for reply in REPLIES:
            enqueue(session, request, reply)
    pacer = ChannelPacer(rate=100, burst=100)
    replica_b = OutboxSender(engine, WebClient(token="xoxb-sandbox", base_url=slack.api_url),
                             "replica-B", ChannelPacer(rate=100, burst=100))

    class SlowSlack(WebClient):
        def chat_postMessage(self, **kwargs: Any) -> Any:
            time_passes(engine, Outbox, timedelta(seconds=20), "lease_until")
            replica_b.tick()
            return super().chat_postMessage(**kwargs)

    OutboxSender(engine, SlowSlack(token="xoxb-sandbox", base_url=slack.api_url), "replica-A",
                 pacer).tick()
    replica_b.tick()

    roots = [m for m in slack.messages(CHANNEL) if m.thread_ts is None]
    assert len(roots) == 1
    assert [m.text for m in slack.thread(CHANNEL, roots[0].ts)] == [
        thread.render(reply)["text"] for reply in REPLIES]
    with Session(engine) as session:
        stored = session.get(Request, request.id)
        assert stored is not None and stored.message_ts == roots[0].ts
