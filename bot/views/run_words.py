"""Each VM's run in words, and links to it in the Azure portal.

The progress message, the request message's header and the summary read the runs as they
are when the message is sent (`store.models.Run`), so they always show where each VM stands
now, never a log of API states. Portal links use the portal's deep link to a resource by its
ARM id (`https://portal.azure.com/#@/resource/<id>`) on the portal of the cloud the bot talks
to; for an endpoint whose portal is unknown (Azure Stack Hub, the emulators) no link is drawn.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote, urlsplit

from bot.views.i18n import _
from bot.views.mrkdwn import code, escape
from store.models import Run, RunStatus

# Resource Manager host -> the portal of the same cloud (Azure PowerShell's environments:
# AzureCloud, AzureUSGovernment, AzureChinaCloud).
PORTALS = {"management.azure.com": "https://portal.azure.com",
           "management.usgovcloudapi.net": "https://portal.azure.us",
           "management.chinacloudapi.cn": "https://portal.azure.cn"}
# The form `tracking.observe.task_text` writes: "<task> (<state>), <done>/<total> tasks done".
TASK = re.compile(r"^(?:(?P<name>.+) \((?P<state>[^()]*)\), )?(?P<done>\d+)/(?P<total>\d+) "
                  r"tasks done$")
# How many VMs a failure list in a header or summary names before "and N more".
NAMED_MOST = 12


def portal_for(arm_endpoint: str) -> str | None:
    """The Azure portal of the cloud whose Resource Manager is `arm_endpoint`; None when
    unknown (no link is better than one into the wrong cloud)."""
    host = (urlsplit(arm_endpoint).hostname or "").lower()
    return PORTALS.get(host)


def portal_link(portal: str | None, arm_id: str | None, label: str) -> str:
    """`<url|label>` opening the resource in the portal; "" without a portal or an id. The id
    comes from Azure: percent-encoded, so it cannot end the link or inject markup."""
    if not portal or not arm_id or not arm_id.startswith("/"):
        return ""
    return f"<{portal}/#@/resource{quote(arm_id, safe='/-_.~')}|{escape(label)}>"


def job_arm_id(run: Run) -> str | None:
    """The job's ARM id: as stored, or under the vault that holds the run's item."""
    if not run.job_id:
        return None
    if run.job_id.startswith("/"):
        return run.job_id
    at = run.item_id.lower().find("/replicationfabrics/")
    return f"{run.item_id[:at]}/replicationJobs/{run.job_id}" if at > 0 else None


def links(run: Run, portal: str | None) -> str:
    """"job · item": a run's links into the portal, or "" when there is nothing to link."""
    return " · ".join(link for link in (portal_link(portal, job_arm_id(run), _("job")),
                                        portal_link(portal, run.item_id, _("item"))) if link)


def _task(text: str) -> str:
    """Site Recovery's current task, without its API state spelling."""
    found = TASK.match(text)
    if found is None:
        return escape(text)
    step = min(int(found["done"]) + 1, int(found["total"]))
    name = found["name"]
    return (_("{task} (step {step} of {total})") if name else _("step {step} of {total}")).format(
        task=escape(name or ""), step=step, total=found["total"])


def codes(run: Run) -> list[str]:
    """The error codes Site Recovery gave for a failed run."""
    found = run.error.get("codes") or ([run.error["code"]] if run.error.get("code") else [])
    return [str(c) for c in found if c]


def state(run: Run, done_word: str) -> str:
    """Where one VM stands, in words: "replicating 40 %", "failed (code 8038)"…"""
    match run.status:
        case RunStatus.PROTECTED:
            return done_word
        case RunStatus.FAILED:
            if run.error.get("state") == "Cancelled":
                return _("cancelled")
            found = codes(run)
            return _("failed (code {codes})").format(codes=", ".join(escape(c) for c in found)) \
                if found else _("failed")
        case RunStatus.TIMED_OUT:
            return _("timed out")
        case RunStatus.QUEUED:
            return _("queued")
        case RunStatus.SUBMITTING:
            return _("being sent to Site Recovery")
        case RunStatus.WAITING_AGENT:
            return _("waiting for its agent to register")
        case RunStatus.RESTARTING:
            return _("restarting its job")
        case RunStatus.SYNCING:
            percent = run.flags.get("percent")
            if isinstance(percent, int | float):
                return _("initial replication {percent} %").format(percent=f"{percent:g}")
            health = run.flags.get("health")
            if health:
                return _("job done, waiting until {word} (health errors {health})").format(
                    word=done_word, health=escape(str(health)))
            return _("job done, waiting until {word}").format(word=done_word)
    if run.job_state == "Suspended":
        return _("suspended: waits for a manual action")
    if run.job_state == "NotStarted" or not run.job_state:
        return _("job starting")
    return _("running: {task}").format(task=_task(run.job_task)) if run.job_task \
        else _("running")


def vm_line(run: Run, done_word: str, portal: str | None) -> str:
    """`app-01` — replicating 40 % (job · item)"""
    shown = links(run, portal)
    return f"{code(run.vm_name)} — {state(run, done_word)}" + (f" ({shown})" if shown else "")


def ended_badly(runs: Sequence[Run]) -> list[Run]:
    return [r for r in runs if r.status in (RunStatus.FAILED, RunStatus.TIMED_OUT)]


def named(runs: Sequence[Run], most: int = NAMED_MOST) -> str:
    """The runs' VMs as code spans, "and N more" past `most`."""
    shown = ", ".join(code(r.vm_name) for r in runs[:most])
    return _("{names} and {count} more").format(names=shown, count=len(runs) - most) \
        if len(runs) > most else shown


def tally(runs: Sequence[Run], done_word: str) -> str:
    """"2/3 protected · 1 failed · 0 running": the runs counted by outcome."""
    done = sum(1 for r in runs if r.status == RunStatus.PROTECTED)
    failed = sum(1 for r in runs if r.status == RunStatus.FAILED)
    timed_out = sum(1 for r in runs if r.status == RunStatus.TIMED_OUT)
    going = len(runs) - done - failed - timed_out
    parts = [f"{done}/{len(runs)} {done_word}"]  # the operation's word: the contract's token
    parts += [_("{count} failed").format(count=failed)] if failed else []
    parts += [_("{count} timed out").format(count=timed_out)] if timed_out else []
    parts += [_("{count} in progress").format(count=going)] if going else []
    return " · ".join(parts)
