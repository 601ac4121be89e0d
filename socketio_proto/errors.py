"""The exceptions socketio_proto raises.

Every failure the library reports is a :class:`ProtocolError`:

* :class:`LocalProtocolError` -- *our caller* misused the API (for example asked
  to encode something the protocol cannot carry).
* :class:`RemoteProtocolError` -- *the peer* sent something invalid.  Decoders
  and state machines raise nothing else on any input; anything else escaping
  a ``decode_*``/``receive_*`` call is a bug.
"""

from __future__ import annotations

__all__ = [
    "DecodeError",
    "EncodeError",
    "LimitExceeded",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
]


class ProtocolError(Exception):
    """Base class of every error socketio_proto raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LocalProtocolError(ProtocolError):
    """The caller asked for something the protocol (or the current state) forbids."""


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes that violate the protocol."""


class EncodeError(LocalProtocolError):
    """A value cannot be encoded (unsupported type, reserved name, unsafe integer...)."""


class DecodeError(RemoteProtocolError):
    """Received data is malformed."""


class LimitExceeded(RemoteProtocolError):
    """Received data is well-formed so far but exceeds a configured limit.

    ``limit`` names the :class:`~socketio_proto.Limits` field that was exceeded,
    ``maximum`` is its configured value and ``actual`` what the peer sent (or a
    lower bound of it when counting stopped early).
    """

    def __init__(self, limit: str, maximum: int, actual: int) -> None:
        super().__init__(f"{limit} exceeded: {actual} > {maximum}")
        self.limit = limit
        self.maximum = maximum
        self.actual = actual
