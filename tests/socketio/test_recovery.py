"""Connection state recovery, byte for byte through the wire harness (protocol.md 2.10).

A :class:`SocketHarness` runs a :class:`SocketServer` with recovery on, a
deterministic id generator (``id1``, ``id2``... for sids, pids and offsets
alike) and a small app that accepts every CONNECT and joins rooms on request.
Clients are WebSocket connections speaking raw Socket.IO frames: they drop
(TCP loss, ping timeout, an Engine.IO close...), the server keeps emitting,
and a new connection presents ``{"pid", "offset"}``: the missed packets must
come before the CONNECT reply, which carries the same sid and pid.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from socketio_proto.engineio.config import EngineConfig
from socketio_proto.errors import LocalProtocolError
from socketio_proto.socketio.config import RecoveryConfig, ServerConfig
from socketio_proto.socketio.events import (
    AckReceived,
    BroadcastAckCompleted,
    ConnectRequested,
    Disconnected,
    DisconnectReason,
    EventReceived,
    ServerEvent,
)
from socketio_proto.socketio.server import SocketServer
from tests.support.socket_server import App, SocketHarness
from tests.support.wire_client import WsClient

#: Heartbeats far away: the tests move the clock by minutes without pongs.
ENGINE = EngineConfig(
    path="/socket.io/", ping_interval=1000.0, ping_timeout=1000.0, cors_allowed_origins="*"
)
DURATION = 60.0


class Ids:
    """A deterministic id generator that remembers what it made."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def __call__(self) -> str:
        value = f"id{len(self.made) + 1}"
        self.made.append(value)
        return value


def recovering_app(sio: SocketServer, event: ServerEvent) -> None:
    """Accept everyone; remember the auth of fresh sockets; rooms and acks on request."""
    if isinstance(event, ConnectRequested):
        if not event.recovered:
            sio.session(event.sid)["auth"] = event.auth
        sio.accept(event.sid)
    elif isinstance(event, EventReceived):
        if event.event == "join":
            sio.enter_room(event.sid, str(event.args[0]))
        elif event.event == "leave":
            sio.leave_room(event.sid, str(event.args[0]))
        elif event.event == "ack-me" and event.ack_id is not None:
            sio.ack(event.sid, event.ack_id, *event.args)


@dataclass
class Setup:
    h: SocketHarness
    ids: Ids

    @property
    def sio(self) -> SocketServer:
        return self.h.sio

    def emit(self, event: str, *args: Any, **options: Any) -> str:
        """``sio.emit`` stamped with the harness clock; returns the offset it got."""
        before = len(self.ids.made)
        self.sio.emit(event, *args, now=self.h.now, **options)
        self.settle()
        made = self.ids.made[before:]
        assert len(made) == 1, made
        return made[0]

    def settle(self) -> None:
        """After a direct server call: run the app on its events, deliver the frames."""
        self.h._run_app()
        self.h.pump()

    def events(self, kind: type[Any]) -> list[Any]:
        return self.h.of_type(kind)


def make(
    *,
    duration: float = DURATION,
    max_packets: int = 10_000,
    recovery: bool = True,
    app: App | None = recovering_app,
    engine: EngineConfig = ENGINE,
) -> Setup:
    ids = Ids()
    config = ServerConfig(
        recovery=(
            RecoveryConfig(max_disconnection_duration=duration, max_stored_packets=max_packets)
            if recovery
            else None
        ),
        id_generator=ids,
    )
    return Setup(SocketHarness(engine, config, app=app, namespaces=("/custom",)), ids)


@dataclass
class Client:
    ws: WsClient
    eio_sid: str
    sid: str
    pid: str | None
    #: Frames received before the CONNECT reply (the replay).
    replay: list[str | bytes] = field(default_factory=list)


def drain(ws: WsClient) -> list[str | bytes]:
    messages = list(ws.messages)
    ws.messages.clear()
    return messages


def prefix(namespace: str) -> str:
    return "" if namespace == "/" else f"{namespace},"


def reply_of(frame: str | bytes, namespace: str = "/") -> dict[str, Any]:
    head = f"40{prefix(namespace)}"
    assert isinstance(frame, str), frame
    assert frame.startswith(head + "{"), frame
    payload = json.loads(frame[len(head) :])
    assert isinstance(payload, dict)
    return payload


def connect(s: Setup, auth: dict[str, Any] | None = None, namespace: str = "/") -> Client:
    """A new WebSocket connection joining ``namespace``; everything up to the reply is read."""
    ws, eio_sid = s.h.open_websocket("EIO=4&transport=websocket")
    return join(s, ws, eio_sid, auth, namespace)


