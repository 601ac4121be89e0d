"""Socket.IO as an ASGI application, alone or in front of (or mounted under) another one.

The ASGI server has already parsed HTTP and the WebSocket protocol, so there is no
wire layer here: requests and messages go straight into the application's
:class:`~socketio_proto.engineio.EngineServer` (``app.engine``), and its outputs come
back out as ASGI messages.  Like :class:`~socketio_proto.asyncio.AsyncServer`, it keeps
one timer for every deadline and runs handlers in the loop, one job at a time per
Engine.IO connection unless ``concurrent``.

Under uvicorn (any ASGI server on asyncio works; hypercorn too)::

    # main.py -- run with: uvicorn main:app --ws wsproto
    from socketio_proto.asgi import ASGIApp
    from socketio_proto.demo import create_app

    app = ASGIApp(create_app())

Mounted under FastAPI next to ordinary routes (Starlette is the same with
``Mount("/sio", app=sio)``); the clients use ``path: "/sio/socket.io"``.  Mounted
applications do not get the ``lifespan`` scope, so shut the sessions down from the
parent's lifespan::

    import contextlib
    from fastapi import FastAPI

    sio = ASGIApp(create_app())

    @contextlib.asynccontextmanager
    async def lifespan(api: FastAPI):
        yield
        await sio.shutdown()            # every client hears "server shutting down"

    api = FastAPI(lifespan=lifespan)
    api.mount("/sio", sio)

    @api.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

Handlers must call the application (``app.emit``...) from the event loop thread;
from another thread use :meth:`ASGIApp.call_threadsafe`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeVar, overload
from urllib.parse import unquote

from ..app.server import PendingCall, Server
from ..asyncio._common import LoopRunner, call_in_loop, logger, wrap_pending
from ..driver import DEFAULT_MAX_OUTGOING_BYTES
from ..driver.guard import LoopGuard
from ..driver.server import AppDriver
from ..engineio.events import CloseWebSocket, Respond, SendWebSocket
from ..engineio.http import HttpRequest, HttpResponse
from ..errors import LocalProtocolError

__all__ = ["ASGIApp", "ASGIApplication", "Message", "Receive", "Scope", "Send", "route_path"]

#: The ASGI 3 types, structurally (as Starlette spells them, so either side accepts the other).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApplication = Callable[[Scope, Receive, Send], Awaitable[None]]

T = TypeVar("T")

_NOT_FOUND = HttpResponse(404, (("Content-Type", "text/plain"),), b"Not Found")
_TOO_LARGE = HttpResponse(413, (("Content-Type", "text/plain"),), b"Payload Too Large")
_UNAVAILABLE = HttpResponse(503, (("Content-Type", "text/plain"),), b"Shutting Down")
#: The close code of a WebSocket refused without the ``websocket.http.response`` extension
#: (the ASGI server answers the handshake with 403).
_POLICY_VIOLATION = 1008


def route_path(scope: Scope) -> str:
    """The request path relative to where the application is mounted.

    ASGI says ``scope["path"]`` is the full path and ``scope["root_path"]`` the mount
    prefix within it (Starlette >= 0.33, uvicorn's ``--root-path``); older Starlette
    stripped the prefix from ``path`` instead.  Both happen in the wild, and
    python-engineio broke when Starlette switched, so both are handled: ``root_path``
    is removed when ``path`` starts with it -- unless ``raw_path`` (the bytes the client
    sent) shows that ``path`` was already stripped, which tells the two apart even
    when the remaining path happens to start with the prefix (``/a`` mounted at ``/a``).
    """
    path: str = scope["path"]
    root: str = scope.get("root_path", "").rstrip("/")
    if not root or not (path == root or path.startswith(root + "/")):
        return path or "/"
    raw = scope.get("raw_path")
    if isinstance(raw, bytes):
        # Some servers have sent the query string in raw_path; it is not part of the path.
        full = unquote(raw.split(b"?", 1)[0].decode("latin-1"))
        if full != path and full == root + path:
            return path  # the old convention: path is already relative
    return path[len(root) :] or "/"


class _WebSocket:
    """One accepted WebSocket: its outbox, drained in order by one sender task."""

    __slots__ = ("closing", "outbox", "owned", "sender", "unsent", "wakeup", "ws_id")

    def __init__(self, ws_id: int) -> None:
        self.ws_id = ws_id
        self.outbox: deque[tuple[Message, int]] = deque()
        self.unsent = 0  # about how many bytes sit in the outbox and in a send() underway
        self.wakeup = asyncio.Event()
        #: The engine still knows this ws_id (it has not sent CloseWebSocket for it).
        self.owned = True
        #: A close is queued (or the socket was cut off): nothing more is queued after it.
        self.closing = False
        self.sender: asyncio.Task[None] | None = None

    def push(self, message: Message, size: int) -> None:
        self.outbox.append((message, size))
        self.unsent += size
        self.wakeup.set()


class ASGIApp(LoopRunner[AppDriver]):
    """An ASGI application serving ``app`` at ``/<socketio_path>/``.

    ``other_asgi_app`` gets every other request and the ``lifespan`` scope (without
    one: 404, and the lifespan is handled here).  ``socketio_path`` is matched below
    the mount point (``scope["root_path"]``), whatever the engine's own
    ``EngineConfig.path``.  ``concurrent``: run handler jobs of one connection
    concurrently too.  ``max_outgoing_bytes``: a WebSocket whose unsent messages pass
    this is cut off (its client stopped reading).  ``shutdown_timeout``: how long
    :meth:`shutdown` waits for the last messages to leave.

    One ``ASGIApp`` per application and event loop: the first request (or the
    lifespan startup) binds it to the running loop.
    """

    def __init__(
        self,
        app: Server,
        other_asgi_app: ASGIApplication | None = None,
        *,
        socketio_path: str = "socket.io",
        concurrent: bool = False,
        max_outgoing_bytes: int = DEFAULT_MAX_OUTGOING_BYTES,
        shutdown_timeout: float = 5.0,
    ) -> None:
        super().__init__()
        stripped = socketio_path.strip("/")
        if not stripped:
            raise ValueError("socketio_path must not be empty")
        if max_outgoing_bytes < 1:
            raise ValueError("max_outgoing_bytes must be positive")
        self.app = app
        self.other_asgi_app = other_asgi_app
        self.socketio_path = f"/{stripped}/"
        self.max_outgoing_bytes = max_outgoing_bytes
        self.shutdown_timeout = shutdown_timeout
        self._driver = AppDriver(app, app.engine, concurrent=concurrent)
        self._bound: asyncio.AbstractEventLoop | None = None
        self._responses: dict[int, asyncio.Future[HttpResponse]] = {}
        self._websockets: dict[int, _WebSocket] = {}
        #: Set by :meth:`shutdown`: new sessions are refused (503) until the next startup.
        self.closed = False

    # -- ASGI ------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if kind in ("http", "websocket"):
            engine_path = self._engine_path(route_path(scope))
            if engine_path is not None:
                self._bind()
                if kind == "http":
                    await self._serve_http(scope, engine_path, receive, send)
                else:
                    await self._serve_websocket(scope, engine_path, receive, send)
                return
        if self.other_asgi_app is not None:
            await self.other_asgi_app(scope, receive, send)
        elif kind == "http":
            await _send_response(send, _NOT_FOUND)
        elif kind == "websocket" and (await receive())["type"] == "websocket.connect":
            await _refuse_websocket(scope, send, _NOT_FOUND)

    def _engine_path(self, path: str) -> str | None:
        """The path the engine sees for ``path`` (below the mount), or None if not ours.

        The engine checks its own ``EngineConfig.path``; the mount prefix and
        ``socketio_path`` are this adapter's business, so the part under
        ``socketio_path`` is handed over under the engine's path.
        """
        prefix = self.socketio_path
        if path == prefix[:-1]:
            return self.app.engine.config.path
        if path.startswith(prefix):
            return self.app.engine.config.path + path[len(prefix) :]
        return None

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        other = self.other_asgi_app
        if other is not None:
            # The wrapped application owns the lifespan; shut the sessions down before it
            # hears of the shutdown, while what it provides (databases...) is still up.
            async def receive_and_watch() -> Message:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self._bind()
                    self.closed = False
                elif message["type"] == "lifespan.shutdown":
                    await self.shutdown()
                return message

            await other(scope, receive_and_watch, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._bind()
                self.closed = False
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _bind(self) -> None:
        """Adopt the running loop: its clock, its thread for the guard, its timer."""
        loop = asyncio.get_running_loop()
        if loop is self._bound:
            return
        if self._bound is not None and (
            self.app.engine.sessions or self._responses or self._websockets
        ):
            raise LocalProtocolError(
                "ASGIApp is serving sessions on another event loop; use one ASGIApp per loop"
            )
        # A new loop with nothing live (e.g. a test client's second run): start afresh.
        if self._timer is not None:
            self._timer.cancel()
        self._bound = self._loop = loop
        self._timer = self._timer_at = None
        self._flush_scheduled = False
        self._changed = None
        self.app.set_guard(
            LoopGuard(self.app, loop.time, self._request_flush, "ASGIApp.call_threadsafe")
        )

    # -- HTTP: polling and handshakes -----------------------------------------------------------

    async def _serve_http(
        self, scope: Scope, engine_path: str, receive: Receive, send: Send
    ) -> None:
        if self.closed and _opens_session(scope):
            await _send_response(send, _UNAVAILABLE)
            return
        headers = _headers(scope)
        limit = self.app.engine.config.limits.max_payload_bytes
        length = _header(headers, "content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _send_response(send, _TOO_LARGE)  # refused before reading a byte of it
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > limit:  # chunked, or a lying Content-Length
                await _send_response(send, _TOO_LARGE)
                return
            if not message.get("more_body", False):
                break
        request = _request(
            scope,
            scope.get("method", "GET"),
            engine_path,
            headers,
            bytes(body),
        )
        loop = self._loop
        request_id = self.app.engine.handle_request(request, loop.time())
        # Registered before the flush that may resolve it: outputs are drained only there.
        future: asyncio.Future[HttpResponse] = loop.create_future()
        self._responses[request_id] = future
        self._driver.pump(loop.time())
        self._flush()
        if not future.done():
            # A parked long poll: answered by a later flush, unless the client leaves first.
            try:
                await self._until_answered_or_gone(future, receive)
            finally:
                if not future.done():
                    self._responses.pop(request_id, None)
                    self.app.engine.request_aborted(request_id, loop.time())
                    self._driver.pump(loop.time())
                    self._request_flush()
            if not future.done():
                return
        await _send_response(send, future.result())

    async def _until_answered_or_gone(
        self, future: asyncio.Future[HttpResponse], receive: Receive
    ) -> None:
        async def until_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        watcher = asyncio.ensure_future(until_disconnect())
        try:
            await asyncio.wait((future, watcher), return_when=asyncio.FIRST_COMPLETED)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher

    # -- WebSocket ----------------------------------------------------------------------------

    async def _serve_websocket(
        self, scope: Scope, engine_path: str, receive: Receive, send: Send
    ) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        if self.closed and _opens_session(scope):
            await _refuse_websocket(scope, send, _UNAVAILABLE)
            return
        request = _request(scope, "GET", engine_path, _headers(scope), b"")
        loop = self._loop
        decision = self.app.engine.handle_websocket(request, loop.time())
        if isinstance(decision, HttpResponse):
            await _refuse_websocket(scope, send, decision)
            return
        ws = _WebSocket(decision.ws_id)
        accept: Message = {"type": "websocket.accept", "headers": _encode(decision.headers)}
        # The accept goes first in the outbox: the engine's first output (the open
        # packet) is queued behind it by the flush below.
        ws.push(accept, 0)
        self._websockets[ws.ws_id] = ws
        ws.sender = asyncio.ensure_future(self._ws_sender(ws, send))
        receiver = asyncio.ensure_future(self._ws_receiver(ws, receive))
        self._driver.pump(loop.time())
        self._flush()
        try:
            # The sender ends after sending the engine's close (or when cut off or the peer
            # vanished mid-send); the receiver when the peer closes or disconnects.
            await asyncio.wait((ws.sender, receiver), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (ws.sender, receiver):
                task.cancel()
            self._websockets.pop(ws.ws_id, None)
            if ws.owned:
                ws.owned = False
                self.app.engine.websocket_closed(ws.ws_id, loop.time())
                self._driver.pump(loop.time())
                self._request_flush()
            for task in (ws.sender, receiver):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _ws_receiver(self, ws: _WebSocket, receive: Receive) -> None:
        engine, driver, loop = self.app.engine, self._driver, self._loop
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "websocket.disconnect":
                return
            if kind != "websocket.receive" or not ws.owned:
                continue
            text = message.get("text")
            data: str | bytes = text if text is not None else bytes(message.get("bytes") or b"")
            now = loop.time()
            engine.receive_websocket_message(ws.ws_id, data, now)
            driver.pump(now)
            self._flush()

    async def _ws_sender(self, ws: _WebSocket, send: Send) -> None:
        while True:
            while ws.outbox:
                message, size = ws.outbox.popleft()
                try:
                    await send(message)
                except Exception:  # the peer is gone (uvicorn's ClientDisconnected...)
                    logger.debug("WebSocket %d: send failed", ws.ws_id, exc_info=True)
                    return
                ws.unsent -= size
                if message["type"] == "websocket.close":
                    return
            ws.wakeup.clear()
            await ws.wakeup.wait()

    def _cut_off(self, ws: _WebSocket, now: float) -> None:
        """A client that stopped reading: forget what it did not take and hang up."""
        logger.warning("WebSocket %d is not reading: cut off", ws.ws_id)
        ws.closing = True
        ws.outbox.clear()
        if ws.owned:
            ws.owned = False
            self.app.engine.websocket_closed(ws.ws_id, now, error=True)
        if ws.sender is not None:
            # Likely stuck in send(): ending the handler makes the ASGI server close it.
            ws.sender.cancel()

    # -- the engine room ------------------------------------------------------------------------

    def _write(self, now: float) -> None:
        engine, websockets = self.app.engine, self._websockets
        while True:
            self._driver.pump(now)
            outputs = engine.outputs()
            if not outputs:
                break
            for output in outputs:
                if isinstance(output, Respond):
                    future = self._responses.pop(output.request_id, None)
                    if future is not None and not future.done():
                        future.set_result(output.response)
                    continue
                ws = websockets.get(output.ws_id)
                if ws is None or ws.closing:
                    continue
                if isinstance(output, SendWebSocket):
                    message = output.message
                    if isinstance(message, str):
                        ws.push({"type": "websocket.send", "text": message}, len(message))
                    else:
                        ws.push({"type": "websocket.send", "bytes": message}, len(message))
                    if ws.unsent > self.max_outgoing_bytes:
                        self._cut_off(ws, now)  # its session's close comes out next round
                else:
                    assert isinstance(output, CloseWebSocket)
                    ws.owned = False
                    ws.closing = True
                    ws.push({"type": "websocket.close", "code": output.code}, 0)
        if self._driver.pending_jobs():
            # Released by the pump above, after _flush took the jobs: start them soon.
            self._loop.call_soon(self._flush)

    # -- lifecycle and calling in ---------------------------------------------------------------

    async def shutdown(self, timeout: float | None = None) -> None:
        """Graceful shutdown: every socket leaves (``server shutting down``), sessions close.

        Parked long polls are answered and WebSockets closed; waits up to ``timeout``
        (default ``shutdown_timeout``) for those messages to leave; a polling client
        not waiting on a GET gets its close packet with its next one.  New sessions are
        refused (503) until the next lifespan startup.  Called on lifespan shutdown;
        call it yourself when mounted (mounted applications get no lifespan).
        """
        if self._bound is None:
            self.closed = True
            return
        self._bind()
        self.closed = True
        loop = self._loop
        self.app.sio.close(loop.time())
        self.app.engine.close_all(loop.time())
        self._driver.pump(loop.time())
        self._flush()
        deadline = loop.time() + (self.shutdown_timeout if timeout is None else timeout)
        while (self._websockets or self._driver.scheduler.busy) and loop.time() < deadline:
            await asyncio.sleep(0.01)
        for ws in list(self._websockets.values()):
            self._cut_off(ws, loop.time())
        self._driver.pump(loop.time())  # the cut-off sessions' events
        self._flush()
        await self._cancel_tasks(max(0.0, deadline - loop.time()))

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
        """Run ``function(*args, **kwargs)`` (e.g. ``app.emit``) in the loop, from any thread.

        The one safe way in from other threads; returns a future of the result (a
        coroutine function's result is awaited: ``call_threadsafe(app_asgi.shutdown)``).
        """
        if self._bound is None:
            raise LocalProtocolError("ASGIApp has not served anything yet: no loop to call into")
        return asyncio.run_coroutine_threadsafe(call_in_loop(function, args, kwargs), self._bound)

    async def call(
        self, event: str | int | float, *args: Any, to: str, timeout: float | None = 60.0
    ) -> list[Any]:
        """Emit to socket ``to`` and await its ack arguments.

        Raises :class:`~socketio_proto.app.server.AckTimeout` if none comes in time.
        """
        pending: PendingCall = self.app.call(event, *args, to=to, timeout=timeout)
        return await wrap_pending(pending)


# -- ASGI details ------------------------------------------------------------------------------


def _headers(scope: Scope) -> tuple[tuple[str, str], ...]:
    return tuple(
        (bytes(name).decode("latin-1").lower(), bytes(value).decode("latin-1"))
        for name, value in scope.get("headers", ())
    )


def _opens_session(scope: Scope) -> bool:
    """Whether a request is a handshake (no ``sid``): the ones refused after shutdown.

    Requests of existing sessions still reach the engine: a polling session closed by
    the shutdown delivers its close packet to the client's next GET.
    """
    query = bytes(scope.get("query_string", b""))
    return not any(part.startswith(b"sid=") for part in query.split(b"&"))


def _header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    for key, value in headers:
        if key == name:
            return value
    return None


_SECURE_SCHEMES = frozenset({"https", "wss"})


def _request(
    scope: Scope,
    method: str,
    engine_path: str,
    headers: tuple[tuple[str, str], ...],
    body: bytes,
) -> HttpRequest:
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    # Parse the query only: the path is already decoded (a "?" in it is not a query).
    parsed = HttpRequest.from_target(method, f"/?{query}", headers, body)
    # Either secure name on either scope type: middlewares rewriting the scheme
    # (proxy-header fixers, say) do not always pick the one of the scope's type.
    secure = scope.get("scheme") in _SECURE_SCHEMES
    return dataclasses.replace(parsed, path=engine_path, secure=secure)


def _encode(headers: tuple[tuple[str, str], ...]) -> list[tuple[bytes, bytes]]:
    # ASGI wants lower-case header names.
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]


async def _send_response(send: Send, response: HttpResponse) -> None:
    headers = _encode(response.headers)
    headers.append((b"content-length", str(len(response.body)).encode("ascii")))
    try:
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})
    except OSError:  # the client left; a poll's packets are lost with it, as on raw TCP
        logger.debug("HTTP response not delivered", exc_info=True)


async def _refuse_websocket(scope: Scope, send: Send, response: HttpResponse) -> None:
    """Refuse a WebSocket handshake with ``response`` when the server can send one."""
    if "websocket.http.response" in scope.get("extensions", {}):
        headers = _encode(response.headers)
        headers.append((b"content-length", str(len(response.body)).encode("ascii")))
        start = {"type": "websocket.http.response.start", "status": response.status}
        await send({**start, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": response.body})
    else:
        await send({"type": "websocket.close", "code": _POLICY_VIOLATION})
