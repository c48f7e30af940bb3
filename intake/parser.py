"""Parse the text of a slash command into a request, a help reply or a usage error.

Pure and total: every input maps to exactly one of three outcomes, so the Slack listener
never has to guess, and the grammar is tested table by table without Slack. `/reprotect`
has its own form (two architectures' keys); every other command is `command [verb]
key=value…`, the operation named by command, verb and `vm=` (`operations.operation_for`),
its keys and choices read from its `Form`: a new step is registered, never parsed by hand.
"""

from __future__ import annotations

import enum
import shlex
import unicodedata
from dataclasses import dataclass

from core.plan import ReprotectRequest, StepRequest
from operations import REPROTECT, operation_for, verbs
from operations.base import Form
from store.models import NAME_LENGTH, row_number

FORM = REPROTECT.form
REPROTECT_COMMAND = FORM.command


@dataclass(frozen=True)
class HelpRequest:
    """`<command> help` (or no text at all)."""

    command: str = REPROTECT_COMMAND


@dataclass(frozen=True)
class StatusRequest:
    """`/reprotect status`: list the channel's open and recent requests."""


@dataclass(frozen=True)
class CancelRequest:
    """`/reprotect cancel <id>`: withdraw a pending or approved request before it runs."""

    request_id: int


class Problem(enum.StrEnum):
    """What is wrong with the command's text (`bot.views.usage.problem` words each)."""

    CONTROL = "control"              # a control character
    QUOTE = "quote"                  # a quote not closed
    CANCEL = "cancel"                # `cancel` without one request number
    NOT_KEY_VALUE = "not-key-value"  # `value`: a token without `=`
    UNKNOWN_KEY = "unknown-key"      # `key` is not one of the form's keys
    TWICE = "twice"                  # `key` given twice
    EMPTY = "empty"                  # `key` has an empty value
    TOO_LONG = "too-long"            # `key`'s `value` is longer than NAME_LENGTH
    NO_VM = "no-vm"                  # `vm=` names no VM
    MISSING = "missing"              # `keys` are required (`plan`, a form's key)
    BOTH_FORMS = "both-forms"        # `master=` and `appliance=` both given
    STRAY = "stray"                  # `keys` go with form `other`, not with `key`
    CHOICE = "choice"                # `key`'s `value` is not one of `keys`


@dataclass(frozen=True)
class UsageError:
    """The text is malformed: which `problem`, with the key and value it concerns."""

    problem: Problem
    key: str = ""
    value: str = ""
    keys: tuple[str, ...] = ()
    other: str = ""
    command: str = REPROTECT_COMMAND  # whose usage the reply shows


ParseResult = (ReprotectRequest | StepRequest | HelpRequest | StatusRequest | CancelRequest
               | UsageError)


def parse(text: str, command: str = REPROTECT_COMMAND) -> ParseResult:
    """Turn the slash command's text into one outcome; never raises."""
    if _control_character(text.replace("\t", " ").replace("\n", " ").replace("\r", " ")):
        return UsageError(Problem.CONTROL, command=command)
    try:
        tokens = shlex.split(text.replace("“", '"').replace("”", '"'))
    except ValueError:
        return UsageError(Problem.QUOTE, command=command)
    if not tokens or (len(tokens) == 1 and tokens[0].lower() in ("help", "-h", "--help")):
        return HelpRequest(command)
    if command != REPROTECT_COMMAND:
        return _parse_step(tokens, command)
    return _parse_reprotect(tokens)


def _parse_reprotect(tokens: list[str]) -> ParseResult:
    """`/reprotect`: a request in one architecture's form, `status` or `cancel <id>`."""
    if len(tokens) == 1 and tokens[0].lower() == "status":
        return StatusRequest()
    if tokens[0].lower() == "cancel":
        number = row_number(tokens[1].lstrip("#")) if len(tokens) == 2 else None
        if number is None:
            return UsageError(Problem.CANCEL)
        return CancelRequest(number)

    values = _pairs(tokens, FORM)
    if isinstance(values, UsageError):
        return values
    form_error = _form_error(values)
    if form_error:
        return form_error
    vms = _vms(values, FORM.command)
    if isinstance(vms, UsageError):
        return vms
    return ReprotectRequest(
        plan=values["plan"],
        master=values.get("master", ""),
        process_server=values.get("ps"),
        datastore=values.get("datastore"),
        retention=values.get("retention"),
        vms=vms,
        account=values.get("account"),
        appliance=values.get("appliance"),
        logstorage=values.get("logstorage"),
    )


