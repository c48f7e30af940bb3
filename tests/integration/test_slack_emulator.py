"""The Slack emulator answers like Slack, and the driver's requests pass Bolt as Slack's do."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import requests
from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from sandbox.slack_driver import SlackDriver
from sandbox.slack_emulator import Message, SlackEmulator

TOKEN = "xoxb-sandbox"
SECRET = "sandbox-signing-secret"
CHANNEL = "C0OPS"
ALICE, BOB = "U0ALICE", "U0BOB"
APPROVE_BLOCKS: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Reprotect *plan-a*?"}},
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "text": {"type": "plain_text", "text": "Approve"},
                "value": "req-1",
            },
            {
                "type": "button",
                "action_id": "reject",
                "text": {"type": "plain_text", "text": "Reject"},
                "value": "req-1",
            },
        ],
    },
]


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator(
        usergroups={"S0APPROVERS": [ALICE, BOB]}, users={ALICE: {"real_name": "Alice"}}
    ) as emulator:
        yield emulator


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token=TOKEN, base_url=emu.api_url)


def _error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        call()
    return str(caught.value.response["error"])


def test_messages_updates_threads_and_ephemerals_round_trip(
    emu: SlackEmulator, client: WebClient
) -> None:
    root = client.chat_postMessage(channel=CHANNEL, text="request", blocks=APPROVE_BLOCKS)
    reply = client.chat_postMessage(channel=CHANNEL, text="started", thread_ts=root["ts"])
    client.chat_update(channel=CHANNEL, ts=root["ts"], text="approved by Alice", blocks=[])
    ephemeral = client.chat_postEphemeral(channel=CHANNEL, user=BOB, text="not an approver")

    [message, threaded] = emu.messages(CHANNEL)
    assert (message.ts, message.text, message.blocks, message.edits) == (
        root["ts"],
        "approved by Alice",
        [],
        1,
    )
    assert emu.thread(CHANNEL, root["ts"]) == [threaded]
    assert threaded.ts == reply["ts"] > root["ts"]
    assert ephemeral["message_ts"]
    assert [call.params["text"] for call in emu.ephemerals(BOB)] == ["not an approver"]
    assert emu.ephemerals(ALICE) == []
    assert client.usergroups_users_list(usergroup="S0APPROVERS")["users"] == [ALICE, BOB]
    assert client.users_info(user=ALICE)["user"]["real_name"] == "Alice"
    assert client.users_info(user=BOB)["user"]["team_id"] == "T0SANDBOX"
    permalink = client.chat_getPermalink(channel=CHANNEL, message_ts=root["ts"])["permalink"]
    assert (
        permalink
        == f"https://sandbox.slack.example/archives/{CHANNEL}/p{root['ts'].replace('.', '')}"
    )
    assert [call.method for call in emu.calls][:2] == ["chat.postMessage", "chat.postMessage"]
    assert all(call.token == TOKEN and call.status == 200 for call in emu.calls)


def test_posted_blocks_get_slack_generated_ids(emu: SlackEmulator, client: WebClient) -> None:
    button = {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "value": "v"}
    client.chat_postMessage(
        channel=CHANNEL, text="t", blocks=[{"type": "actions", "elements": [button]}]
    )

    [stored] = emu.messages(CHANNEL)[0].blocks
    assert stored["block_id"] and stored["elements"][0]["action_id"]
    assert "block_id" not in emu.calls[-1].params["blocks"][0]  # recorded as the bot sent it


def test_a_broadcast_reply_shows_in_the_thread_and_in_the_channel(
        emu: SlackEmulator, client: WebClient) -> None:
    """Slack's `reply_broadcast` counts with `thread_ts` only; the reply's subtype says so."""
    root = str(client.chat_postMessage(channel=CHANNEL, text="root")["ts"])
    quiet = client.chat_postMessage(channel=CHANNEL, thread_ts=root, text="quiet")
    loud = client.chat_postMessage(channel=CHANNEL, thread_ts=root, text="loud",
                                   reply_broadcast=True)
    client.chat_postMessage(channel=CHANNEL, text="plain", reply_broadcast=True)
    form = requests.post(emu.api_url + "chat.postMessage", timeout=5, data={
        "token": TOKEN, "channel": CHANNEL, "thread_ts": root, "text": "form",
        "reply_broadcast": "true"}).json()

    assert loud["message"]["subtype"] == "thread_broadcast" and "subtype" not in quiet["message"]
    assert form["message"]["subtype"] == "thread_broadcast"
    assert [m.text for m in emu.thread(CHANNEL, root)] == ["quiet", "loud", "form"]
    assert [m.text for m in emu.channel_view(CHANNEL)] == ["root", "loud", "plain", "form"]


def test_unknown_messages_users_and_groups_are_refused(client: WebClient) -> None:
    assert _error_of(lambda: client.chat_update(channel=CHANNEL, ts="1.000001", text="x")) == (
        "message_not_found"
    )
    assert _error_of(lambda: client.usergroups_users_list(usergroup="S0NOPE")) == (
        "no_such_subteam"
    )
    assert _error_of(lambda: client.users_info(user="U0NOBODY")) == "user_not_found"
    assert _error_of(lambda: client.api_call("chat.scheduleMessage")) == "unknown_method"


def test_wrong_token_is_invalid_auth(emu: SlackEmulator) -> None:
    wrong = WebClient(token="xoxb-wrong", base_url=emu.api_url)
    assert _error_of(lambda: wrong.chat_postMessage(channel=CHANNEL, text="hi")) == "invalid_auth"
    form = requests.post(emu.api_url + "auth.test", data={"token": TOKEN}, timeout=5)
    assert form.json()["ok"] is True
    assert emu.messages(CHANNEL) == []


def test_form_encoded_blocks_are_parsed(emu: SlackEmulator) -> None:
    fields = {"token": TOKEN, "channel": CHANNEL, "text": "t", "blocks": '[{"type": "divider"}]'}
    answer = requests.post(emu.api_url + "chat.postMessage", data=fields, timeout=5).json()

    assert answer["ok"] and answer["message"]["blocks"][0]["type"] == "divider"
    assert emu.calls[-1].params["blocks"] == [{"type": "divider"}]


def test_response_url_edits_posts_and_wears_out(emu: SlackEmulator, client: WebClient) -> None:
    ts = client.chat_postMessage(channel=CHANNEL, text="card")["ts"]
    url = emu.response_url("k1", channel=CHANNEL, message_ts=ts, user=BOB)

    def post(body: dict[str, Any]) -> int:
        return requests.post(url, json=body, timeout=5).status_code

    assert post({"replace_original": True, "text": "card v2"}) == 200
    assert post({"response_type": "in_channel", "text": "for all"}) == 200
    assert [post({"text": "only Bob"}) for _ in range(4)] == [200, 200, 200, 404]
    assert [(m.text, m.edits) for m in emu.messages(CHANNEL)] == [("card v2", 1), ("for all", 0)]
    assert [c.params["text"] for c in emu.ephemerals(BOB)] == ["only Bob"] * 3
    assert emu.calls[-1].error == "used_url"


def test_rate_limit_is_retried_by_slack_sdk(emu: SlackEmulator) -> None:
    client = WebClient(
        token=TOKEN,
        base_url=emu.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    emu.inject("chat.postMessage", status=429, retry_after=1)

    started = time.monotonic()
    assert client.chat_postMessage(channel=CHANNEL, text="hello")["ok"]

    assert time.monotonic() - started >= 1  # honoured Retry-After
    assert [(c.method, c.status, c.error) for c in emu.calls] == [
        ("chat.postMessage", 429, "ratelimited"),
        ("chat.postMessage", 200, None),
    ]
    assert len(emu.messages(CHANNEL)) == 1


def test_injected_errors_and_outage(emu: SlackEmulator, client: WebClient) -> None:
    emu.inject("chat.update", error="ratelimited")
    emu.inject("auth.test", status=500, count=2)
    client.chat_postMessage(channel=CHANNEL, text="x")
    ts = emu.messages(CHANNEL)[0].ts

    assert _error_of(lambda: client.chat_update(channel=CHANNEL, ts=ts, text="y")) == "ratelimited"
    assert client.chat_update(channel=CHANNEL, ts=ts, text="y")["ok"]
    assert [_error_of(client.auth_test) for _ in range(2)] == ["fatal_error", "fatal_error"]
    assert client.auth_test()["ok"]
    emu.set_down(True)
    assert _error_of(client.auth_test) == "service_unavailable"
    assert emu.calls[-1].status == 503
    emu.set_down(False)
    assert client.auth_test()["ok"]


@pytest.mark.parametrize(
    ("blocks", "error"),
    [
        ([{"type": "divider"}] * 51, "invalid_blocks"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], "invalid_blocks"),
        (
            [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2000}}] * 7,
            "msg_blocks_too_long",
        ),
    ],
    ids=["51-blocks", "long-section", "13k-total"],
)
def test_block_kit_limits(
    emu: SlackEmulator, client: WebClient, blocks: list[dict[str, Any]], error: str
) -> None:
    assert _error_of(lambda: client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks)) == (
        error
    )
    assert emu.messages(CHANNEL) == []


def test_wait_for_times_out_with_a_dump(emu: SlackEmulator, client: WebClient) -> None:
    client.chat_postMessage(channel=CHANNEL, text="preflight ok")
    with pytest.raises(AssertionError, match=r"chat.postMessage \[ok\].*preflight ok"):
        emu.wait_for(lambda e: len(e.messages(CHANNEL)) > 1, timeout=0.2)


class _Recorder(BaseHTTPRequestHandler):
    """Stands in for the bot: records the raw request the driver sends."""

    received: ClassVar[list[tuple[bytes, dict[str, str]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((body, dict(self.headers.items())))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence."""


