"""Flask-SocketIO's way of writing handlers, on socketio_proto and the threads adapter.

:class:`FlaskSocketIO` wraps a Flask app and an application
:class:`~socketio_proto.app.Server`.  Handlers take the event's arguments only, as
in Flask-SocketIO, and run inside a Flask request context built from the socket's
Engine.IO handshake request, so ``flask.request.args``, ``request.headers``,
``request.cookies``, ``current_app`` and ``g`` work in them, and ``request.sid``,
``request.namespace`` and ``request.event`` are set; :func:`emit`, :func:`send`,
:func:`join_room`, :func:`leave_room`, :func:`close_room`, :func:`rooms` and
:func:`disconnect` act for the socket whose handler is running::

    from flask import Flask, render_template, request
    from socketio_proto.flask import FlaskSocketIO, emit, join_room

    app = Flask(__name__)
    socketio = FlaskSocketIO(app)

    @app.route("/")
    def index():
        return render_template("index.html")

    @socketio.on("connect", namespace="/test")
    def connect(auth):
        emit("my response", {"data": "Connected", "user": request.args.get("user")})

    @socketio.on("join", namespace="/test")
    def join(message):
        join_room(message["room"])

    socketio.run(app, port=5000)   # the page and Socket.IO on one port

The context lives in a ``contextvars`` variable set around each handler call and
reset afterwards, on the worker thread running it: nothing leaks to other threads or
to the next handler.  With ``manage_session`` (the default, as in Flask-SocketIO)
``flask.session`` is the socket's own copy of the cookie session of its handshake:
changes persist between that socket's events, never to the cookie.  A handler's
return value is the ack's arguments.  ``connect`` handlers may take ``auth`` and
``disconnect`` handlers ``reason``; raise
:class:`~socketio_proto.app.ConnectionRefused` (or return False) to refuse.

Register every handler of a namespace through the facade: it owns the namespace's
``connect`` and ``disconnect`` handlers (to set up and forget the socket's context).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, overload

import flask
from flask.ctx import RequestContext
from flask.sessions import SessionMixin

from .app.handlers import Handler, accepts_positional
from .app.server import Rooms, Server
from .engineio.config import EngineConfig
from .engineio.http import HttpRequest
from .errors import LocalProtocolError
from .socketio.config import ServerConfig
from .threads.server import ThreadedServer
from .wsgi import wsgi_environ

__all__ = [
    "FlaskSocketIO",
    "SocketContext",
    "close_room",
    "current_socket",
    "disconnect",
    "emit",
    "join_room",
    "leave_room",
    "rooms",
    "send",
]

F = TypeVar("F", bound=Handler)


@dataclass
class _Handshake:
    request: HttpRequest
    auth: Any
    #: The socket's ``flask.session`` (opened from the handshake's cookie by its first handler).
    session: SessionMixin | None = None


@dataclass(frozen=True)
class SocketContext:
    """The socket whose handler is running (:func:`current_socket`).

    ``request`` is the Engine.IO handshake request (path, query, headers and
    cookies), ``auth`` the CONNECT payload the client sent (``auth`` in the
    JavaScript client), ``event`` ``{"message": event name, "args": [...]}`` as
    Flask-SocketIO's ``request.event``.
    """

    socketio: FlaskSocketIO
    sid: str
    namespace: str
    request: HttpRequest
    auth: Any
    event: dict[str, Any]

    @property
    def server(self) -> Server:
        return self.socketio.server


_current: contextvars.ContextVar[SocketContext | None] = contextvars.ContextVar(
    "socketio_proto.flask.socket", default=None
)


def current_socket() -> SocketContext:
    """The running handler's socket; :class:`LocalProtocolError` outside handlers."""
    context = _current.get()
    if context is None:
        raise LocalProtocolError("not in a Socket.IO handler of a FlaskSocketIO")
    return context


