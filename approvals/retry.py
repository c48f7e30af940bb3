"""Retry of a failed VM: an approver's click restarts its Site Recovery job.

Restarting rewrites the VM's disks again, so the click follows the approval rules
(`approvals.policy.decide_retry`: an approver, not the requester, of this workspace); the
runner then restarts the job once, by compare-and-set from `failed`, and follows the new job.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from core.decisions import Action, Click, Decision, Refusal
from core.ports import Notifier, RetryAuthority, Waker
from store.repo import get_run
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
        with Session(self._engine) as session:
            run = get_run(session, run_id)
        if run is None:
            self._notifier.tell(click.channel_id, click.user_id, Decision(
                False, Action.RETRY, Refusal.NO_SUCH_REQUEST, number=run_id))
            return
        on_request = Click(request_id=run.request_id, user_id=click.user_id,
                           user_team=click.user_team, channel_id=click.channel_id)
        if not self._authority.may_retry(on_request).accepted:
            return
        refusal = self._runner.restart(run_id, click.user_id)
        if refusal is not None:
            self._notifier.tell(click.channel_id, click.user_id, refusal)
        self._waker.wake("outbox")
        self._waker.wake("track")
