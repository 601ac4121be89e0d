"""Engine.IO packets: one packet <-> one WebSocket message or one payload entry.

Revision 4 text packets are ``<type digit><data>``; binary data only ever
belongs to ``message`` packets and travels as a raw binary frame (WebSocket) or
as ``b<base64>`` text (polling).  Revision 3 adds a type byte in front of
binary frames (``04 ...``) and a type digit after the ``b`` of base64 text
(``b4AQID``), and lets any packet type carry binary.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, Literal

from ..errors import DecodeError, EncodeError

__all__ = [
    "EngineRevision",
    "Packet",
    "PacketType",
    "b64decode_lenient",
    "decode_packet",
    "encode_packet",
    "message_packet",
]

#: An Engine.IO protocol revision (the ``EIO`` query parameter).
EngineRevision = Literal[3, 4]


class PacketType(IntEnum):
    """Engine.IO packet types (the digit that starts a text packet)."""

    OPEN = 0
    CLOSE = 1
    PING = 2
    PONG = 3
    MESSAGE = 4
    UPGRADE = 5
    NOOP = 6


@dataclass(frozen=True, slots=True)
class Packet:
    """One Engine.IO packet.

    ``data`` is text (``str``) or binary (``bytes``); a packet without data has
    ``data == ""`` (so ``Packet(PacketType.PING)`` encodes as ``"2"``).
    """

    type: PacketType
    data: str | bytes = ""

    def __init__(self, type: PacketType, data: str | bytes = "") -> None:
        # What the generated __init__ does, through the slot descriptors: a frozen
        # dataclass's object.__setattr__ calls make up half the cost of a small packet.
        _set_type(self, type)
        _set_data(self, data)

    @property
    def is_binary(self) -> bool:
        return isinstance(self.data, bytes)


_set_type, _set_data = (Packet.__dict__[name].__set__ for name in ("type", "data"))


_TYPE_BY_CHAR: Final = {str(t.value): t for t in PacketType}
_TYPE_BY_BYTE: Final = {t.value: t for t in PacketType}
_CHAR_BY_TYPE: Final = {t: str(t.value) for t in PacketType}
# A plain module global: a member lookup on the enum class is slow (EnumType.__getattr__).
_MESSAGE: Final = PacketType.MESSAGE


def message_packet(data: str | bytes) -> Packet:
    """A ``message`` packet for application data, checked at the API boundary.

    Text must be encodable as UTF-8 (no lone surrogates): refusing it here
    names the culprit, instead of failing later when a batch is written.
    """
    if isinstance(data, str):
        if not data.isascii():
            try:
                data.encode("utf-8")
            except UnicodeEncodeError:
                raise EncodeError("text messages cannot contain lone surrogates") from None
        return Packet(_MESSAGE, data)
    if isinstance(data, bytes):
        return Packet(_MESSAGE, data)
    raise EncodeError(f"messages are str or bytes, not {type(data).__name__}")


def b64decode_lenient(text: str) -> bytes:
    """Standard base64 with or without padding (JS peers accept both); anything else fails."""
    stripped = text.rstrip("=")
    if len(stripped) % 4 == 1 or len(text) - len(stripped) > 2:
        raise DecodeError("invalid base64 length")
    padded = stripped + "=" * (-len(stripped) % 4)
    try:
        return binascii.a2b_base64(padded, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise DecodeError(f"invalid base64: {exc}") from None


def b64encode(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def decode_packet(message: str | bytes, revision: EngineRevision = 4) -> Packet:
    """Decode one packet: a text packet, or a binary WebSocket frame.

    Raises :class:`~socketio_proto.DecodeError` on anything malformed.
    """
    if isinstance(message, str):
        packet_type = _TYPE_BY_CHAR.get(message[:1])
        if packet_type is not None:  # the common case, inlined
            return Packet(packet_type, message[1:])
        return _decode_text(message, revision)
    if revision == 4:
        return Packet(_MESSAGE, bytes(message))
    if not message:
        raise DecodeError("empty binary packet")
    packet_type = _TYPE_BY_BYTE.get(message[0])
    if packet_type is None:
        raise DecodeError(f"unknown packet type byte {message[0]}")
    return Packet(packet_type, bytes(message[1:]))


def _decode_text(text: str, revision: EngineRevision) -> Packet:
    if not text:
        raise DecodeError("empty packet")
    first = text[0]
    packet_type = _TYPE_BY_CHAR.get(first)
    if packet_type is not None:
        return Packet(packet_type, text[1:])
    if first != "b":
        raise DecodeError(f"unknown packet type {first!r}")
    if revision == 4:
        return Packet(PacketType.MESSAGE, b64decode_lenient(text[1:]))
    packet_type = _TYPE_BY_CHAR.get(text[1:2])
    if packet_type is None:
        raise DecodeError("base64 packet without a valid type digit")
    return Packet(packet_type, b64decode_lenient(text[2:]))


def encode_packet(
    packet: Packet, revision: EngineRevision = 4, *, base64: bool = False
) -> str | bytes:
    """Encode one packet for a WebSocket message (or, with ``base64=True``, as text).

    Text packets always encode to ``str``.  Binary packets encode to ``bytes``
    (v4: the raw data; v3: type byte + data) unless ``base64`` is set, for
    peers that cannot take binary (``b64=1``) and for polling payloads.
    """
    data = packet.data
    if isinstance(data, str):
        return _CHAR_BY_TYPE[packet.type] + data
    if revision == 4:
        if packet.type is not _MESSAGE:
            raise EncodeError(f"Engine.IO 4 cannot carry binary in a {packet.type.name} packet")
        return "b" + b64encode(data) if base64 else data
    if base64:
        return "b" + _CHAR_BY_TYPE[packet.type] + b64encode(data)
    return bytes((packet.type,)) + data
