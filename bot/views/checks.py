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
then renders it with hostile values and checks that every outcome the code writes has words;
`tests/unit/test_i18n` that the French catalog translates it (`extract_catalog` gives Babel
every template: add the French with `pybabel update`, see the README's "Language").
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from babel.messages.extract import extract_python

from bot.views.check_words import Words
from bot.views.checks_classic import CLASSIC
from bot.views.checks_failback import FAILBACK
from bot.views.checks_modernized import MODERNIZED
from bot.views.checks_to_azure import TO_AZURE
from bot.views.commit import CATALOG as STEPS
from bot.views.i18n import N_, _
from bot.views.mrkdwn import code, escape
from core.plan import STORED, CheckResult, Verdict

CATALOG: dict[tuple[str, str], Words] = CLASSIC | MODERNIZED | FAILBACK | STEPS | TO_AZURE
STORED_WORDS = Words("{message}", "{fix}")  # a result an older version stored as text

# The appliance's services as the portal names them (Site Recovery's component kinds).
SERVICES = {"reprotectAgent": N_("reprotect agent"), "processServers": N_("process server"),
            "rcmProxies": N_("RCM proxy"), "pushInstallers": N_("push installer"),
            "replicationAgents": N_("replication agent"), "marsAgents": N_("MARS agent")}


@dataclass(frozen=True)
class _Shown:
    """Text a conversion already made safe for Slack: not escaped again."""

    text: str


def spans(values: Sequence[Any], join: str = ", ", empty: str | None = None) -> str:
    """Each value once, in order, as a code span ("none" when there is none)."""
    return join.join(code(str(v)) for v in dict.fromkeys(values)) or (
        _("none") if empty is None else empty)


def service(kind: str) -> str:
    """An appliance service's kind as the portal names it."""
    return _(SERVICES[kind]) if kind in SERVICES else escape(kind)


def age(minutes: int | None) -> str:
    """A heartbeat's age (None: there never was one)."""
    return _("never") if minutes is None else _("{minutes} min ago").format(minutes=minutes)


def _problems(problems: Sequence[int | str | None]) -> str:
    """A stale heartbeat (its age in minutes, None: never) and Site Recovery's health errors."""
    return "; ".join(escape(p) if isinstance(p, str)
                     else _("last heartbeat {age}").format(age=age(p)) for p in problems)


def _service_problems(problems: Sequence[Sequence[Any]]) -> str:
    """An appliance's services: (kind, "health" | "heartbeat" | "error", value)."""
    shown: dict[str, Callable[[Any], str]] = {
        "health": lambda v: _("health {health}").format(health=escape(v)),
        "heartbeat": lambda v: _("last heartbeat {age}").format(age=age(v)), "error": escape}
    return "; ".join(f"{service(kind)} {shown[what](value)}" for kind, what, value in problems)


def _moves(moves: Sequence[Sequence[str]]) -> str:
    """Storage vMotions from vCenter's events: (when, from, to, by whom or "")."""
    def move(when: str, source: str, target: str, user: str) -> str:
        values = {"when": f"{datetime.fromisoformat(when):%Y-%m-%d %H:%M}",
                  "source": code(source), "target": code(target), "user": code(user)}
        return (_("on {when} UTC from {source} to {target} by {user}") if user
                else _("on {when} UTC from {source} to {target}")).format(**values)

    return "; ".join(move(*m) for m in moves)


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
    "d": lambda v: _("Did you mean {names}?").format(names=spans(v)) if v else "",  # names
    "j": lambda v: "; ".join(escape(str(x)) for x in v),           # texts as given
    "a": age,                                                      # heartbeat minutes
    "e": _points,                                                  # recovery points
    "p": _problems,                                                # heartbeat and errors
    "q": _service_problems,                                        # appliance services'
    "k": service,                                                  # a service's kind
    "n": lambda v: ", ".join(f"{code(n)} ({escape(str(d))})" for n, d in v),  # name (detail)
    "r": lambda v: "; ".join(_("{privilege} on {entity}").format(
        privilege=escape(p), entity=code(e)) for p, e in v),       # privileges
    "b": lambda v: ", ".join(escape(w) + (f" ({n})" if n else "") for w, n in v),  # found by
    "m": _moves,                                                   # Storage vMotions
    "g": _progress,                                                # failback progress
    "w": lambda v: _(" Why: {why}.").format(why=escape(v)) if v else "",  # a gateway's why
    "h": lambda v: _("master target host {host}").format(host=code(v)) if v
    else _("the master target's host"),
    "t": lambda v: escape(v) if v else _("of unknown type"),       # a datastore type
}


class _Filler(string.Formatter):
    """str.format where every value is escaped, or shown by its conversion."""

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        return value if conversion is None else _Shown(CONVERSIONS[conversion](value))

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, _Shown):
            return value.text
        return escape(format(_("none") if value is None else value, format_spec))


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
    """What the check found, in the current language, every value escaped."""
    return fill(_(words(result).message), result.values)


def fix(result: CheckResult) -> str:
    """What to do about it ("" when nothing)."""
    template = words(result).fix
    return fill(_(template), result.values) if template else ""


def catalog_templates() -> list[str]:
    """Every template of the catalog with words to translate (not a bare `{fix}`), once."""
    templates = (t for w in CATALOG.values() for t in (w.message, w.fix))
    return [t for t in dict.fromkeys(templates)
            if t and any(text.strip() for text, *_rest in string.Formatter().parse(t))]


def extract_catalog(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
                    options: Any) -> Iterator[tuple[Any, ...]]:
    """Babel's extractor for this module (babel.cfg): its marked words, then every
    template of the check catalog, which the catalogs compose from shared parts."""
    yield from extract_python(fileobj, keywords, comment_tags, options)
    for template in catalog_templates():
        yield 0, None, template, []