def join(
    s: Setup, ws: WsClient, eio_sid: str, auth: dict[str, Any] | None, namespace: str = "/"
) -> Client:
    body = "" if auth is None else json.dumps(auth, separators=(",", ":"))
    ws.send(f"40{prefix(namespace)}{body}")
    frames = drain(ws)
    head = f"40{prefix(namespace)}{{"
    replies = [i for i, f in enumerate(frames) if isinstance(f, str) and f.startswith(head)]
    assert len(replies) == 1, frames
    index = replies[0]
    payload = reply_of(frames[index], namespace)
    # Whatever followed the reply (the app's emits) stays readable.
    ws.messages[:0] = frames[index + 1 :]
    return Client(ws, eio_sid, payload["sid"], payload.get("pid"), frames[:index])


def last_offset(frame: str | bytes) -> str:
    """The offset a JS client would remember from an event frame (its last argument)."""
    assert isinstance(frame, str), frame
    body = frame[frame.index("[") :]
    data = json.loads(body)
    assert isinstance(data[-1], str)
    return str(data[-1])


def connect_requested(s: Setup) -> ConnectRequested:
    event = s.events(ConnectRequested)[-1]
    assert isinstance(event, ConnectRequested)
    return event


# -- offsets and the CONNECT reply -------------------------------------------------------------


def test_connect_reply_has_sid_and_pid() -> None:
    s = make()
    ws, _ = s.h.open_websocket()
    ws.send("40")
    assert drain(ws) == ['40{"sid":"id1","pid":"id2"}']
    ws.send('40/custom,{"token":"x"}')
    assert drain(ws) == ['40/custom,{"sid":"id3","pid":"id4"}']
    first, second = s.events(ConnectRequested)
    assert (first.sid, first.recovered) == ("id1", False)
    assert (second.sid, second.auth, second.recovered) == ("id3", {"token": "x"}, False)
    # The pid is private: the socket id differs from it and from the Engine.IO sid.
    assert first.eio_sid not in ("id1", "id2")


def test_without_recovery_there_is_no_pid_and_no_offset() -> None:
    s = make(recovery=False)
    client = connect(s)
    assert client.pid is None
    s.sio.emit("tick", 1)
    s.settle()
    assert drain(client.ws) == ['42["tick",1]']
    assert s.sio.next_deadline() is None
    # A pid/offset pair means nothing then.
    client.ws.reset()
    again = connect(s, {"pid": "id2", "offset": "id3"})
    assert again.sid != client.sid
    assert not connect_requested(s).recovered


def test_emitted_events_carry_the_offset_as_last_element() -> None:
    s = make()
    a = connect(s)
    b = connect(s, namespace="/custom")
    s.sio.enter_room(a.sid, "red")
    offset = s.emit("tick", 1)
    assert drain(a.ws) == [f'42["tick",1,"{offset}"]']
    offset = s.emit("tick", {"n": 2}, to="red")
    assert drain(a.ws) == [f'42["tick",{{"n":2}},"{offset}"]']
    offset = s.emit("tick", 3, to=a.sid)
    assert drain(a.ws) == [f'42["tick",3,"{offset}"]']
    offset = s.emit("tick", namespace="/custom")
    assert drain(b.ws) == [f'42/custom,["tick","{offset}"]']
    # Every emit gets a fresh offset, targets or not.
    first, second = s.emit("nobody", to="empty-room"), s.emit("nobody", to="empty-room")
    assert first != second
    assert drain(a.ws) == []


def test_binary_event_offset_follows_the_placeholder() -> None:
    s = make()
    a = connect(s)
    offset = s.emit("hello", b"\x01\x02")
    assert drain(a.ws) == [
        f'451-["hello",{{"_placeholder":true,"num":0}},"{offset}"]',
        b"\x01\x02",
    ]


