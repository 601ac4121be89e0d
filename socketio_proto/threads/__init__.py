"""Threads adapter: :class:`ThreadedServer` and the blocking :class:`Client`.

No event loop: a thread per TCP connection reads (another writes), handlers run on a
worker pool, and every call into the protocol takes one lock, so the application may
be called from any thread::

    with ThreadedServer(app, port=0) as server:
        client = Client()
        client.connect(server.url)
        print(client.call("echo", "hi"))    # the ack's arguments
        client.disconnect()
"""

from ..app.server import AckTimeout
from ..driver.client import ConnectFailed
from .client import Client
from .server import ThreadedServer

__all__ = ["AckTimeout", "Client", "ConnectFailed", "ThreadedServer"]
