"""The Socket.IO client machine, sans-IO.

A :class:`SocketClient` joins namespaces, emits and acknowledges events and
reconnects, like socket.io-client's ``Manager`` and ``Socket`` together.  It
owns no transport: it creates one :class:`~socketio_proto.engineio.client.EngineClient`
per connection attempt and announces it with
:class:`~socketio_proto.socketio.events.EngineStarted`; the IO driver carries that
engine (typically in a :class:`~socketio_proto.wire.client.WireClient`) and feeds
its events back::

    client = SocketClient(ClientConfig())
    client.open_namespace("/", auth={"token": "abc"})
    client.connect(now)
    for event in client.events():
        if isinstance(event, EngineStarted):
            wire = WireClient(event.engine, host)   # already started: just transmit
    ...
    for engine_event in wire.events():
        client.handle_engine_event(engine_event, now, engine=wire.client)
    client.emit("chat", "hello", ack=True, timeout=5.0, now=now)

Time only enters through ``now``: :meth:`SocketClient.next_deadline` tells when
:meth:`SocketClient.handle_timeout` is due (reconnection delays and
acknowledgement timeouts; the engine has its own deadlines).

Revision 5 (Socket.IO JS >= 3) runs over Engine.IO 4 and revision 4 (JS 1.x/2.x)
over Engine.IO 3; ``config.engine.revision`` picks one.  Behaviour follows
socket.io-client 4.x, with these deliberate differences:

* events the server sends before it answers our CONNECT (the events a recovered
  session replays) are reported *after* :class:`~socketio_proto.socketio.events.ClientConnected`
  (JS delivers them before its ``connect`` event), so that the application knows
  whether the session was recovered when it sees them;
* the recovery offset is taken from the last *argument* of events without an ack
  id (JS also considers the event name of an event without arguments);
* acknowledgements that can no longer arrive (the emit was dropped, or the
  connection it left on was lost) are reported at once as
  :class:`~socketio_proto.socketio.events.AckTimedOut` when they had a timeout
  (JS calls such callbacks with an error), and forgotten otherwise;
* the client is used once: after :meth:`SocketClient.close`, or once it gives up
  reconnecting (:class:`~socketio_proto.socketio.events.ReconnectFailed`, also
  reported when reconnection is disabled), make a new one.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import quote, urlencode

from .._fastinit import StateEnum
from ..engineio.client import ClientEvent as EngineEvent
from ..engineio.client import Connected, EngineClient
from ..engineio.events import CloseReason, MessageReceived, SessionClosed
from ..errors import LocalProtocolError, RemoteProtocolError
from .backoff import Backoff
from .config import BufferPolicy, ClientConfig
from .events import (
    AckReceived,
    AckTimedOut,
    ClientConnected,
    ClientEvent,
    ConnectRefused,
    Disconnected,
    DisconnectReason,
    EngineStarted,
    EventReceived,
    ReconnectAttempt,
    ReconnectFailed,
)
from .packet import RESERVED_EVENTS, Packet, PacketType, SocketIORevision
from .parser import Decoder, Encoder, PacketDecoder, PacketEncoder

__all__ = [
    "NAMESPACE_TRANSITIONS",
    "TRANSITIONS",
    "V2_SERVER_MESSAGE",
    "ClientState",
    "NamespaceState",
    "SocketClient",
]

#: What :class:`ConnectRefused` says when a revision 5 CONNECT reply has no ``sid``
#: (the text socket.io-client 4.x reports for a Socket.IO 2.x server).
V2_SERVER_MESSAGE: Final = (
    "It seems you are trying to reach a Socket.IO server in v2.x with a v3.x client, but "
    "they are not compatible (more information here: "
    "https://socket.io/docs/v3/migrating-from-2-x-to-3-0/)"
)


class ClientState(StateEnum):
    """Where the client's connection stands."""

    #: Created; namespaces may be opened and emits buffered before :meth:`~SocketClient.connect`.
    IDLE = "idle"
    #: An engine was started and has not completed its handshake.
    CONNECTING = "connecting"
    #: The engine is connected; namespaces join and traffic flows.
    OPEN = "open"
    #: The connection was lost; the next attempt waits for its backoff delay.
    RECONNECTING = "reconnecting"
    #: Closed by the application or given up; the client is finished.
    CLOSED = "closed"


