"""The default Socket.IO parser: packets <-> Engine.IO messages (text + binary).

Grammar of the text form (``Encoder`` writes it, ``Decoder`` reads it)::

    packet      = type [attachments "-"] [nsp ","] [ack-id] [json]
    type        = "0".."6"
    attachments = 1*DIGIT            ; BINARY_EVENT / BINARY_ACK only
    nsp         = "/" *(any char except ",")   ; omitted for "/"
    ack-id      = 1*DIGIT

The decoder follows the reference JavaScript decoder (socket.io-parser 4.2.x)
except where that one is lenient by accident: an empty string, an EVENT
without payload and over-long ack ids are rejected here.
"""

from __future__ import annotations

import re
from typing import Any, Final, Protocol

from ..errors import DecodeError, EncodeError, LimitExceeded
from ..limits import DEFAULT_LIMITS, Limits
from ..serialization import JsonCodec, default_json_codec
from .binary import deconstruct, has_binary, reconstruct
from .packet import Packet, PacketType, SocketIORevision, payload_error

__all__ = ["Decoder", "Encoder", "PacketDecoder", "PacketEncoder", "check_json_depth"]

_TYPE_BY_CHAR: Final = {str(t.value): t for t in PacketType}
_CHAR_BY_TYPE: Final = {t: str(t.value) for t in PacketType}
_CONTAINERS: Final = (dict, list)
# Plain module globals: a member lookup on the enum class is slow (EnumType.__getattr__).
_BINARY_EVENT: Final = PacketType.BINARY_EVENT
_BINARY_ACK: Final = PacketType.BINARY_ACK
_DIGITS: Final = frozenset("0123456789")
_DIGIT_RUN: Final = re.compile("[0-9]*")
_LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_TO_WIRE_BINARY: Final = {
    PacketType.EVENT: PacketType.BINARY_EVENT,
    PacketType.ACK: PacketType.BINARY_ACK,
    PacketType.BINARY_EVENT: PacketType.BINARY_EVENT,
    PacketType.BINARY_ACK: PacketType.BINARY_ACK,
}
_FROM_WIRE_BINARY: Final = {
    PacketType.BINARY_EVENT: PacketType.EVENT,
    PacketType.BINARY_ACK: PacketType.ACK,
}


class PacketEncoder(Protocol):
    """Turns a packet into the Engine.IO messages that carry it."""

    def encode(self, packet: Packet) -> list[str | bytes]:
        """Return the Engine.IO messages that carry ``packet``, in order."""
        ...


class PacketDecoder(Protocol):
    """Turns Engine.IO messages back into packets, one connection's worth of state."""

    def receive(self, message: str | bytes) -> Packet | None:
        """Feed one message; return a completed packet or None."""
        ...

    def reset(self) -> None:
        """Forget any partial packet."""
        ...

    @property
    def pending(self) -> Packet | None:
        """The header of a packet still waiting for attachments, if any."""
        ...


def check_json_depth(data: Any, max_depth: int, *, hint: int | None = None) -> None:
    """Raise :class:`LimitExceeded` if containers in ``data`` nest deeper than ``max_depth``.

    ``hint`` is an upper bound of the container count (e.g. the number of ``[``
    and ``{`` in the JSON text); when it is within the limit the walk is skipped.
    """
    if hint is not None and hint <= max_depth:
        return
    # Breadth first, one comprehension per level: about twice as fast as a stack of
    # (item, depth) pairs, and it stops at the first level beyond the limit.
    level = [data] if isinstance(data, _CONTAINERS) else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            raise LimitExceeded("max_json_depth", max_depth, depth)
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, _CONTAINERS)
        ]


class Encoder:
    """Encodes packets to text (plus binary attachments) for revision 5 or 4."""

    def __init__(self, *, json: JsonCodec | None = None, revision: SocketIORevision = 5) -> None:
        self.json = json if json is not None else default_json_codec()
        self.revision: SocketIORevision = revision

    def encode(self, packet: Packet) -> list[str | bytes]:
        """Return the Engine.IO messages for ``packet``: a text header, then attachments.

        Raises :class:`EncodeError` for data the protocol cannot carry.
        """
        packet_type = _FROM_WIRE_BINARY.get(packet.type, packet.type)
        data = packet.data
        problem = payload_error(packet_type, data, self.revision)
        if problem is not None:
            raise EncodeError(problem)
        namespace = packet.namespace
        if namespace != "/" and (not namespace.startswith("/") or "," in namespace):
            raise EncodeError(
                f"invalid namespace {namespace!r}: must start with '/' and contain no ','"
            )
        if not namespace.isascii() and _LONE_SURROGATE.search(namespace):
            raise EncodeError(f"invalid namespace {namespace!r}: lone surrogates cannot be sent")
        ack_id = packet.id
        if ack_id is not None and (type(ack_id) is not int or ack_id < 0):
            raise EncodeError(f"ack id must be a non-negative int, got {ack_id!r}")

        prefix = ("" if namespace == "/" else namespace + ",") + (
            "" if ack_id is None else str(ack_id)
        )
        if data is None:
            return [_CHAR_BY_TYPE[packet_type] + prefix]
        try:
            return [_CHAR_BY_TYPE[packet_type] + prefix + self.json.dumps(data)]
        except EncodeError:
            binary_type = _TO_WIRE_BINARY.get(packet_type)
            if binary_type is None or not has_binary(data):
                raise
        stripped, attachments = deconstruct(data)
        header = (
            f"{_CHAR_BY_TYPE[binary_type]}{len(attachments)}-{prefix}{self.json.dumps(stripped)}"
        )
        return [header, *attachments]


