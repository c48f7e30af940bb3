"""The words of the failback's bodiless steps, commit and cancel: their readiness checks
(`operations.steps.readiness`, keyed (check id, outcome key) as every catalog of
`bot.views.checks`), what their request message says before anyone approves, and the private
answer to a cancel a classic plan cannot take."""

from __future__ import annotations

from bot.views.check_words import Words
from bot.views.mrkdwn import code

_STATE = "(it lists {allowed!l})"
_BUSY_FIX = "Wait for that job to finish (Site Recovery jobs in the vault), then run {again} again."
_LOOK = "Check the VM in the vault (Replicated items → the VM): "


def _readiness(check: str, step: str, again: str, *, not_failed_back: Words,
               committed: Words, not_listed_fix: str) -> dict[tuple[str, str], Words]:
    return {
        (check, "ok"): Words(f"Site Recovery offers {step} for every VM ({{count}})."),
        (check, "busy"): Words(
            f"{{vm!c}} is busy: Site Recovery runs {{scenario!c}} on it {_STATE}.",
            _BUSY_FIX.format(again=code(again))),
        (check, "not-failed-back"): not_failed_back,
        (check, "committed"): committed,
        (check, "not-listed"): Words(
            f"{{vm!c}} is not ready: Site Recovery does not offer {step} for it {_STATE}.",
            _LOOK + not_listed_fix),
    }


CATALOG: dict[tuple[str, str], Words] = _readiness(
    "commit-ready", "Commit", "/failback commit",
    not_failed_back=Words(
        f"{{vm!c}} is not failed back: Site Recovery offers a failback for it, not Commit "
        f"{_STATE}.",
        "Fail it back first with `/failback`; commit once its failback succeeded."),
    committed=Words(
        f"{{vm!c}} is already committed: Site Recovery offers reprotect to Azure for it, not "
        f"Commit {_STATE}.",
        "Leave it out with `vm=`, or go on: reprotect it to Azure with `/reprotect`."),
    not_listed_fix="its failback must have succeeded and no job may run on it; then run "
                   "`/failback commit` again.",
) | _readiness(
    "cancel-ready", "Cancel failover", "/failback cancel",
    not_failed_back=Words(
        f"{{vm!c}} has no failback to cancel: Site Recovery offers a failback for it {_STATE}.",
        "Nothing to cancel for it: leave it out with `vm=`."),
    committed=Words(
        f"{{vm!c}}'s failback is committed, so it cannot be cancelled: its VM in Azure is "
        f"removed {_STATE}.",
        "Go on instead: reprotect it to Azure with `/reprotect`."),
    not_listed_fix="a planned failover must have run and not be committed, and no job may "
                   "run on it; then run `/failback cancel` again.",
)

# How each step's request is titled, and what it tells approvers above what is sent.
TITLES = {"commit": "Commit failback", "commit-vm": "Commit failback",
          "cancel": "Cancel failback", "cancel-vm": "Cancel failback"}
COMMIT_WARNING = (
    ":warning: *Committing removes the VMs in Azure.* Site Recovery deletes the failed-back "
    "VMs in Azure: this cannot be undone, and a failback cannot be cancelled after it. "
    "Approve only once the VMs run correctly in the private cloud.")
CANCEL_NOTE = (
    ":leftwards_arrow_with_hook: Cancelling starts the VMs in Azure again and resumes "
    "replication to the private cloud; the VMs in the private cloud are turned off. "
    "The failback can be run again later.")
WARNINGS = {"commit": COMMIT_WARNING, "commit-vm": COMMIT_WARNING,
            "cancel": CANCEL_NOTE, "cancel-vm": CANCEL_NOTE}

# What a VM done means, as `bot.views.thread.AFTER_DONE` reads it: (for one VM, the head for
# several, what comes next); and what a step's summary says comes next.
REPROTECT_NEXT = ("Next: reprotect them to Azure with `/reprotect`, so they are protected "
                  "against the next disaster.")
AFTER_COMMIT = ("its VM in Azure is removed and it runs in the private cloud.",
                "These {count} VMs are {word} (their VMs in Azure are removed):",
                REPROTECT_NEXT)
AFTER_CANCEL = ("it runs in Azure again and replicates to the private cloud.",
                "These {count} VMs are {word} and run in Azure again:",
                "The failback can be run again with `/failback`.")
AFTER_DONE = {"commit": AFTER_COMMIT, "commit-vm": AFTER_COMMIT,
              "cancel": AFTER_CANCEL, "cancel-vm": AFTER_CANCEL}
SUMMARY_NEXT = {"commit": REPROTECT_NEXT, "commit-vm": REPROTECT_NEXT}


def not_cancellable(plan: str, architecture: str) -> str:
    """A cancel on a plan whose architecture cannot cancel a failback."""
    return (f"Plan {code(plan)} uses the {architecture} architecture, whose failback cannot "
            "be cancelled: Microsoft documents cancel for the modernized architecture only "
            "(\"In Legacy architecture, you cannot cancel and retry the failback\"). Nothing "
            "was sent to Site Recovery. Commit the failback with "
            f"{code(f'/failback commit plan={plan}')} once the VMs run in the private cloud.")
