"""The application guard of event-loop adapters (see :meth:`Server.set_guard`)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..app.server import Server
from ..errors import LocalProtocolError

__all__ = ["LoopGuard"]


class LoopGuard:
    """Lets application calls in from the loop thread only, with a fresh time.

    Built in the loop thread.  A call from another thread raises
    :class:`~socketio_proto.errors.LocalProtocolError` naming ``remedy`` (the
    adapter's thread-safe way in) rather than corrupting the machines; every
    call refreshes the application's time from ``clock`` and ends with
    ``flush`` (which should only schedule the write-out).
    """

    __slots__ = ("_app", "_clock", "_flush", "_remedy", "_thread_id")

    def __init__(
        self, app: Server, clock: Callable[[], float], flush: Callable[[], None], remedy: str
    ) -> None:
        self._app = app
        self._clock = clock
        self._flush = flush
        self._remedy = remedy
        self._thread_id = threading.get_ident()

    def __call__(self) -> LoopGuard:
        return self

    def __enter__(self) -> None:
        if threading.get_ident() != self._thread_id:
            raise LocalProtocolError(
                f"the application was called from outside its event loop thread; use {self._remedy}"
            )
        self._app.update_time(self._clock())

    def __exit__(self, *exc_info: object) -> None:
        self._flush()
