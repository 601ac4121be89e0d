"""Serve an application :class:`~socketio_proto.app.Server` on trio.

HTTP long-polling and WebSocket share one port.  Each TCP connection is a task
that reads and feeds the driver; what the driver writes queues per connection
and a writer sends it, so a client that stops reading stalls only itself (and
is cut off past ``max_outgoing_bytes``).  One task holds the server's single
timer::

    app = Server(engine_config=EngineConfig(path="/socket.io/"))

    async def main():
        async with trio.open_nursery() as nursery:
            server = TrioServer(app, port=5000)
            await nursery.start(server.serve)      # bound and listening
            print("listening on", server.url)
            ...                                     # serves until cancelled or aclose()

    trio.run(main)

Handlers run in the trio thread: plain functions inline, coroutine functions
as tasks of the server's nursery, one job at a time per Engine.IO connection
unless ``concurrent``.  Calling the application (``app.emit``...) from another
thread is refused; use :meth:`TrioServer.call_threadsafe`.
"""

from __future__ import annotations

import concurrent.futures
import ssl as ssl_module
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, overload

import trio

from ..app.server import PendingCall, Server
from ..driver import DEFAULT_MAX_OUTGOING_BYTES, ServerDriver
from ..driver.guard import LoopGuard
from ..driver.net import bind_error
from ..errors import LocalProtocolError
from ..wire.server import Fallback
from ._common import Connection, TrioRunner, logger, wait_pending

__all__ = ["TrioServer"]

T = TypeVar("T")


