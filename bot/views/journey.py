"""Where a plan stands in the failback journey, in words: `/reprotect status` and the request
message's stage line. Names and raw values from Azure are escaped here."""

from __future__ import annotations

from collections.abc import Sequence

from bot.views.mrkdwn import code, escape
from core.journey import ItemSignals, PlanJourney, Stage
from core.notices import PlanStages

# The stage, then what comes next (the command that moves it on), where there is one.
STAGE_WORDS = {
    Stage.FAILED_OVER_TO_AZURE: "failed over to Azure, not protected",
    Stage.REPROTECTING_TO_AVS: "reprotecting to AVS",
    Stage.PROTECTED_TO_AVS: "protected to AVS, ready to fail back",
    Stage.FAILING_BACK: "failing back",
    Stage.FAILED_BACK: "failed back, awaiting commit",
    Stage.CANCELLING: "cancelling the failback",
    Stage.COMMITTING: "committing the failback",
    Stage.COMMITTED: "committed, ready to reprotect to Azure",
    Stage.REPROTECTING_TO_AZURE: "reprotecting to Azure",
    Stage.PROTECTED_TO_AZURE: "protected to Azure",
    Stage.UNKNOWN: "unknown",
}
NEXT_STEP = {
    Stage.FAILED_OVER_TO_AZURE: "`/reprotect` to AVS",
    Stage.PROTECTED_TO_AVS: "`/failback`",
    Stage.FAILED_BACK: "`/failback commit`",
    Stage.COMMITTED: "`/reprotect` to Azure",
}
ICON = {
    Stage.PROTECTED_TO_AVS: ":large_green_circle:", Stage.PROTECTED_TO_AZURE: ":white_check_mark:",
    Stage.FAILED_BACK: ":hourglass_flowing_sand:", Stage.COMMITTED: ":large_blue_circle:",
    Stage.UNKNOWN: ":grey_question:", Stage.FAILED_OVER_TO_AZURE: ":red_circle:",
}
BUSY = ":arrows_counterclockwise:"
MOST_PLANS = 30        # plans listed in one reply; the rest are counted
MOST_UNKNOWN = 3       # items shown with their raw values, per plan
TEXT_LIMIT = 3900


def stage_words(journey: PlanJourney) -> str:
    """The plan's stage, mixed stages counted, and its next step where it has one."""
    if not journey.counts:
        return "no VMs in the plan"
    if journey.stage is not None:
        words = _one(journey.stage, journey)
        step = NEXT_STEP.get(journey.stage)
        return words + (f" — next: {step}" + _cancel(journey) if step else "")
    return "mixed: " + " · ".join(f"{n} {_one(stage, journey)}"
                                  for stage, n in journey.counts)


def _one(stage: Stage, journey: PlanJourney) -> str:
    if stage is Stage.FAILED_BACK and journey.cancel_possible:
        return "failed back, awaiting commit (cancel possible)"
    return STAGE_WORDS[stage]


def _cancel(journey: PlanJourney) -> str:
    return " or `/failback cancel`" if journey.stage is Stage.FAILED_BACK \
        and journey.cancel_possible == journey.total else ""


def stage_line(journey: PlanJourney) -> str:
    """One plan, as `/reprotect status` and the request message show it."""
    icon = ICON.get(journey.stage, BUSY) if journey.stage is not None else BUSY
    name = journey.plan_friendly_name or journey.plan_name
    vms = f"{journey.total} VM{'s' if journey.total != 1 else ''}"
    return f"{icon} {code(name)} ({vms}): {stage_words(journey)}" + _unknown_lines(journey)


def _unknown_lines(journey: PlanJourney) -> str:
    more = len(journey.unknown) - MOST_UNKNOWN
    return "".join(f"\n    ◦ {unknown_item(s)}" for s in journey.unknown[:MOST_UNKNOWN]) \
        + (f"\n    ◦ … and {more} more unknown" if more > 0 else "")


def unknown_item(signals: ItemSignals) -> str:
    """An item whose signals fit no stage: what Site Recovery sent, raw, to check by hand."""
    allowed = ", ".join(signals.allowed_operations) or "none"
    site = f", activeSiteType {code(signals.active_site_type)}" \
        if signals.active_site_type else ""
    return (f"{code(signals.vm)}: stage unknown — provider {code(signals.provider or 'none')}, "
            f"allowedOperations {code(allowed)}, protectionState "
            f"{code(signals.protection_state or 'none')}, running {code(signals.scenario)}"
            f"{site}. Check the item in the Azure portal.")


def plan_stages(stages: PlanStages) -> str:
    """`/reprotect status`'s second reply: every plan of the vault with its stage."""
    if stages.explanation is not None:
        return (":warning: Where each plan stands could not be read from Site Recovery: "
                f"{escape(stages.explanation)}")
    if not stages.plans:
        return "No recovery plans in the vault."
    lines = [stage_line(j) for j in stages.plans[:MOST_PLANS]]
    more = len(stages.plans) - MOST_PLANS
    text = "*Where each plan stands* (read from Site Recovery now)\n" + "\n".join(lines) \
        + (f"\n… and {more} more plans" if more > 0 else "")
    return text if len(text) <= TEXT_LIMIT else _shorter(stages.plans)


def _shorter(plans: Sequence[PlanJourney]) -> str:
    """Without the unknown items' details, when the full list would not fit one message."""
    lines: list[str] = []
    for journey in plans:
        line = stage_line(journey).split("\n", 1)[0]
        if sum(len(x) + 1 for x in lines) + len(line) > TEXT_LIMIT - 200:
            lines.append(f"… and {len(plans) - len(lines)} more plans")
            break
        lines.append(line)
    return "*Where each plan stands* (read from Site Recovery now)\n" + "\n".join(lines)


def at_preflight(journey: PlanJourney) -> str:
    """The request message's line: where the plan stood when the preflight read it."""
    return (f"Where the plan stands (at preflight): {stage_words(journey)}"
            + _unknown_lines(journey))
