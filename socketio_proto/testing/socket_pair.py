"""A Socket.IO application server and a Socket.IO client joined in memory, on a fake clock.

Everything real runs -- the application :class:`~socketio_proto.app.Server` and
its handlers, both Socket.IO machines, both Engine.IO machines, h11, wsproto --
except sockets and time::

    app = Server()

    @app.on("echo")
    def echo(sid, *args):
        return args

    pair = SocketPair(app)
    pair.connect()                       # joins "/" and waits for the reply
    ack_id = pair.sio.emit("echo", 1, ack=True)
    pair.pump()
    pair.events_of(AckReceived)          # [AckReceived(..., args=[1])]
    pair.drop_connections()              # the network fails: watch the client reconnect
    pair.advance(5.0)

Handlers run as they become due with :func:`~socketio_proto.app.run_sync`
(pass ``run=`` to change that).  Reconnections work: each new Engine.IO
session the client starts gets a fresh wire client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Type, TypeVar  # noqa: UP035 -- Type: 'type' is ambiguous in the docs

from ..app import Job, Server, run_sync
from ..engineio.client import EngineClient
from ..socketio.client import SocketClient
from ..socketio.config import ClientConfig
from ..socketio.events import ClientEvent, EngineStarted
from ..wire.client import WireClient
from ..wire.server import WireServer
from .pair import EnginePair

__all__ = ["SocketPair"]

E = TypeVar("E")


class SocketPair(EnginePair):
    """:class:`EnginePair` with Socket.IO on both sides.

    ``app`` is the application server, :attr:`sio` the :class:`SocketClient`;
    ``client`` (also ``wire_client``) is the wire layer of its current
    Engine.IO session, and ``socket_events`` holds every Socket.IO client
    event so far.
    """

    def __init__(
        self,
        app: Server | None = None,
        client_config: ClientConfig | None = None,
        *,
        run: Callable[[Job], None] = run_sync,
        host: str = "localhost",
        now: float = 0.0,
    ) -> None:
        self.app = app if app is not None else Server()
        super().__init__(server=WireServer(engine=self.app.engine), host=host, now=now)
        # Replaced by the client's first engine at connect().
        self.wire_client = self.client
        self.socket_client = SocketClient(client_config)
        self.run = run
        #: Every event of the Socket.IO client so far, in order.
        self.socket_events: list[ClientEvent] = []

    @property
    def sio(self) -> SocketClient:
        """The Socket.IO client (also ``socket_client``)."""
        return self.socket_client

    def connect(self, namespace: str = "/", auth: dict[str, Any] | None = None) -> None:
        """Start the client, join ``namespace`` and let everything settle."""
        self.socket_client.open_namespace(namespace, auth)
        self.socket_client.connect(self.now)
        self.pump()

    def events_of(self, kind: Type[E]) -> list[E]:  # noqa: UP006
        """The client events of one type, in order."""
        return [event for event in self.socket_events if isinstance(event, kind)]

    # -- plumbing ----------------------------------------------------------------------

    def _deadlines(self) -> list[float | None]:
        return [
            *super()._deadlines(),
            self.app.next_deadline(),
            self.socket_client.next_deadline(),
        ]

    def _handle_timeout(self, now: float) -> None:
        super()._handle_timeout(now)
        self.app.handle_timeout(now)
        self.socket_client.handle_timeout(now)

    def _dispatch_events(self) -> bool:
        moved = False
        for event in self.server.events():
            moved = True
            self.server_events.append(event)
            self.app.handle_engine_event(event, self.now)
        while jobs := self.app.process():
            moved = True
            for job in jobs:
                self.run(job)
        for client_event in self.client.events():
            moved = True
            self.client_events.append(client_event)
            self.socket_client.handle_engine_event(client_event, self.now)
        for socket_event in self.socket_client.events():
            moved = True
            self.socket_events.append(socket_event)
            if isinstance(socket_event, EngineStarted):
                self._attach(socket_event.engine)
        return moved

    def _attach(self, engine: EngineClient) -> None:
        # The previous session is over: its connections go away with it.
        for client_conn, server_conn in list(self._to_server.items()):
            self._sever(client_conn, server_conn)
        self.client = self.wire_client = WireClient(engine, self.host)
