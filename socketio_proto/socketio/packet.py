"""The Socket.IO packet model (revisions 5 and 4) and its validation rules."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final, Literal
from urllib.parse import parse_qsl

__all__ = [
    "RESERVED_EVENTS",
    "Packet",
    "PacketType",
    "SocketIORevision",
    "split_namespace_query",
]

#: A Socket.IO protocol revision: 5 (JS >= 3, over Engine.IO 4) or 4 (JS 1.x/2.x, over Engine.IO 3).
SocketIORevision = Literal[4, 5]

#: Event names a peer may not send (they collide with the library's own events).
#: ``"error"`` is deliberately absent (CVE-2024-38355 came from treating it specially).
RESERVED_EVENTS: Final = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
)


class PacketType(IntEnum):
    """Socket.IO packet types (the first character of the text form)."""

    CONNECT = 0
    DISCONNECT = 1
    EVENT = 2
    ACK = 3
    #: Called ``ERROR`` in revision 4.
    CONNECT_ERROR = 4
    BINARY_EVENT = 5
    BINARY_ACK = 6


@dataclass(frozen=True, slots=True)
class Packet:
    """One Socket.IO packet.

    ``data`` is the JSON payload (``None`` when absent): for events the list
    ``[name, *args]``, for acks the list of arguments.  Binary values
    (``bytes``) may appear anywhere inside event and ack data; encoders turn such
    packets into ``BINARY_EVENT``/``BINARY_ACK`` with attachments, and decoders
    hand reassembled packets back as ``EVENT``/``ACK`` with ``bytes`` in place.
    """

    type: PacketType
    namespace: str = "/"
    data: Any = None
    id: int | None = None

    def __init__(
        self, type: PacketType, namespace: str = "/", data: Any = None, id: int | None = None
    ) -> None:
        # What the generated __init__ does, through the slot descriptors: a frozen
        # dataclass's object.__setattr__ calls make up half the cost of a small packet.
        _set_type(self, type)
        _set_namespace(self, namespace)
        _set_data(self, data)
        _set_id(self, id)

    @property
    def event(self) -> str | int | float:
        """The event name of an EVENT packet."""
        if self.type not in (PacketType.EVENT, PacketType.BINARY_EVENT):
            raise AttributeError(f"a {self.type.name} packet has no event name")
        name: str | int | float = self.data[0]
        return name

    @property
    def args(self) -> list[Any]:
        """The arguments of an EVENT (after the name) or of an ACK."""
        if self.type in (PacketType.EVENT, PacketType.BINARY_EVENT):
            return list(self.data[1:])
        if self.type in (PacketType.ACK, PacketType.BINARY_ACK):
            return list(self.data or ())
        raise AttributeError(f"a {self.type.name} packet has no arguments")


_set_type, _set_namespace, _set_data, _set_id = (
    Packet.__dict__[name].__set__ for name in ("type", "namespace", "data", "id")
)
_EVENT_TYPES: Final = (PacketType.EVENT, PacketType.BINARY_EVENT)
# Plain module globals: looking a member up on the enum class (EnumType has a
# __getattr__) costs about as much as the check it is used in.
_CONNECT: Final = PacketType.CONNECT
_DISCONNECT: Final = PacketType.DISCONNECT
_ACK: Final = PacketType.ACK
_CONNECT_ERROR: Final = PacketType.CONNECT_ERROR


def is_valid_event_name(name: object) -> bool:
    """A non-reserved string, or a finite number (``1e999`` would be re-sent as null)."""
    if isinstance(name, str):
        return name not in RESERVED_EVENTS
    if isinstance(name, float):
        return math.isfinite(name)
    return isinstance(name, int) and not isinstance(name, bool)


def payload_error(packet_type: PacketType, data: Any, revision: SocketIORevision) -> str | None:
    """Why ``data`` is not a valid payload for ``packet_type``, or None if it is.

    Mirrors the checks of the JS parser (socket.io-parser 4.2.x for revision 5),
    plus rejecting an EVENT without a payload.
    """
    # EVENT first: by far the most frequent (the branches are mutually exclusive).
    if packet_type in _EVENT_TYPES:
        if not isinstance(data, (list, tuple)) or not data:
            return "EVENT payload must be a non-empty array"
        name = data[0]
        if isinstance(name, str):
            if name in RESERVED_EVENTS:
                return f"invalid event name {name!r}"
        elif not is_valid_event_name(name):
            return f"invalid event name {name!r}"
        return None
    if packet_type is _CONNECT:
        if data is None or (revision == 5 and isinstance(data, dict)):
            return None
        return (
            "CONNECT payload must be an object"
            if revision == 5
            else "CONNECT carries no payload in revision 4"
        )
    if packet_type is _DISCONNECT:
        return None if data is None else "DISCONNECT carries no payload"
    if packet_type is _CONNECT_ERROR:
        # Revision 4's parser (socket.io-parser 3.x) also takes arrays, JS objects too.
        accepted = (str, dict) if revision == 5 else (str, dict, list, tuple)
        if data is None or isinstance(data, accepted):
            return None
        return "CONNECT_ERROR payload must be a string or an object"
    # ACK / BINARY_ACK; an ACK with no payload is accepted, as JS does.
    if data is None and packet_type is _ACK:
        return None
    return None if isinstance(data, (list, tuple)) else "ACK payload must be an array"


def split_namespace_query(namespace: str) -> tuple[str, dict[str, str]]:
    """Split revision 4's ``/admin?token=1`` into ``("/admin", {"token": "1"})``.

    Revision 4 clients pass their connection query inside the CONNECT
    namespace; in revision 5 ``?`` is just part of the name.
    """
    name, sep, query = namespace.partition("?")
    if not sep:
        return namespace, {}
    return name, dict(parse_qsl(query, keep_blank_values=True))