#: Every state change of the client's connection.
TRANSITIONS: Final[dict[tuple[ClientState, str], ClientState]] = {
    (ClientState.IDLE, "connect"): ClientState.CONNECTING,
    (ClientState.IDLE, "close"): ClientState.CLOSED,
    (ClientState.CONNECTING, "engine_open"): ClientState.OPEN,
    (ClientState.CONNECTING, "engine_lost"): ClientState.RECONNECTING,
    (ClientState.CONNECTING, "close"): ClientState.CLOSED,
    (ClientState.OPEN, "engine_lost"): ClientState.RECONNECTING,
    (ClientState.OPEN, "close"): ClientState.CLOSED,
    (ClientState.RECONNECTING, "retry"): ClientState.CONNECTING,
    (ClientState.RECONNECTING, "give_up"): ClientState.CLOSED,
    (ClientState.RECONNECTING, "close"): ClientState.CLOSED,
}


class NamespaceState(StateEnum):
    """Where one namespace of the client stands."""

    #: Wanted, waiting for an open engine to send CONNECT.
    PENDING = "pending"
    #: CONNECT sent (or, revision 4's ``/``, the server's implicit one awaited).
    CONNECTING = "connecting"
    CONNECTED = "connected"
    #: Closed by the application while its CONNECT was unanswered; an acceptance
    #: is answered with DISCONNECT.
    LEAVING = "leaving"
    #: Closed by either side or refused; never rejoined unless opened again.
    CLOSED = "closed"


#: Every state change of a namespace.
NAMESPACE_TRANSITIONS: Final[dict[tuple[NamespaceState, str], NamespaceState]] = {
    (NamespaceState.PENDING, "send_connect"): NamespaceState.CONNECTING,
    (NamespaceState.PENDING, "close"): NamespaceState.CLOSED,
    (NamespaceState.CONNECTING, "accepted"): NamespaceState.CONNECTED,
    (NamespaceState.CONNECTING, "refused"): NamespaceState.CLOSED,
    (NamespaceState.CONNECTING, "engine_lost"): NamespaceState.PENDING,
    (NamespaceState.CONNECTING, "close"): NamespaceState.LEAVING,
    (NamespaceState.CONNECTED, "engine_lost"): NamespaceState.PENDING,
    (NamespaceState.CONNECTED, "server_disconnect"): NamespaceState.CLOSED,
    (NamespaceState.CONNECTED, "close"): NamespaceState.CLOSED,
    (NamespaceState.LEAVING, "open"): NamespaceState.CONNECTING,
    (NamespaceState.LEAVING, "answered"): NamespaceState.CLOSED,
    (NamespaceState.LEAVING, "engine_lost"): NamespaceState.CLOSED,
    (NamespaceState.CLOSED, "open"): NamespaceState.PENDING,
}

_DISCONNECT_REASONS: Final = {
    CloseReason.TRANSPORT_CLOSE: DisconnectReason.TRANSPORT_CLOSE,
    CloseReason.TRANSPORT_ERROR: DisconnectReason.TRANSPORT_ERROR,
    CloseReason.PING_TIMEOUT: DisconnectReason.PING_TIMEOUT,
    # engine.io-client reports undecodable Engine.IO packets as a transport error.
    CloseReason.PARSE_ERROR: DisconnectReason.TRANSPORT_ERROR,
    CloseReason.FORCED_CLOSE: DisconnectReason.FORCED_CLOSE,
    CloseReason.SERVER_CLOSE: DisconnectReason.TRANSPORT_CLOSE,
}

# encodeURIComponent's unreserved set, for revision 4's CONNECT query strings.
_URI_COMPONENT_SAFE: Final = "!~*'()"


@dataclass(slots=True)
class _Ack:
    deadline: float | None
    #: The EVENT went out on the current connection (else it is still buffered).
    sent: bool = False


@dataclass(slots=True)
class _Outgoing:
    messages: list[str | bytes]
    ack_id: int | None


