"""Words of reprotect to Azure outside its checks: the direction in the request's title, the
private answer to a form that does not fit the plan's direction, and what "protected" means
once a VM replicates to Azure again."""

from __future__ import annotations

from bot.views.checks import spans
from bot.views.mrkdwn import code
from core.notices import PlanProblem

# Each direction's form, by architecture (placeholders shown as Slack shows `<…>`).
FORMS = {
    ("azure", "classic"): "ps=<process server> account=<run-as account> [master=<master target>]",
    ("azure", "modernized"): "appliance=<replication appliance> [account=<run-as account>]",
    ("avs", "classic"): "master=<master target server>",
    ("avs", "modernized"): "appliance=<replication appliance>",
}
WHERE = {"azure": "its VMs run in the private cloud again (failback committed), so reprotect "
                  "goes to Azure",
         "avs": "its VMs run in Azure (failed over), so reprotect goes to the private cloud"}
NAMES = {("azure", "classic"): "process servers", ("azure", "modernized"): "appliances",
         ("avs", "classic"): "master targets", ("avs", "modernized"): "appliances"}
ARCHITECTURE = {"classic": "classic", "modernized": "modernized"}

TITLE = "reprotect *to Azure* (the VMs run in the private cloud again)"
# The thread's reply when VMs are protected (`bot.views.thread.AFTER_DONE`).
AFTER_DONE = {"reprotect-to-azure": (
    "it replicates to Azure again, protected against the next disaster.",
    "Each of these {count} VMs replicates to Azure again, {word}:",
    "The failback is complete.")}


def wrong_direction(p: PlanProblem) -> str:
    """The form typed does not fit the plan's direction: which form does, and what to type."""
    form = (p.right, p.architecture)
    shape = FORMS.get(form, "")
    typed = code(f"{p.given}={p.value}") if p.value else code(p.given)
    command = f'/reprotect plan="{p.plan}" {shape}'
    return (f"Plan {code(p.plan)} uses the {ARCHITECTURE.get(p.architecture, 'unknown')} "
            f"architecture and {WHERE.get(p.right, 'its direction is unknown')}: it takes "
            f"{code(shape)}, not {typed}. Its {NAMES.get(form, 'names')}: "
            f"{spans(p.names, empty='none registered')}. "
            f"Type: {code(command)}.")
