"""A byte-level test client for :class:`~socketio_proto.wire.server.WireServer`.

Everything happens in memory with a fake clock: no sockets, no real time.

* :class:`WireHarness` owns one ``WireServer``, a :class:`FakeClock` and every
  client connection.  After each client action it *pumps*: it drains the
  server's events (running the "echo app" of the official suites' reference
  server, which sends every received message back unchanged) and delivers
  every ``transmit()`` to the client it is for, until nothing moves.
* :class:`HttpClient` writes HTTP/1.1 requests (built with a throwaway h11
  client connection, or raw bytes) and parses the responses with an h11
  **client** connection; it supports keep-alive and pipelining.
* :class:`WsClient` does the WebSocket handshake and frames with a wsproto
  **client** connection and records every message, the close code and
  whether the server closed the TCP connection.
* :class:`FakeClock` only moves forward through :meth:`FakeClock.advance_to`,
  which calls ``handle_timeout`` exactly at each due deadline (in order, each
  followed by a pump), so "the ping goes out at exactly pingInterval" can be
  asserted to the float.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import h11
from wsproto import ConnectionType, WSConnection
from wsproto import events as ws_events
from wsproto.connection import ConnectionState

from socketio_proto.engineio.config import EngineConfig
from socketio_proto.engineio.events import (
    CloseReason,
    MessageReceived,
    ServerEvent,
    SessionClosed,
    SessionOpened,
)
from socketio_proto.engineio.server import EngineServer
from socketio_proto.wire.server import Fallback, WireServer

__all__ = [
    "HANDSHAKE_KEYS",
    "HOST",
    "SUITE_CONFIG",
    "SUITE_CONFIG_V3",
    "FakeClock",
    "HttpClient",
    "RawClient",
    "Response",
    "WireHarness",
    "WsClient",
    "check_suite_open_packet",
    "mask_frame",
]

HOST = "localhost:3000"

#: The configuration of the official suites' reference server (protocol.md 3.2):
#: pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1e6, cors "*".
SUITE_CONFIG = EngineConfig(ping_interval=0.3, ping_timeout=0.2, cors_allowed_origins="*")
#: The same with Engine.IO 3 enabled (the v3 suite's server, which serves v4 too).
SUITE_CONFIG_V3 = EngineConfig(
    ping_interval=0.3, ping_timeout=0.2, cors_allowed_origins="*", allow_eio3=True
)

Header = tuple[str, str]


@dataclass
class Response:
    """One parsed HTTP response."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        values = self.header_list(name)
        return values[0] if values else None

    def header_list(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key == name]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class _RequestSpec:
    method: str
    target: str
    headers: tuple[Header, ...]
    body: bytes


def _h11_request_bytes(spec: _RequestSpec, *, chunks: Sequence[bytes] | None = None) -> bytes:
    """Serialise a request with a throwaway h11 client (Content-Length or chunked)."""
    conn = h11.Connection(h11.CLIENT)
    headers = [("Host", HOST), *spec.headers]
    names = {name.lower() for name, _ in spec.headers}
    if chunks is not None:
        if "transfer-encoding" not in names:
            headers.append(("Transfer-Encoding", "chunked"))
    elif "content-length" not in names and (spec.body or spec.method in ("POST", "PUT")):
        headers.append(("Content-Length", str(len(spec.body))))
    data = conn.send(h11.Request(method=spec.method, target=spec.target, headers=headers)) or b""
    for chunk in chunks if chunks is not None else [spec.body]:
        if chunk:
            data += conn.send(h11.Data(data=chunk)) or b""
    return data + (conn.send(h11.EndOfMessage()) or b"")


class _Peer:
    """What the harness needs from a client connection."""

    conn_id: int
    #: The server closed (or dropped) the TCP connection.
    tcp_closed: bool

    def _feed(self, data: bytes) -> None:
        raise NotImplementedError

    def _server_closed(self) -> None:
        raise NotImplementedError


class RawClient(_Peer):
    """A connection that writes raw bytes and keeps whatever comes back, unparsed."""

    def __init__(self, harness: WireHarness) -> None:
        self.harness = harness
        self.conn_id = harness.wire.connection_made()
        self.tcp_closed = False
        self.received = bytearray()
        harness._peers[self.conn_id] = self

    def send(self, data: bytes) -> None:
        self.harness.send(self.conn_id, data)

    def _feed(self, data: bytes) -> None:
        self.received += data

    def _server_closed(self) -> None:
        self.tcp_closed = True