class TrioServer(TrioRunner[ServerDriver]):
    """A trio TCP server for ``app`` (HTTP long-polling and WebSocket on one port).

    ``port=0`` picks a free port (read ``port`` once started).  ``fallback``
    answers requests outside the Socket.IO path (e.g. a page); it runs in the
    server's task, so it must be quick (a static page, say).
    ``concurrent``:
    run handler jobs of one connection concurrently too.  ``max_outgoing_bytes``:
    a connection with more unwritten bytes is cut off (a client that stopped
    reading).  ``shutdown_timeout``: how long connections get to receive their
    goodbye before everything is closed.
    """

    def __init__(
        self,
        app: Server,
        *,
        host: str = "127.0.0.1",
        port: int = 5000,
        fallback: Fallback | None = None,
        concurrent: bool = False,
        max_outgoing_bytes: int = DEFAULT_MAX_OUTGOING_BYTES,
        ssl: ssl_module.SSLContext | None = None,
        shutdown_timeout: float = 5.0,
    ) -> None:
        super().__init__()
        self.app = app
        self.host = host
        self.port = port
        self.ssl = ssl
        self.shutdown_timeout = shutdown_timeout
        self._driver = ServerDriver(
            app, fallback=fallback, concurrent=concurrent, max_outgoing_bytes=max_outgoing_bytes
        )
        self._started = False
        self._stop = trio.Event()
        self._stopped = trio.Event()
        self._accepting = trio.CancelScope()

    # -- lifecycle -----------------------------------------------------------------------

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Bind, listen and serve until cancelled or :meth:`aclose`; shuts down gracefully.

        Meant for ``await nursery.start(server.serve)``, which returns once the
        server listens.  Raises :class:`OSError` with a clear message if it
        cannot bind (e.g. the port is in use).  A server serves once.
        """
        if self._started:
            raise LocalProtocolError("this TrioServer was already started; make a new one")
        self._started = True
        self._enter_trio()
        try:
            try:
                bound = await trio.open_tcp_listeners(self.port, host=self.host)
            except OSError as exc:
                raise bind_error(exc, self.host, self.port) from exc
            self.port = bound[0].socket.getsockname()[1]
            listeners: list[trio.abc.Listener[Any]] = list(bound)
            if self.ssl is not None:
                listeners = [
                    trio.SSLListener(listener, self.ssl, https_compatible=True)
                    for listener in listeners
                ]
            self.app.set_guard(
                LoopGuard(
                    self.app, trio.current_time, self._request_flush, "TrioServer.call_threadsafe"
                )
            )
            async with trio.open_nursery() as nursery:
                await nursery.start(self._run, listeners)
                task_status.started()
                try:
                    await self._stop.wait()
                finally:
                    # Cancelled from outside: the shielded _run still says goodbye (bounded).
                    self._stop.set()
        finally:
            self._stopped.set()

    async def _run(
        self,
        listeners: list[trio.abc.Listener[Any]],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        # Shielded so that a cancelled serve() can still flush the shutdown and
        # let the writers drain; everything here ends with the cancel below.
        with trio.CancelScope(shield=True):
            async with trio.open_nursery() as nursery:
                self._tasks = nursery
                nursery.start_soon(self._accept, listeners)
                nursery.start_soon(self._clock)
                task_status.started()
                await self._stop.wait()
                await self._shutdown()
                nursery.cancel_scope.cancel()
        self._tasks = None

    async def _accept(self, listeners: list[trio.abc.Listener[Any]]) -> None:
        try:
            with self._accepting:
                await trio.serve_listeners(self._connection, listeners, handler_nursery=self._tasks)
        finally:
            for listener in listeners:  # also when cancelled before serve_listeners opened them
                await trio.aclose_forcefully(listener)

    async def _shutdown(self) -> None:
        self._accepting.cancel()
        self._driver.shutdown(trio.current_time())
        self._flush()
        with trio.move_on_after(self.shutdown_timeout):
            await self._wait_for(lambda: self._unwritten() == 0)

    def close(self) -> None:
        """Ask :meth:`serve` to shut down gracefully and return (trio thread; no wait)."""
        self._stop.set()

    async def aclose(self, timeout: float | None = None) -> None:
        """Graceful shutdown: stop accepting, tell every client, let the bytes leave, close.

        Sockets get ``server shutting down``; after ``timeout`` seconds
        (default: ``shutdown_timeout``) whatever is still open is cut.  Returns
        once :meth:`serve` has finished.
        """
        if timeout is not None:
            self.shutdown_timeout = timeout
        self._stop.set()
        if self._started:
            await self._stopped.wait()

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    @property
    def outgoing_bytes(self) -> int:
        """Bytes queued for all connections and not yet accepted by the OS."""
        return self._unwritten()

    # -- calling in ----------------------------------------------------------------------

    @overload
    def call_threadsafe(
        self, function: Callable[..., Coroutine[Any, Any, T]], *args: Any
    ) -> concurrent.futures.Future[T]: ...

    @overload
    def call_threadsafe(
        self, function: Callable[..., T], *args: Any
    ) -> concurrent.futures.Future[T]: ...

    def call_threadsafe(
        self, function: Callable[..., Any], *args: Any
    ) -> concurrent.futures.Future[Any]:
        """Run ``function(*args)`` in the trio thread (e.g. ``app.emit``) from any thread.

        The one safe way in from other threads; returns a future of the result.
        A coroutine function is awaited in a task of the server.  Do not wait on
        the future from the trio thread itself.
        """
        return self._call_threadsafe(function, args)

    async def call(
        self, event: str | int | float, *args: Any, to: str, timeout: float | None = 60.0
    ) -> list[Any]:
        """Emit to socket ``to`` and await its ack arguments.

        Raises :class:`~socketio_proto.app.server.AckTimeout` if none comes in time.
        """
        pending: PendingCall = self.app.call(event, *args, to=to, timeout=timeout)
        return await wait_pending(pending)

    # -- the engine room -----------------------------------------------------------------

    async def _connection(self, stream: trio.abc.Stream) -> None:
        conn = Connection(self._driver.connection_made(secure=isinstance(stream, trio.SSLStream)))

        async def accepted() -> trio.abc.Stream:
            return stream

        await self._run_connection(conn, accepted)

    def _write(self, now: float) -> None:
        driver, conns = self._driver, self._conns
        for out in driver.transmit(now):
            conn = conns.get(out.conn_id)
            if conn is None:
                continue
            if out.data:
                conn.write(out.data)
                if driver.too_slow(conn.unwritten):
                    logger.warning("connection %d is not reading: cut off", out.conn_id)
                    conn.abort()  # its task reports the loss to the driver
                    continue
            if out.close:
                conn.close()
