"""Encode once, frame once: a broadcast's frame is built once and written to every socket."""

from __future__ import annotations

from socketio_proto.wire import WireServer
from tests.wire.test_wire_regressions import WS_ONLY, sid_config


def open_sockets(wire: WireServer, count: int) -> list[int]:
    conns = []
    for _ in range(count):
        conn = wire.connection_made()
        wire.receive_data(conn, WS_ONLY, 0.0)
        conns.append(conn)
    wire.transmit(0.0)  # the 101s and open packets
    return conns


def test_the_same_message_to_many_sockets_is_one_frame_object() -> None:
    wire = WireServer(config=sid_config())
    conns = open_sockets(wire, 5)
    message = '2["news",{"text":"' + "é" * 200 + '"}]'  # non-ASCII, 16-bit length
    for sid in sorted(wire.engine.sessions):
        assert wire.engine.send(sid, message)
    out = wire.transmit(0.0)
    assert sorted(t.conn_id for t in out) == conns
    payload = ("4" + message).encode()
    assert out[0].data == b"\x81\x7e" + len(payload).to_bytes(2, "big") + payload
    assert all(t.data is out[0].data for t in out)  # built once, not equal copies


def test_different_messages_get_their_own_frames() -> None:
    wire = WireServer(config=sid_config())
    open_sockets(wire, 2)
    for sid in sorted(wire.engine.sessions):
        wire.engine.send(sid, f"for {sid}")
    first, second = wire.transmit(0.0)
    assert first.data.endswith(b"4for sid0") and second.data.endswith(b"4for sid1")
