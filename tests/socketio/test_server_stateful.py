"""Hypothesis state machines driving a :class:`SocketServer` byte for byte.

Both machines run the server in a :class:`SocketHarness` without an app: the
machine itself plays the application (``accept``, ``refuse``, ``emit``...) and
the clients (raw Socket.IO frames over in-memory WebSockets), and keeps a naive
model of what must happen.

:class:`SocketServerMachine` -- random CONNECTs (valid, unknown namespace,
already connected), delayed accept/refuse, EVENT/ACK/DISCONNECT/garbage from
clients, server emit/acks/disconnect/rooms, transport loss and time.  After every
step: each client received exactly the frames the model predicts, in order;
the Socket.IO events equal the model's (as a multiset); ``sockets``/``rooms``/
``state``/``connection_sockets`` agree with the model; every socket reports
``Disconnected`` at most once, and exactly once once it is gone (unless it was
refused); API misuse raises :class:`LocalProtocolError` and nothing else.

:class:`RecoveryMachine` -- connect, rooms, emits, drops, time, reconnection
with ``pid``/``offset``: the replay must be exactly the model's missed packets
for the session's rooms, in order, before a CONNECT reply with the same sid and
pid -- or a fresh session when anything expired.

The failures the machines found are also pinned down by plain tests below.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from socketio_proto.engineio.config import EngineConfig
from socketio_proto.errors import LocalProtocolError
from socketio_proto.socketio.config import RecoveryConfig, ServerConfig
from socketio_proto.socketio.events import (
    AckReceived,
    AckTimedOut,
    BroadcastAckCompleted,
    ConnectRequested,
    Disconnected,
    DisconnectReason,
    EventReceived,
    ServerEvent,
)
from socketio_proto.socketio.server import (
    TRANSITIONS,
    SocketInput,
    SocketServer,
    SocketState,
)
from tests.support.socket_server import SocketHarness
from tests.support.wire_client import WsClient

ENGINE = EngineConfig(
    path="/socket.io/", ping_interval=1000.0, ping_timeout=1000.0, cors_allowed_origins="*"
)
#: Connect timeouts fall on multiples of 0.5 s, ack timeouts never do (no ties).
CONNECT_TIMEOUT = 5.0
ACK_TIMEOUTS = st.sampled_from([None, 1.3, 2.3])
STEPS = st.sampled_from([0.5, 1.0, 2.0, 6.0])

NAMESPACES = ("/", "/custom")
UNKNOWN = "/nope"
ROOMS = ("r1", "r2")

_N, _CING, _CED = SocketState.NONE, SocketState.CONNECTING, SocketState.CONNECTED
_I = SocketInput

#: protocol.md 2.5-2.8, written out independently of the library's table.
EXPECTED_TRANSITIONS = {
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


def test_transition_table_is_protocol_2_8() -> None:
    assert TRANSITIONS == EXPECTED_TRANSITIONS
    # Invalid on purpose: a second CONNECT, anything before the reply, CONNECT_ERROR.
    for state in SocketState:
        assert (state, _I.CONNECT_ERROR) not in TRANSITIONS
    assert (_CED, _I.CONNECT) not in TRANSITIONS
    assert (_CING, _I.CONNECT) not in TRANSITIONS
    assert (_CING, _I.EVENT) not in TRANSITIONS
    assert (_N, _I.EVENT) not in TRANSITIONS


# -- regressions the machines found ------------------------------------------------------------


def _harness() -> SocketHarness:
    return SocketHarness(
        ENGINE, ServerConfig(connect_timeout=CONNECT_TIMEOUT), app=None, namespaces=("/custom",)
    )


def _waiting_socket(h: SocketHarness) -> tuple[WsClient, str]:
    ws, _ = h.open_websocket("EIO=4&transport=websocket")
    ws.messages.clear()
    ws.send("40")
    request = h.sio_events[-1]
    assert isinstance(request, ConnectRequested)
    return ws, request.sid


def test_refusing_a_socket_settles_its_pending_acks() -> None:
    # emit_with_ack to a socket still waiting for its answer, then refuse(): the ack
    # used to stay armed and its timeout raised KeyError out of handle_timeout.
    h = _harness()
    ws, sid = _waiting_socket(h)
    ack_id = h.sio.emit_with_ack(sid, "x", timeout=1.0, now=h.now)
    broadcast = h.sio.broadcast_with_ack("y", timeout=None, now=h.now)
    assert h.sio.refuse(sid)
    settle(h)
    assert ws.messages == ['44{"message":"Connection refused"}']
    assert h.of_type(AckTimedOut) == [AckTimedOut(sid, "/", ack_id)]
    assert h.of_type(BroadcastAckCompleted) == [
        BroadcastAckCompleted("/", broadcast, {}, frozenset({sid}), timed_out=False)
    ]
    h.clock.advance(2.0)  # the old deadline passes quietly
    assert len(h.of_type(AckTimedOut)) == 1
    assert not h.of_type(Disconnected)


def test_a_socket_never_loses_its_own_room() -> None:
    # Leaving every room used to make a connected socket vanish from sockets(ns) and
    # from namespace-wide broadcasts (the rooms index forgets a socket in no room; JS
    # keeps ``sids[id]`` until ``delAll``).  Its own room cannot be left now.
    h = _harness()
    ws, sid = _waiting_socket(h)
    h.sio.accept(sid)
    settle(h)
    ws.messages.clear()
    with pytest.raises(LocalProtocolError):
        h.sio.leave_room(sid, sid)
    # close_room on its id: refused, or the socket keeps its own room.
    _, other = _waiting_socket(h)
    h.sio.enter_room(other, sid)  # someone else may join a room named like a socket
    with contextlib.suppress(LocalProtocolError):
        h.sio.close_room(sid)
    assert sid in h.sio.rooms(sid)
    assert h.sio.sockets("/") == {sid, other}
    h.sio.emit("all", 1)
    h.sio.emit("own", 2, to=sid)
    settle(h)
    assert ws.messages == ['42["all",1]', '42["own",2]']


def test_broadcast_with_ack_with_a_bad_timeout_sends_nothing() -> None:
    # The timeout was checked after the frames were queued: the clients got an EVENT
    # asking for an ack that nobody waits for, and the call still raised.
    h = _harness()
    ws, sid = _waiting_socket(h)
    h.sio.accept(sid)
    settle(h)
    ws.messages.clear()
    with pytest.raises(LocalProtocolError):
        h.sio.broadcast_with_ack("x", timeout=-1, now=h.now)
    settle(h)
    assert ws.messages == []
    assert not h.of_type(BroadcastAckCompleted)


def test_emit_to_a_non_iterable_is_a_local_protocol_error() -> None:
    # Room names are checked (LocalProtocolError); a bare int slipped through as TypeError.
    h = _harness()
    with pytest.raises(LocalProtocolError):
        h.sio.emit("e", to=5)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        h.sio.emit("e", exclude=5)  # type: ignore[arg-type]


# -- frames ------------------------------------------------------------------------------------


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _pre(namespace: str) -> str:
    return "" if namespace == "/" else f"{namespace},"


def _id(ack_id: int | None) -> str:
    return "" if ack_id is None else str(ack_id)


def connect_frame(namespace: str, auth: Any = None) -> str:
    return f"40{_pre(namespace)}{'' if auth is None else _json(auth)}"


def reply_frame(namespace: str, payload: dict[str, str]) -> str:
    return f"40{_pre(namespace)}{_json(payload)}"


def event_frames(namespace: str, data: list[Any], ack_id: int | None = None) -> list[str | bytes]:
    """The frames of an EVENT (a BINARY_EVENT when a top-level argument is bytes)."""
    attachments = [a for a in data if isinstance(a, bytes)]
    if not attachments:
        return [f"42{_pre(namespace)}{_id(ack_id)}{_json(data)}"]
    placeheld, num = [], 0
    for item in data:
        if isinstance(item, bytes):
            placeheld.append({"_placeholder": True, "num": num})
            num += 1
        else:
            placeheld.append(item)
    header = f"45{len(attachments)}-{_pre(namespace)}{_id(ack_id)}{_json(placeheld)}"
    return [header, *attachments]


def ack_frame(namespace: str, ack_id: int, args: list[Any]) -> str:
    return f"43{_pre(namespace)}{ack_id}{_json(args)}"


def disconnect_frame(namespace: str) -> str:
    return f"41{_pre(namespace)}"


def error_frame(namespace: str, message: str) -> str:
    return f"44{_pre(namespace)}{_json({'message': message})}"


# -- event comparison --------------------------------------------------------------------------


def norm(event: ServerEvent) -> str:
    """A canonical text for an event (no request object, no free-form detail)."""
    if isinstance(event, ConnectRequested):
        fields: tuple[Any, ...] = (
            event.sid,
            event.namespace,
            event.auth,
            event.eio_sid,
            event.recovered,
        )
    elif isinstance(event, Disconnected):
        fields = (event.sid, event.namespace, event.reason.value)
    elif isinstance(event, BroadcastAckCompleted):
        fields = (
            event.namespace,
            event.ack_id,
            sorted(event.responses.items()),
            sorted(event.missing),
            event.timed_out,
        )
    elif isinstance(event, EventReceived):
        fields = (event.sid, event.namespace, event.event, event.args, event.ack_id)
    elif isinstance(event, AckReceived):
        fields = (event.sid, event.namespace, event.ack_id, event.args)
    else:
        fields = (event.sid, event.namespace, event.ack_id)
    return repr((type(event).__name__, *fields))


def settle(h: SocketHarness) -> None:
    """After a direct server call: record its events, deliver its frames."""
    h._run_app()
    h.pump()


# -- API misuse: each must raise LocalProtocolError and do nothing else -------------------------

Misuse = Callable[[SocketServer, str, float], object]
MISUSES: dict[str, Misuse] = {
    "reserved event": lambda sio, sid, now: sio.emit("connect", 1),
    "not JSON": lambda sio, sid, now: sio.emit("e", object()),
    "room not a str": lambda sio, sid, now: sio.emit("e", to=[5]),  # type: ignore[list-item]
    "exclude not a str": lambda sio, sid, now: sio.emit("e", exclude=[5]),  # type: ignore[list-item]
    "to not iterable": lambda sio, sid, now: sio.emit("e", to=5),  # type: ignore[arg-type]
    "emit to unknown namespace": lambda sio, sid, now: sio.emit("e", namespace=UNKNOWN),
    "negative ack timeout": lambda sio, sid, now: sio.emit_with_ack(sid, "x", timeout=-1, now=now),
    "negative broadcast timeout": lambda sio, sid, now: sio.broadcast_with_ack(
        "x", timeout=-1, now=now
    ),
    "ack not JSON": lambda sio, sid, now: sio.ack(sid, 0, object()),
    "enter room not a str": lambda sio, sid, now: sio.enter_room(sid, 5),  # type: ignore[arg-type]
    "sockets room not a str": lambda sio, sid, now: sio.sockets("/", 5),  # type: ignore[arg-type]
    "close room not a str": lambda sio, sid, now: sio.close_room(5),  # type: ignore[arg-type]
    "disconnect unknown": lambda sio, sid, now: sio.disconnect("no-such-socket"),
    "leave own room": lambda sio, sid, now: sio.leave_room(sid, sid),
    "session unknown": lambda sio, sid, now: sio.session("no-such-socket"),
}


# -- the general machine -----------------------------------------------------------------------


@dataclass(eq=False)
class MConn:
    ws: WsClient
    eio_sid: str
    opened_at: float
    open: bool = True
    #: namespace -> socket, in CONNECT order (the order the server drops them in).
    sockets: dict[str, MSocket] = field(default_factory=dict)
    #: Frames the client must have received since the last check, in order.
    expected: list[str | bytes] = field(default_factory=list)
    connect_deadline: float | None = None


@dataclass(eq=False)
class MSocket:
    sid: str
    namespace: str
    conn: MConn
    state: SocketState = _CING
    rooms: set[str] = field(default_factory=set)
    held: list[str | bytes] = field(default_factory=list)


@dataclass(eq=False)
class MSingleAck:
    sid: str
    namespace: str
    ack_id: int
    due: float | None


@dataclass(eq=False)
class MBroadcastAck:
    namespace: str
    ack_id: int
    waiting: set[str]
    due: float | None
    responses: dict[str, list[Any]] = field(default_factory=dict)
    #: Targets that left before replying: reported as missing, timeout or not.
    departed: set[str] = field(default_factory=set)


class SocketServerMachine(RuleBasedStateMachine):
    """A server, its clients and the application, against a naive model."""

    def __init__(self) -> None:
        super().__init__()
        self.h = SocketHarness(
            ENGINE,
            ServerConfig(connect_timeout=CONNECT_TIMEOUT),
            app=None,
            namespaces=("/custom",),
        )
        self.sio: SocketServer = self.h.sio
        self.now = 0.0
        self.conns: list[MConn] = []
        self.sockets: dict[str, MSocket] = {}
        self.all_sids: list[str] = []
        self.refused: set[str] = set()
        self.ack_ids: Counter[str] = Counter()
        self.single_acks: dict[tuple[str, int], MSingleAck] = {}
        self.broadcast_acks: dict[tuple[str, int], MBroadcastAck] = {}
        self.expected_events: list[ServerEvent] = []
        self.events_seen = 0
        self.disconnects: Counter[str] = Counter()
        self.counter = 0

    # -- model helpers ---------------------------------------------------------------------

    def next_value(self) -> int:
        self.counter += 1
        return self.counter

    def open_conns(self) -> list[MConn]:
        return [c for c in self.conns if c.open]

    def pick_conn(self, index: int) -> MConn:
        conns = self.open_conns()
        return conns[index % len(conns)]

    def pick_sid(self, index: int) -> str:
        return self.all_sids[index % len(self.all_sids)]

    def send(self, sock: MSocket, frames: list[str | bytes], volatile: bool = False) -> None:
        if sock.state is _CED:
            sock.conn.expected.extend(frames)
        elif not volatile:
            sock.held.extend(frames)

    def check_ack_id(self, namespace: str, ack_id: int) -> None:
        """One counter per namespace (JS ``nsp._ids``): ids only grow, never repeat."""
        assert ack_id >= self.ack_ids[namespace]
        self.ack_ids[namespace] = ack_id + 1

    def transition(self, sock: MSocket, what: SocketInput) -> SocketState | None:
        return EXPECTED_TRANSITIONS.get((sock.state, what))

    def forget(self, sock: MSocket) -> None:
        del sock.conn.sockets[sock.namespace]
        del self.sockets[sock.sid]
        sock.state = _N

    def drop_acks(self, sid: str) -> None:
        """What leaving does to the socket's pending acknowledgements."""
        for key in [k for k in self.single_acks if k[0] == sid]:
            pending = self.single_acks.pop(key)
            self.expected_events.append(AckTimedOut(sid, pending.namespace, pending.ack_id))
        for key, collector in list(self.broadcast_acks.items()):
            if sid in collector.waiting:
                collector.waiting.discard(sid)
                collector.departed.add(sid)
                if not collector.waiting:
                    self.finish_broadcast(key, timed_out=False)

    def finish_broadcast(self, key: tuple[str, int], *, timed_out: bool) -> None:
        collector = self.broadcast_acks.pop(key)
        self.expected_events.append(
            BroadcastAckCompleted(
                collector.namespace,
                collector.ack_id,
                dict(collector.responses),
                frozenset(collector.waiting | collector.departed),
                timed_out,
            )
        )

    def remove(self, sock: MSocket, what: SocketInput, reason: DisconnectReason) -> None:
        assert self.transition(sock, what) is _N
        self.forget(sock)
        self.expected_events.append(Disconnected(sock.sid, sock.namespace, reason))
        self.drop_acks(sock.sid)

    def close_conn(self, conn: MConn, reason: DisconnectReason) -> None:
        for sock in list(conn.sockets.values()):
            self.remove(sock, _I.CONNECTION_CLOSED, reason)
        conn.open = False
        conn.connect_deadline = None

    def targets(self, namespace: str, to: str | None, exclude: str | None) -> list[MSocket]:
        return [
            s
            for s in self.sockets.values()
            if s.namespace == namespace
            and (to is None or to in s.rooms)
            and (exclude is None or exclude not in s.rooms)
        ]

    def room_choice(self, index: int) -> str | None:
        """None, a room, or a socket id (its own room)."""
        choices: list[str | None] = [None, *ROOMS, *self.all_sids[-4:]]
        return choices[index % len(choices)]

    def expect_closed_by_client_packet(self, conn: MConn) -> None:
        """An invalid packet (protocol.md 2.8) or a decode error: revision 5 closes."""
        self.close_conn(conn, DisconnectReason.PARSE_ERROR)

    # -- clients -----------------------------------------------------------------------------

    @initialize()
    def first_connection(self) -> None:
        self.open_connection()

    @precondition(lambda self: len(self.open_conns()) < 4)
    @rule()
    def open_connection(self) -> None:
        ws, eio_sid = self.h.open_websocket("EIO=4&transport=websocket")
        ws.messages.clear()  # the Engine.IO open packet
        self.conns.append(MConn(ws, eio_sid, self.now, connect_deadline=self.now + CONNECT_TIMEOUT))

    @precondition(lambda self: self.open_conns())
    @rule(
        index=st.integers(0, 100),
        namespace=st.sampled_from([*NAMESPACES, UNKNOWN]),
        with_auth=st.booleans(),
    )
    def client_connect(self, index: int, namespace: str, with_auth: bool) -> None:
        conn = self.pick_conn(index)
        auth = {"n": self.next_value()} if with_auth else None
        conn.ws.send(connect_frame(namespace, auth))
        if namespace == UNKNOWN:
            conn.expected.append(error_frame(namespace, "Invalid namespace"))
            return
        existing = conn.sockets.get(namespace)
        if existing is not None:
            assert self.transition(existing, _I.CONNECT) is None
            self.expect_closed_by_client_packet(conn)
            return
        requests = [
            e for e in self.h.sio_events[self.events_seen :] if isinstance(e, ConnectRequested)
        ]
        assert len(requests) == 1, requests
        sid = requests[0].sid
        assert sid not in self.all_sids, "socket ids are never reused"
        assert sid != conn.eio_sid
        sock = MSocket(sid, namespace, conn, rooms={sid})
        conn.sockets[namespace] = sock
        self.sockets[sid] = sock
        self.all_sids.append(sid)
        self.expected_events.append(
            ConnectRequested(sid, namespace, auth, conn.eio_sid, requests[0].request)
        )

    @precondition(lambda self: self.open_conns())
    @rule(
        index=st.integers(0, 100),
        namespace=st.sampled_from([*NAMESPACES, UNKNOWN]),
        ack_id=st.none() | st.integers(0, 3),
        binary=st.booleans(),
    )
    def client_event(self, index: int, namespace: str, ack_id: int | None, binary: bool) -> None:
        conn = self.pick_conn(index)
        value: Any = bytes([self.next_value() % 256]) if binary else self.next_value()
        frames = event_frames(namespace, ["m", value], ack_id)
        sock = conn.sockets.get(namespace)
        conn.ws.send(frames[0])
        if sock is None or self.transition(sock, _I.EVENT) is None:
            # A BINARY_EVENT header is refused at once, before its attachments.
            self.expect_closed_by_client_packet(conn)
            return
        for attachment in frames[1:]:
            conn.ws.send(attachment)
        self.expected_events.append(EventReceived(sock.sid, namespace, "m", [value], ack_id))

    @precondition(lambda self: self.open_conns())
    @rule(
        index=st.integers(0, 100),
        namespace=st.sampled_from(NAMESPACES),
        ack_id=st.integers(0, 5),
    )
    def client_ack(self, index: int, namespace: str, ack_id: int) -> None:
        conn = self.pick_conn(index)
        value = self.next_value()
        conn.ws.send(ack_frame(namespace, ack_id, [value]))
        sock = conn.sockets.get(namespace)
        if sock is None or self.transition(sock, _I.ACK) is None:
            self.expect_closed_by_client_packet(conn)
            return
        single = self.single_acks.pop((sock.sid, ack_id), None)
        if single is not None:
            self.expected_events.append(AckReceived(sock.sid, namespace, ack_id, [value]))
            return
        collector = self.broadcast_acks.get((namespace, ack_id))
        if collector is not None and sock.sid in collector.waiting:
            collector.waiting.discard(sock.sid)
            collector.responses[sock.sid] = [value]
            if not collector.waiting:
                self.finish_broadcast((namespace, ack_id), timed_out=False)
        # Otherwise: unknown or already answered, ignored.

    @precondition(lambda self: self.open_conns())
    @rule(index=st.integers(0, 100), namespace=st.sampled_from([*NAMESPACES, UNKNOWN]))
    def client_disconnect(self, index: int, namespace: str) -> None:
        conn = self.pick_conn(index)
        conn.ws.send(disconnect_frame(namespace))
        sock = conn.sockets.get(namespace)
        if sock is None or self.transition(sock, _I.DISCONNECT) is None:
            self.expect_closed_by_client_packet(conn)
            return
        self.remove(sock, _I.DISCONNECT, DisconnectReason.CLIENT_DISCONNECT)

    @precondition(lambda self: self.open_conns())
    @rule(
        index=st.integers(0, 100),
        garbage=st.sampled_from(
            ['44{"message":"x"}', '42["x"', "49", '42["connect"]', b"\x01", "40[1]", "41{}"]
        ),
    )
    def client_sends_invalid(self, index: int, garbage: str | bytes) -> None:
        conn = self.pick_conn(index)
        conn.ws.send(garbage)
        self.expect_closed_by_client_packet(conn)

    @precondition(lambda self: self.open_conns())
    @rule(index=st.integers(0, 100), how=st.sampled_from(["lose", "close-packet"]))
    def transport_lost(self, index: int, how: str) -> None:
        conn = self.pick_conn(index)
        if how == "lose":
            conn.ws.reset()
            self.close_conn(conn, DisconnectReason.TRANSPORT_CLOSE)
        else:
            conn.ws.send("1")  # Engine.IO close from the client
            self.close_conn(conn, DisconnectReason.FORCED_CLOSE)

    # -- the application ------------------------------------------------------------------------

    @precondition(lambda self: self.all_sids)
    @rule(index=st.integers(0, 100))
    def accept(self, index: int) -> None:
        sid = self.pick_sid(index)
        sock = self.sockets.get(sid)
        if sock is not None and self.transition(sock, _I.ACCEPT) is None:
            with pytest.raises(LocalProtocolError):
                self.sio.accept(sid)
            return
        result = self.sio.accept(sid)
        settle(self.h)
        assert result is (sock is not None)
        if sock is None:
            return
        sock.state = _CED
        sock.conn.connect_deadline = None
        sock.conn.expected.append(reply_frame(sock.namespace, {"sid": sid}))
        sock.conn.expected.extend(sock.held)
        sock.held = []

    @precondition(lambda self: self.all_sids)
    @rule(index=st.integers(0, 100))
    def refuse(self, index: int) -> None:
        sid = self.pick_sid(index)
        sock = self.sockets.get(sid)
        if sock is not None and self.transition(sock, _I.REFUSE) is None:
            with pytest.raises(LocalProtocolError):
                self.sio.refuse(sid)
            return
        result = self.sio.refuse(sid)
        settle(self.h)
        assert result is (sock is not None)
        if sock is None:
            return
        self.forget(sock)
        self.refused.add(sid)
        sock.conn.expected.append(error_frame(sock.namespace, "Connection refused"))
        # A refused socket leaves too: its pending acks end like a leaving socket's.
        self.drop_acks(sid)

    @rule(
        namespace=st.sampled_from([*NAMESPACES, UNKNOWN]),
        to=st.integers(0, 100),
        exclude=st.integers(0, 100),
        volatile=st.booleans(),
        binary=st.booleans(),
    )
    def server_emit(
        self, namespace: str, to: int, exclude: int, volatile: bool, binary: bool
    ) -> None:
        room, excluded = self.room_choice(to), self.room_choice(exclude)
        value: Any = bytes([self.next_value() % 256]) if binary else self.next_value()
        options: dict[str, Any] = {"to": room, "volatile": volatile}
        if excluded is not None:
            options["exclude"] = excluded
        if namespace == UNKNOWN:
            with pytest.raises(LocalProtocolError):
                self.sio.emit("e", value, namespace=namespace, **options)
            return
        self.sio.emit("e", value, namespace=namespace, **options)
        settle(self.h)
        frames = event_frames(namespace, ["e", value])
        for sock in self.targets(namespace, room, excluded):
            self.send(sock, frames, volatile)

    @precondition(lambda self: self.all_sids)
    @rule(index=st.integers(0, 100), timeout=ACK_TIMEOUTS)
    def server_emit_with_ack(self, index: int, timeout: float | None) -> None:
        sid = self.pick_sid(index)
        sock = self.sockets.get(sid)
        if sock is None:
            with pytest.raises(LocalProtocolError):
                self.sio.emit_with_ack(sid, "ask", timeout=timeout, now=self.now)
            return
        value = self.next_value()
        ack_id = self.sio.emit_with_ack(sid, "ask", value, timeout=timeout, now=self.now)
        settle(self.h)
        self.check_ack_id(sock.namespace, ack_id)
        due = None if timeout is None else self.now + timeout
        self.single_acks[sid, ack_id] = MSingleAck(sid, sock.namespace, ack_id, due)
        self.send(sock, event_frames(sock.namespace, ["ask", value], ack_id))

    @rule(
        namespace=st.sampled_from([*NAMESPACES, UNKNOWN]),
        to=st.integers(0, 100),
        timeout=ACK_TIMEOUTS,
    )
    def server_broadcast_with_ack(self, namespace: str, to: int, timeout: float | None) -> None:
        room = self.room_choice(to)
        if namespace == UNKNOWN:
            with pytest.raises(LocalProtocolError):
                self.sio.broadcast_with_ack("bask", namespace=namespace, to=room)
            return
        ack_id = self.sio.broadcast_with_ack(
            "bask", namespace=namespace, to=room, timeout=timeout, now=self.now
        )
        settle(self.h)
        self.check_ack_id(namespace, ack_id)
        targets = self.targets(namespace, room, None)
        due = None if timeout is None else self.now + timeout
        key = (namespace, ack_id)
        self.broadcast_acks[key] = MBroadcastAck(namespace, ack_id, {s.sid for s in targets}, due)
        for sock in targets:
            self.send(sock, event_frames(namespace, ["bask"], ack_id))
        if not targets:
            self.finish_broadcast(key, timed_out=False)

    @precondition(lambda self: self.all_sids)
    @rule(index=st.integers(0, 100), ack_id=st.integers(0, 3))
    def server_ack(self, index: int, ack_id: int) -> None:
        sid = self.pick_sid(index)
        sock = self.sockets.get(sid)
        if sock is None:
            with pytest.raises(LocalProtocolError):
                self.sio.ack(sid, ack_id, "ok")
            return
        self.sio.ack(sid, ack_id, "ok")
        settle(self.h)
        self.send(sock, [ack_frame(sock.namespace, ack_id, ["ok"])])

    @precondition(lambda self: self.all_sids)
    @rule(index=st.integers(0, 100), close=st.booleans())
    def server_disconnect(self, index: int, close: bool) -> None:
        sid = self.pick_sid(index)
        sock = self.sockets.get(sid)
        if sock is None:
            with pytest.raises(LocalProtocolError):
                self.sio.disconnect(sid, close=close)
            return
        self.sio.disconnect(sid, close=close)
        settle(self.h)
        # JS ``disconnect(true)``: every socket of the connection leaves as by
        # ``disconnect()`` (``41``, or a refusal for one still waiting), then it closes.
        leaving = list(sock.conn.sockets.values()) if close else [sock]
        for other in leaving:
            if other.state is _CING:
                other.conn.expected.append(error_frame(other.namespace, "Connection refused"))
            else:
                other.conn.expected.append(disconnect_frame(other.namespace))
            self.remove(other, _I.SERVER_DISCONNECT, DisconnectReason.SERVER_DISCONNECT)
        if close:
            self.close_conn(sock.conn, DisconnectReason.FORCED_SERVER_CLOSE)

    @precondition(lambda self: self.all_sids)
    @rule(index=st.integers(0, 100), room=st.integers(0, 100), join=st.booleans())
    def server_room(self, index: int, room: int, join: bool) -> None:
        sid = self.pick_sid(index)
        name = self.room_choice(room) or ROOMS[0]
        sock = self.sockets.get(sid)
        call = self.sio.enter_room if join else self.sio.leave_room
        if sock is None or (not join and name == sid):
            # Unknown socket; or its own room, which a socket never leaves (it is how
            # it is addressed, and how namespace-wide broadcasts find it).
            with pytest.raises(LocalProtocolError):
                call(sid, name)
            return
        call(sid, name)
        if join:
            sock.rooms.add(name)
        else:
            sock.rooms.discard(name)

    @rule(namespace=st.sampled_from([*NAMESPACES, UNKNOWN]), room=st.integers(0, 100))
    def server_close_room(self, namespace: str, room: int) -> None:
        name = self.room_choice(room) or ROOMS[1]
        if namespace == UNKNOWN:
            with pytest.raises(LocalProtocolError):
                self.sio.close_room(name, namespace)
            return
        owner = self.sockets.get(name)
        if owner is not None and owner.namespace != namespace:
            owner = None
        try:
            self.sio.close_room(name, namespace)
        except LocalProtocolError:
            # Refusing to close a socket's own room is fine; nothing may change then.
            assert owner is not None
            return
        for sock in self.sockets.values():
            if sock.namespace == namespace and sock is not owner:
                sock.rooms.discard(name)

    @rule(index=st.integers(0, 100), misuse=st.sampled_from(sorted(MISUSES)))
    def api_misuse(self, index: int, misuse: str) -> None:
        """A wrong call raises LocalProtocolError and changes nothing (no frame, no event)."""
        live = list(self.sockets)
        sid = live[index % len(live)] if live else "no-such-socket"
        with pytest.raises(LocalProtocolError):
            MISUSES[misuse](self.sio, sid, self.now)
        settle(self.h)

    @precondition(lambda self: self.conns)
    @rule()
    def server_shutdown(self) -> None:
        self.sio.close(self.now)
        settle(self.h)
        for conn in self.open_conns():
            self.close_conn(conn, DisconnectReason.SERVER_SHUTTING_DOWN)

    @rule(seconds=STEPS)
    def advance(self, seconds: float) -> None:
        target = self.now + seconds
        self.h.clock.advance(seconds)
        # Everything due by then, in time order (no ties by construction).
        while True:
            due: list[tuple[float, Any]] = []
            for conn in self.open_conns():
                if conn.connect_deadline is not None:
                    due.append((conn.connect_deadline, conn))
            for single in self.single_acks.values():
                if single.due is not None:
                    due.append((single.due, single))
            for collector in self.broadcast_acks.values():
                if collector.due is not None:
                    due.append((collector.due, collector))
            due = [d for d in due if d[0] <= target]
            if not due:
                break
            when, owner = min(due, key=lambda d: d[0])
            self.now = when
            if isinstance(owner, MConn):
                self.close_conn(owner, DisconnectReason.FORCED_SERVER_CLOSE)
            elif isinstance(owner, MSingleAck):
                del self.single_acks[owner.sid, owner.ack_id]
                self.expected_events.append(AckTimedOut(owner.sid, owner.namespace, owner.ack_id))
            else:
                self.finish_broadcast((owner.namespace, owner.ack_id), timed_out=True)
        self.now = target
        assert self.h.now == target

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def model_agrees(self) -> None:
        # One invariant, so the checks run in this order after every step.
        self.check_frames()
        self.check_events()
        self.check_disconnected_once()
        self.check_queries()

    def check_frames(self) -> None:
        for conn in self.conns:
            got = list(conn.ws.messages)
            conn.ws.messages.clear()
            expected, conn.expected = conn.expected, []
            assert got == expected, conn.eio_sid
            assert conn.ws.open is conn.open

    def check_events(self) -> None:
        actual = self.h.sio_events[self.events_seen :]
        self.events_seen = len(self.h.sio_events)
        expected, self.expected_events = self.expected_events, []
        assert sorted(map(norm, actual)) == sorted(map(norm, expected))
        for happened in actual:
            if isinstance(happened, Disconnected):
                self.disconnects[happened.sid] += 1

    def check_disconnected_once(self) -> None:
        for sid in self.all_sids:
            if sid in self.sockets or sid in self.refused:
                assert self.disconnects[sid] == 0, sid
            else:
                assert self.disconnects[sid] == 1, sid

    def check_queries(self) -> None:
        sio = self.sio
        for conn in self.conns:
            expected = {ns: s.sid for ns, s in conn.sockets.items()} if conn.open else {}
            assert sio.connection_sockets(conn.eio_sid) == expected
        for sid in self.all_sids:
            sock = self.sockets.get(sid)
            assert sio.state(sid) is (sock.state if sock is not None else _N)
            if sock is None:
                with pytest.raises(LocalProtocolError):
                    sio.rooms(sid)
                continue
            assert sio.rooms(sid) == sock.rooms
            assert sio.namespace_of(sid) == sock.namespace
            assert sio.eio_sid(sid) == sock.conn.eio_sid
        for namespace in NAMESPACES:
            members = {s.sid for s in self.sockets.values() if s.namespace == namespace}
            assert sio.sockets(namespace) == members
            for room in ROOMS:
                in_room = {
                    s.sid
                    for s in self.sockets.values()
                    if s.namespace == namespace and room in s.rooms
                }
                assert sio.sockets(namespace, room) == in_room
        assert sio.sockets(UNKNOWN) == frozenset()


SocketServerMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=30, deadline=None
)
TestSocketServerMachine = SocketServerMachine.TestCase


# -- the recovery machine ----------------------------------------------------------------------

DURATION = 10.0
MAX_PACKETS = 5


class Ids:
    def __init__(self) -> None:
        self.made: list[str] = []

    def __call__(self) -> str:
        value = f"id{len(self.made) + 1}"
        self.made.append(value)
        return value


@dataclass(eq=False)
class RClient:
    namespace: str
    sid: str
    pid: str
    ws: WsClient | None
    rooms: set[str]
    data: int
    #: The last offset received (what a JS client sends back), None before any event.
    offset: str | None = None
    #: "connected", "dropped" (session kept) or "left" (not kept).
    status: str = "connected"
    dropped_at: float = 0.0
    expected: list[str | bytes] = field(default_factory=list)


@dataclass(frozen=True)
class RPacket:
    offset: str
    namespace: str
    rooms: frozenset[str]
    exclude: frozenset[str]
    at: float
    frames: tuple[str | bytes, ...]


class RecoveryMachine(RuleBasedStateMachine):
    """Sessions dropped and recovered under random emits, room changes and time."""

    def __init__(self) -> None:
        super().__init__()
        self.ids = Ids()
        config = ServerConfig(
            recovery=RecoveryConfig(
                max_disconnection_duration=DURATION, max_stored_packets=MAX_PACKETS
            ),
            id_generator=self.ids,
        )
        #: While set, the app leaves CONNECT requests unanswered.
        self.hold = False

        def app(sio: SocketServer, event: ServerEvent) -> None:
            if isinstance(event, ConnectRequested) and not self.hold:
                sio.accept(event.sid)

        self.h = SocketHarness(ENGINE, config, app=app, namespaces=("/custom",))
        self.sio = self.h.sio
        self.now = 0.0
        self.clients: list[RClient] = []
        self.log: list[RPacket] = []
        self.counter = 0
        self.events_seen = 0

    def next_value(self) -> int:
        self.counter += 1
        return self.counter

    def connected(self) -> list[RClient]:
        return [c for c in self.clients if c.status == "connected"]

    def away(self) -> list[RClient]:
        return [c for c in self.clients if c.status != "connected"]

    def new_requests(self) -> list[ConnectRequested]:
        events = self.h.sio_events[self.events_seen :]
        self.events_seen = len(self.h.sio_events)
        return [e for e in events if isinstance(e, ConnectRequested)]

    def open_and_join(
        self, namespace: str, auth: dict[str, str] | None
    ) -> tuple[WsClient, list[str | bytes], ConnectRequested]:
        ws, _ = self.h.open_websocket("EIO=4&transport=websocket")
        ws.messages.clear()
        self.new_requests()
        ws.send(connect_frame(namespace, auth))
        frames = list(ws.messages)
        ws.messages.clear()
        requests = self.new_requests()
        assert len(requests) == 1, requests
        return ws, frames, requests[0]

    def stored(self, offset: str) -> int | None:
        """The index of ``offset`` in the log if the server must still know it."""
        kept = self.log[-MAX_PACKETS:]
        for index, packet in enumerate(self.log):
            if packet.offset == offset:
                if packet not in kept or self.now >= packet.at + DURATION:
                    return None
                return index
        return None

    # -- rules ------------------------------------------------------------------------------------

    @initialize()
    def first_client(self) -> None:
        self.connect("/", welcome=True)

    @precondition(lambda self: len(self.connected()) < 4)
    @rule(namespace=st.sampled_from(NAMESPACES), welcome=st.booleans())
    def connect(self, namespace: str, welcome: bool) -> None:
        """A new client; ``welcome``: the app greets it, so it has an offset at once."""
        ws, frames, request = self.open_and_join(namespace, None)
        assert not request.recovered
        assert len(frames) == 1
        payload = json.loads(str(frames[0])[len(connect_frame(namespace)) :])
        assert payload["sid"] == request.sid
        data = self.next_value()
        self.sio.session(request.sid)["data"] = data
        self.clients.append(
            RClient(namespace, request.sid, payload["pid"], ws, {request.sid}, data)
        )
        if welcome:
            self.emit(namespace, -1, None, binary=False, volatile=False)

    @precondition(lambda self: self.connected())
    @rule(index=st.integers(0, 100), room=st.sampled_from(ROOMS), join=st.booleans())
    def room(self, index: int, room: str, join: bool) -> None:
        client = self.connected()[index % len(self.connected())]
        if join:
            self.sio.enter_room(client.sid, room)
            client.rooms.add(room)
        else:
            self.sio.leave_room(client.sid, room)
            client.rooms.discard(room)

    @rule(
        namespace=st.sampled_from(["/", "/", "/custom"]),
        to=st.none() | st.integers(0, 100),
        exclude=st.none() | st.none() | st.integers(0, 100),
        binary=st.booleans(),
        volatile=st.sampled_from([False, False, False, True]),
    )
    def emit(
        self, namespace: str, to: int | None, exclude: int | None, binary: bool, volatile: bool
    ) -> None:
        choices = [*ROOMS, *(c.sid for c in self.clients[-3:])]
        room = None if to is None else choices[to % len(choices)]
        if to is not None and to < 0:
            room = self.clients[-1].sid  # the newest client
        excluded = None if exclude is None else choices[exclude % len(choices)]
        value: Any = bytes([self.next_value() % 256]) if binary else self.next_value()
        before = len(self.ids.made)
        self.sio.emit(
            "tick",
            value,
            namespace=namespace,
            to=room,
            exclude=() if excluded is None else excluded,
            volatile=volatile,
            now=self.now,
        )
        settle(self.h)
        made = self.ids.made[before:]
        if volatile:
            assert made == []
            frames = event_frames(namespace, ["tick", value])
        else:
            assert len(made) == 1
            offset = made[0]
            frames = event_frames(namespace, ["tick", value, offset])
            self.log.append(
                RPacket(
                    offset,
                    namespace,
                    frozenset(() if room is None else (room,)),
                    frozenset(() if excluded is None else (excluded,)),
                    self.now,
                    tuple(frames),
                )
            )
        for client in self.connected():
            if (
                client.namespace == namespace
                and (room is None or room in client.rooms)
                and (excluded is None or excluded not in client.rooms)
            ):
                client.expected.extend(frames)
                if not volatile:
                    client.offset = self.log[-1].offset

    @rule(namespace=st.sampled_from(NAMESPACES), binary=st.booleans())
    def broadcast(self, namespace: str, binary: bool) -> None:
        """The common case: an event for the whole namespace."""
        self.emit(namespace, None, None, binary, volatile=False)

    @precondition(lambda self: self.connected())
    @rule(
        index=st.integers(0, 100),
        how=st.sampled_from(
            ["lose", "lose", "lose", "close-packet", "41", "server-disconnect", "server-close"]
        ),
    )
    def drop(self, index: int, how: str) -> None:
        client = self.connected()[index % len(self.connected())]
        assert client.ws is not None
        if how == "lose":
            client.ws.reset()
        elif how in ("close-packet", "41"):
            client.ws.send("1" if how == "close-packet" else disconnect_frame(client.namespace))
        else:
            # Kicked by the server: never kept, even when the connection closes too.
            self.sio.disconnect(client.sid, close=how == "server-close")
            settle(self.h)
            assert client.ws.messages == [disconnect_frame(client.namespace)]
        client.ws.reset()  # gone for good: the next connection is a new one
        kept = how in ("lose", "close-packet")
        client.status = "dropped" if kept else "left"
        client.dropped_at = self.now
        client.ws = None

    @precondition(lambda self: self.connected())
    @rule()
    def shutdown(self) -> None:
        """``close()`` ("server shutting down"): every session is kept."""
        self.sio.close(self.now)
        settle(self.h)
        for client in self.connected():
            assert client.ws is not None
            assert client.ws.messages == []
            assert not client.ws.open
            client.status = "dropped"
            client.dropped_at = self.now
            client.ws = None

    @rule(seconds=st.sampled_from([0.5, 1.0, 3.0, 6.0]))
    def advance(self, seconds: float) -> None:
        self.h.clock.advance(seconds)
        self.now += seconds

    @precondition(lambda self: self.away())
    @rule(index=st.integers(0, 100))
    def reconnect(self, index: int) -> None:
        client = self.away()[index % len(self.away())]
        auth = {"pid": client.pid}
        if client.offset is not None:
            auth["offset"] = client.offset
        ws, frames, request = self.open_and_join(client.namespace, auth)
        position = None if client.offset is None else self.stored(client.offset)
        recovers = self.recoverable(client)
        assert request.recovered is recovers, (client, position, self.now)
        if recovers:
            why = "recovered"
        elif client.status == "left":
            why = "not kept"
        elif client.offset is None:
            why = "no offset"
        elif position is None:
            why = "offset gone"
        else:
            why = "session expired"
        event(f"reconnect: {why}")
        if recovers:
            assert position is not None
            replay: list[str | bytes] = []
            for packet in self.log[position + 1 :]:
                included = not packet.rooms or bool(packet.rooms & client.rooms)
                excluded = bool(packet.exclude & client.rooms)
                if packet.namespace == client.namespace and included and not excluded:
                    replay.extend(packet.frames)
                    client.offset = packet.offset
            reply = reply_frame(client.namespace, {"sid": client.sid, "pid": client.pid})
            assert frames == [*replay, reply]
            assert request.sid == client.sid
            assert self.sio.session(client.sid) == {"data": client.data}
        else:
            assert request.sid != client.sid
            assert len(frames) == 1
            payload = json.loads(str(frames[0])[len(connect_frame(client.namespace)) :])
            assert payload["pid"] != client.pid
            data = self.next_value()
            self.sio.session(request.sid)["data"] = data
            client.sid, client.pid, client.rooms = request.sid, payload["pid"], {request.sid}
            client.data, client.offset = data, None
        client.ws = ws
        client.status = "connected"

    def recoverable(self, client: RClient) -> bool:
        """Whether ``client``'s pid and offset must bring its session back now."""
        return (
            client.status == "dropped"
            and client.offset is not None
            and self.now < client.dropped_at + DURATION
            and self.stored(client.offset) is not None
        )

    @precondition(lambda self: self.away())
    @rule(index=st.integers(0, 100))
    def interrupted_reconnect(self, index: int) -> None:
        """The new connection is lost before the app answers: the client keeps pid and offset."""
        client = self.away()[index % len(self.away())]
        auth = {"pid": client.pid}
        if client.offset is not None:
            auth["offset"] = client.offset
        recovers = self.recoverable(client)
        self.hold = True
        try:
            ws, frames, request = self.open_and_join(client.namespace, auth)
        finally:
            self.hold = False
        assert request.recovered is recovers
        assert frames == []  # nothing before the answer, not even the replay
        if recovers:
            assert request.sid == client.sid
            assert self.sio.rooms(client.sid) == client.rooms
        ws.reset()
        if recovers:
            # Kept again, as of this second loss.
            client.dropped_at = self.now
        event(f"interrupted reconnect: {'recovered' if recovers else 'new session'}")

    @precondition(lambda self: self.connected())
    @rule(index=st.integers(0, 100))
    def steal(self, index: int) -> None:
        """A second connection presents a live socket's pid and offset: a new session."""
        client = self.connected()[index % len(self.connected())]
        auth = {"pid": client.pid}
        if client.offset is not None:
            auth["offset"] = client.offset
        ws, frames, request = self.open_and_join(client.namespace, auth)
        assert not request.recovered
        assert request.sid != client.sid
        assert len(frames) == 1
        ws.reset()
        self.new_requests()

    # -- invariants -------------------------------------------------------------------------------

    @invariant()
    def frames_arrive_in_order(self) -> None:
        for client in self.connected():
            assert client.ws is not None
            got = list(client.ws.messages)
            client.ws.messages.clear()
            expected, client.expected = client.expected, []
            assert got == expected

    @invariant()
    def rooms_agree(self) -> None:
        for client in self.connected():
            assert self.sio.rooms(client.sid) == client.rooms
        for namespace in NAMESPACES:
            assert self.sio.sockets(namespace) == {
                c.sid for c in self.connected() if c.namespace == namespace
            }


RecoveryMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=30, deadline=None
)
TestRecoveryMachine = RecoveryMachine.TestCase


@pytest.mark.slow
def test_socket_server_machine_thorough() -> None:
    run_state_machine_as_test(
        SocketServerMachine,
        settings=settings(max_examples=1000, stateful_step_count=60, deadline=None),
    )


@pytest.mark.slow
def test_recovery_machine_thorough() -> None:
    run_state_machine_as_test(
        RecoveryMachine,
        settings=settings(max_examples=1000, stateful_step_count=60, deadline=None),
    )