def test_slash_command_is_signed_like_slack(emu: SlackEmulator) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
        driver = SlackDriver(url, SECRET, emulator=emu)
        driver.slash_command("plan=a master=m", user_id=ALICE, channel_id=CHANNEL, retry_num=1)
    finally:
        server.shutdown()
        server.server_close()
    body, headers = _Recorder.received.pop()

    verifier = SignatureVerifier(SECRET)
    ts, signature = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    assert verifier.is_valid(body.decode(), ts, signature)
    assert not verifier.is_valid(body.decode().replace("plan%3Da", "plan%3Db"), ts, signature)
    assert (headers["X-Slack-Retry-Num"], headers["X-Slack-Retry-Reason"]) == ("1", "http_timeout")
    fields = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    assert fields["text"] == "plan=a master=m" and fields["command"] == "/reprotect"
    assert fields["response_url"].startswith(emu.base_url + "/response/")


def test_click_without_the_button_names_the_buttons() -> None:
    driver = SlackDriver("http://127.0.0.1:9/slack/events", SECRET)
    message = Message(CHANNEL, "1.000001", "blocked", APPROVE_BLOCKS[1:])
    with pytest.raises(AssertionError, match=r"no button 'Retry'.*\['Approve', 'Reject'\]"):
        driver.click(message, "Retry", user_id=ALICE, channel_id=CHANNEL)


