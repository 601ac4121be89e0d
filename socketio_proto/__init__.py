"""socketio_proto: a sans-IO implementation of Engine.IO and Socket.IO.

The protocol layers live in :mod:`socketio_proto.engineio` and
:mod:`socketio_proto.socketio`; nothing in them touches sockets, threads or clocks.
"""

from .errors import (
    DecodeError,
    EncodeError,
    LimitExceeded,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
)
from .limits import DEFAULT_LIMITS, Limits
from .serialization import JsonCodec, OrjsonCodec, StdlibJsonCodec

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_LIMITS",
    "DecodeError",
    "EncodeError",
    "JsonCodec",
    "LimitExceeded",
    "Limits",
    "LocalProtocolError",
    "OrjsonCodec",
    "ProtocolError",
    "RemoteProtocolError",
    "StdlibJsonCodec",
    "__version__",
]
