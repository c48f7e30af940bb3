"""Words of the classic architecture's checks (configuration server, master target): the
outcomes of `providers.classic.preflight`, `.infrastructure_checks`, `.vcenter_checks`
and `.vcenter_host_checks`, keyed (check id, outcome key)."""

from __future__ import annotations

from bot.views.check_words import AGAIN, ALLOWED, BUSY, Words, unhealthy, unseen

_PS_HOW = ("in the vault, Site Recovery infrastructure → Configuration servers → the server → "
           "Process servers: the process server shows healthy with a recent heartbeat.")
_UNSIGNED = ("so reprotects go unsigned, as the Python SDK and the az CLI send them; Azure "
             "PowerShell signs them (Agent-Authentication). If Site Recovery refuses them:")

PREFLIGHT: dict[tuple[str, str], Words] = {
    ("vm-known", "ok"): Words("Every VM is known to the configuration server."),
    ("vm-known", "foreign"): Words(
        "Not replicated through this configuration server (failback would fail).",
        "Reprotect only VMs protected VMware-to-Azure through this configuration server; check "
        "the VM's replication settings."),
    ("azure-to-vmware", "ok"): Words(
        "Every VM is an InMageAzureV2 item active in Azure, as Azure PowerShell requires."),
    ("azure-to-vmware", "provider"): Words(
        "Replication provider {providers!l}, not InMageAzureV2: only a VMware VM replicated to "
        "Azure through the configuration server fails back to VMware.",
        "Leave these VMs out with `vm=`; reprotect them with the tool of their own replication "
        "(Azure PowerShell refuses them with -AzureToVMware too)."),
    ("azure-to-vmware", "not-in-azure"): Words(
        "Not active in Azure (activeLocation {locations!l}, not Recovery): there is nothing to "
        "fail back from Azure.",
        "Fail the VM over to Azure and commit first, or leave it out with `vm=`."),
    ("reprotect-allowed", "ok"): ALLOWED,
    ("reprotect-allowed", "done"): Words(
        "Already reprotected: replicating back to the private cloud (`Protected`); there is "
        "nothing to reprotect.",
        "Leave these VMs out with `vm=`, or go on with failback (a planned failover to the "
        "private cloud) in the Azure portal."),
    ("reprotect-allowed", "busy"): BUSY,
    ("reprotect-allowed", "state"): Words(
        "Site Recovery does not allow reprotect in state {state!c}.",
        "Reprotect needs a committed failover with the Azure VM still present and protected: "
        "commit the failover; a migrated, moved or deleted Azure VM cannot be reprotected."),
    ("agent-registered", "ok"): Words("Agents have re-registered."),
    ("agent-registered", "late"): Words(
        "The Azure VM's agent has not re-registered with the configuration server yet (it can "
        "take 15 minutes after failover).",
        "Approving is fine: the bot waits for the agent and retries."),
    ("group-same-mt", "ok"): Words("Replication groups go through one master target."),
    ("group-same-mt", "grouped"): Words(
        "Part of a multi-VM consistency group: such VMs are reprotected only with their whole "
        "recovery plan.",
        "Drop `vm=` to reprotect the whole plan through one master target."),
    ("vault-signing", "ok"): Words("The vault's integrity key signs the reprotect requests."),
    ("vault-signing", "forbidden"): Words(
        "Azure refused the bot's identity the read of the vault's extended information (HTTP "
        "403), " + _UNSIGNED,
        "Give the bot's identity Microsoft.RecoveryServices/vaults/extendedInformation/read on "
        "the vault (part of the Site Recovery Contributor role), wait a few minutes, " + AGAIN),
    ("vault-signing", "missing"): Words(
        "The vault's extended information (its integrity key) is missing or could not be read, "
        + _UNSIGNED,
        "Have a vault owner create the vault's extended information (Azure PowerShell's Site "
        "Recovery module creates it, with its integrity key, when it first sets the vault "
        "context; the REST call is PUT {{vault}}/extendedInformation/vaultExtendedInfo), "
        + AGAIN),
    ("source-supported", "ok"): Words(
        "Every VM fails back to VMware (never to Hyper-V) from a supported source."),
    ("source-supported", "physical-2008"): Words(
        "Physical server with Windows Server 2008 R2 SP1: Site Recovery cannot fail it back.",
        "Leave it out with `vm=` and rebuild it in the private cloud (or keep it in Azure)."),
    ("network-ready", "vpn"): Words(
        "Site-to-site VPN or ExpressRoute private peering is up",
        "Between the Azure network of the process server and the private cloud's network of "
        "the master target server."),
    ("network-ready", "ports"): Words(
        "Failback ports are open between Azure and the private cloud",
        "Process server → master target TCP 9443 (replication data); master target and process "
        "server → configuration server TCP 443 and 9443."),
}

