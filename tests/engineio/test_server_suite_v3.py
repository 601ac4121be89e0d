"""The official Engine.IO v3 test suite (protocol.md 3.3 table B), replayed byte for byte.

One test per ``it(...)`` of ``docs/engine.io-protocol/v3-test-suite/test-suite.js``
against the suite's server: pingInterval 300 ms, pingTimeout 200 ms,
maxPayload 1e6, cors ``*`` and ``allow_eio3=True`` -- the very configuration
under which :mod:`test_server_suite_v4` also passes (its ``v3-and-v4`` runs).
Sessions are opened with ``&b64=1`` like the suite's ``initLongPollingSession()``,
except in the "(binary)" test.
"""

from __future__ import annotations

import json

import pytest

from tests.support.wire_client import SUITE_CONFIG_V3, WireHarness, WsClient

PING_INTERVAL = 0.3
PING_TIMEOUT = 0.2


@pytest.fixture
def h() -> WireHarness:
    return WireHarness(SUITE_CONFIG_V3)


def url(query: str) -> str:
    return f"/engine.io/?{query}"


def decode_payload(payload: str) -> tuple[str, str]:
    """The suite's helper: split at the first colon."""
    length, _, packet = payload.partition(":")
    return length, packet


def init_long_polling_session(h: WireHarness, supports_binary: bool = False) -> str:
    response = h.get(url("EIO=3&transport=polling" + ("" if supports_binary else "&b64=1")))
    _, content = decode_payload(response.response.text)
    sid = json.loads(content[1:])["sid"]
    assert isinstance(sid, str)
    return sid


def assert_refused(ws: WsClient) -> None:
    assert not ws.accepted
    assert ws.rejected is not None
    assert ws.rejected.status == 400
    assert ws.tcp_closed


# -- handshake -------------------------------------------------------------------------


def test_handshake_http_long_polling_successfully_opens_a_session(h: WireHarness) -> None:
    response = h.get(url("EIO=3&transport=polling")).response
    assert response.status == 200
    length, content = decode_payload(response.text)
    assert length == str(len(content))  # ASCII: JS length == Python length
    assert content.startswith("0")
    value = json.loads(content[1:])
    assert isinstance(value["sid"], str)
    assert value["upgrades"] == ["websocket"]
    assert value["pingInterval"] == 300
    assert value["pingTimeout"] == 200
    assert value.get("maxPayload") in (None, 1000000)
    assert h.engine.revision(value["sid"]) == 3


def test_handshake_http_long_polling_fails_with_an_invalid_transport_query_parameter(
    h: WireHarness,
) -> None:
    response = h.get(url("EIO=3")).response
    assert response.status == 400
    assert response.json()["code"] == 0
    response2 = h.get(url("EIO=3&transport=abc")).response
    assert response2.status == 400
    assert response2.json()["code"] == 0


def test_handshake_http_long_polling_fails_with_an_invalid_request_method(h: WireHarness) -> None:
    response = h.request("POST", url("EIO=3&transport=polling")).response
    assert response.status == 400
    assert response.json() == {"code": 2, "message": "Bad handshake method"}


def test_handshake_websocket_successfully_opens_a_session(h: WireHarness) -> None:
    socket = h.websocket(url("EIO=3&transport=websocket"))
    data = socket.recv()
    assert isinstance(data, str)
    assert data.startswith("0")
    value = json.loads(data[1:])
    assert isinstance(value["sid"], str)
    assert value["upgrades"] == []
    assert value["pingInterval"] == 300
    assert value["pingTimeout"] == 200
    assert value.get("maxPayload") in (None, 1000000)
    assert h.engine.revision(value["sid"]) == 3
    socket.close()


def test_handshake_websocket_fails_with_an_invalid_eio_query_parameter(h: WireHarness) -> None:
    # The suite does not await these closes; we check them anyway.
    assert_refused(h.websocket(url("transport=websocket")))
    assert_refused(h.websocket(url("EIO=abc&transport=websocket")))
    assert h.engine.sessions == frozenset()


