"""The shape of a check's words, shared by the catalogs of `bot.views.checks`.

Each whole template (after the parts below are put together) is a gettext message id:
`bot.views.checks.extract_catalog` gives it to Babel and `checks.message` translates it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Words:
    """One outcome's message and fix: templates of the result's values (`{name}` escaped,
    `{name!c}` a code span; the other conversions are `bot.views.checks.CONVERSIONS`)."""

    message: str
    fix: str = ""


def unseen(what: str, confirm: str) -> Words:
    """A free-text value the bot does not know (values `raw`, `expected`): a warning."""
    return Words(f"{what} is {{raw!c}}, not a value the bot knows (expected {{expected!o}}, in "
                 "any case); Site Recovery does not document its values, so it does not block.",
                 f"Confirm by hand: {confirm}")


def unhealthy(what: str, fix: str) -> Words:
    """A server Site Recovery reports unhealthy (value `problems`): a blocker."""
    return Words(f"{what} is not healthy: {{problems!p}}.", fix)


AGAIN = "then run `/reprotect` again."

# Outcomes both architectures' reprotect-allowed checks share.
ALLOWED = Words("Site Recovery allows reprotect for every VM.")
BUSY = Words("Another Site Recovery operation is running: {running!n}.",
             "Wait for that job to finish (Site Recovery jobs in the vault), " + AGAIN)
