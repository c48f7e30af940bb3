"""The values the audit records per VM: each VM's own datastore and log storage where the
architecture sends them per VM, the plan's values otherwise, always with their ids."""

from __future__ import annotations

from gateways.rcm_models import RcmReprotectInput
from operations import REPROTECT
from tests.support.modernized import resolved_plan


def test_a_modernized_vm_carries_its_own_datastore_and_log_storage() -> None:
    plan = resolved_plan(3, varied=True)
    for number, item in enumerate(plan.items):
        values = plan.labelled(REPROTECT.values(plan), item.item_id)
        submission = REPROTECT.submission(plan, item.item_id)
        assert submission.target == item.item_id, "one write per protected item"
        sent = submission.inputs
        assert isinstance(sent, RcmReprotectInput)
        assert set(values) == {"plan", "vm", "appliance", "datastore", "log_storage",
                               "policy"}, "no classic value, none left out"
        assert values["vm"] == f"{item.vm_name} ({item.item_id})"
        assert values["plan"] == f"Finance tier 1 ({plan.plan_id})"
        assert values["appliance"] == f"avs-appliance-01 ({sent.reprotect_agent_id})"
        assert values["datastore"] == sent.datastore_name, "a datastore's name is its id"
        assert values["log_storage"] == f"logs{number:03d} ({sent.log_storage_account_id})"
        assert values["policy"] == f"rcm-policy-failback ({sent.policy_id})"
