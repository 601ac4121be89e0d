"""Regressions of wire-layer bugs found by the stateful model and the wire fuzzer."""

from __future__ import annotations

import pytest

from socketio_proto import EncodeError
from socketio_proto.engineio.client import ClientConfig, EngineClient, SendRequest
from socketio_proto.engineio.config import EngineConfig
from socketio_proto.engineio.events import SessionOpened
from socketio_proto.engineio.http import HttpRequest
from socketio_proto.engineio.server import EngineServer
from socketio_proto.wire import WireServer
from tests.support.wire_client import mask_frame

WS_HEADERS = (
    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)
WS_ONLY = (
    "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n" + WS_HEADERS + "\r\n"
).encode()


def sid_config() -> EngineConfig:
    ids = iter(f"sid{i}" for i in range(100))
    return EngineConfig(sid_generator=lambda: next(ids))


def test_separator_is_refused_at_send_and_loses_nothing_else() -> None:
    engine = EngineServer(sid_config())
    for _ in range(2):
        engine.handle_request(
            HttpRequest.from_target("GET", "/engine.io/?EIO=4&transport=polling"), 0
        )
    engine.outputs()
    for sid in ("sid0", "sid1"):
        engine.handle_request(
            HttpRequest.from_target("GET", f"/engine.io/?EIO=4&transport=polling&sid={sid}"), 0
        )
    with pytest.raises(EncodeError):
        engine.send("sid0", "x\x1ey")
    assert engine.send("sid1", "hello")
    bodies = [out.response.body for out in engine.outputs()]  # type: ignore[union-attr]
    assert bodies == [b"4hello"]


def test_the_client_refuses_the_separator_while_polling() -> None:
    client = EngineClient(ClientConfig(transports=("polling",)))
    client.connect(0)
    (handshake,) = client.outputs()
    assert isinstance(handshake, SendRequest)
    with pytest.raises(EncodeError):
        client.send("x\x1ey")


@pytest.mark.parametrize(
    "request_bytes",
    [
        WS_ONLY.replace(b"Connection: Upgrade", b"Connection:\xa0Upgrade"),
        WS_ONLY.replace(b"HTTP/1.1\r\nHost: x\r\n", b"HTTP/1.0\r\n"),
    ],
    ids=["non-ascii-connection-header", "http10-without-host"],
)
def test_handshakes_wsproto_cannot_rebuild_are_refused_with_400(request_bytes: bytes) -> None:
    wire = WireServer(config=sid_config())
    conn = wire.connection_made()
    wire.receive_data(conn, request_bytes, 0)
    (out,) = wire.transmit(0)
    assert out.data.startswith(b"HTTP/1.") and b" 400 " in out.data.split(b"\r\n")[0]
    assert out.close
    assert wire.engine.sessions == frozenset()


def test_several_frames_in_one_read_keep_their_order() -> None:
    # The engine's own output (the open packet) must not be overtaken by replies the
    # wire layer writes itself (a pong), nor lost to a close in the same read.
    ping = mask_frame(b"", opcode=0x9)
    close = mask_frame(b"\x03\xe8", opcode=0x8)
    frames = ping + close
    outputs = []
    trickle = [WS_ONLY, *(frames[i : i + 1] for i in range(len(frames)))]
    for chunks in ([WS_ONLY + frames], trickle):
        wire = WireServer(config=sid_config())
        conn = wire.connection_made()
        sent = b""
        for chunk in chunks:
            wire.receive_data(conn, chunk, 0)
            sent += b"".join(out.data for out in wire.transmit(0))
        outputs.append(sent)
    whole, trickled = outputs
    assert whole == trickled
    body = whole.split(b"\r\n\r\n", 1)[1]
    assert body.index(b'0{"sid":"sid0"') < body.index(b"\x8a\x00")  # open, then the pong
    assert body.endswith(b"\x88\x02\x03\xe8")  # the close reply comes last


def test_no_transmit_for_a_connection_already_lost() -> None:
    wire = WireServer(config=sid_config())
    conn = wire.connection_made()
    wire.receive_data(
        conn, b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n", 0
    )
    wire.transmit(0)
    wire.receive_data(
        conn, b"GET /engine.io/?EIO=4&transport=polling&sid=sid0 HTTP/1.1\r\nHost: x\r\n\r\n", 0
    )
    assert wire.transmit(0) == []  # parked
    wire.connection_lost(conn, 0)
    assert wire.transmit(0) == []
    assert not isinstance(wire.events()[-1], SessionOpened)
    assert wire.engine.sessions == frozenset()


@pytest.mark.parametrize("size", [900, 1023, 1024, 1025, 1500])
def test_header_limit_is_the_same_whole_or_trickled(size: int) -> None:
    head = b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nX-Pad: "
    request = head + b"a" * (size - len(head) - 4) + b"\r\n\r\n"
    assert len(request) == size
    answers = []
    for chunks in ([request], [request[i : i + 1] for i in range(len(request))]):
        wire = WireServer(config=sid_config(), max_header_bytes=1024)
        conn = wire.connection_made()
        sent = b""
        for chunk in chunks:
            wire.receive_data(conn, chunk, 0)
            sent += b"".join(out.data for out in wire.transmit(0))
        answers.append(sent.split(b"\r\n")[0])
    assert answers[0] == answers[1]
    assert answers[0] == (
        b"HTTP/1.1 200 OK" if size <= 1025 else b"HTTP/1.1 431 Request Header Fields Too Large"
    )
