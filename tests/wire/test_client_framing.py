"""The wire client's WebSocket framing (:class:`FrameCodec` in the client role).

A real :class:`WireServer` and :class:`WireClient` do the handshake in memory;
after it the tests write server frames to the client themselves, byte for byte
as they choose, and read what the client writes back with wsproto in the
server role (which refuses unmasked frames).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from wsproto import ConnectionType
from wsproto import events as ws_events
from wsproto.connection import Connection
from wsproto.frame_protocol import CloseReason as WsCloseReason

from socketio_proto.engineio.client import ClientConfig, Connected, EngineClient
from socketio_proto.engineio.config import EngineConfig
from socketio_proto.engineio.events import CloseReason, MessageReceived, SessionClosed
from socketio_proto.limits import Limits
from socketio_proto.wire.client import OpenConnection, WireClient
from socketio_proto.wire.server import Transmit, WireServer
from socketio_proto.wire.websocket import binary_frame, close_frame, text_frame

LIMIT = 1000


def frame(opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0) -> bytes:
    """One unmasked server frame, any opcode (short and 16-bit lengths only)."""
    first = (0x80 if fin else 0) | rsv | opcode
    if len(payload) < 126:
        return bytes((first, len(payload))) + payload
    return bytes((first, 126)) + len(payload).to_bytes(2, "big") + payload


@dataclass
class Session:
    """A client whose WebSocket handshake response is held back for the test to deliver."""

    client: WireClient
    server: WireServer
    conn: int
    server_conn: int
    #: What the server wrote on the WebSocket connection: the 101 and the open packet.
    response: bytes
    #: What the client wrote after its handshake request.
    written: bytearray = field(default_factory=bytearray)
    closed: bool = False

    def feed(self, data: bytes) -> None:
        self.client.receive_data(self.conn, data, 0.0)
        self.pull()

    def pull(self) -> None:
        for out in self.client.transmit(0.0):
            assert isinstance(out, Transmit) and out.conn_id == self.conn
            self.written += out.data
            self.closed = self.closed or out.close

    def frames(self) -> list[ws_events.Event]:
        """The client's frames so far, as a server (without extensions) would read them."""
        reader = Connection(ConnectionType.SERVER)
        reader.receive_data(bytes(self.written))
        return list(reader.events())

    def messages(self) -> list[str | bytes]:
        return [e.data for e in self.client.events() if isinstance(e, MessageReceived)]


def start(
    *, limit: int = LIMIT, compression: bool = False, server_compression: bool | None = None
) -> Session:
    """Run the handshake up to the server's 101, which the client has not yet seen.

    ``compression`` is the client's offer; the server enables it too unless
    ``server_compression`` says otherwise.
    """
    if server_compression is None:
        server_compression = compression
    config = EngineConfig(path="/engine.io/", websocket_compression=server_compression)
    server = WireServer(config=config)
    client_config = ClientConfig(transports=("websocket",), limits=Limits(max_payload_bytes=limit))
    client = WireClient(EngineClient(client_config), "localhost", websocket_compression=compression)
    client.connect(0.0)
    opened, request = client.transmit(0.0)
    assert isinstance(opened, OpenConnection) and isinstance(request, Transmit)
    assert (b"permessage-deflate" in request.data) is compression
    server_conn = server.connection_made()
    server.receive_data(server_conn, request.data, 0.0)
    (response,) = server.transmit(0.0)
    assert response.data.startswith(b"HTTP/1.1 101 ")
    return Session(client, server, opened.conn_id, server_conn, response.data)


def open_session(*, limit: int = LIMIT, compression: bool = False) -> Session:
    session = start(limit=limit, compression=compression)
    session.feed(session.response)
    assert any(isinstance(e, Connected) for e in session.client.events())
    return session


# -- what the client sends ----------------------------------------------------------------


def assert_masked(written: bytes | bytearray) -> None:
    """Every frame in ``written`` carries the mask bit and a key, as a client's must."""
    position = 0
    while position < len(written):
        assert written[position + 1] & 0x80, f"unmasked frame at byte {position}"
        length, header = written[position + 1] & 0x7F, 2
        if length == 126:
            length, header = int.from_bytes(written[position + 2 : position + 4], "big"), 4
        elif length == 127:
            length, header = int.from_bytes(written[position + 2 : position + 10], "big"), 10
        position += header + 4 + length
    assert position == len(written)


def test_client_frames_are_masked_and_read_by_a_server() -> None:
    session = open_session()
    session.client.send("hello")
    session.client.send(b"\x00\x01\xff")
    session.client.send("é" * 200)  # a 16-bit length
    session.pull()
    assert_masked(session.written)
    messages = [e.data for e in session.frames() if isinstance(e, ws_events.Message)]
    assert messages == ["4hello", b"\x00\x01\xff", "4" + "é" * 200]


