"""The `/reprotect` grammar, rule by rule."""

from __future__ import annotations

import pytest

from bot.views.usage import problem, usage, usage_text
from intake.parser import (
    CancelRequest,
    HelpRequest,
    Problem,
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
    ("plan=rp1 master=mt1 account=svc-run", ReprotectRequest(plan="rp1", master="mt1",
                                                             account="svc-run")),
    ("plan=rp1\tmaster=mt1", ReprotectRequest(plan="rp1", master="mt1")),  # a tab between
    ("plan=rp1\nmaster=mt1", ReprotectRequest(plan="rp1", master="mt1")),  # a line break
    ("plan=rp1\r\nmaster=mt1", ReprotectRequest(plan="rp1", master="mt1")),
    ("plan=rp=1 master=mt1", ReprotectRequest(plan="rp=1", master="mt1")),  # the first `=`
    ("plan=' rp1 ' master=mt1", ReprotectRequest(plan="rp1", master="mt1")),
    ('" plan"=rp1 master=mt1', ReprotectRequest(plan="rp1", master="mt1")),
    ("plan=rp1 master=mt1 vm=a,,b", ReprotectRequest(plan="rp1", master="mt1", vms=("a", "b"))),
    # At the limit: names of 255 characters are kept; a `vm` list may be longer in all.
    ("plan=" + "p" * 255 + " master=mt1", ReprotectRequest(plan="p" * 255, master="mt1")),
    ("plan=rp1 master=mt1 vm=" + "v" * 255 + "," + "w" * 255,
     ReprotectRequest(plan="rp1", master="mt1", vms=("v" * 255, "w" * 255))),
    ("", HelpRequest()),
    ("-h", HelpRequest()),
    ("--HELP", HelpRequest()),
    ("help", HelpRequest()),
    ("  HELP ", HelpRequest()),
    ("status", StatusRequest()),
    ("Status", StatusRequest()),
    ("cancel 0", CancelRequest(0)),
    ("cancel 12", CancelRequest(12)),
    ("CANCEL #7", CancelRequest(7)),
])
def test_valid_commands(text: str, expected: object) -> None:
    assert parse(text) == expected


FORMS = ("`master=` names the master target server of a plan of the classic architecture, "
         "`appliance=` the replication appliance of a plan of the modernized one")
KEYS = ("`plan`, `master`, `appliance`, `ps`, `datastore`, `retention`, `logstorage`, `vm`, "
        "`account`")
CONTROL = ("The command contains a control character (a line break inside quotes, a tab or an "
           "invisible character pasted in): retype the values on one line.")
CANCEL = "`cancel` takes one request number, e.g. `/reprotect cancel 12`."
CONTROL_ERROR, CANCEL_ERROR = UsageError(Problem.CONTROL), UsageError(Problem.CANCEL)


def stray(form: str, *keys: str) -> UsageError:
    """`keys` of the other form given with `form`."""
    other = "master" if form == "appliance" else "appliance"
    return UsageError(Problem.STRAY, form, keys=keys, other=other)


def too_long(what: str, value: str) -> str:
    return (f"{what} {len(value)} characters long; the bot keeps names of at most 255. "
            f"Check the value that starts `{value[:40]}`.")