class _Namespace:
    __slots__ = (
        "acks",
        "auth",
        "buffer",
        "held",
        "last_sid",
        "name",
        "next_ack_id",
        "offset",
        "pid",
        "server_acks",
        "sid",
        "state",
    )

    def __init__(self, name: str, auth: dict[str, Any] | None) -> None:
        self.name = name
        self.state = NamespaceState.PENDING
        self.auth = auth
        self.sid: str | None = None
        #: The sid of the last session, to tell a recovered one.
        self.last_sid: str | None = None
        self.pid: str | None = None
        self.offset: str | None = None
        self.next_ack_id = 0
        self.acks: dict[int, _Ack] = {}
        self.buffer: deque[_Outgoing] = deque()
        #: Events received before the CONNECT reply, reported right after it.
        self.held: list[Packet] = []
        #: Ack ids of server events the application has not answered yet.
        self.server_acks: set[int] = set()

    def transition(self, event: str) -> None:
        try:
            self.state = NAMESPACE_TRANSITIONS[self.state, event]
        except KeyError:
            raise LocalProtocolError(
                f"namespace {self.name!r} cannot {event} while {self.state.value}"
            ) from None


class SocketClient:
    """One Socket.IO client: its namespaces, over a succession of Engine.IO sessions."""

    def __init__(self, config: ClientConfig | None = None) -> None:
        self.config = config if config is not None else ClientConfig()
        self.state = ClientState.IDLE
        #: The Socket.IO revision, from the engine's: 5 over Engine.IO 4, 4 over Engine.IO 3.
        self.revision: SocketIORevision = 5 if self.config.engine.revision == 4 else 4
        if self.config.parser == "msgpack" and self.revision != 5:
            raise ValueError("the msgpack parser needs Socket.IO revision 5 (Engine.IO 4)")
        #: The current (or last) engine; None before :meth:`connect`.
        self.engine: EngineClient | None = None
        self._encoder = self._make_encoder()
        self._decoder = self._make_decoder()
        self._backoff = Backoff.from_config(self.config.reconnection)
        self._namespaces: dict[str, _Namespace] = {}
        self._events: list[ClientEvent] = []
        # The engine's loss was handled (or it was closed by us): ignore its events.
        self._engine_done = False
        self._reconnect_at: float | None = None
        # (deadline, tie breaker, namespace, ack id); stale entries are skipped lazily.
        self._ack_deadlines: list[tuple[float, int, str, int]] = []
        self._ack_seq = itertools.count()
        # Revision 4: the server joins every Engine.IO session to "/" unasked.
        self._implicit_root: Literal["awaiting", "arrived", "used"] = "used"
        # The Engine.IO session id (revision 4 derives socket ids from it).
        self._eio_sid = ""

    # -- queries -------------------------------------------------------------------------

    def events(self) -> list[ClientEvent]:
        """Drain the events that happened since the last call, in order."""
        events, self._events = self._events, []
        return events

    @property
    def closed(self) -> bool:
        """True once the client is finished (closed by the application, or given up)."""
        return self.state is ClientState.CLOSED

    @property
    def connected_namespaces(self) -> tuple[str, ...]:
        """The namespaces currently joined, in the order they were opened."""
        return tuple(
            ns.name for ns in self._namespaces.values() if ns.state is NamespaceState.CONNECTED
        )

    def namespace_state(self, namespace: str = "/") -> NamespaceState | None:
        """The state of ``namespace``, or None if it was never opened."""
        ns = self._namespaces.get(namespace)
        return ns.state if ns is not None else None

    def namespace_sid(self, namespace: str = "/") -> str | None:
        """Our socket id in ``namespace`` while it is connected, else None."""
        ns = self._namespaces.get(namespace)
        return ns.sid if ns is not None else None

    def is_connected(self, namespace: str = "/") -> bool:
        """Whether ``namespace`` is joined (an emit goes out at once)."""
        return self.namespace_state(namespace) is NamespaceState.CONNECTED

    def recovery_state(self, namespace: str = "/") -> tuple[str | None, str | None]:
        """The ``(pid, offset)`` a reconnection of ``namespace`` will present."""
        ns = self._namespaces.get(namespace)
        return (ns.pid, ns.offset) if ns is not None else (None, None)

    def buffered(self, namespace: str = "/") -> int:
        """How many emits to ``namespace`` wait for it to connect."""
        ns = self._namespaces.get(namespace)
        return len(ns.buffer) if ns is not None else 0

    def pending_acks(self, namespace: str = "/") -> frozenset[int]:
        """Ack ids of our emits to ``namespace`` still waiting for their acknowledgement."""
        ns = self._namespaces.get(namespace)
        return frozenset(ns.acks) if ns is not None else frozenset()

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timeout` must next be called (None: nothing scheduled)."""
        heap = self._ack_deadlines
        while heap and not self._ack_is_live(heap[0]):
            heapq.heappop(heap)
        due = [d for d in (self._reconnect_at, heap[0][0] if heap else None) if d is not None]
        return min(due) if due else None

    # -- application calls -----------------------------------------------------------------

    def connect(self, now: float) -> None:
        """Start the first engine (:class:`EngineStarted` with attempt 0)."""
        self._transition("connect")
        self._start_engine(now, 0)

    def open_namespace(self, namespace: str = "/", auth: Mapping[str, Any] | None = None) -> None:
        """Join ``namespace``, presenting ``auth``; rejoined after every reconnection.

        CONNECT goes out now if the engine is connected, else as soon as it is.
        Revision 4 carries ``auth`` as a query string in the namespace
        (``0/admin?token=1,``) and joins ``/`` implicitly (give its query to
        the engine config instead).  Opening a namespace that was closed (by
        either side) or refused joins it again; one that is open raises
        :class:`~socketio_proto.LocalProtocolError`.
        """
        self._check_usable()
        _check_namespace(namespace)
        if self.revision == 4 and "?" in namespace:
            raise LocalProtocolError(f"revision 4 namespaces cannot contain '?': {namespace!r}")
        auth_dict = self._check_auth(namespace, auth)
        ns = self._namespaces.get(namespace)
        if ns is None:
            ns = self._namespaces[namespace] = _Namespace(namespace, auth_dict)
        elif ns.state is NamespaceState.LEAVING:
            # Our CONNECT is still unanswered: its answer will do.
            ns.transition("open")
            ns.auth = auth_dict
            return
        elif ns.state is NamespaceState.CLOSED:
            ns.transition("open")
            ns.auth = auth_dict
        else:
            raise LocalProtocolError(f"namespace {namespace!r} is already {ns.state.value}")
        if self.state is ClientState.OPEN:
            self._join(ns)

    def set_auth(self, namespace: str, auth: Mapping[str, Any] | None) -> None:
        """Present ``auth`` from the next CONNECT of ``namespace`` on (e.g. a renewed token)."""
        self._namespace(namespace).auth = self._check_auth(namespace, auth)

    def emit(
        self,
        event: str | int,
        *args: Any,
        namespace: str = "/",
        ack: bool = False,
        timeout: float | None = None,
        now: float | None = None,
        volatile: bool = False,
    ) -> int | None:
        """Emit ``event`` with ``args`` to ``namespace``; return its ack id if ``ack``.

        ``bytes`` anywhere in ``args`` make a BINARY_EVENT.  Ack ids count from 0
        per namespace.  With ``timeout`` (seconds from ``now``, both required
        together), no acknowledgement by then gives :class:`AckTimedOut` and a late
        one is ignored.  While the namespace is not connected the emit is buffered
        (``config.buffer_policy``, at most ``config.max_buffered``, oldest dropped
        first) and sent right after :class:`ClientConnected`; a ``volatile`` emit
        is then dropped instead, as it is while the engine upgrades.
        """
        self._check_usable()
        ns = self._namespace(namespace)
        if isinstance(event, str) and event in RESERVED_EVENTS:
            raise LocalProtocolError(f"{event!r} is a reserved event name")
        deadline = None
        if timeout is not None:
            if not ack:
                raise LocalProtocolError("a timeout needs ack=True")
            if now is None:
                raise LocalProtocolError("an ack timeout needs now")
            if not timeout >= 0:
                raise LocalProtocolError(f"timeout must be >= 0, got {timeout!r}")
            deadline = now + timeout
        ack_id = ns.next_ack_id if ack else None
        messages = self._encode(Packet(PacketType.EVENT, namespace, [event, *args], ack_id))
        if ack_id is not None:
            ns.next_ack_id += 1
            ns.acks[ack_id] = _Ack(deadline)
            if deadline is not None:
                heapq.heappush(
                    self._ack_deadlines, (deadline, next(self._ack_seq), namespace, ack_id)
                )
        outgoing = _Outgoing(messages, ack_id)
        engine = self.engine
        if ns.state is NamespaceState.CONNECTED and not (
            volatile and engine is not None and engine.upgrading
        ):
            self._send_outgoing(ns, outgoing)
        elif volatile or self.config.buffer_policy is BufferPolicy.DROP:
            self._drop(ns, outgoing)
        else:
            ns.buffer.append(outgoing)
            while len(ns.buffer) > self.config.max_buffered:
                self._drop(ns, ns.buffer.popleft())
        return ack_id

    def ack(self, namespace: str, ack_id: int, *args: Any) -> None:
        """Answer the server event ``ack_id`` of ``namespace`` (see :attr:`EventReceived.ack_id`).

        Ignored if that event was already answered or its connection is gone.
        """
        ns = self._namespace(namespace)
        messages = self._encode(Packet(PacketType.ACK, namespace, list(args), ack_id))
        if ack_id in ns.server_acks and ns.state is NamespaceState.CONNECTED:
            ns.server_acks.discard(ack_id)
            self._send(messages)

    def close_namespace(self, namespace: str = "/") -> None:
        """Leave ``namespace`` (DISCONNECT); it is not rejoined on reconnection.

        A connected namespace reports :class:`Disconnected` with
        ``io client disconnect``.  Acknowledgements it awaits can no longer
        arrive; emits buffered for it are kept for a later :meth:`open_namespace`.
        """
        ns = self._namespace(namespace)
        if ns.state is NamespaceState.CONNECTED:
            self._send(self._encode(Packet(PacketType.DISCONNECT, namespace)))
            self._disconnect(ns, "close", DisconnectReason.CLIENT_DISCONNECT)
        elif ns.state in (NamespaceState.PENDING, NamespaceState.CONNECTING):
            ns.transition("close")
        ns.pid = ns.offset = None

    def close(self, now: float) -> None:
        """Leave every namespace, close the engine and stop: the client is finished.

        Every acknowledgement still awaited with a timeout is reported as
        :class:`AckTimedOut`; buffered emits are dropped.
        """
        if self.state is ClientState.CLOSED:
            return
        for ns in self._namespaces.values():
            if ns.state is NamespaceState.CONNECTED:
                self._send(self._encode(Packet(PacketType.DISCONNECT, ns.name)))
                self._disconnect(ns, "close", DisconnectReason.CLIENT_DISCONNECT)
            elif ns.state in (NamespaceState.PENDING, NamespaceState.CONNECTING):
                ns.transition("close")
            if ns.state is NamespaceState.LEAVING:
                ns.transition("engine_lost")  # the engine closes below
            ns.pid = ns.offset = None
            ns.held.clear()
            while ns.buffer:
                self._drop(ns, ns.buffer.popleft())
            for ack_id in list(ns.acks):
                self._fail_ack(ns, ack_id)
        self._transition("close")
        self._reconnect_at = None
        self._finish_engine(now)

    # -- engine and clock inputs -----------------------------------------------------------

    def handle_engine_event(
        self, event: EngineEvent, now: float, *, engine: EngineClient | None = None
    ) -> None:
        """Feed one event of the current engine.

        ``engine``, if given, is the engine the event came from: events of an
        engine that is no longer current are then ignored.  Anything the server
        sends is handled; garbage ends the connection (:class:`Disconnected`
        with ``parse error``, then a reconnection), it is never raised.
        """
        if engine is not None and engine is not self.engine:
            return
        if self.engine is None or self._engine_done:
            return
        if isinstance(event, Connected):
            if self.state is ClientState.CONNECTING:
                self._on_engine_open(event.sid)
        elif isinstance(event, MessageReceived):
            if self.state is ClientState.OPEN:
                self._on_message(event.data, now)
        elif isinstance(event, SessionClosed):
            reason = _DISCONNECT_REASONS.get(event.reason, DisconnectReason.TRANSPORT_CLOSE)
            self._lose_engine(reason, event.detail, now)
        # Upgraded: nothing to do, the engine switched transports by itself.

    def handle_timeout(self, now: float) -> None:
        """Fire what is due at ``now``: ack timeouts, then a reconnection attempt."""
        heap = self._ack_deadlines
        while heap and heap[0][0] <= now:
            entry = heapq.heappop(heap)
            if not self._ack_is_live(entry):
                continue
            _, _, name, ack_id = entry
            ns = self._namespaces[name]
            pending = ns.acks.pop(ack_id)
            if not pending.sent:
                for outgoing in ns.buffer:
                    if outgoing.ack_id == ack_id:
                        ns.buffer.remove(outgoing)
                        break
            self._events.append(AckTimedOut(ns.sid or "", name, ack_id))
        if (
            self.state is ClientState.RECONNECTING
            and self._reconnect_at is not None
            and self._reconnect_at <= now
        ):
            self._reconnect_at = None
            self._transition("retry")
            self._start_engine(now, self._backoff.attempts)

    # -- internals: engine lifecycle -------------------------------------------------------

    def _transition(self, event: str) -> None:
        try:
            self.state = TRANSITIONS[self.state, event]
        except KeyError:
            raise LocalProtocolError(f"cannot {event} while {self.state.value}") from None

    def _check_usable(self) -> None:
        if self.state is ClientState.CLOSED:
            raise LocalProtocolError("the client is closed")

    def _check_auth(self, namespace: str, auth: Mapping[str, Any] | None) -> dict[str, Any] | None:
        auth_dict = dict(auth) if auth is not None else None
        if self.revision == 4 and namespace == "/" and auth_dict:
            raise LocalProtocolError(
                "revision 4 joins '/' implicitly: pass its query in the engine config"
            )
        # Refuse unencodable auth now rather than when CONNECT goes out.
        self._encode(self._connect_packet(namespace, auth_dict, None, None))
        return auth_dict

    def _namespace(self, namespace: str) -> _Namespace:
        ns = self._namespaces.get(namespace)
        if ns is None:
            raise LocalProtocolError(f"namespace {namespace!r} was never opened")
        return ns

    def _make_encoder(self) -> PacketEncoder:
        if self.config.parser == "msgpack":
            from .msgpack import MsgpackEncoder

            return MsgpackEncoder()
        return Encoder(json=self.config.json, revision=self.revision)

    def _make_decoder(self) -> PacketDecoder:
        if self.config.parser == "msgpack":
            from .msgpack import MsgpackDecoder

            return MsgpackDecoder(limits=self.config.limits)
        return Decoder(json=self.config.json, revision=self.revision, limits=self.config.limits)

    def _start_engine(self, now: float, attempt: int) -> None:
        engine = EngineClient(self.config.engine)
        engine.connect(now)
        self.engine = engine
        self._engine_done = False
        self._decoder = self._make_decoder()
        self._implicit_root = "used"
        self._events.append(EngineStarted(engine, attempt))

    def _finish_engine(self, now: float) -> None:
        """Close the current engine; its closing events will be ignored."""
        self._engine_done = True
        self._decoder.reset()
        if self.engine is not None:
            self.engine.close(now)

    def _on_engine_open(self, eio_sid: str) -> None:
        self._transition("engine_open")
        self._eio_sid = eio_sid
        self._backoff.reset()
        self._implicit_root = "awaiting" if self.revision == 4 else "used"
        for ns in list(self._namespaces.values()):
            if ns.state is NamespaceState.PENDING:
                self._join(ns)

    def _lose_engine(
        self, reason: DisconnectReason, detail: str, now: float, *, close: bool = False
    ) -> None:
        """The connection is gone: namespaces drop out, then reconnect (or give up)."""
        if close:
            self._finish_engine(now)
        else:
            self._engine_done = True
            self._decoder.reset()
        for ns in self._namespaces.values():
            if ns.state is NamespaceState.CONNECTED:
                self._disconnect(ns, "engine_lost", reason, detail)
            elif ns.state in (NamespaceState.CONNECTING, NamespaceState.LEAVING):
                ns.transition("engine_lost")
                ns.held.clear()
        self._transition("engine_lost")
        reconnection = self.config.reconnection
        if not reconnection.enabled or (
            reconnection.attempts is not None and self._backoff.attempts >= reconnection.attempts
        ):
            self._transition("give_up")
            self._events.append(ReconnectFailed(self._backoff.attempts))
            for ns in self._namespaces.values():
                if ns.state is NamespaceState.PENDING:
                    ns.transition("close")
                while ns.buffer:
                    self._drop(ns, ns.buffer.popleft())
            return
        delay = self._backoff.duration()
        self._reconnect_at = now + delay
        self._events.append(ReconnectAttempt(self._backoff.attempts, self._reconnect_at))

    # -- internals: namespaces -------------------------------------------------------------

    def _connect_packet(
        self, name: str, auth: dict[str, Any] | None, pid: str | None, offset: str | None
    ) -> Packet:
        if self.revision == 4:
            if auth:
                values = {key: _js_string(value) for key, value in auth.items()}
                query = urlencode(values, quote_via=quote, safe=_URI_COMPONENT_SAFE)
                return Packet(PacketType.CONNECT, f"{name}?{query}")
            return Packet(PacketType.CONNECT, name)
        data: dict[str, Any] | None = auth
        if pid is not None:
            data = {"pid": pid} | ({"offset": offset} if offset is not None else {})
            data |= auth or {}
        return Packet(PacketType.CONNECT, name, data)

    def _join(self, ns: _Namespace) -> None:
        """Send CONNECT for a PENDING namespace (the engine is open)."""
        ns.transition("send_connect")
        if self.revision == 4 and ns.name == "/":
            if self._implicit_root == "awaiting":
                return  # the server's own "40" is on its way
            if self._implicit_root == "arrived":
                self._implicit_root = "used"
                self._accept(ns, self._rev4_sid("/"), None)
                return
        self._send(self._encode(self._connect_packet(ns.name, ns.auth, ns.pid, ns.offset)))

    def _rev4_sid(self, name: str) -> str:
        sid = self._eio_sid
        return sid if name == "/" else f"{name}#{sid}"

    def _accept(self, ns: _Namespace, sid: str, pid: str | None) -> None:
        recovered = pid is not None and pid == ns.pid and sid == ns.last_sid
        ns.transition("accepted")
        ns.sid = ns.last_sid = sid
        ns.pid = pid
        self._events.append(ClientConnected(ns.name, sid, pid, recovered))
        held, ns.held = ns.held, []
        for packet in held:
            self._deliver(ns, packet)
        while ns.buffer and ns.state is NamespaceState.CONNECTED:
            self._send_outgoing(ns, ns.buffer.popleft())

    def _refuse(self, ns: _Namespace, message: str, data: Any = None) -> None:
        if ns.state is NamespaceState.LEAVING:
            ns.transition("answered")
            return
        ns.transition("refused")
        ns.held.clear()
        ns.pid = ns.offset = None
        self._events.append(ConnectRefused(ns.name, message, data))

    def _disconnect(
        self, ns: _Namespace, transition: str, reason: DisconnectReason, detail: str = ""
    ) -> None:
        """A CONNECTED namespace leaves: report it, forget what the server owed us."""
        sid = ns.sid or ""
        for ack_id, pending in list(ns.acks.items()):
            if pending.sent:
                self._fail_ack(ns, ack_id)
        ns.transition(transition)
        ns.sid = None
        ns.server_acks.clear()
        if ns.state is NamespaceState.CLOSED:
            ns.pid = ns.offset = None
        self._events.append(Disconnected(sid, ns.name, reason, detail))

    def _deliver(self, ns: _Namespace, packet: Packet) -> None:
        data = packet.data
        args = list(data[1:])
        if packet.id is not None:
            ns.server_acks.add(packet.id)
        elif ns.pid is not None and args and isinstance(args[-1], str):
            ns.offset = args[-1]
        self._events.append(EventReceived(ns.sid or "", ns.name, data[0], args, packet.id))

    # -- internals: packets ------------------------------------------------------------------

    def _encode(self, packet: Packet) -> list[str | bytes]:
        return self._encoder.encode(packet)

    def _send(self, messages: list[str | bytes]) -> None:
        assert self.engine is not None
        for message in messages:
            self.engine.send(message)

    def _send_outgoing(self, ns: _Namespace, outgoing: _Outgoing) -> None:
        self._send(outgoing.messages)
        if outgoing.ack_id is not None:
            pending = ns.acks.get(outgoing.ack_id)
            if pending is not None:
                pending.sent = True

    def _drop(self, ns: _Namespace, outgoing: _Outgoing) -> None:
        if outgoing.ack_id is not None:
            self._fail_ack(ns, outgoing.ack_id)

    def _fail_ack(self, ns: _Namespace, ack_id: int) -> None:
        pending = ns.acks.pop(ack_id, None)
        if pending is not None and pending.deadline is not None:
            self._events.append(AckTimedOut(ns.sid or "", ns.name, ack_id))

    def _ack_is_live(self, entry: tuple[float, int, str, int]) -> bool:
        deadline, _, name, ack_id = entry
        ns = self._namespaces.get(name)
        pending = ns.acks.get(ack_id) if ns is not None else None
        return pending is not None and pending.deadline == deadline

    def _on_message(self, data: str | bytes, now: float) -> None:
        try:
            packet = self._decoder.receive(data)
        except RemoteProtocolError as exc:
            # socket.io-client's Manager.ondata: close with "parse error", then reconnect.
            self._lose_engine(DisconnectReason.PARSE_ERROR, exc.message, now, close=True)
            return
        if packet is not None:
            self._on_packet(packet)

    def _on_packet(self, packet: Packet) -> None:
        kind = packet.type
        ns = self._namespaces.get(packet.namespace)
        if kind is PacketType.CONNECT:
            if self.revision == 4 and packet.namespace == "/" and self._implicit_root == "awaiting":
                self._implicit_root = (
                    "arrived"
                    if ns is None
                    or ns.state
                    in (
                        NamespaceState.PENDING,
                        NamespaceState.CLOSED,
                    )
                    else "used"
                )
            if ns is not None:
                self._on_connect_reply(ns, packet)
            return
        if (
            kind is PacketType.CONNECT_ERROR
            and self.revision == 4
            and packet.namespace == "/"
            and self._implicit_root == "awaiting"
        ):
            self._implicit_root = "used"  # the server refused its own implicit join
        if ns is None:
            return  # like socket.io-client: packets for no socket of ours are ignored
        if kind is PacketType.EVENT or kind is PacketType.BINARY_EVENT:
            if ns.state is NamespaceState.CONNECTED:
                self._deliver(ns, packet)
            elif ns.state is NamespaceState.CONNECTING:
                ns.held.append(packet)
        elif kind is PacketType.ACK or kind is PacketType.BINARY_ACK:
            ack_id = packet.id
            pending = ns.acks.get(ack_id) if ack_id is not None else None
            if pending is not None and pending.sent and ack_id is not None:
                del ns.acks[ack_id]
                args = list(packet.data or ())
                self._events.append(AckReceived(ns.sid or "", ns.name, ack_id, args))
        elif kind is PacketType.CONNECT_ERROR:
            if ns.state in (NamespaceState.CONNECTING, NamespaceState.LEAVING):
                message, data = self._refusal(packet.data)
                self._refuse(ns, message, data)
        elif kind is PacketType.DISCONNECT:
            if ns.state is NamespaceState.CONNECTED:
                self._disconnect(ns, "server_disconnect", DisconnectReason.SERVER_DISCONNECT)
            elif ns.state in (NamespaceState.CONNECTING, NamespaceState.LEAVING):
                self._refuse(ns, DisconnectReason.SERVER_DISCONNECT.value)

    def _on_connect_reply(self, ns: _Namespace, packet: Packet) -> None:
        if ns.state is NamespaceState.LEAVING:
            # Accepted after we left: tell the server.
            self._send(self._encode(Packet(PacketType.DISCONNECT, ns.name)))
            ns.transition("answered")
            return
        if ns.state is not NamespaceState.CONNECTING:
            return  # a repeated CONNECT, or one for a namespace we do not want
        if self.revision == 4:
            self._accept(ns, self._rev4_sid(ns.name), None)
            return
        data = packet.data
        sid = data.get("sid") if isinstance(data, dict) else None
        if not isinstance(sid, str) or not sid:
            self._refuse(ns, V2_SERVER_MESSAGE, data)
            return
        assert isinstance(data, dict)
        pid = data.get("pid")
        self._accept(ns, sid, pid if isinstance(pid, str) and pid else None)

    def _refusal(self, data: Any) -> tuple[str, Any]:
        """``(message, data)`` of a CONNECT_ERROR payload (SIO5 object, or SIO4 anything)."""
        if isinstance(data, str):
            return data, None
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            return data["message"], data.get("data")
        if data is None:
            return "connection refused", None
        return "connection refused", data


def _js_string(value: Any) -> str:
    """``String(value)`` for the scalars a query string holds."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _check_namespace(namespace: str) -> None:
    if not isinstance(namespace, str) or not namespace.startswith("/"):
        raise LocalProtocolError(f"a namespace must start with '/': {namespace!r}")
    if "," in namespace or "\x1e" in namespace:
        raise LocalProtocolError(f"a namespace cannot contain ',' or U+001E: {namespace!r}")
    try:
        namespace.encode("utf-8")
    except UnicodeEncodeError:
        raise LocalProtocolError(
            f"a namespace cannot hold lone surrogates: {namespace!r}"
        ) from None
