"""Other implementations' Socket.IO servers, serving the demo application.

They are the yardsticks of the server benchmarks and the peers of the interop
tests (``tests/support/peer_servers.py``), so they ship with the package:

* ``node_server.cjs``: the official Node.js ``socket.io`` server, version
  :data:`SOCKET_IO_VERSION`, installed from npm on first use by
  :func:`node_server_modules` (nothing is vendored);
* ``python_socketio_server.py``: python-socketio's ``AsyncServer`` under uvicorn.

Both take the port as their first argument (0: a free one), listen on 127.0.0.1,
print ``listening on port N`` once they accept connections and exit 0 on SIGTERM.
"""

from __future__ import annotations

from pathlib import Path

from ..npm import ensure_node_modules

__all__ = ["NODE_SERVER", "PYTHON_SOCKETIO_SERVER", "SOCKET_IO_VERSION", "node_server_modules"]

#: The official server's version, for interop tests and benchmarks alike.
SOCKET_IO_VERSION = "4.8.1"

_HERE = Path(__file__).resolve().parent
#: The Node.js ``socket.io`` server script (run with ``NODE_PATH=node_server_modules()``).
NODE_SERVER = _HERE / "node_server.cjs"
#: The python-socketio server script: ``python PYTHON_SOCKETIO_SERVER [PORT [WS]]``.
PYTHON_SOCKETIO_SERVER = _HERE / "python_socketio_server.py"


def node_server_modules() -> Path:
    """The ``node_modules`` holding the pinned ``socket.io`` server (installed once)."""
    return ensure_node_modules("node-server", {"socket.io": SOCKET_IO_VERSION})
