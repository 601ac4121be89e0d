"""Engine.IO security regressions (protocol.md section 4), as raw bytes through the wire.

Each test names the advisory or hardening item it guards against.  The
server runs with the JS defaults that matter here (maxPayload 1e6).
"""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from socketio_proto.engineio.config import EngineConfig
from socketio_proto.engineio.events import CloseReason
from tests.support.wire_client import (
    HOST,
    SUITE_CONFIG,
    SUITE_CONFIG_V3,
    WireHarness,
    mask_frame,
)

LIMIT = 1_000_000
POLL4 = "EIO=4&transport=polling"
HANDSHAKE = f"GET /engine.io/?{POLL4} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()


def post_head(sid: str, extra: str) -> bytes:
    return (
        f"POST /engine.io/?{POLL4}&sid={sid} HTTP/1.1\r\nHost: {HOST}\r\n"
        f"Content-Type: text/plain;charset=UTF-8\r\n{extra}\r\n"
    ).encode()


# -- CVE-2020-36048: huge polling bodies -----------------------------------------------


def test_cve_2020_36048_declared_huge_body_is_413_before_any_of_it_is_read() -> None:
    h = WireHarness(SUITE_CONFIG, echo=False)
    sid = h.open_polling()
    client = h.http()
    client.send_raw(post_head(sid, f"Content-Length: {10**12}\r\n"), expect="POST")
    assert client.response.status == 413  # answered on the headers alone
    assert client.response.header("connection") == "close"
    assert client.tcp_closed
    client.send_raw(b"4" * 4096, expect=None)  # ignored: the connection is gone
    assert h.received(sid) == []
    assert h.closed_reason(sid) is None  # the session is kept
    assert h.send_post(sid, "4fine").response.body == b"ok"


def test_cve_2020_36048_streamed_body_is_413_as_soon_as_it_crosses_the_limit() -> None:
    h = WireHarness(SUITE_CONFIG, echo=False)
    sid = h.open_polling()
    client = h.http()
    client.send_raw(post_head(sid, "Transfer-Encoding: chunked\r\n"), expect="POST")
    chunk = b"a" * 65536
    sent = 0
    while not client.responses:
        client.send_raw(b"%x\r\n%s\r\n" % (len(chunk), chunk), expect=None)
        sent += len(chunk)
        assert sent <= LIMIT + len(chunk), "the server kept reading past the limit"
    assert sent > LIMIT
    assert client.response.status == 413
    assert client.tcp_closed
    assert h.closed_reason(sid) is None
    assert h.send_post(sid, "4fine").response.body == b"ok"
    assert h.received(sid) == ["fine"]


def test_body_exactly_at_the_limit_is_accepted() -> None:
    h = WireHarness(SUITE_CONFIG, echo=False)
    sid = h.open_polling()
    assert h.send_post(sid, "4" + "x" * (LIMIT - 1)).response.body == b"ok"
    assert h.received(sid) == ["x" * (LIMIT - 1)]


# -- CVE-2023-31125: transport=__proto__ (error code 0 is falsy) -----------------------

PROTOTYPE_NAMES = [
    "__proto__",
    "constructor",
    "prototype",
    "toString",
    "hasOwnProperty",
    "valueOf",
    "__defineGetter__",
    "webtransport",
]


@pytest.mark.parametrize("name", PROTOTYPE_NAMES)
def test_cve_2023_31125_prototype_transport_names_are_code_0(name: str) -> None:
    h = WireHarness(SUITE_CONFIG)
    sid = h.open_polling()
    for query in (f"EIO=4&transport={name}", f"EIO=4&transport={name}&sid={sid}"):
        response = h.get(h.path(query)).response
        assert response.status == 400
        assert response.json() == {"code": 0, "message": "Transport unknown"}
        ws = h.websocket(h.path(query))
        assert not ws.accepted
        assert ws.rejected is not None
        assert ws.rejected.status == 400
        assert ws.rejected.json() == {"code": 0, "message": "Transport unknown"}
        assert ws.tcp_closed
    assert h.engine.sessions == frozenset({sid})
    assert h.send_post(sid, "4still fine").response.body == b"ok"


