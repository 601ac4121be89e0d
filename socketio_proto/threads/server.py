"""Serve an application :class:`~socketio_proto.app.Server` with plain threads::

    app = Server(engine_config=EngineConfig(path="/socket.io/"))

    @app.on("chat")
    def chat(sid, text):
        app.emit("chat", text, skip_sid=sid)   # safe from any thread

    with ThreadedServer(app, port=5000) as server:
        server.serve_forever()                  # Ctrl-C shuts down gracefully

Threads: one accepts, two per TCP connection (one blocks in ``recv``, one drains the
connection's outgoing buffer with ``sendall``), one timer for the single earliest
deadline, and a pool of workers for the handlers.  Every call into the protocol
machines takes the server's one lock, the application's public calls included
(:meth:`~socketio_proto.app.Server.set_guard`): whoever leaves the lock last writes
what was queued, starts the released handler jobs and re-arms the timer.  So
``app.emit(...)`` works from handlers and from any other thread, and nothing that
can block -- a ``sendall`` to a slow peer, a handler -- ever runs under the lock.

Why a writer thread per connection rather than non-blocking sends by the lock holder:
the reader thread blocks in ``recv`` on the same socket, a TLS session must not be
used by two threads at once (and a partial non-blocking write still needs someone to
watch the socket), and the writer batches: whatever piled up while it was sending
leaves in one ``sendall``.  Measured on 2 cores against a variant that first tries a
``MSG_DONTWAIT`` send under the lock: 22-23k messages/s delivered to one WebSocket
client instead of 19-20k (``app.emit`` itself 25-32k/s instead of 19-20k), for
0.04 ms more per round trip (a WebSocket ``call``: 0.2-0.3 ms median).  A connection
with its two threads costs about 0.6 ms (connect, handshake request, close).  A peer
that stops reading blocks only its own writer; once its unwritten bytes pass
``max_outgoing_bytes`` it is cut off, and a closing connection's last bytes get 10 s
(the timer thread cuts it then).

Handlers run on the worker pool, one job at a time per Engine.IO connection (in the
order its packets arrived) unless ``concurrent``; the pool grows on demand up to
``max_workers`` threads.  The job's steps advance under the lock, the handler itself
runs without it, so handlers may block.  Coroutine functions are refused (use the
asyncio or trio adapter).

Requests outside the Socket.IO path go to ``fallback`` or to a WSGI application
(``wsgi=flask_app``: a Flask app's routes and Socket.IO on one port, see
:doc:`/flask`).  Either runs on a pool of its own, never under the lock: the wire
layer parks the request (the connection reads no further request meanwhile, so
answers keep their order), a worker calls the application, and the answer is handed
back under the lock.  A graceful :meth:`~ThreadedServer.close` lets them finish.
"""

from __future__ import annotations

import concurrent.futures
import selectors
import socket
import ssl as ssl_module
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from ..app.server import AckTimeout, PendingCall, Server
from ..driver import DEFAULT_MAX_OUTGOING_BYTES, ServerDriver
from ..driver.net import bind_error
from ..engineio.http import HttpResponse
from ..errors import LocalProtocolError
from ..wire.server import Fallback, ParkedRequest
from ..wsgi import WSGIApplication, WSGIFallback
from ._common import Link, Runner, Tls, Workers, logger

__all__ = ["DEFAULT_MAX_WORKERS", "ThreadedServer"]

T = TypeVar("T")

#: Handler threads a server starts at most (handlers may block, so more than the cores).
DEFAULT_MAX_WORKERS = 32


