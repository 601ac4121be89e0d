"""A byte-level harness for :class:`SocketServer`: the wire harness with Socket.IO on top.

:class:`SocketHarness` feeds every engine event to a ``SocketServer`` and runs
an app on the Socket.IO events.  The default app is the official Socket.IO v5
suite's reference server (protocol.md 3.2): namespaces ``/`` and ``/custom``
emit ``auth`` on connection, ``message`` is echoed as ``message-back`` and
``message-with-ack`` is acknowledged with its own arguments.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from socketio_proto.engineio.config import EngineConfig
from socketio_proto.engineio.events import ServerEvent
from socketio_proto.socketio import events as sio_events
from socketio_proto.socketio.config import ServerConfig
from socketio_proto.socketio.server import SocketServer
from tests.support.wire_client import WireHarness, WsClient

__all__ = ["SIO_SUITE_CONFIG", "SIO_SUITE_SERVER", "SocketHarness", "reference_app"]

#: The engine configuration of the Socket.IO v5 suite's reference server.
SIO_SUITE_CONFIG = EngineConfig(
    path="/socket.io/", ping_interval=0.3, ping_timeout=0.2, cors_allowed_origins="*"
)
#: Its Socket.IO configuration (connectTimeout 1000 ms, no recovery).
SIO_SUITE_SERVER = ServerConfig(connect_timeout=1.0)

App = Callable[[SocketServer, sio_events.ServerEvent], None]


def reference_app(sio: SocketServer, event: sio_events.ServerEvent) -> None:
    """The reference server's handlers."""
    if isinstance(event, sio_events.ConnectRequested):
        sio.accept(event.sid)
        auth = event.auth if event.auth is not None else {}
        sio.emit("auth", auth, namespace=event.namespace, to=event.sid)
    elif isinstance(event, sio_events.EventReceived):
        if event.event == "message":
            sio.emit("message-back", *event.args, namespace=event.namespace, to=event.sid)
        elif event.event == "message-with-ack" and event.ack_id is not None:
            sio.ack(event.sid, event.ack_id, *event.args)


class SocketHarness(WireHarness):
    """A wire harness whose app is a :class:`SocketServer` plus ``app``."""

    def __init__(
        self,
        config: EngineConfig = SIO_SUITE_CONFIG,
        server_config: ServerConfig = SIO_SUITE_SERVER,
        *,
        app: App | None = reference_app,
        namespaces: Any = ("/custom",),
        start: float = 0.0,
    ) -> None:
        super().__init__(config, echo=False, start=start)
        self.sio = SocketServer(self.engine, server_config, namespaces=namespaces)
        self.app = app
        #: Every Socket.IO event so far, in order.
        self.sio_events: list[sio_events.ServerEvent] = []

    def next_deadline(self) -> float | None:
        due = [d for d in (self.wire.next_deadline(), self.sio.next_deadline()) if d is not None]
        return min(due) if due else None

    def handle_timeout(self, now: float) -> None:
        self.wire.handle_timeout(now)
        self.sio.handle_timeout(now)
        self._run_app()

    def on_event(self, event: ServerEvent) -> None:
        self.sio.handle_engine_event(event, self.now)
        self._run_app()

    def _run_app(self) -> None:
        # What the app does may cause more events (a broadcast ack with no target...).
        while events := self.sio.events():
            for event in events:
                self.sio_events.append(event)
                if self.app is not None:
                    self.app(self.sio, event)

    # -- Socket.IO shortcuts ----------------------------------------------------------------

    def connect_ws(self, namespace_packet: str = "40") -> tuple[WsClient, str, str]:
        """The suite's ``initSocketIOConnection()``: WS handshake, CONNECT, reply and ``auth``.

        Returns the client, the Engine.IO sid and the socket id.
        """
        ws, eio_sid = self.open_websocket("EIO=4&transport=websocket")
        ws.send(namespace_packet)
        reply = ws.recv()
        assert isinstance(reply, str) and reply.startswith("40"), reply
        payload = reply[reply.index("{") :]
        sid = json.loads(payload)["sid"]
        auth = ws.recv()
        assert isinstance(auth, str) and '["auth",' in auth, auth
        return ws, eio_sid, sid

    def of_type(self, kind: type[Any]) -> list[Any]:
        """The Socket.IO events of one type, in order."""
        return [e for e in self.sio_events if isinstance(e, kind)]
