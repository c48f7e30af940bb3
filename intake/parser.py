"""Parse the text of `/reprotect` into a request, a help reply or a usage error.

Pure and total: every input maps to exactly one of three outcomes, so the Slack listener
never has to guess, and the grammar is tested table by table without Slack.
"""

from __future__ import annotations

import shlex
import unicodedata
from dataclasses import dataclass

from core.mrkdwn import code
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


@dataclass(frozen=True)
class UsageError:
    """The text is malformed; `message` says what is wrong, `usage` how to write it."""

    message: str
    usage: str = FORM.usage


ParseResult = ReprotectRequest | HelpRequest | StatusRequest | CancelRequest | UsageError


def parse(text: str) -> ParseResult:
    """Turn the slash command's text into one outcome; never raises."""
    if _control_character(text.replace("\t", " ").replace("\n", " ").replace("\r", " ")):
        return UsageError(_CONTROL)
    try:
        tokens = shlex.split(text.replace("“", '"').replace("”", '"'))
    except ValueError:
        return UsageError("A quote is not closed: check the value in `\"…\"`.")
    if not tokens or (len(tokens) == 1 and tokens[0].lower() in ("help", "-h", "--help")):
        return HelpRequest()
    if len(tokens) == 1 and tokens[0].lower() == "status":
        return StatusRequest()
    if tokens[0].lower() == "cancel":
        number = row_number(tokens[1].lstrip("#")) if len(tokens) == 2 else None
        if number is None:
            return UsageError("`cancel` takes one request number, e.g. `/reprotect cancel 12`.")
        return CancelRequest(number)
    values: dict[str, str] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        key = key.strip().lower()
        if not sep:
            return UsageError(f"{code(token)} is not of the form `key=value`.")
        if key not in FORM.keys:
            known = ", ".join(f"`{k}`" for k in FORM.keys)
            return UsageError(f"Unknown key {code(key)}: the keys are {known}.")
        if key in values:
            return UsageError(f"`{key}` is given twice: give it once.")
        if not value.strip():
            return UsageError(f"`{key}` has an empty value.")
        if _control_character(value):
            return UsageError(_CONTROL)
        if len(value.strip()) > NAME_LENGTH and key != "vm":
            return UsageError(_too_long(f"`{key}` is", value.strip()))
        values[key] = value.strip()
    form_error = _form_error(values)
    if form_error:
        return UsageError(form_error)
    vms = tuple(v.strip() for v in values.get("vm", "").split(",") if v.strip())
    if "vm" in values and not vms:
        return UsageError("`vm` names no VM: list names separated by commas.")
    long_vm = next((v for v in vms if len(v) > NAME_LENGTH), None)
    if long_vm is not None:
        return UsageError(_too_long("A `vm` name is", long_vm))
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


def _form_error(values: dict[str, str]) -> str | None:
    """`plan`, then exactly one of `master` (classic) and `appliance` (modernized), each with
    only its own keys."""
    forms = [k for k in FORM.form_keys if k in values]
    missing = ([] if "plan" in values else ["`plan`"]) + ([] if forms else ["`master`"])
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        return " and ".join(missing) + f" {verb} required" + (
            "" if forms else f" (or `appliance`): {FORM.forms}") + "."
    if len(forms) > 1:
        return (f"`master` and `appliance` are both given: {FORM.forms}. Give the one of the "
                "plan's.")
    (form,) = forms
    other = next(k for k in FORM.form_keys if k != form)
    stray = [k for k in FORM.form_keys[other] if k in values]
    if stray:
        keys = " and ".join(f"`{k}`" for k in stray)
        verb = "goes" if len(stray) == 1 else "go"
        return f"{keys} {verb} with `{other}=`, not `{form}=`: {FORM.forms}."
    return None


_CONTROL = ("The command contains a control character (a line break inside quotes, a tab or an "
            "invisible character pasted in): retype the values on one line.")


def _control_character(text: str) -> bool:
    """Control characters and lone surrogates, which names never hold and PostgreSQL
    refuses (NUL) or cannot encode."""
    return any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text)


def _too_long(what: str, value: str) -> str:
    return (f"{what} {len(value)} characters long; the bot keeps names of at most "
            f"{NAME_LENGTH}. Check the value that starts {code(value[:40])}.")
