"""The buttons a failback's summary offers for the next step: `Commit`, and `Cancel
failback` where the architecture can cancel one (modernized). A click opens the same request
as `/failback commit` or `/failback cancel` typed by whoever clicked."""

from __future__ import annotations

from typing import Any

from bot.views.mrkdwn import code
from core import actions

# The failback operations whose summary offers the next step, and the architectures whose
# failback can be cancelled (Microsoft: classic failback cannot be cancelled).
AFTER = ("failback", "failback-vm")
CANCELLABLE = ("modernized",)
# Each button's verb: the `/failback` command it stands for.
VERBS = {actions.NEXT_COMMIT: "commit", actions.NEXT_CANCEL: "cancel"}


def buttons(operation: str, request_id: int | None, provider: str,
            done: int) -> list[dict[str, Any]]:
    """The actions block under a failback summary ([] when no VM failed back)."""
    if operation not in AFTER or request_id is None or not done:
        return []
    shown = [(actions.NEXT_COMMIT, "Commit", "primary")]
    if provider in CANCELLABLE:
        shown.append((actions.NEXT_CANCEL, "Cancel failback", ""))
    return [{"type": "actions", "block_id": f"next:{request_id}", "elements": [
        {"type": "button", "action_id": action_id, "value": str(request_id),
         "text": {"type": "plain_text", "text": text}} | ({"style": style} if style else {})
        for action_id, text, style in shown]}]


def unknown_source(request_id: int) -> str:
    """A next-step click whose failback request is not one of this channel's."""
    return (f"Request {code(f'#{request_id}')} is not a failback of this channel, so no "
            f"commit or cancel request was opened. Type {code('/failback commit plan=<plan>')} "
            f"or {code('/failback cancel plan=<plan>')} instead.")
