"""How the preflight scales with the plan: 1, 10 and 100 VMs, 50 ms per request.

Site Recovery is the ARM emulator with `latency_s=0.05` (every ARM request waits 50 ms).
vCenter is vcsim behind a small TCP proxy that delays every chunk from the bot by 50 ms
(so every SOAP round trip costs 50 ms more, as over a VPN to the private cloud). Both
designs run in the same process against the same emulators, with a logged-in vCenter
session (the bot reuses its session):

- bulk: the bot's own `intake.planning.resolve`: the plan, then its items, fabric,
  policies, mappings and vCenters in concurrent list calls while vCenter is read in one
  property retrieval; then every check.
- per-VM: the shape this replaces, reads only: the plan and fabric as above, then for each
  VM one protected-item GET and one vCenter lookup (the gateway's inventory for that VM).
- modernized: the bulk design on a plan of the modernized architecture (replication
  appliance, `appliance=`): the same list calls plus one list of the vault's items (the disks
  already failing back through the appliance), whatever the plan size.
- failback: `/failback plan=finance-rp` on a classic plan protected to AVS
  (`arm_journey.journey_sample`): the plan, its journey signals in five concurrent reads, and
  vCenter by the plan's VM UUIDs, whatever the plan size.

- failback reads: the reads a failback preflight needs on a plan protected to AVS, both
  architectures: the plans, then `failback_context` (the plan's own state, its items' journey
  signals, the forward targets: five concurrent reads) and the plan's stage from those items;
  and `/reprotect status`'s stage read (the vault's plans and items: two concurrent lists).

Run: `python benchmarks/preflight_scale.py [--failback]` (`--failback`: only the whole failback
preflight rows; needs Go and govmomi for vcsim, as the tests);
`python benchmarks/preflight_scale.py failback` runs only the failback reads (no vCenter).
"""

from __future__ import annotations

import os
import queue
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/support: vcsim harness

from core.journey import ItemSignals, Stage, plan_journey
from core.plan import ReprotectRequest, ResolvedPlan, StepRequest
from gateways.site_recovery import AzureSiteRecovery
from gateways.vcenter import VCenterGateway
from intake.journey import read_stages
from intake.parser import parse
from intake.planning import Sources, resolve
from operations import requested
from sandbox.arm_emulator import ArmEmulator
from sandbox.arm_journey import CLASSIC_PLAN, MODERNIZED_PLAN, journey_sample
from sandbox.arm_journey import Stage as WorldStage
from sandbox.arm_modernized import APPLIANCE, ModernizedWorld
from sandbox.arm_world import World, stable_guid
from store.models import utcnow
from tests.support.vcsim import start_vcsim
from tests.support.vcsim_shapes import admin_content, config, create_vm, find_vm, reconfigure

LATENCY_S = 0.05
SIZES = (1, 10, 100)
COMMAND = 'plan="Finance tier 1" master=avs-mt-01'
MODERNIZED_COMMAND = f'plan="Finance tier 1" appliance={APPLIANCE}'


