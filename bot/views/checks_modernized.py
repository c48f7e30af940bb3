"""Words of the modernized architecture's checks (replication appliance): the outcomes of
`providers.modernized.checks`, `providers.modernized.target_checks` and the modernized
provider's vCenter result, keyed (check id, outcome key)."""

from __future__ import annotations

from bot.views.check_words import AGAIN, ALLOWED, BUSY, Words, unseen

OVERVIEW = "failover-failback-overview-modernized.md"
_CONFIRM = ("in the vault, Site Recovery infrastructure → Replication appliances, the appliance "
            "and each of its services show healthy with a recent heartbeat.")
_SERVICE = "appliance {appliance!c}'s {service!k}"

PLAN: dict[tuple[str, str], Words] = {
    ("architecture", "ok"): Words(
        "Modernized architecture: the plan's VMs replicate through a replication appliance "
        "(InMageRcm)."),
    ("architecture", "mixed"): Words(
        "Plan {plan!c} mixes both architectures: {classic!l} replicate through a configuration "
        "server (classic), {modernized!l} through a replication appliance (modernized); one "
        "reprotect input cannot serve both.",
        "Reprotect them in two requests: {classic_command!c} and {modernized_command!c}."),
    ("architecture", "unknown"): Words(
        "The plan's architecture is unknown: replication provider {providers!l}, neither "
        "classic (InMageAzureV2) nor modernized (InMageRcm).",
        "Check the VMs' replication in the vault (Replicated items → the VM → Properties); "
        "only VMware VMs failed over to Azure can be reprotected to the private cloud."),
    ("architecture", "no-items"): Words(
        "The plan's architecture is unknown: it has no replicated items.",
        "Check the VMs' replication in the vault (Replicated items → the VM → Properties); "
        "only VMware VMs failed over to Azure can be reprotected to the private cloud."),
    ("architecture", "classic"): Words(
        "Every VM of the plan replicates through a configuration server (classic "
        "architecture), not a replication appliance.",
        "Use the classic form: {command!c}."),
    ("reprotect-allowed-rcm", "ok"): ALLOWED,
    ("reprotect-allowed-rcm", "done"): Words(
        "Already reprotected: replicating back to the private cloud ({progress!g}); there is "
        "nothing to reprotect.",
        "Leave these VMs out with `vm=`, or go on with the planned failover to the private "
        "cloud in the Azure portal."),
    ("reprotect-allowed-rcm", "busy"): BUSY,
    ("reprotect-allowed-rcm", "state"): Words(
        "Site Recovery does not allow reprotect in state {state!c}.",
        "Reprotect needs a committed failover with the Azure VM still present: commit the "
        "failover; a migrated, moved or deleted Azure VM cannot be reprotected."),
    ("agent-registered-rcm", "ok"): Words(
        "Every VM's mobility agent re-registered with Site Recovery after failover."),
    ("agent-registered-rcm", "not-registered"): Words(
        "The Azure VM's mobility agent has not registered with Site Recovery yet "
        "(isAgentRegistrationSuccessfulAfterFailover false). It registers up to 15 minutes "
        "after the VM boots in Azure: after approval the bot waits for it, says so in the "
        "thread, and sends the reprotect when it registers, with no second request.",
        "Nothing to do if the failover was minutes ago. If it does not register, check the "
        "Azure VM runs, its mobility agent services run and reach Site Recovery's URLs, and "
        "resolve the VM's critical health error (Replicated items → the VM)."),
    ("agent-registered-rcm", "not-reported"): Words(
        "Site Recovery does not report whether the mobility agent re-registered after failover "
        "(isAgentRegistrationSuccessfulAfterFailover missing).",
        "Confirm by hand: the VM shows no critical health error in the vault (Replicated items "
        "→ the VM); a reprotect of an unregistered VM fails."),
    ("failback-location", "ok"): Words(
        "Original location for {vms!l}: the VM still exists on premises, only changes flow "
        "back (static IP addresses are not kept; disks added in Azure do not come back)."),
    ("failback-location", "alternate"): Words(
        "Alternate location: the VM no longer exists on premises, so failback creates it anew "
        "with a full copy of its disks from Azure; static IP addresses are not kept, fstab and "
        "LVM configuration change.",
        "Expect a longer initial replication and plan the VM's IP addresses again."),
    ("failback-location", "unknown"): Words(
        "Site Recovery does not say whether the VM still exists on premises "
        "(discoveredVmDetails.isDeleted missing): original location (only changes flow back) "
        "or alternate location (full copy) is not known.",
        "Check in vCenter whether the source VM still exists; either way, static IP addresses "
        "are not kept."),
    ("failback-location", "other-vcenter"): Words(
        "The VM was discovered in another vCenter than appliance {appliance!c}'s ({vcenter!c}): "
        "failback goes to the original vCenter only (concepts-types-of-failback.md, classic "
        "wording).",
        "Pick an appliance of the VM's vCenter with `appliance=`."),
}

