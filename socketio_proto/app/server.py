"""The application API: handlers, emit/send/call, rooms and sessions, without globals.

:class:`Server` is what python-socketio and Flask-SocketIO users know, on top of
the sans-IO :class:`~socketio_proto.socketio.server.SocketServer`::

    app = Server()

    @app.on("my event", namespace="/test")
    def my_event(sid, data):
        app.socket(sid).emit("my response", data)     # to the sender only

    @app.event(namespace="/test")
    def connect(sid, auth):
        if not auth:
            raise ConnectionRefused("who are you?")

Handlers take the socket id first (python-socketio's convention); what a
Flask-SocketIO handler got from the request context -- the sender, its
rooms, ``broadcast``/``include_self`` -- is on :meth:`Server.socket`.

The server runs no handler itself: :meth:`Server.process` turns what the
protocol reported into :class:`~socketio_proto.app.jobs.Job` objects and the
IO adapter runs them (:func:`~socketio_proto.app.jobs.run_sync` or
:func:`~socketio_proto.app.jobs.run_async`), in order per connection unless it
is told otherwise.  Like the protocol machines, a ``Server`` has one owner:
adapters offer the thread-safe way in.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar, overload

from ..engineio.config import EngineConfig
from ..engineio.events import ServerEvent as EngineEvent
from ..engineio.http import HttpRequest
from ..engineio.server import EngineServer
from ..errors import LocalProtocolError
from ..socketio.adapter import Adapter, InMemoryAdapter, LocalNamespace
from ..socketio.config import ServerConfig
from ..socketio.events import (
    AckReceived,
    AckTimedOut,
    ConnectRequested,
    Disconnected,
    EventReceived,
    ServerEvent,
)
from ..socketio.server import SocketServer, SocketState
from .handlers import (
    ConnectionRefused,
    Handler,
    HandlerRegistry,
    Namespace,
    NamespaceKey,
    accepts_positional,
)
from .jobs import Call, Job, Steps, ack_arguments, single

__all__ = ["AckTimeout", "PendingCall", "Server", "Socket"]

Rooms = str | Iterable[str] | None

P = ParamSpec("P")
R = TypeVar("R")


def _guarded(method: Callable[Concatenate[Server, P], R]) -> Callable[Concatenate[Server, P], R]:
    """Run a public call inside the adapter's guard (see :meth:`Server.set_guard`)."""

    @functools.wraps(method)
    def wrapper(self: Server, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._guard():
            return method(self, *args, **kwargs)

    return wrapper


class AckTimeout(TimeoutError):
    """The peer did not acknowledge in time (or left first)."""


class PendingCall:
    """The answer to :meth:`Server.call`: the client's ack arguments, once they arrive.

    Adapters wrap it in their own future; plain code can poll :attr:`done` or
    register a callback.
    """

    __slots__ = ("_callbacks", "_error", "_result")

    def __init__(self) -> None:
        self._result: list[Any] | None = None
        self._error: AckTimeout | None = None
        self._callbacks: list[Callable[[PendingCall], None]] = []

    @property
    def done(self) -> bool:
        """Whether the answer (or the timeout) arrived."""
        return self._result is not None or self._error is not None

    def result(self) -> list[Any]:
        """The ack arguments; raises :class:`AckTimeout` if none came in time."""
        if self._error is not None:
            raise self._error
        if self._result is None:
            raise LocalProtocolError("the call has not completed yet")
        return self._result

    def add_done_callback(self, callback: Callable[[PendingCall], None]) -> None:
        """Call ``callback(self)`` once done (at once if already done)."""
        if self.done:
            callback(self)
        else:
            self._callbacks.append(callback)

    def _settle(self, result: list[Any] | None, error: AckTimeout | None) -> None:
        self._result, self._error = result, error
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)


