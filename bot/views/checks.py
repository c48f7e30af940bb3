"""The words of every preflight check: `message(result)` and `fix(result)` fill the catalog's
templates for (check id, outcome key) with the result's values, each escaped.

Checks return data (`core.plan.CheckResult`: check id, verdict, outcome key, raw
values); the catalogs (`bot.views.checks_classic`, `bot.views.checks_modernized`) hold their
words. In a template, `{name}` is the value as escaped text and `{name!x}` the value shown by
conversion `x` of CONVERSIONS (`c`: one code span; `l`: code spans, each once, or "none"),
so no name from Azure, vCenter or the operator can be read as Slack markup.

To word a new check: return `CheckResult("my-check", Verdict.BLOCK, "my-outcome",
{"vm": name, "count": n}, vms)` (or `passed("my-check")`) with raw values, never sentences;
add `("my-check", "my-outcome"): Words("… {vm!c} … {count} …", "What to do …")` to the
architecture's catalog (or a new catalog merged into CATALOG). `tests/unit/test_views_hostile`
then renders it with hostile values and checks that every outcome the code writes has words.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.views.check_words import Words
from bot.views.checks_classic import CLASSIC
from bot.views.checks_failback import FAILBACK
from bot.views.checks_modernized import MODERNIZED
from bot.views.checks_to_azure import TO_AZURE
from bot.views.commit import CATALOG as STEPS
from bot.views.mrkdwn import code, escape
from core.plan import STORED, CheckResult, Verdict

CATALOG: dict[tuple[str, str], Words] = CLASSIC | MODERNIZED | FAILBACK | STEPS | TO_AZURE
STORED_WORDS = Words("{message}", "{fix}")  # a result an older version stored as text

# The appliance's services as the portal names them (Site Recovery's component kinds).
SERVICES = {"reprotectAgent": "reprotect agent", "processServers": "process server",
            "rcmProxies": "RCM proxy", "pushInstallers": "push installer",
            "replicationAgents": "replication agent", "marsAgents": "MARS agent"}


@dataclass(frozen=True)
class _Shown:
    """Text a conversion already made safe for Slack: not escaped again."""

    text: str


def spans(values: Sequence[Any], join: str = ", ", empty: str = "none") -> str:
    """Each value once, in order, as a code span."""
    return join.join(code(str(v)) for v in dict.fromkeys(values)) or empty


def age(minutes: int | None) -> str:
    """A heartbeat's age (None: there never was one)."""
    return "never" if minutes is None else f"{minutes} min ago"


def _problems(problems: Sequence[int | str | None]) -> str:
    """A stale heartbeat (its age in minutes, None: never) and Site Recovery's health errors."""
    return "; ".join(escape(p) if isinstance(p, str) else f"last heartbeat {age(p)}"
                     for p in problems)


def _service_problems(problems: Sequence[Sequence[Any]]) -> str:
    """An appliance's services: (kind, "health" | "heartbeat" | "error", value)."""
    shown = {"health": lambda v: f"health {escape(v)}",
             "heartbeat": lambda v: f"last heartbeat {age(v)}", "error": escape}
    return "; ".join(f"{SERVICES.get(kind, escape(kind))} {shown[what](value)}"
                     for kind, what, value in problems)


def _moves(moves: Sequence[Sequence[str]]) -> str:
    """Storage vMotions from vCenter's events: (when, from, to, by whom or "")."""
    return "; ".join(
        f"on {datetime.fromisoformat(when):%Y-%m-%d %H:%M} UTC from {code(source)} to "
        f"{code(target)}" + (f" by {code(user)}" if user else "")
        for when, source, target, user in moves)


def _points(points: Sequence[Sequence[Any]]) -> str:
    """Recovery points: (VM, ISO 8601 UTC or None, age in minutes or None)."""
    return "; ".join(
        f"{code(vm)} " + (f"{datetime.fromisoformat(at):%Y-%m-%d %H:%M} UTC ({minutes} min old)"
                          if at else "none reported") for vm, at, minutes in points)


def _progress(items: Sequence[Sequence[Any]]) -> str:
    """Items failing back: (name, protection state, percent or None)."""
    return ", ".join(f"{code(name)} {escape(state)}" + (f" {percent}%" if percent is not None
                                                        else "")
                     for name, state, percent in items)


CONVERSIONS: dict[str, Callable[[Any], str]] = {
    "c": lambda v: code(str(v)),                                   # one code span
    "l": spans,                                                    # names, or "none"
    "o": lambda v: spans(v, " or "),                               # the values expected
    "d": lambda v: f"Did you mean {spans(v)}?" if v else "",       # suggested names
    "j": lambda v: "; ".join(escape(str(x)) for x in v),           # texts as given
    "a": age,                                                      # heartbeat minutes
    "e": _points,                                                  # recovery points
    "p": _problems,                                                # heartbeat and errors
    "q": _service_problems,                                        # appliance services'
    "k": lambda v: SERVICES.get(v, escape(v)),                     # a service's kind
    "n": lambda v: ", ".join(f"{code(n)} ({escape(str(d))})" for n, d in v),  # name (detail)
    "r": lambda v: "; ".join(f"{escape(p)} on {code(e)}" for p, e in v),      # privileges
    "b": lambda v: ", ".join(escape(w) + (f" ({n})" if n else "") for w, n in v),  # found by
    "m": _moves,                                                   # Storage vMotions
    "g": _progress,                                                # failback progress
    "w": lambda v: f" Why: {escape(v)}." if v else "",             # a gateway's why
    "h": lambda v: f"master target host {code(v)}" if v else "the master target's host",
    "t": lambda v: escape(v) if v else "of unknown type",          # a datastore type
}


class _Filler(string.Formatter):
    """str.format where every value is escaped, or shown by its conversion."""

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        return value if conversion is None else _Shown(CONVERSIONS[conversion](value))

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, _Shown):
            return value.text
        return escape(format("none" if value is None else value, format_spec))


_FILLER = _Filler()


def fill(template: str, values: Mapping[str, Any]) -> str:
    """`template` with `values` put in, each escaped or shown by its conversion."""
    return _FILLER.vformat(template, (), values).strip()


def words(result: CheckResult) -> Words:
    """The catalog's words for the result's check and outcome."""
    if result.key == STORED:
        return STORED_WORDS
    found = CATALOG.get((result.check, result.key))
    if found is None:
        raise KeyError(f"no words for check {result.check!r}, outcome {result.key!r}")
    return found


def manual_item(check: str, key: str) -> str:
    """A manual item named by its check and outcome, where its values are not at hand (a
    private refusal): its words when they need no values, else its check id."""
    try:
        return message(CheckResult(check, Verdict.MANUAL, key))
    except (KeyError, IndexError):
        return f"*{escape(check)}*"


def message(result: CheckResult) -> str:
    """What the check found, every value escaped."""
    return fill(words(result).message, result.values)


def fix(result: CheckResult) -> str:
    """What to do about it ("" when nothing)."""
    return fill(words(result).fix, result.values)