def test_acks_and_volatile_emits_carry_no_offset() -> None:
    s = make()
    a = connect(s)
    made = len(s.ids.made)
    # The server answers the client's ack request: an ACK, no offset.
    a.ws.send('427["ack-me",5]')
    assert drain(a.ws) == ["437[5]"]
    # Emits asking for an acknowledgement: no offset (they cannot be replayed).
    ack_id = s.sio.emit_with_ack(a.sid, "ask", 1)
    s.settle()
    assert drain(a.ws) == [f'42{ack_id}["ask",1]']
    a.ws.send(f"43{ack_id}[true]")
    assert s.events(AckReceived)[-1] == AckReceived(a.sid, "/", ack_id, [True])
    ack_id = s.sio.broadcast_with_ack("bask")
    s.settle()
    assert drain(a.ws) == [f'42{ack_id}["bask"]']
    a.ws.send(f"43{ack_id}[]")
    assert s.events(BroadcastAckCompleted)[-1].responses == {a.sid: []}
    # Volatile: no offset.
    s.sio.emit("v", 1, volatile=True)
    s.settle()
    assert drain(a.ws) == ['42["v",1]']
    assert s.ids.made[made:] == []


# -- a successful recovery ---------------------------------------------------------------------


def test_recovery_after_transport_close_replays_what_the_rooms_missed() -> None:
    s = make()
    a = connect(s, {"user": "ann"})
    a.ws.send('42["join","red"]')
    s.sio.session(a.sid)["score"] = 3
    seen = s.emit("tick", 0)
    assert drain(a.ws) == [f'42["tick",0,"{seen}"]']

    s.h.clock.advance(5)
    a.ws.reset()
    lost = s.events(Disconnected)[-1]
    assert lost == Disconnected(a.sid, "/", DisconnectReason.TRANSPORT_CLOSE)
    assert s.sio.sockets("/") == frozenset()

    everyone = s.emit("tick", 1)
    red = s.emit("tick", 2, to="red")
    s.emit("tick", 3, to="blue")  # not a room of the session
    s.emit("tick", 4, exclude="red")  # excluded
    own = s.emit("tick", 5, to=a.sid)  # its own room
    s.emit("tick", 6, namespace="/custom")  # another namespace
    s.emit("tick", 7, to="red", exclude=a.sid)  # excluded by its own room
    s.sio.emit("tick", 8, volatile=True)  # never stored
    s.settle()

    s.h.clock.advance(5)
    b = connect(s, {"pid": a.pid, "offset": seen})
    assert (b.sid, b.pid) == (a.sid, a.pid)
    assert b.replay == [
        f'42["tick",1,"{everyone}"]',
        f'42["tick",2,"{red}"]',
        f'42["tick",5,"{own}"]',
    ]
    event = connect_requested(s)
    assert event.recovered
    assert (event.sid, event.eio_sid) == (a.sid, b.eio_sid)
    assert event.auth == {"pid": a.pid, "offset": seen}
    assert s.sio.rooms(a.sid) == {a.sid, "red"}
    assert s.sio.session(a.sid) == {"auth": {"user": "ann"}, "score": 3}
    assert s.sio.sockets("/") == {a.sid}
    assert s.sio.sockets("/", "red") == {a.sid}
    assert s.sio.eio_sid(a.sid) == b.eio_sid
    # Life goes on: new emits reach the recovered socket through its rooms.
    offset = s.emit("tick", 9, to="red")
    assert drain(b.ws) == [f'42["tick",9,"{offset}"]']


def test_replay_filter_with_several_rooms() -> None:
    s = make()
    a = connect(s)
    a.ws.send('42["join","red"]')
    a.ws.send('42["join","green"]')
    seen = s.emit("tick", 0)
    a.ws.reset()
    either = s.emit("tick", 1, to=["blue", "green"])
    s.emit("tick", 2, to=["blue", "black"])
    s.emit("tick", 3, to=["red", "blue"], exclude=["black", "green"])
    neither = s.emit("tick", 4, exclude=["blue", "black"])
    s.emit("tick", 5, to=["red"], exclude=["red"])
    b = connect(s, {"pid": a.pid, "offset": seen})
    assert b.replay == [f'42["tick",1,"{either}"]', f'42["tick",4,"{neither}"]']
    assert s.sio.rooms(a.sid) == {a.sid, "red", "green"}


def test_replay_from_the_latest_offset_is_empty() -> None:
    s = make()
    a = connect(s)
    offset = s.emit("tick", 1)
    a.ws.reset()
    b = connect(s, {"pid": a.pid, "offset": offset})
    assert b.replay == []
    assert (b.sid, b.pid) == (a.sid, a.pid)
    assert connect_requested(s).recovered


