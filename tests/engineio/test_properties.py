"""Property-based tests of the Engine.IO codecs (protocol.md 1.2-1.4, 1.14, 4).

Round trips for every packet form and payload format, "arbitrary input either
decodes or raises RemoteProtocolError", whole-payload vs packet-by-packet
decoding, and the limits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import partial
from typing import TypeVar
from urllib.parse import urlencode

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from socketio_proto import DecodeError, EncodeError, LimitExceeded, Limits, RemoteProtocolError
from socketio_proto.engineio import (
    Packet,
    PacketType,
    decode_jsonp_post,
    decode_packet,
    decode_payload,
    decode_payload_v3,
    decode_payload_v3_binary,
    decode_payload_v4,
    encode_jsonp,
    encode_packet,
    encode_payload,
    encode_payload_v3,
    encode_payload_v3_binary,
    encode_payload_v4,
)
from socketio_proto.engineio.packet import EngineRevision, b64decode_lenient
from socketio_proto.testing import strategies as sps

T = TypeVar("T")

REVISIONS: list[EngineRevision] = [3, 4]
SEPARATOR = "\x1e"
TEXT_TYPE = "text/plain; charset=UTF-8"
BINARY_TYPE = "application/octet-stream"
CONTENT_TYPES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            TEXT_TYPE,
            "text/plain",
            BINARY_TYPE,
            "Application/Octet-Stream; charset=binary",
            " application/octet-stream ;",
            "application/x-www-form-urlencoded",
            "",
            ";",
        ]
    ),
    st.text(max_size=30),
)


def decode_or_reject(decode: Callable[[], T]) -> T | None:
    """Run ``decode``; a RemoteProtocolError is an accepted outcome (None), anything else fails."""
    try:
        result = decode()
    except RemoteProtocolError as exc:
        event(f"rejected: {type(exc).__name__}")
        return None
    event("decoded")
    return result


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def check_packets(packets: list[Packet], revision: EngineRevision) -> None:
    """What every successful decode must return: well-typed packets of ``revision``."""
    assert isinstance(packets, list)
    for packet in packets:
        check_packet(packet, revision)


def check_packet(packet: Packet, revision: EngineRevision) -> None:
    assert isinstance(packet, Packet)
    assert isinstance(packet.type, PacketType)
    assert type(packet.data) in (str, bytes)
    if revision == 4 and isinstance(packet.data, bytes):
        assert packet.type is PacketType.MESSAGE
    if isinstance(packet.data, str):
        packet.data.encode("utf-8")  # no lone surrogates sneak in


def message_text() -> st.SearchStrategy[str]:
    return sps.wire_text(exclude=SEPARATOR)


def valid_payload_text(revision: EngineRevision) -> st.SearchStrategy[str]:
    if revision == 4:
        return sps.engineio_payloads(4).map(encode_payload_v4)
    return sps.engineio_payloads(3, min_size=0).map(encode_payload_v3)


def valid_payload_bytes(revision: EngineRevision) -> st.SearchStrategy[tuple[bytes, str]]:
    """(body, content type) pairs as ``encode_payload`` produces them."""

    def encode(packets: list[Packet], supports_binary: bool) -> tuple[bytes, str]:
        body, content_type = encode_payload(packets, revision, supports_binary=supports_binary)
        return (body.encode("utf-8") if isinstance(body, str) else body), content_type

    return st.builds(encode, sps.engineio_payloads(revision, min_size=0), st.booleans())


# -- 1. round trips ------------------------------------------------------------------


@pytest.mark.parametrize("revision", REVISIONS)
@given(data=st.data())
def test_packet_round_trip(revision: EngineRevision, data: st.DataObject) -> None:
    packet = data.draw(sps.engineio_packets(revision))
    frame = encode_packet(packet, revision)
    text = encode_packet(packet, revision, base64=True)
    assert isinstance(text, str)
    assert decode_packet(frame, revision) == packet
    assert decode_packet(text, revision) == packet
    if isinstance(packet.data, str):
        assert frame == text == str(int(packet.type)) + packet.data
    elif revision == 4:
        assert frame == packet.data
        assert text.startswith("b")
    else:
        assert frame == bytes([packet.type]) + packet.data
        assert text.startswith("b" + str(int(packet.type)))


@pytest.mark.parametrize("revision", REVISIONS)
@given(packet_type=st.sampled_from(list(PacketType)), text=sps.wire_text())
def test_text_packet_round_trip_any_text(
    revision: EngineRevision, packet_type: PacketType, text: str
) -> None:
    packet = Packet(packet_type, text)
    assert encode_packet(packet, revision) == str(int(packet_type)) + text
    assert decode_packet(str(int(packet_type)) + text, revision) == packet


@given(
    packet_type=st.sampled_from([t for t in PacketType if t is not PacketType.MESSAGE]),
    data=st.binary(max_size=10),
    base64=st.booleans(),
)
def test_v4_binary_only_in_message(packet_type: PacketType, data: bytes, base64: bool) -> None:
    with pytest.raises(EncodeError):
        encode_packet(Packet(packet_type, data), 4, base64=base64)


@given(data=st.binary(max_size=64), strip=st.integers(0, 2))
def test_base64_padding_is_optional(data: bytes, strip: int) -> None:
    text = encode_packet(Packet(PacketType.MESSAGE, data), 4, base64=True)
    assert isinstance(text, str)
    encoded = text[1:]
    unpadded = encoded.rstrip("=")
    variant = unpadded + "=" * max(0, len(encoded) - len(unpadded) - strip)
    assert b64decode_lenient(variant) == data
    assert decode_packet("b" + variant, 4) == Packet(PacketType.MESSAGE, data)


@given(packets=sps.engineio_payloads(4))
def test_payload_v4_round_trip(packets: list[Packet]) -> None:
    body = encode_payload_v4(packets)
    assert body.count(SEPARATOR) == len(packets) - 1
    assert decode_payload_v4(body) == packets


@given(packet_type=st.sampled_from(list(PacketType)), before=message_text(), after=message_text())
def test_payload_v4_rejects_separator_in_text(
    packet_type: PacketType, before: str, after: str
) -> None:
    with pytest.raises(EncodeError):
        encode_payload_v4([Packet(packet_type, before + SEPARATOR + after)])


@given(packets=sps.engineio_payloads(3, min_size=0))
def test_payload_v3_round_trip(packets: list[Packet]) -> None:
    body = encode_payload_v3(packets)
    assert decode_payload_v3(body) == packets
    if not packets:
        assert body == "0:"


@given(packet_type=st.sampled_from(list(PacketType)), text=sps.wire_text(max_size=40))
def test_payload_v3_length_counts_utf16_units(packet_type: PacketType, text: str) -> None:
    encoded = str(int(packet_type)) + text
    body = encode_payload_v3([Packet(packet_type, text)])
    assert body == f"{utf16_length(encoded)}:{encoded}"
    assert decode_payload_v3(body) == [Packet(packet_type, text)]


@given(packets=sps.engineio_payloads(3, min_size=0))
def test_payload_v3_binary_round_trip(packets: list[Packet]) -> None:
    body = encode_payload_v3_binary(packets)
    assert decode_payload_v3_binary(body) == packets
    if not packets:
        assert body == b""


@given(packet_type=st.sampled_from(list(PacketType)), text=sps.wire_text(max_size=40))
def test_payload_v3_binary_layout(packet_type: PacketType, text: str) -> None:
    raw = (str(int(packet_type)) + text).encode("utf-8")
    digits = bytes(int(d) for d in str(len(raw)))
    assert encode_payload_v3_binary([Packet(packet_type, text)]) == b"\x00" + digits + b"\xff" + raw


@given(packet_type=st.sampled_from(list(PacketType)), data=st.binary(max_size=300))
def test_payload_v3_binary_layout_binary_entry(packet_type: PacketType, data: bytes) -> None:
    digits = bytes(int(d) for d in str(len(data) + 1))
    body = encode_payload_v3_binary([Packet(packet_type, data)])
    assert body == b"\x01" + digits + b"\xff" + bytes([packet_type]) + data


@pytest.mark.parametrize("revision", REVISIONS)
@settings(max_examples=100)
@given(data=st.data(), supports_binary=st.booleans())
def test_payload_dispatch_round_trip(
    revision: EngineRevision, data: st.DataObject, supports_binary: bool
) -> None:
    packets = data.draw(sps.engineio_payloads(revision, min_size=0))
    body, content_type = encode_payload(packets, revision, supports_binary=supports_binary)
    binary = revision == 3 and supports_binary and any(p.is_binary for p in packets)
    if binary:
        assert content_type == BINARY_TYPE
        assert body == encode_payload_v3_binary(packets)
    else:
        assert content_type == TEXT_TYPE
        assert isinstance(body, str)
        assert body == (encode_payload_v4 if revision == 4 else encode_payload_v3)(packets)
    raw = body.encode("utf-8") if isinstance(body, str) else body
    assert decode_payload(raw, revision, content_type=content_type) == packets
    if not binary:
        assert decode_payload(raw, revision) == packets


@given(payload=sps.wire_text(max_size=60), index=st.text(max_size=8))
def test_jsonp_response_parses_back(payload: str, index: str) -> None:
    wrapped = encode_jsonp(payload, index)
    match = re.fullmatch(r"___eio\[([0-9]*)\]\((.*)\);", wrapped, re.DOTALL)
    assert match is not None
    assert match.group(1) == "".join(c for c in index if c in "0123456789")
    assert json.loads(match.group(2)) == payload
    # Script-safe: no raw JS line terminators inside the string literal.
    assert "\u2028" not in wrapped
    assert "\u2029" not in wrapped
    assert "\n" not in wrapped


@pytest.mark.parametrize("revision", REVISIONS)
@settings(max_examples=100)
@given(data=st.data(), index=st.integers(0, 10**6))
def test_jsonp_carries_payloads(revision: EngineRevision, data: st.DataObject, index: int) -> None:
    body = data.draw(valid_payload_text(revision))
    match = re.fullmatch(r"___eio\[(\d+)\]\((.*)\);", encode_jsonp(body, str(index)), re.DOTALL)
    assert match is not None
    assert int(match.group(1)) == index
    decode = decode_payload_v4 if revision == 4 else decode_payload_v3
    assert decode(json.loads(match.group(2))) == decode(body)


def jsonp_client_escape(payload: str) -> str:
    """What the old engine.io-client JSONP transport did before posting."""
    return payload.replace("\\n", "\\\n").replace("\n", "\\n")


@given(
    payload=sps.wire_text(max_size=60),
    other=st.dictionaries(st.sampled_from(["a", "j", "t", "x y"]), st.text(max_size=5)),
    d_first=st.booleans(),
)
def test_jsonp_post_form_round_trip(payload: str, other: dict[str, str], d_first: bool) -> None:
    # A backslash right before a newline is ambiguous once escaped (JS has the same quirk).
    assume("\\\n" not in payload)
    fields = [("d", jsonp_client_escape(payload)), *other.items()]
    if not d_first:
        fields.reverse()
    body = urlencode(fields).encode("ascii")
    assert decode_jsonp_post(body) == payload
    raw = jsonp_client_escape(payload).encode("utf-8")
    assert decode_jsonp_post(raw, form=False) == payload


@given(fields=st.dictionaries(st.text(max_size=4).filter(lambda k: k != "d"), st.text(max_size=4)))
def test_jsonp_post_without_d_field(fields: dict[str, str]) -> None:
    with pytest.raises(DecodeError):
        decode_jsonp_post(urlencode(fields).encode("ascii"))


@pytest.mark.parametrize("revision", REVISIONS)
@settings(max_examples=100)
@given(data=st.data())
def test_jsonp_post_carries_payloads(revision: EngineRevision, data: st.DataObject) -> None:
    body = data.draw(valid_payload_text(revision))
    assume("\\\n" not in body)
    posted = urlencode({"d": jsonp_client_escape(body)}).encode("ascii")
    decode = decode_payload_v4 if revision == 4 else decode_payload_v3
    assert decode(decode_jsonp_post(posted)) == decode(body)


# -- 2. arbitrary input decodes or raises RemoteProtocolError ------------------------


def near_valid_packet_text(revision: EngineRevision) -> st.SearchStrategy[str]:
    valid = sps.engineio_packets(revision).map(lambda p: encode_packet(p, revision, base64=True))
    return sps.mutated_text(valid.map(str))


def binary_frame(packet: Packet, revision: EngineRevision) -> bytes:
    frame = encode_packet(packet, revision)
    assert isinstance(frame, bytes)
    return frame


def near_valid_packet_bytes(revision: EngineRevision) -> st.SearchStrategy[bytes]:
    frames = sps.engineio_packets(revision).filter(lambda p: p.is_binary)
    return sps.mutated_bytes(frames.map(lambda p: binary_frame(p, revision)))


@pytest.mark.parametrize("revision", REVISIONS)
@given(data=st.data())
def test_decode_packet_text_fuzz(revision: EngineRevision, data: st.DataObject) -> None:
    text = data.draw(st.one_of(st.text(max_size=40), near_valid_packet_text(revision)))
    packet = decode_or_reject(lambda: decode_packet(text, revision))
    if packet is not None:
        check_packet(packet, revision)
        assert decode_packet(encode_packet(packet, revision, base64=True), revision) == packet


@pytest.mark.parametrize("revision", REVISIONS)
@given(data=st.data())
def test_decode_packet_bytes_fuzz(revision: EngineRevision, data: st.DataObject) -> None:
    frame = data.draw(st.one_of(st.binary(max_size=40), near_valid_packet_bytes(revision)))
    packet = decode_or_reject(lambda: decode_packet(frame, revision))
    if packet is not None:
        check_packet(packet, revision)
        assert packet.is_binary
        assert encode_packet(packet, revision) == frame


@given(body=st.one_of(st.text(max_size=60), sps.mutated_text(valid_payload_text(4))))
def test_decode_payload_v4_fuzz(body: str) -> None:
    packets = decode_or_reject(lambda: decode_payload_v4(body))
    if packets is not None:
        check_packets(packets, 4)
        assert len(packets) == body.count(SEPARATOR) + 1
        assert decode_payload_v4(encode_payload_v4(packets)) == packets


@given(body=st.one_of(st.text(max_size=60), sps.mutated_text(valid_payload_text(3))))
def test_decode_payload_v3_fuzz(body: str) -> None:
    packets = decode_or_reject(lambda: decode_payload_v3(body))
    if packets is not None:
        check_packets(packets, 3)
        assert decode_payload_v3(encode_payload_v3(packets)) == packets


@given(
    body=st.text(
        st.one_of(st.sampled_from("0123456789:4b"), st.characters(categories=["Cs"])),
        max_size=12,
    )
)
def test_decode_payload_v3_fuzz_lone_surrogates(body: str) -> None:
    """``decode_payload_v3`` takes ``str``, which may hold lone surrogates."""
    packets = decode_or_reject(lambda: decode_payload_v3(body))
    if packets is not None:
        check_packets(packets, 3)


@given(
    body=st.one_of(
        st.binary(max_size=60),
        sps.mutated_bytes(valid_payload_bytes(3).map(lambda pair: pair[0])),
    )
)
def test_decode_payload_v3_binary_fuzz(body: bytes) -> None:
    packets = decode_or_reject(lambda: decode_payload_v3_binary(body))
    if packets is not None:
        check_packets(packets, 3)
        assert decode_payload_v3_binary(encode_payload_v3_binary(packets)) == packets


@pytest.mark.parametrize("revision", REVISIONS)
@settings(max_examples=100)
@given(data=st.data(), content_type=CONTENT_TYPES)
def test_decode_payload_fuzz(
    revision: EngineRevision, data: st.DataObject, content_type: str | None
) -> None:
    body = data.draw(
        st.one_of(
            st.binary(max_size=60),
            sps.mutated_bytes(valid_payload_bytes(revision).map(lambda pair: pair[0])),
        )
    )
    packets = decode_or_reject(lambda: decode_payload(body, revision, content_type=content_type))
    if packets is not None:
        check_packets(packets, revision)


@given(
    body=st.one_of(
        st.binary(max_size=60),
        sps.mutated_bytes(sps.wire_text().map(lambda t: urlencode({"d": t}).encode("ascii"))),
    ),
    form=st.booleans(),
)
def test_decode_jsonp_post_fuzz(body: bytes, form: bool) -> None:
    text = decode_or_reject(lambda: decode_jsonp_post(body, form=form))
    if text is not None:
        assert isinstance(text, str)
        if not form:
            assert len(text) <= len(body)


# -- 3. whole payload vs packet by packet --------------------------------------------


@given(
    parts=st.lists(
        st.one_of(message_text(), near_valid_packet_text(4).filter(lambda t: SEPARATOR not in t)),
        min_size=1,
        max_size=6,
    )
)
def test_payload_v4_whole_equals_parts(parts: list[str]) -> None:
    whole = decode_or_reject(lambda: decode_payload_v4(SEPARATOR.join(parts)))
    singles = [decode_or_reject(partial(decode_packet, part, 4)) for part in parts]
    if any(single is None for single in singles):
        assert whole is None
    else:
        assert whole == singles


@given(batches=st.lists(sps.engineio_payloads(3, min_size=0, max_size=4), max_size=4))
def test_payload_v3_concatenation(batches: list[list[Packet]]) -> None:
    flat = [packet for batch in batches for packet in batch]
    text = "".join(encode_payload_v3(batch) for batch in batches)
    binary = b"".join(encode_payload_v3_binary(batch) for batch in batches)
    if text:
        assert decode_payload_v3(text) == flat
    assert decode_payload_v3_binary(binary) == flat
    # Each entry on its own decodes to its packet.
    assert [decode_payload_v3(encode_payload_v3([p])) for p in flat] == [[p] for p in flat]
    if flat:
        assert "".join(encode_payload_v3([p]) for p in flat) == encode_payload_v3(flat)
    assert b"".join(encode_payload_v3_binary([p]) for p in flat) == encode_payload_v3_binary(flat)


@given(packets=sps.engineio_payloads(4, max_size=6))
def test_payload_v4_equals_packets(packets: list[Packet]) -> None:
    body = encode_payload_v4(packets)
    singles = [encode_packet(p, 4, base64=True) for p in packets]
    assert body == SEPARATOR.join(str(s) for s in singles)
    assert decode_payload_v4(body) == [decode_packet(s, 4) for s in singles]


# -- 4. limits -----------------------------------------------------------------------


@pytest.mark.parametrize("revision", REVISIONS)
@given(data=st.data(), limits=sps.limits(max_value=8))
def test_decode_payload_limits(
    revision: EngineRevision, data: st.DataObject, limits: Limits
) -> None:
    packets = data.draw(sps.engineio_payloads(revision, min_size=0, max_size=12))
    body, content_type = encode_payload(packets, revision, supports_binary=data.draw(st.booleans()))
    raw = body.encode("utf-8") if isinstance(body, str) else body
    over: set[str] = set()
    if len(raw) > limits.max_payload_bytes:
        over.add("max_payload_bytes")
    if len(packets) > limits.max_packets_per_payload:
        over.add("max_packets_per_payload")
    try:
        decoded = decode_payload(raw, revision, content_type=content_type, limits=limits)
    except LimitExceeded as exc:
        event(f"refused: {exc.limit}")
        assert exc.limit in over
        assert exc.maximum == getattr(limits, exc.limit)
        assert exc.actual > exc.maximum
        if exc.limit == "max_payload_bytes":
            assert exc.actual == len(raw)
    else:
        assert not over
        assert decoded == packets


@pytest.mark.parametrize("revision", REVISIONS)
@settings(max_examples=100)
@given(data=st.data(), limits=sps.limits(max_value=8), content_type=CONTENT_TYPES)
def test_decode_payload_never_exceeds_limits(
    revision: EngineRevision, data: st.DataObject, limits: Limits, content_type: str | None
) -> None:
    body = data.draw(
        st.one_of(
            st.binary(max_size=300),
            valid_payload_bytes(revision).map(lambda pair: pair[0]),
            sps.mutated_bytes(valid_payload_bytes(revision).map(lambda pair: pair[0])),
        )
    )
    try:
        packets = decode_payload(body, revision, content_type=content_type, limits=limits)
    except LimitExceeded as exc:
        assert exc.limit in {"max_payload_bytes", "max_packets_per_payload"}
        assert exc.maximum == getattr(limits, exc.limit)
        assert exc.actual > exc.maximum
        return
    except RemoteProtocolError:
        return
    check_packets(packets, revision)
    assert len(body) <= limits.max_payload_bytes
    assert len(packets) <= limits.max_packets_per_payload


@given(count=st.integers(1, 40), limit=st.integers(1, 40), text=message_text())
def test_packet_count_limit_each_format(count: int, limit: int, text: str) -> None:
    limits = Limits(max_packets_per_payload=limit)
    packets = [Packet(PacketType.MESSAGE, text)] * count
    decoders: list[Callable[[], list[Packet]]] = [
        lambda: decode_payload_v4(encode_payload_v4(packets), limits),
        lambda: decode_payload_v3(encode_payload_v3(packets), limits),
        lambda: decode_payload_v3_binary(encode_payload_v3_binary(packets), limits),
    ]
    for decode in decoders:
        if count > limit:
            with pytest.raises(LimitExceeded) as info:
                decode()
            assert info.value.limit == "max_packets_per_payload"
            assert info.value.maximum == limit
        else:
            assert decode() == packets


# -- 5. encoders report what they cannot carry as EncodeError ------------------------


@given(
    packet_type=st.sampled_from(list(PacketType)),
    before=message_text(),
    surrogate=st.characters(categories=["Cs"]),
    binary=st.binary(max_size=4),
)
def test_binary_v3_payload_with_lone_surrogate(
    packet_type: PacketType, before: str, surrogate: str, binary: bytes
) -> None:
    """A lone surrogate cannot be written as UTF-8: that is the caller's mistake (EncodeError)."""
    packets = [Packet(packet_type, before + surrogate), Packet(PacketType.MESSAGE, binary)]
    with pytest.raises(EncodeError):
        encode_payload_v3_binary(packets)
    with pytest.raises(EncodeError):
        encode_payload(packets, 3, supports_binary=True)
