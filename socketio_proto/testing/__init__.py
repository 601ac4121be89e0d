"""Testing aids: an in-memory client/server pair and hypothesis strategies.

``socketio_proto.testing.strategies`` needs ``hypothesis`` (the ``dev`` extra).
"""

from .pair import EnginePair

__all__ = ["EnginePair"]
