"""asyncio adapter: :class:`AsyncServer` and :class:`AsyncClient`."""

from ..app.server import AckTimeout
from ..driver.client import ConnectFailed
from .client import AsyncClient
from .server import AsyncServer

__all__ = ["AckTimeout", "AsyncClient", "AsyncServer", "ConnectFailed"]
