"""The application :class:`~socketio_proto.app.Server`, driven byte for byte.

Every test talks to the server through :class:`~tests.support.app_harness.AppHarness`
(real WebSocket / polling bytes, a fake clock) and asserts what crosses the
wire.  Socket ids come from a counter (``id0``, ``id1``...) so CONNECT replies
and acks can be compared exactly.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from socketio_proto.app import (
    AckTimeout,
    ConnectionRefused,
    Job,
    Namespace,
    PendingCall,
    Server,
    run_async,
    run_sync,
)
from socketio_proto.demo import create_app
from socketio_proto.engineio.config import EngineConfig
from socketio_proto.errors import LocalProtocolError
from socketio_proto.socketio.config import RecoveryConfig, ServerConfig
from socketio_proto.socketio.events import BroadcastAckCompleted
from socketio_proto.socketio.server import SocketState
from tests.support.app_harness import APP_ENGINE_CONFIG, AppHarness
from tests.support.wire_client import WsClient

PH0 = '{"_placeholder":true,"num":0}'

#: Heartbeats far away, so tests that move the clock see only the deadlines they set up.
QUIET_ENGINE = EngineConfig(
    path="/socket.io/", ping_interval=60.0, ping_timeout=60.0, cors_allowed_origins="*"
)


class Ids:
    """A deterministic ``id_generator``: ``id0``, ``id1``..."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> str:
        value = f"id{self.count}"
        self.count += 1
        return value


def new_app(
    *, recovery: RecoveryConfig | None = None, quiet: bool = False, **options: Any
) -> Server:
    config = ServerConfig(recovery=recovery, id_generator=Ids())
    engine_config = QUIET_ENGINE if quiet else APP_ENGINE_CONFIG
    return Server(config, engine_config=engine_config, **options)


def join(ws: WsClient, namespace: str = "/", auth: Any = None) -> str:
    """Send CONNECT for ``namespace``; expect the CONNECT reply and return the socket id."""
    prefix = "40" if namespace == "/" else f"40{namespace},"
    ws.send(prefix + ("" if auth is None else json.dumps(auth)))
    reply = ws.recv()
    assert isinstance(reply, str), reply
    assert reply.startswith(prefix + "{"), reply
    sid = json.loads(reply[len(prefix) :])["sid"]
    assert isinstance(sid, str)
    return sid


def connect(h: AppHarness, namespace: str = "/", auth: Any = None) -> tuple[WsClient, str]:
    """A new WebSocket client joined to ``namespace``: (client, socket id)."""
    ws, _ = h.open_websocket()
    return ws, join(ws, namespace, auth)


class Boom(Exception):
    pass


# -- registration ------------------------------------------------------------------------------


def test_on_event_decorators_and_plain_call_form() -> None:
    app = new_app()

    def plain(sid: str, x: int) -> tuple[str, int]:
        return "plain", x

    assert app.on("plain", plain) is plain

    @app.on("decorated")
    def decorated(sid: str, x: int) -> tuple[str, int]:
        return "decorated", x

    @app.event
    def named(sid: str, x: int) -> tuple[str, int]:
        return "named", x

    @app.event(namespace="/chat")
    def chat(sid: str, x: int) -> tuple[str, int]:
        return "chat", x

    # The decorators hand the function back unchanged.
    assert decorated("s", 1) == ("decorated", 1)
    assert named("s", 2) == ("named", 2)

    h = AppHarness(app)
    ws, _ = connect(h)
    ws.send('421["plain",1]')
    assert ws.recv() == '431["plain",1]'
    ws.send('422["decorated",2]')
    assert ws.recv() == '432["decorated",2]'
    ws.send('423["named",3]')
    assert ws.recv() == '433["named",3]'
    # "chat" lives on /chat only: on "/" nobody answers.
    ws.send('424["chat",4]')
    assert ws.messages == []
    join(ws, "/chat")
    ws.send('42/chat,5["chat",5]')
    assert ws.recv() == '43/chat,5["chat",5]'
    assert ws.messages == []


def test_handler_namespaces_are_accepted_and_others_refused() -> None:
    app = new_app()
    app.on("x", lambda sid: None, namespace="/chat")
    app.use(lambda sid, auth, request: None, namespace="/guarded")
    app.register_namespace(Namespace("/classy"))
    h = AppHarness(app)
    ws, _ = h.open_websocket()
    ws.send("40/x,")
    assert ws.recv() == '44/x,{"message":"Invalid namespace"}'
    ws.send("40/chat,")
    assert ws.recv() == '40/chat,{"sid":"id0"}'
    ws.send("40/guarded,")
    assert ws.recv() == '40/guarded,{"sid":"id1"}'
    ws.send("40/classy,")
    assert ws.recv() == '40/classy,{"sid":"id2"}'
    ws.send("40")  # "/" is always there
    assert ws.recv() == '40{"sid":"id3"}'
    ws.send("40/chatroom,")
    assert ws.recv() == '44/chatroom,{"message":"Invalid namespace"}'
    assert ws.open


def test_namespaces_star_accepts_every_namespace() -> None:
    app = new_app(namespaces="*")
    h = AppHarness(app)
    ws, _ = h.open_websocket()
    ws.send("40/anything,")
    assert ws.recv() == '40/anything,{"sid":"id0"}'
    ws.send("40/else/entirely,")
    assert ws.recv() == '40/else/entirely,{"sid":"id1"}'