def _parse_step(tokens: list[str], command: str) -> StepRequest | UsageError:
    """`command [verb] key=value…`: the operation the command, verb and `vm=` name, with
    its form's required keys and choices."""
    verb = tokens[0].lower() if "=" not in tokens[0] else ""
    if verb and verb not in verbs(command):
        return UsageError(Problem.NOT_KEY_VALUE, value=tokens[0], command=command)
    wants_vms = any(t.partition("=")[0].strip().lower() == "vm" for t in tokens)
    operation = operation_for(command, verb, vms=wants_vms)
    if operation is None:
        return UsageError(Problem.NOT_KEY_VALUE, value=tokens[0], command=command)
    form = operation.form
    values = _pairs(tokens[1:] if verb else tokens, form)
    if isinstance(values, UsageError):
        return values
    missing = tuple(k for k in form.required if k not in values)
    if missing:
        return UsageError(Problem.MISSING, keys=missing, command=command)
    for key, words in form.choices.items():
        given = values.setdefault(key, words[0]).lower()
        if given not in words:
            return UsageError(Problem.CHOICE, key, values[key], words, command=command)
        values[key] = given
    vms = _vms(values, command)
    if isinstance(vms, UsageError):
        return vms
    options = tuple((k, v) for k, v in values.items() if k not in ("plan", "vm"))
    return StepRequest(values["plan"], operation.name, options, vms)


def keys_of(command: str) -> tuple[str, ...]:
    """Every key `command` takes, whatever its verb, in the forms' order."""
    if command == REPROTECT_COMMAND:
        return FORM.keys
    return tuple(dict.fromkeys(key for verb in verbs(command)
                               for op in (operation_for(command, verb),
                                          operation_for(command, verb, vms=True))
                               if op is not None for key in op.form.keys))


def _pairs(tokens: list[str], form: Form) -> dict[str, str] | UsageError:
    """`key=value` tokens: keys in any case, each once, known to the form, values not empty."""
    values: dict[str, str] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        key = key.strip().lower()
        if not sep:
            return UsageError(Problem.NOT_KEY_VALUE, value=token, command=form.command)
        if key not in form.keys:
            return UsageError(Problem.UNKNOWN_KEY, key, command=form.command)
        if key in values:
            return UsageError(Problem.TWICE, key, command=form.command)
        if not value.strip():
            return UsageError(Problem.EMPTY, key, command=form.command)
        if _control_character(value):
            return UsageError(Problem.CONTROL, command=form.command)
        if len(value.strip()) > NAME_LENGTH and key != "vm":
            return UsageError(Problem.TOO_LONG, key, value.strip(), command=form.command)
        values[key] = value.strip()
    return values


def _vms(values: dict[str, str], command: str) -> tuple[str, ...] | UsageError:
    """The names `vm=` lists, separated by commas."""
    vms = tuple(v.strip() for v in values.get("vm", "").split(",") if v.strip())
    if "vm" in values and not vms:
        return UsageError(Problem.NO_VM, command=command)
    long_vm = next((v for v in vms if len(v) > NAME_LENGTH), None)
    if long_vm is not None:
        return UsageError(Problem.TOO_LONG, "vm", long_vm, command=command)
    return vms
# Keys that name the classic reprotect to Azure without `master=` (`ps=`, `account=`).
TO_AZURE_KEYS = ("ps", "account")


def _form_error(values: dict[str, str]) -> UsageError | None:
    """`plan`, then at most one of `master` (classic) and `appliance` (modernized), each with
    only its own keys, or (classic reprotect to Azure) `ps` or `account`: which form fits
    the plan's direction is known once its items are read (`reprotect_to_azure`)."""
    forms = [k for k in FORM.form_keys if k in values]
    named = forms or [k for k in TO_AZURE_KEYS if k in values]
    missing = ([] if "plan" in values else ["plan"]) + ([] if named else ["master"])
    if missing:
        return UsageError(Problem.MISSING, keys=tuple(missing))
    if len(forms) > 1:
        return UsageError(Problem.BOTH_FORMS)
    if not forms:
        return None
    (form,) = forms
    other = next(k for k in FORM.form_keys if k != form)
    stray = tuple(k for k in FORM.form_keys[other] if k in values)
    if stray:
        return UsageError(Problem.STRAY, form, keys=stray, other=other)
    return None


def _control_character(text: str) -> bool:
    """Control characters and lone surrogates, which names never hold and PostgreSQL
    refuses (NUL) or cannot encode."""
    return any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text)
