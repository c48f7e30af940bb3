"""The request message at 1, 10 and 100 VMs: Slack's limits, reading order, snapshots.

Snapshots are the rendered JSON committed under tests/unit/snapshots/. A missing or
different snapshot fails; `UPDATE_SNAPSHOTS=1 pytest tests/unit/test_views_limits.py`
rewrites them after a deliberate change (review the diff).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import views
from core import actions
from core.events import Change, ChangeKind
from core.plan import STORED, CheckResult, Choice, PlannedItem, ResolvedPlan, Verdict
from providers.classic.preflight import run_checks
from store.models import Run
from tests.support import modernized as rcm
from tests.support.preflight import NOW, facts, inventory, reading
from tests.support.runs import ended, failing_runs, healthy_runs
from tests.support.snapshots import assert_matches_snapshot

SNAPSHOTS = Path(__file__).with_name("snapshots")
SIZES = (1, 10, 100)
# "Well under" Slack's undocumented ~13,000-character ceiling of blocks in a message.
BLOCKS_JSON_BUDGET = 10_000


def plan(vms: int, checks: tuple[CheckResult, ...]) -> ResolvedPlan:
    return ResolvedPlan(
        plan_id="/vaults/v/replicationRecoveryPlans/finance-rp", plan_name="finance-rp",
        plan_friendly_name="Finance tier 1",
        items=tuple(PlannedItem(f"/items/vm-app-{i:02d}", f"app-{i:02d}", f"vm-{100 + i}")
                    for i in range(1, vms + 1)),
        master_target=Choice("mt-id-1", "avs-mt-01", "given"),
        process_server=Choice("ps-id-1", "azure-ps-01",
                              "healthy, heartbeat fresh, lowest load (3 replication pairs)"),
        datastore=Choice("vsan-avs-01", "vsan-avs-01", "vSAN, most free space (2600 GB)"),
        retention=Choice("R:", "R:", "most free space (900 GiB)"),
        policy=Choice("policy-id", "vmware-azure-policy-failback",
                      "mapped to the configuration server"),
        run_as_account_id="1", checks=checks)


def healthy(vms: int) -> ResolvedPlan:
    return plan(vms, run_checks(facts(vms=vms)))


def troubled(vms: int) -> ResolvedPlan:
    """What a bad night looks like: shared problems on many VMs, and vCenter findings."""
    f = facts(vms=vms)
    uuid, first = next(iter(f.vcenter.inventory.vms_by_uuid.items()))  # type: ignore[union-attr]
    inv = inventory(vms)
    powered = {k: replace(v, power_state="poweredOn") if i % 3 == 0 else v
               for i, (k, v) in enumerate(inv.vms_by_uuid.items())}
    mt = replace(inv.master_target, snapshot_count=1, scsi_controllers=("pvscsi",))  # type: ignore[type-var]
    broken = replace(
        f, now=NOW + timedelta(minutes=30),  # every agent heartbeat is now stale
        items=tuple(replace(i, allowed_operations=()) if n % 2 else i
                    for n, i in enumerate(f.items)),
        vcenter=reading(replace(inv, vms_by_uuid=powered | {uuid: first}, master_target=mt,
                                master_target_candidates=(mt,))))
    return plan(vms, run_checks(broken))


def every_vm_blocked_differently(vms: int) -> ResolvedPlan:
    ids = ("reprotect-allowed", "vm-known", "mt-os-match", "source-supported", "uuid-unique",
           "datastore-ok", "avs-vm-off", "agent-registered")
    checks = tuple(CheckResult(  # results stored as words: long, and each one different
        ids[i % len(ids)], Verdict.BLOCK if i % 5 else Verdict.WARN, STORED, {
            "message": f"VM app-{i:03d} is in state `State{i}` that Site Recovery describes at "
                       f"some length, with details nobody reads at 3 a.m. (error {90000 + i}).",
            "fix": f"Do the specific thing number {i} in the Azure portal, then run "
                   "`/reprotect` again."},
        (f"app-{i:03d}",)) for i in range(1, vms + 1))
    return plan(vms, checks + run_checks(facts(vms=1))[-2:])


def render(p: ResolvedPlan, status: str, ticked: int = 0,
           runs: tuple[Run, ...] = ()) -> views.Message:
    confirmations = {i.key: ("U0BOB", NOW) for i in p.manual_items[:ticked]}
    approvals = [("U0BOB", NOW)] if runs else []
    return views.request_message(
        request_id=42, requester="U0ALICE", plan=p, status=status, approvals=approvals,
        required=1, expires_at=NOW + timedelta(hours=1), confirmations=confirmations, runs=runs)


CASES = {
    **{f"healthy_{n}": lambda n=n: render(healthy(n), "pending", ticked=1) for n in SIZES},
    **{f"troubled_{n}": lambda n=n: render(troubled(n), "blocked") for n in SIZES},
    "every_vm_blocked_differently_100": lambda: render(every_vm_blocked_differently(100),
                                                       "blocked"),
    **{f"modernized_{n}": lambda n=n: render(rcm.resolved_plan(n), "pending") for n in SIZES},
    "modernized_varied_100": lambda: render(rcm.resolved_plan(100, varied=True), "pending"),
    # The same message once it ran: its first line says how it ended, and which VMs failed.
    **{f"executing_{n}": lambda n=n: render(healthy(n), "executing", 2, healthy_runs(n))
       for n in SIZES},
    **{f"done_{n}": lambda n=n: render(healthy(n), "done", 2, ended(healthy_runs(n)))
       for n in SIZES},
    **{f"failed_{n}": lambda n=n: render(healthy(n), "failed", 2, ended(failing_runs(n)))
       for n in SIZES},
}


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    found = []
    for block in blocks:
        if "text" in block:
            found.append(block["text"]["text"])
        found += [e["text"] for e in block.get("elements", []) if "text" in e
                  and isinstance(e["text"], str)]
    return found


@pytest.mark.parametrize("case", sorted(CASES))
def test_within_slack_limits(case: str) -> None:
    message = CASES[case]()
    blocks = message["blocks"]
    assert message["text"]
    assert len(blocks) <= 50
    assert all(len(t) <= 3000 for t in texts(blocks))
    assert len(json.dumps(blocks)) < BLOCKS_JSON_BUDGET, len(json.dumps(blocks))
    for block in blocks:
        for element in block.get("elements", []):
            for option in element.get("options", []):
                assert len(option["text"]["text"]) <= 75


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_snapshot(case: str) -> None:
    rendered = json.dumps(CASES[case](), indent=1, ensure_ascii=False) + "\n"
    path = SNAPSHOTS / f"request_{case}.json"
    assert_matches_snapshot(path, rendered)


def test_reads_summary_then_blockers_then_warnings_then_passes() -> None:
    blocks = render(troubled(100), "blocked")["blocks"]
    flat = "\n".join(texts(blocks))
    assert "100 VMs · " in texts(blocks)[0] and "blocker(s)" in texts(blocks)[0]
    assert texts(blocks)[0].startswith(":no_entry: *Blocked*: *")  # first, and why
    findings = flat[len(texts(blocks)[0]):]
    assert findings.index(":no_entry: *Blocker:* *reprotect-allowed*") < findings.index(
        ":warning: *Warning:*")
    assert findings.index(":warning: *Warning:* *agent-registered*") < findings.index(
        "checks passed")
    # 50 VMs share one problem: one entry naming them, its fix once.
    assert findings.count("*reprotect-allowed*") == 1
    assert "and 38 more" in flat
    (passes,) = [b for b in blocks if "checks passed" in b.get("text", {}).get("text", "")]
    assert re.fullmatch(r":white_check_mark: \d+ checks passed", passes["text"]["text"])
    assert passes["accessory"]["action_id"] == actions.SHOW_PASSED
    assert passes["accessory"]["text"]["text"] == "Show passed checks"
    assert passes["accessory"]["value"] == "42"


def test_the_first_line_says_where_the_request_stands_and_changes_when_it_ends() -> None:
    def first(message: views.Message) -> str:
        return str(message["blocks"][0]["text"]["text"].splitlines()[0])

    p = healthy(3)
    assert first(render(p, "pending")) == (
        ":hourglass_flowing_sand: *Waiting for approval*: 1 more approval needed; 2 to confirm "
        "by hand (Approve confirms them)")
    assert "2 to confirm" in render(p, "pending")["blocks"][0]["text"]["text"]
    assert first(render(p, "executing", 2, healthy_runs(3))).startswith(
        ":arrows_counterclockwise: *Running* in Site Recovery: 3 VMs")
    done = render(p, "done", 2, ended(healthy_runs(3)))
    assert first(done) == ":white_check_mark: *Done* — 3/3 protected"
    assert "to confirm" not in done["blocks"][0]["text"]["text"] and "Done" in done["text"]
    failed = render(p, "failed", 2, ended(failing_runs(3)))
    assert first(failed) == (":x: *Failed*: `app-001`, `app-002`, `app-003` — 0/3 protected · "
                             "2 failed · 1 timed out")
    blocked = render(troubled(3), "blocked")
    assert first(blocked).startswith(":no_entry: *Blocked*: *") and "more blocker" in \
        first(blocked)
    assert not any(b["type"] == "actions" for b in blocked["blocks"])


def test_hundred_different_blockers_fold_per_check() -> None:
    flat = "\n".join(texts(render(every_vm_blocked_differently(100), "blocked")["blocks"]))
    assert "*reprotect-allowed* (10 findings)" in flat
    assert "… and" in flat  # the rest are counted and named, not dropped silently


def test_manual_items_are_checkboxes_while_pending_and_a_record_after() -> None:
    p = healthy(3)
    pending = render(p, "pending", ticked=1)["blocks"]
    (boxes,) = [e for b in pending if b["type"] == "actions" for e in b["elements"]
                if e["type"] == "checkboxes"]
    assert boxes["action_id"] == actions.CONFIRM_MANUAL
    assert [o["value"] for o in boxes["options"]] == ["network-ready:1", "network-ready:2"]
    assert [o["value"] for o in boxes["initial_options"]] == ["network-ready:1"]
    approved = "\n".join(texts(render(p, "approved", ticked=2)["blocks"]))
    assert "confirmed by <@U0BOB>" in approved
    assert not any(b["type"] == "actions" for b in render(p, "approved")["blocks"])
    assert views.manual_request(pending[[b["type"] for b in pending].index("actions")]
                                ["block_id"]) == 42


def test_stale_request_says_what_to_do() -> None:
    message = views.request_message(
        request_id=7, requester="U0ALICE", plan=healthy(1), status="stale", approvals=[],
        required=1, expires_at=None, decided_note="Process server: `a` → `b`")
    flat = "\n".join(texts(message["blocks"]))
    assert "Process server: `a` → `b`" in flat and "Run `/reprotect` again" in flat
    assert not any(b["type"] == "actions" for b in message["blocks"])


def test_preflight_changed_reply_within_limits() -> None:
    message = views.preflight_changed(7, 'plan="Finance tier 1" master=avs-mt-01',
                                      [Change(ChangeKind.BLOCKS, "mt-no-snapshots")],
                                      troubled(100))
    assert len(message["blocks"]) <= 50
    assert len(json.dumps(message["blocks"])) < BLOCKS_JSON_BUDGET
    assert "/reprotect plan=\"Finance tier 1\" master=avs-mt-01" in message["text"]


def test_modernized_header_names_the_architecture_and_values_fold_when_shared() -> None:
    flat = "\n".join(texts(render(rcm.resolved_plan(10), "pending")["blocks"]))
    assert "modernized architecture (replication appliance)" in texts(
        render(rcm.resolved_plan(10), "pending")["blocks"])[0]
    assert "• Replication appliance: `avs-appliance-01`" in flat
    assert "• Datastore (every VM): `vsan-avs-01`" in flat
    assert "• Log storage account (every VM): `" in flat
    assert "Master target" not in flat


def test_modernized_values_per_vm_name_their_vms_and_count_the_rest() -> None:
    flat = "\n".join(texts(render(rcm.resolved_plan(100, varied=True), "pending")["blocks"]))
    assert "• Datastore, per VM:" in flat
    assert "`web-01`, `web-04`, `web-07`" in flat and ": `vmfs-avs-02`" in flat
    assert f"• … {100 - views.PER_VM_GROUPS} more values for {100 - views.PER_VM_GROUPS} VMs" \
        in flat