class FlaskSocketIO:
    """A Flask app and Socket.IO handlers written the Flask-SocketIO way.

    ``server``: the application :class:`~socketio_proto.app.Server` to register on
    (default: a new one built from ``config`` and ``engine_config``, Socket.IO at
    ``/socket.io/``).  ``manage_session``: give each socket its own copy of the
    Flask session (see the module's documentation).
    """

    def __init__(
        self,
        app: flask.Flask,
        server: Server | None = None,
        *,
        config: ServerConfig | None = None,
        engine_config: EngineConfig | None = None,
        manage_session: bool = True,
    ) -> None:
        if server is None:
            server = Server(
                config,
                engine_config=engine_config
                if engine_config is not None
                else EngineConfig(path="/socket.io/"),
            )
        elif config is not None or engine_config is not None:
            raise LocalProtocolError("pass server, or config and engine_config, not both")
        self.flask_app = app
        self.server = server
        self.manage_session = manage_session
        self._handshakes: dict[str, _Handshake] = {}
        self._lifecycle: dict[str, dict[str, Handler]] = {}
        app.extensions["socketio_proto"] = self

    # -- registration ------------------------------------------------------------------------

    def on(self, event: str, namespace: str = "/") -> Callable[[F], F]:
        """Register a handler of ``event`` on ``namespace`` (a decorator): ``handler(*args)``."""

        def register(handler: F) -> F:
            self._adopt_namespace(namespace)
            if event in ("connect", "disconnect"):
                self._lifecycle[namespace][event] = handler
            else:
                self.server.on(event, self._wrap(handler, event, namespace), namespace=namespace)
            return handler

        return register

    @overload
    def event(self, handler: F, *, namespace: str = "/") -> F: ...

    @overload
    def event(self, handler: None = None, *, namespace: str = "/") -> Callable[[F], F]: ...

    def event(self, handler: F | None = None, *, namespace: str = "/") -> F | Callable[[F], F]:
        """Register a handler named after its function (``def my_ping()`` -> ``"my_ping"``)."""

        def register(function: F) -> F:
            return self.on(function.__name__, namespace)(function)

        return register(handler) if handler is not None else register

    # -- calls from anywhere (handlers, views, other threads) ---------------------------------

    def emit(
        self,
        event: str,
        *args: Any,
        to: Rooms = None,
        room: Rooms = None,
        skip_sid: Rooms = None,
        namespace: str = "/",
        callback: Handler | None = None,
    ) -> None:
        """Emit to ``to``/``room`` (sids or rooms), or to all of ``namespace``."""
        self.server.emit(
            event,
            *args,
            to=to,
            room=room,
            skip_sid=skip_sid,
            namespace=namespace,
            callback=callback,
        )

    def send(self, data: Any, **options: Any) -> None:
        """``emit("message", data, ...)``."""
        self.emit("message", data, **options)

    def close_room(self, room: str, namespace: str = "/") -> None:
        self.server.close_room(room, namespace)

    def start_background_task(
        self, target: Callable[..., object], *args: Any, **kwargs: Any
    ) -> threading.Thread:
        """Run ``target(*args, **kwargs)`` on a new daemon thread (started)."""
        thread = threading.Thread(target=target, args=args, kwargs=kwargs, daemon=True)
        thread.start()
        return thread

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    # -- serving ------------------------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 5000, **options: Any) -> ThreadedServer:
        """A (not yet started) :class:`ThreadedServer` for the Flask app and Socket.IO.

        ``options`` go to :class:`ThreadedServer` (``ssl``, ``max_workers``...).
        """
        return ThreadedServer(self.server, host=host, port=port, wsgi=self.flask_app, **options)

    def run(
        self,
        app: flask.Flask | None = None,
        host: str = "127.0.0.1",
        port: int = 5000,
        **options: Any,
    ) -> None:
        """Serve until Ctrl-C (then close gracefully and return).

        ``app`` is accepted for Flask-SocketIO's ``socketio.run(app, ...)``; it must
        be the app given to the constructor.
        """
        if app is not None and app is not self.flask_app:
            raise LocalProtocolError("run() serves the Flask app given to FlaskSocketIO")
        server = self.serve(host, port, **options)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()

    # -- the request context ------------------------------------------------------------------

    def _adopt_namespace(self, namespace: str) -> None:
        if namespace in self._lifecycle:
            return
        self._lifecycle[namespace] = {}
        self.server.use(self._remember, namespace=namespace)
        self.server.on("connect", self._connect_handler(namespace), namespace=namespace)
        self.server.on("disconnect", self._disconnect_handler(namespace), namespace=namespace)

    def _remember(self, sid: str, auth: Any, request: HttpRequest) -> None:
        """A middleware: keep the handshake for the socket's handlers (and its disconnect)."""
        self._handshakes[sid] = _Handshake(request, auth)

    def _connect_handler(self, namespace: str) -> Handler:
        def connect(sid: str, auth: Any) -> Any:
            accepted = False
            try:
                handler = self._lifecycle[namespace].get("connect")
                with self._context(sid, namespace, "connect", (auth,)):
                    result = None if handler is None else _call_trimmed(handler, auth)
                accepted = result is not False
                return result
            finally:
                if not accepted:
                    self._handshakes.pop(sid, None)

        return connect

    def _disconnect_handler(self, namespace: str) -> Handler:
        def disconnect(sid: str, reason: Any) -> None:
            try:
                handler = self._lifecycle[namespace].get("disconnect")
                if handler is not None:
                    with self._context(sid, namespace, "disconnect", (reason,)):
                        _call_trimmed(handler, reason)
            finally:
                self._handshakes.pop(sid, None)

        return disconnect

    def _wrap(self, handler: Handler, event: str, namespace: str) -> Handler:
        @functools.wraps(handler)
        def call(sid: str, *args: Any) -> Any:
            with self._context(sid, namespace, event, args):
                return handler(*args)

        return call

    @contextmanager
    def _context(
        self, sid: str, namespace: str, event: str, args: tuple[Any, ...]
    ) -> Iterator[SocketContext]:
        """Flask's request context from the handshake, and ours, around one handler call."""
        handshake = self._handshakes.get(sid)
        if handshake is None:  # connected before the facade knew the namespace
            socket = self.server.socket(sid)
            handshake = self._handshakes[sid] = _Handshake(socket.request, socket.auth)
        name, port = _host_and_port(handshake.request)
        environ = wsgi_environ(handshake.request, server_name=name, server_port=port)
        details = {"message": event, "args": list(args)}
        context = SocketContext(self, sid, namespace, handshake.request, handshake.auth, details)
        session = handshake.session if self.manage_session else None
        request_context = RequestContext(self.flask_app, environ, session=session)
        token = _current.set(context)
        request_context.push()
        try:
            if self.manage_session and handshake.session is None:
                # The socket's first handler opened it from the cookie: keep that one.
                handshake.session = request_context.session
            extra = {"sid": sid, "namespace": namespace, "event": details, "auth": handshake.auth}
            for attribute, value in extra.items():
                setattr(request_context.request, attribute, value)
            yield context
        finally:
            request_context.pop()
            _current.reset(token)


