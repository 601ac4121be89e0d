"""The wire layer: Engine.IO over raw TCP bytes, with h11 (HTTP) and wsproto (WebSocket)."""

from .server import Transmit, WireServer

__all__ = ["Transmit", "WireServer"]