def test_handler_on_star_namespace_accepts_every_namespace() -> None:
    app = new_app()
    seen: list[tuple[str, str, Any]] = []
    app.on("connect", lambda ns, sid, auth: seen.append((ns, sid, auth)), namespace="*")
    h = AppHarness(app)
    ws, _ = h.open_websocket()
    ws.send('40/whatever,{"k":1}')
    assert ws.recv() == '40/whatever,{"sid":"id0"}'
    ws.send("40")
    assert ws.recv() == '40{"sid":"id1"}'
    assert seen == [("/whatever", "id0", {"k": 1}), ("/", "id1", None)]


# -- connect handlers ----------------------------------------------------------------------------


def test_connect_handler_arities() -> None:
    app = new_app()
    seen: list[tuple[Any, ...]] = []

    @app.on("connect")
    def with_auth(sid: str, auth: Any) -> None:
        seen.append(("auth", sid, auth))

    @app.on("connect", namespace="/one")
    def sid_only(sid: str) -> None:
        seen.append(("sid", sid))

    @app.on("connect", namespace="/default")
    def defaulted(sid: str, auth: Any = "unset") -> None:
        seen.append(("default", sid, auth))

    h = AppHarness(app)
    ws, _ = h.open_websocket()
    ws.send('40{"token":"t"}')
    assert ws.recv() == '40{"sid":"id0"}'
    ws.send("40/one,")
    assert ws.recv() == '40/one,{"sid":"id1"}'
    ws.send('40/default,{"x":1}')
    assert ws.recv() == '40/default,{"sid":"id2"}'
    assert seen == [("auth", "id0", {"token": "t"}), ("sid", "id1"), ("default", "id2", {"x": 1})]


def test_connect_handler_returning_false_refuses() -> None:
    app = new_app()
    emitted: list[str] = []
    disconnects: list[str] = []

    @app.on("connect")
    def refuse(sid: str, auth: Any) -> bool:
        app.emit("held", 1, to=sid)  # held for the CONNECT reply, dropped with the refusal
        emitted.append(sid)
        return False

    app.on("disconnect", lambda sid, reason: disconnects.append(sid))
    h = AppHarness(app)
    ws, _ = h.open_websocket()
    ws.send("40")
    assert ws.recv() == '44{"message":"Connection refused"}'
    assert ws.messages == []
    assert emitted == ["id0"]
    assert app.sio.state("id0") is SocketState.NONE
    assert disconnects == []  # it never connected
    assert ws.open  # the Engine.IO connection stays


def test_connection_refused_with_message_and_data() -> None:
    app = new_app()

    @app.on("connect")
    def refuse(sid: str, auth: Any) -> None:
        raise ConnectionRefused("nope", {"x": 1})

    @app.on("connect", namespace="/plain")
    def refuse_plain(sid: str) -> None:
        raise ConnectionRefused()

    h = AppHarness(app)
    ws, _ = h.open_websocket()
    ws.send("40")
    assert ws.recv() == '44{"message":"nope","data":{"x":1}}'
    ws.send("40/plain,")
    assert ws.recv() == '44/plain,{"message":"Connection refused"}'
    assert ws.messages == []
    assert ws.open


def test_connect_handler_exception_refuses_and_propagates() -> None:
    app = new_app()
    fail = [True]

    @app.on("connect")
    def flaky(sid: str, auth: Any) -> None:
        if fail[0]:
            raise Boom("broken handler")

    h = AppHarness(app)
    ws, _ = h.open_websocket()
    with pytest.raises(Boom, match="broken handler"):
        ws.send("40")
    h.pump()  # the refusal was queued before the exception left run_sync
    assert ws.recv() == '44{"message":"Connection refused"}'
    assert app.sio.state("id0") is SocketState.NONE
    # The connection is still usable.
    fail[0] = False
    ws.send("40")
    assert ws.recv() == '40{"sid":"id1"}'


def test_event_handler_exception_propagates_without_ack() -> None:
    app = new_app()

    @app.on("bad")
    def bad(sid: str) -> None:
        raise Boom("in handler")

    h = AppHarness(app)
    ws, sid = connect(h)
    with pytest.raises(Boom):
        ws.send('427["bad"]')
    h.pump()
    assert ws.messages == []
    assert app.sio.state(sid) is SocketState.CONNECTED


# -- middlewares ---------------------------------------------------------------------------------


def test_middlewares_run_in_order_before_connect_star_first() -> None:
    app = new_app()
    calls: list[tuple[Any, ...]] = []

    def middleware(name: str) -> Any:
        def run(sid: str, auth: Any, request: Any) -> None:
            calls.append((name, sid, auth, request.path))

        return run

    app.use(middleware("root-1"))
    app.use(middleware("root-2"))
    app.use(middleware("chat"), namespace="/chat")
    app.use(middleware("star"), namespace="*")  # registered last, runs first
    app.on("connect", lambda sid, auth: calls.append(("connect", sid)))
    app.on("connect", lambda sid, auth: calls.append(("chat-connect", sid)), namespace="/chat")
    h = AppHarness(app)
    ws, _ = h.open_websocket()
    ws.send('40{"a":1}')
    assert ws.recv() == '40{"sid":"id0"}'
    assert calls == [
        ("star", "id0", {"a": 1}, "/socket.io/"),
        ("root-1", "id0", {"a": 1}, "/socket.io/"),
        ("root-2", "id0", {"a": 1}, "/socket.io/"),
        ("connect", "id0"),
    ]
    calls.clear()
    ws.send("40/chat,")
    assert ws.recv() == '40/chat,{"sid":"id1"}'
    assert calls == [
        ("star", "id1", None, "/socket.io/"),
        ("chat", "id1", None, "/socket.io/"),
        ("chat-connect", "id1"),
    ]


