"""A healthy vault whose free-text fields hold values the emulator never used is never blocked.

Site Recovery types several fields as free strings that no public source pins (facts.md §8).
Here the ARM emulator's vault holds other spellings — one field at a time, Microsoft's own
example values, and whole vaults respelled from a seed — and the bot reads it as it reads
Azure: the real Azure SDK over HTTPS, the gateway, then the preflight; then a respelled vault
is approved, reprotected and reported protected through Slack.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.views import checks as said
from bot.views.mrkdwn import code
from core.plan import ReprotectRequest, ResolvedPlan, Verdict
from gateways.site_recovery import AzureSiteRecovery
from intake.planning import Sources, resolve
from sandbox.arm_emulator import ArmEmulator
from sandbox.arm_world import RESPELLINGS, World
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator
from tests.integration.conftest import (
    APPROVER,
    CHANNEL,
    COMMAND,
    REQUESTER,
    approve,
    buttons,
    reprotect_posts,
    wait_root,
    wait_summary,
)

EXAMPLES = Path(__file__).parents[1] / "support" / "asr_examples"
REQUEST = ReprotectRequest(plan="Finance tier 1", master="avs-mt-01")
CREDENTIAL_ENV = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "MSI_ENDPOINT",
                  "MSI_SECRET", "AZURE_FEDERATED_TOKEN_FILE")
EXTRA = ("Unknown", "", "Ünïcode ✓")


def example_values(field: str) -> set[Any]:
    """Every value Microsoft's example payloads give `field`, anywhere in them."""
    found: set[Any] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            found.update(v for k, v in node.items() if k == field and isinstance(v, str | int))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in EXAMPLES.glob("*.json"):
        walk(json.loads(path.read_text()))
    return found


def respell(world: World, field: str, value: Any) -> None:
    """Give `field` the value `value` wherever the vault carries it."""
    details = world.fabric()["properties"]["customDetails"]
    masters = details["masterTargetServers"]
    places: dict[str, list[dict[str, Any]]] = {
        "csServiceStatus": [details],
        "psServiceStatus": details["processServers"],
        "health": details["processServers"],
        "discoveryStatus": [v["properties"] for v in world.of_type("replicationvCenters")],
        "type": [d for mt in masters for d in mt["dataStores"]],
        "thresholdPercentage": [v for mt in masters for v in mt["retentionVolumes"]],
        "osType": masters + [i["properties"]["providerSpecificDetails"]
                             for i in world.of_type("replicationProtectedItems")],
        "activeLocation": [i["properties"] for i in world.of_type("replicationProtectedItems")],
    }
    for place in places[field]:
        place[field] = value


# The values each field meets: the seeded spellings, Microsoft's examples, a few odd ones.
# `health` and `activeLocation` are enumerations (ProtectionHealth; Primary/Recovery): only
# their case varies, as `Warning`, `Critical` and `Primary` are certain blockers.
CASES = sorted({
    (field, value)
    for field, values in {
        "csServiceStatus": (*RESPELLINGS["csServiceStatus"], *EXTRA),
        "psServiceStatus": (*RESPELLINGS["psServiceStatus"], *EXTRA),
        "discoveryStatus": (*RESPELLINGS["discoveryStatus"], *example_values("discoveryStatus"),
                            *EXTRA),
        "type": (*RESPELLINGS["vSAN"], *RESPELLINGS["VMFS"], *RESPELLINGS["NFS"], *EXTRA),
        "thresholdPercentage": (*RESPELLINGS["thresholdPercentage"], 1, 99, 250),
        "osType": ("windows", "WINDOWS", "Microsoft Windows", *EXTRA),
        "health": (*RESPELLINGS["health"], *example_values("health")),
        "activeLocation": RESPELLINGS["activeLocation"],
    }.items()
    for value in values
}, key=repr)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArmEmulator]:
    with pytest.MonkeyPatch.context() as patch, \
            ArmEmulator(World.sample(3), ca_dir=tmp_path_factory.mktemp("ca")) as emu:
        for key in CREDENTIAL_ENV:
            patch.delenv(key, raising=False)
        for key, value in emu.env().items():
            patch.setenv(key, value)
        yield emu


@pytest.fixture(scope="module")
def gateway(emulator: ArmEmulator) -> Iterator[AzureSiteRecovery]:
    world = emulator.world
    site_recovery = AzureSiteRecovery(subscription_id=world.subscription_id,
                                      resource_group=world.resource_group,
                                      vault=world.vault_name, arm_endpoint=emulator.base_url)
    yield site_recovery
    site_recovery.close()


