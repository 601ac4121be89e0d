"""Fuzz the msgpack Socket.IO parser: ``MsgpackDecoder.receive``.

Input: a mode byte, then one message (see fuzzlib.py).

Mode bits:
  bit 0: small Limits (1 KiB messages, 3-digit ack ids, JSON depth 4)
  bit 1: deliver the body as a text message (UTF-8, invalid bytes as lone
         surrogates) -- the msgpack parser must refuse every text message
  bit 2: split the body like the text parser's target (``0xff``-separated chunks,
         ``0x00`` prefix = binary) and feed every chunk

Invariants:
  * ``receive`` returns a Packet or raises ``RemoteProtocolError``, deterministically;
  * returned packets are well-formed (type 0..4, string namespace, ack id a
    non-negative int within the limit, payload valid for the type, depth within
    the limit);
  * a returned packet re-encodes (``MsgpackEncoder``) to one binary message that
    decodes to the same packet (type-strict, NaN-aware).
"""

from __future__ import annotations

import sys

import fuzzlib
from fuzzlib import Failure, attempt, check, check_same_outcome, json_depth, same

with fuzzlib.instrumented(__name__):
    from socketio_proto.limits import DEFAULT_LIMITS, Limits
    from socketio_proto.socketio.msgpack import MsgpackDecoder, MsgpackEncoder
    from socketio_proto.socketio.packet import Packet, PacketType, payload_error

SMALL_LIMITS = Limits(max_payload_bytes=1024, max_ack_id_digits=3, max_json_depth=4)
# A packet may grow a little when re-encoded (e.g. float32 -> float64).
HUGE_LIMITS = Limits(max_payload_bytes=2**62, max_ack_id_digits=2**62, max_json_depth=2**62)
MAX_MESSAGES = 64
ENCODER = MsgpackEncoder()
DECODERS = {limits: MsgpackDecoder(limits=limits) for limits in (SMALL_LIMITS, DEFAULT_LIMITS)}
ROUND_TRIP_DECODER = MsgpackDecoder(limits=HUGE_LIMITS)


def check_packet(packet: object, limits: Limits) -> None:
    check(isinstance(packet, Packet), "not a Packet: %r", packet)
    assert isinstance(packet, Packet)
    check(
        type(packet.type) is PacketType and packet.type <= PacketType.CONNECT_ERROR,
        "bad packet type %r",
        packet.type,
    )
    check(isinstance(packet.namespace, str), "bad namespace %r", packet.namespace)
    if packet.id is not None:
        check(type(packet.id) is int and packet.id >= 0, "bad ack id %r", packet.id)
        check(len(str(packet.id)) <= limits.max_ack_id_digits, "ack id %r too long", packet.id)
    problem = payload_error(packet.type, packet.data, 5)
    check(problem is None, "delivered an invalid payload (%s): %r", problem, packet)
    check(json_depth(packet.data) <= limits.max_json_depth, "too deep: %r", packet)


def receive(decoder: MsgpackDecoder, message: str | bytes, limits: Limits) -> None:
    packet = attempt(decoder.receive, message)
    check_same_outcome(packet, attempt(decoder.receive, message), "MsgpackDecoder.receive")
    if isinstance(packet, Failure):
        return
    check(isinstance(message, bytes), "text message accepted: %r", message)
    check_packet(packet, limits)
    assert isinstance(packet, Packet)
    encoded = ENCODER.encode(packet)
    check(len(encoded) == 1 and isinstance(encoded[0], bytes), "encoded as %r", encoded)
    again = attempt(ROUND_TRIP_DECODER.receive, encoded[0])
    check(
        isinstance(again, Packet) and same(packet, again),
        "%r re-encoded as %r, which decodes to %r",
        packet,
        encoded,
        again,
    )


def TestOneInput(data: bytes) -> None:
    mode, body = fuzzlib.split_input(data)
    limits = SMALL_LIMITS if mode & 1 else DEFAULT_LIMITS
    decoder = DECODERS[limits]
    if mode & 4:
        for message in list(fuzzlib.iter_messages(body))[:MAX_MESSAGES]:
            receive(decoder, message, limits)
    else:
        receive(decoder, fuzzlib.text(body) if mode & 2 else body, limits)


if __name__ == "__main__":
    fuzzlib.main(TestOneInput, instrument_harness=True)
    sys.exit(0)
