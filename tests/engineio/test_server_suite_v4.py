"""The official Engine.IO v4 test suite (protocol.md 3.3 table A), replayed byte for byte.

One test per ``it(...)`` of ``docs/engine.io-protocol/v4-test-suite/test-suite.js``,
named after its describe path, against the suite's reference configuration
(pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1e6, cors ``*``), driven
through :class:`WireServer` with a fake clock.  Every test runs twice: with
v3 disabled (the v4 suite's reference server) and with ``allow_eio3=True``
(the configuration :mod:`test_server_suite_v3` uses), which shows that one
configuration passes both suites -- the JS server cannot, because it maps a
missing/garbage ``EIO`` to v3 (protocol.md 3.2).
"""

from __future__ import annotations

import json

import pytest

from socketio_proto.engineio.config import EngineConfig
from tests.support.wire_client import (
    SUITE_CONFIG,
    SUITE_CONFIG_V3,
    WireHarness,
    WsClient,
    check_suite_open_packet,
)

PING_INTERVAL = 0.3
PING_TIMEOUT = 0.2


@pytest.fixture(params=[SUITE_CONFIG, SUITE_CONFIG_V3], ids=["v4-only", "v3-and-v4"])
def h(request: pytest.FixtureRequest) -> WireHarness:
    config = request.param
    assert isinstance(config, EngineConfig)
    return WireHarness(config)


def url(query: str) -> str:
    return f"/engine.io/?{query}"


def init_long_polling_session(h: WireHarness) -> str:
    """The suite's ``initLongPollingSession()``."""
    content = h.get(url("EIO=4&transport=polling")).response.text
    sid = json.loads(content[1:])["sid"]
    assert isinstance(sid, str)
    return sid


def assert_closed_without_session(ws: WsClient) -> None:
    """The suite's ``await waitFor(socket, "close")`` for a refused WebSocket."""
    assert not ws.accepted
    assert ws.rejected is not None
    assert ws.rejected.status == 400
    assert ws.tcp_closed


# -- handshake -------------------------------------------------------------------------


def test_handshake_http_long_polling_successfully_opens_a_session(h: WireHarness) -> None:
    response = h.get(url("EIO=4&transport=polling")).response
    assert response.status == 200
    content = response.text
    value = check_suite_open_packet(content, upgrades=["websocket"])
    # The body is the bare open packet, nothing else.
    assert content == "0" + json.dumps(value, separators=(",", ":"))


def test_handshake_http_long_polling_fails_with_an_invalid_eio_query_parameter(
    h: WireHarness,
) -> None:
    response = h.get(url("transport=polling")).response
    assert response.status == 400
    assert response.json() == {"code": 5, "message": "Unsupported protocol version"}
    response2 = h.get(url("EIO=abc&transport=polling")).response
    assert response2.status == 400
    assert response2.json() == {"code": 5, "message": "Unsupported protocol version"}
    assert h.engine.sessions == frozenset()


def test_handshake_http_long_polling_fails_with_an_invalid_transport_query_parameter(
    h: WireHarness,
) -> None:
    response = h.get(url("EIO=4")).response
    assert response.status == 400
    assert response.json() == {"code": 0, "message": "Transport unknown"}
    response2 = h.get(url("EIO=4&transport=abc")).response
    assert response2.status == 400
    assert response2.json() == {"code": 0, "message": "Transport unknown"}


def test_handshake_http_long_polling_fails_with_an_invalid_request_method(
    h: WireHarness,
) -> None:
    response = h.request("POST", url("EIO=4&transport=polling")).response
    assert response.status == 400
    assert response.json() == {"code": 2, "message": "Bad handshake method"}
    response2 = h.request("PUT", url("EIO=4&transport=polling")).response
    assert response2.status == 400
    assert response2.json() == {"code": 2, "message": "Bad handshake method"}
    assert h.engine.sessions == frozenset()


def test_handshake_websocket_successfully_opens_a_session(h: WireHarness) -> None:
    ws = h.websocket(url("EIO=4&transport=websocket"))
    assert ws.accepted
    data = ws.recv()
    assert isinstance(data, str)
    check_suite_open_packet(data, upgrades=[])
    assert ws.messages == []  # nothing else was sent
    ws.close()
    assert ws.close_code == 1000
    assert h.engine.sessions == frozenset()


def test_handshake_websocket_fails_with_an_invalid_eio_query_parameter(h: WireHarness) -> None:
    socket = h.websocket(url("transport=websocket"))
    assert_closed_without_session(socket)
    socket2 = h.websocket(url("EIO=abc&transport=websocket"))
    assert_closed_without_session(socket2)
    assert socket2.rejected is not None
    assert socket2.rejected.json() == {"code": 5, "message": "Unsupported protocol version"}
    assert h.engine.sessions == frozenset()


