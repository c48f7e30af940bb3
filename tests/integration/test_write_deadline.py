"""A Site Recovery write is bounded as a whole, its token and vault key included.

The Azure SDK and azure-identity run against the ARM emulator and its App Service style
managed-identity endpoint, made slow: the write gives up within its credential budget, says
nothing was sent, and never sends the request once the token finally comes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from core.plan import ResolvedPlan
from gateways import write_deadline
from gateways.errors import SiteRecoveryError
from gateways.site_recovery import AzureSiteRecovery
from intake.parser import ReprotectRequest, parse
from intake.planning import Sources, resolve
from operations import REPROTECT
from sandbox.arm_emulator import ArmEmulator
from store.models import utcnow
from tests.integration.conftest import COMMAND, reprotect_posts

pytestmark = pytest.mark.slow  # a whole bot per test: `pytest -m "not slow"` leaves them out

BUDGET_S = 1.0


@pytest.fixture
def plan(arm: ArmEmulator) -> ResolvedPlan:
    """The standard plan, resolved by a gateway of its own (whose token is then cached)."""
    with gateway(arm) as asr:
        parsed = parse(COMMAND)
        assert isinstance(parsed, ReprotectRequest)
        resolved = resolve(parsed, Sources(asr), now=utcnow())
    assert isinstance(resolved, ResolvedPlan)
    return resolved


@contextmanager
def gateway(arm: ArmEmulator) -> Iterator[AzureSiteRecovery]:
    """A fresh gateway: no token cached, no vault key read yet."""
    env = arm.env()
    asr = AzureSiteRecovery(subscription_id=env["AZURE_SUBSCRIPTION_ID"],
                            resource_group=env["ASR_RESOURCE_GROUP"],
                            vault=env["ASR_VAULT_NAME"], arm_endpoint=env["AZURE_ARM_ENDPOINT"])
    try:
        yield asr
    finally:
        asr.close()


@pytest.fixture
def short_budget(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(write_deadline, "CREDENTIALS_S", BUDGET_S)
    yield


def test_a_slow_identity_endpoint_bounds_the_write_and_nothing_is_sent(
        arm: ArmEmulator, plan: ResolvedPlan, short_budget: None) -> None:
    """Issue 20 item 15: before, the write waited for the token as long as the identity
    endpoint took, outside the write's own timeouts."""
    item = plan.items[0].item_id
    arm.identity_latency_s = 4.0
    with gateway(arm) as asr:
        started = time.monotonic()
        with pytest.raises(SiteRecoveryError) as raised:
            asr.reprotect(item, REPROTECT.submission(plan, item).inputs)
        took = time.monotonic() - started
        assert took < BUDGET_S + 1.0, took  # not the 4 s the token takes
        assert "nothing was sent" in raised.value.what and raised.value.transient
        time.sleep(arm.identity_latency_s + 1.5)  # the token comes late: still not sent
    assert reprotect_posts(arm) == []

    arm.identity_latency_s = 0.0
    with gateway(arm) as asr:
        asr.reprotect(item, REPROTECT.submission(plan, item).inputs)
    assert len(reprotect_posts(arm)) == 1


def test_a_slow_identity_endpoint_within_the_budget_lets_the_write_go(
        arm: ArmEmulator, plan: ResolvedPlan, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(write_deadline, "CREDENTIALS_S", 5.0)
    arm.identity_latency_s = 1.0
    item = plan.items[0].item_id
    with gateway(arm) as asr:
        asr.reprotect(item, REPROTECT.submission(plan, item).inputs)
    assert len(reprotect_posts(arm)) == 1
