"""The words of the slash commands' grammar: the usage, and what is wrong with a malformed
command (`intake.parser.UsageError`), every typed value escaped in a code span. Keys (`plan=`,
`master=`…) and sub-commands (`status`, `cancel`, `help`) are the command's own: never
translated."""

from __future__ import annotations

from bot.views.failback import FAILBACK_HELP, FAILBACK_USAGE
from bot.views.i18n import _, ngettext
from bot.views.mrkdwn import code
from intake.parser import FORM, Problem, UsageError, keys_of
from store.models import NAME_LENGTH


def usage_text(command: str = "/reprotect") -> str:
    """How to write `command`, in the current language."""
    if command == "/failback":
        return FAILBACK_USAGE
    return _(
        "Usage:\n"
        "• `/reprotect plan=<recovery plan> master=<master target server> [ps=<process server>] "
        "[datastore=<datastore>] [retention=<retention volume>] [vm=<name>[,<name>…]] "
        "[account=<run-as account>]` — classic architecture (master target)\n"
        "• `/reprotect plan=<recovery plan> appliance=<replication appliance> "
        "[datastore=<datastore>] [logstorage=<storage account>] [vm=<name>[,<name>…]]` — "
        "modernized architecture (replication appliance)\n"
        "• `/reprotect plan=<recovery plan> ps=<process server> account=<run-as account> "
        "[master=<master target>]` or `appliance=<replication appliance> "
        "[account=<run-as account>]` — reprotect to Azure, once failback is committed "
        "(classic, modernized)\n"
        "• `/reprotect status` — open and recent requests in this channel\n"
        "• `/reprotect cancel <id>` — withdraw a request before it runs (requester or approver)\n"
        "• `/reprotect help` — this text\n"
        'Quote values with spaces: `plan="Finance tier 1"`.')


def help_text(command: str) -> str:
    """`<command> help`: what the command does and how to write it."""
    if command == "/failback":
        return FAILBACK_HELP
    return _("*/reprotect* preflights a recovery plan's reprotect (Azure → AVS failback), asks "
             "an approver, then starts and follows it in a thread.") + "\n" + usage_text()


def _forms() -> str:
    return _("`master=` names the master target server of a plan of the classic architecture, "
             "`appliance=` the replication appliance of a plan of the modernized one")


def _keys(keys: tuple[str, ...]) -> str:
    return _(" and ").join(code(k) for k in keys)


def problem(error: UsageError) -> str:
    """What is wrong, naming the key or value it concerns."""
    key = code(error.key)
    match error.problem:
        case Problem.CONTROL:
            return _("The command contains a control character (a line break inside quotes, a "
                     "tab or an invisible character pasted in): retype the values on one line.")
        case Problem.QUOTE:
            return _("A quote is not closed: check the value in `\"…\"`.")
        case Problem.CANCEL:
            return _("`cancel` takes one request number, e.g. `/reprotect cancel 12`.")
        case Problem.CHOICE:
            return (f"{key} is {code(error.value)}: it takes {' or '.join(map(code, error.keys))} "
                    f"(default {code(error.keys[0]) if error.keys else 'none'}).")
        case Problem.NOT_KEY_VALUE:
            return _("{value} is not of the form `key=value`.").format(value=code(error.value))
        case Problem.UNKNOWN_KEY:
            return _("Unknown key {key}: the keys are {keys}.").format(
                key=key, keys=", ".join(code(k) for k in keys_of(error.command)))
        case Problem.TWICE:
            return _("{key} is given twice: give it once.").format(key=key)
        case Problem.EMPTY:
            return _("{key} has an empty value.").format(key=key)
        case Problem.TOO_LONG:
            template = (_("A `vm` name is {length} characters long; the bot keeps names of at "
                          "most {most}. Check the value that starts {start}.")
                        if error.key == "vm" else
                        _("{key} is {length} characters long; the bot keeps names of at most "
                          "{most}. Check the value that starts {start}."))
            return template.format(key=key, length=len(error.value), most=NAME_LENGTH,
                                   start=code(error.value[:40]))
        case Problem.NO_VM:
            return _("`vm` names no VM: list names separated by commas.")
        case Problem.MISSING:
            if "master" in error.keys and error.command == FORM.command:
                return ngettext("{keys} is required (or `appliance`): {forms}.",
                                "{keys} are required (or `appliance`): {forms}.",
                                len(error.keys)).format(keys=_keys(error.keys), forms=_forms())
            return ngettext("{keys} is required.", "{keys} are required.",
                            len(error.keys)).format(keys=_keys(error.keys))
        case Problem.BOTH_FORMS:
            return _("`master` and `appliance` are both given: {forms}. Give the one of the "
                     "plan's.").format(forms=_forms())
        case Problem.STRAY:
            return ngettext("{keys} goes with {other}, not {key}: {forms}.",
                            "{keys} go with {other}, not {key}: {forms}.",
                            len(error.keys)).format(
                keys=_keys(error.keys), other=code(error.other + "="),
                key=code(error.key + "="), forms=_forms())
    raise ValueError(f"no words for {error}")


def usage(error: UsageError) -> str:
    """The reply to a malformed command: what is wrong, then how to write it."""
    return f":warning: {problem(error)}\n{usage_text(error.command)}"
