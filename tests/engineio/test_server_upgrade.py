"""The polling -> WebSocket upgrade, byte for byte (protocol.md 1.9).

Probe (``2probe``/``3probe``), the noop that releases the parked GET, packets
sent during the probe leaving on polling, ``5`` flushing the buffer once on
the WebSocket, the upgrade timeout closing only the probe, other packets
aborting the probe, late polling (400 code 3), extra WebSockets closed, and
no packet lost, duplicated or reordered in either direction.
"""

from __future__ import annotations

from typing import Literal

import pytest

from socketio_proto.engineio.config import EngineConfig
from socketio_proto.engineio.events import SessionUpgraded
from socketio_proto.engineio.server import SessionState
from tests.support.wire_client import SUITE_CONFIG_V3, WireHarness, WsClient

S = SessionState
PROBE_CONFIG = EngineConfig(upgrade_timeout=1.0)


def start_probe(h: WireHarness, eio: Literal[3, 4] = 4) -> tuple[str, WsClient]:
    query = f"EIO={eio}&transport=polling" + ("&b64=1" if eio == 3 else "")
    sid = h.open_polling(query)
    ws = h.websocket(h.path(f"EIO={eio}&transport=websocket&sid={sid}"))
    assert ws.accepted
    assert ws.messages == []  # a probe gets no open packet
    assert h.engine.session_state(sid) is S.PROBING
    return sid, ws


def upgraded_events(h: WireHarness, sid: str) -> list[SessionUpgraded]:
    return [e for e in h.events if isinstance(e, SessionUpgraded) and e.sid == sid]


def test_probe_then_noop_releases_the_parked_get() -> None:
    h = WireHarness(PROBE_CONFIG)
    sid, ws = start_probe(h)
    poll = h.poll(sid)
    assert poll.pending  # opening the probe alone does not release it
    ws.send("2probe")
    assert ws.messages == ["3probe"]
    assert poll.response.status == 200
    assert poll.response.body == b"6"
    assert h.engine.session_state(sid) is S.UPGRADING
    # While upgrading, a new GET is answered at once (the client is pausing).
    assert h.poll(sid).response.body == b"6"
    ws.send("5")
    assert h.engine.session_state(sid) is S.WEBSOCKET
    assert upgraded_events(h, sid) == [SessionUpgraded(sid, "websocket")]


def test_the_parked_get_carries_queued_data_instead_of_a_noop() -> None:
    h = WireHarness(PROBE_CONFIG, echo=False)
    sid, ws = start_probe(h)
    poll = h.poll(sid)
    h.engine.send(sid, "queued")  # not drained yet when 2probe arrives
    h.wire.receive_data(ws.conn_id, ws.frame("2probe"), h.now)
    h.pump()
    assert ws.messages == ["3probe"]
    assert poll.response.body == b"4queued"


def test_packets_sent_during_the_probe_go_out_on_polling() -> None:
    h = WireHarness(PROBE_CONFIG, echo=False)
    sid, ws = start_probe(h)
    poll = h.poll(sid)
    h.engine.send(sid, "while probing")
    h.pump()
    assert poll.response.body == b"4while probing"
    ws.send("2probe")
    assert ws.messages == ["3probe"]
    h.engine.send(sid, "while upgrading")
    h.pump()
    assert ws.messages == ["3probe"]  # nothing on the WebSocket before 5
    assert h.poll(sid).response.body == b"4while upgrading"
    ws.send("5")
    assert ws.messages == ["3probe"]  # already delivered: not sent twice
    h.engine.send(sid, "after")
    h.pump()
    assert ws.messages == ["3probe", "4after"]


def test_post_during_the_probe_is_processed_normally() -> None:
    h = WireHarness(PROBE_CONFIG)
    sid, ws = start_probe(h)
    assert h.send_post(sid, "4a").response.body == b"ok"
    ws.send("2probe")
    assert h.send_post(sid, "4b").response.body == b"ok"
    assert h.received(sid) == ["a", "b"]
    # The echoes wait on polling while upgrading; a GET takes them.
    assert h.poll(sid).response.body == b"4a\x1e4b"


def test_upgrade_flushes_buffered_packets_once_on_the_websocket() -> None:
    h = WireHarness(PROBE_CONFIG, echo=False)
    sid, ws = start_probe(h)
    ws.send("2probe")
    h.engine.send(sid, "one")
    h.engine.send(sid, b"\x02")
    h.engine.send(sid, "three")
    h.pump()
    assert ws.messages == ["3probe"]
    ws.send("5")
    assert ws.messages == ["3probe", "4one", b"\x02", "4three"]
    assert h.poll(sid).response.status == 400  # and none of it is left for polling
    h.clock.advance(PROBE_CONFIG.ping_interval)
    assert ws.messages[-1] == "2"  # heartbeats move to the WebSocket too


