"""The words of the slash commands' grammar: the usage, and what is wrong with a malformed
command (`intake.parser.UsageError`), every typed value escaped in a code span."""

from __future__ import annotations

from bot.views.failback import FAILBACK_HELP, FAILBACK_USAGE
from bot.views.mrkdwn import code
from intake.parser import FORM, Problem, UsageError, keys_of
from store.models import NAME_LENGTH

USAGE = (
    "Usage:\n"
    "• `/reprotect plan=<recovery plan> master=<master target server> [ps=<process server>] "
    "[datastore=<datastore>] [retention=<retention volume>] [vm=<name>[,<name>…]] "
    "[account=<run-as account>]` — classic architecture (master target)\n"
    "• `/reprotect plan=<recovery plan> appliance=<replication appliance> "
    "[datastore=<datastore>] [logstorage=<storage account>] [vm=<name>[,<name>…]]` — "
    "modernized architecture (replication appliance)\n"
    "• `/reprotect plan=<recovery plan> ps=<process server> account=<run-as account> "
    "[master=<master target>]` or `appliance=<replication appliance> [account=<run-as account>]`"
    " — reprotect to Azure, once failback is committed (classic, modernized)\n"
    "• `/reprotect status` — open and recent requests in this channel\n"
    "• `/reprotect cancel <id>` — withdraw a request before it runs (requester or approver)\n"
    "• `/reprotect help` — this text\n"
    'Quote values with spaces: `plan="Finance tier 1"`.'
)
HELP = ("*/reprotect* preflights a recovery plan's reprotect (Azure → AVS failback), asks an "
        "approver, then starts and follows it in a thread.\n" + USAGE)
# Each command's usage and help; a command missing here shows /reprotect's.
USAGES = {"/reprotect": USAGE, "/failback": FAILBACK_USAGE}
HELPS = {"/reprotect": HELP, "/failback": FAILBACK_HELP}
FORMS = ("`master=` names the master target server of a plan of the classic architecture, "
         "`appliance=` the replication appliance of a plan of the modernized one")


def _keys(keys: tuple[str, ...]) -> str:
    return " and ".join(code(k) for k in keys)


def problem(error: UsageError) -> str:
    """What is wrong, naming the key or value it concerns."""
    key = code(error.key)
    match error.problem:
        case Problem.CONTROL:
            return ("The command contains a control character (a line break inside quotes, a "
                    "tab or an invisible character pasted in): retype the values on one line.")
        case Problem.QUOTE:
            return "A quote is not closed: check the value in `\"…\"`."
        case Problem.CANCEL:
            return "`cancel` takes one request number, e.g. `/reprotect cancel 12`."
        case Problem.CHOICE:
            return (f"{key} is {code(error.value)}: it takes {' or '.join(map(code, error.keys))} "
                    f"(default {code(error.keys[0]) if error.keys else 'none'}).")
        case Problem.NOT_KEY_VALUE:
            return f"{code(error.value)} is not of the form `key=value`."
        case Problem.UNKNOWN_KEY:
            keys = keys_of(error.command)
            return f"Unknown key {key}: the keys are {', '.join(code(k) for k in keys)}."
        case Problem.TWICE:
            return f"{key} is given twice: give it once."
        case Problem.EMPTY:
            return f"{key} has an empty value."
        case Problem.TOO_LONG:
            what = "A `vm` name is" if error.key == "vm" else f"{key} is"
            return (f"{what} {len(error.value)} characters long; the bot keeps names of at most "
                    f"{NAME_LENGTH}. Check the value that starts {code(error.value[:40])}.")
        case Problem.NO_VM:
            return "`vm` names no VM: list names separated by commas."
        case Problem.MISSING:
            verb = "is" if len(error.keys) == 1 else "are"
            return f"{_keys(error.keys)} {verb} required" + (
                f" (or `appliance`): {FORMS}" if "master" in error.keys
                and error.command == FORM.command else "") + "."
        case Problem.BOTH_FORMS:
            return f"`master` and `appliance` are both given: {FORMS}. Give the one of the plan's."
        case Problem.STRAY:
            verb = "goes" if len(error.keys) == 1 else "go"
            return (f"{_keys(error.keys)} {verb} with {code(error.other + '=')}, not "
                    f"{code(error.key + '=')}: {FORMS}.")
    raise ValueError(f"no words for {error}")


def usage(error: UsageError) -> str:
    """The reply to a malformed command: what is wrong, then how to write it."""
    return f":warning: {problem(error)}\n{USAGES.get(error.command, USAGE)}"


def help_text(command: str) -> str:
    """`<command> help`: what the command does and how to write it."""
    return HELPS.get(command, HELP)
