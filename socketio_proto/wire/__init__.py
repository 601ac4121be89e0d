"""The wire layer: Engine.IO over raw TCP bytes, with h11 (HTTP) and wsproto (WebSocket)."""

from .client import OpenConnection, WireClient
from .server import Transmit, WireServer

__all__ = ["OpenConnection", "Transmit", "WireClient", "WireServer"]
