"""Every view with hostile outside text: names and texts from Azure, vCenter and people that
try to notify the channel, hide a link, or leave their code span are shown inert.

The samples are the snapshot samples of `test_thread_views`, with every text field that comes
from outside (VM names, job ids, Site Recovery's messages, reasons) replaced by HOSTILE; the
user IDs Slack gives the bot stay real IDs, since the bot writes those mentions itself.
Every test runs in each language the bot speaks: a translation must keep values inert too.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot import views
from bot.views import checks, private, thread
from bot.views.check_words import Words
from bot.views.i18n import LANGUAGES, using
from bot.views.mrkdwn import BACKTICK_STAND_IN
from core import events as ev
from core.decisions import Action, Decision, Refusal
from core.events import Change, ChangeKind
from core.notices import Locked, NotTaken, PlanIssue, PlanProblem, PreflightFailed
from core.plan import CheckResult, Choice, PlannedItem, ResolvedPlan, Verdict
from core.ports import Throttled
from intake.parser import Problem, UsageError
from intake.slash import Answer, Reply
from providers.classic.preflight import run_checks
from store.models import Request, RequestStatus
from tests.support.preflight import NOW, facts
from tests.unit.test_thread_views import SAMPLES
from tests.unit.test_views_limits import healthy

HOSTILE = "x` <!channel> <@U123> <https://x|y> & *bold*\nline2 `y"
# Fields that hold a Slack user ID, a cause code or a JSON plan: not outside text.
NOT_TEXT = {"by", "cause", "outcome", "kind", "plan", "command", "operation"}
# The hostile name whole in one code span that closes after it (maybe with more of a command).
SPAN_END = re.compile(r"&lt;@U123&gt; &lt;https://x\|y&gt; &amp; \*bold\* line2 ˋy[^`\n]*`")
LIVE = re.compile(r"<!(?!date\^)|<@U123|<https://x")


@pytest.fixture(autouse=True, params=LANGUAGES)
def language(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test once per language, the views worded in it."""
    with using(request.param):
        yield request.param


