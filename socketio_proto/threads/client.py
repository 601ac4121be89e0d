"""A blocking Socket.IO client on plain threads::

    client = Client()

    @client.on("my response", namespace="/test")
    def my_response(data):
        print(data)

    client.connect("http://127.0.0.1:5000", namespaces=["/test"])
    client.emit("my event", {"data": "hi"}, namespace="/test")
    print(client.call("echo", b"\\x01"))       # blocks until the ack: its arguments
    client.disconnect()

Reconnection, buffering while offline and acks come from the sans-IO
:class:`~socketio_proto.socketio.client.SocketClient`; this module moves bytes
(a reader and a writer thread per TCP connection), keeps one timer thread and runs
the handlers, in order, in one worker thread.  Every method may be called from any
thread, handlers included: each takes the client's lock, and only :meth:`Client.call`,
:meth:`Client.wait` and :meth:`Client.connect` block, without holding it.
"""

from __future__ import annotations

import concurrent.futures
import ssl as ssl_module
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar, overload

from ..app.server import AckTimeout
from ..driver.client import ClientDriver, ConnectFailed, Endpoint
from ..errors import LocalProtocolError
from ..socketio.config import ClientConfig
from ..wire.client import OpenConnection
from ._common import Link, Runner, Tls

__all__ = ["Client"]

Handler = Callable[..., Any]
H = TypeVar("H", bound=Handler)
T = TypeVar("T")

# How long disconnect() lets the final packets leave.
_DRAIN_TIMEOUT = 1.0


