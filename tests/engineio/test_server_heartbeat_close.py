"""Heartbeats and closing, with exact timing (protocol.md 1.10, 1.11).

Times are floats from the fake clock; the server computes every deadline as
``now + interval``, and so do these tests, so "exactly" means float equality.
``math.nextafter(t, 0)`` is the last instant before ``t``.
"""

from __future__ import annotations

from math import nextafter

import pytest

from socketio_proto.engineio.config import EngineConfig
from socketio_proto.engineio.events import CloseReason, SessionClosed
from socketio_proto.engineio.server import SessionState
from tests.support.wire_client import SUITE_CONFIG_V3, WireHarness

INTERVAL = 0.3
TIMEOUT = 0.2
CONFIG = SUITE_CONFIG_V3  # pingInterval 300 ms, pingTimeout 200 ms, v3 and v4


def before(t: float) -> float:
    return nextafter(t, 0.0)


@pytest.fixture
def h() -> WireHarness:
    return WireHarness(CONFIG, echo=False)


# -- 1.10 Engine.IO 4: the server pings ------------------------------------------------


def test_v4_ping_at_exactly_ping_interval_over_polling(h: WireHarness) -> None:
    opened = h.now
    sid = h.open_polling()
    assert h.wire.next_deadline() == opened + INTERVAL
    poll = h.poll(sid)
    h.clock.advance_to(before(opened + INTERVAL))
    assert poll.pending
    h.clock.advance_to(opened + INTERVAL)
    assert h.clock.fired == [opened + INTERVAL]
    assert poll.response.body == b"2"


def test_v4_ping_at_exactly_ping_interval_over_websocket(h: WireHarness) -> None:
    opened = h.now
    ws, _ = h.open_websocket()
    h.clock.advance_to(before(opened + INTERVAL))
    assert ws.messages == []
    h.clock.advance_to(opened + INTERVAL)
    assert ws.messages == ["2"]


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_v4_closed_at_exactly_ping_timeout_after_the_ping(h: WireHarness, transport: str) -> None:
    opened = h.now
    if transport == "polling":
        sid = h.open_polling()
        h.poll(sid)
        h.clock.advance_to(opened + INTERVAL)
        poll = h.poll(sid)  # parked when the timeout fires
    else:
        ws, sid = h.open_websocket()
    pinged = opened + INTERVAL
    h.clock.advance_to(before(pinged + TIMEOUT))
    assert h.closed_reason(sid) is None
    assert h.engine.session_state(sid) is not SessionState.CLOSED
    h.clock.advance_to(pinged + TIMEOUT)
    assert h.clock.fired == [pinged, pinged + TIMEOUT]
    assert h.closed_reason(sid) == "ping timeout"
    if transport == "polling":
        assert poll.response.body == b"1"  # the pending GET carries the close
        assert h.poll(sid).response.status == 400
    else:
        assert ws.close_code == 1000
        assert ws.tcp_closed
        assert ws.messages == ["2"]  # no ``1`` packet on a WebSocket
    assert h.wire.next_deadline() is None


def test_v4_pong_restarts_the_interval(h: WireHarness) -> None:
    ws, sid = h.open_websocket()
    h.clock.advance_to(0.3)
    h.clock.advance_to(0.35)
    ws.send("3")
    assert h.wire.next_deadline() == 0.35 + INTERVAL
    h.clock.advance_to(before(0.35 + INTERVAL))
    assert ws.messages == ["2"]
    h.clock.advance_to(0.35 + INTERVAL)
    assert ws.messages == ["2", "2"]
    # Many cycles with late-ish pongs keep the session alive indefinitely.
    for _ in range(20):
        h.clock.advance(0.19)
        ws.send("3")
        h.clock.advance(INTERVAL)
        assert ws.messages[-1] == "2"
    assert h.closed_reason(sid) is None


