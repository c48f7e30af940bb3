"""Where each plan stands, read through the gateway and the real SDK over HTTPS from the ARM
emulator at every stage of the journey, both architectures: two list calls whatever the VM
count; and what `/reprotect status` and the request message tell a person in Slack."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest

from bot.views.journey import STAGE_WORDS
from core.journey import PlanJourney
from core.journey import Stage as Journey
from gateways.site_recovery import AzureSiteRecovery
from gateways.site_recovery_failback_models import ClassicPoint, ModernizedPoint
from intake.journey import read_stages
from sandbox.arm_emulator import ArmEmulator
from sandbox.arm_journey import Stage, journey_sample, plan_items, set_item_stage
from sandbox.arm_modernized import ModernizedWorld
from sandbox.local_bot import SIGNING_SECRET
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator
from tests.integration.conftest import CHANNEL, REQUESTER, BotFactory, wait_root
from tests.integration.test_arm_emulator_contract import wait_until

CLASSIC_PLAN, MODERN_PLAN = "finance-rp", "web-rp"
EXPECTED = {  # the emulator's stage → what the bot reads, (classic plan, modernized plan)
    None: (Journey.FAILED_OVER_TO_AZURE, Journey.FAILED_OVER_TO_AZURE),
    Stage.PROTECTED_TO_AVS: (Journey.PROTECTED_TO_AVS, Journey.PROTECTED_TO_AVS),
    Stage.FAILED_BACK: (Journey.FAILED_BACK, Journey.FAILED_BACK),
    Stage.COMMITTED: (Journey.COMMITTED, Journey.COMMITTED),
    Stage.CANCELLED: (Journey.PROTECTED_TO_AVS, Journey.PROTECTED_TO_AVS),
    Stage.PROTECTED_TO_AZURE: (Journey.PROTECTED_TO_AZURE, Journey.PROTECTED_TO_AZURE),
}


@pytest.fixture
def world(request: pytest.FixtureRequest) -> ModernizedWorld:
    keywords: dict[str, Any] = dict(getattr(request, "param", {}))
    stage = keywords.pop("stage", None)
    vms = keywords.pop("vms", 2)
    if stage is None:
        return ModernizedWorld.modernized_sample(
            vms, classic_vm_count=vms, plan_name=MODERN_PLAN, plan_friendly_name="Web tier",
            task_seconds=0.4, protect_delay_seconds=1.0)
    return journey_sample(stage, classic_vm_count=vms, vm_count=vms, task_seconds=0.4,
                          protect_delay_seconds=1.0, **keywords)


@pytest.fixture
def asr(arm: ArmEmulator) -> Iterator[AzureSiteRecovery]:
    """The bot's gateway to the emulated vault, as the bot configures it from its settings."""
    env = arm.env()
    with closing(AzureSiteRecovery(
            subscription_id=env["AZURE_SUBSCRIPTION_ID"], resource_group=env["ASR_RESOURCE_GROUP"],
            vault=env["ASR_VAULT_NAME"], arm_endpoint=env["AZURE_ARM_ENDPOINT"])) as gateway:
        yield gateway


def journeys(asr: AzureSiteRecovery) -> dict[str, PlanJourney]:
    stages = read_stages(asr)
    assert stages.explanation is None
    return {j.plan_name: j for j in stages.plans}


def reads(arm: ArmEmulator) -> list[str]:
    return [r.path for r in arm.requests if r.method == "GET" and "/oauth2" not in r.path
            and "token" not in r.path.lower()]


@pytest.mark.parametrize("world", [{"stage": s} for s in EXPECTED]
                         + [{"stage": Stage.FAILED_BACK, "seed": 7},
                            {"stage": Stage.PROTECTED_TO_AVS, "seed": 3}],
                         indirect=True, ids=lambda p: f"{p['stage']}-{p.get('seed')}")
