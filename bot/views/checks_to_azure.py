"""Words of the reprotect-to-Azure checks (`operations.to_azure_checks`), keyed (check id,
outcome key): what was found, and what to do about it."""

from __future__ import annotations

from bot.views.check_words import Words

_COMMIT = "`/failback commit plan=<recovery plan>`"
_HEALTH = "the vault, Site Recovery infrastructure → {where}: its health errors"

TO_AZURE: dict[tuple[str, str], Words] = {
    ("back-in-private-cloud", "ok"): Words(
        "Back in the private cloud with the failback committed: {vms!l}; Site Recovery allows "
        "reprotect to Azure (ReverseReplicate)."),
    ("back-in-private-cloud", "commit-first"): Words(
        "Failed back but not committed yet (Site Recovery still lists Commit): reprotect to "
        "Azure comes after the commit.",
        f"Commit the failback first ({_COMMIT}), then run `/reprotect` again."),
    ("back-in-private-cloud", "busy"): Words(
        "Another Site Recovery operation is running: {running!n}.",
        "Wait for that job to finish (Site Recovery jobs in the vault), then run `/reprotect` "
        "again."),
    ("back-in-private-cloud", "in-azure"): Words(
        "Runs in Azure (failed over, not failed back): it is reprotected to the private cloud, "
        "not to Azure.",
        "Leave it out with `vm=`, and reprotect it to the private cloud in its own request "
        "(`/reprotect plan=<recovery plan> master=<master target> vm=<name>`, or `appliance=`)."),
    ("back-in-private-cloud", "done"): Words(
        "Already protected to Azure: there is nothing to reprotect.",
        "Leave these VMs out with `vm=`."),
    ("back-in-private-cloud", "state"): Words(
        "Site Recovery does not allow reprotect to Azure in state {state!c} (ReverseReplicate "
        "not listed).",
        "Reprotect to Azure follows a committed failback: fail the VM back "
        "(`/failback plan=<recovery plan>`) and commit it, then run `/reprotect` again."),
    ("ps-azure", "ok"): Words("Process server {name!c} is healthy (health {health})."),
    ("ps-azure", "unhealthy"): Words(
        "Process server {name!c} is not healthy (health {health}, last heartbeat "
        "{minutes!a}).",
        "Fix it (" + _HEALTH.format(where="Configuration servers") + "), or pass `ps=` "
        "another one."),
    ("ps-azure", "stale"): Words(
        "Process server {name!c} has not sent a heartbeat for a while (last {minutes!a}).",
        "Check it runs and reaches Azure, or pass `ps=` another one."),
    ("ps-azure", "choose"): Words(
        "Several process servers are registered ({known!l}) and none runs on the configuration "
        "server: the bot cannot tell which one is in the private cloud.",
        "Pass `ps=` the process server in the private cloud that sends data to Azure."),
    ("ps-azure", "none"): Words(
        "The configuration server lists no process server (or there is no configuration "
        "server fabric) to send the VMs' data to Azure.",
        "Register a process server with the configuration server, then run `/reprotect` "
        "again."),
    ("master-unknown", "unknown"): Words(
        "{given!c} is not one of the configuration server's master targets or process "
        "servers: {known!l}. {suggest!d}",
        "Pass `master=` one of those, or leave it out (the process server is sent, as Azure "
        "PowerShell does)."),
    ("account-azure", "ok"): Words("Run-as account {name!c}."),
    ("account-azure", "choose"): Words(
        "The configuration server has several run-as accounts ({known!l}): the bot cannot "
        "tell which one reaches the VMs.",
        "Pass `account=` the one that can install or update the Mobility service on the VMs."),
    ("account-azure", "none"): Words(
        "The configuration server lists no run-as account; reprotect to Azure needs one.",
        "Add the account on the configuration server (Manage accounts), then run `/reprotect` "
        "again."),
    ("account-azure-rcm", "none"): Words("No run-as account named: none is sent (optional)."),
    ("account-azure-rcm", "unchecked"): Words(
        "Run-as account {given!c} is sent as given: the bot does not read the VMware site's "
        "run-as accounts, where Site Recovery looks it up (Azure PowerShell sends the "
        "account's id).",
        "Check the value is the run-as account's id on the VMware site, or leave `account=` "
        "out."),
    ("forward-policy", "ok"): Words(
        "Replication policy {name!c} (to Azure), mapped by {mapping!c}."),
    ("forward-policy", "none"): Words(
        "No {provider} replication policy is mapped to the fabric's container: reprotect to "
        "Azure sends the forward policy.",
        "Map the VMware → Azure replication policy to the fabric's container in the vault "
        "(Site Recovery infrastructure → Replication policies), then run `/reprotect` again."),
    ("appliance-unknown", "unknown"): Words(
        "{given!c} is not one of the appliances' process servers: {known!l}. {suggest!d}",
        "Pass `appliance=` one of those."),
    ("appliance-azure", "ok"): Words("Appliance {name!c}'s process server is healthy "
                                     "(health {health})."),
    ("appliance-azure", "unhealthy"): Words(
        "Appliance {name!c}'s process server is not healthy (health {health}, last heartbeat "
        "{minutes!a}).",
        "Fix it (" + _HEALTH.format(where="Replication appliances") + "), or pass "
        "`appliance=` another one."),
    ("appliance-azure", "stale"): Words(
        "Appliance {name!c}'s process server has not sent a heartbeat for a while (last "
        "{minutes!a}).",
        "Check the appliance runs and reaches Azure, or pass `appliance=` another one."),
}