def test_v4_unsolicited_pongs_are_ignored(h: WireHarness) -> None:
    sid = h.open_polling()
    h.clock.advance_to(0.1)
    assert h.send_post(sid, "3\x1e3").response.body == b"ok"
    assert h.wire.next_deadline() == 0.3  # the ping is not moved
    poll = h.poll(sid)
    h.clock.advance_to(0.3)
    assert poll.response.body == b"2"
    h.clock.advance_to(0.35)
    h.send_post(sid, "3")
    assert h.wire.next_deadline() == 0.35 + INTERVAL
    h.clock.advance_to(0.4)
    h.send_post(sid, "3")  # a duplicate pong: ignored
    assert h.wire.next_deadline() == 0.35 + INTERVAL
    assert h.closed_reason(sid) is None


@pytest.mark.parametrize("packet", ["2", "2probe", "2x"])
def test_v4_client_ping_closes_over_polling(h: WireHarness, packet: str) -> None:
    sid = h.open_polling()
    poll = h.poll(sid)
    assert h.send_post(sid, packet).response.body == b"ok"
    assert poll.response.body == b"1"
    assert h.closed_reason(sid) == "transport error"


@pytest.mark.parametrize("packet", ["2", "2probe"])
def test_v4_client_ping_closes_over_websocket(h: WireHarness, packet: str) -> None:
    ws, sid = h.open_websocket()
    ws.send(packet)
    assert ws.close_code == 1000
    assert ws.messages == []  # no pong, no 3probe on a WebSocket-only session
    assert h.closed_reason(sid) == "transport error"


def test_v4_grace_once_per_cycle(h: WireHarness) -> None:
    ws, sid = h.open_websocket()
    ws.send("4before the ping")  # no pong outstanding: changes nothing
    assert h.wire.next_deadline() == 0.3
    h.clock.advance_to(0.3)
    assert ws.messages == ["2"]
    h.clock.advance_to(0.45)
    ws.send("4busy")  # first packet while waiting: the pong timeout restarts
    assert h.wire.next_deadline() == 0.45 + TIMEOUT
    h.clock.advance_to(0.6)
    ws.send("4busier")  # second one in the same cycle: no further grace
    assert h.wire.next_deadline() == 0.45 + TIMEOUT
    h.clock.advance_to(before(0.45 + TIMEOUT))
    assert h.closed_reason(sid) is None
    h.clock.advance_to(0.45 + TIMEOUT)
    assert h.closed_reason(sid) == "ping timeout"
    assert h.received(sid) == ["before the ping", "busy", "busier"]


def test_v4_grace_is_renewed_every_cycle(h: WireHarness) -> None:
    ws, sid = h.open_websocket()
    h.clock.advance_to(0.3)
    h.clock.advance_to(0.4)
    ws.send("4a")  # grace in cycle 1
    ws.send("3")
    assert h.wire.next_deadline() == 0.4 + INTERVAL
    h.clock.advance_to(0.4 + INTERVAL)
    assert ws.messages == ["2", "2"]
    h.clock.advance(0.1)
    ws.send("4b")  # grace again in cycle 2
    assert h.wire.next_deadline() == 0.4 + INTERVAL + 0.1 + TIMEOUT
    ws.send("3")
    assert h.closed_reason(sid) is None


# -- 1.10 Engine.IO 3: the client pings ------------------------------------------------


def test_v3_liveness_is_interval_plus_timeout_and_each_ping_rearms_it(h: WireHarness) -> None:
    sid = h.open_polling("EIO=3&transport=polling&b64=1")
    assert h.wire.next_deadline() == 0.0 + INTERVAL + TIMEOUT
    h.clock.advance_to(0.4)
    assert h.send_post(sid, "1:2", eio=3).response.body == b"ok"
    assert h.poll(sid, 3).response.body == b"1:3"
    assert h.wire.next_deadline() == 0.4 + INTERVAL + TIMEOUT
    h.send_post(sid, "6:4hello", eio=3)  # messages do not extend liveness
    assert h.wire.next_deadline() == 0.4 + INTERVAL + TIMEOUT
    poll = h.poll(sid, 3)
    h.clock.advance_to(before(0.4 + INTERVAL + TIMEOUT))
    assert h.closed_reason(sid) is None
    h.clock.advance_to(0.4 + INTERVAL + TIMEOUT)
    assert h.closed_reason(sid) == "ping timeout"
    assert poll.response.body == b"1:1"