def test_binary_events_are_stored_and_replayed_with_attachments() -> None:
    s = make()
    a = connect(s)
    seen = s.emit("tick", 0)
    a.ws.reset()
    first = s.emit("hello", b"\x01\x02", "world")
    second = s.emit("two", {"x": [b"\x03"]}, b"")
    b = connect(s, {"pid": a.pid, "offset": seen})
    assert b.replay == [
        f'451-["hello",{{"_placeholder":true,"num":0}},"world","{first}"]',
        b"\x01\x02",
        f'452-["two",{{"x":[{{"_placeholder":true,"num":0}}]}},'
        f'{{"_placeholder":true,"num":1}},"{second}"]',
        b"\x03",
        b"",
    ]
    assert b.sid == a.sid


def test_recovery_after_ping_timeout() -> None:
    engine = EngineConfig(path="/socket.io/", ping_interval=1.0, ping_timeout=1.0)
    s = make(engine=engine)
    a = connect(s)
    seen = s.emit("tick", 0)
    s.h.clock.advance(2.5)  # the ping at 1 s is never answered
    assert s.events(Disconnected)[-1] == Disconnected(a.sid, "/", DisconnectReason.PING_TIMEOUT)
    missed = s.emit("tick", 1)
    b = connect(s, {"pid": a.pid, "offset": seen})
    assert b.replay == [f'42["tick",1,"{missed}"]']
    assert b.sid == a.sid
    assert connect_requested(s).recovered


def test_recovery_after_engine_close_packet() -> None:
    # An Engine.IO ``1`` from the client: "forced close", a recoverable reason.
    s = make()
    a = connect(s)
    seen = s.emit("tick", 0)
    a.ws.send("1")
    assert s.events(Disconnected)[-1] == Disconnected(a.sid, "/", DisconnectReason.FORCED_CLOSE)
    missed = s.emit("tick", 1)
    b = connect(s, {"pid": a.pid, "offset": seen})
    assert b.replay == [f'42["tick",1,"{missed}"]']
    assert b.sid == a.sid


def test_recovery_after_server_shutdown() -> None:
    s = make()
    a = connect(s)
    seen = s.emit("tick", 0)
    s.sio.close(s.h.now)
    s.settle()
    assert not a.ws.open
    assert s.events(Disconnected)[-1].reason is DisconnectReason.SERVER_SHUTTING_DOWN
    b = connect(s, {"pid": a.pid, "offset": seen})
    assert b.sid == a.sid
    assert connect_requested(s).recovered


def test_recovered_socket_gets_replay_then_reply_then_what_the_app_emitted() -> None:
    def app(sio: SocketServer, event: ServerEvent) -> None:
        if isinstance(event, ConnectRequested):
            # Emitted while the socket waits for the answer: held until after the reply.
            sio.emit("welcome", event.recovered, to=event.sid)
            sio.accept(event.sid)
            sio.emit("after", to=event.sid)

    s = make(app=app)
    a = connect(s)
    welcome, after = drain(a.ws)
    a.ws.reset()
    missed = s.emit("tick", 1)
    ws, eio_sid = s.h.open_websocket()
    ws.send(f'40{{"pid":"{a.pid}","offset":"{last_offset(after)}"}}')
    frames = drain(ws)
    assert frames[0] == f'42["tick",1,"{missed}"]'
    assert frames[1] == f'40{{"sid":"{a.sid}","pid":"{a.pid}"}}'
    assert len(frames) == 4
    assert frames[2] == f'42["welcome",true,"{last_offset(frames[2])}"]'
    assert frames[3] == f'42["after","{last_offset(frames[3])}"]'
    assert welcome != frames[2]
    assert eio_sid != a.eio_sid


def test_delayed_accept_of_a_recovered_socket() -> None:
    # The app answers later; what is emitted to the socket's rooms meanwhile follows the reply.
    s = make(app=None)
    ws, _ = s.h.open_websocket()
    ws.send("40")
    sid = connect_requested(s).sid
    s.sio.enter_room(sid, "red")
    s.sio.accept(sid)
    s.settle()
    pid = reply_of(drain(ws)[0])["pid"]
    seen = s.emit("tick", 0)
    drain(ws)
    ws.reset()
    missed = s.emit("tick", 1, to="red")
    ws2, _ = s.h.open_websocket()
    ws2.send(f'40{{"pid":"{pid}","offset":"{seen}"}}')
    assert drain(ws2) == []  # nothing before the answer, not even the replay
    assert s.sio.rooms(sid) == {sid, "red"}
    meanwhile = s.emit("tick", 2, to="red")
    assert drain(ws2) == []
    assert s.sio.accept(sid)
    s.settle()
    assert drain(ws2) == [
        f'42["tick",1,"{missed}"]',
        f'40{{"sid":"{sid}","pid":"{pid}"}}',
        f'42["tick",2,"{meanwhile}"]',
    ]


