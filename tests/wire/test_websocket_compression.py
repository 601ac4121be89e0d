"""WebSockets that negotiate permessage-deflate (``EngineConfig.websocket_compression``).

Such a connection is framed by wsproto (behind our codec's interface) instead of
:class:`~socketio_proto.wire.websocket.FrameCodec`; these tests drive it with a
wsproto client that offers the extension.
"""

from __future__ import annotations

import json

from wsproto import ConnectionType, WSConnection
from wsproto import events as ws_events
from wsproto.extensions import PerMessageDeflate

from socketio_proto.engineio.config import EngineConfig
from socketio_proto.engineio.events import MessageReceived
from socketio_proto.wire.server import WireServer

TARGET = "/engine.io/?EIO=4&transport=websocket"


class DeflateClient:
    def __init__(self, wire: WireServer, *, offer: bool = True) -> None:
        self.wire = wire
        self.conn = wire.connection_made()
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.raw = b""
        self.events: list[ws_events.Event] = []
        extensions = [PerMessageDeflate()] if offer else []
        self.send_bytes(self.ws.send(ws_events.Request("x", TARGET, extensions=extensions)))

    def send_bytes(self, data: bytes) -> None:
        self.wire.receive_data(self.conn, data, 0.0)
        self.pull()

    def pull(self) -> None:
        """Take what the server wrote."""
        for out in self.wire.transmit(0.0):
            assert out.conn_id == self.conn
            self.raw += out.data
            self.ws.receive_data(out.data)
        self.events += self.ws.events()

    def messages(self) -> list[str | bytes]:
        return [e.data for e in self.events if isinstance(e, ws_events.Message)]


def compressing_wire() -> WireServer:
    return WireServer(config=EngineConfig(path="/engine.io/", websocket_compression=True))


def test_a_client_offering_deflate_gets_it_and_messages_round_trip() -> None:
    wire = compressing_wire()
    client = DeflateClient(wire)
    (accept,) = [e for e in client.events if isinstance(e, ws_events.AcceptConnection)]
    assert [type(e) for e in accept.extensions] == [PerMessageDeflate]
    opening = client.messages()[0]
    assert isinstance(opening, str)
    sid = json.loads(opening[1:])["sid"]
    text = "4" + "compressible " * 500
    client.send_bytes(client.ws.send(ws_events.TextMessage(text)))
    client.send_bytes(client.ws.send(ws_events.BytesMessage(b"\x01\x02" * 300)))
    received = [e for e in wire.events() if isinstance(e, MessageReceived)]
    assert [e.data for e in received] == ["compressible " * 500, b"\x01\x02" * 300]
    before = len(client.raw)
    wire.engine.send(sid, "pong " * 1000)
    client.pull()
    assert client.messages()[-1] == "4" + "pong " * 1000
    # The 5000-character reply went out compressed.
    assert len(client.raw) - before < 200


def test_without_an_offer_the_connection_uses_plain_frames() -> None:
    wire = compressing_wire()
    client = DeflateClient(wire, offer=False)
    (accept,) = [e for e in client.events if isinstance(e, ws_events.AcceptConnection)]
    assert accept.extensions == []
    sid = json.loads(str(client.messages()[0])[1:])["sid"]
    wire.engine.send(sid, "x" * 1000)
    client.pull()
    assert client.messages()[-1] == "4" + "x" * 1000
    assert client.raw.endswith(b"4" + b"x" * 1000)  # uncompressed on the wire


def test_a_compressed_connection_closes_cleanly_both_ways() -> None:
    wire = compressing_wire()
    client = DeflateClient(wire)
    client.send_bytes(client.ws.send(ws_events.CloseConnection(code=1000)))
    closes = [e for e in client.events if isinstance(e, ws_events.CloseConnection)]
    assert [c.code for c in closes] == [1000]
    # A peer that breaks the framing (a continuation with no message) gets 1002.
    other = DeflateClient(wire)
    other.send_bytes(b"\x80\x80\x00\x00\x00\x00")
    closes = [e for e in other.events if isinstance(e, ws_events.CloseConnection)]
    assert [c.code for c in closes] == [1002]
