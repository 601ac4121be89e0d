"""Invalid states of a Socket.IO v5 connection (protocol.md 2.8), byte for byte.

Every *observed close* of 2.8 must close the whole Engine.IO connection (the
WebSocket is closed, or the next GET gets the close packet and the one after it
400) and report ``Disconnected(reason=PARSE_ERROR)`` for every socket the
connection had; every *observed non-close* must leave the connection usable (a
following ``42["message","x"]`` still gets ``message-back``).  Each case runs over
WebSocket and over long-polling.

:class:`SioClient` hides the transport: it sends Engine.IO messages (a ``str`` is a
Socket.IO packet, sent as ``4<packet>``; ``bytes`` is an attachment) and returns
what the server sent as Engine.IO message data.  Over polling everything one
:meth:`SioClient.send` call gets goes into a single POST.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pytest

from socketio_proto.engineio.events import CloseReason
from socketio_proto.socketio import events as sio_events
from socketio_proto.socketio.events import (
    ConnectRequested,
    Disconnected,
    DisconnectReason,
    EventReceived,
)
from socketio_proto.socketio.server import SocketServer, SocketState
from tests.support.socket_server import SocketHarness
from tests.support.wire_client import Response, WsClient

Transport = Literal["websocket", "polling"]
TRANSPORTS: tuple[Transport, ...] = ("websocket", "polling")
PING_INTERVAL = 0.3
PH0 = '{"_placeholder":true,"num":0}'
PH1 = '{"_placeholder":true,"num":1}'


class SioClient:
    """One Engine.IO v4 session of a test client, over WebSocket or long-polling."""

    def __init__(self, h: SocketHarness, transport: Transport) -> None:
        self.h = h
        self.transport = transport
        self.ws: WsClient | None = None
        #: Engine.IO control packets received (``2`` pings, ``6`` noops, ``1`` close).
        self.control: list[str] = []
        self.posts: list[Response] = []
        if transport == "websocket":
            self.ws, self.eio_sid = h.open_websocket("EIO=4&transport=websocket")
        else:
            self.eio_sid = h.open_polling("EIO=4&transport=polling")

    # -- sending ---------------------------------------------------------------------

    def send(self, *messages: str | bytes) -> None:
        """Send Engine.IO messages: one frame each, or one POST for all of them."""
        if self.ws is not None:
            for message in messages:
                self.ws.send("4" + message if isinstance(message, str) else message)
                if not self.ws.open:
                    return
            return
        body = "\x1e".join(
            "4" + m if isinstance(m, str) else "b" + base64.b64encode(m).decode("ascii")
            for m in messages
        )
        self.posts.append(self.h.send_post(self.eio_sid, body).response)

    # -- receiving -------------------------------------------------------------------

    def recv(self) -> list[str | bytes]:
        """Every message the server sent since the last call (pings/noops set aside).

        Over polling this is one GET, which must be answered at once.
        """
        if self.ws is not None:
            raw, self.ws.messages = self.ws.messages, []
        else:
            poll = self.h.poll(self.eio_sid)
            assert not poll.pending, "nothing was queued: the GET waits"
            response = poll.response
            assert response.status == 200, response
            raw = []
            for packet in response.text.split("\x1e"):
                raw.append(base64.b64decode(packet[1:]) if packet.startswith("b") else packet)
        messages: list[str | bytes] = []
        for item in raw:
            if isinstance(item, bytes):
                messages.append(item)
            elif item.startswith("4"):
                messages.append(item[1:])
            else:
                self.control.append(item)
        return messages

    def connect(self, namespace: str = "/") -> str:
        """Join ``namespace`` with the reference app; returns the socket id."""
        prefix = "0" if namespace == "/" else f"0{namespace},"
        self.send(prefix)
        reply, auth = self.recv()
        assert isinstance(reply, str)
        assert reply.startswith(prefix + "{")
        sid = json.loads(reply[len(prefix) :])["sid"]
        assert isinstance(sid, str)
        assert auth == ("2" if namespace == "/" else f"2{namespace},") + '["auth",{}]'
        return sid

    def assert_usable(self) -> None:
        """``42["message","x"]`` still comes back as ``message-back``."""
        self.send('2["message","x"]')
        assert self.recv() == ['2["message-back","x"]']
        assert self.eio_sid in self.h.engine.sessions

    def assert_closed(self) -> None:
        """The server closed the whole Engine.IO session."""
        if self.ws is not None:
            assert self.ws.close_code is not None
            assert self.ws.tcp_closed
        else:
            poll = self.h.poll(self.eio_sid).response
            if poll.status == 200:
                # A session closed with no GET waiting hands its close packet to the next one.
                assert poll.text.split("\x1e")[-1] == "1", poll.text
                poll = self.h.poll(self.eio_sid).response
            assert poll.status == 400, poll
            assert poll.json() == {"code": 1, "message": "Session ID unknown"}
        assert self.eio_sid not in self.h.engine.sessions
        assert self.h.closed_reason(self.eio_sid) == CloseReason.SERVER_CLOSE


def parse_errors(h: SocketHarness) -> list[str]:
    """The socket ids reported gone for a parse error, in order."""
    return [e.sid for e in h.of_type(Disconnected) if e.reason is DisconnectReason.PARSE_ERROR]


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> Transport:
    value: Transport = request.param
    assert value in TRANSPORTS
    return value


# -- observed closes -----------------------------------------------------------------------


@dataclass(frozen=True)
class CloseCase:
    id: str
    #: Namespaces the client joins first (each socket must then leave for a parse error).
    joined: tuple[str, ...]
    messages: tuple[str | bytes, ...]


CLOSES: Sequence[CloseCase] = [
    # Before any CONNECT.
    CloseCase("connect-payload-string", (), ('0"str"',)),
    CloseCase("connect-payload-array", (), ("0[1]",)),
    CloseCase("connect-namespace-without-slash", (), ("0admin,",)),
    CloseCase("event-before-connect", (), ('2["x"]',)),
    CloseCase("ack-before-connect", (), ('30["x"]',)),
    CloseCase("disconnect-before-connect", (), ("1",)),
    CloseCase("connect-error-before-connect", (), ('4{"message":"x"}',)),
    CloseCase("binary-event-before-connect", (), (f'51-["x",{PH0}]',)),
    # Invalid state once connected.
    CloseCase("second-connect", ("/",), ("0",)),
    CloseCase("second-connect-with-auth", ("/",), ('0{"token":"1"}',)),
    CloseCase("second-connect-custom", ("/", "/custom"), ("0/custom,",)),
    CloseCase("event-to-unregistered-namespace", ("/",), ('2/ok,["x"]',)),
    CloseCase("event-to-unjoined-namespace", ("/",), ('2/custom,["x"]',)),
    CloseCase("ack-to-unjoined-namespace", ("/",), ('3/custom,0["x"]',)),
    CloseCase("disconnect-unjoined-namespace", ("/",), ("1/custom,",)),
    CloseCase("connect-error-from-client", ("/",), ('4{"message":"x"}',)),
    CloseCase("connect-error-string-from-client", ("/", "/custom"), ('4/custom,"x"',)),
    # Decode errors.
    CloseCase("reserved-event-name", ("/",), ('2["disconnect"]',)),
    CloseCase("reserved-event-name-connect", ("/", "/custom"), ('2/custom,["connect"]',)),
    CloseCase("event-without-payload", ("/",), ("2",)),
    CloseCase("unknown-packet-type", ("/",), ("abc",)),
    CloseCase("zero-attachments", ("/",), ('50-["ask"]',)),
    CloseCase("too-many-attachments", ("/",), ('511-["a"]',)),
    CloseCase("disconnect-with-payload", ("/",), ("1{}",)),
    CloseCase("stray-binary", ("/",), (b"\x01",)),
    CloseCase("stray-binary-custom", ("/", "/custom"), (b"\x01\x02",)),
    # Decode errors during reassembly.
    CloseCase("text-during-reassembly", ("/",), (f'51-["a",{PH0}]', '2["x"]')),
    CloseCase("connect-during-reassembly", ("/",), (f'52-["a",{PH0},{PH1}]', b"\x01", "0")),
    CloseCase(
        "placeholder-out-of-range", ("/",), ('51-["a",{"_placeholder":true,"num":1}]', b"\x01")
    ),
    CloseCase("placeholder-negative", ("/",), ('51-["a",{"_placeholder":true,"num":-1}]', b"\x01")),
    CloseCase(
        "placeholder-not-a-number",
        ("/", "/custom"),
        ('51-/custom,["a",{"_placeholder":true,"num":"splice"}]', b"\x01"),
    ),
    CloseCase(
        "binary-ack-bad-placeholder", ("/",), ('61-0[{"_placeholder":true,"num":3}]', b"\x01")
    ),
]


@pytest.mark.parametrize("case", CLOSES, ids=[c.id for c in CLOSES])
def test_observed_close(case: CloseCase, transport: Transport) -> None:
    h = SocketHarness()
    client = SioClient(h, transport)
    sids = [client.connect(namespace) for namespace in case.joined]
    client.send(*case.messages)
    client.assert_closed()
    assert sorted(parse_errors(h)) == sorted(sids)
    gone = h.of_type(Disconnected)
    assert len(gone) == len(sids)  # each socket leaves once, for the parse error
    assert all(e.detail for e in gone)  # with the reason why
    assert h.of_type(EventReceived) == []
    assert h.sio.connection_sockets(client.eio_sid) == {}
    assert h.sio.sockets("/") == h.sio.sockets("/custom") == frozenset()
    # A well-behaved client of the same server is unaffected.
    other = SioClient(h, transport)
    other.connect()
    other.assert_usable()


def test_observed_close_reaches_every_socket_of_the_connection(transport: Transport) -> None:
    h = SocketHarness()
    client = SioClient(h, transport)
    root = client.connect("/")
    custom = client.connect("/custom")
    client.send('2/ok,["x"]')
    client.assert_closed()
    assert sorted(parse_errors(h)) == sorted([root, custom])
    (first, second) = h.of_type(Disconnected)
    assert {first.namespace, second.namespace} == {"/", "/custom"}


# -- observed non-closes -----------------------------------------------------------------


def test_event_named_error_is_a_normal_event(transport: Transport) -> None:
    h = SocketHarness()
    client = SioClient(h, transport)
    sid = client.connect()
    client.send('2["error","x"]')
    assert h.of_type(EventReceived) == [EventReceived(sid, "/", "error", ["x"], None)]
    client.assert_usable()
    assert parse_errors(h) == []


def test_numeric_event_name_is_a_normal_event(transport: Transport) -> None:
    h = SocketHarness()
    client = SioClient(h, transport)
    sid = client.connect()
    client.send('2[1,"x"]')
    assert h.of_type(EventReceived) == [EventReceived(sid, "/", 1, ["x"], None)]
    client.assert_usable()


def test_ack_with_unknown_id_is_ignored(transport: Transport) -> None:
    h = SocketHarness()
    client = SioClient(h, transport)
    client.connect()
    client.send('3999["x"]')
    assert h.of_type(sio_events.AckReceived) == []
    client.assert_usable()
    assert h.of_type(Disconnected) == []


def test_unknown_namespace_is_refused_without_closing(transport: Transport) -> None:
    h = SocketHarness()
    client = SioClient(h, transport)
    client.connect()
    client.send("0/nope,")
    assert client.recv() == ['4/nope,{"message":"Invalid namespace"}']
    client.assert_usable()
    assert [e.namespace for e in h.of_type(ConnectRequested)] == ["/"]


def test_unknown_namespace_before_any_connect_does_not_close(transport: Transport) -> None:
    h = SocketHarness()
    client = SioClient(h, transport)
    client.send('0/nope,{"token":"x"}')
    assert client.recv() == ['4/nope,{"message":"Invalid namespace"}']
    client.connect()
    client.assert_usable()


def test_namespace_query_is_part_of_the_name_in_v5(transport: Transport) -> None:
    h = SocketHarness()
    client = SioClient(h, transport)
    client.send("0/custom?x=1,{}")
    assert client.recv() == ['4/custom?x=1,{"message":"Invalid namespace"}']
    client.connect("/custom")


# -- DISCONNECT -----------------------------------------------------------------------------


def test_disconnect_keeps_the_engineio_connection(transport: Transport) -> None:
    h = SocketHarness()
    client = SioClient(h, transport)
    sid = client.connect()
    client.send("1")
    assert h.of_type(Disconnected) == [Disconnected(sid, "/", DisconnectReason.CLIENT_DISCONNECT)]
    # No reply; the next frame is the ping, at pingInterval after the handshake.
    if client.ws is not None:
        assert client.ws.messages == []
        h.clock.advance(PING_INTERVAL)
        assert client.ws.recv() == "2"
        assert client.ws.open
    else:
        poll = h.poll(client.eio_sid)
        assert poll.pending
        h.clock.advance(PING_INTERVAL)
        assert poll.response.body == b"2"
    assert client.eio_sid in h.engine.sessions
    assert h.sio.state(sid) is SocketState.NONE


def test_disconnect_then_reconnect_the_namespace(transport: Transport) -> None:
    h = SocketHarness()
    client = SioClient(h, transport)
    first = client.connect()
    client.send("1")
    second = client.connect()
    assert second != first
    client.assert_usable()


def test_disconnect_then_event_on_that_namespace_closes(transport: Transport) -> None:
    h = SocketHarness()
    client = SioClient(h, transport)
    sid = client.connect()
    client.send("1")
    client.send('2["message","x"]')
    client.assert_closed()
    # The socket had already left (client disconnect): nothing left to report.
    assert h.of_type(Disconnected) == [Disconnected(sid, "/", DisconnectReason.CLIENT_DISCONNECT)]
    assert h.of_type(EventReceived) == []


def test_disconnect_of_one_namespace_then_event_on_it_closes_the_others(
    transport: Transport,
) -> None:
    h = SocketHarness()
    client = SioClient(h, transport)
    root = client.connect("/")
    custom = client.connect("/custom")
    client.send("1/custom,")
    client.assert_usable()
    client.send('2/custom,["message","x"]')
    client.assert_closed()
    left, closed = h.of_type(Disconnected)
    assert left == Disconnected(custom, "/custom", DisconnectReason.CLIENT_DISCONNECT)
    assert (closed.sid, closed.namespace, closed.reason) == (
        root,
        "/",
        DisconnectReason.PARSE_ERROR,
    )
    assert "/custom" in closed.detail


# -- CONNECT while CONNECTING -------------------------------------------------------------


class LateAcceptApp:
    """An app that records each ConnectRequested and answers only when told to."""

    def __init__(self) -> None:
        self.requests: list[ConnectRequested] = []

    def __call__(self, sio: SocketServer, event: sio_events.ServerEvent) -> None:
        if isinstance(event, ConnectRequested):
            self.requests.append(event)
        elif isinstance(event, EventReceived) and event.event == "message":
            sio.emit("message-back", *event.args, namespace=event.namespace, to=event.sid)


def test_connect_while_connecting_closes(transport: Transport) -> None:
    app = LateAcceptApp()
    h = SocketHarness(app=app)
    client = SioClient(h, transport)
    client.send("0")
    (request,) = app.requests
    assert h.sio.state(request.sid) is SocketState.CONNECTING
    client.send("0")
    client.assert_closed()
    assert parse_errors(h) == [request.sid]
    assert len(app.requests) == 1
    # The late answer finds the socket gone.
    assert h.sio.accept(request.sid) is False
    assert h.sio.refuse(request.sid) is False


def test_event_while_connecting_closes(transport: Transport) -> None:
    app = LateAcceptApp()
    h = SocketHarness(app=app)
    client = SioClient(h, transport)
    client.send("0")
    (request,) = app.requests
    client.send('2["message","x"]')
    client.assert_closed()
    assert parse_errors(h) == [request.sid]
    assert h.of_type(EventReceived) == []


def test_late_accept_then_usable(transport: Transport) -> None:
    app = LateAcceptApp()
    h = SocketHarness(app=app)
    client = SioClient(h, transport)
    client.send('0{"k":1}')
    (request,) = app.requests
    assert request.auth == {"k": 1}
    h.clock.advance(0.1)
    assert h.sio.accept(request.sid) is True
    h.pump()
    (reply,) = client.recv()
    assert reply == "0" + json.dumps({"sid": request.sid}, separators=(",", ":"))
    client.assert_usable()


def test_connect_timeout_with_a_pending_connect_closes(transport: Transport) -> None:
    """A CONNECT the app never answers does not count as joining a namespace."""
    app = LateAcceptApp()
    h = SocketHarness(app=app)
    client = SioClient(h, transport)
    client.send("0")
    (request,) = app.requests
    if client.ws is not None:
        for _ in range(3):
            h.clock.advance(PING_INTERVAL)
            client.ws.send("3")
    else:
        for _ in range(3):
            poll = h.poll(client.eio_sid)
            h.clock.advance(PING_INTERVAL)
            assert poll.response.body == b"2"
            h.send_post(client.eio_sid, "3")
    h.clock.advance_to(1.0)
    assert h.clock.fired[-1] == 1.0
    client.assert_closed()
    (gone,) = h.of_type(Disconnected)
    assert gone.sid == request.sid
    assert gone.reason is DisconnectReason.FORCED_SERVER_CLOSE


# -- binary reassembly ---------------------------------------------------------------------


def test_binary_header_for_unconnected_namespace_closes_before_any_attachment(
    transport: Transport,
) -> None:
    h = SocketHarness()
    client = SioClient(h, transport)
    root = client.connect()
    client.send(f'51-/custom,["message",{PH0}]')  # the header alone
    client.assert_closed()
    assert parse_errors(h) == [root]


def test_binary_header_for_connecting_namespace_closes(transport: Transport) -> None:
    app = LateAcceptApp()
    h = SocketHarness(app=app)
    client = SioClient(h, transport)
    client.send("0")
    (request,) = app.requests
    client.send(f'51-["message",{PH0}]')
    client.assert_closed()
    assert parse_errors(h) == [request.sid]


def test_reassembly_state_survives_across_polling_requests() -> None:
    h = SocketHarness()
    client = SioClient(h, "polling")
    sid = client.connect()
    client.send(f'52-["message",{PH0},{PH1}]')
    assert client.posts[-1].body == b"ok"
    client.send(b"\x01\x02")
    assert h.of_type(EventReceived) == []
    client.send(b"\x03")
    assert client.recv() == [f'52-["message-back",{PH0},{PH1}]', b"\x01\x02", b"\x03"]
    assert h.of_type(EventReceived) == [
        EventReceived(sid, "/", "message", [b"\x01\x02", b"\x03"], None)
    ]
    client.assert_usable()


def test_reassembly_state_survives_a_get_in_between() -> None:
    h = SocketHarness()
    client = SioClient(h, "polling")
    client.connect()
    client.send('2["message","a"]', f'51-["message",{PH0}]')
    assert client.recv() == ['2["message-back","a"]']
    client.send(b"\xff")
    assert client.recv() == [f'51-["message-back",{PH0}]', b"\xff"]


def test_attachments_in_separate_websocket_frames_then_text() -> None:
    h = SocketHarness()
    client = SioClient(h, "websocket")
    client.connect()
    client.send(f'52-["message",{PH0},{PH1}]', b"\x01")
    assert client.recv() == []
    client.send(b"\x02", '2["message","x"]')
    assert client.recv() == [
        f'52-["message-back",{PH0},{PH1}]',
        b"\x01",
        b"\x02",
        '2["message-back","x"]',
    ]


def test_same_placeholder_twice_is_accepted(transport: Transport) -> None:
    h = SocketHarness()
    client = SioClient(h, transport)
    sid = client.connect()
    client.send(f'51-["message",{PH0},{PH0}]', b"\x07")
    assert h.of_type(EventReceived) == [
        EventReceived(sid, "/", "message", [b"\x07", b"\x07"], None)
    ]
    # Re-encoded as two attachments, one per occurrence.
    assert client.recv() == [f'52-["message-back",{PH0},{PH1}]', b"\x07", b"\x07"]
    client.assert_usable()