def test_each_namespace_of_a_connection_recovers_on_its_own() -> None:
    s = make()
    ws, eio_sid = s.h.open_websocket()
    root = join(s, ws, eio_sid, None)
    custom = join(s, ws, eio_sid, None, "/custom")
    root_seen = s.emit("tick", "r0")
    custom_seen = s.emit("tick", "c0", namespace="/custom")
    drain(ws)
    ws.reset()
    assert {e.sid for e in s.events(Disconnected)} == {root.sid, custom.sid}
    root_missed = s.emit("tick", "r1")
    custom_missed = s.emit("tick", "c1", namespace="/custom")

    ws2, eio2 = s.h.open_websocket()
    again_custom = join(s, ws2, eio2, {"pid": custom.pid, "offset": custom_seen}, "/custom")
    again_root = join(s, ws2, eio2, {"pid": root.pid, "offset": root_seen})
    assert (again_custom.sid, again_custom.pid) == (custom.sid, custom.pid)
    assert (again_root.sid, again_root.pid) == (root.sid, root.pid)
    assert again_custom.replay == [f'42/custom,["tick","c1","{custom_missed}"]']
    assert again_root.replay == [f'42["tick","r1","{root_missed}"]']
    assert s.sio.connection_sockets(eio2) == {"/": root.sid, "/custom": custom.sid}


# -- the JS bugs of the issue --------------------------------------------------------------------


def test_pid_without_offset_is_a_new_session() -> None:
    # The JS client only sends ``offset`` once it received an event; before that it sends
    # ``{"pid": ...}`` alone.  Our server, like JS, needs both: a fresh session, even if
    # events were missed meanwhile (they cannot be placed without an offset).
    s = make()
    a = connect(s)
    a.ws.reset()
    s.emit("tick", 1)
    b = connect(s, {"pid": a.pid})
    assert b.sid != a.sid
    assert b.pid not in (None, a.pid)
    assert b.replay == []
    assert not connect_requested(s).recovered
    assert drain(b.ws) == []


@pytest.mark.parametrize(
    "auth",
    [
        lambda pid, offset: {"pid": pid, "offset": None},
        lambda pid, offset: {"pid": pid, "offset": 3},
        lambda pid, offset: {"pid": None, "offset": offset},
        lambda pid, offset: {"pid": [pid], "offset": offset},
        lambda pid, offset: {"offset": offset},
        lambda pid, offset: {"pid": pid + " ", "offset": offset},
        lambda pid, offset: {"pid": pid, "offset": [offset]},
    ],
)
def test_malformed_pid_or_offset_is_a_new_session(
    auth: Callable[[str, str], dict[str, Any]],
) -> None:
    s = make()
    a = connect(s)
    assert a.pid is not None
    seen = s.emit("tick", 0)
    a.ws.reset()
    s.emit("tick", 1)
    b = connect(s, auth(a.pid, seen))
    assert b.sid != a.sid
    assert b.replay == []
    assert not connect_requested(s).recovered
    # The session is still there for a well-formed attempt.
    c = connect(s, {"pid": a.pid, "offset": seen})
    assert c.sid == a.sid


def test_repeated_recoveries() -> None:
    s = make()
    a = connect(s)
    a.ws.send('42["join","red"]')
    first_seen = s.emit("tick", 0)
    a.ws.reset()
    first_missed = s.emit("tick", 1, to="red")
    b = connect(s, {"pid": a.pid, "offset": first_seen})
    assert b.replay == [f'42["tick",1,"{first_missed}"]']
    # The client remembers the last offset it got (from the replay, then live events).
    live = s.emit("tick", 2)
    assert drain(b.ws) == [f'42["tick",2,"{live}"]']

    # While the recovered socket lives, its old pid/offset pair is worth nothing.
    thief = connect(s, {"pid": a.pid, "offset": first_seen})
    assert thief.sid not in (a.sid, None)
    assert thief.pid != a.pid
    assert thief.replay == []
    assert not connect_requested(s).recovered
    assert s.sio.state(a.sid).name == "CONNECTED"
    assert s.sio.eio_sid(a.sid) == b.eio_sid

    # Drop again: recovery with the newer offset works, same sid and pid again.
    b.ws.reset()
    second_missed = s.emit("tick", 3, to="red")
    thief.ws.reset()
    c = connect(s, {"pid": a.pid, "offset": live})
    assert (c.sid, c.pid) == (a.sid, a.pid)
    assert c.replay == [f'42["tick",3,"{second_missed}"]']
    assert s.sio.rooms(a.sid) == {a.sid, "red"}
    # And a third time.
    c.ws.reset()
    third_missed = s.emit("tick", 4)
    d = connect(s, {"pid": a.pid, "offset": second_missed})
    assert d.replay == [f'42["tick",4,"{third_missed}"]']
    assert [e.recovered for e in s.events(ConnectRequested)] == [
        False,
        True,
        False,
        True,
        True,
    ]


