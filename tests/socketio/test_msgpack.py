"""The msgpack parser, compatible with npm socket.io-msgpack-parser."""

from __future__ import annotations

import msgpack
import pytest

from socketio_proto import DecodeError, EncodeError, LimitExceeded, Limits
from socketio_proto.socketio import Packet, PacketType
from socketio_proto.socketio.msgpack import MsgpackDecoder, MsgpackEncoder

T = PacketType


@pytest.mark.parametrize(
    "packet",
    [
        Packet(T.CONNECT),
        Packet(T.CONNECT, "/admin", {"token": "x"}),
        Packet(T.DISCONNECT, "/admin"),
        Packet(T.EVENT, data=["hello", 1, {"a": [True, None]}]),
        Packet(T.EVENT, "/x", ["bin", b"\x01\x02", {"deep": [b"\x03"]}], 7),
        Packet(T.ACK, data=[b"\x00"], id=0),
        Packet(T.CONNECT_ERROR, data={"message": "nope", "data": {"r": 1}}),
        Packet(T.CONNECT_ERROR, data="plain"),
    ],
)
def test_round_trip_and_wire_shape(packet: Packet) -> None:
    (frame,) = MsgpackEncoder().encode(packet)
    assert isinstance(frame, bytes)
    raw = msgpack.unpackb(frame, raw=False)
    assert raw["type"] == packet.type
    assert raw["nsp"] == packet.namespace
    assert raw.get("data") == packet.data
    assert raw.get("id") == packet.id
    assert MsgpackDecoder().receive(frame) == packet


def test_binary_packet_types_are_sent_as_plain_types() -> None:
    (frame,) = MsgpackEncoder().encode(Packet(T.BINARY_EVENT, data=["x", b"1"]))
    assert msgpack.unpackb(frame)["type"] == 2


@pytest.mark.parametrize(
    "message",
    [
        "2[]",
        b"",
        b"\xc1",
        msgpack.packb([1, 2]),
        msgpack.packb({"type": 7, "nsp": "/"}),
        msgpack.packb({"type": 5, "nsp": "/", "data": ["x"]}),
        msgpack.packb({"type": True, "nsp": "/"}),
        msgpack.packb({"type": 2, "nsp": 1, "data": ["x"]}),
        msgpack.packb({"type": 2, "nsp": "/", "data": {}}),
        msgpack.packb({"type": 2, "nsp": "/", "data": ["connect"]}),
        msgpack.packb({"type": 2, "nsp": "/", "data": ["x"], "id": "1"}),
        msgpack.packb({"type": 2, "nsp": "/", "data": ["x"], "id": -1}),
        msgpack.packb({"type": 0, "nsp": "/", "data": None}),
        msgpack.packb({"type": 1, "nsp": "/", "data": {}}),
        msgpack.packb({"type": 0, "nsp": "/"}) + b"\x00",
    ],
)
def test_invalid_messages(message: str | bytes) -> None:
    with pytest.raises(DecodeError):
        MsgpackDecoder().receive(message)


def test_limits() -> None:
    decoder = MsgpackDecoder(limits=Limits(max_json_depth=2, max_ack_id_digits=2))
    with pytest.raises(LimitExceeded):
        decoder.receive(msgpack.packb({"type": 2, "nsp": "/", "data": ["x", [[1]]]}))
    with pytest.raises(LimitExceeded):
        decoder.receive(msgpack.packb({"type": 2, "nsp": "/", "data": ["x"], "id": 100}))
    deep = b"\x91" * 100_000 + b"\xc0"
    with pytest.raises(DecodeError):
        MsgpackDecoder().receive(deep)


def test_encoder_refuses_invalid_packets() -> None:
    for packet in (
        Packet(T.EVENT, data=["connect"]),
        Packet(T.EVENT, data=["x", object()]),
        Packet(T.EVENT, data=["x"], id=-2),
    ):
        with pytest.raises(EncodeError):
            MsgpackEncoder().encode(packet)
