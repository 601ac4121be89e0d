"""Engine.IO payloads, byte for byte (protocol.md 1.4, 1.14, 1.15, 3.3)."""

from __future__ import annotations

import pytest

from socketio_proto import DecodeError, EncodeError, LimitExceeded, Limits
from socketio_proto.engineio import (
    Packet,
    PacketType,
    decode_jsonp_post,
    decode_payload,
    decode_payload_v3,
    decode_payload_v3_binary,
    decode_payload_v4,
    encode_jsonp,
    encode_payload,
    encode_payload_v3,
    encode_payload_v3_binary,
    encode_payload_v4,
)

T = PacketType
HELLO = Packet(T.MESSAGE, "hello")
BIN = Packet(T.MESSAGE, b"\x01\x02\x03\x04")


# -- v4 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "packets"),
    [
        ("4hello\x1e2\x1e4world", [HELLO, Packet(T.PING), Packet(T.MESSAGE, "world")]),
        ("4hello\x1ebAQIDBA==", [HELLO, BIN]),
        (
            "4test1\x1e4test2\x1e4test3",
            [Packet(T.MESSAGE, f"test{i}") for i in (1, 2, 3)],
        ),
        ("6\x1e4x", [Packet(T.NOOP), Packet(T.MESSAGE, "x")]),
    ],
)
def test_v4_payloads(body: str, packets: list[Packet]) -> None:
    assert encode_payload_v4(packets) == body
    assert decode_payload_v4(body) == packets


def test_v4_empty_body_is_a_parse_error() -> None:
    with pytest.raises(DecodeError):
        decode_payload_v4("")


@pytest.mark.parametrize("body", ["abc", "4a\x1e\x1e4b", "4a\x1e", "4a\x1ezzz"])
def test_v4_invalid_packet_invalidates_the_payload(body: str) -> None:
    with pytest.raises(DecodeError):
        decode_payload_v4(body)


def test_v4_text_containing_the_separator_cannot_be_sent_over_polling() -> None:
    with pytest.raises(EncodeError):
        encode_payload_v4([Packet(T.MESSAGE, "a\x1eb")])


# -- v3 text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "packets"),
    [
        ("4:4€😀", [Packet(T.MESSAGE, "€😀")]),
        ("6:4hello10:b4AQIDBA==", [HELLO, BIN]),
        ("6:4test16:4test26:4test3", [Packet(T.MESSAGE, f"test{i}") for i in (1, 2, 3)]),
        ("1:2", [Packet(T.PING)]),
        ("1:6", [Packet(T.NOOP)]),
    ],
)
def test_v3_text_payloads(body: str, packets: list[Packet]) -> None:
    assert encode_payload_v3(packets) == body
    assert decode_payload_v3(body) == packets


def test_v3_length_counts_utf16_code_units() -> None:
    assert "4:4€😀".encode() == bytes.fromhex("34 3a 34 e2 82 ac f0 9f 98 80")
    assert encode_payload_v3([Packet(T.MESSAGE, "😀😀")]) == "5:4😀😀"


def test_v3_empty_batch_and_zero_length_entries() -> None:
    assert encode_payload_v3([]) == "0:"
    assert decode_payload_v3("0:") == []
    assert decode_payload_v3("0:1:2") == [Packet(T.PING)]


@pytest.mark.parametrize(
    "body",
    [
        "",  # empty body
        "2:4😀",  # length splits a surrogate pair (JS: session closed)
        "abc",
        "x:4hello",
        ":4hello",
        "9:4hello",  # overruns
        "6:4hello1",  # trailing length without ':'
        "12345678901:4",  # absurdly long length prefix
        "1:7",
        "٣:4ab",  # non-ASCII digits are not digits here
    ],
)
def test_v3_invalid_text_payloads(body: str) -> None:
    with pytest.raises(DecodeError):
        decode_payload_v3(body)


# -- v3 binary (XHR2) ----------------------------------------------------------------


def test_v3_binary_payload_from_the_v3_suite() -> None:
    wire = bytes.fromhex("00 06 ff 34 68 65 6c 6c 6f 01 05 ff 04 01 02 03 04")
    assert encode_payload_v3_binary([HELLO, BIN]) == wire
    assert decode_payload_v3_binary(wire) == [HELLO, BIN]


def test_v3_binary_payload_counts_utf8_bytes() -> None:
    wire = bytes.fromhex("00 08 ff 34 e2 82 ac f0 9f 98 80")
    assert encode_payload_v3_binary([Packet(T.MESSAGE, "€😀")]) == wire
    assert decode_payload_v3_binary(wire) == [Packet(T.MESSAGE, "€😀")]