class Client:
    """One Socket.IO client connection (any number of namespaces), blocking calls.

    ``ssl``: the context for ``https``/``wss`` URLs (default: the system's trust store).
    Call :meth:`disconnect` (or use ``with``) to release the client's threads.
    """

    def __init__(
        self, config: ClientConfig | None = None, *, ssl: ssl_module.SSLContext | None = None
    ) -> None:
        self.config = config if config is not None else ClientConfig()
        self.ssl = ssl
        self._handlers: list[tuple[str | int | float, Handler, str]] = []
        self._runner: Runner[ClientDriver] | None = None
        # connect() in progress: the namespaces it waits for, and whether all were joined
        self._joining: list[str] | None = None
        self._joined = False

    @overload
    def on(
        self, event: str | int | float, handler: None = None, *, namespace: str = "/"
    ) -> Callable[[H], H]: ...

    @overload
    def on(self, event: str | int | float, handler: H, *, namespace: str = "/") -> H: ...

    def on(
        self, event: str | int | float, handler: H | None = None, *, namespace: str = "/"
    ) -> H | Callable[[H], H]:
        """Register ``handler`` for ``event`` (usable as a decorator).

        ``"connect"``, ``"connect_error"`` and ``"disconnect"`` are the
        lifecycle events; ``"*"`` catches the rest (event name first).  A
        handler's return value answers the server's ack request.
        """

        def register(function: H) -> H:
            self._handlers.append((event, function, namespace))
            runner = self._runner
            if runner is not None:
                with runner.section:
                    runner.driver.on(event, function, namespace=namespace)
            return function

        return register(handler) if handler is not None else register

    # -- connecting ----------------------------------------------------------------------

    def connect(
        self,
        url: str,
        *,
        namespaces: Iterable[str] | None = None,
        auth: Mapping[str, Any] | None = None,
        transports: Iterable[str] | None = None,
        wait_timeout: float = 10.0,
    ) -> None:
        """Connect and block until every namespace is joined.

        ``namespaces`` defaults to the URL's path (``/`` if none);
        ``transports`` restricts the engine (e.g. ``["websocket"]``).  Raises
        :class:`ConnectFailed` if a namespace is refused, the server cannot be
        reached, or ``wait_timeout`` passes first.
        """
        previous = self._runner
        if previous is not None:
            if not previous.driver.closed:
                raise LocalProtocolError("already connected; disconnect first")
            self.disconnect()  # a finished session still has threads: release them
        driver, wanted = ClientDriver.for_url(
            url, self.config, namespaces=namespaces, transports=transports, handlers=self._handlers
        )
        runner: Runner[ClientDriver]

        def write(now: float) -> None:
            self._write(runner, now)

        runner = Runner(driver, write, name="socketio_proto-client", max_workers=1)
        self._runner = runner
        self._joining, self._joined = wanted, False
        runner.start()
        with runner.section:
            driver.connect(wanted, time.monotonic(), auth=auth)
        settled = runner.wait_for(
            lambda: self._joined or driver.failure(wanted) is not None, wait_timeout
        )
        with runner.lock:
            failure = None if self._joined else driver.failure(wanted)
            self._joining = None
        if not settled:
            failure = ConnectFailed(f"no answer from {url} within {wait_timeout} s")
        if failure is not None:
            self.disconnect()
            raise failure

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the client is finished (disconnected, or gave up reconnecting).

        Returns False if ``timeout`` seconds passed first.
        """
        runner = self._check()
        return runner.wait_for(lambda: runner.driver.closed, timeout)

    def disconnect(self) -> None:
        """Leave every namespace, close the connections and stop the client's threads.

        May be called from a handler (the handler's own thread then ends after it).
        """
        runner = self._runner
        if runner is None or not runner.running:
            return
        with runner.section:
            runner.driver.close(time.monotonic())
        deadline = time.monotonic() + _DRAIN_TIMEOUT
        if not runner.in_worker():  # the "disconnect" handlers run first
            runner.wait_for(lambda: runner.active_jobs == 0, _DRAIN_TIMEOUT)
        # A polling engine may still wait for answers to its last requests.
        runner.wait_for(lambda: runner.driver.engine_finished, deadline - time.monotonic())
        with runner.lock:
            links = list(runner.links.values())
        while any(link.unwritten for link in links) and time.monotonic() < deadline:
            time.sleep(0.01)
        runner.stop(deadline)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.disconnect()

    # -- talking -------------------------------------------------------------------------

    def emit(
        self,
        event: str | int,
        *args: Any,
        namespace: str = "/",
        callback: Handler | None = None,
    ) -> None:
        """Emit ``event``; ``callback(*ack_args)`` runs (in the handler thread) on the ack.

        While disconnected, emits are buffered and sent after reconnection.
        """
        runner = self._check()
        with runner.section:
            runner.driver.emit(
                event, *args, namespace=namespace, callback=callback, now=time.monotonic()
            )

    def call(
        self, event: str | int, *args: Any, namespace: str = "/", timeout: float | None = 60.0
    ) -> list[Any]:
        """Emit ``event`` and block until the server's ack arguments (:class:`AckTimeout`).

        Safe in a handler: acks are settled by the IO threads, not queued behind it.
        """
        runner = self._check()
        driver = runner.driver
        with runner.section:
            pending = driver.call(
                event, *args, namespace=namespace, timeout=timeout, now=time.monotonic()
            )
        runner.wait_for(lambda: pending.done or driver.closed or not runner.running)
        if not pending.done:
            raise AckTimeout(f"the client closed before {event!r} was acknowledged")
        return pending.result()

    def call_threadsafe(
        self, function: Callable[..., T], *args: Any
    ) -> concurrent.futures.Future[T]:
        """Run ``function(*args)`` under the client's lock, now (for symmetry; a done future)."""
        runner = self._check()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        future.set_running_or_notify_cancel()
        try:
            with runner.section:
                result = function(*args)
        except Exception as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future

    # -- state ---------------------------------------------------------------------------

    @property
    def transport(self) -> str | None:
        """``"polling"`` or ``"websocket"`` while connected."""
        runner = self._runner
        if runner is None:
            return None
        with runner.lock:
            return runner.driver.transport

    def sid(self, namespace: str = "/") -> str | None:
        """The socket id in ``namespace`` (None if not connected there)."""
        runner = self._runner
        if runner is None:
            return None
        with runner.lock:
            return runner.driver.connected.get(namespace)

    @property
    def connected(self) -> bool:
        runner = self._runner
        if runner is None:
            return False
        with runner.lock:
            return bool(runner.driver.connected)

    # -- plumbing ------------------------------------------------------------------------

    def _check(self) -> Runner[ClientDriver]:
        if self._runner is None:
            raise LocalProtocolError("not connected; call connect() first")
        return self._runner

    def _write(self, runner: Runner[ClientDriver], now: float) -> None:
        endpoint = runner.driver.endpoint
        for out in runner.driver.transmit(now):
            if isinstance(out, OpenConnection):
                address = (endpoint.host, endpoint.port)
                tls = self._tls(endpoint)
                opened = Link(runner, out.conn_id, address=address, tls=tls, name=runner.name)
                runner.links[out.conn_id] = opened
                opened.start()
                continue
            link = runner.links.get(out.conn_id)
            if link is None:
                continue
            if out.data:
                link.write(out.data)
            if out.close:
                runner.close_link(link)
        # Noted here, before the flush releases any handler: one may disconnect at once.
        joining = self._joining
        if joining is not None and all(ns in runner.driver.connected for ns in joining):
            self._joining, self._joined = None, True

    def _tls(self, endpoint: Endpoint) -> Tls | None:
        if not endpoint.secure:
            return None
        context = self.ssl if self.ssl is not None else ssl_module.create_default_context()
        return Tls(context, server_side=False, server_hostname=endpoint.host)
