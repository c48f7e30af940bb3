"""How long a request's thread gets, and how soon its summary follows, for 3, 10 and 100 VMs.

The bot's own Runner and OutboxSender (with its real pacing of about one message a second
per channel) run against the ARM emulator (the real Azure SDK over HTTPS) and the Slack
emulator (the real slack_sdk WebClient). The jobs end spread over about 30 s, so VMs become
protected over many ticks, as they do in a vault. It prints the thread's replies (and how many
of them are edits of the progress message), the time from the last VM protected (its run
saved as protected) to the summary reply in Slack, and the time for the whole request.

    python benchmarks/thread_size.py
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from slack_sdk import WebClient
from sqlalchemy import Engine, create_engine
from sqlmodel import Session, col, select

from bot.outbox import OutboxSender
from core.plan import Choice, PlannedItem, ResolvedPlan
from core.policy import Policy
from gateways.site_recovery import AzureSiteRecovery
from sandbox.arm_emulator import ArmEmulator
from sandbox.arm_world import World
from sandbox.slack_emulator import SlackEmulator
from store.db import migrate, session_scope
from store.models import Outbox, OutboxKind, Request, RequestStatus, Run, RunStatus
from tracking import Runner

SIZES = (3, 10, 100)
CHANNEL = "C0BENCH"
POLL = timedelta(seconds=1)
SPREAD_S = 30.0   # the jobs' ends spread over this
LIMIT_S = 300.0


def plan_of(world: World) -> ResolvedPlan:
    plan = world.of_type("replicationRecoveryPlans")[0]
    details = world.fabric()["properties"]["customDetails"]
    mt, ps = details["masterTargetServers"][0], details["processServers"][0]
    members = [m["id"] for g in plan["properties"]["groups"]
               for m in g["replicationProtectedItems"]]
    return ResolvedPlan(
        plan_id=plan["id"], plan_name=plan["name"],
        plan_friendly_name=plan["properties"]["friendlyName"],
        items=tuple(PlannedItem(i, i.rsplit("/", 1)[1]) for i in members),
        master_target=Choice(mt["id"], mt.get("name", "mt"), "given"),
        process_server=Choice(ps["id"], ps.get("friendlyName", "ps"), "given"),
        datastore=Choice("vsan-avs-01", "vsan-avs-01", "given"), retention=Choice("R:", "R:", ""),
        policy=Choice(world.policy("InMage")["id"], "policy", ""), run_as_account_id=None)


def seed(engine: Engine, plan: ResolvedPlan, root_ts: str) -> int:
    """An executing request whose runs are queued: the runner submits them all."""
    with session_scope(engine) as session:
        request = Request(trigger_id="bench", team_id="T0", channel_id=CHANNEL,
                          requester_id="U0A", command_text="", plan=plan.to_json(),
                          status=RequestStatus.EXECUTING, message_ts=root_ts)
        session.add(request)
        session.flush()
        assert request.id is not None
        for item in plan.items:
            session.add(Run(request_id=request.id, item_id=item.item_id, vm_name=item.vm_name))
        return request.id


def spread(world: World, over_s: float) -> None:
    """Jobs of 4 tasks ending from 2 s to 2 s + `over_s` after they started."""
    jobs = sorted(world.jobs.values(), key=lambda j: j.name)
    for index, job in enumerate(jobs):
        job.task_seconds = (2.0 + over_s * index / max(1, len(jobs) - 1)) / 4


@dataclass(frozen=True)
class Thread:
    """What one request's thread came to."""

    texts: list[str]          # the replies as Slack holds them, in order
    progress_sends: int       # progress messages sent (the first posts, the rest edit)
    to_summary_s: float       # from the last VM protected to the summary in Slack
    elapsed_s: float


def measure(vms: int, folder: Path, over_s: float = SPREAD_S) -> Thread:
    world = World.sample(vms, task_seconds=60.0, protect_delay_seconds=1.0)
    engine = create_engine(f"sqlite:///{folder / f'thread{vms}.db'}")
    migrate(engine)
    policy = Policy(workspace_team=lambda: "T0", channels=frozenset(), required_approvals=1,
                    approval_ttl=timedelta(hours=1), poll_interval=POLL,
                    protect_timeout=timedelta(hours=12))
    with ArmEmulator(world, ca_dir=folder / f"ca{vms}") as arm, SlackEmulator() as slack:
        os.environ.update(arm.env())
        client = WebClient(token=slack.bot_token, base_url=slack.api_url)
        root_ts = str(client.chat_postMessage(channel=CHANNEL, text="root")["ts"])
        request_id = seed(engine, plan_of(world), root_ts)
        asr = AzureSiteRecovery(subscription_id=world.subscription_id,
                                resource_group=world.resource_group, vault=world.vault_name,
                                arm_endpoint=arm.base_url)
        runner = Runner(engine, asr, policy, "bench")
        sender = OutboxSender(engine, client, "bench")
        started = time.monotonic()
        spread_done = False
        try:
            while time.monotonic() - started < LIMIT_S:
                runner.tick()
                if not spread_done and len(world.jobs) == vms:
                    spread(world, over_s)
                    spread_done = True
                sender.tick()
                with Session(engine) as session:
                    request = session.get(Request, request_id)
                    pending = session.exec(select(Outbox.id).where(
                        Outbox.status == "pending")).first()
                if request is not None and request.status != RequestStatus.EXECUTING \
                        and pending is None:
                    break
                time.sleep(0.2)
        finally:
            asr.close()
        elapsed = time.monotonic() - started
        texts = [m.text for m in slack.thread(CHANNEL, root_ts)]
        with Session(engine) as session:
            last_protected = max(r.finished_at for r in session.exec(select(Run).where(
                Run.status == RunStatus.PROTECTED)).all() if r.finished_at)
            summary = session.exec(select(Outbox).where(
                col(Outbox.payload)["type"].as_string() == "Summary")).one()
            edits = len(session.exec(select(Outbox.id).where(
                Outbox.kind == OutboxKind.PROGRESS, Outbox.status == "sent")).all())
        assert summary.sent_at is not None, "the summary was never sent"
    engine.dispose()
    return Thread(texts, edits, (summary.sent_at - last_protected).total_seconds(), elapsed)


def main() -> None:
    for key in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"):
        os.environ.pop(key, None)
    print(f"jobs end over {SPREAD_S:.0f} s; runs polled every {POLL.total_seconds():.0f} s; "
          "Slack paced at about 1 message/s per channel")
    with tempfile.TemporaryDirectory() as tmp:
        for vms in SIZES:
            got = measure(vms, Path(tmp))
            print(f"{vms:>4} VMs: {len(got.texts):>3} thread messages (progress sent "
                  f"{got.progress_sends}x, edited in place); last protected → summary "
                  f"{got.to_summary_s:5.1f} s; whole request {got.elapsed_s:5.1f} s")


if __name__ == "__main__":
    main()
