"""The official Socket.IO v5 test suite (protocol.md 3.3 table C), replayed byte for byte.

One test per ``it(...)`` of ``docs/socket.io-protocol/v5-test-suite/test-suite.js``,
named after its describe path, against the suite's reference server
(:func:`~tests.support.socket_server.reference_app` with pingInterval 300 ms,
pingTimeout 200 ms, maxPayload 1e6, connectTimeout 1 s, path ``/socket.io/``, no
recovery), driven through :class:`~socketio_proto.wire.server.WireServer` and
:class:`~socketio_proto.socketio.server.SocketServer` with a fake clock.

Where the suite only waits for a ``close`` event the tests also check *why* the
session closed; where it cannot see timing (the connect timeout) the fake clock
pins it to the float.  The last section replays the sample session of
protocol.md 2.11 over long-polling.
"""

from __future__ import annotations

import json
from typing import Any

from socketio_proto.engineio.events import CloseReason
from socketio_proto.socketio.events import (
    AckReceived,
    ConnectRequested,
    Disconnected,
    DisconnectReason,
    EventReceived,
)
from tests.support.socket_server import SocketHarness
from tests.support.wire_client import HANDSHAKE_KEYS, WsClient, check_suite_open_packet

PING_INTERVAL = 0.3
PING_TIMEOUT = 0.2
CONNECT_TIMEOUT = 1.0
PH0 = '{"_placeholder":true,"num":0}'
PH1 = '{"_placeholder":true,"num":1}'


def url(query: str) -> str:
    return f"/socket.io/?{query}"


def init_long_polling_session(h: SocketHarness) -> str:
    """The suite's ``initLongPollingSession()``."""
    content = h.get(url("EIO=4&transport=polling")).response.text
    sid = json.loads(content[1:])["sid"]
    assert isinstance(sid, str)
    return sid


def init_socketio_connection(h: SocketHarness) -> tuple[WsClient, str, str]:
    """The suite's ``initSocketIOConnection()``: WS handshake, ``40``, reply, ``auth``."""
    socket = h.websocket(url("EIO=4&transport=websocket"))
    assert socket.accepted
    opening = socket.recv()
    assert isinstance(opening, str)
    assert opening.startswith("0")
    eio_sid = json.loads(opening[1:])["sid"]
    socket.send("40")
    reply = socket.recv()
    assert isinstance(reply, str)
    assert reply.startswith("40{")
    sid = json.loads(reply[2:])["sid"]
    assert socket.recv() == '42["auth",{}]'
    assert socket.messages == []
    return socket, eio_sid, sid


def sio_handshake(data: str | bytes, prefix: str) -> dict[str, Any]:
    """The CONNECT reply's payload; the suite checks it has exactly the key ``sid``."""
    assert isinstance(data, str)
    assert data.startswith(prefix)
    handshake = json.loads(data[len(prefix) :])
    assert isinstance(handshake, dict)
    assert set(handshake) == {"sid"}
    assert isinstance(handshake["sid"], str)
    return handshake


def assert_closed_by_server(socket: WsClient) -> None:
    """The suite's ``await waitFor(socket, "close")`` once the session was open."""
    assert socket.close_code is not None
    assert socket.tcp_closed
    assert not socket.open


def assert_refused(socket: WsClient) -> None:
    """``waitFor(socket, "close")`` for a WebSocket refused before the upgrade."""
    assert not socket.accepted
    assert socket.rejected is not None
    assert socket.rejected.status == 400
    assert socket.tcp_closed


# == Engine.IO protocol ==================================================================

# -- handshake > HTTP long-polling ---------------------------------------------------------


def test_engineio_handshake_http_long_polling_should_successfully_open_a_session() -> None:
    h = SocketHarness()
    response = h.get(url("EIO=4&transport=polling")).response
    assert response.status == 200
    content = response.text
    value = check_suite_open_packet(content, upgrades=["websocket"])
    # Only the open packet: Socket.IO v5 sends nothing before the client's CONNECT.
    assert content == "0" + json.dumps(value, separators=(",", ":"))
    assert h.sio_events == []


