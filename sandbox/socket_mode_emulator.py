"""Slack's side of Socket Mode: a loopback RFC 6455 WebSocket server (stdlib only).

`apps.connections.open` (see :class:`sandbox.slack_emulator.SlackEmulator`) hands out a
single-use `ws://127.0.0.1:PORT/link/?ticket=…` URL from :meth:`SocketModeEmulator.issue_url`;
the bot's real slack_sdk client opens it (slack_sdk uses a plain socket when the port is
not 443), gets Slack's `hello`, and from then on receives envelopes and answers each with
an ack frame. Client frames are checked as RFC 6455 requires (masked, no reserved bits), so
the bot's real WebSocket code is exercised, not a stand-in.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import itertools
import json
import secrets
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

JsonDict = dict[str, Any]

APP_ID = "A0SANDBOX"
HOST = "applink-sandbox"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
MAX_HANDSHAKE = 8_192

OP_CONTINUATION, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR = 1000, 1002


class _ProtocolError(Exception):
    """The client broke RFC 6455; the connection is closed with status 1002."""


def accept_key(key: str) -> str:
    """Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (RFC 6455 section 4.2.2)."""
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def frame(opcode: int, payload: bytes) -> bytes:
    """One final, unmasked frame: servers never mask (RFC 6455 section 5.1)."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, length)
    return header + payload


def _is_websocket_key(key: str) -> bool:
    """A Sec-WebSocket-Key is 16 random bytes in base64 (RFC 6455 section 4.1)."""
    try:
        return len(base64.b64decode(key, validate=True)) == 16
    except binascii.Error:
        return False


def _json_message(data: bytes) -> JsonDict:
    """Socket Mode speaks JSON objects only; anything else is a broken client."""
    try:
        message = json.loads(data.decode())
    except ValueError:
        raise _ProtocolError(f"not JSON: {data[:80]!r}") from None
    if not isinstance(message, dict):
        raise _ProtocolError(f"not a JSON object: {data[:80]!r}")
    return message


