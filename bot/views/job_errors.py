"""The documented fixes for Site Recovery's failback error codes, shown under a job's errors."""

from __future__ import annotations

from bot.views.i18n import N_

KNOWN_FIXES = {
    "8038": N_("The VM could not be brought up in the private cloud: its ESXi host lacks "
               "memory. Add memory to the host, or vMotion the VM to a host with enough free "
               "memory, then fail back again."),
    "95226": N_("The Azure VM cannot reach the configuration server, or the InMage Scout "
             "application service is not running on it: give the VM a network path to the "
             "configuration server (site-to-site VPN or ExpressRoute private peering), start "
             "the InMage Scout service and set it to Automatic, then retry."),
    "78052": N_("A VM with the same name already exists on the master target's ESXi host: use a "
             "master target on another host, vMotion the master target, or rename the stray "
             "VM, then retry."),
    "78093": N_("The Azure VM is not running, hung, or not reachable by the configuration "
             "server: restart the Azure VM, then retry the reprotect job."),
    "8061": N_("The datastore is not accessible from the master target's ESXi host: check the "
            "master target prerequisites and pick a VMFS or vSAN datastore it mounts."),
}

