"""Site Recovery job errors told in plain words, with the documented fixes for failback codes."""

from __future__ import annotations

from gateways.site_recovery_models import JobError

KNOWN_FIXES = {
    "95226": "The Azure VM cannot reach the configuration server, or the InMage Scout "
             "application service is not running on it: give the VM a network path to the "
             "configuration server (site-to-site VPN or ExpressRoute private peering), start "
             "the InMage Scout service and set it to Automatic, then retry.",
    "78052": "A VM with the same name already exists on the master target's ESXi host: use a "
             "master target on another host, vMotion the master target, or rename the stray "
             "VM, then retry.",
    "78093": "The Azure VM is not running, hung, or not reachable by the configuration "
             "server: restart the Azure VM, then retry the reprotect job.",
    "8061": "The datastore is not accessible from the master target's ESXi host: check the "
            "master target prerequisites and pick a VMFS or vSAN datastore it mounts.",
}


def describe(errors: tuple[JobError, ...] | list[JobError]) -> str:
    """Every error: code, message, causes, recommended action, provider error, known fix."""
    if not errors:
        return "Site Recovery reported no error details; open the job in the Azure portal."
    parts = []
    for error in errors:
        lines = [f"*Error {error.code}*: {error.message}".strip()]
        if error.possible_causes:
            lines.append(f"_Possible causes:_ {error.possible_causes}")
        if error.recommended_action:
            lines.append(f"_Recommended action:_ {error.recommended_action}")
        if error.provider_code or error.provider_message:
            lines.append(f"_Provider error {error.provider_code or ''}:_ "
                         f"{error.provider_message or ''}".rstrip())
        fix = KNOWN_FIXES.get(error.code) or KNOWN_FIXES.get(error.provider_code or "")
        if fix:
            lines.append(f":bulb: {fix}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)