def test_engineio_handshake_http_long_polling_should_fail_with_an_invalid_eio_query_parameter() -> (
    None
):
    h = SocketHarness()
    response = h.get(url("transport=polling")).response
    assert response.status == 400
    response2 = h.get(url("EIO=abc&transport=polling")).response
    assert response2.status == 400
    assert h.engine.sessions == frozenset()
    assert h.sio_events == []


def test_engineio_handshake_http_long_polling_should_fail_with_an_invalid_transport_query_parameter() -> (  # noqa: E501
    None
):
    h = SocketHarness()
    response = h.get(url("EIO=4")).response
    assert response.status == 400
    response2 = h.get(url("EIO=4&transport=abc")).response
    assert response2.status == 400
    assert h.engine.sessions == frozenset()


def test_engineio_handshake_http_long_polling_should_fail_with_an_invalid_request_method() -> None:
    h = SocketHarness()
    response = h.request("POST", url("EIO=4&transport=polling")).response
    assert response.status == 400
    response2 = h.request("PUT", url("EIO=4&transport=polling")).response
    assert response2.status == 400
    assert h.engine.sessions == frozenset()


# -- handshake > WebSocket -------------------------------------------------------------------


def test_engineio_handshake_websocket_should_successfully_open_a_session() -> None:
    h = SocketHarness()
    socket = h.websocket(url("EIO=4&transport=websocket"))
    assert socket.accepted
    data = socket.recv()
    assert isinstance(data, str)
    check_suite_open_packet(data, upgrades=[])
    assert socket.messages == []
    socket.close()
    assert socket.close_code == 1000
    assert h.engine.sessions == frozenset()
    assert h.sio_events == []  # no namespace was joined: nobody to tell


def test_engineio_handshake_websocket_should_fail_with_an_invalid_eio_query_parameter() -> None:
    h = SocketHarness()
    assert_refused(h.websocket(url("transport=websocket")))
    assert_refused(h.websocket(url("EIO=abc&transport=websocket")))
    assert h.engine.sessions == frozenset()


def test_engineio_handshake_websocket_should_fail_with_an_invalid_transport_query_parameter() -> (
    None
):
    h = SocketHarness()
    assert_refused(h.websocket(url("EIO=4")))
    assert_refused(h.websocket(url("EIO=4&transport=abc")))
    assert h.engine.sessions == frozenset()


# -- heartbeat -------------------------------------------------------------------------------


def test_engineio_heartbeat_http_long_polling_should_send_ping_pong_packets() -> None:
    h = SocketHarness()
    sid = init_long_polling_session(h)
    for _ in range(3):
        started = h.now
        poll = h.get(url(f"EIO=4&transport=polling&sid={sid}"))
        assert poll.pending
        h.clock.advance(PING_INTERVAL)
        assert h.clock.fired[-1] == started + PING_INTERVAL
        assert poll.response.status == 200
        assert poll.response.body == b"2"  # no Socket.IO traffic before a CONNECT
        push = h.post(url(f"EIO=4&transport=polling&sid={sid}"), "3").response
        assert push.status == 200
    assert h.closed_reason(sid) is None
    assert h.now < CONNECT_TIMEOUT  # the connect timeout has not fired yet


def test_engineio_heartbeat_http_long_polling_should_close_the_session_upon_ping_timeout() -> None:
    h = SocketHarness()
    sid = init_long_polling_session(h)
    h.clock.advance(PING_INTERVAL + PING_TIMEOUT)
    poll = h.get(url(f"EIO=4&transport=polling&sid={sid}")).response
    assert poll.status == 400
    assert h.closed_reason(sid) == CloseReason.PING_TIMEOUT


