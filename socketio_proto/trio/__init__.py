"""trio adapter: :class:`TrioServer` and :class:`TrioClient`.

Install the extra: ``pip install socketio_proto[trio]``.
"""

from ..app.server import AckTimeout
from ..driver.client import ConnectFailed
from .client import TrioClient
from .server import TrioServer

__all__ = ["AckTimeout", "ConnectFailed", "TrioClient", "TrioServer"]