def test_handshake_websocket_fails_with_an_invalid_transport_query_parameter(
    h: WireHarness,
) -> None:
    socket = h.websocket(url("EIO=4"))
    assert_closed_without_session(socket)
    socket2 = h.websocket(url("EIO=4&transport=abc"))
    assert_closed_without_session(socket2)
    assert socket2.rejected is not None
    assert socket2.rejected.json() == {"code": 0, "message": "Transport unknown"}


# -- message ---------------------------------------------------------------------------


def test_message_http_long_polling_sends_and_receives_a_payload_containing_one_plain_text_packet(
    h: WireHarness,
) -> None:
    sid = init_long_polling_session(h)
    push = h.post(url(f"EIO=4&transport=polling&sid={sid}"), "4hello").response
    assert push.status == 200
    assert push.body == b"ok"
    poll = h.get(url(f"EIO=4&transport=polling&sid={sid}")).response
    assert poll.status == 200
    assert poll.body == b"4hello"


def test_message_http_long_polling_sends_and_receives_a_payload_containing_several_plain_text_packets(  # noqa: E501
    h: WireHarness,
) -> None:
    sid = init_long_polling_session(h)
    push = h.post(url(f"EIO=4&transport=polling&sid={sid}"), "4test1\x1e4test2\x1e4test3")
    assert push.response.status == 200
    assert push.response.body == b"ok"
    poll = h.get(url(f"EIO=4&transport=polling&sid={sid}")).response
    assert poll.status == 200
    assert poll.body == b"4test1\x1e4test2\x1e4test3"  # one GET carries all three


def test_message_http_long_polling_sends_and_receives_a_payload_containing_plain_text_and_binary_packets(  # noqa: E501
    h: WireHarness,
) -> None:
    sid = init_long_polling_session(h)
    push = h.post(url(f"EIO=4&transport=polling&sid={sid}"), "4hello\x1ebAQIDBA==")
    assert push.response.status == 200
    assert push.response.body == b"ok"
    assert h.received(sid) == ["hello", b"\x01\x02\x03\x04"]
    poll = h.get(url(f"EIO=4&transport=polling&sid={sid}")).response
    assert poll.status == 200
    assert poll.body == b"4hello\x1ebAQIDBA=="


def test_message_http_long_polling_closes_the_session_upon_invalid_packet_format(
    h: WireHarness,
) -> None:
    sid = init_long_polling_session(h)
    push = h.post(url(f"EIO=4&transport=polling&sid={sid}"), "abc").response
    assert push.status == 400  # the suite tolerates 200 too; we follow the [Recommend]
    poll = h.get(url(f"EIO=4&transport=polling&sid={sid}")).response
    assert poll.status == 400
    assert poll.json() == {"code": 1, "message": "Session ID unknown"}
    assert h.closed_reason(sid) == "parse error"


def test_message_http_long_polling_closes_the_session_upon_duplicate_poll_requests(
    h: WireHarness,
) -> None:
    sid = init_long_polling_session(h)
    first = h.get(url(f"EIO=4&transport=polling&sid={sid}"))
    assert first.pending
    h.clock.advance(0.005)
    second = h.get(url(f"EIO=4&transport=polling&sid={sid}&t=burst"))
    assert first.response.status == 200
    assert first.response.body == b"1"
    assert second.response.status in (400, 500)
    later = h.get(url(f"EIO=4&transport=polling&sid={sid}")).response
    assert later.status == 400
    assert h.closed_reason(sid) == "transport error"


def test_message_http_long_polling_closes_the_session_upon_cancelled_polling_request(
    h: WireHarness,
) -> None:
    sid = init_long_polling_session(h)
    cancelled = h.get(url(f"EIO=4&transport=polling&sid={sid}"))
    h.clock.advance(0.005)
    assert cancelled.pending
    cancelled.eof()  # controller.abort()
    assert cancelled.tcp_closed
    assert cancelled.responses == []
    poll = h.get(url(f"EIO=4&transport=polling&sid={sid}")).response
    assert poll.status == 400
    assert h.closed_reason(sid) == "transport error"


def test_message_websocket_sends_and_receives_a_plain_text_packet(h: WireHarness) -> None:
    socket = h.websocket(url("EIO=4&transport=websocket"))
    assert socket.accepted
    assert isinstance(socket.recv(), str)  # handshake
    socket.send("4hello")
    assert socket.recv() == "4hello"
    socket.close()


def test_message_websocket_sends_and_receives_a_binary_packet(h: WireHarness) -> None:
    socket = h.websocket(url("EIO=4&transport=websocket"))
    socket.recv()  # handshake
    socket.send(bytes([1, 2, 3, 4]))
    assert socket.recv() == bytes([1, 2, 3, 4])  # a binary frame, no type byte
    socket.close()


def test_message_websocket_closes_the_session_upon_invalid_packet_format(h: WireHarness) -> None:
    socket, sid = h.open_websocket()
    socket.send("abc")
    assert socket.close_code is not None
    assert socket.tcp_closed
    assert h.closed_reason(sid) == "parse error"