def _host_and_port(request: HttpRequest) -> tuple[str, int]:
    """``SERVER_NAME`` and ``SERVER_PORT`` for a request context: from its ``Host`` header."""
    default = 443 if request.secure else 80
    host = request.header("host") or "localhost"
    name, _, port = host.rpartition(":")
    if name and port.isdigit():
        return name, int(port)
    return host, default


def _call_trimmed(handler: Handler, argument: Any) -> Any:
    """``handler(argument)``, or ``handler()`` if it takes no argument (connect/disconnect)."""
    return handler(argument) if accepts_positional(handler, 1) else handler()


# -- Flask-SocketIO's context functions --------------------------------------------------------


def emit(
    event: str,
    *args: Any,
    to: Rooms = None,
    room: Rooms = None,
    broadcast: bool = False,
    include_self: bool = True,
    skip_sid: Rooms = None,
    namespace: str | None = None,
    callback: Handler | None = None,
) -> None:
    """Emit from the running handler: to its socket, or ``to``/``room``, or ``broadcast``.

    ``namespace`` defaults to the handler's; ``include_self=False`` skips the sender.
    """
    context = current_socket()
    targets = to if to is not None else room
    if targets is None and not broadcast:
        targets = context.sid
    if skip_sid is None and not include_self:
        skip_sid = context.sid
    context.server.emit(
        event,
        *args,
        to=targets,
        skip_sid=skip_sid,
        namespace=namespace if namespace is not None else context.namespace,
        callback=callback,
    )


def send(message: Any, **options: Any) -> None:
    """``emit("message", message, ...)`` from the running handler."""
    emit("message", message, **options)


def join_room(room: str, sid: str | None = None, namespace: str | None = None) -> None:
    """Put the handler's socket (or ``sid``) in ``room``."""
    context = current_socket()
    context.server.enter_room(sid or context.sid, room, namespace or context.namespace)


def leave_room(room: str, sid: str | None = None, namespace: str | None = None) -> None:
    """Take the handler's socket (or ``sid``) out of ``room``."""
    context = current_socket()
    context.server.leave_room(sid or context.sid, room, namespace or context.namespace)


def close_room(room: str, namespace: str | None = None) -> None:
    """Empty ``room`` on the handler's namespace (or ``namespace``)."""
    context = current_socket()
    context.server.close_room(room, namespace or context.namespace)


def rooms(sid: str | None = None, namespace: str | None = None) -> list[str]:
    """The rooms of the handler's socket (or ``sid``): its own id first, then sorted."""
    context = current_socket()
    sid = sid or context.sid
    names = context.server.rooms(sid, namespace or context.namespace)
    return [sid, *sorted(name for name in names if name != sid)]


def disconnect(sid: str | None = None, namespace: str | None = None) -> None:
    """Disconnect the handler's socket (or ``sid``) from its namespace."""
    context = current_socket()
    context.server.disconnect(sid or context.sid, namespace or context.namespace)
