"""Retry of a failed VM: an approver's click restarts its Site Recovery job.

Restarting rewrites the VM's disks again, so the click follows the approval rules
(`approvals.policy.decide_retry`: an approver, not the requester, of this workspace) and
needs the request's quorum (`REPROTECT_REQUIRED_APPROVALS` when it was asked): each distinct
approver's Retry is recorded on the run under its row lock, and the click that completes the
quorum has the runner restart the job once, by compare-and-set from `failed`.
"""

from __future__ import annotations

from core.decisions import Action, Click, Decision, Refusal
from core.ports import Notifier, RetryAuthority, Waker
from store.db import Engine, read_scope, session_scope
from store.journal import audit
from store.models import Run
from store.runs import get_run, retried_by, vote_retry
from tracking import Runner


class Retries:
    def __init__(self, engine: Engine, runner: Runner, authority: RetryAuthority,
                 notifier: Notifier, waker: Waker) -> None:
        self._engine = engine
        self._runner = runner
        self._authority = authority
        self._notifier = notifier
        self._waker = waker

    def retry(self, run_id: int, click: Click) -> None:
        """`click` is who clicked where; `run_id` the failed VM's run (the button's value)."""
        with read_scope(self._engine) as session:
            run = get_run(session, run_id)
        if run is None:
            self._notifier.tell(click.channel_id, click.user_id, Decision(
                False, Action.RETRY, Refusal.NO_SUCH_REQUEST, number=run_id))
            return
        on_request = Click(request_id=run.request_id, user_id=click.user_id,
                           user_team=click.user_team, channel_id=click.channel_id)
        if not self._authority.may_retry(on_request, retried_by(run)).accepted:
            return
        decision = self._vote(run, on_request)
        if decision is not None and decision.quorum_reached:
            refusal = self._runner.restart(run_id, click.user_id)
            if refusal is not None:
                self._notifier.tell(click.channel_id, click.user_id, refusal)
        elif decision is not None:  # more approvals needed, or refused: told to the clicker
            self._notifier.tell(click.channel_id, click.user_id, decision)
        self._waker.wake("outbox")
        self._waker.wake("track")

    def _vote(self, run: Run, click: Click) -> Decision | None:
        """Count the click towards the quorum with everyone who approved this retry before
        it, read under the run's row lock, and decide again on those fresh facts; None when
        the authority refused it then (and told the clicker)."""
        assert run.id is not None
        with session_scope(self._engine) as session:
            vote = vote_retry(session, run.id, click.user_id)
            status = get_run(session, run.id)
            if vote is not None and vote[0]:
                audit(session, click.user_id, "retry_approval", run.request_id,
                      vm=run.vm_name, approvals=len(vote[1]))
        if vote is None:
            return Decision(False, Action.RETRY, Refusal.NOT_FAILED,
                            status=status.status if status else "gone")
        added, voters = vote
        decision = self._authority.may_retry(click, voters - {click.user_id})
        if not added and decision.accepted:
            return Decision(False, Action.RETRY, Refusal.ALREADY_APPROVED,
                            missing=decision.missing)
        return decision if decision.accepted else None