TARGET: dict[tuple[str, str], Words] = {
    ("appliance-known", "ok"): Words(
        "Replication appliance {appliance!c} is registered in the vault."),
    ("appliance-known", "no-fabric"): Words(
        "The vault has no replication appliance fabric (InMageRcm): no appliance can receive "
        "the failback.",
        "Deploy a replication appliance in the private cloud and register it with the vault, "
        + AGAIN),
    ("appliance-known", "unknown"): Words(
        "Replication appliance {wanted!c} is not registered in the vault. Registered: "
        "{registered!l}. {suggest!d}",
        "Pass `appliance=` one of the registered names (Site Recovery infrastructure → "
        "Replication appliances), or register the appliance first."),
    ("appliance-healthy", "ok"): Words(
        "Replication appliance {appliance!c} and its {services} other services are healthy."),
    ("appliance-healthy", "health-unseen"): unseen(
        "Appliance {appliance!c}'s {service!k} health", _CONFIRM),
    ("appliance-healthy", "no-heartbeat"): Words(
        "Site Recovery reports no heartbeat of " + _SERVICE + ".",
        "Confirm by hand: " + _CONFIRM),
    ("appliance-healthy", "unhealthy"): Words(
        "Replication appliance {appliance!c} is not healthy: {problems!q}.",
        "Start the appliance's services and check its connection to Azure (Site Recovery "
        "infrastructure → Replication appliances shows each one's health); heartbeats must be "
        "under 15 minutes old. Or pass `appliance=` a healthy one."),
    ("appliance-healthy", "load"): Words(
        "Appliance {appliance!c}'s {service!k} {status_of} is {status}.",
        "Heavy load slows failback: free the appliance's resources, or pass `appliance=` a "
        "separate one for failback (as Microsoft recommends for heavy traffic)."),
    ("appliance-healthy", "load-unseen"): unseen(
        "Appliance {appliance!c}'s {service!k} {status_of}", _CONFIRM),
    ("appliance-datastore", "ok"): Words(
        "Replication appliance {appliance!c} reaches {datastores!l}."),
    ("appliance-datastore", "none"): Words(
        "Replication appliance {appliance!c} reaches no datastore (accessibleDatastores is "
        "empty): there is nowhere to write the VM.",
        "Give the appliance's ESXi host read/write access to a VMFS or vSAN datastore, wait "
        "for the appliance's discovery, or pass `appliance=` another one."),
    ("appliance-datastore", "unreachable"): Words(
        "Datastore {datastore!c} is not one replication appliance {appliance!c} can reach "
        "({reachable!l}). {suggest!d}",
        "Pass `datastore=` one the appliance reaches, or give its ESXi host read/write access "
        "to this one."),
    ("appliance-datastore", "stranded"): Words(
        "Original location: the VM still exists on premises, but replication appliance "
        "{appliance!c} cannot reach its datastore {datastores!l}.",
        "Pass `appliance=` an appliance that reaches the VM's datastore, or give this "
        "appliance's ESXi host read/write access to it."),
    ("appliance-datastore", "elsewhere"): Words(
        "Original location: the VM still exists on premises on another datastore than "
        "{given!c}; Site Recovery selects the VM's own datastore for original location, "
        "so this value may be ignored.",
        "Leave `datastore=` out to send each VM's own datastore."),
    ("appliance-datastore", "not-in-vcenter"): Words(
        "Appliance VM {appliance!c} was not read in vCenter, so the read/write mount of "
        "{datastores!l} on its ESXi host and their type (VMFS or vSAN) were not checked.",
        "Check in vCenter (the appliance VM's host → Datastores) that they are mounted "
        "read/write; with VCENTER_URL set the bot checks it, and the vCenter results say why "
        "it could not."),
    ("appliance-datastore", "unseen-in-vcenter"): Words(
        "Datastore {datastore!c} or the appliance's host is not in vCenter under that name, so "
        "its read/write mount was not checked.",
        "Check in vCenter that the appliance's host mounts it read/write."),
    ("appliance-datastore", "not-writable"): Words(
        "Datastore {datastore!c} is {state} on appliance host {host!c}: the appliance needs "
        "read and write access.",
        "Mount the datastore read/write on the appliance's ESXi host, or pass `datastore=` one "
        "that is."),
    ("appliance-datastore", "vcenter-type"): Words(
        "vCenter reports datastore {datastore!c} as {type!t}: classic failback takes VMFS or "
        "vSAN only (NFS is not supported); Microsoft does not say whether the appliance does.",
        "Prefer a VMFS or vSAN datastore with `datastore=`."),
    ("appliance-disks", "ok"): Words(
        "Replication appliance {appliance!c}: {disks} of {most} disks."),
    ("appliance-disks", "too-many"): Words(
        "Replication appliance {appliance!c} would hold {disks} disks ({plan} from this plan, "
        "{held} already failing back through it): at most {most} are supported.",
        "Reprotect fewer VMs at once (`vm=`), or pass `appliance=` a separate appliance for "
        "failback."),
    ("appliance-disks", "held-unknown"): Words(
        "This plan brings {plan} disks to replication appliance {appliance!c}, which already "
        "protects {items} item(s) whose disks were not counted: at most {most} are supported.",
        "Check the appliance's protected items in the vault; if the total passes {most} disks, "
        "use a separate appliance for failback."),
    ("appliance-vm", "ok"): Words(
        "Appliance VM {name!c} has no Storage vMotion in vCenter's events; keep it out of "
        "Storage vMotion and Storage DRS after reprotect."),
    **{("appliance-vm", key): Words(
        "Replication appliance {appliance!c} " + found + ", so its datastore mounts and "
        "Storage vMotions were not checked.",
        "Check the appliance VM in vCenter by hand, or name the appliance VM as Site Recovery "
        "names the appliance.")
       for key, found in (("ambiguous", "matches several vCenter VMs: {candidates!l}"),
                          ("not-found", "is not in vCenter by VM name, host name or IP "
                                        "address"))},
    ("appliance-vm", "events-unread"): Words(
        "Could not read vCenter's events of appliance VM {name!c} ({unreadable!j}), so a "
        "Storage vMotion of it was not ruled out.",
        "Check in vCenter (appliance VM → Monitor → Events) that it is not migrated to another "
        "datastore, or let VCENTER_USER read its events."),
    ("appliance-vm", "storage-vmotion"): Words(
        "Appliance VM {name!c} was moved by Storage vMotion {moves!m}. Storage vMotion of the "
        f"appliance is not supported after reprotect ({OVERVIEW}): a move after the failback "
        "started breaks it.",
        "Exclude the appliance VM from Storage vMotion and Storage DRS before approving; if it "
        "already serves failback, check those VMs' replication health in the vault."),
    ("failback-policy-rcm", "ok"): Words(
        "Failback policy {policy!c} is mapped ({mapping!c})."),
    ("failback-policy-rcm", "none"): Words(
        "No failback policy (InMageRcmFailback) is mapped from the appliance fabric's "
        "container: the reprotect goes without policyId, and Microsoft does not document "
        "whether Site Recovery then creates one or refuses.",
        "Azure PowerShell reprotects with an existing failback mapping: create the replication "
        "policy (its failback policy comes with it) and associate it with the appliance's "
        "container, " + AGAIN),
    ("failback-policy-rcm", "mapping-unseen"): unseen(
        "The state of failback mapping {mapping!c}",
        "in the vault, Site Recovery infrastructure → Replication policies → {policy!c} shows "
        "the appliance's container associated."),
    ("log-storage", "ok"): Words("Log storage: {accounts!l}."),
    ("log-storage", "unknown"): Words(
        "{given!c} is neither a storage account's ARM id nor a log storage account of the "
        "plan's disks ({accounts!l}). {suggest!d}",
        "Pass `logstorage=` the ARM id (/subscriptions/…/providers/Microsoft.Storage/"
        "storageAccounts/<name>) of a storage account in the VMs' Azure region, or one of the "
        "names above."),
    ("log-storage", "none"): Words(
        "Site Recovery lists no log storage account on the VM's disks, and the bot does not "
        "create one.",
        "Pass `logstorage=` the ARM id of a storage account in the VM's Azure region (the "
        "portal creates one for a first reprotect)."),
    ("log-storage", "several"): Words(
        "The VM's disks use several log storage accounts ({accounts!l}); the bot sends the one "
        "most of them use.",
        "Pass `logstorage=` to choose another."),
    ("log-storage", "not-forward"): Words(
        "{account!c} is not the log storage account of the forward replication; it must be in "
        "the VMs' Azure region, which the bot does not check.",
        "Check the storage account's region in the Azure portal."),
    ("appliance-network", "reaches-azure"): Words(
        "The replication appliance reaches Azure as for forward protection",
        "Failback needs no other connection or port (failover-failback-overview-modernized.md):"
        " the appliance's outbound 443 to the Site Recovery and storage URLs of the modernized "
        "architecture."),
    ("appliance-network", "azure-vm-reaches"): Words(
        "The failed-over Azure VMs are running, with their mobility agent services started",
        "The agent must reach the modernized architecture's URLs from the Azure network "
        "(vmware-azure-tutorial-failover-failback-modernized.md)."),
    ("vcenter-connected", "modernized-not-configured"): Words(
        "{what}: the appliance VM's datastore mounts and Storage vMotions were not checked.",
        "{fix}"),
    ("vcenter-connected", "modernized-unread"): Words(
        "{what}{why!w} So the appliance's datastore mounts could not be checked.", "{fix}"),
    ("vcenter-connected", "modernized-unread-no-fix"): Words(
        "{what}{why!w} So the appliance's datastore mounts could not be checked.",
        "Fix vCenter access, " + AGAIN),
}

MODERNIZED = PLAN | TARGET