def test_a_pid_is_good_for_one_recovery() -> None:
    s = make()
    a = connect(s)
    seen = s.emit("tick", 0)
    a.ws.reset()
    b = connect(s, {"pid": a.pid, "offset": seen})
    assert b.sid == a.sid
    # A second connection with the same pair, while the first recovered one is alive.
    c = connect(s, {"pid": a.pid, "offset": seen})
    assert c.sid != a.sid
    assert s.sio.sockets("/") == {a.sid, c.sid}


def test_expiry_exactly_at_the_maximum_disconnection_duration() -> None:
    s = make()
    a = connect(s)
    seen = s.emit("tick", 0)
    a.ws.reset()
    dropped_at = s.h.now
    assert s.sio.next_deadline() == dropped_at + DURATION
    s.h.clock.advance(DURATION)
    b = connect(s, {"pid": a.pid, "offset": seen})
    assert b.sid != a.sid
    assert not connect_requested(s).recovered
    assert s.sio.next_deadline() is None


def test_just_before_expiry_recovers() -> None:
    s = make()
    a = connect(s)
    s.h.clock.advance(10)
    seen = s.emit("tick", 0)  # the offset lives until 10 + DURATION
    a.ws.reset()
    s.h.clock.advance(DURATION - 0.001)
    missed = s.emit("tick", 1)
    b = connect(s, {"pid": a.pid, "offset": seen})
    assert b.sid == a.sid
    assert b.replay == [f'42["tick",1,"{missed}"]']


def test_expired_offset_fails_although_the_session_is_young() -> None:
    # The client's last event is older than the duration: the offset is gone, like in JS.
    s = make()
    a = connect(s)
    seen = s.emit("tick", 0)
    s.h.clock.advance(DURATION + 1)
    a.ws.reset()
    s.emit("tick", 1)
    b = connect(s, {"pid": a.pid, "offset": seen})
    assert b.sid != a.sid
    assert b.replay == []
    assert not connect_requested(s).recovered


def test_offset_dropped_by_the_packet_bound_fails() -> None:
    s = make(max_packets=2)
    a = connect(s)
    seen = s.emit("tick", 0)
    a.ws.reset()
    s.emit("tick", 1)
    s.emit("tick", 2)  # pushes ``seen`` out
    b = connect(s, {"pid": a.pid, "offset": seen})
    assert b.sid != a.sid
    assert not connect_requested(s).recovered


def test_packet_bound_keeps_the_newest() -> None:
    s = make(max_packets=2)
    a = connect(s)
    s.emit("tick", 0)
    seen = s.emit("tick", 1)
    a.ws.reset()
    missed = s.emit("tick", 2)
    b = connect(s, {"pid": a.pid, "offset": seen})
    assert b.replay == [f'42["tick",2,"{missed}"]']


# -- failures are silent: a new session ---------------------------------------------------------


def _fresh(s: Setup, old: Client, offset: str) -> Client:
    """Reconnect with ``old``'s pid and ``offset``; assert a new, normal session."""
    new = connect(s, {"pid": old.pid, "offset": offset})
    assert new.sid != old.sid
    assert new.pid not in (None, old.pid)
    assert new.replay == []
    assert not connect_requested(s).recovered
    assert s.sio.rooms(new.sid) == {new.sid}
    assert s.sio.session(new.sid) == {"auth": {"pid": old.pid, "offset": offset}}
    return new


def test_unknown_pid() -> None:
    s = make()
    a = connect(s)
    seen = s.emit("tick", 0)
    a.ws.reset()
    b = connect(s, {"pid": "who", "offset": seen})
    assert b.sid != a.sid
    assert not connect_requested(s).recovered
    # The real session is untouched.
    assert connect(s, {"pid": a.pid, "offset": seen}).sid == a.sid


def test_unknown_offset() -> None:
    s = make()
    a = connect(s)
    seen = s.emit("tick", 0)
    a.ws.reset()
    _fresh(s, a, "no-such-offset")
    # The session is still kept for a good offset.
    assert connect(s, {"pid": a.pid, "offset": seen}).sid == a.sid


