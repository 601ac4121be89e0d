"""The :class:`SocketServer` API, driven by custom apps and checked on the wire.

Clients are WebSocket (or polling) sessions of the byte-level harness; the test
plays the application, calling ``accept``/``refuse``/``emit``/... directly and
then :func:`settle` to run the app on what the calls reported and deliver the
output.  Time only moves through the harness's fake clock.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from socketio_proto.errors import LocalProtocolError
from socketio_proto.socketio import events as sio_events
from socketio_proto.socketio.events import (
    AckReceived,
    AckTimedOut,
    BroadcastAckCompleted,
    ConnectRequested,
    Disconnected,
    DisconnectReason,
    EventReceived,
)
from socketio_proto.socketio.packet import RESERVED_EVENTS
from socketio_proto.socketio.parser import Encoder
from socketio_proto.socketio.server import SocketServer, SocketState
from tests.support.socket_server import SocketHarness
from tests.support.wire_client import WsClient

PING_INTERVAL = 0.3


def accept_all(sio: SocketServer, event: sio_events.ServerEvent) -> None:
    if isinstance(event, ConnectRequested):
        sio.accept(event.sid)


def settle(h: SocketHarness) -> None:
    """Run the app on what direct API calls reported, then deliver the output."""
    h._run_app()
    h.pump()


def harness(app: Any = accept_all, **kwargs: Any) -> SocketHarness:
    return SocketHarness(app=app, **kwargs)


def open_ws(h: SocketHarness) -> WsClient:
    ws, _ = h.open_websocket("EIO=4&transport=websocket")
    return ws


def connect_prefix(namespace: str) -> str:
    return "40" if namespace == "/" else f"40{namespace},"


def join(
    h: SocketHarness, namespace: str = "/", ws: WsClient | None = None
) -> tuple[WsClient, str]:
    """Open a WebSocket (unless given) and join ``namespace`` with an accepting app."""
    if ws is None:
        ws = open_ws(h)
    prefix = connect_prefix(namespace)
    ws.send(prefix)
    reply = ws.recv()
    assert isinstance(reply, str)
    assert reply.startswith(prefix + "{"), reply
    payload = json.loads(reply[len(prefix) :])
    assert set(payload) == {"sid"}
    sid = payload["sid"]
    assert isinstance(sid, str)
    return ws, sid


def request_join(
    h: SocketHarness, namespace: str = "/", auth: str = ""
) -> tuple[WsClient, ConnectRequested]:
    """With a non-answering app: send CONNECT and return the ConnectRequested."""
    ws = open_ws(h)
    ws.send(connect_prefix(namespace) + auth)
    request = h.of_type(ConnectRequested)[-1]
    assert request.namespace == namespace
    assert ws.messages == []
    return ws, request


def wire(*messages: str) -> list[str | bytes]:
    return list(messages)


# -- accept / refuse ---------------------------------------------------------------------------


def test_accept_sends_the_connect_reply() -> None:
    h = harness(app=None)
    ws, request = request_join(h, "/", '{"token":"t"}')
    assert request.auth == {"token": "t"}
    assert request.recovered is False
    assert request.request.query["EIO"] == "4"
    assert h.sio.state(request.sid) is SocketState.CONNECTING
    assert h.sio.accept(request.sid) is True
    settle(h)
    assert ws.messages == [f'40{{"sid":"{request.sid}"}}']
    assert h.sio.state(request.sid) is SocketState.CONNECTED
    with pytest.raises(LocalProtocolError):
        h.sio.accept(request.sid)
    with pytest.raises(LocalProtocolError):
        h.sio.refuse(request.sid)


def test_accept_on_a_custom_namespace() -> None:
    h = harness(app=None)
    ws, request = request_join(h, "/custom")
    h.sio.accept(request.sid)
    settle(h)
    assert ws.messages == [f'40/custom,{{"sid":"{request.sid}"}}']
    assert h.sio.namespace_of(request.sid) == "/custom"


def test_accept_unknown_sid_returns_false() -> None:
    h = harness(app=None)
    assert h.sio.accept("nobody") is False
    assert h.sio.refuse("nobody") is False


def test_refuse_with_data() -> None:
    h = harness(app=None)
    ws, request = request_join(h)
    assert h.sio.refuse(request.sid, "Not authorized", {"reason": "x", "n": [1]}) is True
    settle(h)
    assert ws.messages == ['44{"message":"Not authorized","data":{"reason":"x","n":[1]}}']
    assert h.sio.state(request.sid) is SocketState.NONE
    assert h.sio.sockets("/") == frozenset()
    assert ws.open  # the Engine.IO connection stays
    assert h.of_type(Disconnected) == []  # it never connected


def test_refuse_without_data_omits_it() -> None:
    h = harness(app=None)
    ws, request = request_join(h, "/custom")
    h.sio.refuse(request.sid, "Nope")
    settle(h)
    assert ws.messages == ['44/custom,{"message":"Nope"}']


def test_refuse_default_message() -> None:
    h = harness(app=None)
    ws, request = request_join(h)
    h.sio.refuse(request.sid)
    settle(h)
    assert ws.messages == ['44{"message":"Connection refused"}']


@pytest.mark.parametrize("data", [0, False, "", [], {}])
def test_refuse_with_falsy_data_keeps_it(data: Any) -> None:
    h = harness(app=None)
    ws, request = request_join(h)
    h.sio.refuse(request.sid, "m", data)
    settle(h)
    expected = {"message": "m", "data": data}
    (reply,) = ws.messages
    assert isinstance(reply, str)
    assert json.loads(reply[2:]) == expected


def test_client_may_connect_again_after_a_refusal() -> None:
    h = harness(app=None)
    ws, first = request_join(h)
    h.sio.refuse(first.sid, "later")
    ws.send("40")
    second = h.of_type(ConnectRequested)[-1]
    assert second.sid != first.sid
    h.sio.accept(second.sid)
    settle(h)
    assert ws.messages == ['44{"message":"later"}', f'40{{"sid":"{second.sid}"}}']


def test_emits_before_accept_are_held_and_follow_the_reply_in_order() -> None:
    h = harness(app=None)
    ws, request = request_join(h)
    sid = request.sid
    h.sio.emit("a", 1, to=sid)
    h.sio.emit("b", {"x": b"\x01"}, to=sid)
    ack_id = h.sio.emit_with_ack(sid, "c")
    h.sio.emit("everyone", 2)  # a broadcast also reaches the connecting socket
    settle(h)
    assert ws.messages == []  # nothing before the CONNECT reply
    h.sio.accept(sid)
    settle(h)
    assert ws.messages == [
        f'40{{"sid":"{sid}"}}',
        '42["a",1]',
        '451-["b",{"x":{"_placeholder":true,"num":0}}]',
        b"\x01",
        f'42{ack_id}["c"]',
        '42["everyone",2]',
    ]
    h.sio.emit("after", to=sid)
    settle(h)
    assert ws.messages[-1] == '42["after"]'


def test_volatile_emit_before_accept_is_dropped() -> None:
    h = harness(app=None)
    ws, request = request_join(h)
    h.sio.emit("gone", to=request.sid, volatile=True)
    h.sio.emit("kept", to=request.sid)
    h.sio.accept(request.sid)
    settle(h)
    assert ws.messages == [f'40{{"sid":"{request.sid}"}}', '42["kept"]']


def test_refuse_drops_held_frames() -> None:
    h = harness(app=None)
    ws, request = request_join(h)
    h.sio.emit("a", 1, to=request.sid)
    h.sio.emit("b", 2, to=request.sid)
    h.sio.refuse(request.sid, "no")
    settle(h)
    assert ws.messages == ['44{"message":"no"}']
    h.clock.advance(PING_INTERVAL)
    assert ws.messages == ['44{"message":"no"}', "2"]


def test_disconnect_while_connecting_refuses() -> None:
    h = harness(app=None)
    ws, request = request_join(h)
    h.sio.emit("held", to=request.sid)
    h.sio.disconnect(request.sid)
    settle(h)
    assert ws.messages == ['44{"message":"Connection refused"}']
    assert h.of_type(Disconnected) == [
        Disconnected(request.sid, "/", DisconnectReason.SERVER_DISCONNECT)
    ]
    assert ws.open


def test_refuse_disarms_a_pending_ack() -> None:
    """An ack awaited from a socket that is then refused must not outlive it."""
    h = harness(app=None)
    ws, request = request_join(h)
    ack_id = h.sio.emit_with_ack(request.sid, "q", timeout=0.1)
    h.sio.refuse(request.sid, "no")
    settle(h)
    h.clock.advance(0.2)  # past the ack's deadline: must not raise
    assert h.of_type(AckTimedOut) == [AckTimedOut(request.sid, "/", ack_id)]
    assert ws.messages == ['44{"message":"no"}']


def test_refuse_completes_a_broadcast_ack_waiting_only_for_that_socket() -> None:
    h = harness(app=None)
    _, request = request_join(h)
    ack_id = h.sio.broadcast_with_ack("q")  # no timeout: only replies (or leaving) end it
    settle(h)
    assert h.of_type(BroadcastAckCompleted) == []
    h.sio.refuse(request.sid, "no")
    settle(h)
    (done,) = h.of_type(BroadcastAckCompleted)
    assert (done.namespace, done.ack_id, done.responses, done.timed_out) == (
        "/",
        ack_id,
        {},
        False,
    )


# -- emit: rooms, exclude, broadcast -----------------------------------------------------------


class Trio:
    """Three accepted clients on ``/``; a and b in room ``red``, b and c in ``blue``."""

    def __init__(self) -> None:
        self.h = harness()
        (self.a, self.sa), (self.b, self.sb), (self.c, self.sc) = (join(self.h) for _ in "abc")
        self.h.sio.enter_room(self.sa, "red")
        self.h.sio.enter_room(self.sb, "red")
        self.h.sio.enter_room(self.sb, "blue")
        self.h.sio.enter_room(self.sc, "blue")

    def received(self) -> tuple[list[str | bytes], list[str | bytes], list[str | bytes]]:
        settle(self.h)
        out = (self.a.messages, self.b.messages, self.c.messages)
        self.a.messages, self.b.messages, self.c.messages = [], [], []
        return out


def test_emit_to_a_room_reaches_only_its_members() -> None:
    t = Trio()
    t.h.sio.emit("r", 1, to="red")
    assert t.received() == (['42["r",1]'], ['42["r",1]'], [])
    t.h.sio.emit("b", 2, to="blue")
    assert t.received() == ([], ['42["b",2]'], ['42["b",2]'])


def test_emit_to_several_rooms_reaches_each_socket_once() -> None:
    t = Trio()
    t.h.sio.emit("rb", to=["red", "blue"])
    assert t.received() == (['42["rb"]'], ['42["rb"]'], ['42["rb"]'])


def test_emit_to_a_socket_id() -> None:
    t = Trio()
    t.h.sio.emit("you", to=t.sc)
    assert t.received() == ([], [], ['42["you"]'])
    t.h.sio.emit("you2", to=[t.sa, t.sc])
    assert t.received() == (['42["you2"]'], [], ['42["you2"]'])


def test_emit_with_exclude() -> None:
    t = Trio()
    t.h.sio.emit("x", to="red", exclude=t.sa)
    assert t.received() == ([], ['42["x"]'], [])
    t.h.sio.emit("y", exclude="blue")
    assert t.received() == (['42["y"]'], [], [])
    t.h.sio.emit("z", exclude=["red", "blue"])
    assert t.received() == ([], [], [])


def test_emit_to_everyone() -> None:
    t = Trio()
    t.h.sio.emit("all", [1, 2], {"k": None})
    frame = '42["all",[1,2],{"k":null}]'
    assert t.received() == ([frame], [frame], [frame])


def test_emit_to_an_empty_room_sends_nothing() -> None:
    t = Trio()
    t.h.sio.emit("nobody", to="green")
    assert t.received() == ([], [], [])


def test_emit_only_reaches_the_namespace() -> None:
    t = Trio()
    join(t.h, "/custom", t.a)
    t.h.sio.emit("c", namespace="/custom")
    assert t.received() == (['42/custom,["c"]'], [], [])
    t.h.sio.emit("root")
    assert t.received() == (['42["root"]'], ['42["root"]'], ['42["root"]'])


def test_emit_encodes_once_for_every_target(monkeypatch: pytest.MonkeyPatch) -> None:
    t = Trio()
    calls: list[Any] = []
    original: Callable[[Encoder, Any], list[str | bytes]] = Encoder.encode

    def counting(self: Encoder, packet: Any) -> list[str | bytes]:
        calls.append(packet)
        return original(self, packet)

    monkeypatch.setattr(Encoder, "encode", counting)
    t.h.sio.emit("big", {"blob": b"\x00" * 100, "n": 1})
    a, b, c = t.received()
    assert len(calls) == 1
    assert a == b == c
    assert a[0] == '451-["big",{"blob":{"_placeholder":true,"num":0},"n":1}]'
    assert a[1] == b"\x00" * 100


def test_binary_emit_over_polling_and_websocket() -> None:
    h = harness()
    ws, _ = join(h)
    eio_sid = h.open_polling()
    h.send_post(eio_sid, "40")
    h.poll(eio_sid)
    h.sio.emit("bin", b"\x01\x02")
    settle(h)
    assert ws.messages == ['451-["bin",{"_placeholder":true,"num":0}]', b"\x01\x02"]
    body = h.poll(eio_sid).response.body
    assert body == b'451-["bin",{"_placeholder":true,"num":0}]\x1ebAQI='


def test_emit_with_invalid_arguments() -> None:
    t = Trio()
    with pytest.raises(LocalProtocolError):
        t.h.sio.emit("x", namespace="/nope")
    with pytest.raises(LocalProtocolError):
        t.h.sio.emit("x", object())
    with pytest.raises(LocalProtocolError):
        t.h.sio.emit(None, to=t.sa)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        t.h.sio.emit(float("inf"), to=t.sa)
    with pytest.raises(LocalProtocolError):
        t.h.sio.emit("x", to=t.sa, now=0.0, namespace="bad")
    assert t.received() == ([], [], [])
    # Like JS, NaN and infinities inside the arguments become null.
    t.h.sio.emit("x", float("nan"), float("-inf"), to=t.sa)
    assert t.received() == (['42["x",null,null]'], [], [])


@pytest.mark.parametrize("name", sorted(RESERVED_EVENTS))
def test_emit_reserved_event_name_is_refused(name: str) -> None:
    t = Trio()
    with pytest.raises(LocalProtocolError):
        t.h.sio.emit(name)
    with pytest.raises(LocalProtocolError):
        t.h.sio.emit(name, to=t.sa)
    with pytest.raises(LocalProtocolError):
        t.h.sio.emit_with_ack(t.sa, name)
    with pytest.raises(LocalProtocolError):
        t.h.sio.broadcast_with_ack(name)
    assert t.received() == ([], [], [])


def test_emit_error_event_name_is_allowed() -> None:
    t = Trio()
    t.h.sio.emit("error", "x", to=t.sa)
    assert t.received() == (['42["error","x"]'], [], [])


def test_unknown_sid_is_refused() -> None:
    h = harness()
    sio = h.sio
    calls: list[Callable[[], object]] = [
        lambda: sio.emit_with_ack("nobody", "x"),
        lambda: sio.ack("nobody", 1),
        lambda: sio.disconnect("nobody"),
        lambda: sio.enter_room("nobody", "r"),
        lambda: sio.leave_room("nobody", "r"),
        lambda: sio.rooms("nobody"),
        lambda: sio.session("nobody"),
        lambda: sio.namespace_of("nobody"),
        lambda: sio.eio_sid("nobody"),
    ]
    for call in calls:
        with pytest.raises(LocalProtocolError):
            call()
    assert sio.state("nobody") is SocketState.NONE
    # emit to an unknown id is a room nobody is in: nothing happens.
    sio.emit("x", to="nobody")


def test_unknown_namespace_is_refused() -> None:
    h = harness()
    with pytest.raises(LocalProtocolError):
        h.sio.emit("x", namespace="/nope")
    with pytest.raises(LocalProtocolError):
        h.sio.broadcast_with_ack("x", namespace="/nope")
    with pytest.raises(LocalProtocolError):
        h.sio.close_room("r", namespace="/nope")
    with pytest.raises(LocalProtocolError):
        h.sio.adapter("/nope")
    assert h.sio.sockets("/nope") == frozenset()


@pytest.mark.parametrize("name", ["nope", "/a,b", ""])
def test_add_namespace_refuses_invalid_names(name: str) -> None:
    h = harness()
    with pytest.raises(LocalProtocolError):
        h.sio.add_namespace(name)


# -- acks --------------------------------------------------------------------------------------


def test_emit_with_ack_and_ack_received() -> None:
    h = harness()
    ws, sid = join(h)
    ack_id = h.sio.emit_with_ack(sid, "question", 1)
    settle(h)
    assert ws.messages == [f'42{ack_id}["question",1]']
    ws.send(f'43{ack_id}["answer",{{"x":2}}]')
    assert h.of_type(AckReceived) == [AckReceived(sid, "/", ack_id, ["answer", {"x": 2}])]
    # A second reply to the same id is ignored.
    ws.send(f'43{ack_id}["again"]')
    assert len(h.of_type(AckReceived)) == 1
    assert ws.open


def test_ack_from_another_socket_is_ignored() -> None:
    h = harness()
    ws1, s1 = join(h)
    ws2, s2 = join(h)
    ack_id = h.sio.emit_with_ack(s1, "only for s1")
    settle(h)
    assert ws1.recv() == f'42{ack_id}["only for s1"]'
    assert ws2.messages == []
    ws2.send(f'43{ack_id}["spoofed"]')  # s2 guesses the id: not its ack
    _, custom = join(h, "/custom", ws1)
    ws1.send(f'43/custom,{ack_id}["wrong namespace"]')
    assert h.of_type(AckReceived) == []
    ws1.send(f'43{ack_id}["real"]')
    assert h.of_type(AckReceived) == [AckReceived(s1, "/", ack_id, ["real"])]
    assert ws2.open
    assert s2 != custom


def test_ack_ids_count_per_namespace() -> None:
    h = harness()
    ws1, s1 = join(h)
    ws2, s2 = join(h)
    _, c1 = join(h, "/custom", ws1)
    ids = [
        h.sio.emit_with_ack(s1, "a"),
        h.sio.emit_with_ack(s2, "b"),
        h.sio.broadcast_with_ack("c"),
        h.sio.emit_with_ack(c1, "d"),
        h.sio.emit_with_ack(s1, "e"),
    ]
    assert ids == [0, 1, 2, 0, 3]
    settle(h)
    assert ws1.messages == ['420["a"]', '422["c"]', '42/custom,0["d"]', '423["e"]']
    assert ws2.messages == ['421["b"]', '422["c"]']


def test_binary_ack_received() -> None:
    h = harness()
    ws, sid = join(h)
    ack_id = h.sio.emit_with_ack(sid, "q")
    ws.send(f'461-{ack_id}[{{"_placeholder":true,"num":0}}]')
    ws.send(b"\xaa")
    assert h.of_type(AckReceived) == [AckReceived(sid, "/", ack_id, [b"\xaa"])]


def test_ack_reply_to_the_client() -> None:
    h = harness()
    ws, sid = join(h)
    ws.send('425["question"]')
    (event,) = h.of_type(EventReceived)
    assert event.ack_id == 5
    h.sio.ack(sid, 5, "bin", b"\x01")
    h.sio.ack(sid, 5)
    settle(h)
    assert ws.messages == [
        '461-5["bin",{"_placeholder":true,"num":0}]',
        b"\x01",
        "435[]",
    ]


def test_ack_timeout_fires_exactly_at_now_plus_timeout() -> None:
    h = harness()
    ws, sid = join(h)
    h.clock.advance(0.05)
    start = h.now
    ack_id = h.sio.emit_with_ack(sid, "q", timeout=0.25, now=start)
    settle(h)
    assert h.sio.next_deadline() == start + 0.25
    h.clock.advance_to(start + 0.25 - 1e-9)
    assert h.of_type(AckTimedOut) == []
    h.clock.advance_to(start + 0.25)
    assert h.clock.fired[-1] == start + 0.25
    assert h.of_type(AckTimedOut) == [AckTimedOut(sid, "/", ack_id)]
    # A late ack is ignored, and is not an error.
    ws.send(f'43{ack_id}["late"]')
    assert h.of_type(AckReceived) == []
    assert ws.open


def test_ack_timeout_defaults_to_the_latest_now() -> None:
    h = harness()
    ws, sid = join(h)
    h.clock.advance(0.1)
    ws.send('42["tick"]')  # the server learns the time from engine events
    ack_id = h.sio.emit_with_ack(sid, "q", timeout=0.2)
    assert h.sio.next_deadline() == pytest.approx(0.3)
    ws.send(f'43{ack_id}["in time"]')
    assert h.of_type(AckReceived) == [AckReceived(sid, "/", ack_id, ["in time"])]
    h.clock.advance(0.3)
    assert h.of_type(AckTimedOut) == []


def test_negative_ack_timeout_is_refused() -> None:
    h = harness()
    _, sid = join(h)
    with pytest.raises(LocalProtocolError):
        h.sio.emit_with_ack(sid, "q", timeout=-1)


def test_pending_acks_of_a_socket_that_disconnects_time_out() -> None:
    h = harness()
    ws, sid = join(h)
    first = h.sio.emit_with_ack(sid, "q1")
    second = h.sio.emit_with_ack(sid, "q2", timeout=10)
    settle(h)
    ws.send("41")
    assert h.of_type(AckTimedOut) == [
        AckTimedOut(sid, "/", first),
        AckTimedOut(sid, "/", second),
    ]
    gone = h.of_type(Disconnected)
    assert gone == [Disconnected(sid, "/", DisconnectReason.CLIENT_DISCONNECT)]
    assert h.sio.next_deadline() is None
    h.clock.advance(0.25)
    assert len(h.of_type(AckTimedOut)) == 2


def test_pending_acks_of_a_closed_connection_time_out() -> None:
    h = harness()
    ws, sid = join(h)
    ack_id = h.sio.emit_with_ack(sid, "q")
    ws.close()
    assert h.of_type(AckTimedOut) == [AckTimedOut(sid, "/", ack_id)]
    assert h.of_type(Disconnected) == [Disconnected(sid, "/", DisconnectReason.TRANSPORT_CLOSE)]


def test_broadcast_with_ack_collects_replies() -> None:
    t = Trio()
    ack_id = t.h.sio.broadcast_with_ack("poll", "?")
    a, b, c = t.received()
    assert a == b == c == [f'42{ack_id}["poll","?"]']
    t.a.send(f'43{ack_id}["A"]')
    t.b.send(f'43{ack_id}["B",2]')
    assert t.h.of_type(BroadcastAckCompleted) == []
    t.c.send(f"43{ack_id}[]")
    (done,) = t.h.of_type(BroadcastAckCompleted)
    assert done == BroadcastAckCompleted(
        "/", ack_id, {t.sa: ["A"], t.sb: ["B", 2], t.sc: []}, frozenset(), False
    )
    assert t.h.of_type(AckReceived) == []  # replies are folded into the completion
    t.a.send(f'43{ack_id}["again"]')
    assert len(t.h.of_type(BroadcastAckCompleted)) == 1


def test_broadcast_with_ack_to_a_room() -> None:
    t = Trio()
    ack_id = t.h.sio.broadcast_with_ack("poll", to="blue", exclude=t.sc)
    assert t.received() == ([], [f'42{ack_id}["poll"]'], [])
    t.b.send(f"43{ack_id}[1]")
    (done,) = t.h.of_type(BroadcastAckCompleted)
    assert done.responses == {t.sb: [1]}
    assert done.timed_out is False


def test_broadcast_with_ack_timeout_with_a_silent_client() -> None:
    t = Trio()
    start = t.h.now
    ack_id = t.h.sio.broadcast_with_ack("poll", timeout=0.2, now=start)
    t.received()
    t.a.send(f'43{ack_id}["A"]')
    t.b.send(f'43{ack_id}["B"]')
    t.h.clock.advance_to(start + 0.2 - 1e-9)
    assert t.h.of_type(BroadcastAckCompleted) == []
    t.h.clock.advance_to(start + 0.2)
    (done,) = t.h.of_type(BroadcastAckCompleted)
    assert done == BroadcastAckCompleted(
        "/", ack_id, {t.sa: ["A"], t.sb: ["B"]}, frozenset({t.sc}), True
    )
    t.c.send(f'43{ack_id}["late"]')  # ignored
    assert len(t.h.of_type(BroadcastAckCompleted)) == 1
    assert t.h.of_type(AckReceived) == []
    assert t.c.open


def test_broadcast_with_ack_with_no_targets_completes_at_once() -> None:
    t = Trio()
    ack_id = t.h.sio.broadcast_with_ack("poll", to="green", timeout=5)
    assert t.h.sio.events() == [BroadcastAckCompleted("/", ack_id, {}, frozenset(), False)]
    assert t.h.sio.next_deadline() is None
    assert t.received() == ([], [], [])


def test_broadcast_with_ack_when_a_target_leaves() -> None:
    t = Trio()
    ack_id = t.h.sio.broadcast_with_ack("poll")
    t.received()
    t.a.send(f'43{ack_id}["A"]')
    t.b.send(f'43{ack_id}["B"]')
    t.c.send("41")  # the last one leaves instead of answering
    (done,) = t.h.of_type(BroadcastAckCompleted)
    assert done.responses == {t.sa: ["A"], t.sb: ["B"]}
    assert t.sc not in done.responses
    assert done.timed_out is False


# -- disconnect / close ----------------------------------------------------------------------


def test_disconnect_sends_disconnect_and_keeps_the_connection() -> None:
    h = harness()
    ws, sid = join(h)
    _, custom = join(h, "/custom", ws)
    h.sio.disconnect(custom)
    settle(h)
    assert ws.messages == ["41/custom,"]
    h.sio.disconnect(sid)
    settle(h)
    assert ws.messages == ["41/custom,", "41"]
    assert h.of_type(Disconnected) == [
        Disconnected(custom, "/custom", DisconnectReason.SERVER_DISCONNECT),
        Disconnected(sid, "/", DisconnectReason.SERVER_DISCONNECT),
    ]
    assert ws.open
    h.clock.advance(PING_INTERVAL)
    assert ws.messages[-1] == "2"
    # The client may join again on the same Engine.IO connection.
    ws.messages.clear()
    _, again = join(h, "/", ws)
    assert again != sid


def test_disconnect_with_close_closes_the_session() -> None:
    h = harness()
    ws, sid = join(h)
    _, custom = join(h, "/custom", ws)
    other, other_sid = join(h)
    h.sio.disconnect(sid, close=True)
    settle(h)
    assert ws.close_code is not None
    assert ws.tcp_closed
    gone = h.of_type(Disconnected)
    assert sorted((e.sid, e.reason) for e in gone) == sorted(
        [
            (sid, DisconnectReason.SERVER_DISCONNECT),
            (custom, DisconnectReason.SERVER_DISCONNECT),
        ]
    )
    assert h.sio.sockets("/") == frozenset({other_sid})
    other.send('42["still"]')
    assert h.of_type(EventReceived)[-1].sid == other_sid


def test_disconnect_with_close_sends_disconnect_first() -> None:
    """protocol.md 2.7: ``socket.disconnect(true)`` sends ``41<nsp,>`` before closing.

    Without it a JS client sees a transport close and reconnects automatically.
    """
    h = harness()
    ws, sid = join(h)
    join(h, "/custom", ws)
    h.sio.disconnect(sid, close=True)
    settle(h)
    assert sorted(m for m in ws.messages if isinstance(m, str)) == ["41", "41/custom,"]
    assert ws.close_code is not None


def test_server_close_gives_every_socket_server_shutting_down() -> None:
    t = Trio()
    _, custom = join(t.h, "/custom", t.a)
    t.h.sio.close(t.h.now)
    settle(t.h)
    assert sorted((e.sid, e.reason) for e in t.h.of_type(Disconnected)) == sorted(
        (sid, DisconnectReason.SERVER_SHUTTING_DOWN) for sid in (t.sa, t.sb, t.sc, custom)
    )
    for ws in (t.a, t.b, t.c):
        assert ws.close_code is not None
    assert t.h.engine.sessions == frozenset()
    assert t.h.sio.sockets("/") == frozenset()


def test_server_close_over_polling() -> None:
    h = harness()
    eio_sid = h.open_polling()
    h.send_post(eio_sid, "40")
    reply = h.poll(eio_sid).response.text
    sid = json.loads(reply[2:])["sid"]
    h.sio.close(h.now)
    settle(h)
    # The socket leaves at once; the client learns it from its next GET.
    assert h.of_type(Disconnected) == [
        Disconnected(sid, "/", DisconnectReason.SERVER_SHUTTING_DOWN)
    ]
    assert h.poll(eio_sid).response.text == "1"
    assert h.poll(eio_sid).response.status == 400
    assert h.engine.sessions == frozenset()


def test_server_close_includes_connecting_and_unjoined_connections() -> None:
    h = harness(app=None)
    idle = open_ws(h)
    ws, request = request_join(h)
    h.sio.close(h.now)
    settle(h)
    assert h.of_type(Disconnected) == [
        Disconnected(request.sid, "/", DisconnectReason.SERVER_SHUTTING_DOWN)
    ]
    assert idle.close_code is not None
    assert ws.close_code is not None
    assert h.engine.sessions == frozenset()


# -- rooms, sockets, session --------------------------------------------------------------------


def test_rooms_and_sockets() -> None:
    t = Trio()
    sio = t.h.sio
    assert sio.rooms(t.sa) == {t.sa, "red"}
    assert sio.rooms(t.sb) == {t.sb, "red", "blue"}
    assert sio.sockets("/") == {t.sa, t.sb, t.sc}
    assert sio.sockets("/", "red") == {t.sa, t.sb}
    assert sio.sockets("/", t.sc) == {t.sc}
    assert sio.sockets("/custom") == frozenset()
    sio.leave_room(t.sb, "red")
    sio.leave_room(t.sb, "never-joined")
    assert sio.sockets("/", "red") == {t.sa}
    sio.close_room("blue")
    assert sio.sockets("/", "blue") == frozenset()
    assert sio.rooms(t.sb) == {t.sb}
    t.h.sio.emit("blue?", to="blue")
    assert t.received() == ([], [], [])


def test_rooms_are_left_on_disconnect() -> None:
    t = Trio()
    t.b.send("41")
    assert t.h.sio.sockets("/", "red") == {t.sa}
    assert t.h.sio.sockets("/", "blue") == {t.sc}
    t.h.sio.emit("red", to="red")
    assert t.received() == (['42["red"]'], [], [])


def test_rooms_are_per_namespace() -> None:
    t = Trio()
    _, custom = join(t.h, "/custom", t.c)
    t.h.sio.enter_room(custom, "red")
    assert t.h.sio.sockets("/custom", "red") == {custom}
    assert t.h.sio.sockets("/", "red") == {t.sa, t.sb}
    t.h.sio.emit("cr", namespace="/custom", to="red")
    assert t.received() == ([], [], ['42/custom,["cr"]'])


def test_session_data() -> None:
    t = Trio()
    t.h.sio.session(t.sa)["user"] = "alice"
    assert t.h.sio.session(t.sa) == {"user": "alice"}
    assert t.h.sio.session(t.sb) == {}
    t.a.send("41")
    with pytest.raises(LocalProtocolError):
        t.h.sio.session(t.sa)


def test_connection_lookups() -> None:
    h = harness()
    ws, eio_sid = h.open_websocket("EIO=4&transport=websocket")
    _, sid = join(h, "/", ws)
    _, custom = join(h, "/custom", ws)
    assert h.sio.eio_sid(sid) == eio_sid
    assert h.sio.eio_sid(custom) == eio_sid
    assert h.sio.connection_sockets(eio_sid) == {"/": sid, "/custom": custom}
    assert h.sio.connection_sockets("nope") == {}
    assert sid != eio_sid
    assert custom != eio_sid


# -- namespaces ------------------------------------------------------------------------------


def test_dynamic_namespaces_from_a_regex() -> None:
    h = harness(namespaces=[re.compile(r"/dyn-\d+")])
    assert "/dyn-1" not in h.sio.namespaces
    ws, sid = join(h, "/dyn-1")
    assert "/dyn-1" in h.sio.namespaces
    assert h.sio.sockets("/dyn-1") == {sid}
    ws.send("40/dyn-x,")
    assert ws.recv() == '44/dyn-x,{"message":"Invalid namespace"}'
    ws.send("40/dyn-12/extra,")  # fullmatch, not search
    assert ws.recv() == '44/dyn-12/extra,{"message":"Invalid namespace"}'
    _, second = join(h, "/dyn-1")
    assert h.sio.sockets("/dyn-1") == {sid, second}
    h.sio.emit("hi", namespace="/dyn-1", to=sid)
    settle(h)
    assert ws.recv() == '42/dyn-1,["hi"]'
    assert "/dyn-x" not in h.sio.namespaces


def test_dynamic_namespaces_from_a_predicate() -> None:
    seen: list[str] = []

    def allowed(name: str) -> bool:
        seen.append(name)
        return name.startswith("/p-")

    h = harness(namespaces=[allowed])
    ws, sid = join(h, "/p-a")
    assert h.sio.namespace_of(sid) == "/p-a"
    ws.send("40/q,")
    assert ws.recv() == '44/q,{"message":"Invalid namespace"}'
    assert seen == ["/p-a", "/q"]
    join(h, "/p-a", open_ws(h))
    assert seen == ["/p-a", "/q"]  # an existing namespace is not matched again


def test_add_namespace_at_runtime() -> None:
    h = harness(namespaces=())
    ws = open_ws(h)
    ws.send("40/late,")
    assert ws.recv() == '44/late,{"message":"Invalid namespace"}'
    h.sio.add_namespace("/late")
    join(h, "/late", ws)
    assert "/" in h.sio.namespaces  # "/" always exists


def test_namespaces_star_accepts_any_namespace() -> None:
    h = harness(namespaces="*")
    ws, sid = join(h, "/anything")
    join(h, "/a/b?c=d", ws)
    assert {"/anything", "/a/b?c=d"} <= h.sio.namespaces
    assert h.sio.namespace_of(sid) == "/anything"


def test_connect_requested_carries_the_namespace_and_request() -> None:
    h = harness(app=None, namespaces=("/custom",))
    ws = h.websocket("/socket.io/?EIO=4&transport=websocket&x=1", [("X-Token", "abc")])
    ws.recv()
    ws.send('40/custom,{"a":[1]}')
    (request,) = h.of_type(ConnectRequested)
    assert request.namespace == "/custom"
    assert request.auth == {"a": [1]}
    assert request.request.query["x"] == "1"
    assert ("x-token", "abc") in request.request.headers


# -- volatile ----------------------------------------------------------------------------------


def test_volatile_emit_is_dropped_for_a_polling_client_with_no_get_waiting() -> None:
    h = harness()
    eio_sid = h.open_polling()
    h.send_post(eio_sid, "40")
    reply = h.poll(eio_sid).response.text
    sid = json.loads(reply[2:])["sid"]
    h.sio.emit("v", 1, to=sid, volatile=True)
    h.sio.emit("kept", 2, to=sid)
    settle(h)
    assert h.poll(eio_sid).response.text == '42["kept",2]'
    # With a GET waiting, a volatile emit goes out.
    poll = h.poll(eio_sid)
    assert poll.pending
    h.sio.emit("v", 3, to=sid, volatile=True)
    settle(h)
    assert poll.response.text == '42["v",3]'


def test_volatile_emit_is_delivered_over_websocket() -> None:
    t = Trio()
    t.h.sio.emit("v", volatile=True)
    assert t.received() == (['42["v"]'], ['42["v"]'], ['42["v"]'])


def test_volatile_broadcast_mixed_transports() -> None:
    h = harness()
    ws, _ = join(h)
    eio_sid = h.open_polling()
    h.send_post(eio_sid, "40")
    h.poll(eio_sid)
    h.sio.emit("v", volatile=True)
    settle(h)
    assert ws.messages == ['42["v"]']
    poll = h.poll(eio_sid)
    assert poll.pending  # the polling client got nothing
    h.clock.advance(PING_INTERVAL)
    assert poll.response.text == "2"
