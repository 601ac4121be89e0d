"""Serve an application :class:`~socketio_proto.app.Server` on asyncio.

Built on :class:`asyncio.Protocol` (no streams: the driver wants raw chunks,
and protocols cost one callback per read).  One loop callback flushes the
driver's output, and one timer handle serves every deadline::

    app = Server(engine_config=EngineConfig(path="/socket.io/"))

    async def main():
        async with AsyncServer(app, port=5000) as server:
            await server.serve_forever()

Handlers run in the loop: plain functions inline, coroutine functions as
tasks, one job at a time per Engine.IO connection unless ``concurrent``.
Calling the application (``app.emit``...) from another thread is refused;
use :meth:`AsyncServer.call_threadsafe`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ssl as ssl_module
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar, overload

from ..app.server import PendingCall, Server
from ..driver import DEFAULT_MAX_OUTGOING_BYTES, ServerDriver
from ..driver.guard import LoopGuard
from ..driver.net import bind_error
from ..errors import LocalProtocolError
from ..wire.server import Fallback
from ._common import LoopRunner, call_in_loop, logger, wrap_pending

__all__ = ["AsyncServer"]

T = TypeVar("T")

#: The most one read takes from a socket.
_READ_SIZE = 64 * 1024


class _Connection(asyncio.BufferedProtocol):
    # A buffered protocol: the transport reads into the server's one buffer instead
    # of allocating max_size bytes (256 KiB) for every read, then shrinking them.
    __slots__ = ("conn_id", "server", "transport")

    def __init__(self, server: AsyncServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.conn_id = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        secure = transport.get_extra_info("sslcontext") is not None
        self.conn_id = self.server._driver.connection_made(secure=secure)
        self.server._transports[self.conn_id] = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.server._read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        server = self.server
        data = server._read_buffer[:nbytes].tobytes()
        server._driver.receive_data(self.conn_id, data, server._loop.time())
        server._flush()

    def data_received(self, data: bytes) -> None:
        server = self.server
        server._driver.receive_data(self.conn_id, data, server._loop.time())
        server._flush()

    def eof_received(self) -> bool:
        self.data_received(b"")
        return True  # keep the transport open: a reply may still be owed

    def connection_lost(self, exc: Exception | None) -> None:
        server = self.server
        if server._transports.pop(self.conn_id, None) is not None:
            server._driver.connection_lost(self.conn_id, server._loop.time())
            server._request_flush()


class AsyncServer(LoopRunner[ServerDriver]):
    """An asyncio TCP server for ``app`` (HTTP long-polling and WebSocket on one port).

    ``fallback`` answers requests outside the Socket.IO path (e.g. a page); it
    runs on the event loop, so it must be quick: put a real web application behind
    :class:`~socketio_proto.asgi.ASGIApp` instead.  ``concurrent``: run handler
    jobs of one connection concurrently too.  ``max_outgoing_bytes``: a connection
    with more unwritten bytes is cut off (a client that stopped reading).
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
    ) -> None:
        super().__init__()
        self.app = app
        self.host = host
        self.port = port
        self.ssl = ssl
        self._driver = ServerDriver(
            app, fallback=fallback, concurrent=concurrent, max_outgoing_bytes=max_outgoing_bytes
        )
        self._transports: dict[int, asyncio.Transport] = {}
        # Shared by every connection: each read is handed on before the next one.
        self._read_buffer = memoryview(bytearray(_READ_SIZE))
        self._server: asyncio.Server | None = None
        self._stopped: asyncio.Event | None = None

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and listen.  Raises :class:`OSError` with a clear message if the port is taken."""
        if self._server is not None:
            raise LocalProtocolError("the server is already started")
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        self.app.set_guard(
            LoopGuard(self.app, self._loop.time, self._request_flush, "AsyncServer.call_threadsafe")
        )
        try:
            self._server = await self._loop.create_server(
                lambda: _Connection(self), self.host, self.port, ssl=self.ssl
            )
        except OSError as exc:
            raise bind_error(exc, self.host, self.port) from exc
        self.port = self._server.sockets[0].getsockname()[1]

    async def serve_forever(self) -> None:
        """Serve until :meth:`close` (start first if needed)."""
        if self._server is None:
            await self.start()
        assert self._stopped is not None
        await self._stopped.wait()

    async def close(self, timeout: float = 5.0) -> None:
        """Graceful shutdown: stop accepting, tell every client, wait for the bytes to leave.

        Sockets get ``server shutting down``; after ``timeout`` seconds whatever
        is still open is cut.
        """
        if self._server is None or self._stopped is None or self._stopped.is_set():
            return
        self._server.close()
        self._driver.shutdown(self._loop.time())
        self._flush()
        deadline = self._loop.time() + timeout
        while self._transports and self._loop.time() < deadline:
            if not any(t.get_write_buffer_size() for t in self._transports.values()):
                break
            await asyncio.sleep(0.01)
        for transport in list(self._transports.values()):
            transport.close()
        await self._cancel_tasks(timeout)
        await self._server.wait_closed()
        self._stopped.set()

    async def __aenter__(self) -> AsyncServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    # -- calling in ----------------------------------------------------------------------

    @overload
    def call_threadsafe(
        self, function: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[T]: ...

    @overload
    def call_threadsafe(
        self, function: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[T]: ...

    def call_threadsafe(
        self, function: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        """Run ``function(*args, **kwargs)`` in the loop (e.g. ``app.emit``) from any thread.

        The one safe way in from other threads; returns a future of the result (a
        coroutine function's result is awaited: ``call_threadsafe(server.call, ...)``).
        """
        return asyncio.run_coroutine_threadsafe(call_in_loop(function, args, kwargs), self._loop)

    async def call(
        self, event: str | int | float, *args: Any, to: str, timeout: float | None = 60.0
    ) -> list[Any]:
        """Emit to socket ``to`` and await its ack arguments.

        Raises :class:`~socketio_proto.app.server.AckTimeout` if none comes in time.
        """
        pending: PendingCall = self.app.call(event, *args, to=to, timeout=timeout)
        return await wrap_pending(pending)

    # -- the engine room -----------------------------------------------------------------

    def _write(self, now: float) -> None:
        driver, transports = self._driver, self._transports
        for out in driver.transmit(now):
            transport = transports.get(out.conn_id)
            if transport is None:
                continue
            if out.data:
                transport.write(out.data)
                if driver.too_slow(transport.get_write_buffer_size()):
                    logger.warning("connection %d is not reading: cut off", out.conn_id)
                    transport.abort()
                    continue
            if out.close:
                transport.close()
