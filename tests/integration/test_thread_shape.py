"""A 100-VM request's thread stays readable: at most 20 messages, every VM told protected.

The outbox's part is tested on its own below: Protected replies of a large plan gathered
until a batch is full, a failure or the summary follows, or the hold runs out; the progress
message edited in place.

Runs the thread benchmark's harness (the bot's Runner and OutboxSender against the ARM and
Slack emulators, through the real SDKs) with jobs ending over 10 s, so VMs become protected
over many ticks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine, create_engine, update
from sqlmodel import select

from benchmarks.thread_size import measure
from bot.outbox import BROADCAST_MOST, PROTECTED_HOLD, ChannelPacer, OutboxSender
from core import events as ev
from sandbox.slack_emulator import Message, SlackEmulator
from store.db import migrate, session_scope
from store.journal import enqueue
from store.models import Outbox, Request, RequestStatus, Run, RunStatus, utcnow
from tests.integration.conftest import CHANNEL
from tests.unit.test_views_limits import healthy

pytestmark = pytest.mark.slow  # a whole bot per test: `pytest -m "not slow"` leaves them out

GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(autouse=True)
def no_azure_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"):
        monkeypatch.delenv(key, raising=False)


def test_a_hundred_vm_thread_has_at_most_twenty_messages(tmp_path: Path) -> None:
    thread = measure(100, tmp_path, over_s=10.0)

    assert len(thread.texts) <= 20, "\n---\n".join(thread.texts)
    started = "\n".join(t for t in thread.texts if "Reprotect started" in t)
    assert len(set(GUID.findall(started))) == 100
    told = "\n".join(t for t in thread.texts if "protected" in t and "Summary" not in t)
    assert len(set(re.findall(r"`(vm-app-\d+)`", told))) == 100
    assert sum("Progress" in t for t in thread.texts) == 1
    assert "Summary" in thread.texts[-1] and "100/100 protected" in thread.texts[-1]


# -- the outbox's side of the shape: gathering, merging, editing in place --------------------

@pytest.fixture
def outbox(tmp_path: Path, slack: SlackEmulator) -> Iterator[Outboxed]:
    engine = create_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    migrate(engine)
    client = WebClient(token=slack.bot_token, base_url=slack.api_url)
    root = str(client.chat_postMessage(channel=CHANNEL, text="root")["ts"])
    with session_scope(engine) as session:
        request = Request(trigger_id="t.1", team_id="T0", channel_id=CHANNEL,
                          requester_id="U0A", command_text="", plan=healthy(100).to_json(),
                          status=RequestStatus.EXECUTING, message_ts=root)
        session.add(request)
        session.flush()
        session.expunge(request)
    sender = OutboxSender(engine, client, "A", ChannelPacer(rate=100, burst=100))
    yield Outboxed(engine, request, sender, lambda: slack.thread(CHANNEL, root))
    engine.dispose()


@dataclass
class Outboxed:
    engine: Engine
    request: Request
    sender: OutboxSender
    thread: Callable[[], list[Message]]

    def run(self, vm: str, task: str) -> None:
        """VM `vm`'s run, as tracking leaves it, at job task `task` (written as tracking
        writes it: "<task> (<state>), <done>/<total> tasks done")."""
        assert self.request.id is not None
        with session_scope(self.engine) as session:
            found = session.exec(select(Run).where(Run.vm_name == vm)).first()
            run = found or Run(request_id=self.request.id, item_id=f"/items/{vm}", vm_name=vm)
            run.status, run.job_id, run.job_state, run.job_task = (
                RunStatus.RUNNING, f"job-{vm}", "InProgress", task)
            session.add(run)

    def send(self, *events: ev.Event) -> list[Message]:
        with session_scope(self.engine) as session:
            for event in events:
                enqueue(session, self.request, event)
        self.sender.tick()
        return self.thread()


def test_a_large_plan_gathers_protected_vms_into_one_reply(outbox: Outboxed) -> None:
    assert outbox.send(*(ev.Done((f"app-{i}",)) for i in range(1, 6))) == []
    sent = outbox.send(*(ev.Done((f"app-{i}",)) for i in range(6, 11)))
    assert len(sent) == 1 and all(f"`app-{i}`" in sent[0].text for i in range(1, 11))


def test_a_failure_sends_the_gathered_protected_vms_first(outbox: Outboxed) -> None:
    assert outbox.send(ev.Done(("app-1",)), ev.Done(("app-2",))) == []
    sent = outbox.send(ev.JobCancelled("app-3", "job-3"))
    assert [("app-1" in m.text and "app-2" in m.text, "app-3" in m.text) for m in sent] == [
        (True, False), (False, True)]


def test_protected_vms_are_not_held_past_the_hold(outbox: Outboxed) -> None:
    assert outbox.send(ev.Done(("app-1",))) == []
    with session_scope(outbox.engine) as session:
        session.execute(update(Outbox).values(created_at=utcnow() - PROTECTED_HOLD))
    assert ["app-1" in m.text for m in outbox.send()] == [True]


def test_progress_is_one_message_edited_in_place_past_held_protected(outbox: Outboxed) -> None:
    outbox.send(ev.Done(("app-1",)))
    outbox.run("app-2", "Task A (InProgress), 0/2 tasks done")
    first = outbox.send(ev.Progress((("app-2", "InProgress", "Task A"),)))
    assert len(first) == 1 and "`app-2` — running: Task A (step 1 of 2)" in first[0].text
    outbox.run("app-2", "Task B (InProgress), 1/2 tasks done")
    again = outbox.send(ev.Progress((("app-2", "InProgress", "Task B"),)))
    assert len(again) == 1 and again[0].ts == first[0].ts and again[0].edits == 1
    # Where the VM stands now, not a log of what it went through.
    assert "`app-2` — running: Task B (step 2 of 2)" in again[0].text
    assert "Task A" not in again[0].text


def test_a_deleted_progress_message_is_posted_again(outbox: Outboxed,
                                                    slack: SlackEmulator) -> None:
    """Someone deleted it: Slack answers `message_not_found` to the edit, so the progress
    goes in a new message, and later progress edits that one."""
    outbox.run("app-1", "Task A (InProgress), 0/3 tasks done")
    (first,) = outbox.send(ev.Progress((("app-1", "InProgress", "Task A"),)))
    slack.delete(CHANNEL, first.ts)
    outbox.run("app-1", "Task B (InProgress), 1/3 tasks done")
    (again,) = outbox.send(ev.Progress((("app-1", "InProgress", "Task B"),)))
    assert again.ts != first.ts and "Task B (step 2 of 3)" in again.text
    outbox.run("app-1", "Task C (InProgress), 2/3 tasks done")
    (last,) = outbox.send(ev.Progress((("app-1", "InProgress", "Task C"),)))
    assert last.ts == again.ts and last.edits == 1 and "Task C (step 3 of 3)" in last.text


def test_failures_reach_the_channel_until_a_mass_failure_would_flood_it(
        outbox: Outboxed, slack: SlackEmulator) -> None:
    """The first BROADCAST_MOST failures are also sent to the channel; the rest stay in the
    thread, and the summary, always in the channel too, names them all."""
    sent = outbox.send(*(ev.JobCancelled(f"app-{i}", f"job-{i}") for i in range(1, 8)))
    assert [m.broadcast for m in sent] == [True] * BROADCAST_MOST + [False] * 2
    (summary,) = [m for m in outbox.send(ev.Summary(7, 0, 7, 0)) if "Summary" in m.text]
    assert summary.broadcast and summary in slack.channel_view(CHANNEL)
    assert sum(m.broadcast for m in slack.channel_view(CHANNEL)) == BROADCAST_MOST + 1
