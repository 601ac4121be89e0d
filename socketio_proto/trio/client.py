"""A Socket.IO client on trio.

The client owns a nursery for the lifetime of an ``async with`` block: its
connections, its timer and its async handlers run there, and leaving the
block disconnects and cancels them::

    async with TrioClient() as client:

        @client.on("my response", namespace="/test")
        def my_response(data):
            print(data)

        await client.connect("http://127.0.0.1:5000", namespaces=["/test"])
        await client.emit("my event", {"data": "hi"}, namespace="/test")
        print(await client.call("echo", b"\\x01"))       # the ack's arguments
        await client.disconnect()

Exceptions leaving the block are the body's own (not wrapped in an exception
group).  Reconnection, buffering while offline and acks come from the sans-IO
:class:`~socketio_proto.socketio.client.SocketClient`; this module only moves
bytes, keeps one timer and runs the handlers (in order, in the trio thread).
"""

from __future__ import annotations

import concurrent.futures
import ssl as ssl_module
import threading
from collections.abc import Callable, Coroutine, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, TypeVar, overload

import trio

from ..driver.client import ClientDriver, ConnectFailed
from ..errors import LocalProtocolError
from ..socketio.config import ClientConfig
from ..wire.client import OpenConnection
from ._common import Connection, TrioRunner, wait_pending

__all__ = ["TrioClient"]

Handler = Callable[..., Any]
H = TypeVar("H", bound=Handler)
T = TypeVar("T")

#: How long :meth:`TrioClient.disconnect` lets the last packets leave.
_GOODBYE_TIMEOUT = 1.0


class TrioClient(TrioRunner[ClientDriver]):
    """One Socket.IO client connection (any number of namespaces) on trio.

    Use it as ``async with TrioClient() as client:``, which provides the
    nursery it runs in; :meth:`connect` may be called again after
    :meth:`disconnect` within the block.
    """

    _close_on_eof = True

    def __init__(
        self, config: ClientConfig | None = None, *, ssl: ssl_module.SSLContext | None = None
    ) -> None:
        super().__init__()
        self.config = config if config is not None else ClientConfig()
        self.ssl = ssl
        self._handlers: list[tuple[str | int | float, Handler, str]] = []
        self._nursery: trio.Nursery | None = None
        self._cm: AbstractAsyncContextManager[trio.Nursery] | None = None
        self._session_done: trio.Event | None = None

    def on(
        self, event: str | int | float, handler: H | None = None, *, namespace: str = "/"
    ) -> Any:
        """Register ``handler`` for ``event`` (usable as a decorator).

        ``"connect"``, ``"connect_error"`` and ``"disconnect"`` are the
        lifecycle events; ``"*"`` catches the rest (event name first).  A
        handler's return value answers the server's ack request; coroutine
        functions are awaited.
        """

        def register(function: H) -> H:
            self._handlers.append((event, function, namespace))
            if hasattr(self, "_driver"):
                self._driver.on(event, function, namespace=namespace)
            return function

        return register(handler) if handler is not None else register

    # -- the nursery ---------------------------------------------------------------------

    async def __aenter__(self) -> TrioClient:
        if self._cm is not None:
            raise LocalProtocolError("this TrioClient is already in use")
        self._enter_trio()
        self._cm = trio.open_nursery()
        self._nursery = await self._cm.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._nursery is not None and self._cm is not None
        try:
            if exc is None and hasattr(self, "_driver"):
                await self.disconnect()
        finally:
            if hasattr(self, "_driver") and not self._driver.closed:
                self._driver.close(trio.current_time())  # leaving on an error: no goodbye
            self._nursery.cancel_scope.cancel()
            # Our tasks raise nothing, so the nursery ends cleanly; the body's own
            # exception (if any) then propagates as itself, not in an exception group.
            await self._cm.__aexit__(None, None, None)
            self._nursery = self._cm = None

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
        if self._nursery is None:
            raise LocalProtocolError("use the client as `async with TrioClient() as client:`")
        if self._session_done is not None:
            if not self._driver.closed:
                raise LocalProtocolError("already connected; disconnect first")
            await self.disconnect()  # the finished session's leftovers
        self._driver, wanted = ClientDriver.for_url(
            url, self.config, namespaces=namespaces, transports=transports, handlers=self._handlers
        )
        await self._nursery.start(self._session)
        self._driver.connect(wanted, trio.current_time(), auth=auth)
        self._flush()
        with trio.move_on_after(wait_timeout) as waiting:
            await self._wait_for(lambda: self._driver.settled(wanted))
        if waiting.cancelled_caught:
            await self.disconnect()
            raise ConnectFailed(f"no answer from {url} within {wait_timeout} s")
        failure = self._driver.failure(wanted)
        if failure is not None:
            await self.disconnect()
            raise failure

    async def _session(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """One connect..disconnect: its connections, timer and handler tasks."""
        done = self._session_done = trio.Event()
        try:
            async with trio.open_nursery() as tasks:
                self._tasks = tasks
                tasks.start_soon(self._clock)
                task_status.started()
        finally:
            self._tasks = None
            self._session_done = None
            done.set()

    async def wait(self) -> None:
        """Return when the client is finished (disconnected, or gave up reconnecting)."""
        self._check_thread()
        await self._wait_for(lambda: self._driver.closed)

    async def disconnect(self) -> None:
        """Leave every namespace, let the last packets leave (briefly), close the connections."""
        self._check_thread()
        done = self._session_done
        if done is None:
            return
        self._driver.close(trio.current_time())
        self._flush()
        with trio.move_on_after(_GOODBYE_TIMEOUT):
            await self._wait_for(lambda: self._driver.engine_finished and self._unwritten() == 0)
        if self._tasks is not None:
            self._tasks.cancel_scope.cancel()
        await done.wait()

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
            event, *args, namespace=namespace, callback=callback, now=trio.current_time()
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
            event, *args, namespace=namespace, timeout=timeout, now=trio.current_time()
        )
        self._flush()
        return await wait_pending(pending)

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
        """Run ``function(*args)`` in the client's trio thread from any thread.

        Returns a future of the result; coroutine functions (``client.emit``,
        ``client.call``...) are awaited in a task of the client.  Do not wait on
        the future from the trio thread itself.
        """
        return self._call_threadsafe(function, args)

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

    def _caller_nursery(self) -> trio.Nursery | None:
        return self._nursery  # the client's own: connect() may be called this way too

    def _check_thread(self) -> None:
        if not hasattr(self, "_driver"):
            raise LocalProtocolError("not connected; call connect() first")
        if threading.get_ident() != self._thread_id:
            raise LocalProtocolError("called from another thread; use call_threadsafe")

    def _write(self, now: float) -> None:
        conns = self._conns
        for out in self._driver.transmit(now):
            if isinstance(out, OpenConnection):
                # Registered now so that the bytes for it queue while it opens.
                conn = conns[out.conn_id] = Connection(out.conn_id)
                self._start_task(self._run_connection, conn, self._open_stream)
                continue
            found = conns.get(out.conn_id)
            if found is None:
                continue
            if out.data:
                found.write(out.data)
            if out.close:
                found.close()

    async def _open_stream(self) -> trio.abc.Stream:
        endpoint = self._driver.endpoint
        stream: trio.abc.Stream = await trio.open_tcp_stream(endpoint.host, endpoint.port)
        if endpoint.secure:
            context = self.ssl if self.ssl is not None else ssl_module.create_default_context()
            stream = trio.SSLStream(
                stream, context, server_hostname=endpoint.host, https_compatible=True
            )
        return stream