INFRASTRUCTURE: dict[tuple[str, str], Words] = {
    ("cs-connected", "ok"): Words("Configuration server {host!c} is connected."),
    ("cs-connected", "none"): Words(
        "No configuration server (VMware fabric) is registered in the vault.",
        "Register the configuration server with the vault, " + AGAIN),
    ("cs-connected", "service-unseen"): unseen(
        "Configuration server {host!c}'s service status (csServiceStatus)",
        "in the vault, Site Recovery infrastructure → Configuration servers, the server shows "
        "Connected with a recent heartbeat; on the server, the Microsoft Azure Site Recovery "
        "services are running."),
    ("cs-connected", "unhealthy"): unhealthy(
        "Configuration server {host!c}",
        "Start the configuration server's services and check its connection to Azure "
        "(outbound 443); its heartbeat must be under 15 minutes old."),
    ("mt-exists", "ok"): Words("Master target server {name!c} is registered and alive."),
    ("mt-exists", "unknown"): Words(
        "Master target server {wanted!c} is not registered on the configuration server. "
        "Registered: {registered!l}.",
        "Pass `master=` one of the registered names, or install and register the master target "
        "server in the private cloud first."),
    ("mt-exists", "unhealthy"): unhealthy(
        "Master target server {name!c}",
        "Check the master target VM is running and its agent services are started; it must "
        "reach the configuration server on 443."),
    ("ps-exists", "ok"): Words("Process server {name!c} is healthy."),
    ("ps-exists", "none"): Words(
        "No process server in Azure is registered (the configuration server's built-in one "
        "serves replication to Azure, not failback).",
        "Deploy a process server in Azure and register it with the configuration server, or "
        "pass `ps=` one."),
    ("ps-exists", "unhealthy"): Words(
        "Process server {name!c} is not healthy (health {health}, heartbeat {heartbeat!a}).",
        "Fix the process server (services, disk space) or pass `ps=` another one."),
    ("ps-exists", "health-unseen"): unseen("Process server {name!c}'s health", _PS_HOW),
    ("ps-exists", "service-unseen"): unseen(
        "Process server {name!c}'s service status (psServiceStatus)", _PS_HOW),
    ("mt-os-match", "ok"): Words("VMs and master target share the {os_type} OS family."),
    ("mt-os-match", "differs"): Words(
        "OS differs from the master target's ({os_type}).",
        "Use a master target server of the VMs' OS family (Windows VMs need a Windows master "
        "target, Linux VMs a Linux one)."),
    **{("mt-os-match", key): unseen(
        what, "the VMs and the master target run the same OS family (Windows or Linux); Site "
        "Recovery shows it on each replicated item and on the master target server.")
       for key, what in (("mt-unseen", "Master target {name!c}'s OS type"),
                         ("vm-unseen", "VM {name!c}'s OS type"))},
    ("datastore-ok", "none"): Words(
        "No usable datastore on master target {master_target!c}.",
        "Give the master target's ESXi host a VMFS or vSAN datastore with free space, refresh "
        "the configuration server, then retry."),
    ("datastore-ok", "ok"): Words(
        "Datastore {datastore!c} is on master target {master_target!c} with room."),
    ("datastore-type", "ok"): Words("Datastore {datastore!c} is {type}."),
    ("datastore-type", "unseen"): unseen(
        "Site Recovery's type of datastore {datastore!c}",
        "in vCenter, Storage → the datastore → Summary shows type VMFS or vSAN (NFS is not "
        "supported for failback); with VCENTER_URL set the bot reads it there. Else pass "
        "`datastore=` another one."),
    ("retention-ok", "ok"): Words("Retention volume {volume!c} has room: {size}."),
    ("retention-ok", "none"): Words(
        "No retention volume on master target {master_target!c}.",
        "Add a retention volume to the master target (it shows up within 15 minutes, or "
        "refresh the configuration server)."),
    ("retention-ok", "full"): Words(
        "Retention volume {volume!c} has no free space ({size}).",
        "Free space on the volume, or pass `retention=` another one; refresh the configuration "
        "server if it has room."),
    ("retention-ok", "near-threshold"): Words(
        "Retention volume {volume!c} may be close to full: {size}. Site Recovery does not say "
        "whether its threshold is the used space that raises an alert ({used:.0f}% used) or "
        "the free space that must remain ({free:.0f}% free).",
        "Check the volume's free space on the master target and its alerts in the vault; free "
        "space, or pass `retention=` a roomier volume."),
    ("failback-policy", "ok"): Words("Failback policy {name!c} is mapped."),
    ("failback-policy", "none"): Words(
        "No failback (InMage) policy is mapped to the configuration server.",
        "Create the VMware-to-Azure replication policy (its failback policy is created with "
        "it) and associate it with the configuration server."),
}

