"""Engine.IO single-packet encoding, byte for byte (protocol.md 1.2, 1.3, 1.15)."""

from __future__ import annotations

import pytest

from socketio_proto import DecodeError, EncodeError
from socketio_proto.engineio import Packet, PacketType, decode_packet, encode_packet
from socketio_proto.engineio.packet import b64decode_lenient

T = PacketType


@pytest.mark.parametrize(
    ("wire", "packet"),
    [
        ("0", Packet(T.OPEN)),
        ('0{"sid":"abc"}', Packet(T.OPEN, '{"sid":"abc"}')),
        ("1", Packet(T.CLOSE)),
        ("2", Packet(T.PING)),
        ("2probe", Packet(T.PING, "probe")),
        ("3probe", Packet(T.PONG, "probe")),
        ("4hello", Packet(T.MESSAGE, "hello")),
        ("4", Packet(T.MESSAGE, "")),
        ("4€😀", Packet(T.MESSAGE, "€😀")),
        ("5", Packet(T.UPGRADE)),
        ("6", Packet(T.NOOP)),
    ],
)
@pytest.mark.parametrize("revision", [3, 4])
def test_text_packets_are_identical_in_both_revisions(
    wire: str, packet: Packet, revision: int
) -> None:
    assert decode_packet(wire, revision) == packet  # type: ignore[arg-type]
    assert encode_packet(packet, revision) == wire  # type: ignore[arg-type]


def test_v4_binary_frame_is_the_raw_message() -> None:
    packet = Packet(T.MESSAGE, b"\x01\x02\x03")
    assert encode_packet(packet, 4) == b"\x01\x02\x03"
    assert decode_packet(b"\x01\x02\x03", 4) == packet


def test_v4_empty_binary_frame_is_an_empty_binary_message() -> None:
    assert decode_packet(b"", 4) == Packet(T.MESSAGE, b"")


def test_v4_base64_form_has_no_type_digit() -> None:
    packet = Packet(T.MESSAGE, b"\x01\x02\x03\x04")
    assert encode_packet(packet, 4, base64=True) == "bAQIDBA=="
    assert decode_packet("bAQIDBA==", 4) == packet


def test_base64_is_decoded_leniently_about_padding() -> None:
    assert decode_packet("bAQID", 4) == Packet(T.MESSAGE, b"\x01\x02\x03")
    assert decode_packet("bAQIDBA", 4) == Packet(T.MESSAGE, b"\x01\x02\x03\x04")


@pytest.mark.parametrize("text", ["bA", "bAQIDB", "b!!!!", "bAQ==ID", "bAQ===", "bAQIDBA==="])
def test_invalid_base64_is_a_decode_error(text: str) -> None:
    with pytest.raises(DecodeError):
        decode_packet(text, 4)


def test_v3_binary_frame_carries_a_type_byte() -> None:
    packet = Packet(T.MESSAGE, b"\x01\x02\x03\x04")
    assert encode_packet(packet, 3) == b"\x04\x01\x02\x03\x04"
    assert decode_packet(b"\x04\x01\x02\x03\x04", 3) == packet


def test_v3_base64_form_has_a_type_digit() -> None:
    packet = Packet(T.MESSAGE, b"\x01\x02\x03\x04")
    assert encode_packet(packet, 3, base64=True) == "b4AQIDBA=="
    assert decode_packet("b4AQIDBA==", 3) == packet


def test_v3_binary_may_have_any_type() -> None:
    assert decode_packet(b"\x02abc", 3) == Packet(T.PING, b"abc")
    assert encode_packet(Packet(T.PING, b"abc"), 3, base64=True) == "b2YWJj"


def test_v4_refuses_binary_outside_message_packets() -> None:
    with pytest.raises(EncodeError):
        encode_packet(Packet(T.PING, b"abc"), 4)


@pytest.mark.parametrize(
    ("wire", "revision"),
    [
        ("", 4),
        ("", 3),
        ("7", 4),
        ("a", 4),
        ("abc", 3),
        ("b", 3),  # v3 base64 without a type digit
        ("b9AQID", 3),
        (b"", 3),
        (b"\x07abc", 3),
        (b"\xff", 3),
    ],
)
def test_invalid_packets_raise_decode_error(wire: str | bytes, revision: int) -> None:
    with pytest.raises(DecodeError):
        decode_packet(wire, revision)  # type: ignore[arg-type]


def test_lenient_base64_helper_round_trips_every_length() -> None:
    import base64

    for size in range(12):
        data = bytes(range(size))
        encoded = base64.b64encode(data).decode()
        assert b64decode_lenient(encoded) == data
        assert b64decode_lenient(encoded.rstrip("=")) == data


def test_packet_is_frozen_and_reports_binary() -> None:
    packet = Packet(T.MESSAGE, b"x")
    assert packet.is_binary
    assert not Packet(T.MESSAGE, "x").is_binary
    with pytest.raises(AttributeError):
        packet.data = "y"  # type: ignore[misc]
