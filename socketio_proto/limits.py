"""Per-instance limits on what a peer may make us parse or buffer."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LimitExceeded

__all__ = ["DEFAULT_LIMITS", "Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds applied while decoding.  Every violation raises :class:`LimitExceeded`.

    The defaults are safe for an internet-facing server and generous enough for
    the official clients (which batch many small packets per polling request).
    """

    #: Largest Engine.IO payload (a polling body or one WebSocket message), in bytes.
    #: Advertised to v4 clients as ``maxPayload``; the JS default is 1e6.
    max_payload_bytes: int = 1_000_000
    #: Most Engine.IO packets in one polling payload.
    max_packets_per_payload: int = 10_000
    #: Most binary attachments one Socket.IO packet may announce (JS default 10).
    max_attachments: int = 10
    #: Most digits in a Socket.IO ack id; 15 keeps every id exact in a JS number.
    max_ack_id_digits: int = 15
    #: Deepest nesting of JSON arrays/objects in one Socket.IO packet.
    max_json_depth: int = 128

    def __post_init__(self) -> None:
        for name in self.__slots__:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Limits.{name} must be a positive int, got {value!r}")

    def check(self, limit: str, actual: int) -> None:
        """Raise :class:`LimitExceeded` if ``actual`` is over the limit named ``limit``."""
        maximum: int = getattr(self, limit)
        if actual > maximum:
            raise LimitExceeded(limit, maximum, actual)


#: The limits every codec and machine uses unless given others.
DEFAULT_LIMITS = Limits()
