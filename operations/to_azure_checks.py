"""Reprotect to Azure: the values chosen and the checks, as data (words:
`bot.views.checks_to_azure`).

After a committed failback the VMs run in the private cloud again, and reprotect sends them
back to Azure: classic items (`InMage`) take an `InMageAzureV2` input (process server in the
private cloud, run-as account, the forward policy, optionally a master target), modernized
ones (`InMageRcmFailback`) an `InMageRcmFailback` input (the appliance's process server, the
forward policy, optionally a run-as account). Every value the write needs and cannot be chosen
is a blocker, so an approvable plan always has what it sends; each blocker names its source in
`BLOCK_SOURCES`. Whether the item is ready is read from Site Recovery's `allowedOperations`
and provider, never from free text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from core.plan import CheckResult, Choice, Value, Verdict, passed
from gateways.site_recovery_models import (
    ConfigurationServer,
    ForwardTargets,
    ProcessServer,
    ProtectedItem,
    RunAsAccount,
)
from providers.base import given
from providers.checks import HEALTH_BAD, age_minutes, known, stale
from providers.names import find, suggest

REPROTECT_AS = "ReverseReplicate"   # reprotect in `allowedOperations`
COMMIT_AS = "Commit"                # failed back, commit pending
FAILBACK_PROVIDERS = ("InMage", "InMageRcmFailback")   # replicating to the private cloud
FORWARD_PROVIDERS = ("InMageAzureV2", "InMageRcm")     # replicating to Azure

BLOCK_SOURCES: dict[str, str] = {
    "back-in-private-cloud": "REST spec enumeration ReplicationProtectedItemOperation: "
                             "Commit listed until the failback is committed, ReverseReplicate "
                             "once it is; currentScenario names a running job; "
                             "avs-tutorial-failback.md (commit, then reprotect to Azure)",
    "ps-azure": "Azure PowerShell -VMwareToAzure makes -ProcessServer mandatory "
                "(the fabric's processServers); docs: the process server that sends data back "
                "to Azure; SDK enumeration ProtectionHealth (Warning, Critical)",
    "master-unknown": "Azure PowerShell -MasterTarget takes one of the fabric's "
                      "servers: a name Site Recovery does not list cannot be sent",
    "account-azure": "Azure PowerShell -VMwareToAzure makes -Account mandatory "
                     "(the fabric's runAsAccounts)",
    "forward-policy": "policyId is the forward (InMageAzureV2 / InMageRcm) "
                      "policy of the forward container mapping; Azure PowerShell makes "
                      "-ProtectionContainerMapping mandatory",
    "appliance-unknown": "processServerId is the InMageRcm fabric's "
                         "processServers entry named -ApplianceName (Azure PowerShell), required "
                         "by the SDK's InMageRcmFailbackReprotectInput",
    "appliance-azure": "SDK enumeration ProtectionHealth (Warning, Critical) of the appliance's "
                       "process server; vmware-azure-tutorial-failover-failback-modernized.md "
                       "(a healthy appliance)",
}


# -- where each item is --------------------------------------------------------------------

def back_in_private_cloud(item: ProtectedItem) -> bool:
    """The VM runs in the private cloud again: replicated by a failback provider and failed
    back (its item lists `Commit`, or `ReverseReplicate` once the failback is committed)."""
    ops = item.allowed_operations
    return known(item.provider, FAILBACK_PROVIDERS) and (REPROTECT_AS in ops or COMMIT_AS in ops)


def protected_to_azure(item: ProtectedItem) -> bool:
    """Replicating to Azure again (`InMageAzureV2` / `InMageRcm`) and `Protected`."""
    return known(item.provider, FORWARD_PROVIDERS) and item.protected


def readiness(items: Sequence[ProtectedItem]) -> list[CheckResult]:
    """Each VM must be back in the private cloud with its failback committed, and idle."""
    groups: dict[tuple[str, str], list[ProtectedItem]] = {}
    for item in items:
        groups.setdefault(_where(item), []).append(item)
    results = []
    for (key, state), members in groups.items():
        vms = tuple(i.friendly_name for i in members)
        if key == "ok":
            results.append(CheckResult("back-in-private-cloud", Verdict.PASS, "ok", {"vms": vms}))
            continue
        values: dict[str, Value] = {"state": state} if key == "state" else {}
        if key == "busy":
            values = {"running": tuple((i.friendly_name, i.current_scenario.name)
                                       for i in members)}
        results.append(CheckResult("back-in-private-cloud", Verdict.BLOCK, key, values, vms))
    return results


def _where(item: ProtectedItem) -> tuple[str, str]:
    """(outcome, state): ready, or what the VM waits for."""
    ops = item.allowed_operations
    state = item.protection_state_description or item.protection_state
    if not item.current_scenario.idle:
        return "busy", ""
    if known(item.provider, FAILBACK_PROVIDERS):
        if COMMIT_AS in ops:
            return "commit-first", ""
        return ("ok", "") if REPROTECT_AS in ops else ("state", state)
    if known(item.provider, FORWARD_PROVIDERS):
        if REPROTECT_AS in ops:
            return "in-azure", ""
        return ("done", "") if protected_to_azure(item) else ("state", state)
    return "state", state


# -- classic: process server, master target, run-as account -----------------------------------

def process_server(wanted: str | None, cs: ConfigurationServer | None, now: datetime,
                   checks: list[CheckResult]) -> Choice | None:
    """The operator's `ps=`; else the configuration server's own process server (in the
    private cloud, where it replicated the VMs to Azure before); else the only one listed."""
    servers = cs.process_servers if cs else ()
    chosen: ProcessServer | None
    if wanted:
        chosen = given("ps", wanted, servers, checks, lambda p: p.name, lambda p: p.ip_address)
        reason = "given"
    else:
        own = [p for p in servers if cs and cs.hosts(p)]
        chosen = own[0] if own else servers[0] if len(servers) == 1 else None
        reason = ("the configuration server's own, in the private cloud; `ps=` chooses a "
                  "scale-out one" if own else "the only process server registered")
        if chosen is None:
            checks.append(CheckResult("ps-azure", Verdict.BLOCK, "choose" if servers else "none",
                                      {"known": tuple(p.name for p in servers)}))
    if chosen is None:
        return None
    checks.extend(_health("ps-azure", chosen, now))
    return Choice(chosen.id, chosen.name, reason)


def _health(check: str, server: ProcessServer, now: datetime) -> list[CheckResult]:
    """Unhealthy as Site Recovery reports it blocks; a stale heartbeat warns."""
    values: dict[str, Value] = {"name": server.name, "health": server.health,
                                "minutes": age_minutes(now, server.last_heartbeat)}
    if known(server.health, HEALTH_BAD):
        return [CheckResult(check, Verdict.BLOCK, "unhealthy", values)]
    if stale(now, server.last_heartbeat):
        return [CheckResult(check, Verdict.WARN, "stale", values)]
    return passed(check, "ok", values)


def master_target(wanted: str | None, cs: ConfigurationServer | None,
                  ps: Choice | None, checks: list[CheckResult]) -> Choice | None:
    """The operator's `master=` (a master target or process server of the fabric); without
    it, the process server, as Azure PowerShell sends it."""
    if not wanted:
        return Choice(ps.id, ps.name, "no `master=`: the process server, as Azure PowerShell "
                      "sends it") if ps else None
    servers = [(m.id, m.name, m.ip_address) for m in cs.master_targets] if cs else []
    servers += [(p.id, p.name, p.ip_address) for p in cs.process_servers] if cs else []
    found = given("master", wanted, servers, checks, lambda s: s[1], lambda s: s[2])
    return Choice(found[0], found[1], "given") if found else None


def run_as_account(wanted: str | None, accounts: Sequence[RunAsAccount],
                   checks: list[CheckResult]) -> Choice | None:
    """The operator's `account=`; else the only run-as account of the configuration server."""
    found = given("account", wanted, accounts, checks, lambda a: a.name,
                  lambda a: a.account_id) if wanted else accounts[0] if len(accounts) == 1 \
        else None
    if found is not None:
        checks.extend(passed("account-azure", "ok", {"name": found.name}))
        return Choice(found.account_id, found.name, "given" if wanted else
                      "the configuration server's only run-as account")
    if wanted:
        return None
    checks.append(CheckResult("account-azure", Verdict.BLOCK, "choose" if accounts else "none",
                              {"known": tuple(a.name for a in accounts)}))
    return None