def test_each_plan_reads_its_stage_in_two_lists(
        arm: ArmEmulator, world: ModernizedWorld, asr: AzureSiteRecovery,
        request: pytest.FixtureRequest) -> None:
    stage = request.node.callspec.params["world"]["stage"]
    before = len(reads(arm))
    plans = journeys(asr)
    classic, modernized = plans[CLASSIC_PLAN], plans[MODERN_PLAN]
    assert (classic.stage, modernized.stage) == EXPECTED[stage]
    assert (classic.architectures, modernized.architectures) == (("classic",), ("modernized",))
    assert classic.unknown == () and modernized.unknown == ()
    assert modernized.cancel_possible == (2 if stage is Stage.FAILED_BACK else 0)
    assert classic.cancel_possible == 0  # classic failback cannot be cancelled
    listed = reads(arm)[before:]
    assert len(listed) == 2, listed  # the plans and the vault's items: never a read per VM


@pytest.mark.parametrize("world", [{"stage": Stage.PROTECTED_TO_AVS, "vms": 30}],
                         indirect=True)
def test_reads_do_not_grow_with_the_vms(arm: ArmEmulator, world: ModernizedWorld,
                                        asr: AzureSiteRecovery) -> None:
    before = len(reads(arm))
    plans = journeys(asr)
    assert plans[CLASSIC_PLAN].total == plans[MODERN_PLAN].total == 30
    assert len(reads(arm)) - before <= 4  # two lists, one more page each past 50 items


@pytest.mark.parametrize("world", [{"stage": Stage.PROTECTED_TO_AVS}], indirect=True)
def test_stages_between_the_steps_and_mixed_plans(
        arm: ArmEmulator, world: ModernizedWorld, asr: AzureSiteRecovery) -> None:
    asr.plan_classic_failback(CLASSIC_PLAN, ClassicPoint.LATEST_TIME)
    asr.plan_modernized_failback(MODERN_PLAN, ModernizedPoint.CRASH_CONSISTENT)
    running = journeys(asr)
    assert running[CLASSIC_PLAN].stage is running[MODERN_PLAN].stage is Journey.FAILING_BACK
    wait_until(lambda: journeys(asr)[MODERN_PLAN].stage is Journey.FAILED_BACK, timeout=10)
    wait_until(lambda: journeys(asr)[CLASSIC_PLAN].stage is Journey.FAILED_BACK, timeout=10)

    asr.plan_commit(CLASSIC_PLAN)
    asr.plan_cancel(MODERN_PLAN)
    moving = journeys(asr)
    assert (moving[CLASSIC_PLAN].stage, moving[MODERN_PLAN].stage) == (
        Journey.COMMITTING, Journey.CANCELLING)
    wait_until(lambda: journeys(asr)[CLASSIC_PLAN].stage is Journey.COMMITTED, timeout=10)
    wait_until(lambda: journeys(asr)[MODERN_PLAN].stage is Journey.PROTECTED_TO_AVS, timeout=10)

    with world.lock:  # one VM of the modernized plan failed back on its own
        first = plan_items(world, world._find("replicationRecoveryPlans", MODERN_PLAN))[0]
        set_item_stage(world, first, Stage.FAILED_BACK)
    mixed = journeys(asr)[MODERN_PLAN]
    assert mixed.stage is None
    assert mixed.counts == ((Journey.PROTECTED_TO_AVS, 1), (Journey.FAILED_BACK, 1))


def test_status_and_request_message_show_each_plan_stage(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator,
        world: ModernizedWorld) -> None:
    """Before any step: both plans failed over to Azure; the status lists them after its
    acknowledgement and the request message says where the plan stood at preflight."""
    bot = start_bot()
    driver = SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)
    answer = driver.slash_command("status", user_id=REQUESTER, channel_id=CHANNEL).json()
    assert "Reading where each plan stands from Site Recovery" in answer["text"]
    slack.wait_for(lambda s: any("Where each plan stands" in str(c.params.get("text"))
                                 for c in s.ephemerals(REQUESTER)), timeout=10)
    text = next(str(c.params["text"]) for c in slack.ephemerals(REQUESTER)
                if "Where each plan stands" in str(c.params.get("text")))
    assert f"`Web tier` (2 VMs): {STAGE_WORDS[Journey.FAILED_OVER_TO_AZURE]}" in text
    assert "next: `/reprotect` to AVS" in text

    driver.slash_command('plan="Web tier" appliance=avs-appliance-01', user_id=REQUESTER,
                         channel_id=CHANNEL)
    root = wait_root(slack)
    assert ("Where the plan stands (at preflight): failed over to Azure, not protected"
            in str(root.blocks))