_NOT_RUN = ("master target snapshots, UUID clashes, master target VM settings, ESXi versions, "
            "account privileges, datastore mounts and AVS power states")
_UNREAD = ("{what}{why!w} So the bot could not check " + _NOT_RUN + ": an approver confirms "
           "them in vCenter (below). Site Recovery reaches vCenter on its own.")
# Checks an approver confirms in vCenter when the bot could not run them: label, how.
_BY_HAND = {
    "mt-no-snapshots": ("No snapshots on the master target VM",
                        "vCenter: master target VM → Snapshots shows none (reprotect cannot "
                        "attach disks to a VM with snapshots)."),
    "uuid-unique": ("No plan VM shares a UUID with the master target",
                    "The master target was not cloned from the AVS VMs' template (BIOS and "
                    "disk UUIDs differ), and one vCenter VM answers to each VM's name."),
    "mt-vm-settings": ("The master target VM's settings fit failback",
                       "VMware Tools running, disk.EnableUUID=TRUE, LSI Logic SCSI (not "
                       "Paravirtual), at most 60 disks with this plan's, never moved by "
                       "Storage vMotion."),
    "esxi-supported": ("The master target's ESXi host is supported",
                       "ESXi 5.5 or later, not a free ESXi 5.5 / vSphere Hypervisor 6 "
                       "licence."),
    "vcenter-permissions": ("Site Recovery's vCenter account may write",
                            "Its discovery account may allocate space on the master target's "
                            "datastores and add and remove the master target VM's disks (a "
                            "read-only account fails reprotect)."),
    "datastore-ok": ("Datastores mounted read/write on the master target's host",
                     "The chosen datastore and the AVS VMs' datastores are mounted read/write "
                     "on the master target's ESXi host, and are VMFS or vSAN (not NFS)."),
}
_BECAUSE = {"unread": "{what}{why!w}",
            "mt-missing": "the master target {name!c} is not in vCenter {host!c} by VM name, "
                          "guest host name or IP {ip!c}."}