def test_middleware_refusals_stop_the_chain() -> None:
    app = new_app()
    calls: list[str] = []

    def gate(sid: str, auth: Any, request: Any) -> bool | None:
        calls.append("gate")
        if auth == {"mode": "false"}:
            return False
        if auth == {"mode": "raise"}:
            raise ConnectionRefused("banned", {"why": "raise"})
        return None

    def after(sid: str, auth: Any, request: Any) -> None:
        calls.append("after")

    app.use(gate)
    app.use(after)
    app.on("connect", lambda sid: calls.append("connect"))
    h = AppHarness(app)
    ws, _ = h.open_websocket()
    ws.send('40{"mode":"false"}')
    assert ws.recv() == '44{"message":"Connection refused"}'
    assert calls == ["gate"]
    calls.clear()
    ws.send('40{"mode":"raise"}')
    assert ws.recv() == '44{"message":"banned","data":{"why":"raise"}}'
    assert calls == ["gate"]
    calls.clear()
    ws.send('40{"mode":"ok"}')
    assert ws.recv() == '40{"sid":"id2"}'
    assert calls == ["gate", "after", "connect"]


@pytest.mark.parametrize("skip", [True, False])
def test_recovered_sockets_skip_middlewares(skip: bool) -> None:
    app = new_app(recovery=RecoveryConfig(skip_middlewares=skip))
    middleware_calls: list[str] = []
    connects: list[str] = []
    app.use(lambda sid, auth, request: middleware_calls.append(sid))
    app.on("connect", connects.append)
    h = AppHarness(app)
    ws, _ = h.open_websocket()
    ws.send("40")
    assert ws.recv() == '40{"sid":"id0","pid":"id1"}'
    app.emit("news", 1)
    h.pump()
    assert ws.recv() == '42["news",1,"id2"]'
    ws.reset()  # transport close: recoverable
    app.emit("missed", 2)
    h.pump()
    ws2, _ = h.open_websocket()
    ws2.send('40{"pid":"id1","offset":"id2"}')
    assert ws2.messages == ['42["missed",2,"id3"]', '40{"sid":"id0","pid":"id1"}']
    assert connects == ["id0", "id0"]
    assert middleware_calls == (["id0"] if skip else ["id0", "id0"])


def test_emits_in_connect_handler_follow_the_connect_reply() -> None:
    app = new_app()

    @app.on("connect", namespace="/chat")
    def greet(sid: str, auth: Any) -> None:
        app.emit("welcome", "hi", to=sid, namespace="/chat")
        app.socket(sid).emit("self", 1)
        app.emit("everyone", 2, namespace="/chat")

    h = AppHarness(app)
    ws, _ = h.open_websocket()
    ws.send("40/chat,")
    assert ws.messages == [
        '40/chat,{"sid":"id0"}',
        '42/chat,["welcome","hi"]',
        '42/chat,["self",1]',
        '42/chat,["everyone",2]',
    ]


# -- event handlers and acks ---------------------------------------------------------------------


def test_return_value_becomes_the_ack() -> None:
    app = new_app()
    app.on("none", lambda sid: None)
    app.on("tuple", lambda sid: (1, "two", None))
    app.on("single", lambda sid: {"k": [1, 2]})
    app.on("list", lambda sid: [1, 2])  # one argument, a list
    app.on("binary", lambda sid: b"\x00\xff")
    app.on("mixed", lambda sid: ("x", b"\x01"))
    h = AppHarness(app)
    ws, _ = connect(h)
    ws.send('421["none"]')
    assert ws.recv() == "431[]"
    ws.send('422["tuple"]')
    assert ws.recv() == '432[1,"two",null]'
    ws.send('423["single"]')
    assert ws.recv() == '433[{"k":[1,2]}]'
    ws.send('424["list"]')
    assert ws.recv() == "434[[1,2]]"
    ws.send('425["binary"]')
    assert ws.messages == [f"461-5[{PH0}]", b"\x00\xff"]
    ws.messages.clear()
    ws.send('426["mixed"]')
    assert ws.messages == [f'461-6["x",{PH0}]', b"\x01"]


def test_no_ack_without_ack_id_and_no_handler_no_ack() -> None:
    app = new_app()
    calls: list[tuple[Any, ...]] = []

    @app.on("record")
    def record(sid: str, *args: Any) -> str:
        calls.append(args)
        return "ignored"

    h = AppHarness(app)
    ws, _ = connect(h)
    ws.send('42["record",1]')
    assert calls == [(1,)]
    assert ws.messages == []
    ws.send('429["unknown",1]')  # no handler: ignored, even with an ack id
    ws.send('42["unknown"]')
    assert ws.messages == []
    assert ws.open
    ws.send('4210["record",2]')
    assert ws.recv() == '4310["ignored"]'


def test_catch_all_event_handler() -> None:
    app = new_app()
    seen: list[tuple[Any, ...]] = []

    @app.on("*")
    def anything(event: str, sid: str, *args: Any) -> str:
        seen.append((event, sid, *args))
        return f"caught {event}"

    app.on("known", lambda sid: "known")
    h = AppHarness(app)
    ws, sid = connect(h)
    assert seen == []  # not given "connect"
    ws.send('421["some event",1,{"a":2}]')
    assert ws.recv() == '431["caught some event"]'
    ws.send('422["known"]')
    assert ws.recv() == '432["known"]'
    ws.send("41")
    assert seen == [("some event", sid, 1, {"a": 2})]  # nor "disconnect"