def test_a_server_ping_gets_a_masked_pong() -> None:
    session = open_session()
    session.feed(frame(0x9, b"are you there"))
    assert [e for e in session.frames() if isinstance(e, ws_events.Pong)] == [
        ws_events.Pong(payload=b"are you there")
    ]
    assert_masked(session.written)
    assert not session.closed


# -- what the client receives -------------------------------------------------------------


def traffic() -> bytes:
    """Server frames of every shape: fragments, controls between them, lengths, binary."""
    accent = "4héllo".encode()
    return b"".join(
        (
            text_frame("4short"),
            text_frame("4" + "x" * 300),  # a 16-bit length
            binary_frame(b"\x00\xff" * 10),
            frame(0x1, accent[:3], fin=False),  # "é" split between fragments
            frame(0x9, b"p1"),  # a ping between fragments
            frame(0x0, accent[3:5], fin=False),
            frame(0x0, accent[5:]),
            frame(0x9, b"p2"),
        )
    )


EXPECTED = ["short", "x" * 300, b"\x00\xff" * 10, "héllo"]


def outcome(split: int | None) -> tuple[list[str | bytes], list[ws_events.Event]]:
    """What a client handed up and wrote back, given the 101 and :func:`traffic`.

    The bytes arrive whole (``split`` None), in two reads cut at byte ``split``,
    or byte by byte (``split`` 0).
    """
    session = start()
    stream = session.response + traffic()
    if split is None:
        chunks = [stream]
    elif split:
        chunks = [stream[:split], stream[split:]]
    else:
        chunks = [bytes((b,)) for b in stream]
    for chunk in chunks:
        session.feed(chunk)
    replies = [e for e in session.frames() if not isinstance(e, ws_events.Message)]
    return session.messages(), replies


def test_messages_split_at_every_byte_reach_the_client_intact() -> None:
    expected = (EXPECTED, [ws_events.Pong(payload=b"p1"), ws_events.Pong(payload=b"p2")])
    assert outcome(None) == expected
    assert outcome(0) == expected
    # Every cut, in the 101 response as in the frames: nothing is lost or doubled.
    size = len(start().response + traffic())
    for cut in range(1, size):
        assert outcome(cut) == expected, f"split at byte {cut}"


def test_frames_in_the_same_read_as_the_101_are_not_lost() -> None:
    session = start()
    # The server itself sends its open packet right behind the 101, in one write.
    head_end = session.response.index(b"\r\n\r\n") + 4
    assert len(session.response) > head_end
    session.feed(session.response + text_frame("4behind") + frame(0x9, b"hi"))
    events = session.client.events()
    assert isinstance(events[0], Connected)
    assert [e.data for e in events if isinstance(e, MessageReceived)] == ["behind"]
    assert ws_events.Pong(payload=b"hi") in session.frames()


def test_an_oversized_message_fails_with_1009_after_what_came_before() -> None:
    session = open_session()
    session.feed(text_frame("4first") + text_frame("4" + "x" * LIMIT))
    events = session.client.events()
    assert [e.data for e in events if isinstance(e, MessageReceived)] == ["first"]
    assert [e.reason for e in events if isinstance(e, SessionClosed)] == [
        CloseReason.TRANSPORT_CLOSE
    ]
    closes = [e for e in session.frames() if isinstance(e, ws_events.CloseConnection)]
    assert [c.code for c in closes] == [WsCloseReason.MESSAGE_TOO_BIG]
    assert session.closed


def test_the_limit_counts_all_fragments_and_is_refused_from_the_header() -> None:
    session = open_session()
    session.feed(frame(0x1, b"4" + b"x" * (LIMIT - 10), fin=False))
    assert not session.closed
    # Only the header of the fragment that crosses the limit has arrived.
    session.feed(bytes((0x80, 126)) + (20).to_bytes(2, "big"))
    closes = [e for e in session.frames() if isinstance(e, ws_events.CloseConnection)]
    assert [c.code for c in closes] == [1009]
    assert session.closed
    # A message of exactly the limit is fine.
    other = open_session()
    other.feed(text_frame("4" + "y" * (LIMIT - 1)))
    assert other.messages() == ["y" * (LIMIT - 1)]
    assert not other.closed


def test_framing_violations_fail_with_their_close_code() -> None:
    masked = bytes((0x81, 0x81)) + b"\x01\x02\x03\x04" + bytes((ord("4") ^ 1,))
    cases = {
        masked: 1002,  # a server must not mask
        frame(0x3, b""): 1002,  # a reserved opcode
        frame(0x1, b"4ok", rsv=0x40): 1002,  # RSV1 with no extension negotiated
        frame(0x0, b"4"): 1002,  # a continuation with no message
        frame(0x1, b"4\xff"): 1007,  # text that is not UTF-8
    }
    for bad, code in cases.items():
        session = open_session()
        session.feed(text_frame("4before") + bad + text_frame("4after"))
        assert session.messages() == ["before"], bad
        closes = [e for e in session.frames() if isinstance(e, ws_events.CloseConnection)]
        assert [c.code for c in closes] == [code], bad
        assert_masked(session.written)
        assert session.closed