def test_handshake_websocket_fails_with_an_invalid_transport_query_parameter(
    h: WireHarness,
) -> None:
    assert_refused(h.websocket(url("EIO=3")))
    assert_refused(h.websocket(url("EIO=3&transport=abc")))
    assert h.engine.sessions == frozenset()


# -- message ---------------------------------------------------------------------------


def test_message_http_long_polling_sends_and_receives_a_payload_containing_one_plain_text_packet(
    h: WireHarness,
) -> None:
    sid = init_long_polling_session(h)
    push = h.post(url(f"EIO=3&transport=polling&sid={sid}"), "6:4hello").response
    assert push.status == 200
    assert push.body == b"ok"
    poll = h.get(url(f"EIO=3&transport=polling&sid={sid}")).response
    assert poll.status == 200
    assert poll.body == b"6:4hello"


def test_message_http_long_polling_sends_and_receives_a_payload_containing_several_plain_text_packets(  # noqa: E501
    h: WireHarness,
) -> None:
    sid = init_long_polling_session(h)
    push = h.post(url(f"EIO=3&transport=polling&sid={sid}"), "6:4test16:4test26:4test3")
    assert push.response.status == 200
    assert push.response.body == b"ok"
    poll = h.get(url(f"EIO=3&transport=polling&sid={sid}")).response
    assert poll.status == 200
    assert poll.body == b"6:4test16:4test26:4test3"


def test_message_http_long_polling_sends_and_receives_a_payload_containing_plain_text_and_binary_packets_base64_encoded(  # noqa: E501
    h: WireHarness,
) -> None:
    sid = init_long_polling_session(h)
    push = h.post(url(f"EIO=3&transport=polling&sid={sid}"), "6:4hello10:b4AQIDBA==")
    assert push.response.body == b"ok"
    assert h.received(sid) == ["hello", b"\x01\x02\x03\x04"]
    poll = h.get(url(f"EIO=3&transport=polling&sid={sid}")).response
    assert poll.status == 200
    assert poll.header("content-type") == "text/plain; charset=UTF-8"
    assert poll.body == b"6:4hello10:b4AQIDBA=="


def test_message_http_long_polling_sends_and_receives_a_payload_containing_plain_text_and_binary_packets_binary(  # noqa: E501
    h: WireHarness,
) -> None:
    sid = init_long_polling_session(h, supports_binary=True)
    push = h.post(url(f"EIO=3&transport=polling&sid={sid}"), "6:4hello10:b4AQIDBA==")
    assert push.response.status == 200
    assert push.response.body == b"ok"
    poll = h.get(url(f"EIO=3&transport=polling&sid={sid}")).response
    assert poll.status == 200
    assert poll.header("content-type") == "application/octet-stream"
    assert poll.body == bytes([0, 6, 255, 52, 104, 101, 108, 108, 111, 1, 5, 255, 4, 1, 2, 3, 4])


def test_message_http_long_polling_closes_the_session_upon_invalid_packet_format(
    h: WireHarness,
) -> None:
    sid = init_long_polling_session(h)
    push = h.post(url(f"EIO=3&transport=polling&sid={sid}"), "abc").response
    assert push.status == 400
    poll = h.get(url(f"EIO=3&transport=polling&sid={sid}")).response
    assert poll.status == 400
    assert h.closed_reason(sid) == "parse error"


def test_message_http_long_polling_closes_the_session_upon_duplicate_poll_requests(
    h: WireHarness,
) -> None:
    """``it.skip`` in the suite; it would expect ``1:1``, then 400/500, then 500.

    We answer the later GET with 400 code 1 (the session is gone), as in v4.
    """
    sid = init_long_polling_session(h)
    first = h.get(url(f"EIO=3&transport=polling&sid={sid}"))
    h.clock.advance(0.005)
    second = h.get(url(f"EIO=3&transport=polling&sid={sid}&t=burst"))
    assert first.response.status == 200
    assert first.response.body == b"1:1"
    assert second.response.status in (400, 500)
    later = h.get(url(f"EIO=3&transport=polling&sid={sid}")).response
    assert later.status == 400
    assert later.json() == {"code": 1, "message": "Session ID unknown"}


