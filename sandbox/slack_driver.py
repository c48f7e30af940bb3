"""Plays Slack's servers calling the bot: signed slash commands, clicks and view submissions.

Payloads follow what Slack really sends (form-encoded, `payload=<json>` for interactions,
v0 HMAC signatures, retry headers), so the bot's request verification and parsing are
exercised exactly as in production. The same payloads go to a bot in Socket Mode as
envelopes over the WebSocket (`SocketModeDriver`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

import requests

from sandbox.slack_emulator import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    JsonDict,
    Message,
    SlackEmulator,
    block_elements,
)
from sandbox.socket_mode_emulator import SocketModeEmulator

VERIFICATION_TOKEN = "sandbox-verification-token"  # Slack's deprecated `token` field
TEAM_DOMAIN = "sandbox"

Answer = TypeVar("Answer")


NO_TEAM = ""  # as `user_team_id`: a payload whose user has no team_id


def escaped(text: str) -> str:
    """Slack sends `&`, `<`, `>` of a slash command's text as HTML entities, as in messages."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def signed_headers(signing_secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """Slack's v0 request signature: HMAC-SHA256 of "v0:{timestamp}:{body}"."""
    base = f"v0:{timestamp}:".encode() + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


class SlackActions(ABC, Generic[Answer]):
    """What people do in Slack, as the payloads Slack sends the bot; subclasses deliver them
    (signed HTTP requests, Socket Mode envelopes) and return what the bot answered."""

    def __init__(self, *, team_id: str, emulator: SlackEmulator | None) -> None:
        self.team_id = team_id
        self.emulator = emulator

    @abstractmethod
    def _send_command(self, fields: dict[str, str], retry_num: int | None) -> Answer:
        """Deliver a slash command's fields."""

    @abstractmethod
    def _send_interaction(self, payload: JsonDict, retry_num: int | None) -> Answer:
        """Deliver an interaction payload (block_actions, view_submission)."""

    @abstractmethod
    def _send_event(self, callback: JsonDict) -> Answer:
        """Deliver an Events API `event_callback`."""

    def app_home_opened(self, user_id: str, *, tab: str = "home") -> Answer:
        """The person opens the app's Home (or Messages) tab, as Slack's event says it."""
        return self._send_event({
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "api_app_id": APP_ID,
            "event": {"type": "app_home_opened", "user": user_id,
                      "channel": f"D{user_id[1:]}", "tab": tab, "event_ts": _action_ts()},
            "type": "event_callback",
            "event_id": f"Ev{secrets.token_hex(5).upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"enterprise_id": None, "team_id": self.team_id,
                                "user_id": BOT_USER_ID, "is_bot": True,
                                "is_enterprise_install": False}],
            "is_ext_shared_channel": False,
        })

    def slash_command(
        self,
        text: str,
        *,
        user_id: str,
        channel_id: str,
        command: str = "/reprotect",
        trigger_id: str | None = None,
        retry_num: int | None = None,
        user_team_id: str | None = None,
    ) -> Answer:
        """A slash command; `team_id` is the invoking user's team, as Slack reports it."""
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": user_team_id or self.team_id,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel_id,
            "channel_name": channel_id.lower(),
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": escaped(text),
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self._response_url(channel_id, None, user_id),
            "trigger_id": trigger_id or _trigger_id(),
        }
        return self._send_command(fields, retry_num)

    def click(
        self,
        message: Message,
        button_text: str,
        *,
        user_id: str,
        channel_id: str,
        user_team_id: str | None = None,
        retry_num: int | None = None,
    ) -> Answer:
        """Click the button whose visible text is `button_text`."""
        buttons = [
            (block, element)
            for block, element in block_elements(message.blocks)
            if element.get("type") == "button"
        ]
        for block, element in buttons:
            if element["text"]["text"] == button_text:
                action = _button_action(block, element, None)
                return self._block_actions(
                    message, action, user_id, channel_id, user_team_id, retry_num
                )
        available = [element["text"]["text"] for _, element in buttons]
        raise AssertionError(
            f"no button {button_text!r} in message ts={message.ts}; buttons: {available}; "
            f"text: {message.text!r}"
        )

    def click_action(
        self,
        message: Message,
        action_id: str,
        *,
        user_id: str,
        channel_id: str,
        value: str | None = None,
        selected: Sequence[str] | None = None,
        user_team_id: str | None = None,
        retry_num: int | None = None,
    ) -> Answer:
        """Act on the element with `action_id`: a button (`value` overrides its value) or
        checkboxes (`selected` option values; default: its initial options)."""
        elements = list(block_elements(message.blocks))
        for block, element in elements:
            if element.get("action_id") != action_id:
                continue
            if element.get("type") == "button":
                action = _button_action(block, element, value)
            elif element.get("type") == "checkboxes":
                action = _checkboxes_action(block, element, selected)
            else:
                raise AssertionError(f"element {action_id!r} is a {element.get('type')!r}")
            return self._block_actions(
                message, action, user_id, channel_id, user_team_id, retry_num
            )
        available = [element.get("action_id") for _, element in elements]
        raise AssertionError(
            f"no element with action_id {action_id!r} in message ts={message.ts}; "
            f"action_ids: {available}"
        )

    def submit_view(
        self, view: dict[str, Any], values: dict[str, dict[str, Any]], *, user_id: str
    ) -> Answer:
        """Submit a modal the bot opened.

        `view` is what the bot passed to (or got back from) views.open; `values` maps
        block_id -> action_id -> a state value dict, or a plain string for a text input.
        """
        view_id = view.get("id") or f"V{secrets.token_hex(5).upper()}"
        state = {
            block_id: {
                action_id: value
                if isinstance(value, dict)
                else {"type": "plain_text_input", "value": value}
                for action_id, value in actions.items()
            }
            for block_id, actions in values.items()
        }
        submitted = {
            "id": view_id,
            "team_id": self.team_id,
            "type": "modal",
            "private_metadata": "",
            "callback_id": "",
            "hash": secrets.token_hex(8),
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "root_view_id": view_id,
            "previous_view_id": None,
            **view,
            "state": {"values": state},
        }
        payload: JsonDict = {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": TEAM_DOMAIN},
            "user": self._user(user_id, None),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "trigger_id": _trigger_id(),
            "view": submitted,
            "response_urls": [],
            "enterprise": None,
            "is_enterprise_install": False,
        }
        return self._send_interaction(payload, None)

    def _block_actions(
        self,
        message: Message,
        action: JsonDict,
        user_id: str,
        channel_id: str,
        user_team_id: str | None,
        retry_num: int | None,
    ) -> Answer:
        container: JsonDict = {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        if message.thread_ts is not None:
            container["thread_ts"] = message.thread_ts
        payload: JsonDict = {
            "type": "block_actions",
            "user": self._user(user_id, user_team_id),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "container": container,
            "trigger_id": _trigger_id(),
            "team": {"id": self.team_id, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel_id, "name": channel_id.lower()},
            "message": message.as_payload(),
            "state": {"values": {}},
            "response_url": self._response_url(channel_id, message.ts, user_id),
            "actions": [action],
        }
        return self._send_interaction(payload, retry_num)

    def _user(self, user_id: str, user_team_id: str | None) -> JsonDict:
        """The clicking user; `user_team_id=NO_TEAM` leaves `team_id` out."""
        team = self.team_id if user_team_id is None else user_team_id
        return {
            "id": user_id,
            "username": user_id.lower(),
            "name": user_id.lower(),
            **({"team_id": team} if team != NO_TEAM else {}),
        }

    def _response_url(self, channel_id: str, message_ts: str | None, user_id: str) -> str:
        """A fresh response_url: on the emulator when there is one, else unreachable."""
        key = uuid.uuid4().hex
        if self.emulator is None:
            return f"https://hooks.slack.example/actions/{self.team_id}/{key}"
        return self.emulator.response_url(
            key, channel=channel_id, message_ts=message_ts, user=user_id
        )


class SlackDriver(SlackActions[requests.Response]):
    """Sends the bot the signed HTTP requests Slack sends when people use it."""

    def __init__(
        self,
        events_url: str,
        signing_secret: str,
        *,
        team_id: str = "T0SANDBOX",
        emulator: SlackEmulator | None = None,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(team_id=team_id, emulator=emulator)
        self.events_url = events_url
        self.signing_secret = signing_secret
        self.timeout = timeout

    def signed_post(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """POST `body` signed now (or at `timestamp`); `signature` forges the signature."""
        headers = {
            "Content-Type": content_type,
            **signed_headers(self.signing_secret, body, timestamp or int(time.time())),
        }
        if signature is not None:
            headers["X-Slack-Signature"] = signature
        headers.update(extra_headers or {})
        return requests.post(self.events_url, data=body, headers=headers, timeout=self.timeout)

    def _send_command(self, fields: dict[str, str], retry_num: int | None) -> requests.Response:
        return self._post_form(fields, retry_num)

    def _send_interaction(self, payload: JsonDict, retry_num: int | None) -> requests.Response:
        return self._post_form({"payload": json.dumps(payload)}, retry_num)

    def _send_event(self, callback: JsonDict) -> requests.Response:
        return self.signed_post(json.dumps(callback).encode(), "application/json")

    def _post_form(self, fields: dict[str, str], retry_num: int | None) -> requests.Response:
        retry: dict[str, str] = {}
        if retry_num is not None:
            retry = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return self.signed_post(
            urlencode(fields).encode(),
            "application/x-www-form-urlencoded",
            extra_headers=retry,
        )


class SocketModeDriver(SlackActions[JsonDict]):
    """Sends the same payloads to a bot in Socket Mode, as envelopes; answers are its acks."""

    def __init__(
        self,
        socket_mode: SocketModeEmulator,
        *,
        team_id: str = "T0SANDBOX",
        emulator: SlackEmulator | None = None,
    ) -> None:
        super().__init__(team_id=team_id, emulator=emulator)
        self.socket_mode = socket_mode

    def _send_command(self, fields: dict[str, str], retry_num: int | None) -> JsonDict:
        return self.socket_mode.send_envelope(
            "slash_commands", dict(fields), accepts_response_payload=True, retry_attempt=retry_num
        )

    def _send_event(self, callback: JsonDict) -> JsonDict:
        return self.socket_mode.send_envelope("events_api", callback,
                                              accepts_response_payload=False, retry_attempt=None)

    def _send_interaction(self, payload: JsonDict, retry_num: int | None) -> JsonDict:
        # Slack lets only view submissions answer in the ack (errors, update, push).
        return self.socket_mode.send_envelope(
            "interactive",
            payload,
            accepts_response_payload=payload["type"] == "view_submission",
            retry_attempt=retry_num,
        )


def _trigger_id() -> str:
    return f"{secrets.randbelow(10**11)}.{secrets.randbelow(10**11)}.{secrets.token_hex(16)}"


def _action_ts() -> str:
    return f"{time.time():.6f}"


def _button_action(block: JsonDict, element: JsonDict, value: str | None) -> JsonDict:
    action: JsonDict = {
        "action_id": element["action_id"],
        "block_id": block["block_id"],
        "text": element["text"],
        "type": "button",
        "action_ts": _action_ts(),
    }
    if value is not None or "value" in element:
        action["value"] = value if value is not None else element["value"]
    return action


def _checkboxes_action(
    block: JsonDict, element: JsonDict, selected: Sequence[str] | None
) -> JsonDict:
    options = element.get("options", [])
    if selected is None:
        chosen = element.get("initial_options", [])
    else:
        chosen = [option for option in options if option["value"] in selected]
    return {
        "action_id": element["action_id"],
        "block_id": block["block_id"],
        "type": "checkboxes",
        "selected_options": chosen,
        "action_ts": _action_ts(),
    }
