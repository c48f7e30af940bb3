"""Command values beyond the schema's limits: the same clear usage error on both databases.

PostgreSQL refuses text SQLite stores (a name longer than its column, a NUL byte): the
parser checks them first, so the user always gets an answer and nothing half-recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from sandbox.arm_emulator import ArmEmulator
from sandbox.local_bot import SIGNING_SECRET, LocalBot, local_settings
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator
from tests.integration.conftest import APPROVER, CHANNEL, COMMAND, REQUESTER, wait_root
from tests.support.postgres import PostgresInstance, start_postgres


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresInstance]:
    with start_postgres() as instance:
        yield instance


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind (PostgreSQL's schema is dropped after each test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.db'}"
        return
    url = str(request.getfixturevalue("postgres").url)
    yield url
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def limited_bot(database_url: str, slack: SlackEmulator, arm: ArmEmulator) -> Iterator[LocalBot]:
    settings = local_settings(slack_api_url=slack.api_url, arm_env=arm.env(),
                              database_url=database_url, approvers=APPROVER)
    with LocalBot(settings) as bot:
        yield bot


@pytest.mark.parametrize(("command", "says"), [
    ('plan="' + "A" * 256 + '" master=avs-mt-01', "`plan` is 256 characters long"),
    ('plan="Finance tier 1" master=avs-mt-01 vm=' + "v" * 300, "A `vm` name is 300 characters"),
    ('plan="x\x00y" master=avs-mt-01', "control character"),
], ids=["long-plan", "long-vm", "nul"])
def test_values_past_the_schema_get_a_usage_error(limited_bot: LocalBot, slack: SlackEmulator,
                                                  database_url: str, command: str,
                                                  says: str) -> None:
    driver = SlackDriver(limited_bot.events_url, SIGNING_SECRET, emulator=slack)
    answer = driver.slash_command(command, user_id=REQUESTER, channel_id=CHANNEL)
    assert answer.status_code == 200
    assert answer.json()["response_type"] == "ephemeral"
    assert says in answer.json()["text"] and "Usage" in answer.json()["text"]

    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    wait_root(slack)  # the bot still works, and recorded only the good command
    engine = create_engine(database_url)
    with engine.connect() as conn:
        recorded = conn.execute(text("SELECT command_text FROM requests")).scalars().all()
    engine.dispose()
    assert recorded == [COMMAND]


def test_request_numbers_past_the_schema_are_no_such_request(
        limited_bot: LocalBot, slack: SlackEmulator, caplog: pytest.LogCaptureFixture) -> None:
    """`cancel ²` (a digit to `str.isdigit`, not to `int`) is a usage error in the
    acknowledgement; a number past the id column's range (and a button value as large) is
    "does not exist", never an overflow, an empty ack or "internal error"."""
    driver = SlackDriver(limited_bot.events_url, SIGNING_SECRET, emulator=slack)
    answer = driver.slash_command("cancel ²", user_id=REQUESTER, channel_id=CHANNEL)
    assert answer.status_code == 200
    assert "`cancel` takes one request number" in answer.json()["text"]

    huge = "99999999999999999999"
    driver.slash_command(f"cancel {huge}", user_id=REQUESTER, channel_id=CHANNEL)
    slack.wait_for(lambda s: bool(s.ephemerals(REQUESTER)))
    said = [str(c.params.get("text", "")) for c in slack.ephemerals(REQUESTER)]
    assert said == [f":no_entry_sign: Request #{huge} does not exist."]

    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    driver.click_action(root, "approve", value=huge,  # a value no row can have
                        user_id=APPROVER, channel_id=CHANNEL)
    slack.wait_for(lambda s: bool(s.ephemerals(APPROVER)))
    assert f"Request #{huge} does not exist" in str(slack.ephemerals(APPROVER)[0].params["text"])
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
