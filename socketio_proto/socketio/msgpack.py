"""A Socket.IO parser compatible with the npm ``socket.io-msgpack-parser``.

Each packet is one msgpack map ``{type, data, nsp[, id]}`` sent as a single
Engine.IO binary message; binary values travel inline as msgpack ``bin``, so
there are no attachments and no BINARY_* packet types.  Revision 5 only.
Requires the ``msgpack`` extra.
"""

from __future__ import annotations

from typing import Any

from ..errors import DecodeError, EncodeError
from ..limits import DEFAULT_LIMITS, Limits
from .packet import Packet, PacketType, payload_error
from .parser import check_json_depth

__all__ = ["MsgpackDecoder", "MsgpackEncoder"]

_MSGPACK_TYPES = {t.value: t for t in PacketType if t.value <= PacketType.CONNECT_ERROR}
_BIN_MARKERS = (b"\xc4", b"\xc5", b"\xc6")
_PLAIN = {PacketType.BINARY_EVENT: PacketType.EVENT, PacketType.BINARY_ACK: PacketType.ACK}


class MsgpackEncoder:
    """Encodes a packet as one msgpack binary message."""

    def __init__(self) -> None:
        import msgpack

        self._packer = msgpack.Packer(use_bin_type=True)

    def encode(self, packet: Packet) -> list[str | bytes]:
        """Return the one binary message carrying ``packet``."""
        packet_type = _PLAIN.get(packet.type, packet.type)
        problem = payload_error(packet_type, packet.data, 5)
        if problem is not None:
            raise EncodeError(problem)
        if packet.id is not None and (type(packet.id) is not int or packet.id < 0):
            raise EncodeError(f"ack id must be a non-negative int, got {packet.id!r}")
        message: dict[str, Any] = {"type": int(packet_type), "nsp": packet.namespace}
        if packet.data is not None:
            message["data"] = packet.data
        if packet.id is not None:
            message["id"] = packet.id
        try:
            return [self._packer.pack(message)]
        except (TypeError, ValueError, OverflowError) as exc:
            raise EncodeError(f"cannot encode as msgpack: {exc}") from None


class MsgpackDecoder:
    """Decodes msgpack messages; text messages are a protocol error for this parser."""

    def __init__(self, *, limits: Limits = DEFAULT_LIMITS) -> None:
        import msgpack

        self._msgpack = msgpack
        self.limits = limits

    @property
    def pending(self) -> Packet | None:
        """Always None: msgpack packets carry their binary inline."""
        return None

    def reset(self) -> None:
        """Nothing to drop: msgpack packets are self-contained."""

    def receive(self, message: str | bytes) -> Packet | None:
        """Decode one binary message into its packet (never None: no attachments)."""
        if isinstance(message, str):
            raise DecodeError("the msgpack parser only accepts binary messages")
        self.limits.check("max_payload_bytes", len(message))
        try:
            # strict_map_key: only str (and bin) keys; JS objects have string keys.
            decoded = self._msgpack.unpackb(message, raw=False, strict_map_key=True)
        except (ValueError, TypeError, self._msgpack.UnpackException) as exc:
            # ValueError covers ExtraData/FormatError/StackError; TypeError unhashable keys.
            raise DecodeError(f"invalid msgpack: {exc}") from None
        if not isinstance(decoded, dict):
            raise DecodeError("msgpack packet must be a map")
        packet_type = decoded.get("type")
        if type(packet_type) is not int or packet_type not in _MSGPACK_TYPES:
            raise DecodeError("invalid packet type")
        namespace = decoded.get("nsp")
        if not isinstance(namespace, str):
            raise DecodeError("invalid namespace")
        data = decoded.get("data")
        if "data" in decoded and data is None:
            raise DecodeError("invalid payload: null")
        kind = _MSGPACK_TYPES[packet_type]
        if data is None and kind in (PacketType.ACK, PacketType.CONNECT_ERROR):
            raise DecodeError(f"invalid payload: {kind.name} needs data")
        problem = payload_error(kind, data, 5)
        if problem is not None:
            raise DecodeError(f"invalid payload: {problem}")
        # A bin-typed map key starts with 0xc4..0xc6; only then is a walk needed.
        if (
            b"\xc4" in message or b"\xc5" in message or b"\xc6" in message  # _BIN_MARKERS
        ) and _has_binary_key(data):
            raise DecodeError("invalid payload: map keys must be strings")
        # Every container takes at least one byte, so a short message needs no walk.
        check_json_depth(data, self.limits.max_json_depth, hint=len(message))
        ack_id = decoded.get("id")
        if "id" in decoded and (type(ack_id) is not int or ack_id < 0):
            raise DecodeError("invalid packet id")
        if ack_id is not None:
            self.limits.check("max_ack_id_digits", len(str(ack_id)))
        return Packet(kind, namespace, data, ack_id)


def _has_binary_key(data: Any) -> bool:
    # Breadth first, a level at a time, the keys of each map checked by C code: several
    # times faster than a stack walk on big payloads (whose bytes often hold a marker).
    level = [data] if isinstance(data, _CONTAINERS) else []
    while level:
        for item in level:
            if isinstance(item, dict) and not all(map(_IS_STR, item)):
                return True
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, _CONTAINERS)
        ]
    return False


_CONTAINERS = (dict, list)
_IS_STR = str.__instancecheck__
