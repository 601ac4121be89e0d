"""Fuzz the Socket.IO text parser: ``Decoder.receive`` over a stream of messages.

Input: a mode byte, then the messages (see fuzzlib.py): the body is split on
``0xff``; a chunk starting with ``0x00`` is a binary message (the rest of the
chunk), any other chunk a text message (UTF-8, invalid bytes as lone surrogates).
At most 64 messages are used.

Mode bits:
  bit 0: revision -- 0: Socket.IO 5, 1: Socket.IO 4
  bit 1: JSON codec -- 0: StdlibJsonCodec, 1: OrjsonCodec
  bits 2-3: Limits.max_attachments - 1 (so 1..4)
  bit 4: Limits.max_ack_id_digits 3 instead of 15
  bit 5: Limits.max_json_depth 4 instead of 32

Invariants:
  * ``receive`` returns a Packet or None, or raises ``RemoteProtocolError``; after
    an error nothing is left half-reassembled;
  * the same message sequence fed to a fresh decoder gives the same outcomes;
  * ``decode`` on a fresh decoder agrees with ``receive`` on a fresh decoder;
  * returned packets are well-formed (never BINARY_*, namespace starts with "/"
    and has no ",", ack id within the limit, payload valid for the type, JSON
    depth within the limit);
  * a returned packet re-encodes (``Encoder``) to messages that decode to the same
    packet (with non-finite floats becoming null, as in JSON.stringify).
"""

from __future__ import annotations

import sys

import fuzzlib
from fuzzlib import Failure, attempt, check, check_same_outcome, json_depth, same

with fuzzlib.instrumented(__name__):
    from socketio_proto.limits import Limits
    from socketio_proto.serialization import JsonCodec, OrjsonCodec, StdlibJsonCodec
    from socketio_proto.socketio.packet import Packet, PacketType, SocketIORevision, payload_error
    from socketio_proto.socketio.parser import Decoder, Encoder

MAX_MESSAGES = 64
DECODE_CODECS: tuple[JsonCodec, JsonCodec] = (StdlibJsonCodec(), OrjsonCodec())
# The decoder accepts integers beyond +-2**53 (it cannot know what the app wants);
# re-encoding them needs the codec's opt-in.
ENCODE_CODECS: tuple[JsonCodec, JsonCodec] = (
    StdlibJsonCodec(allow_unsafe_integers=True),
    OrjsonCodec(allow_unsafe_integers=True),
)
HUGE_LIMITS = Limits(max_attachments=2**62, max_ack_id_digits=2**62, max_json_depth=2**62)
DELIVERED_TYPES = frozenset(
    {
        PacketType.CONNECT,
        PacketType.DISCONNECT,
        PacketType.EVENT,
        PacketType.ACK,
        PacketType.CONNECT_ERROR,
    }
)


def check_packet(packet: object, revision: SocketIORevision, limits: Limits) -> None:
    check(isinstance(packet, Packet), "not a Packet: %r", packet)
    assert isinstance(packet, Packet)
    check(packet.type in DELIVERED_TYPES, "delivered a %r packet", packet.type)
    check(
        isinstance(packet.namespace, str)
        and packet.namespace.startswith("/")
        and "," not in packet.namespace,
        "bad namespace %r",
        packet.namespace,
    )
    if packet.id is not None:
        check(type(packet.id) is int and packet.id >= 0, "bad ack id %r", packet.id)
        check(
            len(str(packet.id)) <= limits.max_ack_id_digits,
            "ack id %r over the limit",
            packet.id,
        )
    problem = payload_error(packet.type, packet.data, revision)
    check(problem is None, "delivered an invalid payload (%s): %r", problem, packet)
    # Attachments (bytes) count as leaves: the placeholder dicts they replaced were
    # one level deeper, so this bound is not tight.
    check(
        json_depth(packet.data) <= limits.max_json_depth,
        "JSON depth over the limit: %r",
        packet,
    )


def round_trip(packet: Packet, revision: SocketIORevision, codec_index: int) -> None:
    encoder = Encoder(json=ENCODE_CODECS[codec_index], revision=revision)
    messages = encoder.encode(packet)
    decoder = Decoder(json=DECODE_CODECS[codec_index], revision=revision, limits=HUGE_LIMITS)
    results = [attempt(decoder.receive, message) for message in messages]
    *partial, last = results
    check(
        all(result is None for result in partial)
        and isinstance(last, Packet)
        and same(packet, last, json_lossy=True, big_int_as_float=codec_index == 1),
        "%r re-encoded as %r, which decodes to %r",
        packet,
        messages,
        results,
    )


def TestOneInput(data: bytes) -> None:
    mode, body = fuzzlib.split_input(data)
    revision: SocketIORevision = 4 if mode & 1 else 5
    codec_index = 1 if mode & 2 else 0
    limits = Limits(
        max_attachments=1 + ((mode >> 2) & 3),
        max_ack_id_digits=3 if mode & 16 else 15,
        max_json_depth=4 if mode & 32 else 32,
    )
    messages = list(fuzzlib.iter_messages(body))[:MAX_MESSAGES]

    def new_decoder() -> Decoder:
        return Decoder(json=DECODE_CODECS[codec_index], revision=revision, limits=limits)

    decoder = new_decoder()
    outcomes: list[object] = []
    for message in messages:
        result = attempt(decoder.receive, message)
        outcomes.append(result)
        waiting = decoder.awaiting_attachments
        check(0 <= waiting <= limits.max_attachments, "awaiting %d attachments", waiting)
        if isinstance(result, Failure):
            check(waiting == 0, "%d attachments still awaited after %r", waiting, result)
        elif result is None:
            check(waiting > 0, "receive returned None but awaits nothing")
        else:
            check(waiting == 0, "returned %r but still awaits %d", result, waiting)
            check_packet(result, revision, limits)
            round_trip(result, revision, codec_index)

    replay = new_decoder()
    for message, outcome in zip(messages, outcomes, strict=True):
        check_same_outcome(outcome, attempt(replay.receive, message), "Decoder.receive")

    # decode() on a fresh decoder agrees with receive() on a fresh decoder.
    for message in messages:
        if not isinstance(message, str):
            continue
        received = attempt(new_decoder().receive, message)
        decoded = attempt(new_decoder().decode, message)
        if received is None:
            check(isinstance(decoded, Failure), "decode(%r) gave %r", message, decoded)
        else:
            check_same_outcome(received, decoded, "decode() vs receive()")


if __name__ == "__main__":
    fuzzlib.main(TestOneInput)
    sys.exit(0)
