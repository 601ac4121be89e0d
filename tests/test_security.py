"""Regression tests for the parsing-related attacks of protocol.md section 4.

Each test is named after the advisory it answers.  Session-level ones
(``transport=__proto__``, origin checks, pong floods...) live with the
Engine.IO session tests.
"""

from __future__ import annotations

import tracemalloc

import pytest

from socketio_proto import DecodeError, LimitExceeded, RemoteProtocolError
from socketio_proto.engineio import Packet as EnginePacket
from socketio_proto.engineio import PacketType as EngineType
from socketio_proto.engineio import decode_payload, decode_payload_v3, decode_payload_v3_binary
from socketio_proto.socketio import Decoder, Packet, PacketType


def test_cve_2020_36048_oversized_polling_body_is_refused_before_parsing() -> None:
    body = b"4" + b"x" * 1_000_000  # one byte over the 1 MB default
    with pytest.raises(LimitExceeded) as info:
        decode_payload(body, 4)
    assert info.value.limit == "max_payload_bytes"


def test_cve_2020_36049_huge_digit_runs_cost_no_big_allocations() -> None:
    digits = "2" * 900_000
    tracemalloc.start()
    try:
        with pytest.raises(LimitExceeded):
            Decoder().receive("2" + digits + '["x"]')  # an ack id of 900k digits
        with pytest.raises(DecodeError):
            decode_payload_v3("99999991:4" + digits)  # length prefix overrunning the body
        with pytest.raises(DecodeError):
            decode_payload_v3_binary(b"\x00" + b"\x09" * 900_000 + b"\xff")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Slicing the input once is fine; building it char by char or as a big int is not.
    assert peak < 4 * len(digits)


def test_cve_2022_2421_placeholder_num_must_index_an_attachment() -> None:
    for num in ('"splice"', '"__proto__"', "1", "-1", "1e0", "true"):
        decoder = Decoder()
        decoder.receive(f'51-["hello",{{"_placeholder":true,"num":{num}}}]')
        with pytest.raises(DecodeError, match="placeholder"):
            decoder.receive(b"\x01")


def test_cve_2022_2421_text_in_the_middle_of_reassembly_is_refused() -> None:
    decoder = Decoder()
    decoder.receive('52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
    decoder.receive(b"\x01")
    with pytest.raises(DecodeError):
        decoder.receive('2["y"]')


def test_cve_2023_32695_event_name_must_be_a_string_or_number() -> None:
    for wire in (
        '2[{"toString":"foo"}]',
        '2[["x"]]',
        "2[null]",
        "2[true]",
        '51-[{"_placeholder":true,"num":0}]',
    ):
        with pytest.raises(DecodeError):
            Decoder().receive(wire)


def test_cve_2024_38355_an_event_named_error_is_just_an_event() -> None:
    assert Decoder().receive('2["error","x"]') == Packet(PacketType.EVENT, data=["error", "x"])


def test_cve_2026_33151_attachment_count_is_capped_before_buffering() -> None:
    decoder = Decoder()
    with pytest.raises(LimitExceeded) as info:
        decoder.receive('5999999-["x",{"_placeholder":true,"num":0}]')
    assert info.value.limit == "max_attachments"
    assert decoder.awaiting_attachments == 0
    with pytest.raises(DecodeError):  # nothing is being reassembled: binary is refused
        decoder.receive(b"\x00" * 10)


def test_zero_attachments_is_refused_like_socket_io_parser_4_2_7() -> None:
    with pytest.raises(DecodeError):
        Decoder().receive('50-["x"]')


def test_reassembly_state_is_freed_on_reset() -> None:
    # python-socketio <= 5.16.1 kept reassembly state forever after a disconnect.
    decoder = Decoder()
    decoder.receive('52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
    decoder.receive(b"\x01" * 1000)
    decoder.reset()
    assert decoder.awaiting_attachments == 0
    assert decoder.receive('2["fresh"]') == Packet(PacketType.EVENT, data=["fresh"])


def test_payload_with_thousands_of_packets_is_capped() -> None:
    # python-engineio 3.10 hardening, with a generous default (JS clients batch a lot).
    body = "\x1e".join(["2"] * 10_001).encode()
    with pytest.raises(LimitExceeded) as info:
        decode_payload(body, 4)
    assert info.value.limit == "max_packets_per_payload"
    assert len(decode_payload("\x1e".join(["6"] * 10_000).encode(), 4)) == 10_000


def test_integer_with_thousands_of_digits_is_a_decode_error_not_a_crash() -> None:
    with pytest.raises(DecodeError):
        Decoder().receive('2["x",' + "9" * 5000 + "]")


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(RemoteProtocolError):
        Decoder().receive('2["x",' + "[" * 200 + "]" * 200 + "]")
    with pytest.raises(RemoteProtocolError):
        Decoder().receive('2["x",' + "[" * 500_000 + "]" * 500_000 + "]")


def test_every_failure_above_is_a_remote_protocol_error() -> None:
    # The contract callers rely on: one except clause for anything a peer sends.
    assert issubclass(DecodeError, RemoteProtocolError)
    assert issubclass(LimitExceeded, RemoteProtocolError)
    packets = decode_payload(b"6", 4)
    assert packets == [EnginePacket(EngineType.NOOP)]
