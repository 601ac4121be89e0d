"""The Socket.IO server machine: namespaces, sockets, acks and recovery over Engine.IO.

:class:`SocketServer` sits on an :class:`~socketio_proto.engineio.server.EngineServer`.
Whoever drives the engine hands its events to :meth:`SocketServer.handle_engine_event`;
the server decodes Socket.IO packets, keeps one socket per (connection,
namespace), and reports what happened as events (:mod:`socketio_proto.socketio.events`).  The
application answers with calls -- :meth:`~SocketServer.accept`,
:meth:`~SocketServer.emit`, :meth:`~SocketServer.ack`... -- which queue Engine.IO
messages on the engine.  Time comes in as ``now``; nothing here blocks or
reads a clock::

    engine = EngineServer(EngineConfig(path="/socket.io/"))
    sio = SocketServer(engine)
    ...                                    # feed the engine requests/WebSockets
    for event in engine.events():
        sio.handle_engine_event(event, now)
    for event in sio.events():
        if isinstance(event, ConnectRequested):
            sio.accept(event.sid)
        elif isinstance(event, EventReceived) and event.ack_id is not None:
            sio.ack(event.sid, event.ack_id, *event.args)

Per connection, each namespace's socket follows :data:`TRANSITIONS`; an input
missing from the table is an invalid state (protocol.md 2.8): revision 5
closes the whole Engine.IO connection, revision 4 ignores the packet.
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections.abc import Callable, Iterable
from typing import Any, Final, Literal

from .._fastinit import StateEnum
from ..engineio import events as eio
from ..engineio.http import HttpRequest
from ..engineio.server import EngineServer
from ..errors import LocalProtocolError, ProtocolError
from .adapter import Adapter, BroadcastOptions, InMemoryAdapter, LocalNamespace
from .config import ServerConfig
from .events import (
    RECOVERABLE_REASONS,
    AckReceived,
    AckTimedOut,
    BroadcastAckCompleted,
    ConnectRequested,
    Disconnected,
    DisconnectReason,
    EventReceived,
    ServerEvent,
)
from .packet import Packet, PacketType, SocketIORevision, split_namespace_query
from .parser import Decoder, Encoder, PacketDecoder, PacketEncoder
from .recovery import RecoveryStore, StoredSession

__all__ = [
    "TRANSITIONS",
    "NamespaceMatcher",
    "SocketInput",
    "SocketServer",
    "SocketState",
    "namespace_matches",
]


class SocketState(StateEnum):
    """Where one namespace stands on one Engine.IO connection."""

    #: No socket: the namespace was never joined, or was left.
    NONE = "none"
    #: CONNECT received; the application has not answered yet.
    CONNECTING = "connecting"
    CONNECTED = "connected"


class SocketInput(StateEnum):
    """What can happen to a namespace's socket."""

    CONNECT = "CONNECT"
    EVENT = "EVENT"
    ACK = "ACK"
    DISCONNECT = "DISCONNECT"
    CONNECT_ERROR = "CONNECT_ERROR"
    ACCEPT = "accept()"
    REFUSE = "refuse()"
    SERVER_DISCONNECT = "disconnect()"
    CONNECTION_CLOSED = "connection closed"


_N, _CING, _CED = SocketState.NONE, SocketState.CONNECTING, SocketState.CONNECTED
_I = SocketInput

#: The socket machine.  Packets from the client are the upper-case inputs; a
#: CONNECT_ERROR from a client, an event before the CONNECT reply or a second
#: CONNECT is absent on purpose: each is an invalid state.
TRANSITIONS: Final[dict[tuple[SocketState, SocketInput], SocketState]] = {
    (_N, _I.CONNECT): _CING,
    (_CING, _I.ACCEPT): _CED,
    (_CING, _I.REFUSE): _N,
    (_CING, _I.SERVER_DISCONNECT): _N,
    (_CING, _I.CONNECTION_CLOSED): _N,
    (_CED, _I.EVENT): _CED,
    (_CED, _I.ACK): _CED,
    (_CED, _I.DISCONNECT): _N,
    (_CED, _I.SERVER_DISCONNECT): _N,
    (_CED, _I.CONNECTION_CLOSED): _N,
}

_PACKET_INPUT: Final = {
    PacketType.CONNECT: _I.CONNECT,
    PacketType.EVENT: _I.EVENT,
    PacketType.ACK: _I.ACK,
    PacketType.DISCONNECT: _I.DISCONNECT,
    PacketType.CONNECT_ERROR: _I.CONNECT_ERROR,
    # Reassembled binary packets come out of the decoder as EVENT/ACK already.
    PacketType.BINARY_EVENT: _I.EVENT,
    PacketType.BINARY_ACK: _I.ACK,
}