class HttpClient(_Peer):
    """One client TCP connection speaking HTTP/1.1.

    Requests may be pipelined: each is parsed back with an h11 client
    connection that is told about the requests one at a time, in order.
    """

    def __init__(self, harness: WireHarness, *, secure: bool = False) -> None:
        self.harness = harness
        self.conn_id = harness.wire.connection_made(secure=secure)
        self.tcp_closed = False
        self.responses: list[Response] = []
        self._h11 = h11.Connection(h11.CLIENT)
        self._expected: list[_RequestSpec] = []
        self._sent_to_parser = 0
        self._current: Response | None = None
        harness._peers[self.conn_id] = self

    # -- sending ---------------------------------------------------------------------

    def request(
        self,
        method: str,
        target: str,
        headers: Iterable[Header] = (),
        body: bytes = b"",
        *,
        chunks: Sequence[bytes] | None = None,
    ) -> HttpClient:
        """Send one request (``chunks``: with chunked transfer encoding)."""
        spec = _RequestSpec(method, target, tuple(headers), body)
        self._expected.append(spec)
        self.harness.send(self.conn_id, _h11_request_bytes(spec, chunks=chunks))
        return self

    def pipeline(self, requests: Sequence[tuple[str, str, bytes]]) -> HttpClient:
        """Send several ``(method, target, body)`` requests in one TCP write."""
        data = b""
        for method, target, body in requests:
            spec = _RequestSpec(method, target, (), body)
            self._expected.append(spec)
            data += _h11_request_bytes(spec)
        self.harness.send(self.conn_id, data)
        return self

    def send_raw(self, data: bytes, *, expect: str | None = "GET") -> HttpClient:
        """Write raw bytes; ``expect`` is the method of the request a response answers."""
        if expect is not None:
            self._expected.append(_RequestSpec(expect, "/", (), b""))
        self.harness.send(self.conn_id, data)
        return self

    def eof(self) -> None:
        """Half-close: the client sends EOF (e.g. a cancelled fetch)."""
        self.harness.send(self.conn_id, b"")

    def reset(self) -> None:
        """The client's TCP connection breaks (RST): the server loses the connection."""
        self.harness.lose(self.conn_id)

    # -- results ---------------------------------------------------------------------

    @property
    def pending(self) -> bool:
        """Some request sent on this connection has no complete response yet."""
        return len(self.responses) < len(self._expected)

    @property
    def response(self) -> Response:
        """The response to the only request sent on this connection."""
        assert len(self._expected) == 1, f"{len(self._expected)} requests on this connection"
        assert self.responses, "no response yet (the request is pending)"
        return self.responses[0]

    # -- parsing ---------------------------------------------------------------------

    def _prime_parser(self) -> None:
        if self._h11.our_state is h11.IDLE and self._sent_to_parser < len(self._expected):
            spec = self._expected[self._sent_to_parser]
            self._sent_to_parser += 1
            headers = [("Host", HOST), ("Content-Length", str(len(spec.body)))]
            self._h11.send(h11.Request(method=spec.method, target=spec.target, headers=headers))
            if spec.body:
                self._h11.send(h11.Data(data=spec.body))
            self._h11.send(h11.EndOfMessage())

    def _feed(self, data: bytes) -> None:
        self._h11.receive_data(data)
        self._parse()

    def _server_closed(self) -> None:
        self.tcp_closed = True
        if self._h11.their_state is not h11.CLOSED:
            self._h11.receive_data(b"")
            try:
                self._parse()
            except AssertionError:
                if self._current is not None or not self.pending:
                    raise  # a truncated response, or bytes nobody asked for
                # closed while a request waited: it simply has no response

    def _parse(self) -> None:
        while True:
            self._prime_parser()
            if self._h11.our_state is h11.IDLE:
                # Bytes with no request to answer: h11 would refuse them.
                return
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:  # pragma: no cover - a test failure
                raise AssertionError(f"unparseable response bytes: {exc}") from exc
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Response):
                self._current = Response(
                    event.status_code,
                    [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in event.headers],
                )
            elif isinstance(event, h11.Data):
                assert self._current is not None
                self._current.body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                assert self._current is not None
                self.responses.append(self._current)
                self._current = None
                if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
                    self._h11.start_next_cycle()
                else:
                    return
            elif isinstance(event, h11.ConnectionClosed):
                return