def test_message_websocket_sends_and_receives_a_plain_text_packet(h: WireHarness) -> None:
    socket = h.websocket(url("EIO=3&transport=websocket"))
    assert socket.accepted
    socket.recv()  # handshake
    socket.send("4hello")
    assert socket.recv() == "4hello"
    socket.close()


def test_message_websocket_sends_and_receives_a_binary_packet(h: WireHarness) -> None:
    socket, sid = h.open_websocket("EIO=3&transport=websocket")
    socket.send(bytes([4, 1, 2, 3, 4]))
    assert h.received(sid) == [b"\x01\x02\x03\x04"]
    assert socket.recv() == bytes([4, 1, 2, 3, 4])  # type byte + data
    socket.close()


def test_message_websocket_closes_the_session_upon_invalid_packet_format(h: WireHarness) -> None:
    socket, sid = h.open_websocket("EIO=3&transport=websocket")
    socket.send("abc")
    assert socket.close_code is not None
    assert socket.tcp_closed
    assert h.closed_reason(sid) == "parse error"


# -- heartbeat -------------------------------------------------------------------------


def test_heartbeat_http_long_polling_sends_ping_pong_packets(h: WireHarness) -> None:
    sid = init_long_polling_session(h)
    for _ in range(3):
        h.clock.advance(PING_INTERVAL)  # the v3 client pings every pingInterval
        push = h.post(url(f"EIO=3&transport=polling&sid={sid}"), "1:2").response
        assert push.status == 200
        poll = h.get(url(f"EIO=3&transport=polling&sid={sid}")).response
        assert poll.status == 200
        assert poll.body == b"1:3"
    assert h.closed_reason(sid) is None


def test_heartbeat_http_long_polling_closes_the_session_upon_ping_timeout(
    h: WireHarness,
) -> None:
    sid = init_long_polling_session(h)
    h.clock.advance(PING_INTERVAL + PING_TIMEOUT)
    push = h.post(url(f"EIO=3&transport=polling&sid={sid}"), "1:2").response
    assert push.status == 400
    assert h.closed_reason(sid) == "ping timeout"


def test_heartbeat_websocket_sends_ping_pong_packets(h: WireHarness) -> None:
    socket = h.websocket(url("EIO=3&transport=websocket"))
    socket.recv()  # handshake
    for _ in range(3):
        socket.send("2")
        assert socket.recv() == "3"
        h.clock.advance(PING_INTERVAL)
    assert socket.open
    socket.close()


def test_heartbeat_websocket_closes_the_session_upon_ping_timeout(h: WireHarness) -> None:
    socket, sid = h.open_websocket("EIO=3&transport=websocket")
    h.clock.advance(5.0)
    assert socket.messages == []  # a v3 server never pings
    assert socket.close_code is not None
    assert socket.tcp_closed
    assert h.closed_reason(sid) == "ping timeout"


# -- close -----------------------------------------------------------------------------


def test_close_http_long_polling_forcefully_closes_the_session(h: WireHarness) -> None:
    sid = init_long_polling_session(h)
    poll = h.get(url(f"EIO=3&transport=polling&sid={sid}"))
    push = h.post(url(f"EIO=3&transport=polling&sid={sid}"), "1:1")
    assert push.response.status == 200
    assert poll.response.status == 200
    assert poll.response.body == b"1:6"
    poll2 = h.get(url(f"EIO=3&transport=polling&sid={sid}")).response
    assert poll2.status == 400
    assert h.closed_reason(sid) == "forced close"


def test_close_websocket_forcefully_closes_the_session(h: WireHarness) -> None:
    socket, sid = h.open_websocket("EIO=3&transport=websocket")
    socket.send("1")
    assert socket.close_code == 1000
    assert socket.tcp_closed
    assert h.closed_reason(sid) == "forced close"