def test_heartbeat_during_the_probe_stays_on_polling() -> None:
    h = WireHarness(EngineConfig(ping_interval=0.3, ping_timeout=0.2, upgrade_timeout=5.0))
    sid, ws = start_probe(h)
    poll = h.poll(sid)
    h.clock.advance(0.3)
    assert poll.response.body == b"2"
    assert ws.messages == []
    h.send_post(sid, "3")
    ws.send("2probe")
    h.clock.advance(0.3)
    assert h.poll(sid).response.body == b"2"  # ping queued while upgrading, sent on polling
    h.send_post(sid, "3")
    ws.send("5")
    h.clock.advance(0.3)
    assert ws.messages == ["3probe", "2"]
    ws.send("3")
    assert h.closed_reason(sid) is None


@pytest.mark.parametrize("stage", ["probing", "upgrading"])
def test_upgrade_timeout_closes_only_the_probe(stage: str) -> None:
    h = WireHarness(PROBE_CONFIG, echo=False)
    sid, ws = start_probe(h)
    opened = h.now
    if stage == "upgrading":
        h.clock.advance(0.5)
        ws.send("2probe")
    poll = h.poll(sid)
    if stage == "upgrading":
        assert poll.response.body == b"6"  # answered at once while upgrading
    h.clock.advance_to(opened + 1.0 - 1e-6)
    assert ws.open
    h.clock.advance_to(opened + 1.0)
    assert h.clock.fired[-1] == opened + 1.0  # exactly upgrade_timeout after the WS opened
    assert ws.close_code == 1000
    assert ws.tcp_closed
    assert h.engine.session_state(sid) is S.POLLING
    assert h.closed_reason(sid) is None
    if stage == "upgrading":
        poll = h.poll(sid)
    assert poll.pending  # a normal long poll (again)
    h.engine.send(sid, "still polling")
    h.pump()
    assert poll.response.body == b"4still polling"
    # A new probe can still succeed.
    retry = h.websocket(h.path(f"EIO=4&transport=websocket&sid={sid}"))
    retry.send("2probe")
    retry.send("5")
    assert h.engine.session_state(sid) is S.WEBSOCKET


@pytest.mark.parametrize(
    ("before", "message"),
    [
        ([], "4hello"),
        ([], "2"),
        ([], "2probex"),
        ([], "3probe"),
        ([], "5"),
        ([], "1"),
        ([], "6"),
        ([], b"\x01\x02"),
        ([], "abc"),
        ([], ""),
        (["2probe"], "4hello"),
        (["2probe"], "2probe"),
        (["2probe"], "3"),
        (["2probe"], "1"),
    ],
)
def test_any_other_packet_aborts_the_probe(before: list[str], message: str | bytes) -> None:
    h = WireHarness(PROBE_CONFIG, echo=False)
    sid, ws = start_probe(h)
    for packet in before:
        ws.send(packet)
    ws.send(message)
    assert ws.close_code == 1000
    assert ws.tcp_closed
    assert h.engine.session_state(sid) is S.POLLING
    assert h.closed_reason(sid) is None
    assert h.received(sid) == []  # a message on an aborted probe is not delivered
    assert h.send_post(sid, "4via polling").response.body == b"ok"
    assert h.received(sid) == ["via polling"]


def test_probe_closed_by_the_client_keeps_polling() -> None:
    h = WireHarness(PROBE_CONFIG, echo=False)
    sid, ws = start_probe(h)
    ws.send("2probe")
    poll = h.poll(sid)
    assert poll.response.body == b"6"
    ws.close()
    assert h.engine.session_state(sid) is S.POLLING
    poll = h.poll(sid)
    assert poll.pending  # a normal long poll again (no more noops)
    h.engine.send(sid, "x")
    h.pump()
    assert poll.response.body == b"4x"


def test_server_close_during_the_probe_closes_the_probe_and_the_session_on_polling() -> None:
    h = WireHarness(PROBE_CONFIG, echo=False)
    sid, ws = start_probe(h)
    poll = h.poll(sid)
    h.engine.send(sid, "last")
    h.engine.close(sid, h.now)
    h.pump()
    assert ws.close_code == 1000
    assert poll.response.body == b"4last\x1e1"
    assert h.closed_reason(sid) == "server close"


def test_late_polling_after_the_upgrade_is_400_code_3() -> None:
    h = WireHarness(PROBE_CONFIG, echo=False)
    sid, ws = start_probe(h)
    ws.send("2probe")
    ws.send("5")
    for response in (h.poll(sid).response, h.send_post(sid, "4x").response):
        assert response.status == 400
        assert response.json() == {"code": 3, "message": "Bad request"}
    assert h.received(sid) == []
    assert ws.open


