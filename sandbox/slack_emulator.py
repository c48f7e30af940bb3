"""Slack Web API emulator for integration tests and `reprotect-bot sandbox`.

It answers the methods the bot calls, keeps channel state (posts, edits, threads),
enforces the Block Kit limits Slack enforces and fails on demand the way Slack fails
(429 with Retry-After, 5xx, `ok: false`), so the bot can be exercised with no workspace.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sandbox.socket_mode_emulator import APP_ID as APP_ID  # one app id for both emulators
from sandbox.socket_mode_emulator import SocketModeEmulator

JsonDict = dict[str, Any]

BOT_ID = "B0SANDBOX"
BOT_USER_ID = "U0SANDBOXBOT"
PERMALINK_BASE = "https://sandbox.slack.example"

MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100  # modals and Home tabs
MAX_MEMBERS_LIMIT = 999  # conversations.members' `limit`; 100 by default
MAX_BLOCKS_JSON = 13_000
MAX_SECTION_TEXT = 3_000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2_000
MAX_ACTIONS_ELEMENTS = 25
MAX_ID_LENGTH = 255
MAX_TEXT = 40_000
RESPONSE_URL_MAX_POSTS = 5

# Parameters that form-encoded callers send as JSON strings, and the error a bad one gets.
_JSON_PARAMS = {
    "blocks": "invalid_blocks_format",
    "attachments": "invalid_attachments",
    "view": "invalid_arguments",
    "metadata": "invalid_metadata_format",
}


@dataclass(frozen=True)
class ApiCall:
    """One request the emulator answered, as the bot sent it and as it was answered."""

    method: str
    params: JsonDict
    token: str | None
    at: float
    status: int
    error: str | None = None
    url_key: str | None = None  # the response_url key, for method "response_url"

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


@dataclass(frozen=True)
class Message:
    """A channel message as Slack currently shows it (edits replace text and blocks)."""

    channel: str
    ts: str
    text: str
    blocks: list[JsonDict]
    user: str = BOT_USER_ID
    thread_ts: str | None = None
    edits: int = 0
    broadcast: bool = False  # a thread reply also shown in the channel (`reply_broadcast`)

    def as_payload(self) -> JsonDict:
        """The message object Slack embeds in API answers and interaction payloads."""
        body: JsonDict = {
            "type": "message",
            "user": self.user,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "text": self.text,
            "blocks": self.blocks,
            "ts": self.ts,
        }
        if self.thread_ts is not None:
            body["thread_ts"] = self.thread_ts
        if self.broadcast:  # Slack's subtype for a reply sent to the channel too
            body["subtype"] = "thread_broadcast"
        return body


def block_elements(blocks: list[JsonDict]) -> Iterator[tuple[JsonDict, JsonDict]]:
    """Yield (block, element) for every interactive element a user can act on."""
    for block in blocks:
        if block.get("type") == "actions":
            for element in block.get("elements", []):
                yield block, element
        elif block.get("type") == "section" and "accessory" in block:
            yield block, block["accessory"]
        elif block.get("type") == "input" and "element" in block:
            yield block, block["element"]


class _SlackError(Exception):
    """An `ok: false` answer; method handlers raise it with Slack's error code."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass(frozen=True)
class _Reply:
    status: int
    body: JsonDict
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def failure(cls, status: int, error: str, headers: dict[str, str] | None = None) -> _Reply:
        return cls(status, {"ok": False, "error": error}, headers or {})