class _Connection:
    """One accepted WebSocket: a reader thread, and sends serialised by a lock."""

    def __init__(self, sock: socket.socket, number: int) -> None:
        self.sock = sock
        self.number = number
        self.open = False
        self._buffer = bytearray()
        self._send_lock = threading.Lock()

    def read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = self.sock.recv(65_536)
            if not chunk:
                raise ConnectionError("the client closed the TCP connection")
            self._buffer += chunk
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def read_handshake(self) -> bytes:
        while b"\r\n\r\n" not in self._buffer:
            if len(self._buffer) > MAX_HANDSHAKE:
                raise _ProtocolError("handshake too long")
            chunk = self.sock.recv(4_096)
            if not chunk:
                raise ConnectionError("the client closed the TCP connection")
            self._buffer += chunk
        head, _, rest = bytes(self._buffer).partition(b"\r\n\r\n")
        self._buffer = bytearray(rest)
        return head

    def read_frame(self) -> tuple[bool, int, bytes]:
        """(fin, opcode, unmasked payload) of the next client frame."""
        first, second = self.read(2)
        if first & 0x70:
            raise _ProtocolError("reserved bits set without a negotiated extension")
        if not second & 0x80:
            raise _ProtocolError("client frames must be masked")
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self.read(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self.read(8))
        opcode = first & 0x0F
        if opcode & 0x8 and (length > 125 or not first & 0x80):
            raise _ProtocolError("control frames must be final and at most 125 bytes")
        mask = self.read(4)
        masked = self.read(length)
        key = (mask * (length // 4 + 1))[:length]
        data = (int.from_bytes(masked, "big") ^ int.from_bytes(key, "big")).to_bytes(length, "big")
        return bool(first & 0x80), opcode, data

    def send(self, opcode: int, payload: bytes) -> None:
        with self._send_lock:
            self.sock.sendall(frame(opcode, payload))

    def send_json(self, message: JsonDict) -> None:
        self.send(OP_TEXT, json.dumps(message).encode())

    def close(self, code: int = CLOSE_NORMAL) -> None:
        """Send a close frame if the handshake was done (and the socket still takes it),
        then drop the TCP connection."""
        was_open, self.open = self.open, False
        if was_open:
            with contextlib.suppress(OSError):
                self.send(OP_CLOSE, struct.pack("!H", code))
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


class SocketModeEmulator:
    """Slack's Socket Mode endpoint on 127.0.0.1: hands out URLs, pushes envelopes, takes acks."""

    def __init__(self, *, app_id: str = APP_ID, port: int = 0, ack_timeout: float = 3.0) -> None:
        self.app_id = app_id
        self.ack_timeout = ack_timeout
        self.received: list[JsonDict] = []  # every JSON message the bot sent, in order
        self._port = port
        self._cond = threading.Condition()
        self._tickets: set[str] = set()
        self._accepted: list[_Connection] = []  # every TCP connection, for stop()
        self._connections: list[_Connection] = []  # those that completed the handshake
        self._acks: dict[str, JsonDict] = {}
        self._listener: socket.socket | None = None
        self._numbers = itertools.count(1)
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._stopping.clear()
        listener = socket.create_server(("127.0.0.1", self._port))
        # A short timeout keeps stop() fast: the accept loop notices the stop flag.
        listener.settimeout(0.05)
        self._listener = listener
        self._spawn(self._accept_loop, "socket-mode-accept")

    def stop(self) -> None:
        self._stopping.set()
        with self._cond:
            accepted = list(self._accepted)
        for connection in accepted:
            connection.close()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
        self._listener, self._threads = None, []

    def __enter__(self) -> SocketModeEmulator:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- what Slack's Web API and tests use ----------------------------------------------

    def issue_url(self) -> str:
        """A fresh single-use WebSocket URL, as `apps.connections.open` returns."""
        if self._listener is None:
            raise RuntimeError("SocketModeEmulator is not started")
        ticket = secrets.token_hex(16)
        with self._cond:
            self._tickets.add(ticket)
        port = self._listener.getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/?ticket={ticket}&app_id={self.app_id}"

    @property
    def connection_count(self) -> int:
        """WebSocket handshakes accepted since start (reconnects add one each)."""
        with self._cond:
            return len(self._connections)

    @property
    def is_connected(self) -> bool:
        with self._cond:
            return any(c.open for c in self._connections)

    def wait_connected(self, count: int = 1, timeout: float = 10.0) -> None:
        """Block until `count` handshakes were accepted in total and one is open."""
        self._wait(
            lambda: len(self._connections) >= count and any(c.open for c in self._connections),
            timeout,
            lambda: f"the bot did not open Socket Mode connection #{count} within {timeout}s "
            f"(accepted so far: {len(self._connections)})",
        )

    def send_envelope(
        self,
        envelope_type: str,
        payload: JsonDict,
        *,
        accepts_response_payload: bool = False,
        retry_attempt: int | None = None,
        timeout: float | None = None,
    ) -> JsonDict:
        """Push one envelope to the newest open connection and return the bot's ack.

        `envelope_type` is "slash_commands", "interactive" or "events_api". The ack is the
        bot's `{"envelope_id", "payload"?}` message; none within `timeout` (default: the
        emulator's `ack_timeout`, Slack's 3 seconds) fails the test.
        """
        envelope: JsonDict = {
            "envelope_id": str(uuid.uuid4()),
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if retry_attempt is not None:
            envelope.update(retry_attempt=retry_attempt, retry_reason="timeout")
        connection = self._newest_open()
        connection.send_json(envelope)
        envelope_id = envelope["envelope_id"]
        limit = self.ack_timeout if timeout is None else timeout
        self._wait(
            lambda: envelope_id in self._acks,
            limit,
            lambda: f"no ack for {envelope_type} envelope {envelope_id} within {limit}s "
            f"(connection #{connection.number}, open: {connection.open}); last messages "
            f"from the bot: {self.received[-3:]}",
        )
        with self._cond:
            return self._acks[envelope_id]

    def disconnect(self, reason: str = "refresh_requested", timeout: float = 10.0) -> None:
        """Refresh the bot's connection the way Slack does: a `disconnect` message, then
        the old sockets are closed once the bot has connected again (or after `timeout`)."""
        with self._cond:
            old = [c for c in self._connections if c.open]
            accepted = len(self._connections)
        for connection in old:
            connection.send_json({"type": "disconnect", "reason": reason,
                                  "debug_info": {"host": HOST}})
        try:
            self.wait_connected(accepted + 1, timeout)
        finally:
            for connection in old:
                connection.close()

    # -- serving -------------------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            connection = _Connection(sock, next(self._numbers))
            with self._cond:
                self._accepted.append(connection)
            self._spawn(self._serve, f"socket-mode-{connection.number}", connection)

    def _serve(self, connection: _Connection) -> None:
        try:
            if self._handshake(connection):
                self._read_messages(connection)
            else:
                connection.close()
        except _ProtocolError:
            connection.close(CLOSE_PROTOCOL_ERROR)
        except OSError:  # the bot dropped the connection, or stop() closed it
            connection.close()
        finally:
            with self._cond:
                connection.open = False
                self._cond.notify_all()

    def _handshake(self, connection: _Connection) -> bool:
        """Answer the opening handshake (RFC 6455 section 4.2) and send Slack's `hello`."""
        lines = connection.read_handshake().decode("latin-1").split("\r\n")
        method, target, _ = [*lines[0].split(" "), "", "", ""][:3]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        url = urlsplit(target)
        ticket = (parse_qs(url.query).get("ticket") or [""])[0]
        with self._cond:
            known = ticket in self._tickets
            self._tickets.discard(ticket)  # single use, as Slack's tickets
        key = headers.get("sec-websocket-key", "")
        valid = (
            method == "GET"
            and url.path == "/link/"
            and "websocket" in headers.get("upgrade", "").lower()
            and "upgrade" in headers.get("connection", "").lower()
            and headers.get("sec-websocket-version") == "13"
            and _is_websocket_key(key)
        )
        if not (valid and known):
            status = "401 Unauthorized" if valid else "400 Bad Request"
            connection.sock.sendall(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n".encode())
            return False
        connection.sock.sendall(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n".encode()
        )
        with self._cond:
            open_count = sum(c.open for c in self._connections) + 1
        connection.send_json({  # before anything else, so no envelope can overtake it
            "type": "hello",
            "num_connections": open_count,
            "debug_info": {"host": HOST, "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        })
        with self._cond:
            self._connections.append(connection)
            connection.open = True
            self._cond.notify_all()
        return True

    def _read_messages(self, connection: _Connection) -> None:
        """Answer pings and closes; collect text messages, fragmented or not."""
        message = bytearray()
        message_opcode: int | None = None
        while True:
            fin, opcode, data = connection.read_frame()
            if opcode == OP_CLOSE:
                connection.close(struct.unpack("!H", data[:2])[0] if len(data) >= 2
                                 else CLOSE_NORMAL)
                return
            if opcode == OP_PING:
                connection.send(OP_PONG, data)
                continue
            if opcode == OP_PONG:
                continue
            if opcode == OP_CONTINUATION and message_opcode is None:
                raise _ProtocolError("continuation frame without a message to continue")
            if opcode in (OP_TEXT, OP_BINARY):
                if message_opcode is not None:
                    raise _ProtocolError("new message before the previous one finished")
                message_opcode = opcode
            elif opcode != OP_CONTINUATION:
                raise _ProtocolError(f"unknown opcode {opcode:#x}")
            message += data
            if fin:
                if message_opcode == OP_TEXT:
                    self._received(_json_message(bytes(message)))
                message, message_opcode = bytearray(), None

    def _received(self, message: JsonDict) -> None:
        with self._cond:
            self.received.append(message)
            if "envelope_id" in message:
                self._acks[str(message["envelope_id"])] = message
            self._cond.notify_all()

    def _newest_open(self) -> _Connection:
        with self._cond:
            for connection in reversed(self._connections):
                if connection.open:
                    return connection
        raise AssertionError("no open Socket Mode connection: the bot is not connected")

    def _wait(
        self, ready: Callable[[], bool], timeout: float, failure: Callable[[], str]
    ) -> None:
        """Block until `ready()` (called under the lock); on timeout fail with `failure()`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not ready():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(failure())
                self._cond.wait(remaining)
