"""Fuzz the Engine.IO payload decoders (polling bodies, revisions 4 and 3, JSONP).

Input: a mode byte, then the body (see fuzzlib.py).

Mode bits 0-3 pick the entry point (values 11-15 wrap around):
   0  decode_payload(body, 4)                     (no Content-Type)
   1  decode_payload(body, 4, "text/plain;charset=UTF-8")
   2  decode_payload(body, 4, "application/octet-stream")   (always rejected)
   3  decode_payload(body, 3)
   4  decode_payload(body, 3, "application/octet-stream")
   5  decode_payload(body, 3, " Application/Octet-Stream ; x=y")
   6  decode_payload_v4(text)                     (str; invalid UTF-8 as lone surrogates)
   7  decode_payload_v3(text)
   8  decode_payload_v3_binary(body)
   9  decode_jsonp_post(body, form=True), then decode_payload_v4/v3 of the result
  10  decode_jsonp_post(body, form=False), then decode_payload_v4/v3 of the result
Mode bit 4: small Limits (256-byte payloads, 8 packets) instead of the defaults.
Mode bit 5: revision for the payload inside a JSONP body (0: 4, 1: 3).

Invariants:
  * every decoder returns or raises ``RemoteProtocolError``, deterministically;
  * decoded packet lists respect the limits and hold well-formed packets;
  * ``decode_payload`` (bytes, within the size limit) gives the same packets or
    error as the format's own decoder on the UTF-8 text (or the binary body);
  * a decoded payload re-encodes (text form, and for v3 also the binary "XHR2"
    form) to a body that decodes to the same packets.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import fuzzlib
from fuzzlib import Failure, attempt, check, check_same_outcome, same

with fuzzlib.instrumented(__name__):
    from socketio_proto.engineio.packet import EngineRevision, Packet, PacketType
    from socketio_proto.engineio.payload import (
        decode_jsonp_post,
        decode_payload,
        decode_payload_v3,
        decode_payload_v3_binary,
        decode_payload_v4,
        encode_payload,
        encode_payload_v3,
        encode_payload_v3_binary,
        encode_payload_v4,
    )
    from socketio_proto.limits import DEFAULT_LIMITS, Limits

SMALL_LIMITS = Limits(max_payload_bytes=256, max_packets_per_payload=8)
# Re-encoding may grow a body (base64 padding, v3 length prefixes): round trips
# are decoded without limits getting in the way.
HUGE_LIMITS = Limits(max_payload_bytes=2**62, max_packets_per_payload=2**62)

OCTET_STREAM = "application/octet-stream"
DECODE_PAYLOAD_MODES: dict[int, tuple[EngineRevision, str | None]] = {
    0: (4, None),
    1: (4, "text/plain;charset=UTF-8"),
    2: (4, OCTET_STREAM),
    3: (3, None),
    4: (3, OCTET_STREAM),
    5: (3, " Application/Octet-Stream ; x=y"),
}
MODE_COUNT = 11


def _utf8_clean(packets: Sequence[Packet]) -> bool:
    """Whether every text packet can be sent as UTF-8 (no lone surrogates)."""
    for packet in packets:
        if isinstance(packet.data, str):
            try:
                packet.data.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


def _check_round_trip(
    packets: list[Packet],
    description: str,
    decode: Callable[..., list[Packet]],
    encoded: str | bytes,
    **kwargs: Any,
) -> None:
    """``decode(encoded, **kwargs)`` must give back ``packets``."""
    again = attempt(decode, encoded, **kwargs)
    check(
        not isinstance(again, Failure) and same(packets, again),
        "%s: %r re-encoded as %r, which decodes to %r",
        description,
        packets,
        encoded,
        again,
    )


def check_packets(packets: object, revision: EngineRevision, limits: Limits) -> None:
    check(isinstance(packets, list), "not a list: %r", packets)
    assert isinstance(packets, list)
    check(
        len(packets) <= limits.max_packets_per_payload,
        "%d packets > limit %d",
        len(packets),
        limits.max_packets_per_payload,
    )
    for packet in packets:
        check(isinstance(packet, Packet), "not a Packet: %r", packet)
        check(type(packet.type) is PacketType, "bad packet type %r", packet.type)
        check(isinstance(packet.data, str | bytes), "bad packet data %r", packet.data)
        if revision == 4 and packet.is_binary:
            check(packet.type is PacketType.MESSAGE, "v4 binary %s packet", packet.type.name)


def round_trip_v4(packets: list[Packet]) -> None:
    text = encode_payload_v4(packets)
    _check_round_trip(packets, "v4 text", decode_payload_v4, text, limits=HUGE_LIMITS)
    if _utf8_clean(packets):
        body, content_type = encode_payload(packets, 4)
        assert isinstance(body, str)
        _check_round_trip(
            packets,
            "v4 body",
            decode_payload,
            body.encode("utf-8"),
            revision=4,
            content_type=content_type,
            limits=HUGE_LIMITS,
        )


def round_trip_v3(packets: list[Packet]) -> None:
    text = encode_payload_v3(packets)
    _check_round_trip(packets, "v3 text", decode_payload_v3, text, limits=HUGE_LIMITS)
    if not _utf8_clean(packets):
        return
    binary = encode_payload_v3_binary(packets)
    _check_round_trip(packets, "v3 binary", decode_payload_v3_binary, binary, limits=HUGE_LIMITS)
    for supports_binary in (False, True):
        body, content_type = encode_payload(packets, 3, supports_binary=supports_binary)
        _check_round_trip(
            packets,
            f"v3 body (supports_binary={supports_binary})",
            decode_payload,
            body.encode("utf-8") if isinstance(body, str) else body,
            revision=3,
            content_type=content_type,
            limits=HUGE_LIMITS,
        )


def decode_str_payload(text: str, revision: EngineRevision, limits: Limits) -> None:
    """decode_payload_v4 / decode_payload_v3 on a ``str`` body, with all invariants."""
    decode = decode_payload_v4 if revision == 4 else decode_payload_v3
    packets = attempt(decode, text, limits)
    check_same_outcome(packets, attempt(decode, text, limits), f"decode_payload_v{revision}")
    if isinstance(packets, Failure):
        return
    check_packets(packets, revision, limits)
    if revision == 4:
        round_trip_v4(packets)
    else:
        round_trip_v3(packets)


def check_same_as_direct(
    result: object,
    body: bytes,
    revision: EngineRevision,
    content_type: str | None,
    limits: Limits,
) -> None:
    """``decode_payload`` within the size limit = the format's own decoder on the body."""
    if len(body) > limits.max_payload_bytes:
        return
    if content_type is not None and "octet-stream" in content_type.lower():
        if revision == 3:
            direct = attempt(decode_payload_v3_binary, body, limits)
            check_same_outcome(result, direct, "decode_payload vs decode_payload_v3_binary")
        return
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return
    decode = decode_payload_v4 if revision == 4 else decode_payload_v3
    direct = attempt(decode, text, limits)
    check_same_outcome(result, direct, f"decode_payload vs decode_payload_v{revision}")