def test_catch_all_namespace_handlers() -> None:
    app = new_app()
    seen: list[tuple[Any, ...]] = []
    app.on("connect", lambda ns, sid, auth: seen.append(("connect", ns, sid, auth)), namespace="*")
    app.on(
        "disconnect", lambda ns, sid, why: seen.append(("disconnect", ns, sid, why)), namespace="*"
    )
    app.on("where", lambda ns, sid, *args: (ns, *args), namespace="*")

    @app.on("*", namespace="*")
    def anything(event: str, ns: str, sid: str, *args: Any) -> list[Any]:
        return [event, ns, *args]

    h = AppHarness(app)
    ws, _ = h.open_websocket()
    ws.send("40/a,")
    assert ws.recv() == '40/a,{"sid":"id0"}'
    ws.send('42/a,1["where",5]')
    assert ws.recv() == '43/a,1["/a",5]'
    ws.send('42/a,2["other",6]')
    assert ws.recv() == '43/a,2[["other","/a",6]]'
    ws.send("41/a,")
    assert seen == [
        ("connect", "/a", "id0", None),
        ("disconnect", "/a", "id0", "io client disconnect"),
    ]


def test_class_based_namespace() -> None:
    class Chat(Namespace):
        def __init__(self) -> None:
            super().__init__("/chat")
            self.log: list[tuple[Any, ...]] = []

        def on_connect(self, sid: str, auth: Any) -> None:
            self.log.append(("connect", sid, auth))
            self.emit("joined", sid)

        def on_my_event(self, sid: str, data: Any) -> str:
            self.emit("echoed", data, to=sid)
            return "ok"

        def on_disconnect(self, sid: str, reason: str) -> None:
            self.log.append(("disconnect", sid, reason))

    app = new_app()
    chat = Chat()
    app.register_namespace(chat)
    assert chat.server is app
    h = AppHarness(app)
    a, _ = h.open_websocket()
    a.send('40/chat,{"t":1}')
    assert a.messages == ['40/chat,{"sid":"id0"}', '42/chat,["joined","id0"]']
    a.messages.clear()
    b, _ = connect(h, "/chat")
    assert b.messages == ['42/chat,["joined","id1"]']
    assert a.messages == ['42/chat,["joined","id1"]']
    a.messages.clear()
    b.messages.clear()
    b.send('42/chat,3["my_event",{"x":1}]')
    assert b.messages == ['42/chat,["echoed",{"x":1}]', '43/chat,3["ok"]']
    assert a.messages == []
    b.send('42/chat,4["my event"]')  # no on_my event: ignored
    b.send("41/chat,")
    assert chat.log == [
        ("connect", "id0", {"t": 1}),
        ("connect", "id1", None),
        ("disconnect", "id1", "io client disconnect"),
    ]
    assert b.messages == ['42/chat,["echoed",{"x":1}]', '43/chat,3["ok"]']


def test_dynamic_namespaces_regex_and_predicate() -> None:
    app = new_app()
    app.on("whoami", lambda sid: app.socket(sid).namespace, namespace=re.compile(r"/dyn-\d+"))
    connects: list[tuple[str, Any]] = []
    app.on(
        "connect",
        lambda sid, auth: connects.append((app.socket(sid).namespace, auth)),
        namespace=lambda name: name.startswith("/p-"),
    )
    h = AppHarness(app)
    ws, _ = h.open_websocket()
    ws.send("40/dyn-12,")
    assert ws.recv() == '40/dyn-12,{"sid":"id0"}'
    ws.send('42/dyn-12,1["whoami"]')
    assert ws.recv() == '43/dyn-12,1["/dyn-12"]'
    ws.send("40/dyn-x,")
    assert ws.recv() == '44/dyn-x,{"message":"Invalid namespace"}'
    ws.send("40/dyn-12x,")  # the regex must match the whole name
    assert ws.recv() == '44/dyn-12x,{"message":"Invalid namespace"}'
    ws.send('40/p-anything,{"a":1}')
    assert ws.recv() == '40/p-anything,{"sid":"id1"}'
    ws.send("40/q,")
    assert ws.recv() == '44/q,{"message":"Invalid namespace"}'
    assert connects == [("/p-anything", {"a": 1})]
    # A dynamic namespace, once created, takes emits like a static one.
    app.emit("news", namespace="/dyn-12")
    h.pump()
    assert ws.recv() == '42/dyn-12,["news"]'


# -- the Socket handle ----------------------------------------------------------------------------


def three_clients(app: Server) -> tuple[AppHarness, list[WsClient], list[str]]:
    h = AppHarness(app)
    clients = [connect(h) for _ in range(3)]
    return h, [ws for ws, _ in clients], [sid for _, sid in clients]


def test_socket_emit_targets() -> None:
    app = new_app()
    app.on("self", lambda sid: app.socket(sid).emit("to-self", 1))
    app.on("all", lambda sid: app.socket(sid).emit("to-all", 2, broadcast=True))
    app.on(
        "others",
        lambda sid: app.socket(sid).emit("to-others", 3, broadcast=True, include_self=False),
    )
    app.on("room", lambda sid: app.socket(sid).emit("to-room", 4, to="r"))
    app.on(
        "room-others", lambda sid: app.socket(sid).emit("to-room", 5, room="r", include_self=False)
    )
    app.on("send", lambda sid: app.socket(sid).send("hello"))
    _, (a, b, c), (a_sid, b_sid, _) = three_clients(app)
    app.enter_room(a_sid, "r")
    app.socket(b_sid).enter_room("r")

    a.send('42["self"]')
    assert (a.messages, b.messages, c.messages) == (['42["to-self",1]'], [], [])
    a.messages.clear()
    a.send('42["all"]')
    assert a.messages == b.messages == c.messages == ['42["to-all",2]']
    for ws in (a, b, c):
        ws.messages.clear()
    a.send('42["others"]')
    assert (a.messages, b.messages, c.messages) == (
        [],
        ['42["to-others",3]'],
        ['42["to-others",3]'],
    )
    b.messages.clear()
    c.messages.clear()
    c.send('42["room"]')  # c is not in "r" itself
    assert (a.messages, b.messages, c.messages) == (['42["to-room",4]'], ['42["to-room",4]'], [])
    a.messages.clear()
    b.messages.clear()
    a.send('42["room-others"]')
    assert (a.messages, b.messages, c.messages) == ([], ['42["to-room",5]'], [])
    b.messages.clear()
    c.send('42["send"]')
    assert (a.messages, b.messages, c.messages) == ([], [], ['42["message","hello"]'])