@pytest.mark.parametrize("name", PROTOTYPE_NAMES[:-1])
def test_prototype_names_as_sid_and_eio(name: str) -> None:
    h = WireHarness(SUITE_CONFIG)
    response = h.get(h.path(f"{POLL4}&sid={name}")).response
    assert response.json() == {"code": 1, "message": "Session ID unknown"}
    ws = h.websocket(h.path(f"EIO=4&transport=websocket&sid={name}"))
    assert ws.rejected is not None
    assert ws.rejected.json()["code"] == 1
    response = h.get(h.path(f"EIO={name}&transport=polling")).response
    assert response.json() == {"code": 5, "message": "Unsupported protocol version"}


# -- CVE-2022-21676: invalid frame bytes right after the upgrade request ---------------


@pytest.mark.parametrize(
    "garbage",
    [
        b"test",  # 0x74: RSV1-3 set, reserved opcode
        b"\x00" * 8,  # unmasked continuation with nothing to continue
        b"\x81\x05hello",  # a valid frame shape, but unmasked (clients must mask)
        mask_frame(b"x", opcode=0x3),  # reserved data opcode
        mask_frame(b"x", opcode=0xB),  # reserved control opcode
        mask_frame(b"x" * 200, opcode=0x9),  # control frame over 125 bytes
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # a pipelined HTTP request
    ],
)
def test_cve_2022_21676_garbage_after_the_upgrade_closes_only_that_connection(
    garbage: bytes,
) -> None:
    h = WireHarness(SUITE_CONFIG)
    bystander, bystander_sid = h.open_websocket()
    polling = h.open_polling()
    ws = h.websocket(h.path("EIO=4&transport=websocket"), trailing=garbage)
    assert ws.accepted
    assert ws.close_code == 1002  # failed with a close frame, not just dropped
    assert ws.tcp_closed
    opened = [sid for sid in h.engine.sessions if sid not in (bystander_sid, polling)]
    assert opened == []  # the WebSocket-only session it opened is gone
    assert CloseReason.TRANSPORT_ERROR in h.counts.closed
    # A probe for a polling session: the probe dies, the session lives.
    probe = h.websocket(h.path(f"EIO=4&transport=websocket&sid={polling}"), trailing=garbage)
    assert probe.close_code == 1002
    assert h.engine.transport(polling) == "polling"
    assert h.send_post(polling, "4ok").response.body == b"ok"
    bystander.send("4still here")
    assert bystander.messages[-1] == "4still here"


def test_cve_2022_21676_a_declared_body_on_the_upgrade_request_is_not_read_as_frames() -> None:
    h = WireHarness(SUITE_CONFIG)
    raw = h.raw()
    raw.send(
        f"GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {HOST}\r\n"
        "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: 4\r\n\r\ntest".encode()
    )
    assert raw.received.startswith(b"HTTP/1.1 101 ")
    assert b"\r\n\r\n\x81" in raw.received  # then the open packet in a text frame
    raw.received.clear()
    raw.send(mask_frame(b"4hello"))
    assert raw.received == b"\x81\x064hello"  # the body was HTTP, the session works
    assert not raw.tcp_closed


@pytest.mark.parametrize("rsv", [0b100, 0b010, 0b001, 0b111])
def test_rsv_bits_without_an_extension_fail_the_websocket_with_1002(rsv: int) -> None:
    h = WireHarness(SUITE_CONFIG)
    ws, sid = h.open_websocket()
    ws.send_raw(mask_frame(b"4hello", rsv=rsv))
    assert ws.close_code == 1002
    assert ws.tcp_closed
    assert h.received(sid) == []
    assert h.closed_reason(sid) == "transport error"


def test_invalid_utf8_in_a_text_frame_fails_with_1007() -> None:
    h = WireHarness(SUITE_CONFIG)
    ws, sid = h.open_websocket()
    ws.send_raw(mask_frame(b"4\xc3\x28"))
    assert ws.close_code == 1007
    assert h.received(sid) == []


# -- oversized WebSocket messages, fragmented or not -----------------------------------