def test_engineio_heartbeat_websocket_should_send_ping_pong_packets() -> None:
    h = SocketHarness()
    socket = h.websocket(url("EIO=4&transport=websocket"))
    socket.recv()  # handshake
    for _ in range(3):
        h.clock.advance(PING_INTERVAL)
        assert socket.recv() == "2"
        socket.send("3")
    assert socket.open
    socket.close()
    assert socket.close_code == 1000


def test_engineio_heartbeat_websocket_should_close_the_session_upon_ping_timeout() -> None:
    h = SocketHarness()
    socket, sid = h.open_websocket("EIO=4&transport=websocket")
    h.clock.advance(PING_INTERVAL + PING_TIMEOUT)
    assert socket.messages == ["2"]
    assert_closed_by_server(socket)
    # The ping timeout (0.5 s) comes before the connect timeout (1 s).
    assert h.clock.fired == [PING_INTERVAL, PING_INTERVAL + PING_TIMEOUT]
    assert h.closed_reason(sid) == CloseReason.PING_TIMEOUT


# -- close -----------------------------------------------------------------------------------


def test_engineio_close_http_long_polling_should_forcefully_close_the_session() -> None:
    h = SocketHarness()
    sid = init_long_polling_session(h)
    poll = h.get(url(f"EIO=4&transport=polling&sid={sid}"))
    push = h.post(url(f"EIO=4&transport=polling&sid={sid}"), "1")
    assert push.response.status == 200
    assert poll.response.status == 200
    assert poll.response.body == b"6"
    poll2 = h.get(url(f"EIO=4&transport=polling&sid={sid}")).response
    assert poll2.status == 400
    assert h.closed_reason(sid) == CloseReason.FORCED_CLOSE


def test_engineio_close_websocket_should_forcefully_close_the_session() -> None:
    h = SocketHarness()
    socket, sid = h.open_websocket("EIO=4&transport=websocket")
    socket.send("1")
    assert_closed_by_server(socket)
    assert h.closed_reason(sid) == CloseReason.FORCED_CLOSE


# -- upgrade ---------------------------------------------------------------------------------


def test_engineio_upgrade_should_successfully_upgrade_from_http_long_polling_to_websocket() -> None:
    h = SocketHarness()
    sid = init_long_polling_session(h)
    socket = h.websocket(url(f"EIO=4&transport=websocket&sid={sid}"))
    assert socket.accepted
    socket.send("2probe")
    assert socket.recv() == "3probe"
    socket.send("5")
    assert h.engine.transport(sid) == "websocket"
    # The upgraded session carries Socket.IO.
    socket.send("40")
    sio_handshake(socket.recv(), "40")
    assert socket.recv() == '42["auth",{}]'


def test_engineio_upgrade_should_ignore_http_requests_with_same_sid_after_upgrade() -> None:
    h = SocketHarness()
    sid = init_long_polling_session(h)
    socket = h.websocket(url(f"EIO=4&transport=websocket&sid={sid}"))
    socket.send("2probe")
    socket.send("5")
    poll = h.get(url(f"EIO=4&transport=polling&sid={sid}")).response
    assert poll.status == 400
    assert socket.recv() == "3probe"
    assert socket.open


def test_engineio_upgrade_should_ignore_websocket_connection_with_same_sid_after_upgrade() -> None:
    h = SocketHarness()
    sid = init_long_polling_session(h)
    socket = h.websocket(url(f"EIO=4&transport=websocket&sid={sid}"))
    socket.send("2probe")
    socket.send("5")
    socket2 = h.websocket(url(f"EIO=4&transport=websocket&sid={sid}"))
    assert socket2.close_code is not None or socket2.rejected is not None
    assert socket2.tcp_closed
    assert socket.open


# == Socket.IO protocol ==================================================================

# -- connect ---------------------------------------------------------------------------------


