"""Polling at scale: 10 plans × 100 VMs tracked against the ARM emulator, two designs.

The emulator answers every request after 50 ms and throttles reads like ARM (a token bucket
of 250, refilled at 25 per second, 429 with Retry-After beyond it). 1,000 reprotect jobs are
started in the vault at once (four tasks of TASK_SECONDS each), then followed until Site
Recovery says every job succeeded:

- *this design*: the bot's own `Runner` with the real gateway (Azure SDK over HTTPS): the
  vault's recent jobs listed once per tick, full job reads within a fixed budget, the items
  waiting for Protected listed once per plan;
- *per-job polling*: one GET per tracked job per tick, 8 in parallel, as a client following
  each job on its own would do (same SDK, same retry policy).

It prints ARM reads per tick, 429s received, and the time from a job's change (its end, as
Site Recovery reports it) to its Slack post: for this design, the commit of the thread reply
in the outbox (the sender delivers it on its next 0.5 s tick); for per-job polling, the moment
the GET that saw the change returned (a lower bound of its post).

    python benchmarks/poll_scale.py
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlmodel import Session, select

from core.plan import PlannedItem, ResolvedPlan
from core.policy import Policy
from gateways.site_recovery import AzureSiteRecovery, job_name
from sandbox.arm_emulator import ArmEmulator
from sandbox.arm_world import World
from store.db import migrate, session_scope
from store.models import Outbox, Request, RequestStatus, Run, RunStatus, utcnow
from tracking import Runner

PLANS, VMS = 10, 100
LATENCY_S = 0.05
TASK_SECONDS = 5.0
POLL = timedelta(seconds=2)
PER_JOB_WORKERS = 8
PHASE_LIMIT_S = 240.0


def vault() -> World:
    world = World.sample(0, task_seconds=TASK_SECONDS, protect_delay_seconds=1.0)
    world.page_size = 100
    for plan in range(PLANS):
        names = [f"vm-p{plan:02d}-{vm:03d}" for vm in range(VMS)]
        for name in names:
            world.add_item(name)
        world.add_plan(f"plan-{plan:02d}", friendly_name=f"Plan {plan:02d}", items=names)
    return world


def start_jobs(world: World) -> dict[str, str]:
    """Start every item's reprotect in the vault directly; item name -> job name."""
    details = world.fabric()["properties"]["customDetails"]
    mt = details["masterTargetServers"][0]
    body = {"properties": {"failoverDirection": "RecoveryToPrimary", "providerSpecificDetails": {
        "instanceType": "InMage", "masterTargetId": mt["id"],
        "processServerId": details["processServers"][0]["id"], "retentionDrive": "R:",
        "datastoreName": "vsan-avs-01", "profileId": world.policy("InMage")["id"]}}}
    return {item["name"]: world.reprotect(item, body).name
            for item in world.of_type("replicationProtectedItems")}


def gateway(emu: ArmEmulator) -> AzureSiteRecovery:
    return AzureSiteRecovery(subscription_id=emu.world.subscription_id,
                             resource_group=emu.world.resource_group,
                             vault=emu.world.vault_name, arm_endpoint=emu.base_url)


def seed(engine: Engine, world: World, jobs: dict[str, str]) -> None:
    """Ten executing requests whose runs already follow their jobs."""
    with session_scope(engine) as session:
        for plan in world.of_type("replicationRecoveryPlans"):
            members = [m["id"] for g in plan["properties"]["groups"]
                       for m in g["replicationProtectedItems"]]
            resolved = ResolvedPlan(
                plan_id=plan["id"], plan_name=plan["name"],
                plan_friendly_name=plan["properties"]["friendlyName"],
                items=tuple(PlannedItem(i, i.rsplit("/", 1)[1]) for i in members),
                master_target=None, process_server=None, datastore=None, retention=None,
                policy=None, run_as_account_id=None)
            request = Request(trigger_id=plan["name"], team_id="T0", channel_id="C0BENCH",
                              requester_id="U0A", command_text="", plan=resolved.to_json(),
                              status=RequestStatus.EXECUTING, message_ts="1.0")
            session.add(request)
            session.flush()
            assert request.id is not None
            for item_id in members:
                name = item_id.rsplit("/", 1)[1]
                session.add(Run(request_id=request.id, item_id=item_id, vm_name=name,
                                status=RunStatus.RUNNING, job_id=jobs[name],
                                job_state="InProgress", started_at=utcnow(),
                                flags={"jobs": [jobs[name]]}))


