"""Names the audit takes from Slack's payloads: commands, clicks, and none from events."""

from __future__ import annotations

from bot.listeners.names import names_in


def test_a_slash_command_names_its_user_and_channel() -> None:
    assert names_in({"user_id": "U1", "user_name": "alice", "channel_id": "C1",
                     "channel_name": "incident-42"}) == {"U1": "alice", "C1": "incident-42"}


def test_a_click_names_its_user_and_channel_and_falls_back_to_username() -> None:
    assert names_in({"user": {"id": "U2", "username": "bob"},
                     "channel": {"id": "C1", "name": "incident-42"}}) == {
        "U2": "bob", "C1": "incident-42"}


def test_slacks_placeholder_channel_names_and_events_give_no_name() -> None:
    assert names_in({"user_id": "U1", "user_name": "alice", "channel_id": "D1",
                     "channel_name": "directmessage"}) == {"U1": "alice"}
    assert names_in({"channel_id": "G1", "channel_name": "privategroup"}) == {}
    assert names_in({"event": {"type": "app_home_opened", "user": "U1"}, "user": "U1"}) == {}