def test_socketio_connect_should_allow_connection_to_the_main_namespace() -> None:
    h = SocketHarness()
    socket, eio_sid = h.open_websocket("EIO=4&transport=websocket")
    socket.send("40")
    handshake = sio_handshake(socket.recv(), "40")
    assert socket.recv() == '42["auth",{}]'
    assert socket.messages == []
    # The socket id is fresh, not the Engine.IO sid (a credential).
    assert handshake["sid"] != eio_sid
    assert len(handshake["sid"]) == 20
    (request,) = h.of_type(ConnectRequested)
    assert request.sid == handshake["sid"]
    assert request.namespace == "/"
    assert request.auth is None
    assert request.eio_sid == eio_sid


def test_socketio_connect_should_allow_connection_to_the_main_namespace_with_a_payload() -> None:
    h = SocketHarness()
    socket, _ = h.open_websocket("EIO=4&transport=websocket")
    socket.send('40{"token":"123"}')
    sio_handshake(socket.recv(), "40")
    assert socket.recv() == '42["auth",{"token":"123"}]'
    (request,) = h.of_type(ConnectRequested)
    assert request.auth == {"token": "123"}


def test_socketio_connect_should_allow_connection_to_a_custom_namespace() -> None:
    h = SocketHarness()
    socket, _ = h.open_websocket("EIO=4&transport=websocket")
    socket.send("40/custom,")
    handshake = sio_handshake(socket.recv(), "40/custom,")
    assert socket.recv() == '42/custom,["auth",{}]'
    assert h.sio.namespace_of(handshake["sid"]) == "/custom"


def test_socketio_connect_should_allow_connection_to_a_custom_namespace_with_a_payload() -> None:
    h = SocketHarness()
    socket, _ = h.open_websocket("EIO=4&transport=websocket")
    socket.send('40/custom,{"token":"abc"}')
    sio_handshake(socket.recv(), "40/custom,")
    assert socket.recv() == '42/custom,["auth",{"token":"abc"}]'


def test_socketio_connect_should_disallow_connection_to_an_unknown_namespace() -> None:
    h = SocketHarness()
    socket, sid = h.open_websocket("EIO=4&transport=websocket")
    socket.send("40/random")
    assert socket.recv() == '44/random,{"message":"Invalid namespace"}'
    assert socket.messages == []
    # The Engine.IO connection stays open; no socket was created.
    assert socket.open
    assert h.sio_events == []
    assert h.sio.connection_sockets(sid) == {}
    assert "/random" not in h.sio.namespaces


def test_socketio_connect_should_disallow_connection_with_an_invalid_handshake() -> None:
    h = SocketHarness()
    socket, sid = h.open_websocket("EIO=4&transport=websocket")
    socket.send("4abc")
    assert_closed_by_server(socket)
    assert socket.messages == []
    assert h.closed_reason(sid) == CloseReason.SERVER_CLOSE
    assert h.sio_events == []


def test_socketio_connect_should_close_the_connection_if_no_handshake_is_received() -> None:
    h = SocketHarness()
    socket, sid = h.open_websocket("EIO=4&transport=websocket")
    # Answer every ping so that only the connect timeout (1 s) can close the session.
    for _ in range(3):
        h.clock.advance(PING_INTERVAL)
        assert socket.recv() == "2"
        socket.send("3")
    h.clock.advance_to(CONNECT_TIMEOUT - 1e-9)
    assert socket.open
    h.clock.advance_to(CONNECT_TIMEOUT + 0.1)
    assert_closed_by_server(socket)
    assert h.clock.fired[-1] == CONNECT_TIMEOUT  # exactly connectTimeout after the handshake
    assert h.closed_reason(sid) == CloseReason.SERVER_CLOSE  # not the ping timeout
    assert socket.messages == []


# -- disconnect ------------------------------------------------------------------------------


def test_socketio_disconnect_should_disconnect_from_the_main_namespace() -> None:
    h = SocketHarness()
    socket, eio_sid, sid = init_socketio_connection(h)
    socket.send("41")
    assert socket.messages == []  # no reply to a DISCONNECT
    h.clock.advance(PING_INTERVAL)
    assert socket.recv() == "2"  # the Engine.IO connection is kept
    assert socket.open
    assert h.of_type(Disconnected) == [Disconnected(sid, "/", DisconnectReason.CLIENT_DISCONNECT)]
    assert h.closed_reason(eio_sid) is None
    assert h.sio.sockets("/") == frozenset()


