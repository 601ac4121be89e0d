"""A Socket.IO client on asyncio::

    client = AsyncClient()

    @client.on("my response", namespace="/test")
    def my_response(data):
        print(data)

    await client.connect("http://127.0.0.1:5000", namespaces=["/test"])
    await client.emit("my event", {"data": "hi"}, namespace="/test")
    print(await client.call("echo", b"\\x01"))       # the ack's arguments
    await client.disconnect()

Reconnection, buffering while offline and acks come from the sans-IO
:class:`~socketio_proto.socketio.client.SocketClient`; this module only moves
bytes, keeps one timer and runs the handlers (in order, in the loop).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ssl as ssl_module
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar, overload

from ..driver.client import ClientDriver, ConnectFailed
from ..errors import LocalProtocolError
from ..socketio.config import ClientConfig
from ..wire.client import OpenConnection
from ._common import LoopRunner, call_in_loop, wrap_pending

__all__ = ["AsyncClient"]

Handler = Callable[..., Any]
H = TypeVar("H", bound=Handler)
#: How long disconnect() lets the last packets leave before hanging up.
_GOODBYE_TIMEOUT = 2.0
T = TypeVar("T")


class _Connection(asyncio.Protocol):
    __slots__ = ("client", "conn_id")

    def __init__(self, client: AsyncClient, conn_id: int) -> None:
        self.client = client
        self.conn_id = conn_id

    def data_received(self, data: bytes) -> None:
        client = self.client
        client._driver.receive_data(self.conn_id, data, client._loop.time())
        client._flush()

    def eof_received(self) -> bool:
        self.data_received(b"")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        client = self.client
        if client._transports.pop(self.conn_id, None) is not None:
            client._driver.connection_lost(self.conn_id, client._loop.time())
            client._request_flush()


class AsyncClient(LoopRunner[ClientDriver]):
    """One Socket.IO client connection (any number of namespaces) on asyncio."""

    def __init__(
        self, config: ClientConfig | None = None, *, ssl: ssl_module.SSLContext | None = None
    ) -> None:
        super().__init__()
        self.config = config if config is not None else ClientConfig()
        self.ssl = ssl
        self._handlers: list[tuple[str | int | float, Handler, str]] = []
        self._transports: dict[int, asyncio.Transport] = {}
        # bytes for connections still being opened: (data, close afterwards)
        self._unopened: dict[int, list[tuple[bytes, bool]]] = {}
        self._thread_id = 0

    def on(
        self, event: str | int | float, handler: H | None = None, *, namespace: str = "/"
    ) -> Any:
        """Register ``handler`` for ``event`` (usable as a decorator).

        ``"connect"``, ``"connect_error"`` and ``"disconnect"`` are the
        lifecycle events; ``"*"`` catches the rest (event name first).  A
        handler's return value answers the server's ack request.
        """

        def register(function: H) -> H:
            self._handlers.append((event, function, namespace))
            if hasattr(self, "_driver"):
                self._driver.on(event, function, namespace=namespace)
            return function

        return register(handler) if handler is not None else register

    # -- connecting ----------------------------------------------------------------------

    async def connect(
        self,
        url: str,
        *,
        namespaces: Iterable[str] | None = None,
        auth: Mapping[str, Any] | None = None,
        transports: Iterable[str] | None = None,
        wait_timeout: float = 10.0,
    ) -> None:
        """Connect and wait until every namespace is joined.

        ``namespaces`` defaults to the URL's path (``/`` if none);
        ``transports`` restricts the engine (e.g. ``["websocket"]``).  Raises
        :class:`ConnectFailed` if a namespace is refused, the server cannot be
        reached, or ``wait_timeout`` passes first.
        """
        if hasattr(self, "_driver") and not self._driver.closed:
            raise LocalProtocolError("already connected; disconnect first")
        self._driver, wanted = ClientDriver.for_url(
            url, self.config, namespaces=namespaces, transports=transports, handlers=self._handlers
        )
        self._loop = asyncio.get_running_loop()
        self._thread_id = threading.get_ident()
        self._driver.connect(wanted, self._loop.time(), auth=auth)
        self._flush()
        try:
            await asyncio.wait_for(
                self._wait_for(lambda: self._driver.settled(wanted)), wait_timeout
            )
        except TimeoutError:
            await self.disconnect()
            raise ConnectFailed(f"no answer from {url} within {wait_timeout} s") from None
        failure = self._driver.failure(wanted)
        if failure is not None:
            await self.disconnect()
            raise failure

    async def wait(self) -> None:
        """Return when the client is finished (disconnected, or gave up reconnecting)."""
        await self._wait_for(lambda: self._driver.closed)

    async def disconnect(self) -> None:
        """Leave every namespace and close the connection."""
        self._check_thread()
        driver = self._driver
        if driver.closed and not self._transports:
            return
        driver.close(self._loop.time())
        self._flush()
        # Let the final packets leave before hanging up (a polling engine may first wait
        # for the answer to a POST in flight).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_GOODBYE_TIMEOUT):
                await self._wait_for(lambda: driver.engine_finished)
                while any(t.get_write_buffer_size() for t in self._transports.values()):
                    await asyncio.sleep(0.01)
        for transport in list(self._transports.values()):
            transport.close()
        await self._cancel_tasks(1.0)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if hasattr(self, "_driver"):
            await self.disconnect()

    # -- talking -------------------------------------------------------------------------

    async def emit(
        self,
        event: str | int,
        *args: Any,
        namespace: str = "/",
        callback: Handler | None = None,
    ) -> None:
        """Emit ``event``; ``callback(*ack_args)`` runs when the server acknowledges.

        While disconnected, emits are buffered and sent after reconnection.
        """
        self._check_thread()
        self._driver.emit(
            event, *args, namespace=namespace, callback=callback, now=self._loop.time()
        )
        self._flush()

    async def call(
        self, event: str | int, *args: Any, namespace: str = "/", timeout: float | None = 60.0
    ) -> list[Any]:
        """Emit ``event`` and return the server's ack arguments.

        Raises :class:`~socketio_proto.app.server.AckTimeout` if none comes in time.
        """
        self._check_thread()
        pending = self._driver.call(
            event, *args, namespace=namespace, timeout=timeout, now=self._loop.time()
        )
        self._flush()
        return await wrap_pending(pending)

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
        """Run ``function(*args, **kwargs)`` in the client's loop from another thread.

        ``function`` may be a coroutine function (e.g. ``client.emit``): it is awaited.
        """
        return asyncio.run_coroutine_threadsafe(call_in_loop(function, args, kwargs), self._loop)

    # -- state ---------------------------------------------------------------------------

    @property
    def transport(self) -> str | None:
        """``"polling"`` or ``"websocket"`` while connected."""
        return self._driver.transport if hasattr(self, "_driver") else None

    def sid(self, namespace: str = "/") -> str | None:
        """The socket id in ``namespace`` (None if not connected there)."""
        return self._driver.connected.get(namespace) if hasattr(self, "_driver") else None

    @property
    def connected(self) -> bool:
        return hasattr(self, "_driver") and bool(self._driver.connected)

    # -- plumbing ------------------------------------------------------------------------

    def _check_thread(self) -> None:
        if not hasattr(self, "_driver"):
            raise LocalProtocolError("not connected; call connect() first")
        if threading.get_ident() != self._thread_id:
            raise LocalProtocolError("called from another thread; use call_threadsafe")

    def _write(self, now: float) -> None:
        for out in self._driver.transmit(now):
            if isinstance(out, OpenConnection):
                self._unopened[out.conn_id] = []
                self.start_background_task(self._open(out.conn_id))
                continue
            waiting = self._unopened.get(out.conn_id)
            if waiting is not None:
                waiting.append((out.data, out.close))
                continue
            transport = self._transports.get(out.conn_id)
            if transport is None:
                continue
            if out.data:
                transport.write(out.data)
            if out.close:
                transport.close()

    async def _open(self, conn_id: int) -> None:
        endpoint = self._driver.endpoint
        try:
            transport, _ = await self._loop.create_connection(
                lambda: _Connection(self, conn_id),
                endpoint.host,
                endpoint.port,
                ssl=(self.ssl or True) if endpoint.secure else None,
            )
        except OSError:
            self._unopened.pop(conn_id, None)
            self._driver.connection_lost(conn_id, self._loop.time())
            self._flush()
            return
        waiting = self._unopened.pop(conn_id, [])
        self._transports[conn_id] = transport
        for data, close in waiting:
            if data:
                transport.write(data)
            if close:
                transport.close()
                break
