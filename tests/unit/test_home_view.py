"""The Home tab's words: each request's stage, links, escaping, readiness, Block Kit limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.views.home import home_view
from core.readiness import DependencyState
from store.home_queries import HomeRequest
from store.models import Request, RequestStatus

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


def request(number: int, status: RequestStatus, plan: str = "finance-rp",
            permalink: str | None = "https://x.slack.example/archives/C1/p1") -> Request:
    return Request(id=number, trigger_id=str(number), team_id="T1", channel_id="C1",
                   requester_id="U1", command_text="", plan_name=plan, status=status,
                   permalink=permalink, created_at=NOW)


def text_of(view: dict[str, object]) -> str:
    return json.dumps(view, ensure_ascii=False)


def test_stages_in_words_with_runs_counted_links_and_escaped_names() -> None:
    view = home_view(user_id="U1", channels=1, readiness=[], open_requests=[
        HomeRequest(request(1, RequestStatus.EXECUTING, plan="<b>&plan"),
                    {"protected": 2, "running": 1, "failed": 1})],
        recent=[HomeRequest(request(2, RequestStatus.BLOCKED, permalink=None), {})])
    shown = text_of(view)
    assert "reprotecting (2 protected, 1 failed, 1 running)" in shown
    assert "`&lt;b&gt;&amp;plan`" in shown and "<b>" not in shown
    assert "<https://x.slack.example/archives/C1/p1|thread>" in shown
    assert "blocked: a check must be fixed first" in shown and "no thread link yet" in shown


def test_readiness_says_what_is_not_ready_and_why() -> None:
    view = home_view(user_id="U1", channels=0, open_requests=[], recent=[], readiness=[
        DependencyState("database", False, error="OperationalError: <refused>"),
        DependencyState("Slack messages", None),
        DependencyState("Site Recovery tracking", True, last_success=NOW)])
    shown = text_of(view)
    assert ":x: *database*: not ready — OperationalError: &lt;refused&gt;" in shown
    assert "*Slack messages*: not known yet" in shown
    assert "*Site Recovery tracking*: ready, last worked <!date^" in shown
    assert "no channel with reprotect requests that you are in yet" in shown


def test_hundreds_of_requests_stay_within_a_home_tabs_100_blocks() -> None:
    many = [HomeRequest(request(n, RequestStatus.PENDING), {}) for n in range(300)]
    view = home_view(user_id="U1", channels=3, open_requests=many, recent=many,
                     readiness=[DependencyState("database", True)])
    blocks = view["blocks"]
    assert isinstance(blocks, list) and len(blocks) <= 100
    assert text_of(view).count("…and 280 more: `/reprotect status`") == 2