# -- upgrade ---------------------------------------------------------------------------


def test_upgrade_successfully_upgrades_from_http_long_polling_to_websocket(
    h: WireHarness,
) -> None:
    sid = init_long_polling_session(h)
    socket = h.websocket(url(f"EIO=3&transport=websocket&sid={sid}"))
    assert socket.accepted
    socket.send("2probe")
    assert socket.recv() == "3probe"
    poll = h.get(url(f"EIO=3&transport=polling&sid={sid}")).response
    assert poll.status == 200
    assert poll.body == b"1:6"
    socket.send("5")
    socket.send("4hello")
    assert socket.recv() == "4hello"


def test_upgrade_ignores_http_requests_with_same_sid_after_upgrade(h: WireHarness) -> None:
    sid = init_long_polling_session(h)
    socket = h.websocket(url(f"EIO=3&transport=websocket&sid={sid}"))
    socket.send("2probe")
    assert socket.recv() == "3probe"
    socket.send("5")
    poll = h.get(url(f"EIO=3&transport=polling&sid={sid}")).response
    assert poll.status == 400
    assert poll.json() == {"code": 3, "message": "Bad request"}
    socket.send("4hello")
    assert socket.recv() == "4hello"


def test_upgrade_ignores_websocket_connection_with_same_sid_after_upgrade(
    h: WireHarness,
) -> None:
    sid = init_long_polling_session(h)
    socket = h.websocket(url(f"EIO=3&transport=websocket&sid={sid}"))
    socket.send("2probe")
    assert socket.recv() == "3probe"
    socket.send("5")
    socket2 = h.websocket(url(f"EIO=3&transport=websocket&sid={sid}"))
    assert socket2.close_code is not None or socket2.rejected is not None
    assert socket2.tcp_closed
    socket.send("4hello")
    assert socket.recv() == "4hello"
    assert socket.open


# -- one configuration, both suites ----------------------------------------------------


def test_one_server_serves_v3_and_v4_sessions_side_by_side(h: WireHarness) -> None:
    """The v3 suite's server also passes the v4 suite (see test_server_suite_v4's
    ``v3-and-v4`` runs); here both revisions share one server and one clock."""
    v3 = init_long_polling_session(h)
    v4_response = h.get(url("EIO=4&transport=polling")).response
    v4 = json.loads(v4_response.text[1:])["sid"]
    assert h.engine.revision(v3) == 3
    assert h.engine.revision(v4) == 4
    assert h.post(url(f"EIO=3&transport=polling&sid={v3}"), "6:4hello").response.body == b"ok"
    assert h.post(url(f"EIO=4&transport=polling&sid={v4}"), "4hello").response.body == b"ok"
    assert h.get(url(f"EIO=3&transport=polling&sid={v3}")).response.body == b"6:4hello"
    assert h.get(url(f"EIO=4&transport=polling&sid={v4}")).response.body == b"4hello"
    # Neither revision's requests are accepted on the other's session.
    assert h.get(url(f"EIO=4&transport=polling&sid={v3}")).response.status == 400
    assert h.get(url(f"EIO=3&transport=polling&sid={v4}")).response.status == 400
    # Heartbeats run per revision: v4 is pinged at 300 ms, v3 only waits for pings.
    v4_poll = h.get(url(f"EIO=4&transport=polling&sid={v4}"))
    v3_poll = h.get(url(f"EIO=3&transport=polling&sid={v3}"))
    h.clock.advance(PING_INTERVAL)
    assert v4_poll.response.body == b"2"
    assert v3_poll.pending
    h.post(url(f"EIO=3&transport=polling&sid={v3}"), "1:2")
    assert v3_poll.response.body == b"1:3"
    h.post(url(f"EIO=4&transport=polling&sid={v4}"), "3")
    h.clock.advance(PING_TIMEOUT)
    assert h.closed_reason(v3) is None
    assert h.closed_reason(v4) is None
