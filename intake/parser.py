"""Parse the text of `/reprotect` into a request, a help reply or a usage error.

Pure and total: every input maps to exactly one of three outcomes, so the Slack listener
never has to guess, and the grammar is tested table by table without Slack.
"""

from __future__ import annotations

import enum
import shlex
import unicodedata
from dataclasses import dataclass

from core.plan import ReprotectRequest
from operations import REPROTECT
from store.models import NAME_LENGTH, row_number

FORM = REPROTECT.form


@dataclass(frozen=True)
class HelpRequest:
    """`/reprotect help` (or no text at all)."""


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


@dataclass(frozen=True)
class UsageError:
    """The text is malformed: which `problem`, with the key and value it concerns."""

    problem: Problem
    key: str = ""
    value: str = ""
    keys: tuple[str, ...] = ()
    other: str = ""


ParseResult = ReprotectRequest | HelpRequest | StatusRequest | CancelRequest | UsageError


def parse(text: str) -> ParseResult:
    """Turn the slash command's text into one outcome; never raises."""
    if _control_character(text.replace("\t", " ").replace("\n", " ").replace("\r", " ")):
        return UsageError(Problem.CONTROL)
    try:
        tokens = shlex.split(text.replace("“", '"').replace("”", '"'))
    except ValueError:
        return UsageError(Problem.QUOTE)
    if not tokens or (len(tokens) == 1 and tokens[0].lower() in ("help", "-h", "--help")):
        return HelpRequest()
    if len(tokens) == 1 and tokens[0].lower() == "status":
        return StatusRequest()
    if tokens[0].lower() == "cancel":
        number = row_number(tokens[1].lstrip("#")) if len(tokens) == 2 else None
        if number is None:
            return UsageError(Problem.CANCEL)
        return CancelRequest(number)

    values: dict[str, str] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        key = key.strip().lower()
        if not sep:
            return UsageError(Problem.NOT_KEY_VALUE, value=token)
        if key not in FORM.keys:
            return UsageError(Problem.UNKNOWN_KEY, key)
        if key in values:
            return UsageError(Problem.TWICE, key)
        if not value.strip():
            return UsageError(Problem.EMPTY, key)
        if _control_character(value):
            return UsageError(Problem.CONTROL)
        if len(value.strip()) > NAME_LENGTH and key != "vm":
            return UsageError(Problem.TOO_LONG, key, value.strip())
        values[key] = value.strip()
    form_error = _form_error(values)
    if form_error:
        return form_error
    vms = tuple(v.strip() for v in values.get("vm", "").split(",") if v.strip())
    if "vm" in values and not vms:
        return UsageError(Problem.NO_VM)
    long_vm = next((v for v in vms if len(v) > NAME_LENGTH), None)
    if long_vm is not None:
        return UsageError(Problem.TOO_LONG, "vm", long_vm)
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
