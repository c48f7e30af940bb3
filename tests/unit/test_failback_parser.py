"""The `/failback` grammar: the operation named by command, verb and `vm=`, with the same
rules as `/reprotect` (quotes, keys in any case, unknown/repeated/missing/empty refused)."""

from __future__ import annotations

import pytest

from bot.views.usage import help_text, usage
from core.plan import StepRequest
from intake.parser import HelpRequest, Problem, UsageError, parse
from operations import operation_for, requested
from operations.base import Scope

FAILBACK = "/failback"


@pytest.mark.parametrize(("text", "expected"), [
    ("plan=rp1", StepRequest("rp1", "failback", (("point", "latest"),))),
    ("PLAN=rp1 Point=Consistent", StepRequest("rp1", "failback", (("point", "consistent"),))),
    ('plan="Finance tier 1" point=latest',
     StepRequest("Finance tier 1", "failback", (("point", "latest"),))),
    ("plan=“Finance tier 1”", StepRequest("Finance tier 1", "failback", (("point", "latest"),))),
    ("plan=rp1 vm=app-01,app-02",
     StepRequest("rp1", "failback-vm", (("point", "latest"),), ("app-01", "app-02"))),
])
def test_failback_commands_name_their_operation(text: str, expected: StepRequest) -> None:
    assert parse(text, FAILBACK) == expected


@pytest.mark.parametrize(("text", "problem", "key"), [
    ("point=latest", Problem.MISSING, ""),
    ("plan=rp1 plan=rp2", Problem.TWICE, "plan"),
    ("plan=rp1 master=mt1", Problem.UNKNOWN_KEY, "master"),
    ("plan=", Problem.EMPTY, "plan"),
    ("plan=rp1 point=yesterday", Problem.CHOICE, "point"),
    ("plan=rp1 vm=,", Problem.NO_VM, ""),
    ("rollback plan=rp1", Problem.NOT_KEY_VALUE, ""),
    ('plan="rp1', Problem.QUOTE, ""),
])
def test_malformed_failback_commands_are_usage_errors(text: str, problem: Problem,
                                                      key: str) -> None:
    parsed = parse(text, FAILBACK)
    assert isinstance(parsed, UsageError)
    assert (parsed.problem, parsed.key, parsed.command) == (problem, key, FAILBACK)
    said = usage(parsed)
    assert "/failback plan=<recovery plan> [point=latest|consistent]" in said
    assert "/reprotect plan=" not in said


def test_a_wrong_point_says_which_words_it_takes() -> None:
    parsed = parse("plan=rp1 point=yesterday", FAILBACK)
    assert isinstance(parsed, UsageError)
    assert "`point` is `yesterday`: it takes `latest` or `consistent`" in usage(parsed)


def test_unknown_key_lists_the_failback_keys() -> None:
    parsed = parse("plan=rp1 master=mt1", FAILBACK)
    assert isinstance(parsed, UsageError)
    assert "the keys are `plan`, `point`, `vm`" in usage(parsed)


def test_help_is_the_commands_own() -> None:
    assert parse("help", FAILBACK) == HelpRequest(FAILBACK)
    assert parse("", FAILBACK) == HelpRequest(FAILBACK)
    assert "*/failback*" in help_text(FAILBACK)
    assert "/failback commit plan=" in help_text(FAILBACK)


def test_the_registry_finds_operations_by_command_verb_and_scope() -> None:
    plan, items = operation_for(FAILBACK, ""), operation_for(FAILBACK, "", vms=True)
    assert plan is not None and items is not None
    assert (plan.name, plan.scope) == ("failback", Scope.PLAN)
    assert (items.name, items.scope) == ("failback-vm", Scope.ITEM)
    assert operation_for(FAILBACK, "rollback") is None
    assert requested(StepRequest("rp1", "failback")) is plan


def test_reprotect_is_parsed_as_before() -> None:
    assert parse("plan=rp1 point=latest").problem is Problem.UNKNOWN_KEY  # type: ignore[union-attr]
