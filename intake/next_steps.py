"""A failback summary's next-step buttons, as the `/failback` command each stands for.

A click on `Commit` (or `Cancel failback`) under a failback's summary opens the same request
as `/failback commit plan=… [vm=…]` typed by whoever clicked, in the channel of the click:
the caller hands the command to `Intake.receive`, so the workspace, channel and admission
refusals, the record (deduplicated on the click's trigger id) and the preflight are the
command's own.
"""

from __future__ import annotations

import shlex

from core.decisions import Click
from core.plan import StepRequest
from intake.parser import parse
from intake.slash import SlashCommand
from operations import OPERATIONS
from store.db import Engine, read_scope
from store.requests import get_request

COMMAND = "/failback"


def next_step_command(engine: Engine, click: Click, verb: str,
                      trigger_id: str) -> SlashCommand | None:
    """`/failback <verb>` on the plan (and the VMs) of the failback request the button names,
    as the clicker's command; None when the button names no failback of the click's channel
    (a forged or stale value)."""
    with read_scope(engine) as session:
        source = get_request(session, click.request_id)
    if source is None or source.channel_id != click.channel_id:
        return None
    operation = OPERATIONS.get(source.operation)
    if operation is None or (operation.form.command, operation.form.verb) != (COMMAND, ""):
        return None
    failback = parse(source.command_text, COMMAND)
    if not isinstance(failback, StepRequest):
        return None
    words = [verb, f"plan={failback.plan}"] + (
        [f"vm={','.join(failback.vms)}"] if failback.vms else [])
    return SlashCommand(trigger_id=trigger_id, team_id=click.user_team or "",
                        channel_id=click.channel_id, user_id=click.user_id,
                        text=shlex.join(words), command=COMMAND)