class WsClient(_Peer):
    """One client TCP connection that sends a WebSocket upgrade request."""

    def __init__(
        self,
        harness: WireHarness,
        target: str,
        headers: Iterable[Header] = (),
        *,
        trailing: bytes = b"",
    ) -> None:
        self.harness = harness
        self.conn_id = harness.wire.connection_made()
        self.tcp_closed = False
        self.accepted = False
        self.accept_headers: list[tuple[str, str]] = []
        #: The HTTP response that refused the upgrade (status, headers, body).
        self.rejected: Response | None = None
        #: Every complete message received, in order (``str``: text, ``bytes``: binary).
        self.messages: list[str | bytes] = []
        #: The code of the close frame the server sent (None: no close frame seen).
        self.close_code: int | None = None
        self._text: list[str] = []
        self._binary: list[bytes] = []
        self._ws = WSConnection(ConnectionType.CLIENT)
        harness._peers[self.conn_id] = self
        request = self._ws.send(
            ws_events.Request(
                host=HOST,
                target=target,
                extra_headers=[(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            )
        )
        harness.send(self.conn_id, request + trailing)

    # -- sending ---------------------------------------------------------------------

    def send(self, message: str | bytes) -> None:
        """Send one complete message (text frame for ``str``, binary for ``bytes``)."""
        self.harness.send(self.conn_id, self._ws.send(_message(message, finished=True)))

    def frame(self, message: str | bytes) -> bytes:
        """The bytes of one complete message, without sending them."""
        return self._ws.send(_message(message, finished=True))

    def send_fragments(self, parts: Sequence[str | bytes]) -> None:
        """Send one message split into ``len(parts)`` frames, each in its own TCP write."""
        for index, part in enumerate(parts):
            finished = index == len(parts) - 1
            self.harness.send(self.conn_id, self._ws.send(_message(part, finished=finished)))
            if self.tcp_closed:
                return

    def send_raw(self, data: bytes) -> None:
        self.harness.send(self.conn_id, data)

    def ping(self, payload: bytes = b"") -> None:
        self.harness.send(self.conn_id, self._ws.send(ws_events.Ping(payload=payload)))

    def close(self, code: int = 1000) -> None:
        """Start a clean close handshake."""
        self.harness.send(self.conn_id, self._ws.send(ws_events.CloseConnection(code=code)))

    def eof(self) -> None:
        self.harness.send(self.conn_id, b"")

    def reset(self) -> None:
        self.harness.lose(self.conn_id)

    # -- results ---------------------------------------------------------------------

    def recv(self) -> str | bytes:
        """Pop the oldest unread message (fails if there is none)."""
        assert self.messages, "no message received"
        return self.messages.pop(0)

    @property
    def open(self) -> bool:
        return self.accepted and not self.tcp_closed and self.close_code is None

    def _feed(self, data: bytes) -> None:
        self._ws.receive_data(data)
        self._drain()

    def _server_closed(self) -> None:
        self.tcp_closed = True
        if self._ws.state is not ConnectionState.CLOSED:
            try:
                self._ws.receive_data(None)
            except Exception:
                return
            self._drain()

    def _drain(self) -> None:
        for event in self._ws.events():
            if isinstance(event, ws_events.AcceptConnection):
                self.accepted = True
                self.accept_headers = [
                    (k.decode("latin-1").lower(), v.decode("latin-1"))
                    for k, v in event.extra_headers
                ]
            elif isinstance(event, ws_events.RejectConnection):
                self.rejected = Response(
                    event.status_code,
                    [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in event.headers],
                )
            elif isinstance(event, ws_events.RejectData):
                assert self.rejected is not None
                self.rejected.body += bytes(event.data)
            elif isinstance(event, ws_events.TextMessage):
                self._text.append(event.data)
                if event.message_finished:
                    self.messages.append("".join(self._text))
                    self._text = []
            elif isinstance(event, ws_events.BytesMessage):
                self._binary.append(bytes(event.data))
                if event.message_finished:
                    self.messages.append(b"".join(self._binary))
                    self._binary = []
            elif isinstance(event, ws_events.CloseConnection):
                self.close_code = event.code
                if self._ws.state is ConnectionState.REMOTE_CLOSING and not self.tcp_closed:
                    self.harness.send(self.conn_id, self._ws.send(event.response()))
            elif isinstance(event, ws_events.Ping) and not self.tcp_closed:
                self.harness.send(self.conn_id, self._ws.send(event.response()))


def _message(data: str | bytes, *, finished: bool) -> ws_events.Message[Any]:
    if isinstance(data, str):
        return ws_events.TextMessage(data=data, message_finished=finished)
    return ws_events.BytesMessage(data=data, message_finished=finished)


def mask_frame(
    payload: bytes,
    *,
    opcode: int = 0x1,
    fin: bool = True,
    rsv: int = 0,
    declared_length: int | None = None,
    key: bytes = b"\x37\xfa\x21\x3d",
) -> bytes:
    """Hand-build one masked client frame (to set RSV bits or lie about the length).

    The masking key is fixed (the one from RFC 6455's examples) so test data
    and test ids are the same in every run and every xdist worker.
    """
    length = len(payload) if declared_length is None else declared_length
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    if length < 126:
        header = bytes((first, 0x80 | length))
    elif length < 1 << 16:
        header = bytes((first, 0x80 | 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((first, 0x80 | 127)) + length.to_bytes(8, "big")
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return header + key + masked


#: The keys of a v4 open packet.
HANDSHAKE_KEYS = frozenset({"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"})


def check_suite_open_packet(text: str, *, upgrades: list[str]) -> dict[str, Any]:
    """The official suites' checks of an open packet under their reference configuration."""
    assert text.startswith("0"), text
    value: dict[str, Any] = json.loads(text[1:])
    assert set(value) == HANDSHAKE_KEYS
    assert isinstance(value["sid"], str)
    assert value["upgrades"] == upgrades
    assert (value["pingInterval"], value["pingTimeout"], value["maxPayload"]) == (300, 200, 1e6)
    return value


class FakeClock:
    """Time for the harness: it only moves through :meth:`advance_to`/:meth:`advance`."""

    def __init__(self, harness: WireHarness, start: float) -> None:
        self.harness = harness
        self.now = start
        #: The ``now`` of every ``handle_timeout`` call made, in order.
        self.fired: list[float] = []

    def advance(self, seconds: float) -> None:
        self.advance_to(self.now + seconds)

    def advance_to(self, when: float) -> None:
        """Move to ``when``, calling ``handle_timeout`` at each deadline on the way."""
        assert when >= self.now, f"time cannot go back ({when} < {self.now})"
        harness = self.harness
        while True:
            deadline = harness.next_deadline()
            if deadline is None or deadline > when:
                break
            assert deadline >= self.now, f"deadline {deadline} was missed (now {self.now})"
            self.now = deadline
            self.fired.append(deadline)
            harness.handle_timeout(deadline)
            harness.pump()
        self.now = when


@dataclass
class _Counts:
    opened: int = 0
    closed: dict[CloseReason, int] = field(default_factory=dict)


class WireHarness:
    """A ``WireServer`` plus its clients, an echo app and a fake clock.

    ``echo``: send every ``MessageReceived`` straight back (the suites'
    reference server).  ``keep_events``: keep every event in :attr:`events`
    (turn off for load tests; :attr:`counts` is always kept).
    """

    def __init__(
        self,
        config: EngineConfig | None = None,
        *,
        echo: bool = True,
        keep_events: bool = True,
        start: float = 0.0,
        fallback: Fallback | None = None,
    ) -> None:
        self.wire = WireServer(
            config=config if config is not None else EngineConfig(), fallback=fallback
        )
        self.engine: EngineServer = self.wire.engine
        self.config = self.engine.config
        self.clock = FakeClock(self, start)
        self.echo = echo
        self.keep_events = keep_events
        self.events: list[ServerEvent] = []
        self.counts = _Counts()
        self._peers: dict[int, _Peer] = {}

    @property
    def now(self) -> float:
        return self.clock.now

    # -- plumbing ------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """The earliest deadline of the machines under test."""
        return self.wire.next_deadline()

    def handle_timeout(self, now: float) -> None:
        """Fire the deadlines due at ``now``."""
        self.wire.handle_timeout(now)

    def on_event(self, event: ServerEvent) -> None:
        """The app: echo every message (the Engine.IO suites' reference server)."""
        if isinstance(event, MessageReceived) and self.echo:
            self.engine.send(event.sid, event.data)

    def send(self, conn_id: int, data: bytes) -> None:
        """Client -> server bytes (``b""``: EOF), then pump."""
        self.wire.receive_data(conn_id, data, self.now)
        self.pump()

    def lose(self, conn_id: int) -> None:
        """The TCP connection breaks under the server (``connection_lost``), then pump."""
        peer = self._peers.get(conn_id)
        if peer is not None:
            peer.tcp_closed = True
        self.wire.connection_lost(conn_id, self.now)
        self.pump()

    def pump(self) -> None:
        """Run the app and deliver the server's output until nothing moves."""
        while True:
            moved = False
            for event in self.wire.events():
                moved = True
                if self.keep_events:
                    self.events.append(event)
                if isinstance(event, SessionOpened):
                    self.counts.opened += 1
                elif isinstance(event, SessionClosed):
                    self.counts.closed[event.reason] = self.counts.closed.get(event.reason, 0) + 1
                self.on_event(event)
            for out in self.wire.transmit(self.now):
                moved = True
                peer = self._peers.get(out.conn_id)
                if peer is not None and out.data:
                    peer._feed(out.data)
                if out.close:
                    if peer is not None and not peer.tcp_closed:
                        peer._server_closed()
                    self.wire.connection_lost(out.conn_id, self.now)
            if not moved:
                return

    # -- clients -------------------------------------------------------------------------

    def raw(self) -> RawClient:
        """A new connection for raw bytes (responses are kept unparsed)."""
        return RawClient(self)

    def http(self, *, secure: bool = False) -> HttpClient:
        """A new, idle client connection."""
        return HttpClient(self, secure=secure)

    def request(
        self,
        method: str,
        target: str,
        headers: Iterable[Header] = (),
        body: bytes = b"",
        *,
        chunks: Sequence[bytes] | None = None,
    ) -> HttpClient:
        """One request on a new connection."""
        return self.http().request(method, target, headers, body, chunks=chunks)

    def get(self, target: str, headers: Iterable[Header] = ()) -> HttpClient:
        return self.request("GET", target, headers)

    def post(
        self,
        target: str,
        body: bytes | str,
        headers: Iterable[Header] = (("Content-Type", "text/plain;charset=UTF-8"),),
    ) -> HttpClient:
        data = body.encode("utf-8") if isinstance(body, str) else body
        return self.request("POST", target, headers, data)

    def websocket(
        self, target: str, headers: Iterable[Header] = (), *, trailing: bytes = b""
    ) -> WsClient:
        return WsClient(self, target, headers, trailing=trailing)

    # -- Engine.IO shortcuts -------------------------------------------------------------

    def path(self, query: str) -> str:
        return f"{self.config.path}?{query}"

    def open_polling(self, query: str = "EIO=4&transport=polling") -> str:
        """Polling handshake; returns the sid."""
        response = self.get(self.path(query)).response
        assert response.status == 200, response
        text = response.text
        if text.startswith("0"):
            handshake = json.loads(text[1:])
        else:  # v3: <length>:0{...}
            length, _, packet = text.partition(":")
            assert int(length) == len(packet)
            handshake = json.loads(packet[1:])
        sid = handshake["sid"]
        assert isinstance(sid, str)
        return sid

    def open_websocket(self, query: str = "EIO=4&transport=websocket") -> tuple[WsClient, str]:
        """WebSocket-only handshake; returns the client and the sid."""
        ws = self.websocket(self.path(query))
        assert ws.accepted, ws.rejected
        opening = ws.recv()
        assert isinstance(opening, str) and opening.startswith("0"), opening
        sid = json.loads(opening[1:])["sid"]
        assert isinstance(sid, str)
        return ws, sid

    def poll(self, sid: str, eio: Literal[3, 4] = 4, extra: str = "") -> HttpClient:
        return self.get(self.path(f"EIO={eio}&transport=polling&sid={sid}{extra}"))

    def send_post(self, sid: str, body: bytes | str, eio: Literal[3, 4] = 4) -> HttpClient:
        return self.post(self.path(f"EIO={eio}&transport=polling&sid={sid}"), body)

    def closed_reason(self, sid: str) -> CloseReason | None:
        """The reason of the ``SessionClosed`` reported for ``sid`` (None: not closed)."""
        reasons = [e.reason for e in self.events if isinstance(e, SessionClosed) and e.sid == sid]
        assert len(reasons) <= 1, f"SessionClosed reported {len(reasons)} times for {sid}"
        return reasons[0] if reasons else None

    def received(self, sid: str) -> list[str | bytes]:
        """Every message the app received from ``sid``, in order."""
        return [e.data for e in self.events if isinstance(e, MessageReceived) and e.sid == sid]