def test_socket_rooms_session_auth_request_disconnect() -> None:
    app = new_app()
    reasons: list[tuple[str, str]] = []
    app.on("disconnect", lambda sid, reason: reasons.append((sid, reason)), namespace="/chat")
    h = AppHarness(app)
    ws, _ = h.open_websocket("EIO=4&transport=websocket&extra=1")
    sid = join(ws, "/chat", {"token": "abc"})
    sock = app.socket(sid)
    assert sock.sid == sid
    assert sock.namespace == "/chat"
    assert sock.rooms == frozenset({sid})
    sock.enter_room("r")
    assert sock.rooms == frozenset({sid, "r"})
    sock.leave_room("r")
    assert sock.rooms == frozenset({sid})
    sock.session["user"] = "bob"
    assert app.get_session(sid) == {"user": "bob"}
    assert sock.auth == {"token": "abc"}
    assert sock.request.path == "/socket.io/"
    assert sock.request.query["extra"] == "1"
    assert sock.request.query["transport"] == "websocket"
    sock.disconnect()
    h.run_jobs()  # what an adapter does after the application's calls
    h.pump()
    assert ws.recv() == "41/chat,"
    assert reasons == [(sid, "io server disconnect")]
    with pytest.raises(LocalProtocolError):
        app.socket(sid)  # gone


def test_socket_emit_with_callback_and_call() -> None:
    app = new_app()
    answers: list[tuple[Any, ...]] = []
    pending: list[PendingCall] = []

    @app.on("ask")
    def ask(sid: str) -> None:
        app.socket(sid).emit("question", 1, callback=lambda *args: answers.append(args))
        pending.append(app.socket(sid).call("other", timeout=None))

    h = AppHarness(app)
    ws, _ = connect(h)
    ws.send('42["ask"]')
    assert ws.messages == ['420["question",1]', '421["other"]']
    ws.send('430["yes",2]')
    assert answers == [("yes", 2)]
    ws.send('431["sure"]')
    assert pending[0].result() == ["sure"]


# -- Server.emit ----------------------------------------------------------------------------------


def test_server_emit_targets_and_skip_sid() -> None:
    app = new_app()
    h, (a, b, c), (a_sid, b_sid, c_sid) = three_clients(app)
    app.enter_room(a_sid, "r1")
    app.enter_room(b_sid, "r1")
    app.enter_room(b_sid, "r2")
    app.enter_room(c_sid, "r2")

    def drain() -> tuple[list[str | bytes], ...]:
        h.pump()
        out = (list(a.messages), list(b.messages), list(c.messages))
        for ws in (a, b, c):
            ws.messages.clear()
        return out

    app.emit("all")
    assert drain() == (['42["all"]'], ['42["all"]'], ['42["all"]'])
    app.emit("one", 1, to=b_sid)
    assert drain() == ([], ['42["one",1]'], [])
    app.emit("room", room="r1")
    assert drain() == (['42["room"]'], ['42["room"]'], [])
    app.emit("rooms", to=["r1", "r2"])  # b is in both: it gets it once
    assert drain() == (['42["rooms"]'], ['42["rooms"]'], ['42["rooms"]'])
    app.emit("skip", skip_sid=a_sid)
    assert drain() == ([], ['42["skip"]'], ['42["skip"]'])
    app.emit("skip-list", to="r2", skip_sid=[b_sid, a_sid])
    assert drain() == ([], [], ['42["skip-list"]'])
    app.send({"m": 1}, to=c_sid)
    assert drain() == ([], [], ['42["message",{"m":1}]'])
    app.send("everyone")
    assert drain() == (['42["message","everyone"]'],) * 3
    app.emit("bin", b"\x07", to=a_sid)
    assert drain() == ([f'451-["bin",{PH0}]', b"\x07"], [], [])


def test_server_emit_to_other_namespace() -> None:
    app = new_app()
    app.on("x", lambda sid: None, namespace="/chat")
    h = AppHarness(app)
    ws, _ = h.open_websocket()
    join(ws)
    join(ws, "/chat")
    app.emit("chat-only", namespace="/chat")
    app.emit("root-only")
    h.pump()
    assert ws.messages == ['42/chat,["chat-only"]', '42["root-only"]']


# -- rooms and sessions ----------------------------------------------------------------------------


