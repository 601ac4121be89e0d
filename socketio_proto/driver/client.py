"""The glue between sockets and a Socket.IO client with handlers, minus the IO.

:class:`ClientDriver` owns a :class:`~socketio_proto.socketio.client.SocketClient`,
the :class:`~socketio_proto.wire.client.WireClient` of its current Engine.IO
session (a new one for every reconnection), and the client-side handlers.  An
adapter opens TCP connections when told, moves bytes, keeps one timer and runs
the jobs::

    driver = ClientDriver(Endpoint.parse("http://127.0.0.1:5000"))
    driver.on("my response", print, namespace="/test")
    driver.connect(["/test"], now)
    for out in driver.transmit(now):          # OpenConnection or Transmit, in order
        ...
    driver.receive_data(conn_id, data, now)   # b"" on EOF; connection_lost() on errors

Connection ids are the driver's own and never reused, across reconnections too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from ..app.handlers import accepts_positional
from ..app.jobs import Call, Job, Steps, ack_arguments, single
from ..app.server import AckTimeout, PendingCall
from ..socketio.client import SocketClient
from ..socketio.config import ClientConfig
from ..socketio.events import (
    AckReceived,
    AckTimedOut,
    ClientConnected,
    ClientEvent,
    ConnectRefused,
    Disconnected,
    EngineStarted,
    EventReceived,
    ReconnectAttempt,
    ReconnectFailed,
)
from ..wire.client import OpenConnection, WireClient
from ..wire.server import Transmit
from .scheduler import JobScheduler

__all__ = ["ClientDriver", "ConnectFailed", "Endpoint", "with_transports"]

Handler = Callable[..., Any]
_CLIENT = "client"  # every client job shares one connection key: they run in order


class ConnectFailed(ConnectionError):
    """The client could not join its namespaces (refused, unreachable, or no answer in time)."""

    def __init__(self, message: str, refusal: ConnectRefused | None = None) -> None:
        super().__init__(message)
        #: The server's CONNECT_ERROR, when it refused.
        self.refusal = refusal


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a client connects: ``http(s)://`` or ``ws(s)://`` host and port."""

    host: str
    port: int
    secure: bool = False

    @classmethod
    def parse(cls, url: str) -> tuple[Endpoint, str]:
        """The endpoint of ``url`` and the namespace its path names (``"/"`` if none)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https", "ws", "wss"):
            raise ValueError(f"unsupported URL scheme in {url!r} (use http, https, ws or wss)")
        if not parts.hostname:
            raise ValueError(f"no host in {url!r}")
        secure = parts.scheme in ("https", "wss")
        port = parts.port if parts.port is not None else (443 if secure else 80)
        namespace = parts.path.rstrip("/") or "/"
        return cls(parts.hostname, port, secure), namespace

    @property
    def host_header(self) -> str:
        default = 443 if self.secure else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


class ClientDriver:
    """A Socket.IO client with handlers, on driver-owned connection ids."""

    @classmethod
    def for_url(
        cls,
        url: str,
        config: ClientConfig | None,
        *,
        namespaces: Iterable[str] | None,
        transports: Iterable[str] | None,
        handlers: Iterable[tuple[str | int | float, Handler, str]] = (),
    ) -> tuple[ClientDriver, list[str]]:
        """A driver for ``url`` with ``handlers`` (event, handler, namespace) registered.

        Returns it with the namespaces to join: ``namespaces``, or the URL's path.
        ``transports`` restricts the engine (None: the config's).
        """
        endpoint, url_namespace = Endpoint.parse(url)
        wanted = list(namespaces) if namespaces is not None else [url_namespace]
        driver = cls(endpoint, with_transports(config, transports))
        for event, handler, namespace in handlers:
            driver.on(event, handler, namespace=namespace)
        return driver, wanted

    def __init__(self, endpoint: Endpoint, config: ClientConfig | None = None) -> None:
        self.endpoint = endpoint
        self.sio = SocketClient(config)
        self.wire: WireClient | None = None
        self.scheduler = JobScheduler()
        self._handlers: dict[tuple[str, str | int | float], Handler] = {}
        self._waiters: dict[tuple[str, int], Handler | PendingCall] = {}
        self._ready: list[Job] = []
        # driver id <-> the current wire client's id; a reconnection starts afresh
        self._next_id = 0
        self._to_wire: dict[int, int] = {}
        self._from_wire: dict[int, int] = {}
        self._orphans: list[int] = []
        #: Namespace -> socket id, for the namespaces connected now.
        self.connected: dict[str, str] = {}
        #: Namespaces the server refused, with its answer.
        self.refused: dict[str, ConnectRefused] = {}
        #: Every reconnection attempt failed (or reconnection is off and the link broke).
        self.gave_up = False
        #: The first connection failed before any namespace was joined.
        self.unreachable = False
        self._ever_connected = False

    # -- handlers ------------------------------------------------------------------------

    def on(self, event: str | int | float, handler: Handler, *, namespace: str = "/") -> None:
        """Call ``handler(*args)`` for ``event``; its return value is the ack, if one is asked.

        Reserved names: ``"connect"`` (no arguments), ``"connect_error"`` (the
        refusal's ``data``, else its message) and ``"disconnect"`` (the reason).
        ``"*"`` catches events without a handler (the event name comes first).
        """
        self._handlers[namespace, event] = handler

    # -- application calls ---------------------------------------------------------------

    def connect(
        self,
        namespaces: Iterable[str],
        now: float,
        *,
        auth: Mapping[str, Any] | None = None,
    ) -> None:
        """Open ``namespaces`` (each presenting ``auth``) and start the first engine."""
        for namespace in namespaces:
            self.sio.open_namespace(namespace, auth)
        self.sio.connect(now)
        self._pump(now)

    def emit(
        self,
        event: str | int,
        *args: Any,
        namespace: str = "/",
        callback: Handler | None = None,
        now: float,
    ) -> None:
        """Emit ``event``; ``callback(*ack_args)`` runs when the server acknowledges."""
        ack_id = self.sio.emit(event, *args, namespace=namespace, ack=callback is not None)
        if callback is not None:
            assert ack_id is not None
            self._waiters[namespace, ack_id] = callback
        self._pump(now)

    def call(
        self,
        event: str | int,
        *args: Any,
        namespace: str = "/",
        timeout: float | None = 60.0,
        now: float,
    ) -> PendingCall:
        """Emit ``event`` and collect the server's ack arguments."""
        pending = PendingCall()
        ack_id = self.sio.emit(
            event, *args, namespace=namespace, ack=True, timeout=timeout, now=now
        )
        assert ack_id is not None
        self._waiters[namespace, ack_id] = pending
        self._pump(now)
        return pending

    def close(self, now: float) -> None:
        """Leave every namespace and close the connection for good."""
        self.sio.close(now)
        self._pump(now)

    def settled(self, namespaces: Iterable[str]) -> bool:
        """Whether joining ``namespaces`` is over: all joined, or :meth:`failure` says why not."""
        wanted = list(namespaces)
        return self.failure(wanted) is not None or all(ns in self.connected for ns in wanted)

    def failure(self, namespaces: Iterable[str]) -> ConnectFailed | None:
        """Why joining ``namespaces`` failed, or None while it may still succeed."""
        for namespace in namespaces:
            refusal = self.refused.get(namespace)
            if refusal is not None:
                return ConnectFailed(f"{namespace} refused: {refusal.message}", refusal)
        if self.unreachable or self.gave_up or (self.closed and not self.connected):
            return ConnectFailed(f"cannot connect to {self.endpoint.host_header}")
        return None

    @property
    def closed(self) -> bool:
        """The client is finished (closed, or gave up reconnecting)."""
        return self.sio.closed

    @property
    def engine_finished(self) -> bool:
        """The current engine is closed and its connections are hung up.

        After :meth:`close`, a polling engine may first wait for the answer to a
        POST in flight, then for the answers to its close packet and its parked
        poll; wait for this (with a timeout) before closing sockets yourself.
        """
        return self.wire is None or self.wire.finished

    @property
    def transport(self) -> str | None:
        """The current Engine.IO transport (``"polling"``/``"websocket"``), None if none."""
        engine = self.sio.engine
        return None if engine is None or self.wire is None else engine.transport

    # -- bytes ---------------------------------------------------------------------------

    def transmit(self, now: float) -> list[OpenConnection | Transmit]:
        """Connections to open and bytes to write, in order."""
        self._pump(now)
        out: list[OpenConnection | Transmit] = [Transmit(c, b"", True) for c in self._orphans]
        self._orphans = []
        if self.wire is None:
            return out
        for item in self.wire.transmit(now):
            if isinstance(item, OpenConnection):
                self._next_id += 1
                self._to_wire[self._next_id] = item.conn_id
                self._from_wire[item.conn_id] = self._next_id
                out.append(OpenConnection(self._next_id))
            else:
                conn = self._from_wire.get(item.conn_id)
                if conn is None:
                    continue
                if item.close:
                    del self._from_wire[item.conn_id]
                    del self._to_wire[conn]
                out.append(Transmit(conn, item.data, item.close))
        return out

    def receive_data(self, conn_id: int, data: bytes, now: float) -> None:
        wire_id = self._to_wire.get(conn_id)
        if wire_id is not None and self.wire is not None:
            self.wire.receive_data(wire_id, data, now)
            self._pump(now)

    def connection_lost(self, conn_id: int, now: float) -> None:
        wire_id = self._to_wire.pop(conn_id, None)
        if wire_id is not None and self.wire is not None:
            self._from_wire.pop(wire_id, None)
            self.wire.connection_lost(wire_id, now)
            self._pump(now)

    # -- time and jobs -------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        deadlines = [self.sio.next_deadline()]
        if self.wire is not None:
            deadlines.append(self.wire.next_deadline())
        due = [d for d in deadlines if d is not None]
        return min(due) if due else None

    def handle_timeout(self, now: float) -> None:
        if self.wire is not None:
            self.wire.handle_timeout(now)
        self.sio.handle_timeout(now)
        self._pump(now)

    def take_jobs(self) -> list[Job]:
        ready, self._ready = self._ready, []
        return ready

    def pending_jobs(self) -> bool:
        """Whether jobs are released and not yet taken."""
        return bool(self._ready)

    def job_finished(self, job: Job, now: float, *, pump: bool = True) -> None:
        """``job`` is done (``pump=False``: the caller calls :meth:`transmit` next, which pumps)."""
        following = self.scheduler.finished(job)
        if following is not None:
            self._ready.append(following)
        if pump:
            self._pump(now)

    # -- internals -----------------------------------------------------------------------

    def _pump(self, now: float) -> None:
        while True:
            moved = False
            if self.wire is not None:
                engine = self.wire.client
                for engine_event in self.wire.events():
                    moved = True
                    self.sio.handle_engine_event(engine_event, now, engine=engine)
            for event in self.sio.events():
                moved = True
                job = self._dispatch(event)
                if job is not None:
                    self._ready += self.scheduler.add([job])
            if not moved:
                return

    def _dispatch(self, event: ClientEvent) -> Job | None:
        if isinstance(event, EngineStarted):
            self._attach(event)
            return None
        if isinstance(event, EventReceived):
            return self._event_job(event)
        if isinstance(event, AckReceived | AckTimedOut):
            return self._ack_job(event)
        if isinstance(event, ClientConnected):
            self.connected[event.namespace] = event.sid
            self._ever_connected = True
            self.refused.pop(event.namespace, None)
            return self._reserved(event.namespace, "connect", ())
        if isinstance(event, ConnectRefused):
            self.refused[event.namespace] = event
            detail = event.data if event.data is not None else event.message
            return self._reserved(event.namespace, "connect_error", (detail,))
        if isinstance(event, Disconnected):
            self.connected.pop(event.namespace, None)
            return self._reserved(event.namespace, "disconnect", (str(event.reason),))
        if isinstance(event, ReconnectFailed):
            self.gave_up = True
        elif isinstance(event, ReconnectAttempt) and not self._ever_connected:
            self.unreachable = True
        return None

    def _attach(self, event: EngineStarted) -> None:
        # The previous session is over: hang up its connections.
        self._orphans += self._to_wire
        self._to_wire.clear()
        self._from_wire.clear()
        self.wire = WireClient(event.engine, self.endpoint.host_header)

    def _event_job(self, event: EventReceived) -> Job | None:
        handler = self._handlers.get((event.namespace, event.event))
        args: tuple[Any, ...] = tuple(event.args)
        if handler is None:
            handler = self._handlers.get((event.namespace, "*"))
            args = (event.event, *args)
        if handler is None:
            return None
        return Job(
            _CLIENT,
            f"event {event.event!r} on {event.namespace}",
            self._answer(handler, args, event),
        )

    def _answer(self, handler: Handler, args: tuple[Any, ...], event: EventReceived) -> Steps:
        result = yield Call(handler, args)
        if event.ack_id is not None:
            self.sio.ack(event.namespace, event.ack_id, *ack_arguments(result))

    def _ack_job(self, event: AckReceived | AckTimedOut) -> Job | None:
        waiter = self._waiters.pop((event.namespace, event.ack_id), None)
        if isinstance(waiter, PendingCall):
            if isinstance(event, AckReceived):
                waiter._settle(event.args, None)
            else:
                waiter._settle(None, AckTimeout(f"no ack for {event.ack_id} on {event.namespace}"))
            return None
        if waiter is None or isinstance(event, AckTimedOut):
            return None
        return Job(_CLIENT, f"ack {event.ack_id}", single(Call(waiter, tuple(event.args))))

    def _reserved(self, namespace: str, name: str, args: tuple[Any, ...]) -> Job | None:
        handler = self._handlers.get((namespace, name))
        if handler is None:
            return None
        if args and not accepts_positional(handler, len(args)):
            args = ()
        return Job(_CLIENT, f"{name} on {namespace}", single(Call(handler, args)))


def with_transports(config: ClientConfig | None, transports: Iterable[str] | None) -> ClientConfig:
    """``config`` with its engine restricted to ``transports`` (None: unchanged)."""
    config = config if config is not None else ClientConfig()
    if transports is None:
        return config
    chosen = tuple(transports)
    for name in chosen:
        if name not in ("polling", "websocket"):
            raise ValueError(f"unknown transport {name!r}")
    return replace(config, engine=replace(config.engine, transports=chosen))  # type: ignore[arg-type]