def test_websocket_message_over_max_payload_is_closed_with_1009() -> None:
    h = WireHarness(SUITE_CONFIG)
    ws, sid = h.open_websocket()
    ws.send(b"\x00" * LIMIT)  # exactly the limit: fine
    assert ws.recv() == b"\x00" * LIMIT
    ws.send(b"\x00" * (LIMIT + 1))
    assert ws.close_code == 1009
    assert h.closed_reason(sid) == "transport error"  # the wire layer cut it off


@pytest.mark.parametrize("kind", ["text", "binary"])
def test_fragmented_websocket_message_over_the_limit_is_closed_with_1009(kind: str) -> None:
    h = WireHarness(SUITE_CONFIG)
    ws, sid = h.open_websocket()
    part: str | bytes = "4" + "é" * 99_999 if kind == "text" else b"\x01" * 200_000
    # Each text fragment is 199 999 UTF-8 bytes (bytes, not characters, are counted).
    ws.send_fragments([part] * 10)
    assert ws.close_code == 1009
    assert ws.tcp_closed
    assert h.received(sid) == []
    assert h.closed_reason(sid) == "transport error"


def test_fragmented_message_within_the_limit_is_reassembled() -> None:
    h = WireHarness(SUITE_CONFIG)
    ws, sid = h.open_websocket()
    ws.send_fragments(["4ab", "c€", "d"])
    ws.ping(b"interleaved")  # control frames between fragments are fine
    ws.send_fragments([b"\x01", b"", b"\x02\x03"])
    assert h.received(sid) == ["abc€d", b"\x01\x02\x03"]
    assert ws.messages == ["4abc€d", b"\x01\x02\x03"]


def test_a_lying_frame_length_is_refused_from_its_header() -> None:
    # The header alone announces a message over the limit: the connection fails
    # with 1009 before a byte of the payload is buffered.
    h = WireHarness(SUITE_CONFIG)
    ws, sid = h.open_websocket()
    ws.send_raw(mask_frame(b"", opcode=0x2, declared_length=1 << 62))
    assert not ws.open
    assert ws.close_code == 1009
    assert h.closed_reason(sid) == "transport error"


def test_fragments_adding_up_past_the_limit_are_cut_at_the_limit() -> None:
    h = WireHarness(SUITE_CONFIG)
    ws, sid = h.open_websocket()
    chunk = b"\x00" * 65536
    sent = 0
    ws.send_raw(mask_frame(chunk, opcode=0x2, fin=False))
    while ws.open:
        ws.send_raw(mask_frame(chunk, opcode=0x0, fin=False))
        sent += len(chunk)
        assert sent <= LIMIT + len(chunk)
    assert ws.close_code == 1009
    assert h.closed_reason(sid) == "transport error"