def test_v3_server_never_pings_and_answers_pings_without_data(h: WireHarness) -> None:
    ws, sid = h.open_websocket("EIO=3&transport=websocket")
    h.clock.advance(0.45)
    assert ws.messages == []
    ws.send("2probe")  # outside an upgrade: a plain pong (1.15)
    ws.send("2hello")
    assert ws.messages == ["3", "3"]
    h.clock.advance(0.45)
    assert h.closed_reason(sid) is None


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_v3_client_pong_closes(h: WireHarness, transport: str) -> None:
    if transport == "polling":
        sid = h.open_polling("EIO=3&transport=polling")
        assert h.send_post(sid, "1:3", eio=3).response.body == b"ok"
    else:
        ws, sid = h.open_websocket("EIO=3&transport=websocket")
        ws.send("3")
        assert ws.close_code == 1000
    assert h.closed_reason(sid) == "transport error"


# -- 1.11 closing ----------------------------------------------------------------------


def test_client_close_over_polling_with_a_pending_get(h: WireHarness) -> None:
    sid = h.open_polling()
    poll = h.poll(sid)
    post = h.send_post(sid, "4last\x1e1\x1e4ignored")
    assert post.response.body == b"ok"
    assert poll.response.body == b"6"
    assert h.received(sid) == ["last"]  # nothing after the close packet
    assert h.closed_reason(sid) == "forced close"


def test_client_close_over_polling_without_a_pending_get(h: WireHarness) -> None:
    sid = h.open_polling()
    assert h.send_post(sid, "1").response.body == b"ok"
    assert h.closed_reason(sid) == "forced close"
    assert h.poll(sid).response.json() == {"code": 1, "message": "Session ID unknown"}


@pytest.mark.parametrize("how", ["close frame", "eof", "reset"])
def test_client_closes_the_websocket(h: WireHarness, how: str) -> None:
    ws, sid = h.open_websocket()
    if how == "close frame":
        ws.close(1001)
        assert ws.close_code == 1001  # the server echoes the code and hangs up
        assert ws.tcp_closed
    elif how == "eof":
        ws.eof()
    else:
        ws.reset()
    assert h.closed_reason(sid) == "transport close"
    assert h.engine.sessions == frozenset()


def test_client_close_packet_over_websocket_closes_at_once(h: WireHarness) -> None:
    ws, sid = h.open_websocket()
    ws.send("1")
    assert ws.close_code == 1000
    assert h.closed_reason(sid) == "forced close"


def test_server_close_of_a_polling_session_with_a_pending_get(h: WireHarness) -> None:
    sid = h.open_polling()
    poll = h.poll(sid)
    h.engine.send(sid, "bye")
    h.engine.close(sid, h.now)
    h.pump()
    assert poll.response.body == b"4bye\x1e1"  # buffered packets first, then the close
    assert h.closed_reason(sid) == "server close"
    assert h.poll(sid).response.status == 400


def test_server_close_of_a_polling_session_without_a_pending_get_waits_for_one() -> None:
    h = WireHarness(EngineConfig(ping_interval=0.3, ping_timeout=0.2, close_timeout=5.0))
    sid = h.open_polling()
    h.engine.send(sid, "bye")
    h.engine.close(sid, h.now)
    h.pump()
    assert h.engine.session_state(sid) is SessionState.CLOSING
    assert h.closed_reason(sid) is None
    assert not h.engine.send(sid, "too late")  # dropped while closing
    assert h.send_post(sid, "4ignored").response.body == b"ok"
    assert h.received(sid) == []
    h.clock.advance(4.0)  # no ping, no ping timeout while closing
    assert h.closed_reason(sid) is None
    assert h.poll(sid).response.body == b"4bye\x1e1"
    assert h.closed_reason(sid) == "server close"


