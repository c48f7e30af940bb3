"""Each person is answered in their Slack locale, the channel in the workspace's language
(REPROTECT_LANGUAGE), through the real Bolt app and the Slack emulator's `users.info`; the
contract's words (`Approve`, `Reject`, `Summary`, `N/N protected`) stay in either language."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bot.views.i18n import set_workspace_language
from sandbox.arm_emulator import ArmEmulator
from sandbox.local_bot import SIGNING_SECRET
from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator
from tests.integration.conftest import (
    APPROVER,
    CHANNEL,
    COMMAND,
    GROUP,
    GROUP_MEMBERS,
    OUTSIDER,
    REQUESTER,
    BotFactory,
    approve,
    buttons,
    reprotect_posts,
    wait_root,
    wait_summary,
)
from tests.integration.test_app_home import home_of

# Slack gives each person's locale (`users.info` with include_locale): two speak French.
LOCALES = {REQUESTER: "fr-FR", APPROVER: "fr-CA", OUTSIDER: "en-US"}


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    users = {u: {"name": u.lower(), "locale": LOCALES.get(u, "en-US")}
             for u in (REQUESTER, APPROVER, OUTSIDER, *GROUP_MEMBERS)}
    with SlackEmulator(users=users, usergroups={GROUP: GROUP_MEMBERS}) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    """The workspace language is the process's: later tests start from the default."""
    yield
    set_workspace_language("en")


def last_private(slack: SlackEmulator, user: str) -> str:
    slack.wait_for(lambda s: bool(s.ephemerals(user)))
    return str(slack.ephemerals(user)[-1].params["text"])


def test_private_replies_follow_the_person_and_the_channel_the_workspace(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    bot = start_bot()  # REPROTECT_LANGUAGE unset: English
    driver = SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)

    answer = driver.slash_command("plan=x plan=z master=y", user_id=REQUESTER,
                                  channel_id=CHANNEL).json()
    assert answer["response_type"] == "ephemeral"
    assert "`plan` est donnée deux fois" in answer["text"]
    assert "Utilisation :" in answer["text"] and "/reprotect plan=" in answer["text"]
    asked = [c for c in slack.calls if c.method == "users.info"]
    assert asked and asked[0].params["user"] == REQUESTER
    assert str(asked[0].params["include_locale"]).lower() in ("1", "true")

    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    shown = str(root.blocks)
    assert "Site-to-site VPN or ExpressRoute private peering is up" in shown  # the workspace's
    assert "Le VPN site à site" not in shown and "Values that will be sent" in shown
    assert buttons(root) == ["Approve", "Reject", "Cancel"]

    driver.click(root, "Approve", user_id=REQUESTER, channel_id=CHANNEL)
    assert "Vous ne pouvez pas approuver votre propre demande" in last_private(slack, REQUESTER)
    driver.click(root, "Approve", user_id=OUTSIDER, channel_id=CHANNEL)
    assert "You are not an approver for reprotect" in last_private(slack, OUTSIDER)
    # One users.info per person, however many replies: the locale is cached.
    assert [c.params["user"] for c in slack.calls if c.method == "users.info"] == [
        REQUESTER, OUTSIDER]
    assert not reprotect_posts(arm)

    # The App Home tab is the person's own: in their language too.
    alice = home_of(slack, driver, REQUESTER)
    assert "Demandes ouvertes" in alice and ":ballot_box: en attente d'approbation" in alice
    assert ":white_check_mark: *base de données*: prêt" in alice
    assert "Open requests" in home_of(slack, driver, OUTSIDER)


def test_a_french_workspace_words_the_request_and_keeps_the_contract_words(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    bot = start_bot(reprotect_language="FR")
    driver = SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)
    driver.slash_command(COMMAND, user_id=REQUESTER, channel_id=CHANNEL)
    root = wait_root(slack)
    shown = str(root.blocks)
    assert "Le VPN site à site ou le peering privé ExpressRoute est actif" in shown
    assert "Les ports de la restauration automatique sont ouverts" in shown
    assert "*En attente d'approbation* : encore 1 approbation nécessaire" in shown
    assert "Valeurs qui seront envoyées" in shown and "Values that will be sent" not in shown
    assert buttons(root) == ["Approve", "Reject", "Cancel"]

    driver.click(root, "Approve", user_id=OUTSIDER, channel_id=CHANNEL)
    assert "You are not an approver for reprotect" in last_private(slack, OUTSIDER)  # en-US

    approve(driver, slack, root, APPROVER)
    thread = wait_summary(slack, root)
    summary = thread[-1].text
    assert "*Summary* (bilan) : 3/3 protected" in summary  # the contract's tokens, in French
    assert any("*Progression* — 3/3 protected" in m.text for m in thread)
    slack.wait_for(lambda s: "*Terminée* — 3/3 protected" in str(s.messages(CHANNEL)[0].blocks))
    assert len(reprotect_posts(arm)) == 3


def test_a_slow_users_info_never_delays_the_acknowledgement(
        start_bot: BotFactory, slack: SlackEmulator, arm: ArmEmulator) -> None:
    """Slack slow to say a locale: the ack comes in the workspace's language well inside 3 s;
    the answer, once in, words the person's next reply."""
    bot = start_bot()
    driver = SlackDriver(bot.events_url, SIGNING_SECRET, emulator=slack)
    released = slack.hold("users.info")
    try:
        started = time.monotonic()
        answer = driver.slash_command("plan=x plan=z master=y", user_id=REQUESTER,
                                      channel_id=CHANNEL).json()
        assert time.monotonic() - started < 2.0
        assert "`plan` is given twice" in answer["text"]
    finally:
        released.set()
    slack.wait_for(lambda s: any(c.method == "users.info" and c.ok for c in s.calls))
    answer = driver.slash_command("plan=x plan=z master=y", user_id=REQUESTER,
                                  channel_id=CHANNEL).json()
    assert "`plan` est donnée deux fois" in answer["text"]
