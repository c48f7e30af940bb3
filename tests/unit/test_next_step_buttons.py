"""The next step a failback's summary offers: `Commit` always, `Cancel failback` where the
architecture can cancel (modernized), nothing when no VM failed back or for other steps."""

from __future__ import annotations

from bot.views import next_steps, thread
from core import actions
from core import events as ev

COMMIT_BUTTON = {"type": "button", "action_id": actions.NEXT_COMMIT, "value": "12",
                 "text": {"type": "plain_text", "text": "Commit"}, "style": "primary"}
CANCEL_BUTTON = {"type": "button", "action_id": actions.NEXT_CANCEL, "value": "12",
                 "text": {"type": "plain_text", "text": "Cancel failback"}}


def test_a_modernized_failback_offers_commit_and_cancel() -> None:
    assert next_steps.buttons("failback", 12, "modernized", 3) == [
        {"type": "actions", "block_id": "next:12", "elements": [COMMIT_BUTTON, CANCEL_BUTTON]}]


def test_a_classic_failback_offers_commit_only() -> None:
    assert next_steps.buttons("failback-vm", 12, "classic", 1) == [
        {"type": "actions", "block_id": "next:12", "elements": [COMMIT_BUTTON]}]


def test_nothing_is_offered_without_a_vm_failed_back_or_after_another_step() -> None:
    assert next_steps.buttons("failback", 12, "modernized", 0) == []
    assert next_steps.buttons("commit", 12, "modernized", 3) == []
    assert next_steps.buttons("reprotect", 12, "classic", 3) == []
    assert next_steps.buttons("failback", None, "classic", 3) == []  # stored before the field


def test_the_summary_carries_the_buttons_under_its_text() -> None:
    message = thread.summary(ev.Summary(3, 3, 0, 0, "failback", 12, "modernized"))
    assert message["blocks"][0] == {"type": "section",
                                    "text": {"type": "mrkdwn", "text": message["text"]}}
    assert message["blocks"][1:] == next_steps.buttons("failback", 12, "modernized", 3)
    assert "3/3 failed back" in message["text"]
    assert "blocks" not in thread.summary(ev.Summary(3, 3, 0, 0, "commit", 13, "classic"))


def test_the_buttons_are_the_commands_verbs() -> None:
    assert next_steps.VERBS == {actions.NEXT_COMMIT: "commit", actions.NEXT_CANCEL: "cancel"}