_ENGINE_REASONS: Final = {
    eio.CloseReason.TRANSPORT_CLOSE: DisconnectReason.TRANSPORT_CLOSE,
    eio.CloseReason.TRANSPORT_ERROR: DisconnectReason.TRANSPORT_ERROR,
    eio.CloseReason.PING_TIMEOUT: DisconnectReason.PING_TIMEOUT,
    eio.CloseReason.PARSE_ERROR: DisconnectReason.PARSE_ERROR,
    eio.CloseReason.FORCED_CLOSE: DisconnectReason.FORCED_CLOSE,
    eio.CloseReason.SERVER_CLOSE: DisconnectReason.FORCED_SERVER_CLOSE,
}

INVALID_NAMESPACE: Final = "Invalid namespace"
NamespaceMatcher = str | re.Pattern[str] | Callable[[str], bool]


class _Connection:
    __slots__ = ("closing", "decoder", "due", "eio_sid", "request", "revision", "sockets")

    def __init__(
        self, eio_sid: str, revision: SocketIORevision, decoder: PacketDecoder, request: HttpRequest
    ) -> None:
        self.eio_sid = eio_sid
        self.revision: SocketIORevision = revision
        self.decoder = decoder
        self.request = request
        self.sockets: dict[str, _Socket] = {}
        self.due: float | None = None
        self.closing = False


class _Socket:
    __slots__ = (
        "acks",
        "auth",
        "conn",
        "data",
        "held",
        "namespace",
        "pid",
        "replay",
        "sid",
        "state",
    )

    def __init__(self, sid: str, namespace: _Namespace, conn: _Connection, auth: Any) -> None:
        self.sid = sid
        self.namespace = namespace
        self.conn = conn
        self.auth = auth
        self.state = _CING
        self.pid: str | None = None
        self.data: dict[str, Any] = {}
        # Frames the application sent before accept(): they follow the CONNECT reply.
        self.held: list[list[str | bytes]] = []
        # Recovered packets: they precede the CONNECT reply.
        self.replay: list[Packet] = []
        # Ids of our emits this socket has yet to acknowledge (None: none, the common case).
        self.acks: set[int] | None = None

    def transition(self, event: SocketInput) -> None:
        try:
            self.state = TRANSITIONS[self.state, event]
        except KeyError:
            raise LocalProtocolError(
                f"socket {self.sid}: no transition from {self.state.name} on {event.value}"
            ) from None


class _PendingAck:
    __slots__ = ("ack_id", "due", "sid")

    def __init__(self, sid: str, ack_id: int, due: float | None) -> None:
        self.sid = sid
        self.ack_id = ack_id
        self.due = due


class _BroadcastAck:
    __slots__ = ("ack_id", "departed", "due", "namespace", "responses", "waiting")

    def __init__(self, namespace: str, ack_id: int, targets: set[str], due: float | None) -> None:
        self.namespace = namespace
        self.ack_id = ack_id
        self.waiting = targets
        self.departed: set[str] = set()
        self.responses: dict[str, list[Any]] = {}
        self.due = due


class _Namespace:
    """One namespace of the server; the :class:`LocalNamespace` its adapter sees."""

    __slots__ = ("_server", "ack_ids", "adapter", "name", "sockets")

    def __init__(
        self, server: SocketServer, name: str, adapter_factory: Callable[[LocalNamespace], Adapter]
    ) -> None:
        self._server = server
        self.name = name
        self.sockets: dict[str, _Socket] = {}
        # One ack counter per namespace, shared by its sockets and broadcasts (as in JS).
        self.ack_ids = itertools.count()
        self.adapter = adapter_factory(self)

    def deliver(self, sids: Iterable[str], packet: Packet, options: BroadcastOptions) -> None:
        server = self._server
        frames = server._encode(packet)
        frames_v4: list[str | bytes] | None = None
        sockets = self.sockets
        for sid in sids:
            socket = sockets.get(sid)
            if socket is None:
                continue
            if socket.conn.revision == 4:
                if frames_v4 is None:
                    frames_v4 = server._encode_v4(packet)
                server._send_frames(socket, frames_v4, options.volatile, options.compress)
            else:
                server._send_frames(socket, frames, options.volatile, options.compress)

    def disconnect(self, sids: Iterable[str], close: bool) -> None:
        for sid in list(sids):
            if sid in self.sockets:
                self._server.disconnect(sid, close=close)