def test_a_server_close_is_answered_and_the_connection_hung_up() -> None:
    session = open_session()
    session.feed(text_frame("4last") + close_frame(1001, "going away") + text_frame("4ignored"))
    events = session.client.events()
    assert [e.data for e in events if isinstance(e, MessageReceived)] == ["last"]
    assert any(isinstance(e, SessionClosed) for e in events)
    closes = [e for e in session.frames() if isinstance(e, ws_events.CloseConnection)]
    assert [c.code for c in closes] == [1001]  # echoed
    assert session.closed


def test_eof_without_a_close_frame_ends_the_session() -> None:
    session = open_session()
    session.feed(b"")
    events = session.client.events()
    assert [e.reason for e in events if isinstance(e, SessionClosed)] == [
        CloseReason.TRANSPORT_CLOSE
    ]
    assert session.closed


def test_a_bad_accept_token_refuses_the_websocket_instead_of_raising() -> None:
    session = start()
    forged = session.response.replace(b"Sec-WebSocket-Accept: ", b"Sec-WebSocket-Accept: x")
    session.feed(forged)
    events = session.client.events()
    assert [e.reason for e in events if isinstance(e, SessionClosed)] == [
        CloseReason.TRANSPORT_ERROR
    ]
    assert session.closed


def test_a_refusal_reports_the_status() -> None:
    session = start()
    session.feed(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
    (closed,) = [e for e in session.client.events() if isinstance(e, SessionClosed)]
    assert closed.reason is CloseReason.TRANSPORT_ERROR
    assert "403" in closed.detail
    assert session.closed


# -- permessage-deflate -------------------------------------------------------------------


def test_with_deflate_negotiated_messages_are_compressed_both_ways() -> None:
    session = start(compression=True, limit=100_000)
    assert b"permessage-deflate" in session.response
    session.feed(session.response)
    (connected,) = [e for e in session.client.events() if isinstance(e, Connected)]
    text = "compressible " * 200
    session.client.send(text)
    session.pull()
    # The client's frame has RSV1 set (compressed) and is far smaller than the text.
    assert session.written[0] & 0x40
    assert len(session.written) < 200
    # The server inflates it...
    session.server.receive_data(session.server_conn, bytes(session.written), 0.0)
    received = [e.data for e in session.server.events() if isinstance(e, MessageReceived)]
    assert received == [text]
    # ...and the client inflates the server's compressed frames.
    session.server.engine.send(connected.sid, "pong " * 1000)
    (out,) = session.server.transmit(0.0)
    assert len(out.data) < 200
    session.feed(out.data)
    assert session.messages() == ["pong " * 1000]


def test_with_deflate_frames_behind_the_101_arrive_once() -> None:
    session = start(compression=True)
    session.feed(session.response + text_frame("4behind") + frame(0x9, b"hi"))
    events = session.client.events()
    assert sum(isinstance(e, Connected) for e in events) == 1
    assert [e.data for e in events if isinstance(e, MessageReceived)] == ["behind"]
    assert [e for e in session.frames() if isinstance(e, ws_events.Pong)] == [
        ws_events.Pong(payload=b"hi")
    ]


def test_with_deflate_a_violation_fails_with_a_masked_close() -> None:
    session = open_session(compression=True)
    session.feed(frame(0x1, b"4\xff"))  # text that is not UTF-8
    closes = [e for e in session.frames() if isinstance(e, ws_events.CloseConnection)]
    assert [c.code for c in closes] == [1007]
    assert_masked(session.written)
    assert session.closed


def test_with_deflate_messages_before_a_violation_are_delivered() -> None:
    session = open_session(compression=True)
    session.feed(text_frame("4before") + frame(0x3, b""))
    assert session.messages() == ["before"]


def test_without_an_accepted_extension_plain_frames_are_used() -> None:
    # The client offers deflate, the server does not enable it: our codec frames.
    session = start(compression=True, server_compression=False)
    assert b"permessage-deflate" not in session.response
    session.feed(session.response)
    (connected,) = [e for e in session.client.events() if isinstance(e, Connected)]
    opening = session.response.split(b"\r\n\r\n", 1)[1]
    assert json.loads(opening[3:])["sid"] == connected.sid  # after a 2-byte header and "0"
    session.client.send("x" * 300)
    session.pull()
    assert not session.written[0] & 0x40
    assert b"x" * 300 not in session.written  # masked
    messages = [e.data for e in session.frames() if isinstance(e, ws_events.Message)]
    assert messages == ["4" + "x" * 300]
