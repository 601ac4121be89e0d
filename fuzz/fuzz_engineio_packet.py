"""Fuzz ``socketio_proto.engineio.decode_packet`` (text and binary, revisions 4 and 3).

Input: a mode byte, then the packet (see fuzzlib.py).

Mode bits:
  bit 0: revision -- 0: Engine.IO 4, 1: Engine.IO 3
  bit 1: message kind -- 0: text (``str``, the body as UTF-8, invalid bytes as lone
         surrogates), 1: a binary WebSocket frame (``bytes``)

Invariants:
  * ``decode_packet`` returns a :class:`Packet` or raises ``RemoteProtocolError``;
  * decoding is deterministic;
  * a decoded packet is well-formed (v4 binary data only in ``message`` packets);
  * text packets (other than ``b<base64>``) and binary frames re-encode to exactly
    the input;
  * every decoded packet re-encodes, as a frame and as base64 text, to something
    that decodes to the same packet.
"""

from __future__ import annotations

import sys

import fuzzlib
from fuzzlib import Failure, attempt, check, check_same_outcome, same

with fuzzlib.instrumented(__name__):
    from socketio_proto.engineio.packet import (
        EngineRevision,
        Packet,
        PacketType,
        decode_packet,
        encode_packet,
    )


def TestOneInput(data: bytes) -> None:
    mode, body = fuzzlib.split_input(data)
    revision: EngineRevision = 3 if mode & 1 else 4
    message: str | bytes = body if mode & 2 else fuzzlib.text(body)

    packet = attempt(decode_packet, message, revision)
    check_same_outcome(packet, attempt(decode_packet, message, revision), "decode_packet")
    if isinstance(packet, Failure):
        return

    check(isinstance(packet, Packet), "not a Packet: %r", packet)
    check(type(packet.type) is PacketType, "bad packet type %r", packet.type)
    check(isinstance(packet.data, str | bytes), "bad packet data %r", packet.data)
    if revision == 4 and packet.is_binary:
        check(packet.type is PacketType.MESSAGE, "v4 binary %s packet", packet.type.name)
    if isinstance(message, bytes):
        check(packet.is_binary, "binary frame decoded to text: %r", packet)

    # Exact re-encoding where the wire form is canonical.
    if isinstance(message, bytes) or not message.startswith("b"):
        encoded = encode_packet(packet, revision)
        check(encoded == message, "re-encoded %r as %r", message, encoded)

    # Round trip through both wire forms.
    for base64 in (False, True):
        encoded = encode_packet(packet, revision, base64=base64)
        if base64:
            check(isinstance(encoded, str), "base64 encoding gave %r", encoded)
        again = attempt(decode_packet, encoded, revision)
        check(
            not isinstance(again, Failure) and same(packet, again),
            "%r re-encoded (base64=%s) as %r, which decodes to %r",
            packet,
            base64,
            encoded,
            again,
        )


if __name__ == "__main__":
    fuzzlib.main(TestOneInput)
    sys.exit(0)
