"""Approval to every reprotect accepted, for a plan of 100 VMs, 50 ms per ARM request.

One approved request of 100 VMs is seeded in the database; the bot's own `Runner` with the
real gateway (Azure SDK over HTTPS) then starts it: runs created, each write fenced (lease
and grace), one reprotect POST per VM. The ARM emulator answers every request after 50 ms
and throttles like ARM (writes: a token bucket of 200, refilled at 10 per second; reads: 250,
+25/s; 429 with Retry-After beyond). It prints the time from the tick that starts the
approved request to the last run following its job, the writes sent and the 429s received:

- *one at a time*: `writes_at_once=1`, the writes sent one after the other (the design
  before the fan-out);
- *fan-out*: the runner's default, `tracking.writes.WRITES_AT_ONCE` writes at once within
  its write budget (`tracking.writes.WriteBudget`).

    python benchmarks/submit_fanout.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, create_engine
from sqlmodel import Session, select

from core.plan import Choice, PlannedItem, ResolvedPlan
from core.policy import Policy
from gateways.site_recovery import AzureSiteRecovery
from operations import REPROTECT, fingerprint
from sandbox.arm_emulator import ArmEmulator
from sandbox.arm_world import World
from store.db import migrate, session_scope
from store.models import Approval, Request, RequestStatus, Run, RunStatus
from tracking import Runner
from tracking.writes import WRITES_AT_ONCE

VMS = 100
LATENCY_S = 0.05
POLICY = Policy(workspace_team=lambda: "T0", channels=frozenset(), required_approvals=1,
                approval_ttl=timedelta(hours=1), poll_interval=timedelta(seconds=30),
                protect_timeout=timedelta(hours=12))


def vault() -> World:
    world = World.sample(0, task_seconds=60.0)
    names = [f"vm-{vm:03d}" for vm in range(VMS)]
    for name in names:
        world.add_item(name)
    world.add_plan("plan-bench", friendly_name="Plan bench", items=names)
    return world


def approved(engine: Engine, world: World) -> None:
    """An approved request of every item of the plan, with the values Site Recovery takes."""
    details = world.fabric()["properties"]["customDetails"]
    mt, ps = details["masterTargetServers"][0], details["processServers"][0]
    policy = world.policy("InMage")
    rp = next(p for p in world.of_type("replicationRecoveryPlans") if p["name"] == "plan-bench")
    members = [m["id"] for g in rp["properties"]["groups"] for m in g["replicationProtectedItems"]]
    plan = ResolvedPlan(
        plan_id=rp["id"], plan_name=rp["name"], plan_friendly_name="Plan bench",
        items=tuple(PlannedItem(i, i.rsplit("/", 1)[1]) for i in members),
        master_target=Choice(mt["id"], mt["name"]),
        process_server=Choice(ps["id"], ps["friendlyName"]),
        datastore=Choice("vsan-avs-01", "vsan-avs-01"), retention=Choice("R:", "R:"),
        policy=Choice(policy["id"], policy["name"]), run_as_account_id=None)
    signed = fingerprint(REPROTECT, plan)
    with session_scope(engine) as session:
        request = Request(trigger_id="bench", team_id="T0", channel_id="C0BENCH",
                          requester_id="U0REQUESTER", command_text="", plan=plan.to_json(),
                          plan_name=plan.plan_name, status=RequestStatus.APPROVED,
                          fingerprint=signed, message_ts="1.0")
        session.add(request)
        session.flush()
        assert request.id is not None
        session.add(Approval(request_id=request.id, approver_id="U0APPROVER",
                             fingerprint=signed))


def accepted(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(Run).where(Run.status == RunStatus.RUNNING)).all())


def measure(folder: Path, writes_at_once: int) -> tuple[float, int, int, int]:
    """Seconds from the starting tick to the last run following its job; writes; 429s;
    ticks."""
    with ArmEmulator(vault(), latency_s=LATENCY_S, ca_dir=folder / "ca", throttle=True) as emu:
        os.environ.update(emu.env())
        engine = create_engine(f"sqlite:///{folder / 'bench.db'}")
        migrate(engine)
        approved(engine, emu.world)
        asr = AzureSiteRecovery(subscription_id=emu.world.subscription_id,
                                resource_group=emu.world.resource_group,
                                vault=emu.world.vault_name, arm_endpoint=emu.base_url)
        runner = Runner(engine, asr, POLICY, "bench", writes_at_once=writes_at_once)
        ticks = 0
        began = time.perf_counter()
        try:
            while accepted(engine) < VMS and time.perf_counter() - began < 120:
                runner.tick()
                ticks += 1
            elapsed = time.perf_counter() - began
        finally:
            asr.close()
            engine.dispose()
        writes = sum(1 for r in emu.requests
                     if r.method == "POST" and r.path.lower().endswith("/reprotect"))
        return elapsed, writes, emu.throttled, ticks


def main() -> None:
    for key in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"):
        os.environ.pop(key, None)
    print(f"{VMS} VMs approved, {LATENCY_S * 1000:.0f} ms per ARM request, ARM write bucket "
          "200 (+10/s)")
    for name, at_once in (("one at a time", 1), ("fan-out", WRITES_AT_ONCE)):
        with tempfile.TemporaryDirectory() as tmp:
            elapsed, writes, throttled, ticks = measure(Path(tmp), at_once)
        print(f"{name:<14} writes at once {at_once:>2}  approval → {VMS} accepted "
              f"{elapsed:5.2f} s  reprotect POSTs {writes:>3}  429s {throttled}  ticks {ticks}")


if __name__ == "__main__":
    main()