class Socket:
    """One connected socket, as its handlers see it (Flask-SocketIO's request context)."""

    __slots__ = ("namespace", "server", "sid")

    def __init__(self, server: Server, sid: str) -> None:
        self.server = server
        self.sid = sid
        self.namespace = server.sio.namespace_of(sid)

    def emit(
        self,
        event: str | int | float,
        *args: Any,
        to: Rooms = None,
        room: Rooms = None,
        broadcast: bool = False,
        include_self: bool = True,
        callback: Handler | None = None,
        timeout: float | None = None,
        volatile: bool = False,
        compress: bool = True,
    ) -> None:
        """Emit from this socket's point of view.

        By default to this socket only; ``broadcast=True`` to its whole
        namespace, ``to``/``room`` to those rooms -- both skip this socket when
        ``include_self`` is False.
        """
        if to is None and room is None and not broadcast and callback is None:
            # The usual reply: to this socket alone.
            self.server._emit_to_socket(
                self.sid, self.namespace, event, args, volatile=volatile, compress=compress
            )
            return
        targets = to if to is not None else room
        if targets is None and not broadcast:
            targets = self.sid
        self.server.emit(
            event,
            *args,
            to=targets,
            skip_sid=None if include_self else self.sid,
            namespace=self.namespace,
            callback=callback,
            timeout=timeout,
            volatile=volatile,
            compress=compress,
        )

    def send(self, data: Any, **options: Any) -> None:
        """``emit("message", data, ...)``."""
        self.emit("message", data, **options)

    def call(
        self, event: str | int | float, *args: Any, timeout: float | None = 60.0
    ) -> PendingCall:
        """Emit to this socket and wait for its ack (see :meth:`Server.call`)."""
        return self.server.call(event, *args, to=self.sid, timeout=timeout)

    def enter_room(self, room: str) -> None:
        self.server.enter_room(self.sid, room)

    def leave_room(self, room: str) -> None:
        self.server.leave_room(self.sid, room)

    @property
    def rooms(self) -> frozenset[str]:
        """The socket's rooms, its own id included."""
        return self.server.rooms(self.sid)

    @property
    def session(self) -> dict[str, Any]:
        """The socket's own data (kept across a connection state recovery)."""
        return self.server.get_session(self.sid)

    @property
    def auth(self) -> Any:
        """The CONNECT payload the client sent."""
        return self.server.sio.auth(self.sid)

    @property
    def request(self) -> HttpRequest:
        """The Engine.IO handshake request (headers, query, cookies)."""
        return self.server.sio.request(self.sid)

    def disconnect(self, *, close: bool = False) -> None:
        self.server.disconnect(self.sid, close=close)


