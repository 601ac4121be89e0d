"""The Socket.IO client machine (protocol.md 2.5-2.10, checklist 37).

The client runs against a scripted Engine.IO server through :class:`EnginePair`:
everything real (both Engine.IO machines, h11, wsproto) but the Socket.IO
server, which is a few lines answering raw frames such as ``0{"sid":"abc"}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from socketio_proto import LocalProtocolError
from socketio_proto.engineio.client import ClientConfig as EngineClientConfig
from socketio_proto.engineio.client import Connected, EngineClient, Handshake
from socketio_proto.engineio.config import EngineConfig
from socketio_proto.engineio.events import (
    CloseReason,
    MessageReceived,
    ServerEvent,
    SessionClosed,
    SessionOpened,
)
from socketio_proto.socketio.backoff import Backoff
from socketio_proto.socketio.client import (
    NAMESPACE_TRANSITIONS,
    TRANSITIONS,
    V2_SERVER_MESSAGE,
    ClientState,
    NamespaceState,
    SocketClient,
)
from socketio_proto.socketio.config import BufferPolicy, ClientConfig, ReconnectionConfig
from socketio_proto.socketio.events import (
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
from socketio_proto.testing import EnginePair
from socketio_proto.testing import strategies as sps
from socketio_proto.wire.client import WireClient
from socketio_proto.wire.server import WireServer

# -- a scripted server and a driver ---------------------------------------------------------

Reply = Callable[[str, str | bytes], list[str | bytes]]
_CONNECT = re.compile(r"0(/[^,]*)?,?(.*)")


def accept_all(sid_prefix: str = "s") -> Reply:
    """Answer every revision 5 CONNECT with ``{"sid": "<prefix>-<namespace>"}``."""

    def reply(eio_sid: str, data: str | bytes) -> list[str | bytes]:
        if isinstance(data, str) and (match := _CONNECT.fullmatch(data)):
            namespace = match.group(1) or "/"
            head = "0" if namespace == "/" else f"0{namespace},"
            return [head + f'{{"sid":"{sid_prefix}{namespace}"}}']
        return []

    return reply


class Script:
    """A server that records Engine.IO messages and answers them with ``reply``."""

    def __init__(
        self,
        reply: Reply | None = None,
        on_open: Callable[[str], list[str | bytes]] | None = None,
    ) -> None:
        self.reply = reply if reply is not None else accept_all()
        self.on_open = on_open
        #: Every message the server received, in order.
        self.received: list[str | bytes] = []
        #: The Engine.IO sessions opened, in order.
        self.sessions: list[str] = []
        self.server: WireServer | None = None

    def __call__(self, server: WireServer, event: ServerEvent) -> None:
        self.server = server
        if isinstance(event, SessionOpened):
            self.sessions.append(event.sid)
            if self.on_open is not None:
                server.engine.send_many(event.sid, self.on_open(event.sid))
        elif isinstance(event, MessageReceived):
            self.received.append(event.data)
            server.engine.send_many(event.sid, self.reply(event.sid, event.data))

    def take(self) -> list[str | bytes]:
        received, self.received = self.received, []
        return received

    def send(self, *messages: str | bytes) -> None:
        """Send raw Socket.IO frames on the latest session."""
        assert self.server is not None
        assert self.server.engine.send_many(self.sessions[-1], messages)


class SocketPair(EnginePair):
    """An :class:`EnginePair` whose client side is driven by a :class:`SocketClient`.

    It swaps in a new :class:`WireClient` whenever the machine announces an engine
    (first connection and reconnections), and fires the machine's deadlines too.
    """

    def __init__(
        self,
        script: Script,
        config: ClientConfig | None = None,
        server_config: EngineConfig | None = None,
    ) -> None:
        super().__init__(
            server_config if server_config is not None else EngineConfig(path="/socket.io/"),
            server_app=script,
        )
        self.script = script
        self.sio = SocketClient(config if config is not None else ClientConfig())
        #: Every event of the machine, drained by :meth:`take`.
        self.sio_events: list[ClientEvent] = []

    def start(self) -> None:
        self.sio.connect(self.now)
        self.pump()

    def take(self) -> list[ClientEvent]:
        self._drain_sio()
        events, self.sio_events = self.sio_events, []
        return events

    def send(self, *messages: str | bytes) -> None:
        self.script.send(*messages)
        self.pump()

    def advance_to(self, target: float) -> None:
        while True:
            due = [
                d
                for d in (
                    self.server.next_deadline(),
                    self.client.next_deadline(),
                    self.sio.next_deadline(),
                )
                if d is not None
            ]
            if not due or min(due) > target:
                break
            self.now = max(self.now, min(due))
            self.server.handle_timeout(self.now)
            self.client.handle_timeout(self.now)
            self.sio.handle_timeout(self.now)
            self._drain_sio()
            self.pump()
        self.now = max(self.now, target)
        self.pump()

    def _dispatch_events(self) -> bool:
        server_events = self.server.events()
        for event in server_events:
            self.server_events.append(event)
            if self.server_app is not None:
                self.server_app(self.server, event)
        wire = self.client
        client_events = wire.events()
        for client_event in client_events:
            self.client_events.append(client_event)
            self.sio.handle_engine_event(client_event, self.now, engine=wire.client)
        moved = self._drain_sio()
        return bool(server_events or client_events or moved)

    def _drain_sio(self) -> bool:
        events = self.sio.events()
        for event in events:
            self.sio_events.append(event)
            if isinstance(event, EngineStarted):
                self._adopt(event.engine)
        return bool(events)

    def _adopt(self, engine: EngineClient) -> None:
        # The previous engine is finished: deliver its last words, hang up its connections.
        self._client_to_server()
        for client_conn, server_conn in list(self._to_server.items()):
            self._sever(client_conn, server_conn)
        self.client = WireClient(engine, "localhost")


def of_type(events: list[ClientEvent], kind: type[Any]) -> list[Any]:
    return [event for event in events if isinstance(event, kind)]


def no_jitter(**kwargs: Any) -> ReconnectionConfig:
    return ReconnectionConfig(randomization_factor=0, **kwargs)


def connected_pair(
    *namespaces: str, config: ClientConfig | None = None, script: Script | None = None
) -> SocketPair:
    """A pair whose client joined ``namespaces`` (default ``/``); events and frames drained."""
    pair = SocketPair(script if script is not None else Script(), config)
    for namespace in namespaces or ("/",):
        pair.sio.open_namespace(namespace)
    pair.start()
    events = pair.take()
    assert len(of_type(events, ClientConnected)) == len(namespaces or ("/",)), events
    pair.script.take()
    return pair


# -- joining namespaces ---------------------------------------------------------------------


def test_connect_root_and_custom_namespace_with_auth() -> None:
    pair = SocketPair(Script())
    pair.sio.open_namespace("/")
    pair.sio.open_namespace("/custom", auth={"token": "abc"})
    assert pair.sio.namespace_state("/custom") is NamespaceState.PENDING
    assert pair.sio.state is ClientState.IDLE
    pair.start()

    assert pair.script.take() == ["0", '0/custom,{"token":"abc"}']
    events = pair.take()
    assert isinstance(events[0], EngineStarted)
    assert events[0].attempt == 0
    assert events[0].engine is pair.sio.engine
    assert events[1:] == [
        ClientConnected("/", "s/"),
        ClientConnected("/custom", "s/custom"),
    ]
    assert pair.sio.state is ClientState.OPEN  # type: ignore[comparison-overlap]
    assert pair.sio.namespace_sid("/custom") == "s/custom"
    assert pair.sio.connected_namespaces == ("/", "/custom")
    assert pair.sio.is_connected("/custom")


def test_namespace_opened_after_the_engine_connects_joins_at_once() -> None:
    pair = connected_pair()
    pair.sio.open_namespace("/late", auth={"n": 1})
    assert pair.sio.namespace_state("/late") is NamespaceState.CONNECTING
    pair.pump()
    assert pair.script.take() == ['0/late,{"n":1}']
    assert pair.take() == [ClientConnected("/late", "s/late")]


def test_connect_reply_without_sid_is_a_v2_server() -> None:
    script = Script(reply=lambda sid, data: ["0"] if data == "0" else [])
    pair = SocketPair(script)
    pair.sio.open_namespace("/")
    pair.start()
    assert of_type(pair.take(), ConnectRefused) == [ConnectRefused("/", V2_SERVER_MESSAGE)]
    assert pair.sio.namespace_state("/") is NamespaceState.CLOSED


def test_connect_error_refuses_the_namespace_for_good() -> None:
    def reply(sid: str, data: str | bytes) -> list[str | bytes]:
        if data == '0/secure,{"token":"bad"}':
            return ['4/secure,{"message":"Not authorized","data":{"code":7}}']
        return accept_all()(sid, data)

    pair = SocketPair(Script(reply), ClientConfig(reconnection=no_jitter()))
    pair.sio.open_namespace("/")
    pair.sio.open_namespace("/secure", auth={"token": "bad"})
    pair.start()
    events = pair.take()
    assert of_type(events, ConnectRefused) == [
        ConnectRefused("/secure", "Not authorized", {"code": 7})
    ]
    assert pair.sio.namespace_state("/secure") is NamespaceState.CLOSED
    pair.script.take()

    # After a reconnection only "/" asks again.
    pair.drop_connections()
    pair.advance(1.0)
    assert pair.script.take() == ["0"]
    # Opening it again (with a better token) asks once more.
    pair.sio.open_namespace("/secure", auth={"token": "good"})
    pair.pump()
    assert pair.script.take() == ['0/secure,{"token":"good"}']
    assert ClientConnected("/secure", "s/secure") in pair.take()


# -- emitting and acknowledging ---------------------------------------------------------------


def test_emit_and_ack_round_trip() -> None:
    pair = connected_pair("/", "/chat")
    assert pair.sio.emit("hello", "x", 1, ack=True) == 0
    assert pair.sio.emit("again", ack=True) == 1
    assert pair.sio.emit("other", namespace="/chat", ack=True) == 0  # a counter per namespace
    assert pair.sio.emit("plain", {"a": [None]}) is None
    pair.pump()
    assert pair.script.take() == [
        '20["hello","x",1]',
        '21["again"]',
        '2/chat,0["other"]',
        '2["plain",{"a":[null]}]',
    ]
    assert pair.sio.pending_acks() == frozenset({0, 1})

    pair.send('31["two"]', "3/chat,0[]", "30[1,{}]", '30["again"]', '399["unknown"]')
    assert pair.take() == [
        AckReceived("s/", "/", 1, ["two"]),
        AckReceived("s/chat", "/chat", 0, []),
        AckReceived("s/", "/", 0, [1, {}]),
    ]
    assert pair.sio.pending_acks() == frozenset()


@pytest.mark.parametrize("transports", [("polling", "websocket"), ("polling",)])
def test_binary_emit_sends_header_then_attachments(transports: tuple[Any, ...]) -> None:
    engine = EngineClientConfig(path="/socket.io/", transports=transports)
    pair = connected_pair("/", "/files", config=ClientConfig(engine=engine))
    assert pair.sio.engine is not None
    assert pair.sio.engine.transport == transports[-1]
    pair.sio.emit("upload", b"\x01\x02", {"more": [b"\x03"]}, "end", namespace="/files", ack=True)
    pair.pump()
    assert pair.script.take() == [
        '52-/files,0["upload",{"_placeholder":true,"num":0},'
        '{"more":[{"_placeholder":true,"num":1}]},"end"]',
        b"\x01\x02",
        b"\x03",
    ]
    pair.send('61-/files,0[{"_placeholder":true,"num":0}]', b"\xff")
    assert pair.take() == [AckReceived("s/files", "/files", 0, [b"\xff"])]


def test_server_binary_event_is_reassembled() -> None:
    pair = connected_pair()
    pair.send('51-["image",{"_placeholder":true,"num":0},"caption"]', b"\x89PNG")
    assert pair.take() == [EventReceived("s/", "/", "image", [b"\x89PNG", "caption"])]


def test_server_event_asking_for_an_ack() -> None:
    pair = connected_pair()
    pair.send('27["question",1]', '28["binary?"]')
    assert pair.take() == [
        EventReceived("s/", "/", "question", [1], ack_id=7),
        EventReceived("s/", "/", "binary?", [], ack_id=8),
    ]
    pair.sio.ack("/", 7, "answer", 42)
    pair.sio.ack("/", 7, "twice")  # a second answer is ignored
    pair.sio.ack("/", 3, "never asked")  # so is an id the server did not send
    pair.sio.ack("/", 8, b"\x00")
    pair.pump()
    assert pair.script.take() == [
        '37["answer",42]',
        '61-8[{"_placeholder":true,"num":0}]',
        b"\x00",
    ]


def test_ack_timeout_then_late_ack_is_ignored() -> None:
    pair = connected_pair()
    assert pair.sio.emit("slow", ack=True, timeout=5.0, now=pair.now) == 0
    pair.pump()
    assert pair.sio.next_deadline() == 5.0
    pair.advance(4.9)
    assert pair.take() == []
    pair.advance(0.1)
    assert pair.take() == [AckTimedOut("s/", "/", 0)]
    assert pair.sio.next_deadline() is None
    pair.send('30["late"]')
    assert pair.take() == []


def test_answered_ack_cancels_its_timeout() -> None:
    pair = connected_pair()
    pair.sio.emit("quick", ack=True, timeout=5.0, now=pair.now)
    pair.pump()
    pair.send('30["done"]')
    assert pair.take() == [AckReceived("s/", "/", 0, ["done"])]
    assert pair.sio.next_deadline() is None
    pair.advance(10.0)
    assert pair.take() == []


# -- buffering ------------------------------------------------------------------------------


def holding_script() -> Script:
    """A server that never answers CONNECT by itself (the test does)."""
    return Script(reply=lambda sid, data: [])


def test_emits_before_connect_are_buffered_in_order() -> None:
    pair = SocketPair(holding_script())
    pair.sio.open_namespace("/")
    pair.sio.emit("a", 1)  # before the engine exists
    pair.start()
    pair.sio.emit("b", 2)  # CONNECT sent, unanswered
    pair.sio.emit("c", b"\x07", ack=True)
    pair.pump()
    assert pair.script.take() == ["0"]
    assert pair.sio.buffered("/") == 3

    pair.send('2["early",1]', '0{"sid":"abc"}')
    events = pair.take()
    # The reply is reported first, then what the server sent ahead of it.
    assert events[-2:] == [
        ClientConnected("/", "abc"),
        EventReceived("abc", "/", "early", [1]),
    ]
    assert pair.script.take() == [
        '2["a",1]',
        '2["b",2]',
        '51-0["c",{"_placeholder":true,"num":0}]',
        b"\x07",
    ]
    assert pair.sio.buffered("/") == 0


def test_buffer_drops_the_oldest_beyond_max_buffered() -> None:
    pair = SocketPair(holding_script(), ClientConfig(max_buffered=2))
    pair.sio.open_namespace("/")
    pair.start()
    pair.sio.emit("first", ack=True, timeout=10.0, now=pair.now)
    pair.sio.emit("second")
    pair.sio.emit("third")
    # The first one can no longer be acknowledged: reported at once.
    assert of_type(pair.take(), AckTimedOut) == [AckTimedOut("", "/", 0)]
    pair.send('0{"sid":"abc"}')
    assert pair.script.take() == ["0", '2["second"]', '2["third"]']


def test_drop_policy_and_volatile_emits_are_lost_while_not_connected() -> None:
    pair = SocketPair(holding_script(), ClientConfig(buffer_policy=BufferPolicy.DROP))
    pair.sio.open_namespace("/")
    pair.start()
    assert pair.sio.emit("lost", ack=True, timeout=1.0, now=pair.now) == 0
    pair.sio.emit("lost too")
    assert of_type(pair.take(), AckTimedOut) == [AckTimedOut("", "/", 0)]
    assert pair.sio.buffered("/") == 0
    pair.send('0{"sid":"abc"}')
    pair.sio.emit("kept", volatile=True)  # connected: volatile goes out
    pair.pump()
    assert pair.script.take() == ["0", '2["kept"]']


def test_volatile_emit_is_not_buffered_under_the_buffer_policy() -> None:
    pair = SocketPair(holding_script())
    pair.sio.open_namespace("/")
    pair.start()
    pair.sio.emit("volatile", volatile=True)
    pair.sio.emit("buffered")
    pair.send('0{"sid":"abc"}')
    assert pair.script.take() == ["0", '2["buffered"]']


def test_buffered_emit_times_out_and_is_not_sent_later() -> None:
    pair = SocketPair(holding_script())
    pair.sio.open_namespace("/")
    pair.start()
    pair.sio.emit("stale", ack=True, timeout=2.0, now=pair.now)
    pair.sio.emit("fresh")
    pair.advance(2.0)
    assert of_type(pair.take(), AckTimedOut) == [AckTimedOut("", "/", 0)]
    pair.send('0{"sid":"abc"}')
    assert pair.script.take() == ["0", '2["fresh"]']


def test_refusal_payloads() -> None:
    pair = SocketPair(holding_script())
    for namespace in ("/a", "/b", "/c", "/d"):
        pair.sio.open_namespace(namespace)
    pair.start()
    pair.send('4/a,{"message":"Invalid namespace"}', '4/b,"plain"', "4/c,", "1/d,")
    assert of_type(pair.take(), ConnectRefused) == [
        ConnectRefused("/a", "Invalid namespace"),
        ConnectRefused("/b", "plain"),
        ConnectRefused("/c", "connection refused"),
        ConnectRefused("/d", "io server disconnect"),  # DISCONNECT instead of a reply
    ]


def test_revision_4_error_payload_of_any_shape() -> None:
    script = Script(lambda sid, data: ['4/x,{"reason":"banned"}'] if data == "0/x," else [])
    config = ClientConfig(engine=EngineClientConfig(path="/socket.io/", revision=3))
    pair = SocketPair(script, config, EngineConfig(path="/socket.io/", allow_eio3=True))
    pair.sio.open_namespace("/x")
    pair.start()
    assert of_type(pair.take(), ConnectRefused) == [
        ConnectRefused("/x", "connection refused", {"reason": "banned"})
    ]


def test_repeated_connect_reply_is_ignored() -> None:
    pair = connected_pair()
    pair.send('0{"sid":"other"}')
    assert pair.take() == []
    assert pair.sio.namespace_sid("/") == "s/"


# -- leaving ---------------------------------------------------------------------------------


def test_server_disconnect_is_final_for_the_namespace() -> None:
    pair = connected_pair("/", "/chat", config=ClientConfig(reconnection=no_jitter()))
    pair.sio.emit("waiting", namespace="/chat", ack=True, timeout=30.0, now=pair.now)
    pair.send("1/chat,", '3/chat,0["too late"]')
    assert pair.take() == [
        AckTimedOut("s/chat", "/chat", 0),  # can no longer be answered
        Disconnected("s/chat", "/chat", DisconnectReason.SERVER_DISCONNECT),
    ]
    assert pair.sio.namespace_state("/chat") is NamespaceState.CLOSED
    assert pair.sio.namespace_sid("/chat") is None
    # Emits wait for an explicit open_namespace.
    pair.sio.emit("later", namespace="/chat")
    pair.pump()
    pair.script.take()
    pair.drop_connections()
    pair.advance(1.0)
    assert pair.script.take() == ["0"]
    pair.sio.open_namespace("/chat")
    pair.pump()
    assert pair.script.take() == ["0/chat,", '2/chat,["later"]']


def test_close_namespace() -> None:
    pair = connected_pair("/", "/chat")
    pair.sio.close_namespace("/chat")
    pair.pump()
    assert pair.script.take() == ["1/chat,"]
    assert pair.take() == [Disconnected("s/chat", "/chat", DisconnectReason.CLIENT_DISCONNECT)]
    assert pair.sio.connected_namespaces == ("/",)
    pair.sio.close_namespace("/chat")  # already closed: nothing
    pair.pump()
    assert pair.script.take() == []


def test_namespace_left_before_its_reply_is_disconnected_when_accepted() -> None:
    pair = SocketPair(holding_script())
    pair.sio.open_namespace("/")
    pair.start()
    pair.sio.close_namespace("/")
    assert pair.sio.namespace_state("/") is NamespaceState.LEAVING
    pair.send('0{"sid":"abc"}')
    assert pair.script.take() == ["0", "1"]
    assert of_type(pair.take(), ClientConnected) == []
    assert pair.sio.namespace_state("/") is NamespaceState.CLOSED


def test_reopening_a_namespace_left_before_its_reply_reuses_the_pending_connect() -> None:
    pair = SocketPair(holding_script())
    pair.sio.open_namespace("/")
    pair.start()
    pair.sio.close_namespace("/")
    pair.sio.open_namespace("/")
    assert pair.sio.namespace_state("/") is NamespaceState.CONNECTING
    pair.send('0{"sid":"abc"}')
    assert pair.script.take() == ["0"]  # a single CONNECT, no DISCONNECT
    assert of_type(pair.take(), ClientConnected) == [ClientConnected("/", "abc")]


def test_close_while_connecting_reports_buffered_acks() -> None:
    pair = SocketPair(holding_script())
    pair.sio.open_namespace("/")
    pair.start()
    pair.sio.emit("queued", ack=True, timeout=9.0, now=pair.now)
    pair.sio.emit("queued too")
    pair.sio.open_namespace("/leaving")
    pair.sio.close_namespace("/leaving")
    pair.sio.close(pair.now)
    assert of_type(pair.take(), AckTimedOut) == [AckTimedOut("", "/", 0)]
    assert pair.sio.namespace_state("/") is NamespaceState.CLOSED
    assert pair.sio.namespace_state("/leaving") is NamespaceState.CLOSED
    assert pair.sio.buffered("/") == 0
    pair.pump()
    assert pair.script.take() == ["0", "0/leaving,"]  # nothing more was sent


def test_close_leaves_everything_and_never_reconnects() -> None:
    pair = connected_pair("/", "/chat")
    pair.sio.emit("pending", ack=True, timeout=60.0, now=pair.now)
    pair.pump()
    pair.script.take()
    pair.sio.close(pair.now)
    pair.pump()
    assert pair.script.take() == ["1", "1/chat,"]
    assert pair.take() == [
        AckTimedOut("s/", "/", 0),
        Disconnected("s/", "/", DisconnectReason.CLIENT_DISCONNECT),
        Disconnected("s/chat", "/chat", DisconnectReason.CLIENT_DISCONNECT),
    ]
    assert pair.sio.closed
    assert pair.sio.engine is not None and pair.sio.engine.closed
    assert pair.sio.next_deadline() is None
    pair.advance(100.0)
    assert pair.take() == []
    assert len(pair.script.sessions) == 1
    with pytest.raises(LocalProtocolError):
        pair.sio.emit("x")
    pair.sio.close(pair.now)  # idempotent


# -- reconnection ------------------------------------------------------------------------------


def test_engine_drop_disconnects_and_reconnects_after_the_seeded_delay() -> None:
    reconnection = ReconnectionConfig(seed=1234)
    pair = connected_pair("/", "/chat", config=ClientConfig(reconnection=reconnection))
    first_engine = pair.sio.engine
    pair.sio.emit("unanswered", ack=True, timeout=60.0, now=pair.now)
    pair.pump()
    pair.script.take()

    pair.drop_connections()
    expected = Backoff.from_config(reconnection)
    delay = expected.duration()
    events = pair.take()
    assert events == [
        AckTimedOut("s/", "/", 0),
        # The session had upgraded to WebSocket: its connection just went away.
        Disconnected("s/", "/", DisconnectReason.TRANSPORT_CLOSE),
        Disconnected("s/chat", "/chat", DisconnectReason.TRANSPORT_CLOSE),
        ReconnectAttempt(1, delay),
    ]
    assert pair.sio.state is ClientState.RECONNECTING
    assert pair.sio.namespace_state("/chat") is NamespaceState.PENDING
    pair.sio.emit("while down", namespace="/chat")  # buffered until rejoined

    pair.advance_to(delay - 0.001)
    assert pair.take() == []
    pair.advance_to(delay)
    events = pair.take()
    assert isinstance(events[0], EngineStarted)
    assert events[0].attempt == 1
    assert events[0].engine is not first_engine
    assert events[1:] == [ClientConnected("/", "s/"), ClientConnected("/chat", "s/chat")]
    assert pair.script.take() == ["0", "0/chat,", '2/chat,["while down"]']
    assert len(pair.script.sessions) == 2


def test_server_closing_the_engine_reconnects_with_exact_delays() -> None:
    pair = connected_pair(config=ClientConfig(reconnection=no_jitter(delay=2.0, delay_max=10.0)))
    assert pair.script.server is not None
    pair.script.server.engine.close(pair.script.sessions[-1], pair.now)
    pair.pump()
    events = pair.take()
    assert events[0].__class__ is Disconnected
    assert events[-1] == ReconnectAttempt(1, pair.now + 2.0)
    pair.advance(2.0)
    assert ClientConnected("/", "s/") in pair.take()


def test_engine_lost_while_connecting_asks_again_on_the_next_engine() -> None:
    pair = SocketPair(holding_script(), ClientConfig(reconnection=no_jitter()))
    pair.sio.open_namespace("/")
    pair.start()
    pair.sio.emit("kept")
    pair.send('2["held",1]')  # before the reply: held, then lost with the connection
    pair.drop_connections()
    events = pair.take()
    assert of_type(events, Disconnected) == []  # never connected: nothing to report
    assert of_type(events, EventReceived) == []
    assert pair.sio.namespace_state("/") is NamespaceState.PENDING
    pair.advance(1.0)
    pair.send('0{"sid":"abc"}')
    assert of_type(pair.take(), EventReceived) == []
    assert pair.script.take() == ["0", "0", '2["kept"]']


def test_recovery_resends_pid_and_offset_and_reports_recovered() -> None:
    def reply(sid: str, data: str | bytes) -> list[str | bytes]:
        if data == '0{"token":"abc"}':
            return ['0{"sid":"s1","pid":"p1"}', '2["tick",1,"off-1"]', '2["tick",2,"off-2"]']
        if data == '0{"pid":"p1","offset":"off-2","token":"abc"}':
            # Replay what was missed, then the reply with the same sid and pid.
            return ['2["tick",3,"off-3"]', '0{"sid":"s1","pid":"p1"}']
        return []

    pair = SocketPair(Script(reply), ClientConfig(reconnection=no_jitter()))
    pair.sio.open_namespace("/", auth={"token": "abc"})
    pair.start()
    events = pair.take()[1:]
    assert events == [
        ClientConnected("/", "s1", pid="p1"),
        EventReceived("s1", "/", "tick", [1, "off-1"]),  # the offset stays visible, as in JS
        EventReceived("s1", "/", "tick", [2, "off-2"]),
    ]
    assert pair.sio.recovery_state() == ("p1", "off-2")
    pair.send('25["asks",1,"not an offset"]')  # events with an ack id carry no offset
    assert pair.sio.recovery_state() == ("p1", "off-2")

    pair.drop_connections()
    pair.advance(1.0)
    assert pair.script.take()[-1] == '0{"pid":"p1","offset":"off-2","token":"abc"}'
    events = pair.take()
    assert events[-2:] == [
        ClientConnected("/", "s1", pid="p1", recovered=True),
        EventReceived("s1", "/", "tick", [3, "off-3"]),
    ]
    assert pair.sio.recovery_state() == ("p1", "off-3")


def test_auth_keys_override_recovery_keys_and_a_new_session_is_not_recovered() -> None:
    replies = iter(['0{"sid":"s1","pid":"p1"}', '0{"sid":"s2","pid":"p2"}'])
    pair = SocketPair(
        Script(lambda sid, data: [next(replies)]), ClientConfig(reconnection=no_jitter())
    )
    pair.sio.open_namespace("/", auth={"offset": "mine"})
    pair.start()
    pair.drop_connections()
    pair.advance(1.0)
    assert pair.script.take() == ['0{"offset":"mine"}', '0{"pid":"p1","offset":"mine"}']
    assert of_type(pair.take(), ClientConnected)[-1] == ClientConnected("/", "s2", pid="p2")


def test_set_auth_applies_to_the_next_connect() -> None:
    pair = connected_pair(config=ClientConfig(reconnection=no_jitter()))
    pair.sio.set_auth("/", {"token": "renewed"})
    pair.drop_connections()
    pair.advance(1.0)
    assert pair.script.take() == ['0{"token":"renewed"}']


def test_reconnect_failed_after_the_configured_attempts() -> None:
    # The server serves another path: every handshake is answered 400.
    config = ClientConfig(reconnection=no_jitter(attempts=2, delay=1.0))
    pair = SocketPair(Script(), config, server_config=EngineConfig(path="/elsewhere/"))
    pair.sio.open_namespace("/")
    pair.start()
    events = pair.take()
    assert [type(e) for e in events] == [EngineStarted, ReconnectAttempt]
    assert events[1] == ReconnectAttempt(1, 1.0)
    pair.advance_to(1.0)
    events = pair.take()
    assert isinstance(events[0], EngineStarted) and events[0].attempt == 1
    assert events[1:] == [ReconnectAttempt(2, 3.0)]
    pair.sio.emit("never", ack=True, timeout=100.0, now=pair.now)
    pair.advance_to(3.0)
    events = pair.take()
    assert isinstance(events[0], EngineStarted) and events[0].attempt == 2
    # Giving up drops the buffered emits (and reports their acks).
    assert events[1:] == [ReconnectFailed(2), AckTimedOut("", "/", 0)]
    assert pair.sio.closed
    assert pair.sio.namespace_state("/") is NamespaceState.CLOSED
    assert pair.sio.next_deadline() is None
    assert pair.script.sessions == []


def test_reconnection_disabled_gives_up_at_once() -> None:
    config = ClientConfig(reconnection=ReconnectionConfig(enabled=False))
    pair = connected_pair(config=config)
    pair.drop_connections()
    events = pair.take()
    assert [type(e) for e in events] == [Disconnected, ReconnectFailed]
    assert events[-1] == ReconnectFailed(0)
    assert pair.sio.closed


def test_undecodable_frame_is_a_parse_error_then_reconnects() -> None:
    pair = connected_pair("/", "/chat", config=ClientConfig(reconnection=no_jitter()))
    pair.send("9 garbage")
    events = pair.take()
    assert events == [
        Disconnected("s/", "/", DisconnectReason.PARSE_ERROR, "unknown packet type '9'"),
        Disconnected("s/chat", "/chat", DisconnectReason.PARSE_ERROR, "unknown packet type '9'"),
        ReconnectAttempt(1, pair.now + 1.0),
    ]
    assert pair.sio.engine is not None and pair.sio.engine.closed
    pair.advance(1.0)
    assert len(of_type(pair.take(), ClientConnected)) == 2


def test_packets_for_namespaces_we_did_not_join_are_ignored() -> None:
    pair = connected_pair()
    pair.send('2/other,["x"]', "1/other,", "3/other,0[]", '4/other,{"message":"no"}')
    assert pair.take() == []
    assert pair.sio.state is ClientState.OPEN


def test_events_of_a_previous_engine_are_ignored() -> None:
    sio = SocketClient()
    sio.open_namespace("/")
    sio.connect(0.0)
    (started,) = sio.events()
    assert isinstance(started, EngineStarted)
    other = EngineClient()
    sio.handle_engine_event(SessionClosed("x", CloseReason.TRANSPORT_CLOSE), 0.0, engine=other)
    assert sio.events() == []
    assert sio.state is ClientState.CONNECTING


# -- revision 4 (Socket.IO 2.x servers over Engine.IO 3) ----------------------------------------


def test_revision_4_implicit_root_and_query_auth() -> None:
    def reply(sid: str, data: str | bytes) -> list[str | bytes]:
        if data == "0/admin?token=a%20b&uid=1&admin=true,":
            return ["0/admin,"]
        if data == "0/secure,":
            return ['4/secure,"Not authorized"']
        return []

    script = Script(reply, on_open=lambda sid: ["0"])  # the server joins "/" unasked
    config = ClientConfig(engine=EngineClientConfig(path="/socket.io/", revision=3))
    pair = SocketPair(script, config, EngineConfig(path="/socket.io/", allow_eio3=True))
    pair.sio.open_namespace("/")
    pair.sio.open_namespace("/admin", auth={"token": "a b", "uid": 1, "admin": True})
    pair.sio.open_namespace("/secure")
    pair.start()

    eio_sid = script.sessions[0]
    assert script.take() == [
        "0/admin?token=a%20b&uid=1&admin=true,",
        "0/secure,",
    ]  # no CONNECT for "/"
    events = pair.take()[1:]
    assert events == [
        ClientConnected("/", eio_sid),
        ClientConnected("/admin", f"/admin#{eio_sid}"),
        ConnectRefused("/secure", "Not authorized"),
    ]

    pair.sio.emit("hi", b"\x01", namespace="/admin")
    pair.pump()
    assert script.take() == ['51-/admin,["hi",{"_placeholder":true,"num":0}]', b"\x01"]


def test_revision_4_root_opened_after_the_implicit_connect() -> None:
    script = Script(lambda sid, data: ["0"] if data == "0" else [], on_open=lambda sid: ["0"])
    config = ClientConfig(engine=EngineClientConfig(path="/socket.io/", revision=3))
    pair = SocketPair(script, config, EngineConfig(path="/socket.io/", allow_eio3=True))
    pair.start()
    assert pair.take()[1:] == []
    pair.sio.open_namespace("/")
    assert pair.take() == [ClientConnected("/", script.sessions[0])]
    # Left and opened again: now "/" has to be asked for explicitly.
    pair.sio.close_namespace("/")
    pair.sio.open_namespace("/")
    pair.pump()
    assert script.take() == ["1", "0"]
    assert of_type(pair.take(), ClientConnected) == [ClientConnected("/", script.sessions[0])]


def test_revision_4_rejects_auth_for_the_root_namespace_and_queries_in_names() -> None:
    sio = SocketClient(ClientConfig(engine=EngineClientConfig(revision=3)))
    with pytest.raises(LocalProtocolError, match="implicitly"):
        sio.open_namespace("/", auth={"token": "x"})
    with pytest.raises(LocalProtocolError, match="cannot contain"):
        sio.open_namespace("/admin?token=x")
    sio.open_namespace("/")
    with pytest.raises(LocalProtocolError, match="implicitly"):
        sio.set_auth("/", {"token": "x"})


# -- msgpack ---------------------------------------------------------------------------------


def test_msgpack_parser() -> None:
    def reply(sid: str, data: str | bytes) -> list[str | bytes]:
        assert isinstance(data, bytes)
        packet = msgpack.unpackb(data)
        if packet["type"] == 0:
            return [msgpack.packb({"type": 0, "nsp": "/", "data": {"sid": "m1"}})]
        return []

    pair = SocketPair(Script(reply), ClientConfig(parser="msgpack"))
    pair.sio.open_namespace("/")
    pair.start()
    assert ClientConnected("/", "m1") in pair.take()
    pair.sio.emit("blob", b"\x00\x01", ack=True)
    pair.pump()
    sent = pair.script.take()
    assert [msgpack.unpackb(m) for m in sent if isinstance(m, bytes)] == [
        {"type": 0, "nsp": "/"},
        {"type": 2, "nsp": "/", "data": ["blob", b"\x00\x01"], "id": 0},
    ]
    pair.send(msgpack.packb({"type": 3, "nsp": "/", "data": ["ok"], "id": 0}))
    assert pair.take() == [AckReceived("m1", "/", 0, ["ok"])]


def test_msgpack_needs_revision_5() -> None:
    with pytest.raises(ValueError, match="msgpack"):
        SocketClient(ClientConfig(parser="msgpack", engine=EngineClientConfig(revision=3)))


# -- API misuse ------------------------------------------------------------------------------


def test_api_misuse_raises_local_protocol_error() -> None:
    sio = SocketClient()
    sio.open_namespace("/")
    with pytest.raises(LocalProtocolError, match="already pending"):
        sio.open_namespace("/")
    with pytest.raises(LocalProtocolError, match="reserved"):
        sio.emit("disconnect")
    with pytest.raises(LocalProtocolError, match="never opened"):
        sio.emit("x", namespace="/nope")
    with pytest.raises(LocalProtocolError, match="needs now"):
        sio.emit("x", ack=True, timeout=1.0)
    with pytest.raises(LocalProtocolError, match="ack=True"):
        sio.emit("x", timeout=1.0, now=0.0)
    with pytest.raises(LocalProtocolError):
        sio.emit("x", {1, 2})  # not JSON
    with pytest.raises(LocalProtocolError):
        sio.open_namespace("/a,b")
    with pytest.raises(LocalProtocolError):
        sio.open_namespace("nope")
    assert sio.pending_acks() == frozenset()  # failed emits took no ack id
    sio.connect(0.0)
    with pytest.raises(LocalProtocolError, match="cannot connect while connecting"):
        sio.connect(0.0)
    sio.close(0.0)
    with pytest.raises(LocalProtocolError, match="closed"):
        sio.open_namespace("/other")
    with pytest.raises(LocalProtocolError, match="cannot connect while closed"):
        sio.connect(0.0)


def test_transition_tables_cover_every_state() -> None:
    assert {state for state, _ in TRANSITIONS} | set(TRANSITIONS.values()) == set(ClientState)
    namespace_states = {state for state, _ in NAMESPACE_TRANSITIONS}
    assert namespace_states | set(NAMESPACE_TRANSITIONS.values()) == set(NamespaceState)


# -- remote garbage never escapes --------------------------------------------------------------

VALID_FRAMES = [
    '0{"sid":"a"}',
    '0{"sid":"a","pid":"p"}',
    '0/chat,{"sid":"b"}',
    "0",
    "1",
    "1/chat,",
    '2["e",1,"off"]',
    '23["e"]',
    "30[]",
    '4{"message":"no"}',
    '51-["e",{"_placeholder":true,"num":0}]',
    '61-0[{"_placeholder":true,"num":0}]',
]
#: Frames from the server; None stands for the engine dropping.
messages = st.lists(
    st.one_of(
        st.sampled_from(VALID_FRAMES),
        sps.mutated_text(st.sampled_from(VALID_FRAMES)),
        st.text(max_size=30),
        st.binary(max_size=30),
        st.none(),
    ),
    max_size=12,
)


def started_client(config: ClientConfig) -> SocketClient:
    """A client whose engine is (reported) connected, joining "/" and "/chat"."""
    sio = SocketClient(config)
    sio.open_namespace("/")
    sio.open_namespace("/chat")
    sio.connect(0.0)
    handshake = Handshake("eio", (), 25.0, 20.0, None)
    sio.handle_engine_event(Connected("eio", handshake, "polling"), 0.0)
    return sio


@given(messages, st.booleans())
def test_server_input_never_raises(frames: list[str | bytes | None], revision_4: bool) -> None:
    engine = EngineClientConfig(path="/socket.io/", revision=3 if revision_4 else 4)
    sio = started_client(ClientConfig(engine=engine, reconnection=no_jitter(delay=0.0)))
    sio.emit("out", ack=True, timeout=1.0, now=0.0)
    now = 0.0
    for frame in frames:
        if frame is None:
            sio.handle_engine_event(SessionClosed("eio", CloseReason.TRANSPORT_CLOSE), now)
        else:
            sio.handle_engine_event(MessageReceived("eio", frame), now)
        now += 0.5
        sio.handle_timeout(now)
        if sio.state is ClientState.CONNECTING and sio.engine is not None:
            sio.handle_engine_event(
                Connected("eio", Handshake("eio", (), 25.0, 20.0, None), "polling"),
                now,
            )
    for event in sio.events():
        if isinstance(event, Disconnected):
            assert event.reason in (
                DisconnectReason.PARSE_ERROR,
                DisconnectReason.SERVER_DISCONNECT,
                DisconnectReason.TRANSPORT_CLOSE,
            )
    assert sio.state in (ClientState.OPEN, ClientState.RECONNECTING)


@given(st.lists(st.binary(max_size=40), max_size=8))
def test_msgpack_server_input_never_raises(frames: list[bytes]) -> None:
    sio = started_client(ClientConfig(parser="msgpack"))
    for frame in frames:
        sio.handle_engine_event(MessageReceived("eio", frame), 0.0)
    assert sio.state in (ClientState.OPEN, ClientState.RECONNECTING)