def test_tiny_fragments_cost_no_more_memory_than_their_payload() -> None:
    """ws CVE-2026-45736 class: per-fragment overhead must not multiply memory."""
    h = WireHarness(SUITE_CONFIG, keep_events=False)
    ws, _ = h.open_websocket()
    count = 5_000
    frames = mask_frame(b"x", opcode=0x2, fin=False) + b"".join(
        mask_frame(b"x", opcode=0x0, fin=False) for _ in range(count)
    )
    gc.collect()
    tracemalloc.start()
    try:
        h.wire.receive_data(ws.conn_id, frames, h.now)
        buffered, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 5 001 payload bytes are buffered: a few bytes per fragment at most (an object
    # per fragment would cost ~40 each).
    assert buffered < 4 * count, buffered
    ws.send_raw(mask_frame(b"y", opcode=0x0, fin=True))
    assert ws.recv() == b"x" * (count + 1) + b"y"


# -- CVE-2026-48802: pong floods and unauthenticated handshakes ------------------------


def test_cve_2026_48802_pong_flood_over_polling_moves_nothing() -> None:
    h = WireHarness(SUITE_CONFIG, echo=False)
    sid = h.open_polling()
    for _ in range(10):
        h.clock.advance(0.01)
        assert h.send_post(sid, "\x1e".join(["3"] * 1000)).response.body == b"ok"
    assert len(h.engine._timers) == 1
    assert h.wire.next_deadline() == 0.3  # no pong moved the ping
    h.clock.advance_to(0.3)
    assert h.poll(sid).response.body == b"2"
    h.clock.advance(0.01)
    h.send_post(sid, "\x1e".join(["3"] * 1000))  # one real pong and 999 duplicates
    assert len(h.engine._timers) <= 2
    assert h.wire.next_deadline() == 0.3 + 0.01 + 0.3


def test_cve_2026_48802_pong_flood_keeps_one_timer_per_session() -> None:
    h = WireHarness(SUITE_CONFIG, echo=False)
    ws, _ = h.open_websocket()
    for _ in range(500):
        h.clock.advance(0.0001)
        ws.send("3")
    assert len(h.engine._timers) <= 2
    assert h.wire.next_deadline() == 0.3  # no pong moved the ping
    h.clock.advance_to(0.3)
    assert ws.messages == ["2"]
    for _ in range(500):  # one real pong, then a flood of duplicates
        h.clock.advance(0.0001)
        ws.send("3")
    assert len(h.engine._timers) <= 2
    assert h.wire.next_deadline() == 0.3 + 0.0001 + 0.3
    assert h.clock.fired.count(0.3) == 1
    assert ws.messages == ["2"]  # no extra pings either


def test_v3_ping_flood_keeps_one_timer_per_session() -> None:
    h = WireHarness(SUITE_CONFIG_V3, echo=False)
    ws, _ = h.open_websocket("EIO=3&transport=websocket")
    for _ in range(1000):
        h.clock.advance(0.0001)
        ws.send("2")
    assert len(h.engine._timers) <= 2
    assert len(ws.messages) == 1000  # each ping answered once, nothing more
    assert set(ws.messages) == {"3"}


def test_cve_2026_48802_ten_thousand_unauthenticated_handshakes_are_bounded_and_expire() -> None:
    h = WireHarness(SUITE_CONFIG, echo=False, keep_events=False)
    engine, wire = h.engine, h.wire
    client = h.raw()
    for _ in range(100):
        client.send(HANDSHAKE * 100)  # pipelined, 100 per write
        assert client.received.count(b"HTTP/1.1 200 ") == 100
        client.received.clear()
    assert len(engine.sessions) == h.counts.opened == 10_000
    assert len(engine._timers) == 10_000  # exactly one timer each
    assert len(wire._connections) == 1
    h.clock.advance_to(0.3)  # every session queues a ping nobody fetches
    assert len(engine._timers) == 10_000
    h.clock.advance_to(0.3 + 0.2)  # ... and is closed by the ping timeout
    assert h.clock.fired == [0.3, 0.5]
    assert h.counts.closed == {CloseReason.PING_TIMEOUT: 10_000}
    assert engine.sessions == frozenset()
    assert engine._timers == []
    assert engine._dirty == {}
    assert engine._get_owner == {}
    assert engine._ws_owner == {}
    assert wire.next_deadline() is None


def test_handshake_memory_is_small_per_session_and_returned_on_expiry() -> None:
    h = WireHarness(SUITE_CONFIG, echo=False, keep_events=False)
    client = h.raw()
    client.send(HANDSHAKE)  # warm caches
    h.clock.advance(0.5)
    client.received.clear()
    gc.collect()
    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        client.send(HANDSHAKE * 1000)
        client.received.clear()
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
        h.clock.advance(0.5)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert h.counts.opened == 1001
    per_session = (held - baseline) / 1000
    assert per_session < 2000, per_session  # ~430 bytes measured
    assert after - baseline < 100_000, after - baseline


# -- Origin header, pipelining, EOF ----------------------------------------------------


@pytest.mark.parametrize("origin", [b"http://a\x01b", b"http://a\x7fb", b"\x1b[31mred"])
def test_invalid_origin_header_characters_are_code_3(origin: bytes) -> None:
    h = WireHarness(SUITE_CONFIG)
    client = h.http()
    client.send_raw(
        b"GET /engine.io/?"
        + POLL4.encode()
        + b" HTTP/1.1\r\nHost: "
        + HOST.encode()
        + b"\r\nOrigin: "
        + origin
        + b"\r\n\r\n"
    )
    assert client.response.status == 400
    assert client.response.json() == {"code": 3, "message": "Bad request"}
    assert h.engine.sessions == frozenset()


def test_nul_in_a_header_is_refused_by_the_http_parser() -> None:
    h = WireHarness(SUITE_CONFIG)
    client = h.http()
    client.send_raw(
        f"GET /engine.io/?{POLL4} HTTP/1.1\r\nHost: {HOST}\r\n".encode() + b"Origin: a\x00b\r\n\r\n"
    )
    assert client.response.status == 400
    assert client.tcp_closed
    assert h.engine.sessions == frozenset()


def test_oversized_headers_are_refused() -> None:
    h = WireHarness(SUITE_CONFIG)
    client = h.http()
    headers = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(200))
    client.send_raw(f"GET /engine.io/?{POLL4} HTTP/1.1\r\nHost: {HOST}\r\n".encode() + headers)
    assert client.response.status == 431  # Request Header Fields Too Large
    assert client.tcp_closed
    assert h.engine.sessions == frozenset()