def test_rooms_with_and_without_namespace() -> None:
    app = new_app()
    app.on("x", lambda sid: None, namespace="/chat")
    h = AppHarness(app)
    ws, _ = h.open_websocket()
    root = join(ws)
    chat = join(ws, "/chat")

    app.enter_room(root, "a")
    app.enter_room(root, "b", namespace="/")
    app.enter_room(chat, "a", namespace="/chat")
    assert app.rooms(root) == frozenset({root, "a", "b"})
    assert app.rooms(root, namespace="/") == frozenset({root, "a", "b"})
    assert app.rooms(chat, "/chat") == frozenset({chat, "a"})
    app.leave_room(root, "b")
    app.leave_room(root, "never-joined")  # nothing happens
    assert app.rooms(root) == frozenset({root, "a"})
    app.leave_room(chat, "a", namespace="/chat")
    assert app.rooms(chat) == frozenset({chat})

    for call in (
        lambda: app.enter_room(root, "c", namespace="/chat"),
        lambda: app.leave_room(root, "a", namespace="/chat"),
        lambda: app.rooms(chat, namespace="/"),
        lambda: app.disconnect(chat, namespace="/"),
    ):
        with pytest.raises(LocalProtocolError):
            call()
    assert app.rooms(root) == frozenset({root, "a"})
    assert ws.open

    app.enter_room(chat, "a", namespace="/chat")
    app.close_room("a")  # "/" only
    assert app.rooms(root) == frozenset({root})
    assert app.rooms(chat) == frozenset({chat, "a"})
    app.close_room("a", namespace="/chat")
    assert app.rooms(chat) == frozenset({chat})
    app.emit("to-a", to="a")
    app.emit("to-a", to="a", namespace="/chat")
    h.pump()
    assert ws.messages == []


def test_get_and_save_session() -> None:
    app = new_app()
    h = AppHarness(app)
    _, sid = connect(h)
    assert app.get_session(sid) == {}
    app.save_session(sid, {"a": 1, "b": 2})
    assert app.get_session(sid) == {"a": 1, "b": 2}
    app.save_session(sid, {"c": 3})  # replaces, does not merge
    assert app.get_session(sid) == {"c": 3}
    app.get_session(sid)["d"] = 4  # live
    assert app.get_session(sid) == {"c": 3, "d": 4}
    assert app.socket(sid).session == {"c": 3, "d": 4}


def test_save_session_with_the_dict_from_get_session() -> None:
    # python-socketio's documented pattern: get, modify, save the same dict back.
    app = new_app()
    h = AppHarness(app)
    _, sid = connect(h)
    session = app.get_session(sid)
    session["username"] = "bob"
    app.save_session(sid, session)
    assert app.get_session(sid) == {"username": "bob"}


# -- disconnects -----------------------------------------------------------------------------------


def test_disconnect_reasons() -> None:
    app = new_app()
    reasons: list[tuple[str, str, str]] = []
    app.on("disconnect", lambda sid, reason: reasons.append(("/", sid, reason)))
    app.on("disconnect", lambda sid, reason: reasons.append(("/ns", sid, reason)), namespace="/ns")
    app.on("disconnect", lambda sid: reasons.append(("/short", sid, "-")), namespace="/short")
    h = AppHarness(app)

    ws, _ = h.open_websocket()
    ns_sid = join(ws, "/ns")
    app.disconnect(ns_sid)
    h.run_jobs()  # what an adapter does after the application's calls
    h.pump()
    assert ws.recv() == "41/ns,"
    assert reasons == [("/ns", ns_sid, "io server disconnect")]
    assert app.sio.state(ns_sid) is SocketState.NONE

    root = join(ws)
    app.disconnect(root, namespace="/")
    h.run_jobs()
    h.pump()
    assert ws.recv() == "41"
    assert reasons[-1] == ("/", root, "io server disconnect")

    ns_sid = join(ws, "/ns")
    ws.send("41/ns,")
    assert reasons[-1] == ("/ns", ns_sid, "io client disconnect")
    assert ws.messages == []

    short = join(ws, "/short")
    ws.send("41/short,")
    assert reasons[-1] == ("/short", short, "-")

    ns_sid = join(ws, "/ns")
    root = join(ws)
    ws.reset()
    assert sorted(reasons[-2:]) == [
        ("/", root, "transport close"),
        ("/ns", ns_sid, "transport close"),
    ]

    ws, root = connect(h)
    app.disconnect(root, close=True)
    h.run_jobs()
    h.pump()
    # Like JS's disconnect(true): the socket leaves ("41"), then the connection closes.
    assert reasons[-1] == ("/", root, "io server disconnect")
    assert not ws.open


# -- emit with callbacks, call() -------------------------------------------------------------------


def test_emit_with_callback_to_one_socket() -> None:
    app = new_app()
    app.on("x", lambda sid: None, namespace="/chat")
    answers: list[tuple[Any, ...]] = []
    h = AppHarness(app)
    ws, _ = h.open_websocket()
    root = join(ws)
    chat = join(ws, "/chat")
    app.emit("question", 1, to=root, callback=lambda *args: answers.append(args))
    app.emit("question", 2, to=chat, namespace="/chat", callback=lambda *a: answers.append(a))
    h.pump()
    assert ws.messages == ['420["question",1]', '42/chat,0["question",2]']
    ws.messages.clear()
    ws.send('430["answer",{"n":1}]')
    assert answers == [("answer", {"n": 1})]
    ws.send('430["again"]')  # already answered: ignored
    assert answers == [("answer", {"n": 1})]
    ws.send(f"461-/chat,0[{PH0}]")
    ws.send(b"\x09")
    assert answers == [("answer", {"n": 1}), (b"\x09",)]
    # A second emit gets the next id of the namespace.
    app.emit("q", to=root, callback=lambda *args: answers.append(args))
    h.pump()
    assert ws.recv() == '421["q"]'
    ws.send("431[]")
    assert answers[-1] == ()