class _QuietWSGIHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Silence."""


class _ThreadingWSGIServer(ThreadingHTTPServer, WSGIServer):
    daemon_threads = True


@pytest.fixture
def bolt(emu: SlackEmulator) -> Iterator[tuple[SlackDriver, list[dict[str, Any]]]]:
    """A minimal Bolt app behind WSGI, to prove the driver's payloads parse as Slack's do."""
    seen: list[dict[str, Any]] = []
    app = App(
        token=TOKEN, signing_secret=SECRET, client=WebClient(token=TOKEN, base_url=emu.api_url)
    )

    @app.command("/reprotect")
    def command(ack: Ack, body: dict[str, Any], say: Any, client: WebClient) -> None:
        ack()
        if body["text"] == "modal":
            client.views_open(
                trigger_id=body["trigger_id"],
                view={
                    "type": "modal",
                    "callback_id": "reason",
                    "private_metadata": "req-1",
                    "title": {"type": "plain_text", "text": "Reject"},
                    "blocks": [
                        {
                            "type": "input",
                            "block_id": "why",
                            "label": {"type": "plain_text", "text": "Why"},
                            "element": {"type": "plain_text_input", "action_id": "text"},
                        }
                    ],
                },
            )
        else:
            say(text="Reprotect plan-a?", blocks=APPROVE_BLOCKS)

    @app.action("approve")
    def approve(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        seen.append(body)
        client.chat_update(channel=body["channel"]["id"], ts=body["message"]["ts"], text="done")
        respond(text="recorded", replace_original=False)

    @app.view("reason")
    def reason(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ack()
        seen.append(body)

    server = make_server(
        "127.0.0.1",
        0,
        SlackRequestHandler(app),
        server_class=_ThreadingWSGIServer,
        handler_class=_QuietWSGIHandler,
    )
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/slack/events"
        yield SlackDriver(url, SECRET, emulator=emu), seen
    finally:
        server.shutdown()
        server.server_close()


def test_bolt_accepts_command_click_and_view_submission(
    emu: SlackEmulator, bolt: tuple[SlackDriver, list[dict[str, Any]]]
) -> None:
    driver, seen = bolt
    assert driver.slash_command("plan=a", user_id=ALICE, channel_id=CHANNEL).status_code == 200
    emu.wait_for(lambda e: len(e.messages(CHANNEL)) == 1)

    [card] = emu.messages(CHANNEL)
    response = driver.click(card, "Approve", user_id=BOB, channel_id=CHANNEL, user_team_id="T0EXT")
    assert response.status_code == 200
    emu.wait_for(lambda e: e.messages(CHANNEL)[0].edits == 1 and bool(e.ephemerals(BOB)))
    assert emu.messages(CHANNEL)[0].text == "done"
    assert seen[0]["user"]["team_id"] == "T0EXT"
    assert seen[0]["actions"][0]["value"] == "req-1"

    driver.slash_command("modal", user_id=ALICE, channel_id=CHANNEL)
    emu.wait_for(lambda e: any(c.method == "views.open" for c in e.calls))
    view = next(c.params["view"] for c in emu.calls if c.method == "views.open")
    assert driver.submit_view(view, {"why": {"text": "DR test"}}, user_id=ALICE).status_code == 200
    submitted = seen[1]["view"]
    assert submitted["private_metadata"] == "req-1"
    assert submitted["state"]["values"]["why"]["text"]["value"] == "DR test"


def test_bolt_refuses_forged_and_stale_requests(
    bolt: tuple[SlackDriver, list[dict[str, Any]]],
) -> None:
    driver, _ = bolt
    body = b"command=%2Freprotect&text=help"
    form = "application/x-www-form-urlencoded"
    assert driver.signed_post(body, form, signature="v0=" + "0" * 64).status_code == 401
    assert driver.signed_post(body, form, timestamp=int(time.time()) - 600).status_code == 401


def test_members_page_by_cursor_and_home_views_are_per_user() -> None:
    """conversations.members pages with `limit` and `next_cursor`; views.publish takes only a
    `home` view of a known user, of at most 100 blocks, and keeps the view id per user."""
    with SlackEmulator(users={ALICE: {}, BOB: {}},
                       channel_members={CHANNEL: [ALICE, BOB]}) as emulator:
        client = WebClient(token=TOKEN, base_url=emulator.api_url)
        first = client.conversations_members(channel=CHANNEL, limit=1)
        second = client.conversations_members(channel=CHANNEL, limit=1,
                                              cursor=first["response_metadata"]["next_cursor"])
        assert (first["members"], second["members"]) == ([ALICE], [BOB])
        assert second["response_metadata"]["next_cursor"] == ""
        assert _error_of(lambda: client.conversations_members(channel="C0NONE")) == \
            "channel_not_found"
        assert _error_of(lambda: client.conversations_members(channel=CHANNEL, limit=0)) == \
            "invalid_limit"

        home = {"type": "home", "blocks": [{"type": "section",
                                            "text": {"type": "mrkdwn", "text": "hi"}}]}
        published = client.views_publish(user_id=ALICE, view=home)["view"]
        again = client.views_publish(user_id=ALICE, view=home)["view"]
        assert published["id"] == again["id"] and emulator.home_views[ALICE]["type"] == "home"
        assert _error_of(lambda: client.views_publish(user_id=ALICE, view={
            **home, "type": "modal"})) == "invalid_arguments"
        assert _error_of(lambda: client.views_publish(user_id="U0NOBODY", view=home)) == \
            "invalid_arguments"
        assert _error_of(lambda: client.views_publish(user_id=ALICE, view={
            "type": "home", "blocks": home["blocks"] * 101})) == "invalid_blocks"