def test_pid_of_another_namespace() -> None:
    s = make()
    a = connect(s)
    seen = s.emit("tick", 0)
    a.ws.reset()
    b = connect(s, {"pid": a.pid, "offset": seen}, namespace="/custom")
    assert b.sid != a.sid
    assert not connect_requested(s).recovered
    assert connect(s, {"pid": a.pid, "offset": seen}).sid == a.sid


def test_explicit_client_disconnect_is_not_persisted() -> None:
    s = make()
    a = connect(s)
    seen = s.emit("tick", 0)
    a.ws.send("41")
    assert s.events(Disconnected)[-1].reason is DisconnectReason.CLIENT_DISCONNECT
    a.ws.reset()  # the later transport loss does not bring it back
    s.emit("tick", 1)
    _fresh(s, a, seen)


def test_parse_error_is_not_persisted() -> None:
    s = make()
    a = connect(s)
    seen = s.emit("tick", 0)
    a.ws.send('42["x"')
    assert not a.ws.open
    assert s.events(Disconnected)[-1].reason is DisconnectReason.PARSE_ERROR
    _fresh(s, a, seen)


def test_invalid_state_close_is_not_persisted() -> None:
    s = make()
    a = connect(s)
    seen = s.emit("tick", 0)
    a.ws.send("40")  # CONNECT for a connected namespace: the connection closes
    assert not a.ws.open
    assert s.events(Disconnected)[-1].reason is DisconnectReason.PARSE_ERROR
    _fresh(s, a, seen)


def test_server_disconnect_is_not_persisted() -> None:
    s = make()
    a = connect(s)
    seen = s.emit("tick", 0)
    drain(a.ws)
    s.sio.disconnect(a.sid)
    s.settle()
    assert drain(a.ws) == ["41"]
    assert s.events(Disconnected)[-1].reason is DisconnectReason.SERVER_DISCONNECT
    a.ws.reset()
    _fresh(s, a, seen)


def test_server_disconnect_with_close_is_not_persisted() -> None:
    # JS ``socket.disconnect(true)`` runs ``client._disconnect()``: every socket of the
    # connection gets ``41`` and leaves with "server namespace disconnect" (not a
    # recoverable reason), then the connection closes.  A kicked client must not come
    # back with its rooms and data -- recovered sockets even skip the connect middlewares.
    s = make()
    a = connect(s)
    seen = s.emit("tick", 0)
    drain(a.ws)
    s.sio.disconnect(a.sid, close=True)
    s.settle()
    assert not a.ws.open
    assert drain(a.ws) == ["41"]
    _fresh(s, a, seen)


def test_refused_recovered_socket_loses_its_session() -> None:
    # The app may still refuse a recovered socket; the session was taken and is not put back.
    refuse = [False]

    def app(sio: SocketServer, event: ServerEvent) -> None:
        if isinstance(event, ConnectRequested):
            if refuse[0]:
                sio.refuse(event.sid, "banned")
            else:
                sio.accept(event.sid)

    s = make(app=app)
    a = connect(s)
    seen = s.emit("tick", 0)
    a.ws.reset()
    refuse[0] = True
    ws, _ = s.h.open_websocket()
    ws.send(f'40{{"pid":"{a.pid}","offset":"{seen}"}}')
    assert connect_requested(s).recovered
    assert drain(ws) == ['44{"message":"banned"}']
    assert s.sio.sockets("/") == frozenset()
    refuse[0] = False
    assert connect(s, {"pid": a.pid, "offset": seen}).sid != a.sid


def test_recovered_socket_dropped_before_accept_keeps_its_session() -> None:
    # The client never saw a CONNECT reply on the second connection: it still holds its
    # pid and offset and tries again.  The session must not be lost with that connection.
    s = make(app=None)
    ws, _ = s.h.open_websocket()
    ws.send("40")
    sid = connect_requested(s).sid
    s.sio.accept(sid)
    s.settle()
    pid = reply_of(drain(ws)[0])["pid"]
    seen = s.emit("tick", 0)
    ws.reset()
    missed = s.emit("tick", 1)

    ws2, _ = s.h.open_websocket()
    ws2.send(f'40{{"pid":"{pid}","offset":"{seen}"}}')
    assert connect_requested(s).recovered
    meanwhile = s.emit("tick", 2)  # held for the waiting socket, never delivered
    ws2.reset()  # lost before the app answered
    assert drain(ws2) == []
    assert s.events(Disconnected)[-1] == Disconnected(sid, "/", DisconnectReason.TRANSPORT_CLOSE)

    ws3, _ = s.h.open_websocket()
    ws3.send(f'40{{"pid":"{pid}","offset":"{seen}"}}')
    event = connect_requested(s)
    assert event.recovered
    assert event.sid == sid
    assert s.sio.accept(sid)
    s.settle()
    assert drain(ws3) == [
        f'42["tick",1,"{missed}"]',
        f'42["tick",2,"{meanwhile}"]',
        f'40{{"sid":"{sid}","pid":"{pid}"}}',
    ]