def test_pipelined_requests_are_answered_in_order() -> None:
    h = WireHarness(SUITE_CONFIG)
    client = h.http()
    client.pipeline([("GET", f"/engine.io/?{POLL4}", b"")] * 3)
    assert [r.status for r in client.responses] == [200, 200, 200]
    sids = {r.text for r in client.responses}
    assert len(sids) == 3
    sid = h.open_polling()
    target = f"/engine.io/?{POLL4}&sid={sid}"
    client.pipeline([("POST", target, b"4one"), ("GET", target, b""), ("POST", target, b"4two")])
    assert [r.body for r in client.responses[3:]] == [b"ok", b"4one", b"ok"]
    assert h.received(sid) == ["one", "two"]


def test_a_request_pipelined_behind_a_parked_get_waits_for_it() -> None:
    h = WireHarness(SUITE_CONFIG)
    sid = h.open_polling()
    target = f"/engine.io/?{POLL4}&sid={sid}"
    client = h.http()
    client.pipeline([("GET", target, b""), ("POST", target, b"4later")])
    assert client.responses == []  # HTTP/1.1 answers in order: the POST waits
    assert h.received(sid) == []
    h.clock.advance_to(0.3)  # the ping releases the GET, then the POST is read
    assert [r.body for r in client.responses] == [b"2", b"ok"]
    assert h.received(sid) == ["later"]
    assert h.poll(sid).response.body == b"4later"


def test_eof_while_a_get_is_parked_closes_the_session() -> None:
    h = WireHarness(SUITE_CONFIG)
    sid = h.open_polling()
    poll = h.poll(sid)
    poll.eof()
    assert poll.tcp_closed
    assert h.closed_reason(sid) == "transport error"
    assert h.engine.sessions == frozenset()
    assert h.wire._connections.get(poll.conn_id) is None


def test_cve_2022_41940_upgrade_on_another_path_then_reset() -> None:
    h = WireHarness(SUITE_CONFIG)
    ws = h.websocket("/not-engine-io/?EIO=4&transport=websocket")
    assert ws.rejected is not None
    assert ws.rejected.status == 404
    ws.reset()  # nothing left to crash on
    other = h.websocket("/engine.io/?EIO=4&transport=websocket")
    other.reset()  # reset right after the 101
    assert h.counts.closed == {CloseReason.TRANSPORT_CLOSE: 1}


def test_upgrade_header_without_websocket_is_refused() -> None:
    h = WireHarness(SUITE_CONFIG)
    client = h.http()
    client.send_raw(
        f"GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {HOST}\r\n"
        "Connection: Upgrade\r\nUpgrade: h2c\r\n\r\n".encode()
    )
    assert client.response.status == 400
    assert client.tcp_closed
    assert h.engine.sessions == frozenset()


def test_websocket_upgrade_with_bad_handshake_headers_is_refused() -> None:
    h = WireHarness(SUITE_CONFIG)
    client = h.http()
    client.send_raw(
        f"GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {HOST}\r\n"
        "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )  # no Sec-WebSocket-Key
    assert client.response.status == 400
    assert client.tcp_closed
    assert h.engine.sessions == frozenset()


def test_config_refuses_star_with_credentials() -> None:
    """CVE-2020-28481: never ``*`` with credentials."""
    with pytest.raises(ValueError, match="credentials"):
        EngineConfig(cors_allowed_origins="*", cors_credentials=True)