def reads(emu: ArmEmulator) -> int:
    return sum(1 for r in emu.requests if r.method == "GET")


def this_design(emu: ArmEmulator, folder: Path) -> tuple[list[int], int, list[float], float]:
    engine = create_engine(f"sqlite:///{folder / 'bench.db'}")
    migrate(engine)
    jobs = start_jobs(emu.world)
    seed(engine, emu.world, jobs)
    policy = Policy(workspace_team=lambda: "T0", channels=frozenset(), required_approvals=1,
                    approval_ttl=timedelta(hours=1), poll_interval=POLL,
                    protect_timeout=timedelta(hours=12))
    asr = gateway(emu)
    runner = Runner(engine, asr, policy, "bench")
    per_tick: list[int] = []
    throttled = emu.throttled
    started = time.monotonic()
    try:
        while time.monotonic() - started < PHASE_LIMIT_S:
            before = reads(emu)
            runner.tick()
            if reads(emu) > before:
                per_tick.append(reads(emu) - before)
            with Session(engine) as session:
                left = session.exec(select(Run).where(Run.status == RunStatus.RUNNING)).all()
            if not left:
                break
            time.sleep(0.2)
    finally:
        asr.close()
    elapsed = time.monotonic() - started
    ended = {name: emu.world.jobs[job].ended_at for name, job in jobs.items()}
    with Session(engine) as session:
        rows = session.exec(select(Outbox).where(Outbox.kind == "progress")).all()
    delays = [row.created_at.timestamp() - ended[vm] for row in rows
              for vm, state, _ in row.payload["changes"] if state == "Succeeded"]
    engine.dispose()
    return per_tick, emu.throttled - throttled, delays, elapsed


def per_job_polling(emu: ArmEmulator) -> tuple[list[int], int, list[float], float]:
    jobs = start_jobs(emu.world)
    ended = {job: emu.world.jobs[job].ended_at for job in jobs.values()}
    asr = gateway(emu)
    pending = set(jobs.values())
    per_tick: list[int] = []
    delays: list[float] = []
    throttled = emu.throttled
    started = time.monotonic()

    def poll(job: str) -> tuple[str, bool]:
        try:
            return job, asr.get_job(job).state == "Succeeded"
        except Exception:  # a GET that failed after its retries: polled again next tick
            return job, False

    try:
        with ThreadPoolExecutor(PER_JOB_WORKERS) as pool:
            while pending and time.monotonic() - started < PHASE_LIMIT_S:
                before = reads(emu)
                for job, done in pool.map(poll, sorted(pending)):
                    if done:
                        pending.discard(job)
                        delays.append(time.time() - ended[job_name(job)])
                per_tick.append(reads(emu) - before)
                time.sleep(POLL.total_seconds())
    finally:
        asr.close()
    return per_tick, emu.throttled - throttled, delays, time.monotonic() - started


def report(name: str, result: tuple[list[int], int, list[float], float]) -> None:
    per_tick, throttled, delays, elapsed = result
    delays = sorted(delays)
    p95 = delays[int(0.95 * (len(delays) - 1))] if delays else float("nan")
    mean = statistics.mean(per_tick)
    print(f"{name:<18} ticks {len(per_tick):>3}  ARM reads/tick mean {mean:7.1f}"
          f" max {max(per_tick):5d}  429s {throttled:5d}  change→post s: median "
          f"{statistics.median(delays) if delays else float('nan'):6.1f} p95 {p95:6.1f} "
          f"max {delays[-1] if delays else float('nan'):6.1f}  (n={len(delays)}, "
          f"{elapsed:.0f} s)")


def main() -> None:
    for key in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"):
        os.environ.pop(key, None)
    print(f"{PLANS} plans × {VMS} VMs, {LATENCY_S * 1000:.0f} ms per request, ARM read bucket "
          f"250 (+25/s); jobs of 4 tasks × {TASK_SECONDS:.0f} s, runs due every "
          f"{POLL.total_seconds():.0f} s")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with ArmEmulator(vault(), latency_s=LATENCY_S, ca_dir=folder / "a", throttle=True) as emu:
            os.environ.update(emu.env())
            ours = this_design(emu, folder)
        with ArmEmulator(vault(), latency_s=LATENCY_S, ca_dir=folder / "b", throttle=True) as emu:
            os.environ.update(emu.env())
            theirs = per_job_polling(emu)
        report("this design", ours)
        report("per-job polling", theirs)


if __name__ == "__main__":
    main()