def preflight(gateway: AzureSiteRecovery) -> ResolvedPlan:
    plan = resolve(REQUEST, Sources(gateway), now=datetime.now(UTC))
    assert isinstance(plan, ResolvedPlan)
    return plan


@pytest.mark.parametrize(("field", "value"), CASES, ids=[f"{f}={v!r}" for f, v in CASES])
def test_no_unseen_value_alone_blocks(field: str, value: Any, emulator: ArmEmulator,
                                      gateway: AzureSiteRecovery) -> None:
    emulator.world = World.sample(3)
    respell(emulator.world, field, value)
    plan = preflight(gateway)
    assert plan.blockers == () and plan.approvable
    for warning in plan.checks:
        if warning.verdict is Verdict.WARN and said.fix(warning).startswith("Confirm by hand"):
            assert code(value) in said.message(warning)  # the raw value, as Site Recovery gave it


@pytest.mark.parametrize("seed", range(12))
def test_a_respelled_healthy_vault_is_never_blocked(seed: int, emulator: ArmEmulator,
                                                    gateway: AzureSiteRecovery) -> None:
    emulator.world = World.sample(3, seed=seed)
    plan = preflight(gateway)
    assert plan.blockers == () and plan.approvable
    assert plan.process_server is not None and plan.process_server.name != "cs01"
    assert plan.run_as_account_id is None


def test_respelling_is_reproducible_and_differs_from_the_default() -> None:
    def fabric(world: World) -> str:
        """The fabric's JSON without its clock-based timestamps."""
        text = json.dumps(world.fabric()["properties"]["customDetails"], sort_keys=True)
        return re.sub(r'"\d{4}-\d\d-\d\dT[^"]*"', '"<time>"', text)

    assert fabric(World.sample(3, seed=5)) == fabric(World.sample(3, seed=5))
    assert fabric(World.sample(3, seed=5)) != fabric(World.sample(3))
    assert fabric(World.sample(3)) == fabric(World.sample(3))


# -- through Slack: approved, reprotected, protected -------------------------------------------


@pytest.fixture
def world(request: pytest.FixtureRequest) -> World:
    """The conftest's vault, respelled when the test passes a seed."""
    return World.sample(3, task_seconds=0.2, protect_delay_seconds=0.2,
                        seed=getattr(request, "param", None))


def run_to_summary(driver: SlackDriver, slack: SlackEmulator,
                   command: str = COMMAND) -> tuple[str, list[str]]:
    """Request, check it is approvable, approve; the preflight's text and the thread."""
    driver.slash_command(command, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    shown = str(root.blocks)
    assert buttons(root) == ["Approve", "Reject", "Cancel"], shown
    approve(driver, slack, root, APPROVER)
    return shown, [m.text for m in wait_summary(slack, root)]


@pytest.mark.slow
@pytest.mark.parametrize("world", [3, 8], indirect=True)
def test_respelled_healthy_plan_is_approved_reprotected_and_protected(
        world: World, driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    shown, thread = run_to_summary(driver, slack)
    assert ":warning:" in shown and "Confirm by hand" in shown  # it did meet unseen values
    assert "3/3 protected" in thread[-1]
    built_in = next(p["id"] for p in world.fabric()["properties"]["customDetails"]
                    ["processServers"] if p["friendlyName"] == "cs01")
    for post in reprotect_posts(arm):
        details = post.body["properties"]["providerSpecificDetails"]
        assert "runAsAccountId" not in details  # PowerShell sends it only with -Account
        assert details["processServerId"] != built_in


@pytest.mark.slow
def test_named_run_as_account_is_sent(driver: SlackDriver, slack: SlackEmulator,
                                      arm: ArmEmulator) -> None:
    _, thread = run_to_summary(driver, slack, f"{COMMAND} account=windows-push")
    assert "3/3 protected" in thread[-1]
    assert {p.body["properties"]["providerSpecificDetails"]["runAsAccountId"]
            for p in reprotect_posts(arm)} == {"2"}


@pytest.mark.slow
def test_forbidden_extended_information_warns_and_writes_go_unsigned(
        driver: SlackDriver, slack: SlackEmulator, arm: ArmEmulator) -> None:
    arm.fail_next("GET", r"/extendedInformation/vaultExtendedInfo$", 403, count=1000)
    shown, thread = run_to_summary(driver, slack)
    assert "vault-signing" in shown and "extendedInformation/read" in shown
    assert "3/3 protected" in thread[-1]
    assert all("agent-authentication" not in {k.lower() for k in p.headers}
               for p in reprotect_posts(arm))