def test_socketio_disconnect_should_connect_then_disconnect_from_a_custom_namespace() -> None:
    h = SocketHarness()
    socket, _, sid = init_socketio_connection(h)
    h.clock.advance(PING_INTERVAL)
    assert socket.recv() == "2"  # ping
    socket.send("40/custom")
    custom_sid = sio_handshake(socket.recv(), "40/custom,")["sid"]
    assert socket.recv() == '42/custom,["auth",{}]'
    socket.send("41/custom")
    socket.send('42["message","message to main namespace"]')
    assert socket.recv() == '42["message-back","message to main namespace"]'
    assert socket.messages == []
    assert h.of_type(Disconnected) == [
        Disconnected(custom_sid, "/custom", DisconnectReason.CLIENT_DISCONNECT)
    ]
    assert h.sio.sockets("/") == frozenset({sid})


# -- message ---------------------------------------------------------------------------------


def test_socketio_message_should_send_a_plain_text_packet() -> None:
    h = SocketHarness()
    socket, _, sid = init_socketio_connection(h)
    socket.send('42["message",1,"2",{"3":[true]}]')
    assert socket.recv() == '42["message-back",1,"2",{"3":[true]}]'
    assert h.of_type(EventReceived) == [
        EventReceived(sid, "/", "message", [1, "2", {"3": [True]}], None)
    ]


def test_socketio_message_should_send_a_packet_with_binary_attachments() -> None:
    h = SocketHarness()
    socket, _, sid = init_socketio_connection(h)
    socket.send(f'452-["message",{PH0},{PH1}]')
    socket.send(bytes([1, 2, 3]))
    assert socket.messages == []  # still waiting for the second attachment
    socket.send(bytes([4, 5, 6]))
    assert socket.recv() == f'452-["message-back",{PH0},{PH1}]'
    assert socket.recv() == bytes([1, 2, 3])
    assert socket.recv() == bytes([4, 5, 6])
    assert socket.messages == []
    assert h.of_type(EventReceived) == [
        EventReceived(sid, "/", "message", [b"\x01\x02\x03", b"\x04\x05\x06"], None)
    ]
    socket.close()


def test_socketio_message_should_send_a_plain_text_packet_with_an_ack() -> None:
    h = SocketHarness()
    socket, _, sid = init_socketio_connection(h)
    socket.send('42456["message-with-ack",1,"2",{"3":[false]}]')
    assert socket.recv() == '43456[1,"2",{"3":[false]}]'
    assert h.of_type(EventReceived) == [
        EventReceived(sid, "/", "message-with-ack", [1, "2", {"3": [False]}], 456)
    ]


def test_socketio_message_should_send_a_packet_with_binary_attachments_and_an_ack() -> None:
    h = SocketHarness()
    socket, _, _ = init_socketio_connection(h)
    socket.send(f'452-789["message-with-ack",{PH0},{PH1}]')
    socket.send(bytes([1, 2, 3]))
    socket.send(bytes([4, 5, 6]))
    assert socket.recv() == f"462-789[{PH0},{PH1}]"
    assert socket.recv() == bytes([1, 2, 3])
    assert socket.recv() == bytes([4, 5, 6])
    assert socket.messages == []
    assert h.of_type(AckReceived) == []  # an ACK the *server* sends
    socket.close()


def test_socketio_message_should_close_the_connection_upon_invalid_format_unknown_packet_type() -> (
    None
):
    h = SocketHarness()
    socket, eio_sid, sid = init_socketio_connection(h)
    socket.send("4abc")
    assert_closed_by_server(socket)
    assert h.of_type(Disconnected) == [
        Disconnected(sid, "/", DisconnectReason.PARSE_ERROR, "unknown packet type 'a'")
    ]
    assert h.closed_reason(eio_sid) == CloseReason.SERVER_CLOSE