class Server:
    """Handlers and the calls they make, over a :class:`SocketServer`."""

    def __init__(
        self,
        config: ServerConfig | None = None,
        *,
        engine: EngineServer | None = None,
        engine_config: EngineConfig | None = None,
        namespaces: Iterable[NamespaceKey] | Literal["*"] = ("/",),
        adapter_factory: Callable[[LocalNamespace], Adapter] = InMemoryAdapter,
    ) -> None:
        if engine is None:
            engine = EngineServer(
                engine_config if engine_config is not None else EngineConfig(path="/socket.io/")
            )
        elif engine_config is not None:
            raise LocalProtocolError("pass engine or engine_config, not both")
        self.engine = engine
        self.sio = SocketServer(
            engine, config, namespaces=namespaces, adapter_factory=adapter_factory
        )
        self.handlers = HandlerRegistry()
        self._callbacks: dict[tuple[str, int], Handler | PendingCall] = {}
        self._broadcast_callbacks: dict[tuple[str, int], Handler] = {}
        # socket id -> Engine.IO sid, so work about a socket that left keeps its connection's order
        self._connection_of: dict[str, str] = {}
        self._guard: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext

    def set_guard(self, guard: Callable[[], AbstractContextManager[object]]) -> None:
        """Have every public call below run inside ``guard()`` (adapters only).

        An IO adapter uses it to make the calls handlers and other code make
        safe where they run: take its lock, check the thread, refresh the time
        (:meth:`update_time`) and flush what the call queued to the sockets.
        The driving calls (``handle_engine_event``, ``process``...) are not
        guarded: the adapter makes them itself.
        """
        self._guard = guard

    # -- registration ------------------------------------------------------------------------

    @overload
    def on(
        self, event: str | int | float, handler: None = None, *, namespace: NamespaceKey = "/"
    ) -> Callable[[Handler], Handler]: ...

    @overload
    def on(
        self, event: str | int | float, handler: Handler, *, namespace: NamespaceKey = "/"
    ) -> Handler: ...

    def on(
        self,
        event: str | int | float,
        handler: Handler | None = None,
        *,
        namespace: NamespaceKey = "/",
    ) -> Handler | Callable[[Handler], Handler]:
        """Register ``handler`` for ``event`` on ``namespace`` (usable as a decorator).

        ``event`` ``"*"`` catches every event without a handler of its own (the
        handler gets the event name first); ``namespace`` ``"*"`` catches every
        namespace (the handler gets the namespace first), and a regex or a
        predicate makes dynamic namespaces.  ``"connect"`` handlers take
        ``(sid, auth)``, ``"disconnect"`` handlers ``(sid, reason)``; either may
        take ``sid`` alone.
        """

        def register(function: Handler) -> Handler:
            self.handlers.add(event, function, namespace)
            self.sio.add_namespace(namespace)
            return function

        return register(handler) if handler is not None else register

    @overload
    def event(self, handler: Handler, *, namespace: NamespaceKey = "/") -> Handler: ...

    @overload
    def event(
        self, handler: None = None, *, namespace: NamespaceKey = "/"
    ) -> Callable[[Handler], Handler]: ...

    def event(
        self, handler: Handler | None = None, *, namespace: NamespaceKey = "/"
    ) -> Handler | Callable[[Handler], Handler]:
        """Register a handler named after its function (``def chat(sid, msg)`` -> ``"chat"``)."""

        def register(function: Handler) -> Handler:
            return self.on(function.__name__, function, namespace=namespace)

        return register(handler) if handler is not None else register

    def register_namespace(self, namespace: Namespace) -> None:
        """Register a class-based namespace (its ``on_<event>`` methods)."""
        namespace.server = self
        self.handlers.add_namespace(namespace)
        self.sio.add_namespace(namespace.namespace)

    def use(self, middleware: Handler, *, namespace: str = "/") -> Handler:
        """Run ``middleware(sid, auth, request)`` before each connection to ``namespace``.

        Raise :class:`ConnectionRefused` (or return False) to refuse.  Recovered
        sockets skip middlewares when ``RecoveryConfig.skip_middlewares``.
        """
        self.handlers.add_middleware(middleware, namespace)
        if namespace != "*":  # a middleware for every namespace opens none by itself
            self.sio.add_namespace(namespace)
        return middleware

    # -- sending ------------------------------------------------------------------------------

    @_guarded
    def emit(
        self,
        event: str | int | float,
        *args: Any,
        to: Rooms = None,
        room: Rooms = None,
        skip_sid: Rooms = None,
        namespace: str = "/",
        callback: Handler | None = None,
        timeout: float | None = None,
        volatile: bool = False,
        compress: bool = True,
        now: float | None = None,
    ) -> None:
        """Emit ``event`` with ``args`` to ``to``/``room`` (socket ids or rooms; None: everyone).

        ``skip_sid`` excludes sockets (or rooms).  With ``callback``: to a
        single socket it gets the ack's arguments (a late ack is dropped: use
        :meth:`call` to see timeouts), to several it gets one
        :class:`~socketio_proto.socketio.events.BroadcastAckCompleted` with every
        reply (after ``timeout`` seconds at most, if given).

        ``now`` stamps timeouts and stored recovery events; None means the time
        of the last input the server saw, which is right inside a handler.  Code
        running outside handlers (timers, other threads) should pass it.
        """
        targets = to if to is not None else room
        exclude = () if skip_sid is None else skip_sid
        if callback is None:
            self.sio.emit(
                event,
                *args,
                namespace=namespace,
                to=targets,
                exclude=exclude,
                volatile=volatile,
                compress=compress,
                now=now,
            )
        elif isinstance(targets, str) and not skip_sid and self._is_socket(targets, namespace):
            ack_id = self.sio.emit_with_ack(targets, event, *args, timeout=timeout, now=now)
            self._callbacks[targets, ack_id] = callback
        else:
            ack_id = self.sio.broadcast_with_ack(
                event,
                *args,
                namespace=namespace,
                to=targets,
                exclude=exclude,
                timeout=timeout,
                now=now,
            )
            self._broadcast_callbacks[namespace, ack_id] = callback

    @_guarded
    def _emit_to_socket(
        self,
        sid: str,
        namespace: str,
        event: str | int | float,
        args: tuple[Any, ...],
        *,
        volatile: bool,
        compress: bool,
    ) -> None:
        """:meth:`emit` to one socket without an ack: what :meth:`Socket.emit` does most."""
        self.sio.emit(
            event, *args, namespace=namespace, to=sid, volatile=volatile, compress=compress
        )

    def send(self, data: Any, **options: Any) -> None:
        """``emit("message", data, ...)``."""
        self.emit("message", data, **options)

    @_guarded
    def call(
        self,
        event: str | int | float,
        *args: Any,
        to: str,
        timeout: float | None = 60.0,
        now: float | None = None,
    ) -> PendingCall:
        """Emit to socket ``to`` and collect its ack arguments (:class:`PendingCall`).

        The timeout counts from ``now`` (see :meth:`emit`).
        """
        pending = PendingCall()
        ack_id = self.sio.emit_with_ack(to, event, *args, timeout=timeout, now=now)
        self._callbacks[to, ack_id] = pending
        return pending

    # -- sockets, rooms, sessions ----------------------------------------------------------------

    def socket(self, sid: str) -> Socket:
        """The handle of socket ``sid`` (emit as it, its rooms, session, auth...)."""
        return Socket(self, sid)

    @_guarded
    def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        self._check_namespace(sid, namespace)
        self.sio.enter_room(sid, room)

    @_guarded
    def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        self._check_namespace(sid, namespace)
        self.sio.leave_room(sid, room)

    @_guarded
    def close_room(self, room: str, namespace: str = "/") -> None:
        self.sio.close_room(room, namespace)

    @_guarded
    def rooms(self, sid: str, namespace: str | None = None) -> frozenset[str]:
        self._check_namespace(sid, namespace)
        return self.sio.rooms(sid)

    @_guarded
    def get_session(self, sid: str) -> dict[str, Any]:
        """Socket ``sid``'s session dict (live: changes are kept)."""
        return self.sio.session(sid)

    @_guarded
    def save_session(self, sid: str, session: dict[str, Any]) -> None:
        """Replace socket ``sid``'s session data."""
        data = self.sio.session(sid)
        if session is not data:  # the dict from get_session() is already the live one
            data.clear()
            data.update(session)

    @_guarded
    def disconnect(self, sid: str, namespace: str | None = None, *, close: bool = False) -> None:
        """Disconnect socket ``sid`` (``close``: its whole Engine.IO connection)."""
        self._check_namespace(sid, namespace)
        self.sio.disconnect(sid, close=close)

    # -- driving --------------------------------------------------------------------------------

    def handle_engine_event(self, event: EngineEvent, now: float) -> None:
        """Pass one engine event down to the protocol machine."""
        self.sio.handle_engine_event(event, now)

    def next_deadline(self) -> float | None:
        """The Socket.IO layer's next deadline (the engine's is separate)."""
        return self.sio.next_deadline()

    def handle_timeout(self, now: float) -> None:
        self.sio.handle_timeout(now)

    def update_time(self, now: float) -> None:
        """Tell the server the time before running code outside handlers (see :meth:`emit`)."""
        self.sio.update_time(now)

    def process(self) -> list[Job]:
        """The handler work for everything the protocol reported since the last call."""
        jobs = []
        for event in self.sio.events():
            job = self.dispatch(event)
            if job is not None:
                jobs.append(job)
        return jobs

    def dispatch(self, event: ServerEvent) -> Job | None:
        """The job for one protocol event (None: no application code to run)."""
        if isinstance(event, EventReceived):
            return self._event_job(event)
        if isinstance(event, ConnectRequested):
            self._connection_of[event.sid] = event.eio_sid
            return Job(event.eio_sid, f"connect to {event.namespace}", self._connect(event))
        if isinstance(event, Disconnected):
            return self._disconnect_job(event)
        if isinstance(event, AckReceived | AckTimedOut):
            return self._ack_job(event)
        callback = self._broadcast_callbacks.pop((event.namespace, event.ack_id), None)
        if callback is None:
            return None
        return Job("", f"broadcast ack {event.ack_id}", single(Call(callback, (event,))))

    # -- internals ------------------------------------------------------------------------------

    def _connect(self, event: ConnectRequested) -> Steps:
        sio, sid, namespace = self.sio, event.sid, event.namespace
        recovery = sio.config.recovery
        skip = event.recovered and recovery is not None and recovery.skip_middlewares
        try:
            for middleware in () if skip else self.handlers.middlewares(namespace):
                if (yield Call(middleware, (sid, event.auth, event.request))) is False:
                    raise ConnectionRefused()
            resolved = self.handlers.resolve(namespace, "connect")
            if resolved is not None:
                args = (*resolved.prefix, sid, event.auth)
                if not accepts_positional(resolved.handler, len(args)):
                    args = args[:-1]
                if (yield Call(resolved.handler, args)) is False:
                    raise ConnectionRefused()
        except ConnectionRefused as refusal:
            self._connection_of.pop(sid, None)
            sio.refuse(sid, refusal.message, refusal.data)
            return
        except Exception:
            self._connection_of.pop(sid, None)
            sio.refuse(sid)
            raise
        sio.accept(sid)

    def _event_job(self, event: EventReceived) -> Job | None:
        resolved = self.handlers.resolve(event.namespace, event.event)
        if resolved is None:
            return None
        call = Call(resolved.handler, (*resolved.prefix, event.sid, *event.args))
        return Job(
            self._connection_of.get(event.sid, ""),
            f"event {event.event!r} on {event.namespace}",
            self._answer(call, event),
        )

    def _answer(self, call: Call, event: EventReceived) -> Steps:
        result = yield call
        if event.ack_id is not None and self.sio.state(event.sid) is SocketState.CONNECTED:
            self.sio.ack(event.sid, event.ack_id, *ack_arguments(result))

    def _disconnect_job(self, event: Disconnected) -> Job | None:
        connection = self._connection_of.pop(event.sid, "")
        resolved = self.handlers.resolve(event.namespace, "disconnect")
        if resolved is None:
            return None
        args = (*resolved.prefix, event.sid, event.reason)
        if not accepts_positional(resolved.handler, len(args)):
            args = args[:-1]
        call = Call(resolved.handler, args)
        return Job(connection, f"disconnect from {event.namespace}", single(call))

    def _ack_job(self, event: AckReceived | AckTimedOut) -> Job | None:
        waiter = self._callbacks.pop((event.sid, event.ack_id), None)
        if isinstance(waiter, PendingCall):
            if isinstance(event, AckReceived):
                waiter._settle(event.args, None)
            else:
                waiter._settle(None, AckTimeout(f"no ack for {event.ack_id} from {event.sid}"))
            return None
        if waiter is None or isinstance(event, AckTimedOut):
            return None
        call = Call(waiter, tuple(event.args))
        return Job(self._connection_of.get(event.sid, ""), f"ack {event.ack_id}", single(call))

    def _is_socket(self, sid: str, namespace: str) -> bool:
        return (
            self.sio.state(sid) is not SocketState.NONE and self.sio.namespace_of(sid) == namespace
        )

    def _check_namespace(self, sid: str, namespace: str | None) -> None:
        if namespace is not None and self.sio.namespace_of(sid) != namespace:
            raise LocalProtocolError(f"socket {sid} is not in namespace {namespace!r}")