def test_emit_to_unknown_namespace_stores_nothing() -> None:
    # A refused emit must not take a slot of the bounded packet store.
    s = make(max_packets=2)
    a = connect(s)
    seen = s.emit("tick", 0)
    a.ws.reset()
    missed = s.emit("tick", 1)
    with pytest.raises(LocalProtocolError):
        s.sio.emit("tick", 2, namespace="/nope", now=s.h.now)
    b = connect(s, {"pid": a.pid, "offset": seen})
    assert b.sid == a.sid
    assert b.replay == [f'42["tick",1,"{missed}"]']


def test_invalid_emit_stores_nothing() -> None:
    s = make(max_packets=2)
    a = connect(s)
    seen = s.emit("tick", 0)
    a.ws.reset()
    missed = s.emit("tick", 1)
    with pytest.raises(LocalProtocolError):
        s.sio.emit("connect", 2)  # a reserved name
    b = connect(s, {"pid": a.pid, "offset": seen})
    assert b.replay == [f'42["tick",1,"{missed}"]']


def test_emit_with_invalid_rooms_stores_nothing() -> None:
    # Room names are checked when the adapter fans out, after the packet was stored.
    s = make(max_packets=2)
    a = connect(s)
    seen = s.emit("tick", 0)
    a.ws.reset()
    missed = s.emit("tick", 1)
    with pytest.raises(LocalProtocolError):
        s.sio.emit("tick", 2, to=[5], now=s.h.now)  # type: ignore[list-item]
    with pytest.raises(LocalProtocolError):
        s.sio.emit("tick", 3, exclude=[5], now=s.h.now)  # type: ignore[list-item]
    b = connect(s, {"pid": a.pid, "offset": seen})
    assert b.sid == a.sid
    assert b.replay == [f'42["tick",1,"{missed}"]']


# -- expiry through the timers -------------------------------------------------------------------


def test_store_is_swept_by_handle_timeout() -> None:
    s = make()
    a = connect(s)
    s.emit("tick", 0)
    assert s.sio.next_deadline() == DURATION
    s.h.clock.advance(10)
    a.ws.reset()
    assert s.sio.next_deadline() == DURATION  # the packet first
    s.h.clock.advance(DURATION - 10)
    assert s.sio.next_deadline() == 10 + DURATION  # then the session
    s.h.clock.advance(10)
    assert s.sio.next_deadline() is None


def test_revision_4_clients_get_no_pid_and_no_offset() -> None:
    # Revision 4 (Socket.IO 2.x over Engine.IO 3) has no recovery: the implicit CONNECT
    # reply has no payload, and events reach it without the offset revision 5 sockets see.
    engine = EngineConfig(
        path="/socket.io/", ping_interval=1000.0, ping_timeout=1000.0, allow_eio3=True
    )
    s = make(engine=engine)
    ws, eio_sid = s.h.open_websocket("EIO=3&transport=websocket")
    assert drain(ws) == ["40"]  # implicit "/", no payload, no pid
    sid = connect_requested(s).sid
    assert sid == eio_sid
    modern = connect(s)
    offset = s.emit("tick", 1)
    assert drain(ws) == ['42["tick",1]']
    assert drain(modern.ws) == [f'42["tick",1,"{offset}"]']
    offset = s.emit("bin", b"\x01")
    # (Engine.IO 3 binary frames carry the 04 message type.)
    assert drain(ws) == ['451-["bin",{"_placeholder":true,"num":0}]', b"\x04\x01"]
    assert drain(modern.ws) == [
        f'451-["bin",{{"_placeholder":true,"num":0}},"{offset}"]',
        b"\x01",
    ]
    ws.reset()
    assert s.events(Disconnected)[-1].sid == sid
    # No session was kept for it: a revision 5 client presenting its id gets nothing.
    again = connect(s, {"pid": sid, "offset": offset})
    assert again.sid != sid
    assert not connect_requested(s).recovered