class SocketServer:
    """Every Socket.IO socket of one server, over one :class:`EngineServer`."""

    def __init__(
        self,
        engine: EngineServer,
        config: ServerConfig | None = None,
        *,
        namespaces: Iterable[NamespaceMatcher] | Literal["*"] = ("/",),
        adapter_factory: Callable[[LocalNamespace], Adapter] = InMemoryAdapter,
    ) -> None:
        self.engine = engine
        self.config = config if config is not None else ServerConfig()
        self.adapter_factory = adapter_factory
        self._encoder = self._make_encoder(5)
        self._encoder_v4 = self._make_encoder(4)
        self._last_encoded: tuple[Packet, list[str | bytes]] | None = None
        # The last emitted packet with a recovery offset, and the same without it.
        self._without_offset: tuple[Packet, Packet] | None = None
        self._connections: dict[str, _Connection] = {}
        self._sockets: dict[str, _Socket] = {}
        self._namespaces: dict[str, _Namespace] = {}
        self._matchers: list[NamespaceMatcher] = []
        self._accept_all = False
        self._events: list[ServerEvent] = []
        self._acks: dict[tuple[str, int], _PendingAck | _BroadcastAck] = {}
        self._broadcast_acks: dict[tuple[str, int], _BroadcastAck] = {}
        self._timers: list[tuple[float, int, _Connection | _PendingAck | _BroadcastAck]] = []
        self._timer_seq = itertools.count()
        recovery = self.config.recovery
        self._recovery = RecoveryStore(recovery) if recovery is not None else None
        #: The latest ``now`` seen; calls that do not take ``now`` stamp with it.
        self._now = 0.0
        self.add_namespace("/")
        for matcher in (namespaces,) if namespaces == "*" else namespaces:
            self.add_namespace(matcher)

    # -- namespaces ---------------------------------------------------------------------

    def add_namespace(self, namespace: NamespaceMatcher) -> None:
        """Accept connections to ``namespace``: a name, a regex, a predicate on names, or ``"*"``.

        A pattern or predicate makes *dynamic* namespaces: each matching name
        becomes a namespace of its own on its first connection.
        """
        if namespace == "*":
            self._accept_all = True
        elif isinstance(namespace, str):
            if not namespace.startswith("/") or "," in namespace:
                raise LocalProtocolError(
                    f"invalid namespace {namespace!r}: must start with '/' and contain no ','"
                )
            self._namespace(namespace)
        elif isinstance(namespace, re.Pattern) or callable(namespace):
            self._matchers.append(namespace)
        else:
            raise LocalProtocolError(f"not a namespace, pattern or predicate: {namespace!r}")

    @property
    def namespaces(self) -> frozenset[str]:
        """The namespaces that exist (static ones and the dynamic ones created so far)."""
        return frozenset(self._namespaces)

    def adapter(self, namespace: str = "/") -> Adapter:
        """The adapter of an existing namespace."""
        return self._require_namespace(namespace).adapter

    # -- engine side ----------------------------------------------------------------------

    def handle_engine_event(self, event: eio.ServerEvent, now: float) -> None:
        """Take one event from the engine (pass every one, in order)."""
        self._now = now
        if isinstance(event, eio.MessageReceived):
            conn = self._connections.get(event.sid)
            if conn is not None and not conn.closing:
                self._on_message(conn, event.data, now)
        elif isinstance(event, eio.SessionOpened):
            self._on_session_opened(event, now)
        elif isinstance(event, eio.SessionClosed):
            conn = self._connections.pop(event.sid, None)
            if conn is not None:
                self._drop_connection(conn, _ENGINE_REASONS[event.reason], now, event.detail)
        # SessionUpgraded changes nothing at this layer.

    def handle_engine_events(self, events: Iterable[eio.ServerEvent], now: float) -> None:
        """:meth:`handle_engine_event` for each of ``events``."""
        for event in events:
            self.handle_engine_event(event, now)

    def events(self) -> list[ServerEvent]:
        """Drain what happened since the last call."""
        events, self._events = self._events, []
        return events

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timeout` must next be called (connect and ack timeouts, expiry)."""
        timers = self._timers
        while timers:
            deadline, _, owner = timers[0]
            if owner.due == deadline:
                break
            heapq.heappop(timers)
        due = [timers[0][0]] if timers else []
        if self._recovery is not None:
            expiry = self._recovery.next_deadline()
            if expiry is not None:
                due.append(expiry)
        return min(due) if due else None

    def handle_timeout(self, now: float) -> None:
        """Fire every deadline due at ``now``."""
        self._now = now
        timers = self._timers
        while timers and timers[0][0] <= now:
            deadline, _, owner = heapq.heappop(timers)
            if owner.due != deadline:
                continue
            owner.due = None
            if isinstance(owner, _Connection):
                self._connect_timeout(owner, now)
            elif isinstance(owner, _PendingAck):
                self._acks.pop((owner.sid, owner.ack_id), None)
                socket = self._sockets[owner.sid]  # a leaving socket disarms its acks
                if socket.acks is not None:
                    socket.acks.discard(owner.ack_id)
                self._events.append(AckTimedOut(owner.sid, socket.namespace.name, owner.ack_id))
            else:
                self._finish_broadcast_ack(owner, timed_out=True)
        if self._recovery is not None:
            self._recovery.expire(now)

    def update_time(self, now: float) -> None:
        """Set the time calls without ``now`` use (it never goes back)."""
        self._now = max(self._now, now)

    def close(self, now: float) -> None:
        """Shut down: every socket leaves (``server shutting down``), every session closes."""
        self._now = now
        for conn in list(self._connections.values()):
            self._close_connection(conn, DisconnectReason.SERVER_SHUTTING_DOWN, now)

    # -- answering CONNECT ------------------------------------------------------------------

    def accept(self, sid: str) -> bool:
        """Let socket ``sid`` in: send the CONNECT reply, then what was emitted to it meanwhile.

        Returns False if the socket is gone (its connection closed meanwhile).
        """
        socket = self._sockets.get(sid)
        if socket is None or socket.state is not _CING:
            if socket is not None:
                raise LocalProtocolError(f"socket {sid} is already connected")
            return False
        socket.transition(_I.ACCEPT)
        conn = socket.conn
        conn.due = None
        for packet in socket.replay:
            self._send_frames(socket, self._encode(packet), volatile=False)
        socket.replay = []
        name = socket.namespace.name
        if conn.revision == 4:
            reply = Packet(PacketType.CONNECT, name)
        else:
            payload = {"sid": sid}
            if self._recovery is not None:
                if socket.pid is None:
                    socket.pid = self.config.id_generator()
                payload["pid"] = socket.pid
            reply = Packet(PacketType.CONNECT, name, payload)
        self.engine.send_many(conn.eio_sid, self._encoder_for(conn).encode(reply))
        held, socket.held = socket.held, []
        for frames in held:
            self.engine.send_many(conn.eio_sid, frames)
        return True

    def refuse(self, sid: str, message: str = "Connection refused", data: Any = None) -> bool:
        """Turn socket ``sid`` away with a CONNECT_ERROR (``{"message", "data"}`` in revision 5).

        Returns False if the socket is gone.  The Engine.IO connection stays open.
        """
        socket = self._sockets.get(sid)
        if socket is None or socket.state is not _CING:
            if socket is not None:
                raise LocalProtocolError(f"socket {sid} is already connected")
            return False
        socket.transition(_I.REFUSE)
        self._forget_socket(socket)
        self._drop_acks(socket)
        self._send_connect_error(socket.conn, socket.namespace.name, message, data)
        return True

    # -- sending --------------------------------------------------------------------------

    def emit(
        self,
        event: str | int | float,
        *args: Any,
        namespace: str = "/",
        to: str | Iterable[str] | None = None,
        exclude: str | Iterable[str] = (),
        volatile: bool = False,
        compress: bool = True,
        now: float | None = None,
    ) -> None:
        """Send an event to the sockets in ``to`` (socket ids or rooms; None: everyone).

        The packet is encoded once and the same frames go to every target.
        Sockets in ``exclude`` are skipped.  With recovery on, non-volatile
        events get an offset appended and are stored for replay.
        """
        ns = self._require_namespace(namespace)
        adapter = ns.adapter
        packet = Packet(PacketType.EVENT, namespace, [event, *args])
        frames = self._encode(packet)  # validate before anything is stored or sent
        if type(to) is str and not exclude and self._recovery is None:
            # The common reply to one socket: no room lookup, no options.  Only
            # the in-memory adapter is known to have no other node to tell.
            socket = ns.sockets.get(to)
            if socket is not None and type(adapter) is InMemoryAdapter:
                if socket.conn.revision == 4:
                    frames = self._encode_v4(packet)
                self._send_frames(socket, frames, volatile, compress)
                return
        options = self._options(to, exclude, volatile, compress)
        if self._recovery is not None and not volatile:
            plain = packet
            offset = self.config.id_generator()
            packet = Packet(PacketType.EVENT, namespace, [event, *args, offset])
            # Revision 4 sockets have no recovery: they get the event without the offset.
            self._without_offset = (packet, plain)
            self._recovery.store_packet(offset, packet, options, self._now if now is None else now)
        adapter.broadcast(packet, options)

    def emit_with_ack(
        self,
        sid: str,
        event: str | int | float,
        *args: Any,
        timeout: float | None = None,
        now: float | None = None,
    ) -> int:
        """Send an event to socket ``sid`` asking for an acknowledgement; returns its ack id.

        The reply arrives as :class:`AckReceived`; with a ``timeout`` (seconds
        from ``now``) an :class:`AckTimedOut` comes instead if it is late.  A
        socket that leaves first gets :class:`AckTimedOut` too.
        """
        socket = self._require_socket(sid)
        due = self._due(timeout, now)
        namespace = socket.namespace
        ack_id = next(namespace.ack_ids)
        packet = Packet(PacketType.EVENT, namespace.name, [event, *args], ack_id)
        frames = self._encode(packet)
        pending = _PendingAck(sid, ack_id, due)
        self._acks[sid, ack_id] = pending
        _expect_ack(socket, ack_id)
        self._arm(pending)
        self._send_frames(socket, frames, volatile=False)
        return ack_id

    def broadcast_with_ack(
        self,
        event: str | int | float,
        *args: Any,
        namespace: str = "/",
        to: str | Iterable[str] | None = None,
        exclude: str | Iterable[str] = (),
        timeout: float | None = None,
        now: float | None = None,
    ) -> int:
        """Broadcast an event and collect every target's acknowledgement; returns the ack id.

        One :class:`BroadcastAckCompleted` reports the replies once all targets
        answered (or left), or when ``timeout`` expires.  No target: it
        completes at once with no responses.
        """
        ns = self._require_namespace(namespace)
        due = self._due(timeout, now)
        options = self._options(to, exclude, volatile=False, compress=True)
        ack_id = next(ns.ack_ids)
        packet = Packet(PacketType.EVENT, namespace, [event, *args], ack_id)
        self._encode(packet)
        targets = ns.adapter.broadcast_with_ack(packet, options)
        collector = _BroadcastAck(namespace, ack_id, set(targets), due)
        for sid in targets:
            self._acks[sid, ack_id] = collector
            _expect_ack(ns.sockets[sid], ack_id)
        self._broadcast_acks[namespace, ack_id] = collector
        if not targets:
            self._finish_broadcast_ack(collector, timed_out=False)
        else:
            self._arm(collector)
        return ack_id

    def ack(self, sid: str, ack_id: int, *args: Any) -> None:
        """Answer the client's event ``ack_id`` with ``args``."""
        socket = self._require_socket(sid)
        packet = Packet(PacketType.ACK, socket.namespace.name, list(args), ack_id)
        self._send_frames(socket, self._encode(packet), volatile=False)

    # -- sockets and rooms ---------------------------------------------------------------------

    def disconnect(self, sid: str, *, close: bool = False, now: float | None = None) -> None:
        """Make socket ``sid`` leave its namespace (sends DISCONNECT).

        ``close`` also closes its Engine.IO connection, and with it every other
        socket of that connection.
        """
        socket = self._require_socket(sid)
        conn = socket.conn
        when = self._now if now is None else now
        if close:
            # As JS's disconnect(true): every socket of the connection leaves, then it closes.
            for other in list(conn.sockets.values()):
                self._leave(other, when)
            self._close_connection(conn, DisconnectReason.FORCED_SERVER_CLOSE, when)
            return
        self._leave(socket, when)

    def _leave(self, socket: _Socket, now: float) -> None:
        conn = socket.conn
        if socket.state is _CING:
            # Not connected yet: the client is waiting for an answer to its CONNECT.
            self._send_connect_error(conn, socket.namespace.name, "Connection refused", None)
        else:
            self.engine.send_many(
                conn.eio_sid,
                self._encode_for(conn, Packet(PacketType.DISCONNECT, socket.namespace.name)),
            )
        self._remove_socket(socket, _I.SERVER_DISCONNECT, DisconnectReason.SERVER_DISCONNECT, now)

    def enter_room(self, sid: str, room: str) -> None:
        """Socket ``sid`` joins ``room``."""
        socket = self._require_socket(sid)
        socket.namespace.adapter.add_all(sid, (room,))

    def leave_room(self, sid: str, room: str) -> None:
        """Socket ``sid`` leaves ``room`` (nothing happens if it was not in it).

        A socket cannot leave the room named by its own id: that room is how
        it is addressed, and how broadcasts to its namespace find it.
        """
        socket = self._require_socket(sid)
        if room == sid:
            raise LocalProtocolError(f"socket {sid} cannot leave its own room")
        socket.namespace.adapter.remove(sid, room)

    def close_room(self, room: str, namespace: str = "/") -> None:
        """Every socket of ``namespace`` leaves ``room`` (not a socket's own room)."""
        ns = self._require_namespace(namespace)
        if room in ns.sockets:
            raise LocalProtocolError(f"{room!r} is a socket's own room; it cannot be closed")
        ns.adapter.close_room(room)

    def rooms(self, sid: str) -> frozenset[str]:
        """The rooms of socket ``sid`` (its own id included)."""
        socket = self._require_socket(sid)
        return socket.namespace.adapter.socket_rooms(sid)

    def sockets(self, namespace: str = "/", room: str | None = None) -> frozenset[str]:
        """The ids of the sockets of ``namespace`` (in ``room`` if given)."""
        ns = self._namespaces.get(namespace)
        if ns is None:
            return frozenset()
        options = BroadcastOptions(rooms=frozenset(() if room is None else (room,)))
        return frozenset(ns.adapter.sockets(options))

    def session(self, sid: str) -> dict[str, Any]:
        """Socket ``sid``'s own data (kept across a connection state recovery)."""
        return self._require_socket(sid).data

    def auth(self, sid: str) -> Any:
        """What socket ``sid`` sent with its CONNECT (revision 4: its namespace query)."""
        return self._require_socket(sid).auth

    def request(self, sid: str) -> HttpRequest:
        """The Engine.IO handshake request of socket ``sid``'s connection."""
        return self._require_socket(sid).conn.request

    def namespace_of(self, sid: str) -> str:
        """The namespace socket ``sid`` belongs to."""
        return self._require_socket(sid).namespace.name

    def eio_sid(self, sid: str) -> str:
        """The Engine.IO session socket ``sid`` rides on (keep it secret: it is a credential)."""
        return self._require_socket(sid).conn.eio_sid

    def state(self, sid: str) -> SocketState:
        """The state of socket ``sid`` (NONE once it is gone)."""
        socket = self._sockets.get(sid)
        return socket.state if socket is not None else _N

    def connection_sockets(self, eio_sid: str) -> dict[str, str]:
        """Namespace -> socket id for every socket on Engine.IO session ``eio_sid``."""
        conn = self._connections.get(eio_sid)
        return {} if conn is None else {ns: s.sid for ns, s in conn.sockets.items()}

    # -- internals: incoming --------------------------------------------------------------------

    def _on_session_opened(self, event: eio.SessionOpened, now: float) -> None:
        revision: SocketIORevision = 4 if event.revision == 3 else 5
        conn = _Connection(event.sid, revision, self._make_decoder(revision), event.request)
        self._connections[event.sid] = conn
        if revision == 4:
            # Revision 4 joins "/" implicitly, without a CONNECT from the client.
            self._connect(conn, "/", None, now)
        else:
            conn.due = now + self.config.connect_timeout
            self._arm(conn)

    def _on_message(self, conn: _Connection, message: str | bytes, now: float) -> None:
        try:
            packet = conn.decoder.receive(message)
        except ProtocolError as exc:
            self._close_connection(conn, DisconnectReason.PARSE_ERROR, now, exc.message)
            return
        if packet is None:
            header = conn.decoder.pending
            if header is not None and conn.revision == 5:
                socket = conn.sockets.get(header.namespace)
                if socket is None or socket.state is not _CED:
                    # Do not buffer attachments for a namespace that cannot take them.
                    self._invalid_state(conn, header, now)
            return
        self._on_packet(conn, packet, now)

    def _on_packet(self, conn: _Connection, packet: Packet, now: float) -> None:
        name = packet.namespace
        auth: Any = packet.data
        if conn.revision == 4 and packet.type is PacketType.CONNECT:
            name, auth = split_namespace_query(name)
        socket = conn.sockets.get(name)
        state = socket.state if socket is not None else _N
        kind = _PACKET_INPUT[packet.type]
        if (state, kind) not in TRANSITIONS:
            self._invalid_state(conn, packet, now)
            return
        if kind is _I.CONNECT:
            self._connect(conn, name, auth, now)
            return
        assert socket is not None
        if kind is _I.EVENT:
            data = packet.data
            self._events.append(EventReceived(socket.sid, name, data[0], data[1:], packet.id))
        elif kind is _I.ACK:
            self._on_ack(socket, packet)
        else:
            self._remove_socket(socket, kind, DisconnectReason.CLIENT_DISCONNECT, now)

    def _invalid_state(self, conn: _Connection, packet: Packet, now: float) -> None:
        if conn.revision == 4:
            return  # revision 4 servers ignore packets for namespaces without a socket
        detail = f"{packet.type.name} not allowed for namespace {packet.namespace!r} in this state"
        self._close_connection(conn, DisconnectReason.PARSE_ERROR, now, detail)

    def _connect(self, conn: _Connection, name: str, auth: Any, now: float) -> None:
        namespace = self._namespace_for(name)
        if namespace is None:
            self._send_connect_error(conn, name, INVALID_NAMESPACE, None, always_object=True)
            return
        restored = self._restore(conn, name, auth, now)
        if restored is not None:
            session, missed = restored
            sid = session.sid
        elif conn.revision == 4:
            sid = conn.eio_sid if name == "/" else f"{name}#{conn.eio_sid}"
        else:
            sid = self.config.id_generator()
        socket = _Socket(sid, namespace, conn, auth)
        conn.sockets[name] = socket
        namespace.sockets[sid] = socket
        self._sockets[sid] = socket
        namespace.adapter.add_all(sid, (sid,))
        if restored is not None:
            socket.pid = session.pid
            socket.data = session.data
            socket.replay = missed
            namespace.adapter.add_all(sid, session.rooms)
        self._events.append(
            ConnectRequested(sid, name, auth, conn.eio_sid, conn.request, restored is not None)
        )

    def _restore(
        self, conn: _Connection, name: str, auth: Any, now: float
    ) -> tuple[StoredSession, list[Packet]] | None:
        if self._recovery is None or conn.revision != 5 or not isinstance(auth, dict):
            return None
        pid, offset = auth.get("pid"), auth.get("offset")
        if not isinstance(pid, str) or not isinstance(offset, str):
            return None
        restored = self._recovery.restore(pid, offset, now, name)
        if restored is None or restored[0].sid in self._sockets:
            return None
        return restored

    def _on_ack(self, socket: _Socket, packet: Packet) -> None:
        ack_id = packet.id
        if ack_id is None:
            return
        pending = self._acks.pop((socket.sid, ack_id), None)
        if pending is None:
            return  # unknown or already answered: ignored, as JS does
        if socket.acks is not None:
            socket.acks.discard(ack_id)
        args = list(packet.data or ())
        if isinstance(pending, _PendingAck):
            pending.due = None
            self._events.append(AckReceived(socket.sid, socket.namespace.name, ack_id, args))
            return
        pending.waiting.discard(socket.sid)
        pending.responses[socket.sid] = args
        if not pending.waiting:
            self._finish_broadcast_ack(pending, timed_out=False)

    def _connect_timeout(self, conn: _Connection, now: float) -> None:
        if not any(s.state is _CED for s in conn.sockets.values()):
            self._close_connection(
                conn, DisconnectReason.FORCED_SERVER_CLOSE, now, "connect timeout"
            )

    # -- internals: leaving ------------------------------------------------------------------------

    def _close_connection(
        self, conn: _Connection, reason: DisconnectReason, now: float, detail: str = ""
    ) -> None:
        """Every socket of ``conn`` leaves for ``reason``; then the Engine.IO session closes."""
        if conn.closing:
            return
        conn.closing = True
        self._drop_connection(conn, reason, now, detail)
        self.engine.close(conn.eio_sid, now)

    def _drop_connection(
        self, conn: _Connection, reason: DisconnectReason, now: float, detail: str = ""
    ) -> None:
        conn.due = None
        conn.decoder.reset()
        for socket in list(conn.sockets.values()):
            self._remove_socket(socket, _I.CONNECTION_CLOSED, reason, now, detail)

    def _remove_socket(
        self,
        socket: _Socket,
        cause: SocketInput,
        reason: DisconnectReason,
        now: float,
        detail: str = "",
    ) -> None:
        socket.transition(cause)
        rooms = self._forget_socket(socket)
        # A pid means the socket was connected, or is a recovered one not yet accepted:
        # either way the client can come back for it.
        if self._recovery is not None and reason in RECOVERABLE_REASONS and socket.pid is not None:
            self._recovery.save_session(
                StoredSession(
                    socket.sid, socket.pid, socket.namespace.name, rooms, socket.data, now
                )
            )
        self._events.append(Disconnected(socket.sid, socket.namespace.name, reason, detail))
        self._drop_acks(socket)

    def _drop_acks(self, socket: _Socket) -> None:
        """No ack will come from ``socket`` any more: settle what waited for one."""
        if not socket.acks:
            return
        ack_ids, socket.acks = socket.acks, None
        for ack_id in sorted(ack_ids):
            pending = self._acks.pop((socket.sid, ack_id), None)
            if isinstance(pending, _PendingAck):
                pending.due = None
                self._events.append(AckTimedOut(socket.sid, socket.namespace.name, ack_id))
            elif pending is not None:
                pending.waiting.discard(socket.sid)
                pending.departed.add(socket.sid)
                if not pending.waiting:
                    self._finish_broadcast_ack(pending, timed_out=False)

    def _forget_socket(self, socket: _Socket) -> frozenset[str]:
        conn, namespace = socket.conn, socket.namespace
        if conn.sockets.get(namespace.name) is socket:
            del conn.sockets[namespace.name]
        namespace.sockets.pop(socket.sid, None)
        self._sockets.pop(socket.sid, None)
        socket.held = []
        return namespace.adapter.remove_all(socket.sid)

    def _finish_broadcast_ack(self, collector: _BroadcastAck, *, timed_out: bool) -> None:
        if self._broadcast_acks.pop((collector.namespace, collector.ack_id), None) is None:
            return
        collector.due = None
        for sid in collector.waiting:
            self._acks.pop((sid, collector.ack_id), None)
            socket = self._sockets.get(sid)
            if socket is not None and socket.acks is not None:
                socket.acks.discard(collector.ack_id)
        self._events.append(
            BroadcastAckCompleted(
                collector.namespace,
                collector.ack_id,
                collector.responses,
                frozenset(collector.waiting | collector.departed),
                timed_out,
            )
        )

    # -- internals: outgoing ---------------------------------------------------------------------

    def _send_frames(
        self, socket: _Socket, frames: list[str | bytes], volatile: bool, compress: bool = True
    ) -> None:
        if socket.state is _CING:
            if not volatile:
                socket.held.append(frames)
            return
        eio_sid = socket.conn.eio_sid
        if volatile and not self.engine.writable(eio_sid):
            return
        self.engine.send_many(eio_sid, frames, compress=compress)

    def _send_connect_error(
        self,
        conn: _Connection,
        name: str,
        message: str,
        data: Any,
        *,
        always_object: bool = False,
    ) -> None:
        if conn.revision == 5 or always_object:
            payload: Any = {"message": message}
            if data is not None:
                payload["data"] = data
        else:
            payload = data if data is not None else message
        packet = Packet(PacketType.CONNECT_ERROR, name, payload)
        self.engine.send_many(conn.eio_sid, self._encode_for(conn, packet))

    def _encode(self, packet: Packet) -> list[str | bytes]:
        # A broadcast is validated, then delivered: remember the last encoding so
        # the packet is encoded once for every target.
        last = self._last_encoded
        if last is not None and last[0] is packet:
            return last[1]
        frames = self._encoder.encode(packet)
        self._last_encoded = (packet, frames)
        return frames

    def _encode_v4(self, packet: Packet) -> list[str | bytes]:
        """``packet`` for a revision 4 socket: a recovery offset is left out."""
        pair = self._without_offset
        if pair is not None and pair[0] is packet:
            packet = pair[1]
        return self._encoder_v4.encode(packet)

    def _encode_for(self, conn: _Connection, packet: Packet) -> list[str | bytes]:
        return self._encoder_for(conn).encode(packet)

    def _encoder_for(self, conn: _Connection) -> PacketEncoder:
        return self._encoder if conn.revision == 5 else self._encoder_v4

    def _make_encoder(self, revision: SocketIORevision) -> PacketEncoder:
        if self.config.parser == "msgpack":
            from .msgpack import MsgpackEncoder

            return MsgpackEncoder()
        return Encoder(json=self.config.json, revision=revision)

    def _make_decoder(self, revision: SocketIORevision) -> PacketDecoder:
        if self.config.parser == "msgpack":
            from .msgpack import MsgpackDecoder

            return MsgpackDecoder(limits=self.config.limits)
        return Decoder(json=self.config.json, revision=revision, limits=self.config.limits)

    # -- internals: lookups and timers -------------------------------------------------------

    def _options(
        self,
        to: str | Iterable[str] | None,
        exclude: str | Iterable[str],
        volatile: bool,
        compress: bool,
    ) -> BroadcastOptions:
        return BroadcastOptions(
            rooms=_room_set(to), exclude=_room_set(exclude), volatile=volatile, compress=compress
        )

    def _due(self, timeout: float | None, now: float | None) -> float | None:
        if timeout is None:
            return None
        if timeout < 0:
            raise LocalProtocolError(f"timeout must be >= 0, got {timeout!r}")
        return (self._now if now is None else now) + timeout

    def _arm(self, owner: _Connection | _PendingAck | _BroadcastAck) -> None:
        if owner.due is not None:
            heapq.heappush(self._timers, (owner.due, next(self._timer_seq), owner))

    def _namespace(self, name: str) -> _Namespace:
        namespace = self._namespaces.get(name)
        if namespace is None:
            namespace = self._namespaces[name] = _Namespace(self, name, self.adapter_factory)
        return namespace

    def _namespace_for(self, name: str) -> _Namespace | None:
        namespace = self._namespaces.get(name)
        if namespace is not None:
            return namespace
        matched = self._accept_all or any(namespace_matches(m, name) for m in self._matchers)
        if matched and name.startswith("/") and "," not in name:
            return self._namespace(name)
        return None

    def _require_namespace(self, name: str) -> _Namespace:
        namespace = self._namespaces.get(name)
        if namespace is None:
            raise LocalProtocolError(f"unknown namespace {name!r}")
        return namespace

    def _require_socket(self, sid: str) -> _Socket:
        socket = self._sockets.get(sid)
        if socket is None:
            raise LocalProtocolError(f"unknown socket {sid!r}")
        return socket


def _expect_ack(socket: _Socket, ack_id: int) -> None:
    if socket.acks is None:
        socket.acks = set()
    socket.acks.add(ack_id)


def _room_set(rooms: str | Iterable[str] | None) -> frozenset[str]:
    if rooms is None:
        return frozenset()
    if isinstance(rooms, str):
        return frozenset((rooms,))
    try:
        result = frozenset(rooms)
    except TypeError:
        raise LocalProtocolError(
            f"expected a room name or an iterable of them, got {rooms!r}"
        ) from None
    for room in result:
        if not isinstance(room, str):
            raise LocalProtocolError(f"room names and socket ids are str, got {room!r}")
    return result


def namespace_matches(matcher: NamespaceMatcher, name: str) -> bool:
    """Whether namespace ``name`` matches a name, a regex (whole name) or a predicate."""
    if isinstance(matcher, str):
        return matcher == name
    if isinstance(matcher, re.Pattern):
        return matcher.fullmatch(name) is not None
    return bool(matcher(name))
