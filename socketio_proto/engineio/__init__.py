"""Engine.IO: packet and payload codecs (revisions 3 and 4)."""

from .packet import Packet, PacketType, decode_packet, encode_packet
from .payload import (
    decode_jsonp_post,
    decode_payload,
    decode_payload_v3,
    decode_payload_v3_binary,
    decode_payload_v4,
    encode_jsonp,
    encode_payload,
    encode_payload_v3,
    encode_payload_v3_binary,
    encode_payload_v4,
)

__all__ = [
    "Packet",
    "PacketType",
    "decode_jsonp_post",
    "decode_packet",
    "decode_payload",
    "decode_payload_v3",
    "decode_payload_v3_binary",
    "decode_payload_v4",
    "encode_jsonp",
    "encode_packet",
    "encode_payload",
    "encode_payload_v3",
    "encode_payload_v3_binary",
    "encode_payload_v4",
]