@contextmanager
def delaying_proxy(target_port: int, delay_s: float) -> Iterator[int]:
    """127.0.0.1:<port> forwarding to `target_port`; bytes towards the server arrive
    `delay_s` late (TLS passes through untouched, so certificates still verify)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def pump(source: socket.socket, sink: socket.socket, delay: float) -> None:
        """Stamp each chunk when it arrives; a writer sends it `delay` later, so chunks
        of one request are delayed together, not one after the other."""
        chunks: queue.Queue[tuple[float, bytes]] = queue.Queue()

        def write() -> None:
            try:
                while (item := chunks.get())[1]:
                    time.sleep(max(0.0, item[0] - time.monotonic()))
                    sink.sendall(item[1])
            except OSError:
                pass
            finally:
                sink.close()

        threading.Thread(target=write, daemon=True).start()
        try:
            while chunk := source.recv(65536):
                chunks.put((time.monotonic() + delay, chunk))
        except OSError:
            pass
        chunks.put((0.0, b""))

    def accept() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", target_port))
            for end in (client, server):  # no Nagle: the delay is the only latency added
                end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for args in ((client, server, delay_s), (server, client, 0.0)):
                threading.Thread(target=pump, args=args, daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        listener.close()


def request(command: str = COMMAND) -> ReprotectRequest:
    parsed = parse(command)
    assert isinstance(parsed, ReprotectRequest)
    return parsed


def bulk(sources: Sources) -> None:
    plan = resolve(request(), sources, now=utcnow())
    assert isinstance(plan, ResolvedPlan)  # 100 VMs block on the 60-disk ceiling: fine here


def failback(sources: Sources) -> None:
    parsed = parse("plan=finance-rp", "/failback")
    assert isinstance(parsed, StepRequest)
    plan = resolve(parsed, sources, now=utcnow(), operation=requested(parsed))
    assert isinstance(plan, ResolvedPlan) and plan.approvable, plan


def modernized(sources: Sources) -> None:
    plan = resolve(request(MODERNIZED_COMMAND), sources, now=utcnow())
    assert isinstance(plan, ResolvedPlan) and plan.provider == "modernized"


def per_vm(sources: Sources) -> None:
    asr, vcenter = sources.site_recovery, sources.vcenter
    assert vcenter is not None
    plan = next(p for p in asr.list_plans() if p.friendly_name == "Finance tier 1")
    asr.plan_context(plan)  # fabric, policies, mappings: needed once either way
    for item_id in plan.item_ids:
        found = asr.get_item(item_id)
        vcenter.inventory(vm_names=[found.friendly_name], vm_uuids=[found.vm_uuid or ""],
                          master_target="avs-mt-01")


def measure(design: Any, sources: Sources, arm: ArmEmulator,
            gateway: VCenterGateway) -> tuple[float, int, int]:
    asr_before, vc_before = len(arm.requests), gateway.round_trips
    began = time.perf_counter()
    design(sources)
    return (time.perf_counter() - began, len(arm.requests) - asr_before,
            gateway.round_trips - vc_before)


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="reprotect-preflight-bench-"))
    print(f"Preflight of one plan; {LATENCY_S * 1000:.0f} ms per Site Recovery request "
          f"(ArmEmulator latency_s) and per vCenter round trip (delaying TCP proxy in front "
          f"of vcsim); vCenter session already logged in.")
    print(f"{'VMs':>4} {'design':<10} {'wall s':>7} {'ASR requests':>13} "
          f"{'vCenter round trips':>20}")
    with start_vcsim(vms=max(SIZES) // 2) as vcsim:
        with admin_content(vcsim) as content:
            create_vm(content, "avs-mt-01", ip="10.40.0.21")
            create_vm(content, APPLIANCE, ip="10.40.0.30")
            names = [f"DC0_H0_VM{i}" for i in range(max(SIZES) // 2)]
            names += [f"DC0_C0_RP0_VM{i}" for i in range(max(SIZES) // 2)]
            for index, name in enumerate(names, start=1):
                reconfigure(find_vm(content, name), uuid=stable_guid("bios",
                                                                     f"vm-app-{index:02d}"))
        port = int(vcsim.url.split(":")[2].split("/")[0])
        with delaying_proxy(port, LATENCY_S) as proxied:
            gateway = VCenterGateway(config(vcsim, url=f"https://127.0.0.1:{proxied}/sdk"))
            if "--failback" not in sys.argv:
                for size in SIZES:
                    run(size, folder, gateway)
                for size in SIZES:
                    run(size, folder, gateway, modernized_plan=True)
            for size in SIZES:
                run(size, folder, gateway, failback_plan=True)
            gateway.close()


def run(size: int, folder: Path, gateway: VCenterGateway, *,
        modernized_plan: bool = False, failback_plan: bool = False) -> None:
    world: World = ModernizedWorld.modernized_sample(size) if modernized_plan else \
        journey_sample(WorldStage.PROTECTED_TO_AVS, classic_vm_count=size, vm_count=1) \
        if failback_plan else World.sample(size)
    designs: tuple[tuple[str, Any], ...] = (("modernized", modernized),) if modernized_plan \
        else (("failback", failback),) if failback_plan else \
        (("bulk", bulk), ("per-VM", per_vm))
    kind = "-rcm" if modernized_plan else "-fb" if failback_plan else ""
    ca_dir = folder / f"ca-{size}{kind}"
    with ArmEmulator(world, latency_s=LATENCY_S, ca_dir=ca_dir) as arm:
        asr = gateway_for(arm)
        sources = Sources(asr, gateway, vcenter_host="10.40.0.2")
        designs[0][1](sources)  # warm up: token, vCenter login, cached vault key
        for name, design in designs:
            wall, asr_calls, vc_trips = measure(design, sources, arm, gateway)
            print(f"{size:>4} {name:<10} {wall:>7.2f} {asr_calls:>13} {vc_trips:>20}",
                  flush=True)
        asr.close()


def failback_preflight(asr: AzureSiteRecovery, plan_name: str) -> None:
    """What a failback preflight reads: the plan by name, its context, its stage."""
    plan = next(p for p in asr.list_plans() if p.name == plan_name)
    context = asr.failback_context(plan)
    journey = plan_journey(plan.name, plan.friendly_name,
                           [ItemSignals.of(i.item, i.active_site_type) for i in context.items])
    assert journey.stage is Stage.PROTECTED_TO_AVS, journey


def status_stages(asr: AzureSiteRecovery) -> None:
    stages = read_stages(asr)
    assert stages.explanation is None and all(
        j.stage is Stage.PROTECTED_TO_AVS for j in stages.plans), stages


def failback_runs(folder: Path) -> None:
    """The failback reads for plans of 1, 10 and 100 VMs of each architecture."""
    print(f"\nFailback preflight reads and the status' stage read; {LATENCY_S * 1000:.0f} ms per "
          "Site Recovery request; both plans protected to AVS.")
    print(f"{'VMs':>4} {'design':<22} {'wall s':>7} {'ASR requests':>13}")
    for size in SIZES:
        world = journey_sample(WorldStage.PROTECTED_TO_AVS, classic_vm_count=size,
                               vm_count=size)
        with ArmEmulator(world, latency_s=LATENCY_S, ca_dir=folder / f"ca-fb-{size}") as arm:
            asr = gateway_for(arm)
            status_stages(asr)  # warm up: token, vault key
            designs: tuple[tuple[str, Callable[[], None]], ...] = (
                ("failback classic", partial(failback_preflight, asr, CLASSIC_PLAN)),
                ("failback modernized", partial(failback_preflight, asr, MODERNIZED_PLAN)),
                ("status: every plan", partial(status_stages, asr)))
            for name, design in designs:
                before = len(arm.requests)
                began = time.perf_counter()
                design()
                print(f"{size:>4} {name:<22} {time.perf_counter() - began:>7.2f} "
                      f"{len(arm.requests) - before:>13}", flush=True)
            asr.close()


def gateway_for(arm: ArmEmulator) -> AzureSiteRecovery:
    env = arm.env()
    for key in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "REQUESTS_CA_BUNDLE"):
        os.environ[key] = env[key]
    return AzureSiteRecovery(subscription_id=env["AZURE_SUBSCRIPTION_ID"],
                             resource_group=env["ASR_RESOURCE_GROUP"],
                             vault=env["ASR_VAULT_NAME"], arm_endpoint=env["AZURE_ARM_ENDPOINT"])


if __name__ == "__main__":
    if sys.argv[1:] == ["failback"]:
        failback_runs(Path(tempfile.mkdtemp(prefix="reprotect-preflight-bench-")))
    else:
        main()
        failback_runs(Path(tempfile.mkdtemp(prefix="reprotect-preflight-bench-")))
