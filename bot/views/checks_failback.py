"""Words of the failback preflight's outcomes (`providers.failback_checks`), keyed (check id,
outcome key): what each VM waits for before Site Recovery lists its failover."""

from __future__ import annotations

from bot.views.check_words import Words

_AGAIN = "then run `/failback` again."
_ITEM = ("Site Recovery → Replicated items → the VM: its status and the operations its menu "
         "offers")

FAILBACK: dict[tuple[str, str], Words] = {
    ("failback-architecture", "classic"): Words(
        "Classic architecture: the VMs replicate from Azure to the private cloud through the "
        "configuration server (InMage); failback is an unplanned failover from Azure on the "
        "recovery plan."),
    ("failback-architecture", "modernized"): Words(
        "Modernized architecture: the VMs replicate from Azure to the private cloud through "
        "the replication appliance (InMageRcmFailback); failback is a planned failover."),
    ("failback-architecture", "no-items"): Words(
        "The plan has no replicated items: there is nothing to fail back.",
        "Check the recovery plan's items in the vault (Recovery Plans → the plan)."),
    ("failback-architecture", "mixed"): Words(
        "The plan's VMs do not all replicate back to the private cloud through one "
        "architecture: replication providers {providers!l}; one failover input cannot serve "
        "them all.",
        "Reprotect every VM to the private cloud first (`/reprotect`), or split the plan by "
        "architecture, " + _AGAIN),
    ("failback-ready", "ok"): Words(
        "Site Recovery lists {operation!c} for every VM: each is ready to fail back."),
    ("failback-ready", "failed-back"): Words(
        "Already failed back: Site Recovery lists `Commit` for it, so it runs in the private "
        "cloud and waits for its commit.",
        "Commit it (`/failback commit plan=…`), or leave it out with `vm=`."),
    ("failback-ready", "running"): Words(
        "A Site Recovery job is running on it ({scenarios!l}); {operation!c} is not listed "
        "until it ends.",
        "Wait for that job to finish (Site Recovery jobs in the vault), " + _AGAIN),
    ("failback-ready", "not-reprotected"): Words(
        "Not replicating back to the private cloud: it is not reprotected yet (Site Recovery "
        "lists {allowed!l}, not {operation!c}).",
        "Reprotect it to the private cloud first (`/reprotect`) and wait until it is "
        "protected, " + _AGAIN),
    ("failback-ready", "resyncing"): Words(
        "Still replicating back to the private cloud (protection state {states!l}): Site "
        "Recovery does not list {operation!c} before replication is done.",
        "Wait until " + _ITEM + " shows it protected, " + _AGAIN),
    ("failback-ready", "no-point"): Words(
        "No recovery point yet: Site Recovery needs at least one per VM to fail back, and "
        "does not list {operation!c}.",
        "Wait for the first recovery point (" + _ITEM + "), " + _AGAIN),
    ("failback-ready", "not-listed"): Words(
        "Site Recovery does not list {operation!c} for it (it lists {allowed!l}; protection "
        "state {states!l}).",
        "Check " + _ITEM + "; Site Recovery's own state decides, " + _AGAIN),
    ("recovery-point", "listed"): Words(
        "Latest recovery point of each VM: {points!e}."),
    ("appliance-power", "not-off"): Words(
        "The replication appliance reports its VM in the private cloud with power status "
        "{raw!l}, not {expected!o}; Site Recovery does not document these values, so it does "
        "not block. The VM must stay off until failback starts it.",
        "In vCenter, check that the VM is powered off (set VCENTER_URL and the bot checks it)."),
    ("avs-vm-stays-off", "ok"): Words(
        "Every VM is powered off in the private cloud (vCenter {host!c}), as it must stay "
        "until failback starts it."),
    ("avs-vm-stays-off", "powered-on"): Words(
        "Powered on in the private cloud (vCenter {host!c}): the VM must stay off until "
        "failback, which starts it with the disks replication wrote; changes made in it "
        "are lost.",
        "Power it off in vCenter and leave it off, " + _AGAIN),
    ("avs-vm-stays-off", "not-found"): Words(
        "No VM in vCenter {host!c} answers to it (by UUID or name): the bot cannot tell "
        "whether it is off. Site Recovery creates it there if it is gone (alternate "
        "location).",
        "If it exists under another name, check it is powered off."),
    ("avs-vm-stays-off", "unread"): Words(
        "vCenter {host!c} could not be read: whether each VM is powered off in the private "
        "cloud is not checked.",
        "In vCenter, check that each VM of the plan is powered off; it must stay off until "
        "failback starts it."),
}
