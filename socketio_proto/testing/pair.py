"""An Engine.IO client and server joined in memory, on a fake clock.

Everything real runs -- both machines, h11, wsproto, the bytes between them --
except sockets and time::

    pair = EnginePair(server_app=echo)          # echo(server, event) answers messages
    pair.connect()
    pair.client.send("hello"); pair.pump()
    pair.advance(25.0)                          # heartbeats fire exactly when due

Use it to test Engine.IO behaviour deterministically, or as the model of how
an IO adapter drives the two wire layers.
"""

from __future__ import annotations

from collections.abc import Callable

from ..engineio.client import ClientConfig, ClientEvent, EngineClient
from ..engineio.config import EngineConfig
from ..engineio.events import ServerEvent
from ..wire.client import OpenConnection, WireClient
from ..wire.server import WireServer

__all__ = ["EnginePair"]

ServerApp = Callable[[WireServer, ServerEvent], None]


class EnginePair:
    """A :class:`WireClient` talking to a :class:`WireServer` without sockets.

    ``server_app`` is called for every server event as it happens (for example
    to echo messages); every event of both sides is also recorded in
    :attr:`server_events` and :attr:`client_events`.
    """

    def __init__(
        self,
        server_config: EngineConfig | None = None,
        client_config: ClientConfig | None = None,
        *,
        server: WireServer | None = None,
        server_app: ServerApp | None = None,
        host: str = "localhost",
        now: float = 0.0,
    ) -> None:
        #: The fake clock, in seconds.
        self.now = now
        self.server = server if server is not None else WireServer(config=server_config)
        self.host = host
        self.client = WireClient(EngineClient(client_config), host)
        self.server_app = server_app
        #: Every server event so far, in order.
        self.server_events: list[ServerEvent] = []
        #: Every client event so far, in order.
        self.client_events: list[ClientEvent] = []
        self._to_server: dict[int, int] = {}
        self._to_client: dict[int, int] = {}

    def connect(self) -> None:
        """Start the client's handshake and let it complete."""
        self.client.connect(self.now)
        self.pump()

    def pump(self, max_rounds: int = 10_000) -> None:
        """Move bytes and events both ways until nothing is left to do."""
        for _ in range(max_rounds):
            if not self.step():
                return
        raise RuntimeError(f"the pair did not settle within {max_rounds} rounds")

    def step(self) -> bool:
        """One round: deliver what each side has written, then dispatch events.

        Returns whether anything moved.  Interleave it with sends to test
        what happens while bytes are in flight.
        """
        moved = self._client_to_server()
        moved = self._server_to_client() or moved
        return self._dispatch_events() or moved

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass, firing every deadline of both sides in order, exactly when due."""
        self.advance_to(self.now + seconds)

    def advance_to(self, target: float) -> None:
        """Like :meth:`advance`, up to the absolute time ``target``."""
        while True:
            due = [d for d in self._deadlines() if d is not None]
            if not due or min(due) > target:
                break
            self.now = max(self.now, min(due))
            self._handle_timeout(self.now)
            self.pump()
        self.now = max(self.now, target)
        self.pump()

    def drop_connections(self) -> None:
        """Break every TCP connection at once, as a network failure would."""
        for client_conn, server_conn in list(self._to_server.items()):
            self._sever(client_conn, server_conn)
        self.pump()

    # -- plumbing ----------------------------------------------------------------------

    def _deadlines(self) -> list[float | None]:
        return [self.server.next_deadline(), self.client.next_deadline()]

    def _handle_timeout(self, now: float) -> None:
        self.server.handle_timeout(now)
        self.client.handle_timeout(now)

    def _client_to_server(self) -> bool:
        outputs = self.client.transmit(self.now)
        for out in outputs:
            if isinstance(out, OpenConnection):
                server_conn = self.server.connection_made()
                self._to_server[out.conn_id] = server_conn
                self._to_client[server_conn] = out.conn_id
                continue
            target = self._to_server.get(out.conn_id)
            if target is None:
                continue
            if out.data:
                self.server.receive_data(target, out.data, self.now)
            if out.close:
                self._sever(out.conn_id, target)
        return bool(outputs)

    def _server_to_client(self) -> bool:
        outputs = self.server.transmit(self.now)
        for out in outputs:
            target = self._to_client.get(out.conn_id)
            if target is None:
                continue
            if out.data:
                self.client.receive_data(target, out.data, self.now)
            if out.close:
                self._sever(target, out.conn_id)
        return bool(outputs)

    def _sever(self, client_conn: int, server_conn: int) -> None:
        self._to_server.pop(client_conn, None)
        self._to_client.pop(server_conn, None)
        self.server.connection_lost(server_conn, self.now)
        self.client.connection_lost(client_conn, self.now)

    def _dispatch_events(self) -> bool:
        server_events = self.server.events()
        for event in server_events:
            self.server_events.append(event)
            if self.server_app is not None:
                self.server_app(self.server, event)
        client_events = self.client.events()
        self.client_events.extend(client_events)
        return bool(server_events or client_events)