def test_emit_with_callback_to_a_room_and_everyone() -> None:
    app = new_app()
    h, (a, b, c), (a_sid, b_sid, c_sid) = three_clients(app)
    app.enter_room(a_sid, "r")
    app.enter_room(b_sid, "r")
    results: list[BroadcastAckCompleted] = []
    app.emit("poll", "?", to="r", callback=results.append)
    h.pump()
    assert a.recv() == b.recv() == '420["poll","?"]'
    assert c.messages == []
    a.send('430["a"]')
    assert results == []
    b.send('430["b",2]')
    assert results == [BroadcastAckCompleted("/", 0, {a_sid: ["a"], b_sid: ["b", 2]})]

    app.emit("poll", callback=results.append, skip_sid=b_sid)
    h.pump()
    assert a.recv() == c.recv() == '421["poll"]'
    assert b.messages == []
    c.send("431[]")
    a.send("431[1]")
    assert results[-1] == BroadcastAckCompleted("/", 1, {a_sid: [1], c_sid: []})

    app.emit("nobody", to="empty-room", callback=results.append)
    h.run_jobs()
    assert results[-1] == BroadcastAckCompleted("/", 2, {})


def test_broadcast_callback_with_timeout_and_a_silent_client() -> None:
    app = new_app(quiet=True)
    h, (a, b, _), (a_sid, b_sid, c_sid) = three_clients(app)
    results: list[BroadcastAckCompleted] = []
    app.emit("poll", callback=results.append, timeout=1.0)
    h.pump()
    a.send('430["a"]')
    b.send('430["b"]')
    h.clock.advance(0.999)
    assert results == []
    h.clock.advance(0.5)
    assert h.clock.fired == [1.0]
    (result,) = results
    assert result.timed_out
    assert result.missing == frozenset({c_sid})
    assert result.responses == {a_sid: ["a"], b_sid: ["b"]}


def test_call_returns_a_pending_call() -> None:
    app = new_app()
    h = AppHarness(app)
    ws, sid = connect(h)
    pending = app.call("q", 1, to=sid)
    h.pump()
    assert ws.recv() == '420["q",1]'
    assert not pending.done
    with pytest.raises(LocalProtocolError):
        pending.result()
    done: list[PendingCall] = []
    pending.add_done_callback(done.append)
    ws.send('430["a",{"b":2}]')
    assert pending.done
    assert pending.result() == ["a", {"b": 2}]
    assert done == [pending]
    late: list[PendingCall] = []
    pending.add_done_callback(late.append)  # already done: at once
    assert late == [pending]


def test_call_times_out_exactly_on_time() -> None:
    app = new_app(quiet=True)
    h = AppHarness(app)
    ws, sid = connect(h)
    pending = app.call("q", to=sid, timeout=1.0)
    h.pump()
    assert ws.recv() == '420["q"]'
    done: list[float] = []
    pending.add_done_callback(lambda call: done.append(h.now))
    h.clock.advance(0.999)
    assert not pending.done
    h.clock.advance(0.5)
    assert h.clock.fired == [1.0]
    assert pending.done
    assert done == [1.0]
    with pytest.raises(AckTimeout):
        pending.result()
    ws.send('430["too late"]')  # ignored
    with pytest.raises(AckTimeout):
        pending.result()


def test_call_timeout_counts_from_the_call_not_the_last_event() -> None:
    # A call made outside a handler (a background task) after an idle period:
    # the timeout must run from the moment of the call.
    app = new_app(quiet=True)
    h = AppHarness(app)
    ws, sid = connect(h)
    h.clock.advance(10.0)  # nothing happens meanwhile
    pending = app.call("q", to=sid, timeout=1.0, now=h.now)
    h.pump()
    assert ws.recv() == '420["q"]'
    assert h.next_deadline() == 11.0
    h.clock.advance(0.5)
    assert not pending.done


def test_update_time_sets_the_time_of_calls_without_now() -> None:
    app = new_app(quiet=True)
    h = AppHarness(app)
    _, sid = connect(h)
    h.clock.advance(10.0)
    app.update_time(h.now)
    app.update_time(3.0)  # time never goes back
    app.call("q", to=sid, timeout=1.0)
    assert h.next_deadline() == 11.0


def test_call_to_a_socket_that_leaves_times_out() -> None:
    app = new_app()
    h = AppHarness(app)
    ws, sid = connect(h)
    pending = app.call("q", to=sid, timeout=None)
    h.pump()
    ws.send("41")
    assert pending.done
    with pytest.raises(AckTimeout):
        pending.result()


# -- the seed demo ---------------------------------------------------------------------------------


def demo_app() -> Server:
    """The demo shipped in ``socketio_proto.demo``, with predictable socket ids."""
    return create_app(APP_ENGINE_CONFIG, ServerConfig(id_generator=Ids()))