def test_socketio_message_should_close_the_connection_upon_invalid_format_invalid_payload_format() -> (  # noqa: E501
    None
):
    h = SocketHarness()
    socket, _, sid = init_socketio_connection(h)
    socket.send("42{}")
    assert_closed_by_server(socket)
    (gone,) = h.of_type(Disconnected)
    assert (gone.sid, gone.reason) == (sid, DisconnectReason.PARSE_ERROR)
    assert h.of_type(EventReceived) == []


def test_socketio_message_should_close_the_connection_upon_invalid_format_invalid_ack_id() -> None:
    h = SocketHarness()
    socket, _, sid = init_socketio_connection(h)
    socket.send('42abc["message-with-ack",1,"2",{"3":[false]}]')
    assert_closed_by_server(socket)
    (gone,) = h.of_type(Disconnected)
    assert (gone.sid, gone.reason) == (sid, DisconnectReason.PARSE_ERROR)
    assert h.of_type(EventReceived) == []
    assert socket.messages == []  # no ack went out


# == Beyond the suite ====================================================================


def test_connect_timeout_does_not_fire_once_a_namespace_is_joined() -> None:
    h = SocketHarness()
    socket, eio_sid, _ = init_socketio_connection(h)
    for _ in range(5):  # 1.5 s of answered pings
        h.clock.advance(PING_INTERVAL)
        assert socket.recv() == "2"
        socket.send("3")
    assert socket.open
    assert h.closed_reason(eio_sid) is None


def test_connect_timeout_over_long_polling() -> None:
    h = SocketHarness()
    sid = init_long_polling_session(h)
    for _ in range(3):
        poll = h.get(url(f"EIO=4&transport=polling&sid={sid}"))
        h.clock.advance(PING_INTERVAL)
        assert poll.response.body == b"2"
        h.post(url(f"EIO=4&transport=polling&sid={sid}"), "3")
    poll = h.get(url(f"EIO=4&transport=polling&sid={sid}"))
    assert poll.pending
    h.clock.advance_to(CONNECT_TIMEOUT)
    assert poll.response.body == b"1"  # the waiting GET carries the close packet
    assert h.clock.fired[-1] == CONNECT_TIMEOUT
    assert h.closed_reason(sid) == CloseReason.SERVER_CLOSE
    assert h.get(url(f"EIO=4&transport=polling&sid={sid}")).response.status == 400


def test_sample_session_over_long_polling() -> None:
    """protocol.md 2.11 with the reference app (no recovery, so no ``pid``)."""
    h = SocketHarness()
    handshake = h.get(url("EIO=4&transport=polling")).response.text
    value = json.loads(handshake[1:])
    assert set(value) == HANDSHAKE_KEYS
    sid = value["sid"]
    push = h.post(url(f"EIO=4&transport=polling&sid={sid}"), '40\x1e40/custom,{"a":1}')
    assert push.response.body == b"ok"
    body = h.get(url(f"EIO=4&transport=polling&sid={sid}")).response.text
    root_reply, root_auth, custom_reply, custom_auth = body.split("\x1e")
    root_sid = sio_handshake(root_reply, "40")["sid"]
    assert root_auth == '42["auth",{}]'
    custom_sid = sio_handshake(custom_reply, "40/custom,")["sid"]
    assert custom_auth == '42/custom,["auth",{"a":1}]'
    assert len({root_sid, custom_sid, sid}) == 3
    # A binary event: the attachment ``01 02`` travels as ``bAQI=``, both ways.
    push = h.post(
        url(f"EIO=4&transport=polling&sid={sid}"), f'451-["message","world",{PH0}]\x1ebAQI='
    )
    assert push.response.body == b"ok"
    body = h.get(url(f"EIO=4&transport=polling&sid={sid}")).response.text
    assert body == f'451-["message-back","world",{PH0}]\x1ebAQI='
    assert h.of_type(EventReceived) == [
        EventReceived(root_sid, "/", "message", ["world", b"\x01\x02"], None)
    ]