def test_v3_binary_length_digits_are_byte_values() -> None:
    packet = Packet(T.MESSAGE, "x" * 122)  # 123 bytes with the type digit
    assert encode_payload_v3_binary([packet])[:5] == bytes.fromhex("00 01 02 03 ff")


def test_v3_binary_empty_body_holds_no_packets() -> None:
    assert decode_payload_v3_binary(b"") == []


@pytest.mark.parametrize(
    "body",
    [
        bytes.fromhex("02 01 ff 34"),  # bad marker
        bytes.fromhex("00 01 34"),  # no 0xff
        bytes.fromhex("00 ff 34"),  # no digits
        bytes.fromhex("00 0a ff 34"),  # digit byte > 9
        bytes.fromhex("00 09 ff 34"),  # overrun
        bytes.fromhex("00 02 ff 34 ff"),  # invalid UTF-8
        bytes.fromhex("00") + bytes(40) + b"\xff",  # too many digits
    ],
)
def test_v3_invalid_binary_payloads(body: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_payload_v3_binary(body)


# -- dispatch ------------------------------------------------------------------------


def test_encode_payload_chooses_the_format() -> None:
    assert encode_payload([HELLO, BIN], 4) == ("4hello\x1ebAQIDBA==", "text/plain; charset=UTF-8")
    assert encode_payload([HELLO, BIN], 3) == (
        "6:4hello10:b4AQIDBA==",
        "text/plain; charset=UTF-8",
    )
    body, content_type = encode_payload([HELLO, BIN], 3, supports_binary=True)
    assert content_type == "application/octet-stream"
    assert body == encode_payload_v3_binary([HELLO, BIN])
    # Without binary data a binary-capable v3 peer still gets text.
    assert encode_payload([HELLO], 3, supports_binary=True)[0] == "6:4hello"


def test_decode_payload_applies_content_type_rules() -> None:
    assert decode_payload(b"4hello", 4, content_type="text/plain;charset=UTF-8") == [HELLO]
    binary = encode_payload_v3_binary([HELLO, BIN])
    assert decode_payload(binary, 3, content_type="application/octet-stream") == [HELLO, BIN]
    with pytest.raises(DecodeError):
        decode_payload(b"4hello", 4, content_type="application/octet-stream")
    with pytest.raises(DecodeError):
        decode_payload(b"4\xff", 4)


def test_decode_payload_enforces_byte_and_packet_limits() -> None:
    limits = Limits(max_payload_bytes=10, max_packets_per_payload=2)
    assert decode_payload(b"4a\x1e4b", 4, limits=limits) == [
        Packet(T.MESSAGE, "a"),
        Packet(T.MESSAGE, "b"),
    ]
    with pytest.raises(LimitExceeded) as too_big:
        decode_payload(b"4" + b"x" * 10, 4, limits=limits)
    assert too_big.value.limit == "max_payload_bytes"
    assert too_big.value.actual == 11
    with pytest.raises(LimitExceeded) as too_many:
        decode_payload(b"2\x1e2\x1e2", 4, limits=limits)
    assert too_many.value.limit == "max_packets_per_payload"
    with pytest.raises(LimitExceeded):
        decode_payload(b"1:21:21:2", 3, limits=limits)
    with pytest.raises(LimitExceeded):
        decode_payload(
            encode_payload_v3_binary([Packet(T.PING)] * 3),
            3,
            content_type="application/octet-stream",
            limits=limits,
        )


def test_each_byte_over_the_limit_counts_not_characters() -> None:
    limits = Limits(max_payload_bytes=4)
    assert decode_payload("4€".encode(), 4, limits=limits) == [Packet(T.MESSAGE, "€")]
    with pytest.raises(LimitExceeded):
        decode_payload("4€€".encode(), 4, limits=limits)


# -- JSONP ---------------------------------------------------------------------------


def test_jsonp_response_matches_the_js_server() -> None:
    assert encode_jsonp('7:4line\nx7:4q"uote', "0") == '___eio[0]("7:4line\\nx7:4q\\"uote");'


def test_jsonp_index_keeps_digits_only_and_escapes_line_separators() -> None:
    assert encode_jsonp("4\u2028\u2029", "1);alert(2") == '___eio[12]("4\\u2028\\u2029");'


def test_jsonp_post_bodies() -> None:
    assert decode_jsonp_post(b"d=4hello") == "4hello"
    assert decode_jsonp_post(b"d=4a%5Cnb%5C%5Cnc") == "4a\nb\\nc"
    assert decode_jsonp_post(b"4a\\nb", form=False) == "4a\nb"
    with pytest.raises(DecodeError):
        decode_jsonp_post(b"x=1")
    with pytest.raises(DecodeError):
        decode_jsonp_post(b"d=\xff")