def TestOneInput(data: bytes) -> None:
    mode, body = fuzzlib.split_input(data)
    which = (mode & 15) % MODE_COUNT
    limits = SMALL_LIMITS if mode & 16 else DEFAULT_LIMITS
    inner_revision: EngineRevision = 3 if mode & 32 else 4

    if which in DECODE_PAYLOAD_MODES:
        revision, content_type = DECODE_PAYLOAD_MODES[which]
        packets = attempt(decode_payload, body, revision, content_type=content_type, limits=limits)
        check_same_outcome(
            packets,
            attempt(decode_payload, body, revision, content_type=content_type, limits=limits),
            "decode_payload",
        )
        check_same_as_direct(packets, body, revision, content_type, limits)
        if isinstance(packets, Failure):
            return
        check(len(body) <= limits.max_payload_bytes, "body over max_payload_bytes accepted")
        check(not (revision == 4 and content_type == OCTET_STREAM), "v4 octet-stream body accepted")
        check_packets(packets, revision, limits)
        if revision == 4:
            round_trip_v4(packets)
        else:
            round_trip_v3(packets)
    elif which in (6, 7):
        decode_str_payload(fuzzlib.text(body), 4 if which == 6 else 3, limits)
    elif which == 8:
        packets = attempt(decode_payload_v3_binary, body, limits)
        check_same_outcome(
            packets, attempt(decode_payload_v3_binary, body, limits), "decode_payload_v3_binary"
        )
        if isinstance(packets, Failure):
            return
        check_packets(packets, 3, limits)
        round_trip_v3(packets)
    else:
        form = which == 9
        payload = attempt(decode_jsonp_post, body, form=form)
        check_same_outcome(
            payload, attempt(decode_jsonp_post, body, form=form), "decode_jsonp_post"
        )
        if isinstance(payload, Failure):
            return
        check(isinstance(payload, str), "JSONP payload is not text: %r", payload)
        if not form:
            # Unescaping only ever shortens the text; without "\n" it is the identity.
            original = body.decode("utf-8")
            check(len(payload) <= len(original), "JSONP unescape grew %r", original)
            if "\\n" not in original:
                check(payload == original, "JSONP body %r changed to %r", original, payload)
        decode_str_payload(payload, inner_revision, limits)


if __name__ == "__main__":
    fuzzlib.main(TestOneInput)
    sys.exit(0)