@pytest.mark.parametrize("stage", ["probing", "upgrading", "upgraded"])
def test_a_second_websocket_for_the_sid_is_closed(stage: str) -> None:
    h = WireHarness(PROBE_CONFIG)
    sid, ws = start_probe(h)
    if stage != "probing":
        ws.send("2probe")
    if stage == "upgraded":
        ws.send("5")
    second = h.websocket(h.path(f"EIO=4&transport=websocket&sid={sid}"))
    assert second.accepted  # accepted at WebSocket level, then closed at once
    assert second.messages == []
    assert second.close_code == 1000
    assert second.tcp_closed
    assert ws.open
    if stage == "probing":
        ws.send("2probe")
    if stage != "upgraded":
        ws.send("5")
    ws.send("4hello")
    assert ws.messages[-1] == "4hello"
    assert h.closed_reason(sid) is None


def test_a_websocket_with_the_sid_of_a_websocket_session_is_closed() -> None:
    h = WireHarness()
    first, sid = h.open_websocket()
    second = h.websocket(h.path(f"EIO=4&transport=websocket&sid={sid}"))
    assert second.close_code == 1000
    first.send("4ok")
    assert first.recv() == "4ok"


def test_upgrades_disabled() -> None:
    h = WireHarness(EngineConfig(allow_upgrades=False))
    response = h.get(h.path("EIO=4&transport=polling")).response
    assert '"upgrades":[]' in response.text
    sid = h.open_polling()
    ws = h.websocket(h.path(f"EIO=4&transport=websocket&sid={sid}"))
    assert ws.close_code == 1000
    assert h.engine.session_state(sid) is S.POLLING


def test_stray_upgrade_packets_are_ignored() -> None:
    """1.15: ``5`` on polling when not upgrading, and on a WebSocket-only session."""
    h = WireHarness()
    sid = h.open_polling()
    assert h.send_post(sid, "5\x1e4a").response.body == b"ok"
    assert h.poll(sid).response.body == b"4a"
    ws, ws_sid = h.open_websocket()
    ws.send("5")
    ws.send("4b")
    assert ws.messages == ["4b"]
    assert h.closed_reason(sid) is None
    assert h.closed_reason(ws_sid) is None


@pytest.mark.parametrize("eio", [4, 3])
def test_no_packet_lost_duplicated_or_reordered_across_the_upgrade(eio: Literal[3, 4]) -> None:
    """Numbered messages both ways at every stage; each arrives exactly once, in order."""
    h = WireHarness(SUITE_CONFIG_V3 if eio == 3 else PROBE_CONFIG, echo=False)
    query = f"EIO={eio}&transport=polling&b64=1"
    sid = h.open_polling(query)
    down: list[str] = []  # server -> client, as the client saw it
    up = 0  # client -> server counter

    def take_poll_body(body: bytes) -> None:
        text = body.decode()
        if eio == 4:
            packets = text.split("\x1e")
        else:
            packets = []
            while text:
                length, _, rest = text.partition(":")
                packets.append(rest[: int(length)])
                text = rest[int(length) :]
        down.extend(p[1:] for p in packets if p.startswith("4"))

    def app_send(count: int) -> None:
        for _ in range(count):
            h.engine.send(sid, f"d{len(sent)}")
            sent.append(f"d{len(sent)}")
        h.pump()

    def client_post(count: int) -> None:
        nonlocal up
        if eio == 4:
            body = "\x1e".join(f"4u{up + i}" for i in range(count))
        else:
            body = "".join(f"{len(f'4u{up + i}')}:4u{up + i}" for i in range(count))
        up += count
        assert h.send_post(sid, body, eio=eio).response.body == b"ok"

    sent: list[str] = []
    poll = h.poll(sid, eio)
    app_send(2)
    take_poll_body(poll.response.body)
    client_post(2)
    poll = h.poll(sid, eio)
    ws = h.websocket(h.path(f"EIO={eio}&transport=websocket&sid={sid}&b64=1"))
    app_send(1)  # probing, GET parked: leaves on polling
    take_poll_body(poll.response.body)
    app_send(2)  # probing, no GET: queued
    client_post(1)
    poll = h.poll(sid, eio)
    take_poll_body(poll.response.body)  # d3, d4 at once
    app_send(1)  # probing, no GET: queued
    poll = h.poll(sid, eio)
    take_poll_body(poll.response.body)  # d5 at once
    poll = h.poll(sid, eio)
    assert poll.pending
    ws.send("2probe")  # releases the parked GET with a noop
    assert poll.response.body == (b"6" if eio == 4 else b"1:6")
    app_send(3)  # upgrading: buffered for the WebSocket (or a GET)
    client_post(2)  # the client's in-flight POST drains
    ws.send("5")
    for i in range(3):
        ws.send(f"4u{up + i}")
    up += 3
    app_send(2)
    assert ws.messages[0] == "3probe"
    down.extend(str(m)[1:] for m in ws.messages[1:])
    assert down == sent
    assert h.received(sid) == [f"u{i}" for i in range(up)]
    assert len(sent) == 11
    assert h.closed_reason(sid) is None