@dataclass(frozen=True)
class _ResponseTarget:
    """What a response_url belongs to: its channel, the message it came from, its user."""

    channel: str | None
    message_ts: str | None
    user: str | None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, emulator: SlackEmulator) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.emulator = emulator


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        reply = self.server.emulator._serve(
            self.path,
            self.rfile.read(length),
            self.headers.get("Content-Type", ""),
            self.headers.get("Authorization"),
        )
        data = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean: calls are recorded in `SlackEmulator.calls` instead."""


class SlackEmulator:
    """An in-process Slack Web API on 127.0.0.1 (a background ThreadingHTTPServer)."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-sandbox",
        app_token: str = "xapp-1-A0SANDBOX-sandbox",
        socket_mode: SocketModeEmulator | None = None,
        team_id: str = "T0SANDBOX",
        usergroups: dict[str, list[str]] | None = None,
        users: dict[str, dict[str, Any]] | None = None,
        channel_members: dict[str, list[str]] | None = None,
        port: int = 0,
    ) -> None:
        """`channel_members`: who is in which channel (conversations.members); unset, every
        channel has the known users and the bot, and no other channel exists once set."""
        self.bot_token = bot_token
        self.app_token = app_token
        # Granted to the bot token; sent in `x-oauth-scopes` as Slack sends them on every call.
        self.scopes = ["commands", "chat:write", "usergroups:read", "users:read", "channels:read",
                       "groups:read"]
        self.team_id = team_id
        self.calls: list[ApiCall] = []
        self._usergroups = {group: list(members) for group, members in (usergroups or {}).items()}
        known = {member for members in self._usergroups.values() for member in members}
        self._users = {uid: self._profile(uid, (users or {}).get(uid, {})) for uid in known}
        self._users.update({uid: self._profile(uid, extra) for uid, extra in (users or {}).items()})
        self._channel_members = channel_members
        self.home_views: dict[str, JsonDict] = {}  # user id -> the Home tab published last
        self._port = port
        self._cond = threading.Condition(threading.RLock())
        self._channels: dict[str, dict[str, Message]] = {}
        self._targets: dict[str, _ResponseTarget] = {}
        self._url_posts: dict[str, int] = {}
        self._faults: dict[str, deque[_Reply]] = {}
        self._down = False
        self._held: dict[str, threading.Event] = {}
        self._refusals: list[tuple[str, str, Callable[[JsonDict], bool]]] = []
        self._last_micros = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._methods: dict[str, Callable[[JsonDict], JsonDict]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.getPermalink": self._permalink,
            "usergroups.users.list": self._usergroup_users,
            "users.info": self._user_info,
            "views.open": self._open_view,
            "conversations.info": self._conversation_info,
            "conversations.members": self._conversation_members,
            "views.publish": self._publish_view,
        }
        if socket_mode is not None:  # Socket Mode is an app setting: off unless given
            self._methods["apps.connections.open"] = lambda _: {"url": socket_mode.issue_url()}

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._server = _Server(self._port, self)
        # A short poll interval keeps stop() fast: shutdown() waits for the next poll.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="slack-emulator", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> SlackEmulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("SlackEmulator is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        """Web API base URL; the trailing slash matters to slack_sdk's WebClient."""
        return f"{self.base_url}/api/"

    def response_url(
        self,
        key: str,
        *,
        channel: str | None = None,
        message_ts: str | None = None,
        user: str | None = None,
    ) -> str:
        """A response_url for one interaction; posts to it are recorded as "response_url".

        With `message_ts`, `replace_original`/`delete_original` act on that message; with
        `channel`, `response_type: in_channel` posts there; `user` sees ephemeral replies.
        """
        with self._cond:
            self._targets[key] = _ResponseTarget(channel, message_ts, user)
        return f"{self.base_url}/response/{key}"

    # -- test controls -------------------------------------------------------------------

    def inject(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        error: str | None = None,
        count: int = 1,
    ) -> None:
        """Make the next `count` calls of `method` fail: HTTP `status`, or `ok: false, error`."""
        if error is not None:
            reply = _Reply.failure(200, error)
        elif status == 429:
            headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
            reply = _Reply.failure(429, "ratelimited", headers)
        else:
            reply = _Reply.failure(status, "fatal_error")
        with self._cond:
            self._faults.setdefault(method, deque()).extend([reply] * count)

    def refuse(self, method: str, error: str, when: Callable[[JsonDict], bool]) -> None:
        """Answer `ok: false, error` to every call of `method` whose parameters match `when`,
        for good (a channel archived, a message Slack will never accept)."""
        with self._cond:
            self._refusals.append((method, error, when))

    def hold(self, method: str) -> threading.Event:
        """Make calls of `method` wait (Slack slow to answer) until the returned event is set;
        other methods are answered meanwhile."""
        with self._cond:
            return self._held.setdefault(method, threading.Event())

    def set_down(self, down: bool) -> None:
        """Simulate a Slack outage: every request answers 503 until set back."""
        with self._cond:
            self._down = down

    def delete(self, channel: str, ts: str) -> None:
        """Someone deletes a message in Slack: editing it is `message_not_found` from now."""
        with self._cond:
            del self._channels[channel][ts]

    # -- state ---------------------------------------------------------------------------

    def messages(self, channel: str) -> list[Message]:
        with self._cond:
            return list(self._channels.get(channel, {}).values())

    def thread(self, channel: str, ts: str) -> list[Message]:
        return [m for m in self.messages(channel) if m.thread_ts == ts]

    def channel_view(self, channel: str) -> list[Message]:
        """What the channel itself shows: its messages and the replies broadcast to it."""
        return [m for m in self.messages(channel) if m.thread_ts is None or m.broadcast]

    def ephemerals(self, user: str | None = None) -> list[ApiCall]:
        """Successful ephemeral replies: chat.postEphemeral and ephemeral response_url posts."""
        with self._cond:
            found = []
            for call in self.calls:
                if not call.ok:
                    continue
                if call.method == "chat.postEphemeral":
                    recipient = call.params.get("user")
                elif call.method == "response_url" and _is_ephemeral(call.params):
                    recipient = self._targets[str(call.url_key)].user
                else:
                    continue
                if user is None or recipient == user:
                    found.append(call)
            return found

    def wait_for(self, predicate: Callable[[SlackEmulator], bool], timeout: float = 10.0) -> None:
        """Block until `predicate(self)` holds; on timeout fail with the recent calls."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"condition not met within {timeout}s; recent Slack calls:\n" + self.dump()
                    )
                self._cond.wait(remaining)

    def dump(self, last: int = 25) -> str:
        """A readable list of the last calls, for assertion messages."""
        with self._cond:
            calls = self.calls[-last:]
        return "\n".join(_describe(call) for call in calls) or "  (no calls)"

    # -- request handling ----------------------------------------------------------------

    def _serve(
        self, path: str, body: bytes, content_type: str, authorization: str | None
    ) -> _Reply:
        url = urlsplit(path)
        kind, _, name = url.path.lstrip("/").partition("/")
        is_json = content_type.split(";")[0].strip().lower() == "application/json"
        token = None
        if authorization and authorization.startswith("Bearer "):
            token = authorization.removeprefix("Bearer ")
        method, key = ("response_url", name) if kind == "response" else (name, None)
        with self._cond:
            held = self._held.get(method)
        if held is not None:
            held.wait()
        with self._cond:
            try:
                params = _decode(url.query, body, is_json)
                if token is None and not is_json:  # JSON bodies need the header, as at Slack
                    token = params.pop("token", None)
                reply = self._reply(kind, method, key, params, token)
            except _SlackError as exc:
                params, reply = {}, _Reply.failure(200, exc.error)
            error = None if reply.body.get("ok") else str(reply.body.get("error"))
            self.calls.append(ApiCall(method, params, token, time.time(), reply.status, error, key))
            self._cond.notify_all()
            return reply

    def _reply(
        self, kind: str, method: str, key: str | None, params: JsonDict, token: str | None
    ) -> _Reply:
        if kind not in ("api", "response"):
            return _Reply.failure(404, "not_found")
        if self._down:
            return _Reply.failure(503, "service_unavailable")
        faults = self._faults.get(method)
        if faults:
            return faults.popleft()
        refused = next((e for m, e, when in self._refusals if m == method and when(params)), None)
        if refused is not None:
            return _Reply.failure(200, refused)
        if key is not None:
            return self._respond(key, params)
        if token is None:
            raise _SlackError("not_authed")
        # apps.connections.open takes the app-level token (xapp-), every other method the bot's.
        if token != (self.app_token if method == "apps.connections.open" else self.bot_token):
            raise _SlackError("invalid_auth")
        handler = self._methods.get(method)
        if handler is None:
            raise _SlackError("unknown_method")
        return _Reply(200, {"ok": True, **handler(params)},
                      {"x-oauth-scopes": ",".join(self.scopes)})

    def _respond(self, key: str, params: JsonDict) -> _Reply:
        """A response_url post: at most 5 per URL, then replace/delete/in_channel/ephemeral."""
        target = self._targets.get(key)
        if target is None:
            return _Reply.failure(404, "expired_url")
        if self._url_posts.get(key, 0) >= RESPONSE_URL_MAX_POSTS:
            return _Reply.failure(404, "used_url")
        self._url_posts[key] = self._url_posts.get(key, 0) + 1
        try:
            blocks = _checked_blocks(params.get("blocks"))
        except _SlackError as exc:
            return _Reply.failure(400, exc.error)
        original = self._find(target.channel, target.message_ts)
        if original is not None and _flag(params.get("delete_original")):
            del self._channels[original.channel][original.ts]
        elif original is not None and _flag(params.get("replace_original")):
            self._edit(original, str(params.get("text") or ""), blocks)
        elif params.get("response_type") == "in_channel" and target.channel is not None:
            self._store(target.channel, params, blocks)
        return _Reply(200, {"ok": True})

    # -- helpers over state (callers hold the lock) --------------------------------------

    def _next_ts(self) -> str:
        """Unique, increasing message ts in Slack's "seconds.micros" form."""
        self._last_micros = max(time.time_ns() // 1000, self._last_micros + 1)
        return f"{self._last_micros // 1_000_000}.{self._last_micros % 1_000_000:06d}"

    def _find(self, channel: str | None, ts: str | None) -> Message | None:
        if channel is None or ts is None:
            return None
        return self._channels.get(channel, {}).get(ts)

    def _existing(self, channel: str, ts: str) -> Message:
        found = self._find(channel, ts)
        if found is None:
            raise _SlackError("message_not_found")
        return found

    def _store(self, channel: str, params: JsonDict, blocks: list[JsonDict]) -> Message:
        text = str(params.get("text") or "")[:MAX_TEXT]
        if not text and not blocks and not params.get("attachments"):
            raise _SlackError("no_text")
        thread_ts = params.get("thread_ts") or None
        parent = self._find(channel, thread_ts)
        if parent is not None and parent.thread_ts is not None:  # replies go to the root
            thread_ts = parent.thread_ts
        # `reply_broadcast` counts only with `thread_ts` (Slack: "used in conjunction with
        # thread_ts"); a JSON body gives a boolean, a form one the string "true" or "1".
        broadcast = thread_ts is not None and params.get("reply_broadcast") in (True, "true", "1")
        message = Message(channel, self._next_ts(), text, blocks, BOT_USER_ID, thread_ts,
                          broadcast=broadcast)
        self._channels.setdefault(channel, {})[message.ts] = message
        return message

    def _edit(self, message: Message, text: str, blocks: list[JsonDict]) -> Message:
        edited = replace(message, text=text[:MAX_TEXT], blocks=blocks, edits=message.edits + 1)
        self._channels[message.channel][message.ts] = edited
        return edited

    def _profile(self, uid: str, extra: dict[str, Any]) -> JsonDict:
        profile: JsonDict = {
            "id": uid,
            "team_id": self.team_id,
            "name": uid.lower(),
            "real_name": uid,
            "is_bot": False,
            "deleted": False,
            "tz": "UTC",
            "locale": "en-US",  # given only when asked (`include_locale`), as Slack does
            **extra,
        }
        profile.setdefault(
            "profile", {"real_name": profile["real_name"], "display_name": profile["name"]}
        )
        return profile

    # -- methods -------------------------------------------------------------------------

    def _auth_test(self, params: JsonDict) -> JsonDict:
        return {
            "url": f"{PERMALINK_BASE}/",
            "team": "Sandbox",
            "user": "reprotect-bot",
            "team_id": self.team_id,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_message(self, params: JsonDict) -> JsonDict:
        channel = _required(params, "channel", "channel_not_found")
        message = self._store(channel, params, _checked_blocks(params.get("blocks")))
        return {"channel": channel, "ts": message.ts, "message": message.as_payload()}

    def _update(self, params: JsonDict) -> JsonDict:
        channel = _required(params, "channel", "channel_not_found")
        message = self._existing(channel, _required(params, "ts", "message_not_found"))
        # Like Slack, omitted text or blocks keep their previous value.
        edited = self._edit(
            message,
            str(params["text"]) if "text" in params else message.text,
            _checked_blocks(params["blocks"]) if "blocks" in params else message.blocks,
        )
        return {
            "channel": channel,
            "ts": edited.ts,
            "text": edited.text,
            "message": edited.as_payload(),
        }

    def _post_ephemeral(self, params: JsonDict) -> JsonDict:
        _required(params, "channel", "channel_not_found")
        _required(params, "user", "user_not_in_channel")
        _checked_blocks(params.get("blocks"))
        return {"message_ts": self._next_ts()}

    def _permalink(self, params: JsonDict) -> JsonDict:
        channel = _required(params, "channel", "channel_not_found")
        message = self._existing(channel, _required(params, "message_ts", "message_not_found"))
        link = f"{PERMALINK_BASE}/archives/{channel}/p{message.ts.replace('.', '')}"
        if message.thread_ts is not None:
            link += f"?thread_ts={message.thread_ts}&cid={channel}"
        return {"channel": channel, "permalink": link}

    def _usergroup_users(self, params: JsonDict) -> JsonDict:
        group = self._usergroups.get(str(params.get("usergroup", "")))
        if group is None:
            raise _SlackError("no_such_subteam")
        return {"users": list(group)}

    def _user_info(self, params: JsonDict) -> JsonDict:
        user = self._users.get(str(params.get("user", "")))
        if user is None:
            raise _SlackError("user_not_found")
        shown = copy.deepcopy(user)
        if str(params.get("include_locale", "")).lower() not in ("1", "true"):
            shown.pop("locale", None)
        return {"user": shown}

    def _open_view(self, params: JsonDict) -> JsonDict:
        _required(params, "trigger_id", "invalid_trigger_id")
        view = params.get("view")
        if not isinstance(view, dict):
            raise _SlackError("invalid_arguments")
        view_id = f"V{secrets.token_hex(5).upper()}"
        opened = {
            "id": view_id,
            "team_id": self.team_id,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "private_metadata": "",
            "callback_id": "",
            "hash": secrets.token_hex(8),
            "root_view_id": view_id,
            "previous_view_id": None,
            **copy.deepcopy(view),
            "blocks": _checked_blocks(view.get("blocks")),
            "state": {"values": {}},
        }
        return {"view": opened}

    def _publish_view(self, params: JsonDict) -> JsonDict:
        """views.publish: a `home` view for one user, replacing the one they had."""
        user = _required(params, "user_id", "invalid_arguments")
        view = params.get("view")
        if user not in self._users or not isinstance(view, dict) or view.get("type") != "home":
            raise _SlackError("invalid_arguments")
        blocks = _checked_blocks(view.get("blocks"), most=MAX_VIEW_BLOCKS, json_limit=None)
        view_id = self.home_views.get(user, {}).get("id") or f"V{secrets.token_hex(5).upper()}"
        published = {
            "id": view_id, "team_id": self.team_id, "app_id": APP_ID, "bot_id": BOT_ID,
            "private_metadata": "", "callback_id": "", "external_id": "",
            "close": None, "submit": None, "clear_on_close": False, "notify_on_close": False,
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}", "root_view_id": view_id,
            "previous_view_id": None, **copy.deepcopy(view), "blocks": blocks,
            "state": {"values": {}},
        }
        self.home_views[user] = published
        return {"view": published}

    def _conversation_members(self, params: JsonDict) -> JsonDict:
        """conversations.members: a page of user ids and the cursor of the next page."""
        channel = _required(params, "channel", "channel_not_found")
        if self._channel_members is None:
            members = [*self._users, BOT_USER_ID]
        elif channel in self._channel_members:
            members = list(self._channel_members[channel])
        else:
            raise _SlackError("channel_not_found")
        limit = int(params.get("limit") or 100)
        if not 0 < limit <= MAX_MEMBERS_LIMIT:
            raise _SlackError("invalid_limit")
        cursor = str(params.get("cursor") or "")
        start = int(cursor.removeprefix("members:")) if cursor.startswith("members:") else 0
        if cursor and not cursor.removeprefix("members:").isdigit():
            raise _SlackError("invalid_cursor")
        end = start + limit
        return {"members": members[start:end],
                "response_metadata": {"next_cursor": f"members:{end}" if end < len(members)
                                      else ""}}

    def _conversation_info(self, params: JsonDict) -> JsonDict:
        channel = _required(params, "channel", "channel_not_found")
        return {
            "channel": {
                "id": channel,
                "name": channel.lower(),
                "is_channel": True,
                "is_member": True,
                "is_ext_shared": False,
            }
        }


def _decode(query: str, body: bytes, is_json: bool) -> JsonDict:
    """Merge query string and body (form or JSON), decoding JSON-string parameters."""
    params: JsonDict = dict(parse_qsl(query, keep_blank_values=True))
    if is_json:
        try:
            loaded = json.loads(body or b"{}")
        except ValueError:
            raise _SlackError("invalid_json") from None
        if not isinstance(loaded, dict):
            raise _SlackError("invalid_json")
        params.update(loaded)
    else:
        params.update(parse_qsl(body.decode(), keep_blank_values=True))
    for name, error in _JSON_PARAMS.items():
        if isinstance(params.get(name), str):
            try:
                params[name] = json.loads(params[name])
            except ValueError:
                raise _SlackError(error) from None
    return params


def _checked_blocks(blocks: Any, *, most: int = MAX_BLOCKS,
                    json_limit: int | None = MAX_BLOCKS_JSON) -> list[JsonDict]:
    """Refuse blocks Slack refuses (a message's limits unless given); return a copy with
    Slack's generated ids filled in."""
    if blocks is None:
        return []
    if not isinstance(blocks, list) or not all(isinstance(b, dict) and "type" in b for b in blocks):
        raise _SlackError("invalid_blocks_format")
    if len(blocks) > most:
        raise _SlackError("invalid_blocks")
    if json_limit is not None and len(json.dumps(blocks)) > json_limit:
        raise _SlackError("msg_blocks_too_long")
    for block in blocks:
        _check_block(block)
    checked = copy.deepcopy(blocks)
    for block in checked:
        block.setdefault("block_id", secrets.token_urlsafe(3))
    for _, element in block_elements(checked):
        element.setdefault("action_id", secrets.token_urlsafe(3))
    return checked


def _check_block(block: JsonDict) -> None:
    is_section = block.get("type") == "section"
    text = block.get("text") if is_section else None
    fields = (block.get("fields") or []) if is_section else []
    elements = block.get("elements", []) if block.get("type") == "actions" else []
    too_big = (
        len(str(block.get("block_id", ""))) > MAX_ID_LENGTH
        or (isinstance(text, dict) and len(str(text.get("text", ""))) > MAX_SECTION_TEXT)
        or len(fields) > MAX_SECTION_FIELDS
        or any(len(str(f.get("text", ""))) > MAX_FIELD_TEXT for f in fields)
        or len(elements) > MAX_ACTIONS_ELEMENTS
        or any(
            len(str(element.get("action_id", ""))) > MAX_ID_LENGTH
            for _, element in block_elements([block])
        )
    )
    if too_big:
        raise _SlackError("invalid_blocks")


def _required(params: JsonDict, name: str, error: str) -> str:
    value = params.get(name)
    if not value:
        raise _SlackError(error)
    return str(value)


def _flag(value: Any) -> bool:
    return value is True or value == "true"


def _is_ephemeral(params: JsonDict) -> bool:
    """Slack's default for response_url posts is ephemeral, unless they edit the original."""
    return params.get("response_type", "ephemeral") == "ephemeral" and not (
        _flag(params.get("replace_original")) or _flag(params.get("delete_original"))
    )


def _describe(call: ApiCall) -> str:
    shown: JsonDict = {
        k: call.params[k] for k in ("channel", "ts", "thread_ts", "user") if k in call.params
    }
    text = str(call.params.get("text", ""))
    if text:
        shown["text"] = text if len(text) <= 80 else text[:77] + "..."
    outcome = "ok" if call.ok else f"{call.status} {call.error}"
    return f"  {call.method} [{outcome}] {shown}"
