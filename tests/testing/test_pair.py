"""The in-memory pair: both machines, h11, wsproto and the bytes between them."""

from __future__ import annotations

import pytest

from socketio_proto.engineio.client import ClientConfig, ClientState, Connected
from socketio_proto.engineio.config import EngineConfig
from socketio_proto.engineio.events import (
    CloseReason,
    MessageReceived,
    ServerEvent,
    SessionClosed,
    SessionOpened,
    SessionUpgraded,
)
from socketio_proto.testing import EnginePair
from socketio_proto.wire import WireServer

SUITE = EngineConfig(ping_interval=0.3, ping_timeout=0.2, allow_eio3=True)
MODES = {
    "polling": ClientConfig(transports=("polling",)),
    "websocket": ClientConfig(transports=("websocket",)),
    "upgrade": ClientConfig(),
    "eio3-upgrade": ClientConfig(revision=3),
    "eio3-polling-b64": ClientConfig(revision=3, transports=("polling",), force_base64=True),
    "eio4-websocket-b64": ClientConfig(transports=("websocket",), force_base64=True),
}


def echo(server: WireServer, event: ServerEvent) -> None:
    if isinstance(event, MessageReceived):
        server.engine.send(event.sid, event.data)


def received(pair: EnginePair) -> list[str | bytes]:
    return [e.data for e in pair.client_events if isinstance(e, MessageReceived)]


@pytest.mark.parametrize("mode", list(MODES))
def test_echo_in_order_in_every_mode(mode: str) -> None:
    pair = EnginePair(SUITE, MODES[mode], server_app=echo)
    pair.connect()
    messages: list[str | bytes] = [f"m{i}" for i in range(50)]
    messages += [b"\x00\x01\xff", "€😀", b""]
    for message in messages:
        assert pair.client.send(message)
    pair.pump()
    pair.advance(0.1)
    assert received(pair) == messages
    assert isinstance(pair.client_events[0], Connected)


@pytest.mark.parametrize("mode", ["upgrade", "eio3-upgrade"])
def test_no_message_lost_or_reordered_while_upgrading(mode: str) -> None:
    pair = EnginePair(SUITE, MODES[mode], server_app=echo)
    pair.client.connect(pair.now)
    sent: list[str | bytes] = []
    # Interleave sends with single pump rounds so the upgrade happens mid-stream.
    for i in range(200):
        message = f"n{i}"
        pair.client.send(message)
        sent.append(message)
        pair.step()
    pair.pump()
    assert any(isinstance(e, SessionUpgraded) for e in pair.client_events)
    assert received(pair) == sent


@pytest.mark.parametrize("mode", list(MODES))
def test_heartbeats_keep_an_idle_session_alive(mode: str) -> None:
    pair = EnginePair(SUITE, MODES[mode])
    pair.connect()
    pair.advance(10.0)
    assert len(pair.server.engine.sessions) == 1
    assert not any(isinstance(e, SessionClosed) for e in pair.client_events)


def test_a_client_that_stops_answering_is_timed_out_by_the_server() -> None:
    pair = EnginePair(SUITE, MODES["websocket"])
    pair.connect()
    pair.client.transmit = lambda now: []  # type: ignore[method-assign]  # its bytes vanish
    pair.advance(0.49)
    assert len(pair.server.engine.sessions) == 1
    pair.advance(0.01)  # ping at 0.3, no pong by 0.3 + 0.2
    closed = [e for e in pair.server_events if isinstance(e, SessionClosed)]
    assert [e.reason for e in closed] == [CloseReason.PING_TIMEOUT]


def test_a_silent_server_is_timed_out_by_the_client() -> None:
    pair = EnginePair(SUITE, MODES["websocket"])
    pair.connect()
    pair.server.transmit = lambda now: []  # type: ignore[method-assign]  # its bytes vanish
    pair.advance(0.49)
    assert not any(isinstance(e, SessionClosed) for e in pair.client_events)
    pair.advance(0.01)  # no ping within pingInterval + pingTimeout of the handshake
    assert pair.client_events[-1].reason is CloseReason.PING_TIMEOUT  # type: ignore[union-attr]


def test_server_close_reaches_the_client() -> None:
    pair = EnginePair(SUITE, MODES["polling"])
    pair.connect()
    (opened,) = [e for e in pair.server_events if isinstance(e, SessionOpened)]
    pair.server.engine.send(opened.sid, "bye")
    pair.server.engine.close(opened.sid, pair.now)
    pair.pump()
    assert received(pair) == ["bye"]
    assert pair.client_events[-1] == SessionClosed(opened.sid, CloseReason.TRANSPORT_CLOSE)


def test_network_failure_closes_both_sides() -> None:
    pair = EnginePair(SUITE, MODES["upgrade"])
    pair.connect()
    pair.drop_connections()
    assert isinstance(pair.client_events[-1], SessionClosed)
    assert pair.server.engine.sessions == frozenset()


def test_client_close_reaches_the_server() -> None:
    pair = EnginePair(SUITE, MODES["polling"])
    pair.connect()
    pair.client.close(pair.now)
    pair.pump()
    closed = [e for e in pair.server_events if isinstance(e, SessionClosed)]
    assert [e.reason for e in closed] == [CloseReason.FORCED_CLOSE]


def test_a_client_that_gave_up_leaves_no_connection_open() -> None:
    pair = EnginePair(SUITE, MODES["polling"])
    pair.connect()
    pair.server.transmit = lambda now: []  # type: ignore[method-assign]  # its bytes vanish
    pair.advance(0.5)
    assert pair.client_events[-1].reason is CloseReason.PING_TIMEOUT  # type: ignore[union-attr]
    # The parked poll and the idle keep-alive connections are all hung up.
    assert pair.client._connections == {}
    assert pair.server._connections == {}


def test_client_close_with_a_post_in_flight_reaches_the_server_as_a_close() -> None:
    """The close packet waits for the POST in flight, and the parked poll stays open
    until the server answers it: the server records the client's close, not an error."""
    pair = EnginePair(SUITE, MODES["polling"])
    pair.connect()
    pair.client.send("last words")  # a POST is issued: no answer before the close
    pair.client.close(pair.now)
    assert pair.client.client.state is ClientState.CLOSING
    pair.pump()
    closed = [e for e in pair.server_events if isinstance(e, SessionClosed)]
    assert [e.reason for e in closed] == [CloseReason.FORCED_CLOSE]
    assert [e.data for e in pair.server_events if isinstance(e, MessageReceived)][-1] == (
        "last words"
    )
    assert pair.client.finished
