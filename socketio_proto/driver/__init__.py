"""IO-free glue every adapter shares: wire layer + application + job scheduling.

Write an adapter for another runtime on top of :class:`ServerDriver` and
:class:`ClientDriver`; the asyncio, trio and threads adapters are examples.
"""

from .client import ClientDriver, Endpoint, with_transports
from .scheduler import JobScheduler
from .server import DEFAULT_MAX_OUTGOING_BYTES, AppDriver, EventSource, ServerDriver

__all__ = [
    "DEFAULT_MAX_OUTGOING_BYTES",
    "AppDriver",
    "ClientDriver",
    "Endpoint",
    "EventSource",
    "JobScheduler",
    "ServerDriver",
    "with_transports",
]