@pytest.mark.parametrize(("text", "error", "message"), [
    ("plan=rp1", UsageError(Problem.MISSING, keys=("master",)),
     f"`master` is required (or `appliance`): {FORMS}."),
    ("master=mt1", UsageError(Problem.MISSING, keys=("plan",)), "`plan` is required."),
    ("appliance=app1", UsageError(Problem.MISSING, keys=("plan",)), "`plan` is required."),
    # `ps=` (or `account=`) alone names the classic reprotect to Azure
    ("ps=x", UsageError(Problem.MISSING, keys=("plan",)), "`plan` is required."),
    ("datastore=x", UsageError(Problem.MISSING, keys=("plan", "master")),
     f"`plan` and `master` are required (or `appliance`): {FORMS}."),
    ("plan=rp1 master=mt1 appliance=app1", UsageError(Problem.BOTH_FORMS),
     f"`master` and `appliance` are both given: {FORMS}. Give the one of the plan's."),
    ("plan=rp1 appliance=app1 ps=ps1", stray("appliance", "ps"),
     f"`ps` goes with `master=`, not `appliance=`: {FORMS}."),
    # `account` goes with `appliance=` in the modernized reprotect to Azure: answered once the
    # plan's direction is known (tests/unit/test_reprotect_to_azure.py)
    ("plan=rp1 appliance=app1 retention=R: account=a1", stray("appliance", "retention"),
     f"`retention` goes with `master=`, not `appliance=`: {FORMS}."),
    ("plan=rp1 appliance=app1 account=a1 ps=p retention=R:",
     stray("appliance", "ps", "retention"),
     f"`ps` and `retention` go with `master=`, not `appliance=`: {FORMS}."),
    ("plan=rp1 master=mt1 logstorage=logs01", stray("master", "logstorage"),
     f"`logstorage` goes with `appliance=`, not `master=`: {FORMS}."),
    ("plan=rp1 appliance=", UsageError(Problem.EMPTY, "appliance"),
     "`appliance` has an empty value."),
    ("plan=rp1 master=' '", UsageError(Problem.EMPTY, "master"),
     "`master` has an empty value."),
    ("plan=rp1 appliance=a1 logstorage=" + "l" * 256,
     UsageError(Problem.TOO_LONG, "logstorage", "l" * 256),
     too_long("`logstorage` is", "l" * 256)),
    ("plan=rp1 master=mt1 colour=blue", UsageError(Problem.UNKNOWN_KEY, "colour"),
     f"Unknown key `colour`: the keys are {KEYS}."),
    ("plan=rp1 master=mt1 COLOUR=blue", UsageError(Problem.UNKNOWN_KEY, "colour"),
     f"Unknown key `colour`: the keys are {KEYS}."),
    ("plan=rp1 master=mt1 =x", UsageError(Problem.UNKNOWN_KEY, ""),
     f"Unknown key ` `: the keys are {KEYS}."),
    ("plan=rp1 plan=rp2 master=mt1", UsageError(Problem.TWICE, "plan"),
     "`plan` is given twice: give it once."),
    ("plan=rp1 PLAN=rp2 master=mt1", UsageError(Problem.TWICE, "plan"),
     "`plan` is given twice: give it once."),
    ("plan= master=mt1", UsageError(Problem.EMPTY, "plan"),
     "`plan` has an empty value."),
    ('plan="" master=mt1', UsageError(Problem.EMPTY, "plan"),
     "`plan` has an empty value."),
    ("plan=" + "p" * 256 + " master=mt1", UsageError(Problem.TOO_LONG, "plan", "p" * 256),
     too_long("`plan` is", "p" * 256)),
    ("plan=' " + "p" * 256 + " ' master=mt1", UsageError(Problem.TOO_LONG, "plan", "p" * 256),
     too_long("`plan` is", "p" * 256)),
    ("plan=rp1 master=mt1 datastore=" + "d" * 300,
     UsageError(Problem.TOO_LONG, "datastore", "d" * 300),
     too_long("`datastore` is", "d" * 300)),
    ("plan=rp1 master=mt1 vm=ok," + "v" * 256, UsageError(Problem.TOO_LONG, "vm", "v" * 256),
     too_long("A `vm` name is", "v" * 256)),
    ("plan=rp1\x00 master=mt1", CONTROL_ERROR, CONTROL),
    ('plan="rp\n1" master=mt1', CONTROL_ERROR, CONTROL),
    ('plan="rp\t1" master=mt1', CONTROL_ERROR, CONTROL),
    ("plan=rp1 master=mt1\x07", CONTROL_ERROR, CONTROL),
    ("plan=\ud800 master=mt1", CONTROL_ERROR, CONTROL),
    ("plan=rp1 master=mt1 vm=,", UsageError(Problem.NO_VM),
     "`vm` names no VM: list names separated by commas."),
    ('plan="Finance tier 1 master=mt1', UsageError(Problem.QUOTE),
     'A quote is not closed: check the value in `"…"`.'),
    ("plan=rp1 master", UsageError(Problem.NOT_KEY_VALUE, value="master"),
     "`master` is not of the form `key=value`."),
    ("reprotect everything", UsageError(Problem.NOT_KEY_VALUE, value="reprotect"),
     "`reprotect` is not of the form `key=value`."),
    ("help me", UsageError(Problem.NOT_KEY_VALUE, value="help"),
     "`help` is not of the form `key=value`."),
    ("status now", UsageError(Problem.NOT_KEY_VALUE, value="status"),
     "`status` is not of the form `key=value`."),
    ("cancel", CANCEL_ERROR, CANCEL),
    ("cancel twelve", CANCEL_ERROR, CANCEL),
    ("cancel 1 2", CANCEL_ERROR, CANCEL),
    ("cancel X7", CANCEL_ERROR, CANCEL),  # only `#` is dropped before the number
    ("cancel ²", CANCEL_ERROR, CANCEL),  # isdigit() is True, int() refuses
    ("cancel ١٢", CANCEL_ERROR, CANCEL),  # Arabic-Indic digits: not a number typed
])
def test_usage_errors_name_the_problem_and_its_words_say_exactly_what_is_wrong(
        text: str, error: UsageError, message: str) -> None:
    result = parse(text)
    assert result == error
    assert isinstance(result, UsageError)
    assert problem(result) == message
    assert "/reprotect plan=<recovery plan> master=<master target server>" in usage(result)
    assert "/reprotect plan=<recovery plan> appliance=<replication appliance>" in usage(result)


def test_the_usage_shows_both_forms_with_every_key_and_the_other_commands() -> None:
    assert usage_text().splitlines() == [
        "Usage:",
        "• `/reprotect plan=<recovery plan> master=<master target server> [ps=<process server>] "
        "[datastore=<datastore>] [retention=<retention volume>] [vm=<name>[,<name>…]] "
        "[account=<run-as account>]` — classic architecture (master target)",
        "• `/reprotect plan=<recovery plan> appliance=<replication appliance> "
        "[datastore=<datastore>] [logstorage=<storage account>] [vm=<name>[,<name>…]]` — "
        "modernized architecture (replication appliance)",
        "• `/reprotect plan=<recovery plan> ps=<process server> account=<run-as account> "
        "[master=<master target>]` or `appliance=<replication appliance> "
        "[account=<run-as account>]` — reprotect to Azure, once failback is committed "
        "(classic, modernized)",
        "• `/reprotect status` — open and recent requests in this channel",
        "• `/reprotect cancel <id>` — withdraw a request before it runs (requester or approver)",
        "• `/reprotect help` — this text",
        'Quote values with spaces: `plan="Finance tier 1"`.',
    ]
