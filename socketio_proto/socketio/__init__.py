"""Socket.IO: packet model and parsers (revisions 5 and 4)."""

from .binary import deconstruct, has_binary, reconstruct
from .packet import RESERVED_EVENTS, Packet, PacketType, split_namespace_query
from .parser import Decoder, Encoder, PacketDecoder, PacketEncoder

__all__ = [
    "RESERVED_EVENTS",
    "Decoder",
    "Encoder",
    "Packet",
    "PacketDecoder",
    "PacketEncoder",
    "PacketType",
    "deconstruct",
    "has_binary",
    "reconstruct",
    "split_namespace_query",
]
