"""Private (ephemeral) replies: the only place their words, emoji and mentions are written.

The domain says what happened as data (a `Decision` with its `Refusal` and the values it
needs); these functions say it to the one person who clicked or typed.
"""

from __future__ import annotations


def dialog_failed(request_id: int, why: str) -> str:
    return (f":warning: The dialog that asks why you reject #{request_id} could not open "
            f"({why}). Nothing changed: the request is still pending. Please click Reject "
            "again.")


def not_taken(what: str, explanation: str) -> str:
    return f":hourglass: The {what} was not taken: {explanation}"


def crashed(what: str) -> str:
    return (f":x: The {what} failed on an internal error (logged). Nothing half-done was kept; "
            "try again, or ask the bot's operators to check its logs.")
