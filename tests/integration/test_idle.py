"""`LocalBot.idle`, which every "nothing happened" check waits for: it returns only after the
work it is meant to wait for, and says what was still busy when it gives up."""

from __future__ import annotations

import threading
import time

import pytest

from sandbox.local_bot import LocalBot


def test_idle_waits_for_work_queued_after_an_acknowledgement(bot: LocalBot) -> None:
    assert bot.services is not None
    done = threading.Event()
    bot.services.after_ack.submit(lambda: (time.sleep(2.0), done.set()))  # longer than 2 ticks
    bot.idle()
    assert done.is_set()


def test_idle_waits_for_whole_ticks_after_the_call(bot: LocalBot) -> None:
    assert bot.services is not None
    ticker = bot.services.ticker
    started = {job: ticker.runs(job)[0] for job in ("track", "outbox")}
    bot.idle(ticks=3)
    assert all(ticker.runs(job)[1] >= started[job] + 3 for job in started)


def test_idle_names_what_is_still_busy_when_it_gives_up(bot: LocalBot) -> None:
    assert bot.services is not None
    release = threading.Event()
    bot.services.after_ack.submit(release.wait, 10)
    with pytest.raises(TimeoutError, match="after-ack work"):
        bot.idle(timeout=0.5)
    release.set()
