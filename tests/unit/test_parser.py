"""The `/reprotect` grammar, rule by rule."""

from __future__ import annotations

import pytest

from bot.views.usage import problem, usage
from intake.parser import (
    CancelRequest,
    HelpRequest,
    ReprotectRequest,
    StatusRequest,
    UsageError,
    parse,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("plan=rp1 master=mt1", ReprotectRequest(plan="rp1", master="mt1")),
    ("PLAN=rp1 Master=mt1", ReprotectRequest(plan="rp1", master="mt1")),
    ('plan="Finance tier 1" master=mt1', ReprotectRequest(plan="Finance tier 1", master="mt1")),
    ("plan=“Finance tier 1” master=mt1", ReprotectRequest(plan="Finance tier 1", master="mt1")),
    ("master=mt1 plan=rp1 ps=ps2 datastore=ds1 retention=R:",
     ReprotectRequest(plan="rp1", master="mt1", process_server="ps2", datastore="ds1",
                      retention="R:")),
    ("plan=rp1 master=mt1 vm=app-01,app-02",
     ReprotectRequest(plan="rp1", master="mt1", vms=("app-01", "app-02"))),
    ("plan=rp1 master=mt1 vm=' app-01 , app-02 '",
     ReprotectRequest(plan="rp1", master="mt1", vms=("app-01", "app-02"))),
    ("plan=rp1 appliance=app1", ReprotectRequest(plan="rp1", appliance="app1")),
    ("Plan=rp1 APPLIANCE=app1 DataStore=ds1 LogStorage=logs01 VM=app-01",
     ReprotectRequest(plan="rp1", appliance="app1", datastore="ds1", logstorage="logs01",
                      vms=("app-01",))),
    ("plan=rp1 appliance=app1 logstorage=/subscriptions/s/resourceGroups/rg/providers/"
     "Microsoft.Storage/storageAccounts/logs01",
     ReprotectRequest(plan="rp1", appliance="app1",
                      logstorage="/subscriptions/s/resourceGroups/rg/providers/"
                                 "Microsoft.Storage/storageAccounts/logs01")),
    ("", HelpRequest()),
    ("help", HelpRequest()),
    ("  HELP ", HelpRequest()),
    ("status", StatusRequest()),
    ("cancel 12", CancelRequest(12)),
    ("CANCEL #7", CancelRequest(7)),
])
def test_valid_commands(text: str, expected: object) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(("text", "says"), [
    ("plan=rp1", "`master` is required (or `appliance`): `master=` names the master target"),
    ("master=mt1", "`plan` is required"),
    ("appliance=app1", "`plan` is required"),
    ("ps=x", "`plan` is required"),  # `ps=` names the classic reprotect to Azure
    ("datastore=x", "`plan` and `master` are required (or `appliance`)"),
    ("plan=rp1 master=mt1 appliance=app1", "`master` and `appliance` are both given: `master=` "
     "names the master target server of a plan of the classic architecture, `appliance=` the "
     "replication appliance of a plan of the modernized one"),
    ("plan=rp1 appliance=app1 ps=ps1", "`ps` goes with `master=`, not `appliance=`"),
    # `account` goes with `appliance=` in the modernized reprotect to Azure: it is answered
    # once the plan's direction is known (tests/unit/test_reprotect_to_azure.py)
    ("plan=rp1 appliance=app1 retention=R: account=a1",
     "`retention` goes with `master=`, not `appliance=`"),
    ("plan=rp1 master=mt1 logstorage=logs01", "`logstorage` goes with `appliance=`, not `master=`"),
    ("plan=rp1 appliance=", "`appliance` has an empty value"),
    ("plan=rp1 appliance=a1 logstorage=" + "l" * 256, "`logstorage` is 256 characters long"),
    ("plan=rp1 master=mt1 colour=blue", "Unknown key `colour`"),
    ("plan=rp1 plan=rp2 master=mt1", "`plan` is given twice"),
    ("plan=rp1 PLAN=rp2 master=mt1", "`plan` is given twice"),
    ("plan= master=mt1", "`plan` has an empty value"),
    ('plan="" master=mt1', "`plan` has an empty value"),
    ("plan=" + "p" * 256 + " master=mt1", "`plan` is 256 characters long"),
    ("plan=rp1 master=mt1 datastore=" + "d" * 300, "`datastore` is 300 characters long"),
    ("plan=rp1 master=mt1 vm=ok," + "v" * 256, "A `vm` name is 256 characters long"),
    ("plan=rp1\x00 master=mt1", "control character"),
    ('plan="rp\n1" master=mt1', "control character"),
    ("plan=rp1 master=mt1\x07", "control character"),
    ("plan=\ud800 master=mt1", "control character"),
    ("plan=rp1 master=mt1 vm=,", "`vm` names no VM"),
    ('plan="Finance tier 1 master=mt1', "quote is not closed"),
    ("plan=rp1 master", "`master` is not of the form `key=value`"),
    ("reprotect everything", "`reprotect` is not of the form"),
    ("cancel", "`cancel` takes one request number"),
    ("cancel twelve", "`cancel` takes one request number"),
    ("cancel 1 2", "`cancel` takes one request number"),
    ("cancel ²", "`cancel` takes one request number"),  # isdigit() is True, int() refuses
    ("cancel ١٢", "`cancel` takes one request number"),  # Arabic-Indic digits: not a number typed
])
def test_usage_errors_say_what_is_wrong_and_show_usage(text: str, says: str) -> None:
    result = parse(text)
    assert isinstance(result, UsageError)
    assert says in problem(result)
    assert "/reprotect plan=<recovery plan> master=<master target server>" in usage(result)
    assert "/reprotect plan=<recovery plan> appliance=<replication appliance>" in usage(result)