VCENTER: dict[tuple[str, str], Words] = {
    ("vcenter-connected", "ok"): Words("Logged in to vCenter {host!c} ({product})."),
    ("vcenter-connected", "discovery-unseen"): unseen(
        "Site Recovery's discovery status of vCenter {name!c} ({ip})",
        "in the vault, Site Recovery infrastructure → Configuration servers → the server → "
        "vCenter servers, the vCenter shows connected with a recent heartbeat and no error; "
        "refresh the server if it does not."),
    ("vcenter-connected", "discovery-errors"): Words(
        "Site Recovery's vCenter {name!c} ({ip}) is not connected: {problems!j}. Without it "
        "the master target cannot detach and attach the disks.",
        "On the configuration server, check the vCenter's account and that port 443 to it is "
        "open, refresh the server in the vault, " + AGAIN),
    ("vcenter-connected", "not-configured"): Words(
        "{what}: " + _NOT_RUN + " were not checked.", "{fix}"),
    ("vcenter-connected", "insecure"): Words(
        "vCenter {host!c}'s certificate is not verified (VCENTER_INSECURE=1): anyone on the "
        "path could read the bot's vCenter password.",
        "Set VCENTER_CA_BUNDLE to the CA that signs vCenter's certificate and unset "
        "VCENTER_INSECURE."),
    ("vcenter-connected", "unread"): Words(_UNREAD, "{fix}"),
    ("vcenter-connected", "unread-no-fix"): Words(
        _UNREAD, "Fix the bot's vCenter access to have them checked again."),
    **{(check, f"by-hand-{cause}"): Words(label, f"{how} The bot could not check it: {because}")
       for check, (label, how) in _BY_HAND.items() for cause, because in _BECAUSE.items()},
    ("target-vcenter-discovered", "ok"): Words(
        "vCenter {host!c} is discovered by Site Recovery as {as!c}."),
    ("target-vcenter-discovered", "discovered"): Words(
        "Site Recovery has discovered {known!n}."),
    ("target-vcenter-discovered", "none"): Words(
        "Site Recovery lists no vCenter discovered by this configuration server (or the list "
        "could not be read): failing back to another vCenter needs it and its master target "
        "server discovered.",
        "Add the private cloud's vCenter on the configuration server (Site Recovery "
        "infrastructure → Configuration servers → Add vCenter), wait for discovery, " + AGAIN),
    ("target-vcenter-discovered", "not-ours"): Words(
        "The bot's vCenter {host!c} is not among Site Recovery's discovered vCenters "
        "({known!n}) by name or IP.",
        "Make sure the vCenter you fail back to is discovered by the configuration server "
        "(same vCenter under another name is fine), or point VCENTER_URL at it."),
    ("vcenter-permissions", "ok"): Words(
        "The vCenter account can write the master target's datastores and change its disks."),
    ("vcenter-permissions", "unreadable"): Words(
        "Could not read the vCenter account's privileges ({unreadable!j}).",
        "Check by hand that Site Recovery's discovery account may allocate space on the master "
        "target's datastores and add and remove disks of the master target VM."),
    ("vcenter-permissions", "missing"): Words(
        "The vCenter account lacks {missing!r}. Read-only discovery passes failover but fails "
        "reprotect.",
        "Give the discovery account (and VCENTER_USER) a role with {privileges} and the "
        "VirtualMachine.Config disk privileges, propagated from the datacenter; then refresh "
        "the configuration server."),
    ("mt-no-snapshots", "ok"): Words("Master target VM {name!c} has no snapshots."),
    ("mt-no-snapshots", "snapshots"): Words(
        "Master target VM {name!c} has {count} snapshot(s): reprotect cannot attach disks to "
        "it.",
        "In vCenter: master target VM → Snapshots → Delete all (consolidate), " + AGAIN),
    ("uuid-unique", "ok"): Words(
        "No VM of the plan shares a UUID with the master target or another VM."),
    ("uuid-unique", "ambiguous-mt"): Words(
        "Master target {name!c} matches several vCenter VMs: {candidates!l}.",
        "Rename or remove the extra VM (often a clone) so that one VM answers to the master "
        "target's name and IP address."),
    ("uuid-unique", "clash"): Words(
        "Shares its BIOS or disk UUID with master target VM {name!c} (both cloned from one "
        "template): failback would write to the wrong disks.",
        "Rebuild the master target from a fresh template, or give it a new BIOS UUID "
        "(`uuid.bios`) and new disk UUIDs, then refresh the configuration server."),
    ("uuid-unique", "twins"): Words(
        "Several vCenter VMs answer to this VM's UUID or name: the bot will not guess.",
        "Remove or rename the duplicate (a clone or an old copy) so one AVS VM matches."),
    ("mt-vm-settings", "ok"): Words(
        "Master target VM {name!c}: VMware Tools running, disk.EnableUUID on, LSI Logic, "
        "{disks} of {most} disks, no Storage vMotion in vCenter's events."),
    ("mt-vm-settings", "not-found"): Words(
        "Master target {name!c} is not in vCenter {host!c} by VM name, guest host name or IP "
        "{ip!c}: its snapshots, UUIDs, settings, host and datastore mounts could not be "
        "checked, so an approver confirms them in vCenter (below).",
        "Point VCENTER_URL at the private cloud's vCenter, and check the master target VM runs "
        "VMware Tools so that its host name and IP address show."),
    ("mt-vm-settings", "no-tools"): Words(
        "VMware Tools are not running on master target VM {name!c} ({status!c}).",
        "Install or start VMware Tools in the master target VM."),
    ("mt-vm-settings", "no-disk-uuid"): Words(
        "Master target VM {name!c} does not have `disk.EnableUUID=TRUE`.",
        "Power off the master target VM, add the advanced setting disk.EnableUUID = TRUE (Edit "
        "settings → VM options → Advanced), power it on."),
    ("mt-vm-settings", "pvscsi"): Words(
        "Master target VM {name!c} has a Paravirtual SCSI controller: failback needs LSI "
        "Logic.",
        "Change the master target's SCSI controllers to LSI Logic (SAS) while it is powered "
        "off."),
    ("mt-vm-settings", "events-unread"): Words(
        "Could not read vCenter's events of master target VM {name!c} ({unreadable!j}), so a "
        "Storage vMotion of it was not ruled out.",
        "Check in vCenter (master target VM → Monitor → Events) that it was never migrated to "
        "another datastore, or let VCENTER_USER read its events."),
    ("mt-vm-settings", "storage-vmotion"): Words(
        "Storage vMotion of master target VM {name!c} {moves!m}: Site Recovery does not "
        "support a master target moved by Storage vMotion (its disks' paths changed under the "
        "configuration server).",
        "Move the master target back to {back_to!c} or deploy a new one, exclude it from "
        "Storage vMotion and Storage DRS, then refresh the configuration server and run "
        "`/reprotect` again."),
    ("mt-vm-settings", "too-many-disks"): Words(
        "Master target {name!c} would hold {disks} disks ({attached} attached, {plan} from "
        "this plan): at most {most} are supported.",
        "Reprotect fewer VMs at once (`vm=`), or use another master target server."),
    ("esxi-supported", "ok"): Words("ESXi {hosts!n} is supported."),
    ("esxi-supported", "too-old"): Words(
        "ESXi older than 5.5 cannot receive failback: {hosts!n}.",
        "Move the master target (and the VMs' datastores) to hosts on a supported ESXi "
        "version, or upgrade these hosts."),
    ("esxi-supported", "free-edition"): Words(
        "Free editions of ESXi 5.5 / vSphere Hypervisor 6 are not supported: {hosts!n}.",
        "Assign a paid vSphere license to these hosts, or use other hosts."),
    ("esxi-supported", "licence-unread"): Words(
        "Could not read the license of {hosts!l}, so a free ESXi edition was not ruled out.",
        "Check in vCenter (Licensing → Assets) that these hosts have a paid license."),
    ("datastore-ok", "not-in-vcenter"): Words(
        "Datastore {datastore!c} is not in vCenter under that name, so its accessibility and "
        "mounts were not checked.",
        "Check the datastore Site Recovery lists is the one vCenter shows, or pass "
        "`datastore=` another one."),
    ("datastore-ok", "not-writable"): Words(
        "Datastore {datastore!c} is {state} on {host!h}.",
        "Mount the datastore read/write on the master target's ESXi host (or pass "
        "`datastore=` one that is), then refresh the configuration server."),
    ("datastore-ok", "avs-not-writable"): Words(
        "The AVS VM's datastores are not all mounted read/write on {host!h}: failback to the "
        "existing VM cannot write its disks.",
        "Mount those datastores read/write on the master target's host, or move the master "
        "target to a host that has them."),
    ("datastore-ok", "writable"): Words(
        "Datastore {datastore!c} is mounted read/write on {host!h}."),
    ("datastore-type", "vcenter-type"): Words(
        "vCenter reports datastore {datastore!c} as {type!t}: failback needs VMFS or vSAN (NFS "
        "is not supported).",
        "Pick a VMFS or vSAN datastore with `datastore=`."),
    ("avs-vm-off", "powered-on"): Words(
        "Powered on in the private cloud: reprotect powers it off and overwrites its disks with "
        "the Azure VM's data (found by {found_by!b}).",
        "Check nobody uses the AVS copy (its changes will be lost). It must stay off until "
        "failback; the bot warns in the thread if it is powered on."),
    ("avs-vm-off", "ok"): Words(
        "AVS VMs found in vCenter are powered off ({found} of {vms} found, by {found_by!b})."),
    ("avs-vm-off", "none-found"): Words(
        "AVS VMs found in vCenter are powered off ({found} of {vms} found)."),
}


_GIVEN = ("{given!c} is not one of %s: {known!l}. {suggest!d}",
          "Pass `%s=` one of those, or leave it out to let the bot choose.")
GIVEN: dict[tuple[str, str], Words] = {
    (f"{key}-unknown", "unknown"): Words(_GIVEN[0] % owner, _GIVEN[1] % key)
    for key, owner in (("account", "the configuration server's run-as accounts"),
                       ("ps", "the registered process servers"),
                       ("datastore", "the datastores of {of!c}"),
                       ("retention", "the retention volumes of {of!c}"))}

CLASSIC = PREFLIGHT | INFRASTRUCTURE | VCENTER | GIVEN