# -- modernized: the appliance's process server, the run-as account ---------------------------

def appliance(wanted: str, forward: ForwardTargets | None, now: datetime,
              checks: list[CheckResult]) -> Choice | None:
    """The process server of the appliance the operator named (`appliance=`)."""
    servers = forward.process_servers if forward else ()
    found = find(wanted, servers, lambda p: p.name)
    if found is None:
        names = tuple(p.name for p in servers)
        checks.append(CheckResult("appliance-unknown", Verdict.BLOCK, "unknown", {
            "given": f"appliance={wanted}", "known": names, "suggest": suggest(wanted, names)}))
        return None
    checks.extend(_health("appliance-azure", found, now))
    return Choice(found.id, found.name, "given")


def rcm_run_as(wanted: str | None, checks: list[CheckResult]) -> Choice | None:
    """Sent as given: the VMware site's run-as accounts are not read by the bot (Azure
    PowerShell resolves the name there), so the value is not checked."""
    if not wanted:
        checks.extend(passed("account-azure-rcm", "none"))
        return None
    checks.append(CheckResult("account-azure-rcm", Verdict.WARN, "unchecked", {"given": wanted}))
    return Choice(wanted, wanted, "given")


def forward_policy(forward: ForwardTargets | None, provider: str,
                   checks: list[CheckResult]) -> Choice | None:
    """The forward policy of the fabric's forward container mapping."""
    policy = forward.policy if forward else None
    if policy is None:
        checks.append(CheckResult("forward-policy", Verdict.BLOCK, "none", {"provider": provider}))
        return None
    mapping = forward.mapping_name if forward else None
    checks.extend(passed("forward-policy", "ok", {"name": policy.name, "mapping": mapping}))
    return Choice(policy.id, policy.name, f"mapped by {mapping}: VMware → Azure")