class ThreadedServer:
    """A threaded TCP server for ``app`` (HTTP long-polling and WebSocket on one port).

    ``fallback`` answers requests outside the Socket.IO path (e.g. a page); ``wsgi``
    does it with a WSGI application (a Flask app) instead.  Both run on worker
    threads, outside the server's lock.  ``concurrent``: run handler jobs of one
    connection concurrently too.  ``max_outgoing_bytes``: a connection with more
    unwritten bytes is cut off (a client that stopped reading).  ``max_workers``:
    handler threads at most (and as many for ``fallback``/``wsgi``).
    """

    def __init__(
        self,
        app: Server,
        *,
        host: str = "127.0.0.1",
        port: int = 5000,
        fallback: Fallback | None = None,
        wsgi: WSGIApplication | None = None,
        concurrent: bool = False,
        max_outgoing_bytes: int = DEFAULT_MAX_OUTGOING_BYTES,
        ssl: ssl_module.SSLContext | None = None,
        max_workers: int = DEFAULT_MAX_WORKERS,
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be positive")
        if fallback is not None and wsgi is not None:
            raise ValueError("pass fallback or wsgi, not both")
        self.app = app
        self.host = host
        self.port = port
        self.ssl = ssl
        serves_http = fallback is not None or wsgi is not None
        # Views and fallbacks must not run under the lock: the wire parks their requests.
        self._driver = ServerDriver(
            app,
            concurrent=concurrent,
            max_outgoing_bytes=max_outgoing_bytes,
            park_fallback=serves_http,
        )
        self._wsgi = (
            WSGIFallback(wsgi, server_name=host, server_port=port) if wsgi is not None else None
        )
        self._fallback = fallback
        self._http_workers: Workers[tuple[ParkedRequest, Any]] | None = None
        if serves_http:
            self._http_workers = Workers(
                self._serve_http, max_workers, "socketio_proto-server-http"
            )
        self._runner = Runner(
            self._driver,
            self._write,
            name="socketio_proto-server",
            max_workers=max_workers,
            on_enter=self._refresh_time,
        )
        self._listener: socket.socket | None = None
        self._waker: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._closed = False
        self._stopped = threading.Event()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Bind and listen (``port`` 0: any free port; ``server.port`` then tells which).

        Raises :class:`OSError` with a clear message if the port is taken.
        """
        if self._listener is not None:
            raise LocalProtocolError("the server is already started")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            listener = socket.create_server((self.host, self.port), family=family)
        except OSError as exc:
            raise bind_error(exc, self.host, self.port) from exc
        listener.setblocking(False)  # a spurious wake-up must not block accept()
        self._listener = listener
        self.port = listener.getsockname()[1]
        if self._wsgi is not None:
            self._wsgi.server_port = self.port
        self._waker, wake_reader = socket.socketpair()
        self.app.set_guard(self._runner.section)
        self._runner.start()
        self._acceptor = threading.Thread(
            target=self._accept,
            args=(listener, wake_reader),
            name="socketio_proto-server-accept",
            daemon=True,
        )
        self._acceptor.start()

    def serve_forever(self) -> None:
        """Serve until :meth:`close` (starts first if needed).

        A :class:`KeyboardInterrupt` (Ctrl-C) closes the server gracefully, then propagates.
        """
        if self._listener is None:
            self.start()
        try:
            while not self._stopped.wait(1.0):  # a timeout keeps Ctrl-C working on Windows
                pass
        except BaseException:
            self.close()
            raise

    def close(self, timeout: float = 5.0) -> None:
        """Graceful shutdown: stop accepting, tell every client, let the bytes leave, join.

        Sockets get ``server shutting down``; the running handlers may finish and
        the final bytes leave within ``timeout`` seconds, then every connection is
        closed and every thread joined.
        """
        runner = self._runner
        with runner.lock:
            if self._listener is None or self._closed:
                return
            self._closed = True
        deadline = time.monotonic() + timeout
        self._stop_accepting(deadline)
        with runner.section:
            self._driver.shutdown(time.monotonic())
        if not runner.in_worker():  # a handler closing the server cannot wait for itself
            runner.wait_for(lambda: runner.active_jobs == 0, max(0.0, deadline - time.monotonic()))
        with runner.lock:
            links = list(runner.links.values())
        while any(link.unwritten for link in links) and time.monotonic() < deadline:
            time.sleep(0.01)
        runner.stop(deadline)
        if self._http_workers is not None:
            self._http_workers.close(deadline)
        self._stopped.set()

    def __enter__(self) -> ThreadedServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    # -- calling in ----------------------------------------------------------------------

    def call_threadsafe(
        self, function: Callable[..., T], *args: Any
    ) -> concurrent.futures.Future[T]:
        """Run ``function(*args)`` under the server's lock, now, in the calling thread.

        For symmetry with the other adapters: here ``app.emit`` and friends are
        already safe from any thread.  Returns a completed future.
        """
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        future.set_running_or_notify_cancel()
        try:
            with self._runner.section:
                result = function(*args)
        except Exception as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future

    def call(
        self, event: str | int | float, *args: Any, to: str, timeout: float | None = 60.0
    ) -> list[Any]:
        """Emit to socket ``to`` and block until its ack arguments (:class:`AckTimeout` if none).

        Safe in a handler, even one of ``to``'s own connection: acks are settled by
        the connection's reader thread, never queued behind handlers.  (It still
        waits for the client, so a client that only acks after this handler returns
        makes it time out.)  Refused where the server's lock is held.
        """
        pending: PendingCall = self.app.call(event, *args, to=to, timeout=timeout)
        self._runner.wait_for(lambda: pending.done or self._stopped.is_set())
        if not pending.done:
            raise AckTimeout(f"the server closed before {to} answered")
        return pending.result()

    # -- the engine room -----------------------------------------------------------------

    def _refresh_time(self) -> None:
        self.app.update_time(time.monotonic())

    def _write(self, now: float) -> None:
        driver, links = self._driver, self._runner.links
        for out in driver.transmit(now):
            link = links.get(out.conn_id)
            if link is None:
                continue
            if out.data and driver.too_slow(link.write(out.data)):
                logger.warning("connection %d is not reading: cut off", out.conn_id)
                link.abort()  # its threads report the loss
                continue
            if out.close:
                self._runner.close_link(link)
        wire, workers = self._driver.wire, self._http_workers
        if workers is not None and wire.parked:
            parked, wire.parked = wire.parked, []
            for request in parked:
                link = links.get(request.conn_id)
                if link is not None and self._runner.running:
                    self._runner.active_jobs += 1  # a graceful close waits for it too
                    workers.submit((request, link.peer))

    def _serve_http(self, job: tuple[ParkedRequest, Any]) -> None:
        """Answer a request outside the Socket.IO path (a worker thread, lock not held)."""
        parked, peer = job
        try:
            if self._wsgi is not None:
                remote = (peer[0], peer[1]) if peer else None
                response = self._wsgi.respond(parked.request, remote=remote)
            else:
                assert self._fallback is not None
                response = self._fallback(parked.request)
        except Exception:
            request = parked.request
            logger.exception("the fallback failed on %s %s", request.method, request.path)
            response = _SERVER_ERROR
        with self._runner.section:
            self._runner.active_jobs -= 1
            self._driver.wire.answer(parked, response, time.monotonic())

    def _accept(self, listener: socket.socket, wake_reader: socket.socket) -> None:
        with selectors.DefaultSelector() as selector, wake_reader:
            selector.register(listener, selectors.EVENT_READ)
            selector.register(wake_reader, selectors.EVENT_READ)
            while True:
                ready = [key.fileobj for key, _ in selector.select()]
                if wake_reader in ready:
                    return
                try:
                    sock, peer = listener.accept()
                except BlockingIOError:
                    continue
                except OSError as exc:  # e.g. out of file descriptors: back off a little
                    logger.error("accept failed: %s", exc)
                    selector.select(0.1)
                    continue
                self._adopt(sock, peer)

    def _adopt(self, sock: socket.socket, peer: Any = None) -> None:
        tls = Tls(self.ssl, server_side=True) if self.ssl is not None else None
        runner = self._runner
        with runner.section:
            if self._closed:
                sock.close()
                return
            conn_id = self._driver.connection_made(secure=tls is not None)
            link = Link(runner, conn_id, sock=sock, tls=tls, name=runner.name)
            link.peer = peer
            runner.links[conn_id] = link
            link.start()

    def _stop_accepting(self, deadline: float) -> None:
        if self._waker is not None:
            self._waker.send(b"x")
        if self._acceptor is not None:
            self._acceptor.join(max(0.0, deadline - time.monotonic()))
        if self._waker is not None:
            self._waker.close()
        if self._listener is not None:
            self._listener.close()


_SERVER_ERROR = HttpResponse(
    500, (("Content-Type", "text/plain; charset=utf-8"),), b"Internal Server Error"
)
