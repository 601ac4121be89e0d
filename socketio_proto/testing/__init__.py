"""Testing aids: in-memory client/server pairs and hypothesis strategies.

``socketio_proto.testing.strategies`` needs ``hypothesis`` (the ``dev`` extra).
"""

from .pair import EnginePair
from .socket_pair import SocketPair

__all__ = ["EnginePair", "SocketPair"]