def test_demo_over_websocket_and_polling() -> None:
    app = demo_app()
    h = AppHarness(app)
    a, _ = h.open_websocket()
    a.send("40/test,")
    assert a.messages == ['40/test,{"sid":"id0"}', '42/test,["my response",{"data":"Connected"}]']
    a.messages.clear()
    b, _ = h.open_websocket()
    b.send("40/test,")
    assert b.messages == ['40/test,{"sid":"id1"}', '42/test,["my response",{"data":"Connected"}]']
    b.messages.clear()
    polling = h.open_polling()
    h.send_post(polling, "40/test,")
    assert h.poll(polling).response.text == (
        '40/test,{"sid":"id2"}\x1e42/test,["my response",{"data":"Connected"}]'
    )
    assert a.messages == b.messages == []

    a.send('42/test,["my event",{"data":"hi"}]')
    assert a.messages == ['42/test,["my response",{"data":"hi"}]']
    assert b.messages == []
    a.messages.clear()

    b.send('42/test,["my broadcast event",{"data":"all"}]')
    assert a.messages == b.messages == ['42/test,["my response",{"data":"all"}]']
    assert h.poll(polling).response.text == '42/test,["my response",{"data":"all"}]'
    a.messages.clear()
    b.messages.clear()

    a.send('42/test,1["join",{"room":"lobby"}]')
    assert a.recv() == "43/test,1[true]"
    h.send_post(polling, '42/test,7["join",{"room":"lobby"}]')
    assert h.poll(polling).response.text == "43/test,7[true]"
    b.send('42/test,["my room event",{"data":"room","room":"lobby"}]')
    assert b.messages == []  # not a member
    assert a.messages == ['42/test,["my response",{"data":"room"}]']
    assert h.poll(polling).response.text == '42/test,["my response",{"data":"room"}]'
    a.messages.clear()
    a.send('42/test,2["leave",{"room":"lobby"}]')
    assert a.recv() == "43/test,2[true]"
    b.send('42/test,["my room event",{"data":"again","room":"lobby"}]')
    assert a.messages == b.messages == []
    assert h.poll(polling).response.text == '42/test,["my response",{"data":"again"}]'

    b.send('42/test,["disconnect request"]')
    assert b.messages == ['42/test,["my response",{"data":"Disconnected!"}]', "41/test,"]
    assert b.open  # only the namespace was left
    b.messages.clear()

    # Namespace "/": echo acks with identical arguments, binary included.
    join(b)
    b.send('4212["echo","x",1.5,{"a":[null,true]}]')
    assert b.recv() == '4312["x",1.5,{"a":[null,true]}]'
    b.send(f'452-13["echo",{PH0},"mid",{{"_placeholder":true,"num":1}}]')
    b.send(b"\x00\x01")
    b.send(b"")
    assert b.messages == [
        f'462-13[{PH0},"mid",{{"_placeholder":true,"num":1}}]',
        b"\x00\x01",
        b"",
    ]
    assert a.messages == []


# -- asyncio ---------------------------------------------------------------------------------------


class AsyncAppHarness(AppHarness):
    """Runs each job with :func:`run_async` on a fresh event loop."""

    def run_jobs(self) -> None:
        while jobs := self.server.process():
            for job in jobs:
                asyncio.run(run_async(job))


def test_async_handlers_with_run_async() -> None:
    app = new_app()
    order: list[str] = []

    @app.use
    async def middleware(sid: str, auth: Any, request: Any) -> bool:
        await asyncio.sleep(0)
        order.append("middleware")
        return bool(auth != {"block": True})

    @app.on("connect")
    async def on_connect(sid: str, auth: Any) -> None:
        await asyncio.sleep(0)
        order.append("connect")
        if auth == {"refuse": True}:
            raise ConnectionRefused("async no", {"n": 1})
        app.socket(sid).emit("hello", sid)

    @app.on("double")
    async def double(sid: str, x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    app.on("plain", lambda sid: "plain")
    h = AsyncAppHarness(app)
    ws, _ = h.open_websocket()
    ws.send('40{"block":true}')
    assert ws.recv() == '44{"message":"Connection refused"}'
    ws.send('40{"refuse":true}')
    assert ws.recv() == '44{"message":"async no","data":{"n":1}}'
    ws.send("40")
    assert ws.messages == ['40{"sid":"id2"}', '42["hello","id2"]']
    ws.messages.clear()
    assert order == ["middleware", "middleware", "connect", "middleware", "connect"]
    ws.send('421["double",21]')
    assert ws.recv() == "431[42]"
    ws.send('422["plain"]')
    assert ws.recv() == '432["plain"]'


def test_async_connect_handler_under_run_sync_is_refused_and_raises() -> None:
    app = new_app()

    @app.on("connect")
    async def on_connect(sid: str) -> None:
        await asyncio.sleep(0)

    h = AppHarness(app)
    ws, _ = h.open_websocket()
    with pytest.raises(LocalProtocolError, match="async"):
        ws.send("40")
    h.pump()
    assert ws.recv() == '44{"message":"Connection refused"}'


class RecordingHarness(AppHarness):
    """Keeps every job it runs."""

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self.jobs: list[Job] = []

    def run_jobs(self) -> None:
        while jobs := self.server.process():
            for job in jobs:
                self.jobs.append(job)
                run_sync(job)


def test_jobs_carry_their_connection() -> None:
    # Adapters order jobs per Engine.IO session: every job about a socket names it.
    app = new_app()
    app.on("connect", lambda sid: None)
    app.on("e", lambda sid: None)
    app.on("disconnect", lambda sid: None)
    h = RecordingHarness(app)
    ws, eio_sid = h.open_websocket()
    sid = join(ws)
    ws.send('421["e"]')
    ws.send('42["unknown"]')  # no handler: no job
    app.emit("q", to=sid, callback=lambda: None)
    h.pump()
    ws.send("430[]")
    ws.send("41")
    assert [(job.connection, job.description) for job in h.jobs] == [
        (eio_sid, "connect to /"),
        (eio_sid, "event 'e' on /"),
        (eio_sid, "ack 0"),
        (eio_sid, "disconnect from /"),
    ]


def test_reserved_event_names_never_reach_handlers() -> None:
    app = new_app()
    log: list[str] = []
    app.on("connect", lambda sid, auth: log.append("connect"))
    app.on("disconnect", lambda sid, reason: log.append(f"disconnect: {reason}"))
    app.on("*", lambda event, sid, *args: log.append(event))
    h = AppHarness(app)
    ws, sid = connect(h)
    with pytest.raises(LocalProtocolError):
        app.emit("disconnect")
    with pytest.raises(LocalProtocolError):
        app.socket(sid).emit("connect")
    h.pump()
    assert ws.messages == []
    # A client emitting a reserved name breaks the protocol: the connection closes.
    ws.send('421["disconnect","x"]')
    assert log == ["connect", "disconnect: parse error"]
    assert not ws.open
