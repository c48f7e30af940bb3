"""Private replies: the domain decides in data, `bot.views.private` says it; every refusal
the domain can give has words, and the words name what the refusal carries."""

from __future__ import annotations

from dataclasses import fields

import pytest

from bot.views.private import decision, notice, reply
from core.decisions import Action, Decision, Refusal
from core.notices import Locked, NotTaken, PlanIssue, PlanProblem, PreflightFailed
from intake.parser import Problem, UsageError
from intake.slash import Answer, Reply


@pytest.mark.parametrize("refusal", list(Refusal))
@pytest.mark.parametrize("action", list(Action))
def test_every_refusal_has_words_for_every_action(refusal: Refusal, action: Action) -> None:
    said = decision(Decision(False, action, refusal, status="approved", ask=frozenset({"U2"}),
                             missing=1, vm="app-01", number=7, details=("port 9443",)))
    assert said.startswith(":no_entry_sign: ") and len(said) > 30


def test_decisions_carry_values_not_words() -> None:
    assert all(f.type not in ("str", "str | None") or f.name in ("status", "vm")
               for f in fields(Decision))


@pytest.mark.parametrize(("made", "says"), [
    (Decision(False, Action.APPROVE, Refusal.OWN_REQUEST, ask=frozenset({"U2", "U3"})),
     "You cannot approve your own request (four eyes). Ask one of: <@U2>, <@U3>."),
    (Decision(False, Action.RETRY, Refusal.OWN_REQUEST, ask=frozenset()),
     "a retry of your own request (four eyes). Ask one of: nobody else is listed"),
    (Decision(False, Action.CANCEL, Refusal.NOT_APPROVER, ask=frozenset({"U2"})),
     "Only the requester or an approver can cancel this request. Approvers: <@U2>."),
    (Decision(False, Action.CANCEL, Refusal.ALREADY_DECIDED, status="executing"),
     "already executing: nothing to cancel. Running Site Recovery jobs are not stopped"),
    (Decision(False, Action.CONFIRM, Refusal.ALREADY_DECIDED),
     "This request is no longer pending: nothing to confirm. Your tick was not kept."),
    (Decision(False, Action.CONFIRM, Refusal.NO_SUCH_REQUEST, number=4),
     ":no_entry_sign: Request #4 does not exist."),
    (Decision(False, Action.RETRY, Refusal.NO_SUCH_REQUEST, number=9), "Run #9 does not exist."),
    (Decision(False, Action.RETRY, Refusal.TAKEN, vm="app-01", number=3, status="pending"),
     "`app-01` belongs to request #3 now, which is pending: retry it there."),
    (Decision(False, Action.APPROVE, Refusal.UNCONFIRMED,
              manual=(("network-ready", "ports"), ("some-check", "unknown"))),
     "(the bot cannot see them): Failback ports are open between Azure and the private cloud; "
     "*some-check*. Your approval was not recorded."),
    (Decision(True, Action.APPROVE, missing=2),
     "Approval recorded: 2 more distinct approvals needed."),
])
def test_refusals_name_what_they_carry(made: Decision, says: str) -> None:
    assert says in decision(made)


def test_confirm_refusals_add_that_the_tick_was_not_kept_only_for_real_requests() -> None:
    assert decision(Decision(False, Action.CONFIRM, Refusal.NOT_APPROVER)).endswith(
        "(REPROTECT_APPROVERS). Your tick was not kept.")
    gone = Decision(False, Action.CONFIRM, Refusal.NO_SUCH_REQUEST, number=1)
    assert "tick" not in decision(gone)


def test_notices_say_what_happened_and_what_to_do() -> None:
    failed = notice(PreflightFailed("p", "vault gone"))
    assert "could not run: vault gone\nNothing was sent" in failed
    assert "internal error (logged)" in notice(PreflightFailed("p"))
    assert notice(PlanProblem(PlanIssue.NO_PLAN, "x", ("rp-1", "rp-2"), ("rp-1",))) == (
        ":mag: Recovery plan `x` is not in the vault. Did you mean `rp-1`?\nNothing was sent.")
    assert notice(PlanProblem(PlanIssue.WRONG_FORM, "rp", ("appl-1",), given="master",
                              value="mt", right="appliance", architecture="modernized")) == (
        ":mag: Plan `rp` uses the modernized (replication appliance) architecture, so it takes "
        "`appliance=` (replication appliance), not `master=mt`. Its replication appliances: "
        "`appl-1`. Type: `/reprotect plan=\"rp\" appliance=appl-1`.\nNothing was sent.")
    locked = notice(Locked(3, "https://slack/p3", "U1", "pending"))
    assert "Request #3 (<https://slack/p3|message>) by <@U1> is pending" in locked
    assert "`/reprotect cancel 3`" in locked
    assert "Request #3 by <@U1>" in notice(Locked(3, None, "U1", "pending"))
    assert notice(NotTaken("who is in user group S1")).endswith(
        "not taken: Slack did not answer when asked who is in user group S1, so the bot cannot "
        "check who may do this. Nothing changed: try again in a minute.")


def test_slash_replies() -> None:
    assert "Checking plan `fin`" in reply(Reply(Answer.CHECKING, 1, plan="fin"))
    assert "<#C1>, <#C2> (REPROTECT_CHANNELS)" in reply(
        Reply(Answer.WRONG_CHANNEL, channels=frozenset({"C2", "C1"})))
    assert reply(Reply(Answer.USAGE, usage=UsageError(Problem.NO_VM))).startswith(
        ":warning: `vm` names no VM: list names separated by commas.\nUsage:")
    assert reply(Reply(Answer.STATUS)) == (
        "No reprotect requests in this channel yet.\n"
        ":hourglass: Reading where each plan stands from Site Recovery…")
