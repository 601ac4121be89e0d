"""The in-memory Socket.IO pair: an application server and a SocketClient, end to end."""

from __future__ import annotations

from typing import Any

from socketio_proto.app import Server
from socketio_proto.socketio.config import (
    ClientConfig,
    ReconnectionConfig,
    RecoveryConfig,
    ServerConfig,
)
from socketio_proto.socketio.events import (
    AckReceived,
    ClientConnected,
    ConnectRefused,
    Disconnected,
    DisconnectReason,
    EngineStarted,
    EventReceived,
    ReconnectAttempt,
)
from socketio_proto.testing import SocketPair


def echo_server(config: ServerConfig | None = None) -> Server:
    app = Server(config)

    @app.on("echo")
    def echo(sid: str, *args: Any) -> tuple[Any, ...]:
        return args

    @app.event
    def connect(sid: str, auth: Any) -> None:
        app.enter_room(sid, "everyone")

    return app


def test_connect_emit_and_ack_with_binary() -> None:
    pair = SocketPair(echo_server())
    pair.connect()
    [connected] = pair.events_of(ClientConnected)
    assert connected.namespace == "/" and connected.pid is None
    ack_id = pair.sio.emit("echo", 1, b"\x00\xff", {"k": [b"x"]}, ack=True)
    pair.pump()
    [ack] = pair.events_of(AckReceived)
    assert (ack.ack_id, ack.args) == (ack_id, [1, b"\x00\xff", {"k": [b"x"]}])
    # The session upgraded to WebSocket on the way.
    assert pair.app.engine.transport(pair.app.sio.eio_sid(connected.sid)) == "websocket"


def test_server_broadcast_reaches_the_client_and_refusal_is_reported() -> None:
    app = echo_server()

    @app.event(namespace="/private")
    def connect(sid: str, auth: Any) -> bool:
        return False

    pair = SocketPair(app)
    pair.connect()
    pair.sio.open_namespace("/private")
    app.emit("news", "hello", to="everyone")
    pair.pump()
    [refused] = pair.events_of(ConnectRefused)
    assert (refused.namespace, refused.message) == ("/private", "Connection refused")
    [news] = [e for e in pair.events_of(EventReceived) if e.event == "news"]
    assert news.args == ["hello"]


def test_network_failure_reconnects_with_seeded_backoff_and_recovers() -> None:
    app = echo_server(ServerConfig(recovery=RecoveryConfig(max_disconnection_duration=60)))
    config = ClientConfig(reconnection=ReconnectionConfig(seed=7, randomization_factor=0.5))
    pair = SocketPair(app, config)
    pair.connect()
    [first] = pair.events_of(ClientConnected)
    app.emit("tick", 0)
    pair.pump()
    pair.drop_connections()
    app.emit("tick", 1, to="everyone")
    app.emit("tick", 2, skip_sid="everyone")  # the client's rooms exclude it
    pair.advance(10.0)

    [lost] = pair.events_of(Disconnected)
    assert lost.reason is DisconnectReason.TRANSPORT_CLOSE
    [attempt] = pair.events_of(ReconnectAttempt)
    assert attempt.attempt == 1
    assert [e.attempt for e in pair.events_of(EngineStarted)] == [0, 1]
    second = pair.events_of(ClientConnected)[-1]
    assert second.recovered and second.sid == first.sid and second.pid == first.pid
    ticks = [e.args[0] for e in pair.events_of(EventReceived) if e.event == "tick"]
    assert ticks == [0, 1]

    # The same seed gives the same reconnection time.
    again = SocketPair(echo_server(), config)
    again.connect()
    again.drop_connections()
    again.advance(10.0)
    assert pair.now > attempt.at > 0.0  # both pairs lost the network at time 0
    assert again.events_of(ReconnectAttempt)[0].at == attempt.at