def test_server_close_of_a_polling_session_times_out_after_close_timeout() -> None:
    h = WireHarness(EngineConfig(close_timeout=5.0))
    sid = h.open_polling()
    h.clock.advance_to(1.0)
    h.engine.close(sid, h.now)
    h.engine.close(sid, h.now)  # idempotent
    h.pump()
    h.clock.advance_to(before(1.0 + 5.0))
    assert h.closed_reason(sid) is None
    h.clock.advance_to(1.0 + 5.0)
    assert h.clock.fired == [1.0 + 5.0]
    assert h.closed_reason(sid) == "server close"
    assert h.poll(sid).response.json() == {"code": 1, "message": "Session ID unknown"}


def test_server_close_of_a_websocket_session_flushes_then_closes_without_a_packet(
    h: WireHarness,
) -> None:
    ws, sid = h.open_websocket()
    h.engine.send(sid, "bye")
    h.engine.close(sid, h.now)
    h.pump()
    assert ws.messages == ["4bye"]  # no ``1``
    assert ws.close_code == 1000
    assert ws.tcp_closed
    assert h.closed_reason(sid) == "server close"


def test_close_all(h: WireHarness) -> None:
    polling = h.open_polling()
    poll = h.poll(polling)
    ws, ws_sid = h.open_websocket()
    h.engine.close_all(h.now)
    h.pump()
    assert poll.response.body == b"1"
    assert ws.close_code == 1000
    assert h.closed_reason(polling) == h.closed_reason(ws_sid) == "server close"


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ("ping timeout", "ping timeout"),
        ("parse error", "parse error"),
        ("duplicate get", "transport error"),
        ("heartbeat direction", "transport error"),
        ("client close", "forced close"),
        ("server close", "server close"),
    ],
)
def test_close_reasons_are_reported_once_and_the_pending_get_gets_close(
    h: WireHarness, action: str, reason: str
) -> None:
    sid = h.open_polling()
    poll = h.poll(sid)
    if action == "ping timeout":
        h.clock.advance(INTERVAL)
        poll = h.poll(sid)
        h.clock.advance(TIMEOUT)
    elif action == "parse error":
        h.send_post(sid, "x")
    elif action == "duplicate get":
        h.poll(sid)
    elif action == "heartbeat direction":
        h.send_post(sid, "2")
    elif action == "client close":
        h.send_post(sid, "1")
    else:
        h.engine.close(sid, h.now)
        h.pump()
    closed = [e for e in h.events if isinstance(e, SessionClosed)]
    assert closed == [SessionClosed(sid, CloseReason(reason))]
    assert poll.response.body == (b"6" if action == "client close" else b"1")
    h.clock.advance(60.0)
    assert [e for e in h.events if isinstance(e, SessionClosed)] == closed
    assert h.wire.next_deadline() is None


# -- slow consumers ------------------------------------------------------------------------


def test_a_polling_client_that_stops_polling_is_closed_when_its_backlog_is_full() -> None:
    h = WireHarness(EngineConfig(max_queued_packets=5), echo=False)
    sid = h.open_polling()
    for n in range(5):
        assert h.engine.send(sid, f"m{n}")
    assert h.engine.session_state(sid) is SessionState.POLLING
    assert not h.engine.send(sid, "one too many")
    h.pump()
    closed = [e for e in h.events if isinstance(e, SessionClosed)]
    assert closed == [SessionClosed(sid, CloseReason.TRANSPORT_ERROR, "slow consumer")]
    assert h.engine.session_state(sid) is SessionState.CLOSED


def test_a_websocket_session_is_not_bounded_by_the_polling_backlog() -> None:
    h = WireHarness(EngineConfig(max_queued_packets=5), echo=False)
    ws, sid = h.open_websocket()
    for n in range(50):  # one burst, flushed at once: the socket buffer is the adapter's
        assert h.engine.send(sid, f"m{n}")
    h.pump()
    assert ws.messages == [f"4m{n}" for n in range(50)]
    assert not [e for e in h.events if isinstance(e, SessionClosed)]