class Decoder:
    """Decodes one connection's incoming messages, reassembling binary packets.

    Feed every Engine.IO message (text ``str`` or binary ``bytes``) to
    :meth:`receive`; it returns a complete packet, or None while a binary
    packet is still waiting for attachments.  After an error the decoder is
    reset and may be used again (a server normally closes the connection).
    """

    def __init__(
        self,
        *,
        json: JsonCodec | None = None,
        revision: SocketIORevision = 5,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.json = json if json is not None else default_json_codec()
        self.revision: SocketIORevision = revision
        self.limits = limits
        self._pending: Packet | None = None
        self._expected = 0
        self._attachments: list[bytes] = []

    @property
    def pending(self) -> Packet | None:
        """The header of the binary packet being reassembled (None when not reassembling)."""
        return self._pending

    @property
    def awaiting_attachments(self) -> int:
        """How many binary messages the packet being reassembled still needs."""
        return self._expected - len(self._attachments)

    def reset(self) -> None:
        """Drop any partially reassembled packet (e.g. when the connection closes)."""
        self._pending = None
        self._expected = 0
        self._attachments = []

    def receive(self, message: str | bytes) -> Packet | None:
        """Feed one Engine.IO message (text or binary).

        Returns the packet it completes, or None while attachments are still
        missing.  Raises :class:`DecodeError`/:class:`LimitExceeded`; the
        decoder is reset after an error.
        """
        if isinstance(message, str):
            if self._pending is not None:
                self.reset()
                raise DecodeError("got text data while reassembling a binary packet")
            packet, attachments = self._decode_text(message)
            if attachments == 0:
                return packet
            self._pending = packet
            self._expected = attachments
            return None
        if self._pending is None:
            raise DecodeError("got binary data outside a binary packet")
        self._attachments.append(bytes(message))
        if len(self._attachments) < self._expected:
            return None
        pending, attachments_list = self._pending, self._attachments
        self.reset()
        return Packet(
            _FROM_WIRE_BINARY[pending.type],
            pending.namespace,
            reconstruct(pending.data, attachments_list),
            pending.id,
        )

    def decode(self, message: str) -> Packet:
        """Decode one self-contained text packet (no attachments)."""
        packet, attachments = self._decode_text(message)
        if attachments:
            raise DecodeError("binary packet passed to decode(); use receive()")
        return packet

    def _decode_text(self, text: str) -> tuple[Packet, int]:
        packet_type = _TYPE_BY_CHAR.get(text[:1])
        if packet_type is None:
            raise DecodeError(f"unknown packet type {text[:1]!r}" if text else "empty packet")
        length = len(text)
        i = 1
        attachments = 0
        if packet_type is _BINARY_EVENT or packet_type is _BINARY_ACK:
            dash = text.find("-", 1)
            digits = text[1:dash] if dash != -1 else ""
            if not digits or not (digits.isascii() and digits.isdigit()):
                raise DecodeError("illegal attachments count")
            # Leading zeros are legal (JS reads "001" as 1); a long number is not.
            significant = digits.lstrip("0")
            if len(significant) > len(str(self.limits.max_attachments)):
                raise LimitExceeded(
                    "max_attachments", self.limits.max_attachments, int(significant[:20])
                )
            attachments = int(significant or "0")
            if attachments == 0:
                raise DecodeError("illegal attachments count 0")
            self.limits.check("max_attachments", attachments)
            i = dash + 1

        namespace = "/"
        if i < length and text[i] == "/":
            comma = text.find(",", i)
            if comma == -1:
                namespace, i = text[i:], length
            else:
                namespace, i = text[i:comma], comma + 1
            if not namespace.isascii() and _LONE_SURROGATE.search(namespace):
                # Only a str that no UTF-8 decoder produced can hold one; refuse it
                # rather than hand out a namespace the encoder would refuse.
                raise DecodeError("namespace contains a lone surrogate")

        ack_id = None
        if i < length and text[i] in _DIGITS:
            # Scan at most one digit past the limit: enough to refuse a huge id.
            max_digits = self.limits.max_ack_id_digits
            match = _DIGIT_RUN.match(text, i, i + max_digits + 1)
            assert match is not None
            end = match.end()
            if end - i > max_digits:
                self.limits.check("max_ack_id_digits", end - i)
            try:
                ack_id = int(text[i:end])
            except ValueError:  # beyond the interpreter's int-parsing limit
                raise DecodeError("ack id too long") from None
            i = end

        data = None
        if i < length:
            body = text[i:]
            data = self.json.loads(body)
            if data is None:
                raise DecodeError("invalid payload: null")
            max_depth = self.limits.max_json_depth
            # The brackets in the text (at most one per character) bound the number of
            # containers, hence their depth: most bodies need no walk.
            if (
                len(body) > max_depth
                and isinstance(data, _CONTAINERS)
                and body.count("[") + body.count("{") > max_depth
            ):
                check_json_depth(data, max_depth)
        problem = payload_error(packet_type, data, self.revision)
        if problem is not None:
            raise DecodeError(f"invalid payload: {problem}")
        return Packet(packet_type, namespace, data, ack_id), attachments
