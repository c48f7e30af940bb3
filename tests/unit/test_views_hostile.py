"""Every view with hostile outside text: names and texts from Azure, vCenter and people that
try to notify the channel, hide a link, or leave their code span are shown inert.

The samples are the snapshot samples of `test_thread_views`, with every text field that comes
from outside (VM names, job ids, Site Recovery's messages, reasons) replaced by HOSTILE; the
user IDs Slack gives the bot stay real IDs, since the bot writes those mentions itself.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest

from bot.views import thread
from bot.views.mrkdwn import BACKTICK_STAND_IN
from core import events as ev
from tests.unit.test_thread_views import SAMPLES

HOSTILE = "x` <!channel> <@U123> <https://x|y> & *bold*\nline2 `y"
# Fields that hold a Slack user ID, a cause code or a JSON plan: not outside text.
NOT_TEXT = {"by", "cause", "outcome", "kind", "plan", "command"}
SPAN = "`xˋ &lt;!channel&gt; &lt;@U123&gt; &lt;https://x|y&gt; &amp; *bold* line2 ˋy`"
LIVE = re.compile(r"<!(?!date\^)|<@U123|<https://x")


def hostile(value: Any) -> Any:
    """`value` with each outside text replaced by HOSTILE, nested values included."""
    if isinstance(value, str):
        return HOSTILE
    if isinstance(value, tuple):
        return tuple(hostile(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{  # type: ignore[misc]
            f.name: hostile(getattr(value, f.name)) for f in dataclasses.fields(value)
            if (f.name not in NOT_TEXT and isinstance(getattr(value, f.name), (str, tuple)))
            or dataclasses.is_dataclass(getattr(value, f.name))})
    return value


def texts(message: dict[str, Any]) -> list[str]:
    """Every mrkdwn text Slack renders from the message, the fallback included."""
    found = [message["text"]]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(message.get("blocks", []))
    return found


def assert_inert(text: str) -> None:
    """No live mention or link, and the hostile name never leaves a code span."""
    assert not LIVE.search(text), text
    assert "&lt;!channel&gt;" in text or "<!" not in text
    for line in text.splitlines():
        if BACKTICK_STAND_IN in line:  # a hostile name in a code span: the span holds it all
            assert SPAN in line, line


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_thread_event_shows_outside_text_inert(name: str) -> None:
    for text in texts(thread.render(hostile(SAMPLES[name]))):
        assert_inert(text)


def test_job_errors_from_site_recovery_are_shown_as_text() -> None:
    """r03: the job error's message, causes, action and provider message stay inert."""
    error = ev.JobErrorInfo("95226", "VM <!channel> re-enter creds at "
                            "<https://evil.example/login|Azure portal>", "<!here> causes",
                            "<!here> click <https://evil.example|here>", "31389",
                            "<@U0CAROL> says hi")
    text = thread.render(ev.JobFailed("vm-app-02", "job-1", "", (error,), 5))["text"]
    for raw in ("<!channel>", "<!here>", "<https://evil.example", "<@U0CAROL>"):
        assert raw not in text
    assert "&lt;!channel&gt;" in text and "&lt;@U0CAROL&gt; says hi" in text
    assert ":bulb: The Azure VM cannot reach the configuration server" in text


def test_a_vm_name_cannot_leave_its_code_span_in_the_health_warning() -> None:
    """r04: a backtick in a VM's name does not end its code span; health errors are text."""
    item = ev.ItemState("InitialReplicationInProgress", "Critical", (
        ev.HealthIssue("78122", "Initial replication of <!here> is not progressing.",
                       "Check the process server."),))
    text = thread.render(ev.HealthWarning("app-02` <!channel> `x", item))["text"]
    assert text.startswith(":warning: `app-02ˋ &lt;!channel&gt; ˋx` is not protected yet")
    assert "<!" not in text and "Initial replication of &lt;!here&gt;" in text


def test_the_samples_cover_every_thread_event() -> None:
    assert {type(hostile(e)) for e in SAMPLES.values()} == {type(e) for e in SAMPLES.values()}
    assert all(json.dumps(thread.render(hostile(e))) for e in SAMPLES.values())
