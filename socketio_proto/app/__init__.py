"""The application API shared by every IO adapter: handlers, emit, rooms, sessions.

See :class:`~socketio_proto.app.server.Server`.
"""

from .handlers import ConnectionRefused, Namespace
from .jobs import Call, Job, run_async, run_sync
from .server import AckTimeout, PendingCall, Server, Socket

__all__ = [
    "AckTimeout",
    "Call",
    "ConnectionRefused",
    "Job",
    "Namespace",
    "PendingCall",
    "Server",
    "Socket",
    "run_async",
    "run_sync",
]