# -- heartbeat -------------------------------------------------------------------------


def test_heartbeat_http_long_polling_sends_ping_pong_packets(h: WireHarness) -> None:
    sid = init_long_polling_session(h)
    for _ in range(3):
        started = h.now
        poll = h.get(url(f"EIO=4&transport=polling&sid={sid}"))
        assert poll.pending
        h.clock.advance(PING_INTERVAL)
        assert h.clock.fired[-1] == started + PING_INTERVAL
        assert poll.response.status == 200
        assert poll.response.body == b"2"  # exactly the ping, nothing else queued
        push = h.post(url(f"EIO=4&transport=polling&sid={sid}"), "3").response
        assert push.status == 200
    assert h.closed_reason(sid) is None


def test_heartbeat_http_long_polling_closes_the_session_upon_ping_timeout(
    h: WireHarness,
) -> None:
    sid = init_long_polling_session(h)
    h.clock.advance(PING_INTERVAL + PING_TIMEOUT)  # sleep(500), no slack
    poll = h.get(url(f"EIO=4&transport=polling&sid={sid}")).response
    assert poll.status == 400
    assert h.closed_reason(sid) == "ping timeout"


def test_heartbeat_websocket_sends_ping_pong_packets(h: WireHarness) -> None:
    socket = h.websocket(url("EIO=4&transport=websocket"))
    socket.recv()  # handshake
    for _ in range(3):
        h.clock.advance(PING_INTERVAL)
        assert socket.recv() == "2"
        socket.send("3")
    assert socket.open
    socket.close()


def test_heartbeat_websocket_closes_the_session_upon_ping_timeout(h: WireHarness) -> None:
    socket, sid = h.open_websocket()
    h.clock.advance(5.0)  # the suite's 5 s mocha timeout
    assert socket.messages == ["2"]
    assert socket.close_code is not None
    assert socket.tcp_closed
    assert h.closed_reason(sid) == "ping timeout"


# -- close -----------------------------------------------------------------------------


def test_close_http_long_polling_forcefully_closes_the_session(h: WireHarness) -> None:
    sid = init_long_polling_session(h)
    poll = h.get(url(f"EIO=4&transport=polling&sid={sid}"))
    push = h.post(url(f"EIO=4&transport=polling&sid={sid}"), "1")
    assert push.response.status == 200
    assert poll.response.status == 200
    assert poll.response.body == b"6"
    poll2 = h.get(url(f"EIO=4&transport=polling&sid={sid}")).response
    assert poll2.status == 400
    assert h.closed_reason(sid) == "forced close"


def test_close_websocket_forcefully_closes_the_session(h: WireHarness) -> None:
    socket, sid = h.open_websocket()
    socket.send("1")
    # We close at once on ``1`` ([Recommend]); the JS server waits for the ping timeout.
    assert socket.close_code == 1000
    assert socket.tcp_closed
    assert h.closed_reason(sid) == "forced close"


# -- upgrade ---------------------------------------------------------------------------


def test_upgrade_successfully_upgrades_from_http_long_polling_to_websocket(
    h: WireHarness,
) -> None:
    sid = init_long_polling_session(h)
    socket = h.websocket(url(f"EIO=4&transport=websocket&sid={sid}"))
    assert socket.accepted
    assert socket.messages == []
    socket.send("2probe")
    assert socket.recv() == "3probe"
    poll = h.get(url(f"EIO=4&transport=polling&sid={sid}")).response
    assert poll.status == 200
    assert poll.body == b"6"
    socket.send("5")
    socket.send("4hello")
    assert socket.recv() == "4hello"
    assert h.engine.transport(sid) == "websocket"


def test_upgrade_ignores_http_requests_with_same_sid_after_upgrade(h: WireHarness) -> None:
    sid = init_long_polling_session(h)
    socket = h.websocket(url(f"EIO=4&transport=websocket&sid={sid}"))
    socket.send("2probe")
    assert socket.recv() == "3probe"
    socket.send("5")
    poll = h.get(url(f"EIO=4&transport=polling&sid={sid}")).response
    assert poll.status == 400
    assert poll.json() == {"code": 3, "message": "Bad request"}
    socket.send("4hello")
    assert socket.recv() == "4hello"


def test_upgrade_ignores_websocket_connection_with_same_sid_after_upgrade(
    h: WireHarness,
) -> None:
    sid = init_long_polling_session(h)
    socket = h.websocket(url(f"EIO=4&transport=websocket&sid={sid}"))
    socket.send("2probe")
    assert socket.recv() == "3probe"
    socket.send("5")
    socket2 = h.websocket(url(f"EIO=4&transport=websocket&sid={sid}"))
    assert socket2.close_code is not None or socket2.rejected is not None
    assert socket2.tcp_closed
    socket.send("4hello")
    assert socket.recv() == "4hello"
    assert socket.open