def hostile(value: Any) -> Any:
    """`value` with each outside text replaced by HOSTILE, nested values included."""
    if isinstance(value, str):
        return HOSTILE
    if isinstance(value, tuple):
        return tuple(hostile(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{  # type: ignore[misc]
            f.name: hostile(getattr(value, f.name)) for f in dataclasses.fields(value)
            if (f.name not in NOT_TEXT and isinstance(getattr(value, f.name), (str, tuple)))
            or dataclasses.is_dataclass(getattr(value, f.name))})
    return value


def texts(message: dict[str, Any]) -> list[str]:
    """Every mrkdwn text Slack renders from the message, the fallback included."""
    found = [message["text"]]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(message.get("blocks", []))
    return found


def assert_inert(text: str) -> None:
    """No live mention or link, and the hostile name never leaves a code span."""
    assert not LIVE.search(text), text
    for line in text.splitlines():
        if BACKTICK_STAND_IN in line:  # a hostile name in a code span: the span holds it all
            assert SPAN_END.search(line), line


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_thread_event_shows_outside_text_inert(name: str) -> None:
    for text in texts(thread.render(hostile(SAMPLES[name]))):
        assert_inert(text)


# The words each test expects next to the values, as each language says them.
KNOWN_FIX = {"en": ":bulb: The Azure VM cannot reach the configuration server",
             "fr": ":bulb: La VM Azure ne peut pas joindre le serveur de configuration"}
NOT_PROTECTED = {"en": "is not protected yet", "fr": "n'est pas encore protégée"}
VALUE_OF = {"en": "Datastore of `xˋ", "fr": "Datastore de `xˋ"}


def test_job_errors_from_site_recovery_are_shown_as_text(language: str) -> None:
    """r03: the job error's message, causes, action and provider message stay inert."""
    error = ev.JobErrorInfo("95226", "VM <!channel> re-enter creds at "
                            "<https://evil.example/login|Azure portal>", "<!here> causes",
                            "<!here> click <https://evil.example|here>", "31389",
                            "<@U0CAROL> says hi")
    text = thread.render(ev.JobFailed("vm-app-02", "job-1", "", (error,), 5))["text"]
    for raw in ("<!channel>", "<!here>", "<https://evil.example", "<@U0CAROL>"):
        assert raw not in text
    assert "&lt;!channel&gt;" in text and "&lt;@U0CAROL&gt; says hi" in text
    assert KNOWN_FIX[language] in text


def test_a_vm_name_cannot_leave_its_code_span_in_the_health_warning(language: str) -> None:
    """r04: a backtick in a VM's name does not end its code span; health errors are text."""
    item = ev.ItemState("InitialReplicationInProgress", "Critical", (
        ev.HealthIssue("78122", "Initial replication of <!here> is not progressing.",
                       "Check the process server."),))
    text = thread.render(ev.HealthWarning("app-02` <!channel> `x", item))["text"]
    assert text.startswith(f":warning: `app-02ˋ &lt;!channel&gt; ˋx` {NOT_PROTECTED[language]}")
    assert "<!" not in text and "Initial replication of &lt;!here&gt;" in text


def test_the_samples_cover_every_thread_event() -> None:
    assert {type(hostile(e)) for e in SAMPLES.values()} == {type(e) for e in SAMPLES.values()}
    assert all(json.dumps(thread.render(hostile(e))) for e in SAMPLES.values())


# -- every check's words ----------------------------------------------------------------------

_FIELD = re.compile(r"(?<!\{)\{(\w+)(?:!(\w))?(?::[^}]*)?\}")
_WHEN = "2026-11-23T03:00:00+00:00"
# A hostile value of the shape each conversion takes (names, pairs, heartbeats…).
SHAPES: dict[str | None, Any] = {
    None: HOSTILE, "c": HOSTILE, "k": HOSTILE, "t": HOSTILE, "w": HOSTILE, "h": HOSTILE,
    "a": 7, "l": (HOSTILE, "vm-2"), "o": (HOSTILE, "VMFS"), "d": (HOSTILE,),
    "j": (HOSTILE,), "p": (120, None, HOSTILE), "n": ((HOSTILE, HOSTILE),),
    "r": ((HOSTILE, HOSTILE),), "b": ((HOSTILE, "2"),), "m": ((_WHEN, HOSTILE, HOSTILE, HOSTILE),),
    "g": ((HOSTILE, HOSTILE, 40),), "e": ((HOSTILE, _WHEN, 12), (HOSTILE, None, None)),
    "q": ((HOSTILE, "health", HOSTILE), ("processServers", "heartbeat", None),
          (HOSTILE, "error", HOSTILE)),
}


def hostile_values(words: Words) -> dict[str, Any]:
    """Every value the outcome's words name, hostile in the shape its conversion takes."""
    values: dict[str, Any] = {}
    for template in (words.message, words.fix):
        for match in _FIELD.finditer(template):
            numeric = ":" in match.group(0)  # a format spec: a number (`{used:.0f}`)
            values[match.group(1)] = 50.0 if numeric else SHAPES[match.group(2)]
    return values


def hostile_result(check: str, key: str, verdict: Verdict = Verdict.BLOCK) -> CheckResult:
    return CheckResult(check, verdict, key, hostile_values(checks.CATALOG[(check, key)]),
                       (HOSTILE, "vm-2"))


@pytest.mark.parametrize(("check", "key"), sorted(checks.CATALOG))
def test_every_check_outcome_shows_its_values_inert(check: str, key: str) -> None:
    result = hostile_result(check, key)
    said = checks.message(result)
    assert said and "{" not in said.replace("{vault}", "")
    assert_inert(said)
    assert_inert(checks.fix(result))


def test_an_old_result_stored_as_words_is_shown_as_text() -> None:
    stored = ResolvedPlan.from_json({**healthy(1).to_json(), "checks": [
        {"check": "mt-exists", "verdict": "block", "message": HOSTILE, "fix": HOSTILE}]})
    (result,) = stored.checks
    assert "&lt;!channel&gt;" in checks.message(result) and "<!" not in checks.fix(result)


# -- the request message -------------------------------------------------------------------

def hostile_plan() -> ResolvedPlan:
    """Every check outcome once, every name hostile, manual items included."""
    results = tuple(hostile_result(check, key, Verdict.MANUAL if check in MANUAL
                                   else Verdict.BLOCK if n % 2 else Verdict.WARN)
                    for n, (check, key) in enumerate(sorted(checks.CATALOG)))
    choice = Choice("id", HOSTILE, HOSTILE)
    base = healthy(1)
    return replace(base, plan_friendly_name=HOSTILE, plan_name=HOSTILE, checks=results,
                   items=(PlannedItem("/items/1", HOSTILE, None, choice, choice),
                          PlannedItem("/items/2", "vm-2")),
                   master_target=choice, process_server=choice, datastore=choice,
                   retention=choice, policy=choice)


MANUAL = ("network-ready", "appliance-network")


@pytest.mark.parametrize("status", [s.value for s in RequestStatus])
@pytest.mark.parametrize("provider", ["classic", "modernized"])
def test_the_request_message_shows_every_name_inert_in_every_state(status: str,
                                                                  provider: str) -> None:
    plan = replace(hostile_plan(), provider=provider,
                   appliance=Choice("a", HOSTILE) if provider == "modernized" else None)
    ticked = {plan.manual_items[0].key: ("U0BOB", NOW)}
    message = views.request_message(
        request_id=7, requester="U0ALICE", plan=plan, status=status,
        approvals=[("U0BOB", NOW)], required=2, expires_at=NOW, confirmations=ticked,
        decided_note=views.decided_note(status, "U0BOB", HOSTILE))
    for text in texts(message):
        assert_inert(text)


def test_preflight_changes_show_every_name_inert(language: str) -> None:
    plan = hostile_plan()
    blocker = plan.blockers[0]
    changes = (Change(ChangeKind.BLOCKS, blocker.check, vms=blocker.vms),
               Change(ChangeKind.VALUE, "Datastore", HOSTILE, HOSTILE, HOSTILE),
               Change(ChangeKind.VMS, vms=(HOSTILE,), gone=(HOSTILE,)),
               Change(ChangeKind.RUN_AS), Change(ChangeKind.IDS),
               Change(ChangeKind.REFUSED, problem=PlanProblem(PlanIssue.NO_PLAN, HOSTILE,
                                                              (HOSTILE,), (HOSTILE,))))
    message = views.preflight_changed(7, HOSTILE, changes, plan)
    for text in texts(message):
        assert_inert(text)
    assert VALUE_OF[language] in message["text"]


# -- private replies -------------------------------------------------------------------------

def test_every_private_reply_shows_outside_text_inert() -> None:
    said = [private.decision(Decision(False, action, refusal, status="executing",
                                      ask=frozenset({"U2"}), missing=1, vm=HOSTILE, number=7,
                                      details=(HOSTILE,), manual=((HOSTILE, HOSTILE),)))
            for refusal in Refusal for action in Action]
    said += [private.notice(n) for n in (
        PreflightFailed(HOSTILE, HOSTILE), PreflightFailed(HOSTILE),
        Locked(3, None, "U1", "pending"), NotTaken(HOSTILE),
        *(PlanProblem(issue, HOSTILE, (HOSTILE,), (HOSTILE,), (HOSTILE,), HOSTILE, HOSTILE,
                      HOSTILE, HOSTILE) for issue in PlanIssue))]
    row = Request(id=3, trigger_id="t", team_id="T", channel_id="C", requester_id="U1",
                  command_text=HOSTILE, plan_name=HOSTILE, status=RequestStatus.PENDING)
    said += [private.reply(Reply(answer, 1, plan=HOSTILE,
                                 usage=UsageError(problem, HOSTILE, HOSTILE, (HOSTILE,), HOSTILE),
                                 channels=frozenset({"C1"}), requests=(row,), explanation=HOSTILE,
                                 throttled=Throttled(30, everyone=True)))
             for answer in Answer for problem in Problem]
    said += [private.not_taken("approval", HOSTILE), private.dialog_failed(3, HOSTILE)]
    for text in said:
        assert_inert(text)


# The unknown OS type's line, as each language says it.
ODD_OS = {"en": "VM `app-02ˋ &lt;!channel&gt; ˋx`'s OS type is `Plan9`",
          "fr": "Le type de système de la VM `app-02ˋ &lt;!channel&gt; ˋx` est `Plan9`"}


def test_a_vm_name_from_azure_cannot_mention_the_channel_in_the_request_message(
        language: str) -> None:
    """r09: a VM whose VMware display name holds a backtick and `<!channel>`, with an OS type
    the bot does not know: its check lines show the name inert, in one code span."""
    odd = replace(facts().items[0], friendly_name="app-02` <!channel> `x", os_type="Plan9")
    plan = replace(healthy(1), checks=run_checks(facts(items=(odd,))))
    message = views.request_message(
        request_id=7, requester="U0ALICE", plan=plan, status="pending", approvals=[],
        required=1, expires_at=None)
    shown = "\n".join(texts(message))
    assert "<!channel>" not in shown
    assert ODD_OS[language] in shown


def _outcomes_in_code() -> set[tuple[str, str]]:
    """(check id, outcome key) of every `CheckResult(...)` and `passed(...)` whose id and key
    are written out in the production code (ids built at run time are rendered above)."""
    root = Path(__file__).resolve().parents[2]
    found = set()
    paths = [p for folder in ("core", "intake", "providers", "tracking", "operations")
             for p in root.glob(f"{folder}/**/*.py")]
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            args = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
            if node.func.id == "CheckResult" and len(args) > 2 and args[0] and args[2]:
                found.add((args[0], args[2]))
            elif node.func.id in ("passed", "_ok") and args and args[0]:
                found.add((args[0], args[1] if len(args) > 1 and args[1] else "ok"))
    return found


def test_every_outcome_the_checks_give_has_words() -> None:
    written = _outcomes_in_code()
    assert len(written) > 100
    assert written <= set(checks.CATALOG), sorted(written - set(checks.CATALOG))
