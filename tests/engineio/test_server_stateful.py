"""Stateful property tests of :class:`EngineServer` at the request level (protocol.md 1.6-1.12).

A hypothesis ``RuleBasedStateMachine`` in the manner of h2's ``tests/test_state_machines.py``
plays several Engine.IO clients (revisions 3 and 4, with and without ``b64``) against one
server.  Rules cover polling handshakes and WebSocket-only handshakes, polling GETs (parked,
concurrent, aborted) and POSTs (valid batches, garbage, oversized, too many packets),
WebSocket probes (``2probe``, ``5``, anything else), messages on the upgraded WebSocket,
closing either WebSocket, the application's ``send``/``close``, clock advances (to arbitrary
times, with or without ``handle_timeout``, and exactly to ``next_deadline()``) and pongs,
solicited or not.

Next to the server runs an independent *model* of it, written from the protocol digest rather
than from the implementation.  After every step the outputs and events the server produced are
compared with what the model predicts, target by target (each HTTP request, each WebSocket)
and session by session, and these invariants are checked:

(a) the application messages a session delivers to its client (polling responses, then the
    WebSocket) arrive exactly once and in order, across the upgrade; the client's messages
    reach the application exactly as the model says (in order, once, none after a refusal);
(b) a closed session stays closed: it is gone from ``sessions``, ``send`` refuses, and every
    later request with its id answers 400 code 1;
(c) ``next_deadline()`` is exactly the model's earliest timer, never in the past right after
    ``handle_timeout(now)``; nothing fires a hair before a deadline and the due thing fires
    exactly at it;
(d) at most one GET is parked per session; every ``Respond`` answers a request that was made
    and is still open, exactly once; no WebSocket output follows its ``CloseWebSocket``;
(e) only :class:`~socketio_proto.ProtocolError` subclasses escape, and only
    :class:`~socketio_proto.LocalProtocolError` for API misuse triggered on purpose;
(f) the limits hold: POST bodies over ``max_payload_bytes`` get 413 and keep the session,
    batches over ``max_packets_per_payload`` are refused, WebSocket messages over the limit
    close with 1009 (or abort a probe).
"""

from __future__ import annotations

import gzip
import json
import math
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from socketio_proto.engineio.config import EngineConfig
from socketio_proto.engineio.events import (
    CloseReason,
    CloseWebSocket,
    MessageReceived,
    Respond,
    SendWebSocket,
    SessionClosed,
    SessionOpened,
    SessionUpgraded,
)
from socketio_proto.engineio.http import HttpRequest, HttpResponse
from socketio_proto.engineio.packet import (
    EngineRevision,
    Packet,
    PacketType,
    decode_packet,
    encode_packet,
)
from socketio_proto.engineio.payload import (
    decode_payload,
    encode_payload_v3,
    encode_payload_v3_binary,
    encode_payload_v4,
)
from socketio_proto.engineio.server import EngineServer, SessionState, WebSocketAccepted
from socketio_proto.errors import LimitExceeded, LocalProtocolError, RemoteProtocolError
from socketio_proto.limits import Limits
from socketio_proto.testing import strategies as sps

S = SessionState
PING: Final = Packet(PacketType.PING)
PONG: Final = Packet(PacketType.PONG)
NOOP: Final = Packet(PacketType.NOOP)
CLOSE: Final = Packet(PacketType.CLOSE)
PROBE_PING: Final = Packet(PacketType.PING, "probe")
PROBE_PONG: Final = Packet(PacketType.PONG, "probe")
#: Decoding what the server sends: its responses are not bound by the request limits.
HUGE: Final = Limits(max_payload_bytes=2**62, max_packets_per_payload=2**62)
MAX_LIVE_SESSIONS: Final = 3
#: Client messages carry this prefix and a sequence number; nothing else does.
CLIENT_TAG: Final = "C#"

# -- what a step is expected to produce --------------------------------------------------


@dataclass(frozen=True, slots=True)
class Poll:
    """A 200 polling response carrying exactly these packets."""

    packets: tuple[Packet, ...]


@dataclass(frozen=True, slots=True)
class Handshake:
    """A 200 polling response carrying only the ``open`` packet of session ``sid``."""

    sid: str


@dataclass(frozen=True, slots=True)
class Error:
    """``{"code": code, ...}`` with status 400 (403 for code 4)."""

    code: int


@dataclass(frozen=True, slots=True)
class Plain:
    """A POST answer: 200 ``ok`` or an empty 413."""

    status: int


Expected = Poll | Handshake | Error | Plain
EventKey = tuple[object, ...]

# -- the model of one session (server side and client side) ------------------------------


@dataclass(eq=False)
class Model:
    sid: str
    revision: EngineRevision
    b64: bool
    state: SessionState
    queue: list[Packet] = field(default_factory=list)
    get_id: int | None = None
    ws: int | None = None
    probe: int | None = None
    ping_due: float | None = None
    pong_due: float | None = None
    grace_used: bool = False
    liveness_due: float | None = None
    upgrade_due: float | None = None
    close_due: float | None = None
    # -- the client's view --
    ws_ids: list[int] = field(default_factory=list)
    app_sent: list[str | bytes] = field(default_factory=list)
    received: list[str | bytes] = field(default_factory=list)
    app_seq: int = 0
    client_seq: int = 0
    delivered_seq: int = -1
    #: A well-behaved client keeps a GET parked (``polls``), answers pings at once or at the
    #: next tick (v4) or pings (v3) unless ``heartbeat`` is "never", and pauses polling once
    #: its probe got ``3probe``.  Any client may also misbehave through the rules.
    polls: bool = True
    heartbeat: Literal["eager", "lazy", "never"] = "eager"
    #: The client has learnt that the session is over (close packet, error 1, lost WS).
    dead: bool = False
    paused: bool = False
    upgraded: bool = False
    pending_pongs: int = 0
    #: Ticks a lazy client has let its pong wait (it sends data first: the grace case).
    pong_wait: int = 0
    next_client_ping: float | None = None
    client_probe: int | None = None
    client_ws: int | None = None

    def deadline(self) -> float | None:
        dues = [
            d
            for d in (
                self.ping_due,
                self.pong_due,
                self.liveness_due,
                self.upgrade_due,
                self.close_due,
            )
            if d is not None
        ]
        return min(dues) if dues else None

    def clear_timers(self) -> None:
        self.ping_due = self.pong_due = self.liveness_due = None
        self.upgrade_due = self.close_due = None


def _packets_match(expected: tuple[Packet, ...] | list[Packet], actual: list[Packet]) -> bool:
    if len(expected) != len(actual):
        return False
    for want, got in zip(expected, actual, strict=True):
        if want.type is not got.type or type(want.data) is not type(got.data):
            return False
        if want.type is not PacketType.OPEN and want.data != got.data:
            return False
    return True


#: What a client puts in a POST (or a WebSocket message); messages are the common case.
CLIENT_ITEMS: Final = (
    *["text"] * 8,
    *["binary"] * 3,
    "pong",
    "ping",
    "2probe",
    "noop",
    "close",
    "upgrade",
    "open",
    "big",
)
WS_ITEMS: Final = (
    *CLIENT_ITEMS,
    "3probe",
    "empty text",
    "unknown type",
    "bad base64",
    "empty binary",
    "v3 binary ping",
)
APP_ITEMS: Final = ("text", "text", "unicode", "binary", "large")
#: Bodies that look like payloads (mutated by hypothesis) for the garbage POST rule.
GARBAGE_BASES: Final = (
    b"4hello",
    b"4a\x1e4b\x1e3",
    b"bAQID",
    b"6:4hello2:4x",
    b"1:1",
    b"2probe",
    b"\x00\x06\xff4hello\x01\x05\xff\x04\x01\x02\x03\x04",
    b"",
    b"1",
    b"3",
)


def _polling(m: Model) -> bool:
    return not m.upgraded


def _on_websocket(m: Model) -> bool:
    return m.client_ws is not None or m.client_probe is not None


class EngineServerMachine(RuleBasedStateMachine):
    """Clients and application against one EngineServer, checked against a model."""

    sessions = Bundle("sessions")

    def __init__(self) -> None:
        super().__init__()
        self.models: dict[str, Model] = {}
        self.generated: list[str] = []
        #: Requests not yet answered: id -> sid (None for handshakes that failed).
        self.outstanding: dict[int, str | None] = {}
        self.answered: set[int] = set()
        self.ws_owner: dict[int, str] = {}
        self.ws_closed: set[int] = set()
        self.now = 0.0
        self._reset_expectations()
        self.config = EngineConfig()
        self.engine = EngineServer(self.config)

    # -- setup ------------------------------------------------------------------------

    @initialize(
        ping_interval=st.sampled_from([0.5, 2.0, 25.0]),
        ping_timeout=st.sampled_from([0.25, 1.5, 20.0]),
        upgrade_timeout=st.sampled_from([0.75, 10.0]),
        close_timeout=st.sampled_from([1.0, 30.0]),
        max_payload=st.sampled_from([96, 300, 1_000_000]),
        max_packets=st.sampled_from([3, 6, 10_000]),
        compression=st.sampled_from([None, 64]),
        allow_upgrades=st.sampled_from([True, True, True, False]),
        start=st.sampled_from([0.0, 1.0e9 + 0.1]),
    )
    def configure(
        self,
        *,
        ping_interval: float,
        ping_timeout: float,
        upgrade_timeout: float,
        close_timeout: float,
        max_payload: int,
        max_packets: int,
        compression: int | None,
        allow_upgrades: bool,
        start: float,
    ) -> None:
        def sid_generator() -> str:
            sid = f"sid{len(self.generated)}"
            self.generated.append(sid)
            return sid

        self.config = EngineConfig(
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            upgrade_timeout=upgrade_timeout,
            close_timeout=close_timeout,
            allow_eio3=True,
            allow_upgrades=allow_upgrades,
            http_compression_threshold=compression,
            limits=Limits(max_payload_bytes=max_payload, max_packets_per_payload=max_packets),
            sid_generator=sid_generator,
        )
        self.engine = EngineServer(self.config)
        self.now = start

    # -- expectations -----------------------------------------------------------------

    def _reset_expectations(self) -> None:
        self.expect_responses: dict[int, Expected] = {}
        self.expect_ws: defaultdict[int, list[Packet]] = defaultdict(list)
        self.expect_closes: dict[int, int] = {}
        self.expect_events: defaultdict[str, list[EventKey]] = defaultdict(list)

    def _expect_response(self, request_id: int, expected: Expected) -> None:
        assert request_id not in self.expect_responses
        self.expect_responses[request_id] = expected

    def _expect_send(self, ws_id: int, packet: Packet) -> None:
        assert ws_id not in self.expect_closes
        self.expect_ws[ws_id].append(packet)

    def _expect_close(self, ws_id: int, code: int) -> None:
        assert ws_id not in self.expect_closes
        self.expect_closes[ws_id] = code

    def _expect_event(self, sid: str, *key: object) -> None:
        self.expect_events[sid].append(key)

    # -- the model of the server ------------------------------------------------------

    def _terminate(self, m: Model, reason: CloseReason, ws_code: int = 1000) -> None:
        if m.state is S.CLOSED:
            return
        if m.get_id is not None:
            self._expect_response(m.get_id, Poll((CLOSE,)))
            m.get_id = None
        if m.probe is not None:
            self._expect_close(m.probe, 1000)
            m.probe = None
        if m.ws is not None:
            self._expect_close(m.ws, ws_code)
            m.ws = None
        m.state = S.CLOSED
        m.queue = []
        m.clear_timers()
        self._expect_event(m.sid, "closed", reason)

    def _probe_failed(self, m: Model) -> None:
        if m.probe is not None:
            self._expect_close(m.probe, 1000)
            m.probe = None
        if m.state in (S.PROBING, S.UPGRADING):
            m.state = S.POLLING
            m.upgrade_due = None

    def _answer_get(self, m: Model, packets: list[Packet]) -> None:
        assert m.get_id is not None
        self._expect_response(m.get_id, Poll(tuple(packets)))
        m.get_id = None

    def _flush(self, m: Model) -> None:
        """Queued packets leave as soon as the session has somewhere to write them."""
        if m.state is S.CLOSED or not m.queue:
            return
        if m.state is S.WEBSOCKET:
            assert m.ws is not None
            for packet in m.queue:
                self._expect_send(m.ws, packet)
            m.queue = []
        elif m.get_id is not None:
            self._answer_get(m, m.queue)
            m.queue = []

    def _on_packet(self, m: Model, packet: Packet) -> None:
        """A packet from the client on the active transport (a POST or the upgraded WS)."""
        if m.state is S.CLOSED:
            return
        now = self.now
        kind = packet.type
        if kind is PacketType.MESSAGE:
            if m.pong_due is not None and not m.grace_used:
                m.grace_used = True
                m.pong_due = now + self.config.ping_timeout
            self._expect_event(m.sid, "message", packet.data)
        elif kind is PacketType.PONG and m.revision == 4:
            if m.pong_due is not None:
                m.pong_due = None
                m.ping_due = now + self.config.ping_interval
        elif kind is PacketType.PING and m.revision == 3:
            m.liveness_due = now + self.config.ping_interval + self.config.ping_timeout
            m.queue.append(PONG)
        elif kind in (PacketType.PING, PacketType.PONG):
            self._terminate(m, CloseReason.TRANSPORT_ERROR)
        elif kind is PacketType.CLOSE:
            if m.get_id is not None:
                self._answer_get(m, [NOOP])
            self._terminate(m, CloseReason.FORCED_CLOSE)

    def _fire(self, now: float) -> None:
        for m in self.models.values():
            due = m.deadline() if m.state is not S.CLOSED else None
            if due is None or due > now:
                continue
            if m.close_due is not None and m.close_due <= now:
                self._terminate(m, CloseReason.SERVER_CLOSE)
            elif (m.pong_due is not None and m.pong_due <= now) or (
                m.liveness_due is not None and m.liveness_due <= now
            ):
                self._terminate(m, CloseReason.PING_TIMEOUT)
            else:
                if m.upgrade_due is not None and m.upgrade_due <= now:
                    self._probe_failed(m)
                if m.ping_due is not None and m.ping_due <= now:
                    m.ping_due = None
                    m.pong_due = now + self.config.ping_timeout
                    m.grace_used = False
                    m.queue.append(PING)

    def _model_deadline(self) -> float | None:
        dues = [d for m in self.models.values() if (d := m.deadline()) is not None]
        return min(dues) if dues else None

    # -- driving the server and checking what comes out ----------------------------------

    def _request(
        self,
        method: str,
        query: dict[str, str],
        *,
        body: bytes = b"",
        headers: tuple[tuple[str, str], ...] = (),
    ) -> HttpRequest:
        return HttpRequest.from_target(
            method, self.config.path + "?" + urlencode(query), headers, body
        )

    def _send_request(self, request: HttpRequest, sid: str | None) -> int:
        request_id = self.engine.handle_request(request, self.now)
        assert request_id not in self.outstanding and request_id not in self.answered
        assert request_id not in self.ws_owner
        self.outstanding[request_id] = sid
        return request_id

    def _settle(self) -> None:
        """End of step: flush the model, drain the server, compare, let the clients read."""
        for m in self.models.values():
            self._flush(m)
        outputs = self.engine.outputs()
        events = self.engine.events()
        for output in outputs:
            if isinstance(output, Respond):
                self._check_response(output)
            elif isinstance(output, SendWebSocket):
                self._check_ws_send(output)
            else:
                assert isinstance(output, CloseWebSocket)
                self._check_ws_close(output)
        assert not self.expect_responses, f"requests left unanswered: {self.expect_responses}"
        assert not any(self.expect_ws.values()), f"WebSocket sends missing: {self.expect_ws}"
        assert not self.expect_closes, f"WebSocket closes missing: {self.expect_closes}"
        actual: defaultdict[str, list[EventKey]] = defaultdict(list)
        for event in events:
            if isinstance(event, SessionOpened):
                actual[event.sid].append(("opened", event.revision, event.transport))
            elif isinstance(event, MessageReceived):
                actual[event.sid].append(("message", event.data))
                self._check_client_message_order(event)
            elif isinstance(event, SessionUpgraded):
                actual[event.sid].append(("upgraded", event.transport))
            else:
                assert isinstance(event, SessionClosed)
                actual[event.sid].append(("closed", event.reason))
        expected = {sid: keys for sid, keys in self.expect_events.items() if keys}
        assert dict(actual) == expected, f"events {dict(actual)} != model {expected}"
        assert self.engine.outputs() == []
        assert self.engine.events() == []
        self._reset_expectations()

    def _check_response(self, output: Respond) -> None:
        request_id, response = output.request_id, output.response
        assert request_id in self.outstanding, f"Respond to unknown/answered request {request_id}"
        sid = self.outstanding.pop(request_id)
        self.answered.add(request_id)
        assert request_id in self.expect_responses, f"unexpected {output}"
        expected = self.expect_responses.pop(request_id)
        if isinstance(expected, Error):
            assert response.status == (403 if expected.code == 4 else 400), output
            assert json.loads(response.body)["code"] == expected.code, output
            if expected.code == 1 and sid is not None:
                self.models[sid].dead = True
        elif isinstance(expected, Plain):
            assert response.status == expected.status, output
            if expected.status == 200:
                assert response.body == b"ok", output
        else:
            assert sid is not None
            m = self.models[sid]
            packets = self._decode_poll(m, response)
            if isinstance(expected, Handshake):
                assert len(packets) == 1 and packets[0].type is PacketType.OPEN, packets
                assert isinstance(packets[0].data, str)
                self._check_open(json.loads(packets[0].data), expected.sid, polling=True)
            else:
                assert _packets_match(expected.packets, packets), (
                    f"GET {request_id} of {sid}: got {packets}, model says {expected.packets}"
                )
                for packet in packets:
                    self._client_reads(m, packet)

    def _decode_poll(self, m: Model, response: HttpResponse) -> list[Packet]:
        assert response.status == 200, response
        body = response.body
        encoding = response.header("content-encoding")
        threshold = self.config.http_compression_threshold
        if encoding is not None:
            assert threshold is not None and len(body) > 0
            body = gzip.decompress(body) if encoding == "gzip" else zlib.decompress(body)
            assert len(body) >= threshold
        content_type = response.header("content-type")
        if m.revision == 4 or m.b64:
            assert content_type == "text/plain; charset=UTF-8", response
        return decode_payload(body, m.revision, content_type=content_type, limits=HUGE)

    def _check_open(self, handshake: object, sid: str, *, polling: bool) -> None:
        upgrades = ["websocket"] if polling and self.config.allow_upgrades else []
        assert handshake == {
            "sid": sid,
            "upgrades": upgrades,
            "pingInterval": self.config.ping_interval_ms,
            "pingTimeout": self.config.ping_timeout_ms,
            "maxPayload": self.config.limits.max_payload_bytes,
        }, handshake

    def _check_ws_send(self, output: SendWebSocket) -> None:
        ws_id = output.ws_id
        assert ws_id in self.ws_owner, f"{output}: never accepted"
        assert ws_id not in self.ws_closed, f"{output}: after the WebSocket closed"
        m = self.models[self.ws_owner[ws_id]]
        packet = decode_packet(output.message, m.revision)
        if isinstance(output.message, bytes):
            assert not m.b64, f"{output}: binary frame to a b64 client"
        pending = self.expect_ws[ws_id]
        assert pending, f"unexpected {output} ({packet})"
        want = pending.pop(0)
        assert _packets_match([want], [packet]), f"{output}: got {packet}, model says {want}"
        if packet.type is PacketType.OPEN:
            assert isinstance(packet.data, str)
            self._check_open(json.loads(packet.data), m.sid, polling=False)
        elif ws_id == m.client_probe:
            assert packet == PROBE_PONG, f"{output} on a probe"
            m.paused = True  # the client pauses polling, then sends 5
        else:
            assert ws_id == m.client_ws, f"{output} on a WebSocket the client does not use"
            self._client_reads(m, packet)

    def _check_ws_close(self, output: CloseWebSocket) -> None:
        ws_id = output.ws_id
        assert ws_id in self.ws_owner, f"{output}: never accepted"
        assert ws_id not in self.ws_closed, f"{output}: closed twice"
        assert not self.expect_ws[ws_id], f"{output} before {self.expect_ws[ws_id]}"
        assert self.expect_closes.pop(ws_id, None) == output.code, f"unexpected {output}"
        self._client_ws_gone(self.models[self.ws_owner[ws_id]], ws_id)

    def _client_ws_gone(self, m: Model, ws_id: int) -> None:
        self.ws_closed.add(ws_id)
        if ws_id == m.client_probe:
            m.client_probe = None
            m.paused = False  # the probe failed: keep polling
        elif ws_id == m.client_ws:
            m.dead = True

    def _client_reads(self, m: Model, packet: Packet) -> None:
        """The client side of (a): application messages arrive once, in order, no gaps."""
        assert not m.dead, f"{m.sid}: {packet} after the session ended"
        if packet.type is PacketType.MESSAGE:
            m.received.append(packet.data)
            assert m.received == m.app_sent[: len(m.received)], (
                f"{m.sid}: client got {m.received}, application sent {m.app_sent}"
            )
        elif packet.type is PacketType.PING:
            assert m.revision == 4, f"{m.sid}: server ping to a v3 client"
            m.pending_pongs += 1
        elif packet.type is PacketType.CLOSE:
            m.dead = True

    def _check_client_message_order(self, event: MessageReceived) -> None:
        """The server side of (a): tagged client messages reach the application in order."""
        data = event.data
        text = data if isinstance(data, str) else data.decode("latin-1")
        if not text.startswith(CLIENT_TAG):
            return
        seq = int(text[len(CLIENT_TAG) :].split("|")[0])
        m = self.models[event.sid]
        assert seq > m.delivered_seq, f"{event.sid}: client message {seq} duplicated/reordered"
        m.delivered_seq = seq

    # -- client-side packet construction ------------------------------------------------

    def _client_packet(self, m: Model, item: str) -> Packet:
        if item in ("text", "binary", "big"):
            text = f"{CLIENT_TAG}{m.client_seq}|"
            m.client_seq += 1
            if item == "big":
                text += "x" * self.config.limits.max_payload_bytes
            if item == "binary":
                return Packet(PacketType.MESSAGE, text.encode("latin-1") + b"\x00\xff\x1e")
            return Packet(PacketType.MESSAGE, text)
        return {
            "pong": PONG,
            "ping": PING,
            "2probe": PROBE_PING,
            "3probe": PROBE_PONG,
            "noop": NOOP,
            "close": CLOSE,
            "upgrade": Packet(PacketType.UPGRADE),
            "open": Packet(PacketType.OPEN),
        }[item]

    # -- the well-behaved clients ---------------------------------------------------------

    def _finish(self) -> None:
        """End of a rule: settle, then let the well-behaved clients react until quiet."""
        self._settle()
        for _ in range(4 * MAX_LIVE_SESSIONS):
            if not self._react():
                return

    def _react(self) -> bool:
        for m in self.models.values():
            if m.dead:
                continue
            if m.pending_pongs and m.heartbeat == "eager":
                m.pending_pongs = 0
                self._client_send(m, "pong")
                return True
            if (
                m.polls
                and not m.upgraded
                and not m.paused
                and m.sid not in self.outstanding.values()
            ):
                self._poll(m, None)
                return True
        return False

    def _client_heartbeats(self) -> None:
        """What clients do as the clock moves: v3 clients ping every ``ping_interval``; lazy
        v4 clients are busy -- at the first clock stop after a ping they send a message
        (which extends the pong deadline once), and they answer at the next one."""
        for m in self.models.values():
            if m.dead or m.heartbeat == "never":
                continue
            if m.heartbeat == "lazy" and m.pending_pongs and not m.pong_wait:
                m.pong_wait += 1
                self._client_send(m, "text")
            elif m.pending_pongs:
                m.pending_pongs = m.pong_wait = 0
                self._client_send(m, "pong")
            due = m.next_client_ping
            if due is not None and due <= self.now:
                m.next_client_ping = self.now + self.config.ping_interval
                self._client_send(m, "ping")

    def _client_send(self, m: Model, item: str) -> None:
        """One packet on the transport the client currently uses."""
        if m.upgraded:
            if m.client_ws is not None and m.client_ws not in self.ws_closed:
                self._ws_send(m, m.client_ws, self._ws_message(m, item))
        else:
            self._post_packets(m, [self._client_packet(m, item)], binary_format=False)

    def _target(self, sid: str, stale: int, usable: Callable[[Model], bool] | None = None) -> Model:
        """Mostly a session whose client is alive (and ``usable``); sometimes ``sid`` as is."""
        m = self.models[sid]
        if stale and (m.dead or (usable is not None and not usable(m))):
            alive = [
                other
                for other in self.models.values()
                if not other.dead and (usable is None or usable(other))
            ]
            if alive:
                return alive[stale % len(alive)]
        return m

    def _live_count(self) -> int:
        return sum(m.state is not S.CLOSED for m in self.models.values())

    # -- rules: handshakes ----------------------------------------------------------------

    @precondition(lambda self: self._live_count() < MAX_LIVE_SESSIONS)
    @rule(
        target=sessions,
        revision=st.sampled_from([4, 3]),
        b64=st.booleans(),
        encoding=st.sampled_from([None, "gzip", "deflate"]),
        polls=st.sampled_from([True, True, False]),
        heartbeat=st.sampled_from(["eager", "eager", "lazy", "never"]),
    )
    def handshake_polling(
        self,
        revision: EngineRevision,
        b64: bool,
        encoding: str | None,
        polls: bool,
        heartbeat: Literal["eager", "lazy", "never"],
    ) -> str:
        query = {"EIO": str(revision), "transport": "polling", "t": "N1x"}
        if b64:
            query["b64"] = "1"
        headers = (("accept-encoding", encoding),) if encoding else ()
        before = len(self.generated)
        request_id = self._send_request(self._request("GET", query, headers=headers), None)
        assert len(self.generated) == before + 1
        sid = self.generated[-1]
        self.outstanding[request_id] = sid
        m = Model(sid, revision, b64, S.POLLING, polls=polls, heartbeat=heartbeat)
        self._arm_heartbeat(m)
        self.models[sid] = m
        self._expect_response(request_id, Handshake(sid))
        self._expect_event(sid, "opened", revision, "polling")
        self._finish()
        return sid

    @precondition(lambda self: self._live_count() < MAX_LIVE_SESSIONS)
    @rule(
        target=sessions,
        revision=st.sampled_from([4, 3]),
        b64=st.booleans(),
        heartbeat=st.sampled_from(["eager", "eager", "lazy", "never"]),
    )
    def handshake_websocket(
        self, revision: EngineRevision, b64: bool, heartbeat: Literal["eager", "lazy", "never"]
    ) -> str:
        query = {"EIO": str(revision), "transport": "websocket"}
        if b64:
            query["b64"] = "1"
        before = len(self.generated)
        decision = self.engine.handle_websocket(self._request("GET", query), self.now)
        assert isinstance(decision, WebSocketAccepted), decision
        assert len(self.generated) == before + 1
        sid = self.generated[-1]
        ws_id = decision.ws_id
        m = Model(sid, revision, b64, S.WEBSOCKET, ws=ws_id, heartbeat=heartbeat, upgraded=True)
        m.ws_ids.append(ws_id)
        m.client_ws = ws_id
        self._register_ws(ws_id, sid)
        self._arm_heartbeat(m)
        self.models[sid] = m
        self._expect_send(ws_id, Packet(PacketType.OPEN))  # the data is checked by _check_open
        self._expect_event(sid, "opened", revision, "websocket")
        self._finish()
        return sid

    def _arm_heartbeat(self, m: Model) -> None:
        if m.revision == 4:
            m.ping_due = self.now + self.config.ping_interval
        else:
            m.liveness_due = self.now + self.config.ping_interval + self.config.ping_timeout
            m.next_client_ping = self.now + self.config.ping_interval

    def _register_ws(self, ws_id: int, sid: str) -> None:
        assert ws_id not in self.ws_owner and ws_id not in self.outstanding
        assert ws_id not in self.answered
        self.ws_owner[ws_id] = sid

    # -- rules: polling -------------------------------------------------------------------

    def _query(
        self, m: Model, *, transport: str = "polling", eio: str | None = None
    ) -> dict[str, str]:
        return {
            "EIO": eio if eio is not None else str(m.revision),
            "transport": transport,
            "sid": m.sid,
        }

    def _routing_error(self, m: Model) -> Error | None:
        """What a polling request with this sid answers before reaching the session."""
        if m.state is S.CLOSED:
            return Error(1)  # (b)
        if m.state is S.WEBSOCKET:
            return Error(3)  # transport mismatch: the session is on its WebSocket
        return None

    def _poll(self, m: Model, encoding: str | None) -> None:
        headers = (("accept-encoding", encoding),) if encoding else ()
        request = self._request("GET", self._query(m), headers=headers)
        request_id = self._send_request(request, m.sid)
        refusal = self._routing_error(m)
        if refusal is not None:
            self._expect_response(request_id, refusal)
        elif m.get_id is not None:
            # A second concurrent GET: refused, and the session closes through the first.
            self._terminate(m, CloseReason.TRANSPORT_ERROR)
            self._expect_response(request_id, Error(3))
        elif m.state is S.CLOSING:
            self._expect_response(request_id, Poll((*m.queue, CLOSE)))
            m.queue = []
            self._terminate(m, CloseReason.SERVER_CLOSE)
        elif m.queue:
            self._expect_response(request_id, Poll(tuple(m.queue)))
            m.queue = []
        elif m.state is S.UPGRADING:
            self._expect_response(request_id, Poll((NOOP,)))
        else:
            m.get_id = request_id
        self._settle()

    @rule(
        sid=sessions,
        stale=st.integers(0, 7),
        encoding=st.sampled_from([None, None, "gzip", "deflate"]),
        concurrent=st.sampled_from([False] * 3 + [True]),
    )
    def poll(self, sid: str, stale: int, encoding: str | None, concurrent: bool) -> None:
        """A GET whatever the client's state: after the upgrade, after the end, or (with
        ``concurrent``) while another GET of the session is parked."""
        m = self._target(sid, stale, _polling)
        if concurrent or m.sid not in self.outstanding.values():
            self._poll(m, encoding)
        self._finish()

    def _post(
        self,
        m: Model,
        body: bytes,
        content_type: str | None,
        packets: list[Packet] | None,
        refused: bool,
    ) -> None:
        """POST ``body``; ``packets`` is what it decodes to (None and ``refused``: garbage)."""
        headers = (("content-type", content_type),) if content_type else ()
        request = self._request("POST", self._query(m), body=body, headers=headers)
        request_id = self._send_request(request, m.sid)
        refusal = self._routing_error(m)
        if refusal is not None:
            self._expect_response(request_id, refusal)
        elif m.state is S.CLOSING:
            self._expect_response(request_id, Plain(200))
        elif len(body) > self.config.limits.max_payload_bytes:
            self._expect_response(request_id, Plain(413))  # (f): the session survives
        elif refused:
            self._terminate(m, CloseReason.PARSE_ERROR)
            self._expect_response(request_id, Error(3))
        else:
            assert packets is not None
            for packet in packets:
                self._on_packet(m, packet)
                if m.state is S.CLOSED:
                    break
            self._expect_response(request_id, Plain(200))
        self._settle()

    def _post_packets(self, m: Model, packets: list[Packet], *, binary_format: bool) -> None:
        content_type: str | None = "text/plain;charset=UTF-8"
        if m.revision == 4:
            body = encode_payload_v4(packets).encode("utf-8")
        elif binary_format:
            body, content_type = encode_payload_v3_binary(packets), "application/octet-stream"
        else:
            body = encode_payload_v3(packets).encode("utf-8")
        refused = len(packets) > self.config.limits.max_packets_per_payload  # (f)
        self._post(m, body, content_type, packets, refused)

    @rule(
        sid=sessions,
        stale=st.integers(0, 7),
        items=st.lists(st.sampled_from(CLIENT_ITEMS), min_size=1, max_size=5),
        binary_format=st.booleans(),
        oversize=st.sampled_from([False] * 5 + [True]),
    )
    def post(
        self, sid: str, stale: int, items: list[str], binary_format: bool, oversize: bool
    ) -> None:
        """A batch of packets; ``oversize`` adds a message that makes the body too large."""
        m = self._target(sid, stale, _polling)
        packets = [self._client_packet(m, item) for item in [*items, *["big"] * oversize]]
        self._post_packets(m, packets, binary_format=binary_format)
        self._finish()

    @rule(
        sid=sessions,
        stale=st.integers(0, 7),
        body=st.one_of(
            st.binary(max_size=40),
            sps.mutated_bytes(st.sampled_from(GARBAGE_BASES)),
            st.sampled_from(GARBAGE_BASES),
        ),
        content_type=st.sampled_from(
            [None, "text/plain;charset=UTF-8", "application/octet-stream"]
        ),
    )
    def post_garbage(self, sid: str, stale: int, body: bytes, content_type: str | None) -> None:
        m = self._target(sid, stale, _polling)
        packets: list[Packet] | None = None
        try:
            packets = decode_payload(
                body, m.revision, content_type=content_type, limits=self.config.limits
            )
        except LimitExceeded as exc:
            assert exc.limit != "max_payload_bytes" or len(body) > exc.maximum
        except RemoteProtocolError:
            pass
        self._post(m, body, content_type, packets, packets is None)
        self._finish()

    @rule(sid=sessions, stale=st.integers(0, 7))
    def abort_poll(self, sid: str, stale: int) -> None:
        """The client gives up on its parked GET (or on a request already answered)."""
        m = self._target(sid, stale, _polling)
        mine = [rid for rid, owner in self.outstanding.items() if owner == m.sid]
        if mine:
            request_id = mine[0]
            del self.outstanding[request_id]
            self.answered.add(request_id)
            m.polls = False  # a client that aborts its poll is not coming back
        else:
            request_id = max(self.answered, default=10**6)
        self.engine.request_aborted(request_id, self.now)
        if m.get_id is not None and m.get_id == request_id and m.state is not S.CLOSED:
            m.get_id = None
            self._terminate(m, CloseReason.TRANSPORT_ERROR)
        self._finish()

    @rule(
        sid=sessions,
        stale=st.integers(0, 7),
        variant=st.sampled_from(
            [
                "post handshake",
                "eio 5",
                "eio missing",
                "websocket without upgrade",
                "handshake transport",
                "eio mismatch",
                "websocket transport",
                "PUT",
                "transport",
                "send int",
                "send lone surrogate",
                "send_many with a bad one",
                "revision",
                "transport()",
            ]
        ),
    )
    def odd_request(self, sid: str, stale: int, variant: str) -> None:
        """Refused handshakes, misrouted requests and API misuse: (b), (e)."""
        m = self._target(sid, stale)
        handshake_errors = {
            "post handshake": 2,
            "eio 5": 5,
            "eio missing": 5,
            "websocket without upgrade": 3,
            "handshake transport": 0,
        }
        if variant in handshake_errors:
            method, query = "GET", {"EIO": str(m.revision), "transport": "polling"}
            if variant == "post handshake":
                method = "POST"
            elif variant == "eio 5":
                query["EIO"] = "5"
            elif variant == "eio missing":
                del query["EIO"]
            elif variant == "websocket without upgrade":
                query["transport"] = "websocket"
            else:
                query["transport"] = "webtransport"
            before = len(self.generated)
            request_id = self._send_request(self._request(method, query, body=b"4x"), None)
            self._expect_response(request_id, Error(handshake_errors[variant]))
            self._settle()
            assert len(self.generated) == before
        elif variant in ("eio mismatch", "websocket transport", "PUT", "transport"):
            method, query = "GET", self._query(m)
            if variant == "eio mismatch":
                query["EIO"] = "3" if m.revision == 4 else "4"
            elif variant == "websocket transport":
                query["transport"] = "websocket"
            elif variant == "PUT":
                method = "PUT"
            else:
                query["transport"] = "flash"
            request_id = self._send_request(self._request(method, query), m.sid)
            expected = Error(0) if variant == "transport" else self._routing_error(m) or Error(3)
            self._expect_response(request_id, expected)
            self._settle()
        elif variant.startswith("send"):
            batches: dict[str, list[object]] = {
                "send int": [42],
                "send lone surrogate": ["S\ud800"],
                "send_many with a bad one": ["fine", b"fine", None],
            }
            bad = batches[variant]
            if m.state in (S.CLOSED, S.CLOSING):
                assert self.engine.send_many(m.sid, bad) is False  # type: ignore[arg-type]
            else:
                # Refused at once, and atomically: nothing of the batch is queued.
                with pytest.raises(LocalProtocolError):
                    self.engine.send_many(m.sid, bad)  # type: ignore[arg-type]
        elif m.state is S.CLOSED:
            with pytest.raises(LocalProtocolError):
                if variant == "revision":
                    self.engine.revision(m.sid)
                else:
                    self.engine.transport(m.sid)
        elif variant == "revision":
            assert self.engine.revision(m.sid) == m.revision
        else:
            expected_transport = "websocket" if m.state is S.WEBSOCKET else "polling"
            assert self.engine.transport(m.sid) == expected_transport
        self._finish()

    # -- rules: WebSockets ----------------------------------------------------------------

    def _open_probe(self, m: Model, eio_matches: bool) -> int | None:
        eio = str(m.revision) if eio_matches else ("3" if m.revision == 4 else "4")
        request = self._request("GET", self._query(m, transport="websocket", eio=eio))
        decision = self.engine.handle_websocket(request, self.now)
        if m.state is S.CLOSED or not eio_matches:
            assert isinstance(decision, HttpResponse), decision
            code = 1 if m.state is S.CLOSED else 3
            assert decision.status == 400 and json.loads(decision.body)["code"] == code
            if code == 1:
                m.dead = True
            self._settle()
            return None
        assert isinstance(decision, WebSocketAccepted), decision
        ws_id = decision.ws_id
        self._register_ws(ws_id, m.sid)
        m.ws_ids.append(ws_id)
        if m.client_probe is None and not m.upgraded:
            m.client_probe = ws_id
        if m.state is not S.POLLING or not self.config.allow_upgrades:
            self._expect_close(ws_id, 1000)  # already upgrading/upgraded/closing
        else:
            m.state = S.PROBING
            m.probe = ws_id
            m.upgrade_due = self.now + self.config.upgrade_timeout
        self._settle()
        return ws_id

    @rule(sid=sessions, stale=st.integers(0, 7), eio_matches=st.sampled_from([True] * 5 + [False]))
    def open_probe(self, sid: str, stale: int, eio_matches: bool) -> None:
        self._open_probe(self._target(sid, stale), eio_matches)
        self._finish()

    def _ws_message(self, m: Model, item: str) -> str | bytes:
        garbage: dict[str, str | bytes] = {
            "empty text": "",
            "unknown type": "x",
            "bad base64": "b!!" if m.revision == 4 else "b4!!",
            "empty binary": b"",
            "v3 binary ping": b"\x02probe",
        }
        if item in garbage:
            return garbage[item]
        return encode_packet(self._client_packet(m, item), m.revision, base64=m.b64)

    def _ws_send(self, m: Model, ws_id: int, message: str | bytes) -> None:
        self.engine.receive_websocket_message(ws_id, message, self.now)
        self._model_ws_message(m, ws_id, message)
        self._settle()

    @precondition(lambda self: any(m.ws_ids for m in self.models.values()))
    @rule(
        sid=sessions,
        stale=st.integers(0, 7),
        which=st.integers(0, 3) | st.just(0),
        items=st.lists(st.sampled_from(WS_ITEMS), min_size=1, max_size=3),
    )
    def websocket_send(self, sid: str, stale: int, which: int, items: list[str]) -> None:
        """Messages on one of the session's WebSockets: its probe, its active one, or stale."""
        m = self._target(sid, stale, _on_websocket)
        if not m.ws_ids:
            return
        ws_id = m.ws_ids[-1 - which % len(m.ws_ids)]
        for item in items:
            self._ws_send(m, ws_id, self._ws_message(m, item))
        self._finish()

    @rule(
        sid=sessions,
        stale=st.integers(0, 7),
        reuse_probe=st.booleans(),
        until=st.sampled_from(["5", "5", "5", "2probe", "probe"]),
    )
    def upgrade(self, sid: str, stale: int, reuse_probe: bool, until: str) -> None:
        """The well-behaved upgrade: probe, ``2probe``, ``3probe``, pause polling, ``5``.

        ``until`` stops it halfway (the rest may follow in a later step, or never).
        """
        m = self._target(sid, stale, lambda m: not m.upgraded and m.state is not S.CLOSING)
        if m.upgraded or m.dead:
            return
        ws_id = m.client_probe if reuse_probe else None
        if ws_id is None:
            ws_id = self._open_probe(m, True)
            self._finish()
        if ws_id is None or ws_id in self.ws_closed or m.dead or until == "probe":
            return
        if ws_id == m.client_probe and not m.paused:
            self._ws_send(m, ws_id, "2probe")
            self._finish()
        if (
            until == "5"
            and ws_id == m.client_probe
            and m.paused
            and m.sid not in self.outstanding.values()
        ):
            self._ws_send(m, ws_id, "5")
            self._finish()

    def _model_ws_message(self, m: Model, ws_id: int, message: str | bytes) -> None:
        if ws_id in self.ws_closed or m.state is S.CLOSED or ws_id not in (m.probe, m.ws):
            return
        size = len(message.encode("utf-8") if isinstance(message, str) else message)
        on_probe = ws_id == m.probe
        if size > self.config.limits.max_payload_bytes:  # (f)
            if on_probe:
                self._probe_failed(m)
            else:
                self._terminate(m, CloseReason.TRANSPORT_ERROR, 1009)
            return
        try:
            packet = decode_packet(message, m.revision)
        except RemoteProtocolError:
            if on_probe:
                self._probe_failed(m)
            else:
                self._terminate(m, CloseReason.PARSE_ERROR, 1002)
            return
        if not on_probe:
            self._on_packet(m, packet)
        elif m.state is S.PROBING and packet == PROBE_PING:
            m.state = S.UPGRADING
            self._expect_send(ws_id, PROBE_PONG)
            if m.get_id is not None:  # release the parked GET so the client can pause
                self._answer_get(m, m.queue or [NOOP])
                m.queue = []
        elif m.state is S.UPGRADING and packet.type is PacketType.UPGRADE:
            assert m.get_id is None  # an UPGRADING session never parks a GET
            m.state = S.WEBSOCKET
            m.ws, m.probe = ws_id, None
            m.upgrade_due = None
            self._expect_event(m.sid, "upgraded", "websocket")
            # The client sent 5 after 3probe: from now on it uses this WebSocket.
            m.upgraded = True
            m.client_ws, m.client_probe = ws_id, None
        else:
            self._probe_failed(m)

    @precondition(lambda self: any(m.ws_ids for m in self.models.values()))
    @rule(
        sid=sessions,
        stale=st.integers(0, 7),
        which=st.integers(0, 3) | st.just(0),
        error=st.booleans(),
    )
    def websocket_closed(self, sid: str, stale: int, which: int, error: bool) -> None:
        """The client closes one of the session's WebSockets (``error``: it broke)."""
        m = self._target(sid, stale, _on_websocket)
        if not m.ws_ids:
            return
        ws_id = m.ws_ids[-1 - which % len(m.ws_ids)]
        self.engine.websocket_closed(ws_id, self.now, error=error)
        if ws_id not in self.ws_closed:
            self._client_ws_gone(m, ws_id)
            if ws_id == m.probe:
                m.probe = None
                self._probe_failed(m)
            elif ws_id == m.ws:
                m.ws = None
                reason = CloseReason.TRANSPORT_ERROR if error else CloseReason.TRANSPORT_CLOSE
                self._terminate(m, reason)
        self._finish()

    # -- rules: the application -----------------------------------------------------------

    def _app_message(self, m: Model, kind: str) -> str | bytes:
        n = m.app_seq
        m.app_seq += 1
        if kind == "unicode":
            return f"S{n}:\u00e9\u20ac\U0001f600"
        if kind == "binary":
            return f"S{n}".encode() + b"\x00\xff\x1e"
        if kind == "large":
            return f"S{n}:" + "y" * 150
        # U+001E stays out of text: see the report on sending it to a v4 polling session.
        return f"S{n}"

    @rule(
        sid=sessions,
        stale=st.integers(0, 7),
        kinds=st.lists(st.sampled_from(APP_ITEMS), min_size=1, max_size=3),
        batch=st.booleans(),
    )
    def app_send(self, sid: str, stale: int, kinds: list[str], batch: bool) -> None:
        m = self._target(sid, stale)
        messages = [self._app_message(m, kind) for kind in kinds]
        accepted = m.state not in (S.CLOSED, S.CLOSING)
        if batch:
            assert self.engine.send_many(m.sid, messages) is accepted
        else:
            for message in messages:
                assert self.engine.send(m.sid, message) is accepted
        if accepted:
            m.app_sent.extend(messages)
            m.queue.extend(Packet(PacketType.MESSAGE, message) for message in messages)
        self._finish()

    def _app_close(self, m: Model) -> None:
        if m.state in (S.CLOSED, S.CLOSING):
            return
        if m.state in (S.PROBING, S.UPGRADING):
            self._probe_failed(m)
        if m.state is S.WEBSOCKET:
            self._flush(m)
            self._terminate(m, CloseReason.SERVER_CLOSE)
        elif m.get_id is not None:
            self._answer_get(m, [*m.queue, CLOSE])
            m.queue = []
            self._terminate(m, CloseReason.SERVER_CLOSE)
        else:
            m.state = S.CLOSING
            m.ping_due = m.pong_due = m.liveness_due = None
            m.close_due = self.now + self.config.close_timeout

    @rule(
        sid=sessions,
        stale=st.integers(0, 7),
        which=st.sampled_from(["none", "none", "one", "one", "one", "all"]),
    )
    def app_close(self, sid: str, stale: int, which: str) -> None:
        """The application closes a session, every session, or (``none``) changes its mind."""
        if which == "none":
            pass
        elif which == "all":
            self.engine.close_all(self.now)
            for other in list(self.models.values()):
                self._app_close(other)
        else:
            m = self._target(sid, stale)
            self.engine.close(m.sid, self.now)
            self._app_close(m)
            # (b): whatever the transport, the session takes no more messages.
            assert self.engine.send(m.sid, "too late") is False
        self._finish()

    # -- rules: the clock -----------------------------------------------------------------

    @rule(
        fraction=st.sampled_from([0.0, 0.05, 0.3, 0.7, 1.0, 1.6, 4.0])
        | st.floats(0, 3, allow_nan=False, allow_infinity=False),
        mode=st.sampled_from(["timely", "timely", "late", "no callback"]),
    )
    def advance(self, fraction: float, mode: str) -> None:
        """Time passes (a fraction of ``ping_interval``).

        ``timely``: the timer callback runs at each deadline on the way and the clients act
        on time; ``late``: it runs once at the end (overdue deadlines); ``no callback``: it
        does not run (requests may then arrive after a deadline that has not fired).
        """
        self._client_heartbeats()
        target = self.now + fraction * self.config.ping_interval
        if mode == "timely":
            for _ in range(64):
                stops = [target]
                deadline = self.engine.next_deadline()
                if deadline is not None:
                    stops.append(deadline)
                stops += [
                    m.next_client_ping
                    for m in self.models.values()
                    if m.heartbeat != "never" and not m.dead and m.next_client_ping is not None
                ]
                self.now = max(self.now, min(stops))
                self._client_heartbeats()
                self._handle_timeout(self.now)
                self._finish()
                if self.now >= target:
                    break
        else:
            self.now = target
            self._client_heartbeats()  # a client may beat the timer
            if mode == "late":
                self._handle_timeout(self.now)
        self._finish()

    @precondition(lambda self: self._model_deadline() is not None)
    @rule()
    def advance_to_deadline(self) -> None:
        """(c): nothing happens a hair before the deadline; the due thing happens at it."""
        deadline = self.engine.next_deadline()
        assert deadline is not None
        before = math.nextafter(deadline, -math.inf)
        if before >= self.now:
            self.now = before
            self.engine.handle_timeout(before)
            self._settle()  # expects nothing at all
            assert self.engine.next_deadline() == deadline
        self.now = max(self.now, deadline)
        self._handle_timeout(self.now)
        self._finish()

    def _handle_timeout(self, now: float) -> None:
        self.engine.handle_timeout(now)
        self._fire(now)
        self._settle()
        after = self.engine.next_deadline()
        assert after is None or after > now, f"next_deadline() {after} <= now {now}"

    @rule(
        sid=sessions,
        stale=st.integers(0, 7),
        transport=st.sampled_from(["polling", "websocket"]),
    )
    def pong(self, sid: str, stale: int, transport: str) -> None:
        """A pong, solicited if a ping is outstanding, otherwise a stray one."""
        m = self._target(sid, stale)
        if transport == "websocket" and m.ws is not None:
            self._ws_send(m, m.ws, self._ws_message(m, "pong"))
        else:
            self._post_packets(m, [PONG], binary_format=False)
        self._finish()

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def sessions_agree(self) -> None:
        live = {sid for sid, m in self.models.items() if m.state is not S.CLOSED}
        assert self.engine.sessions == live
        for sid, m in self.models.items():
            assert self.engine.session_state(sid) is m.state, (sid, m.state)

    @invariant()
    def deadlines_agree(self) -> None:
        assert self.engine.next_deadline() == self._model_deadline()

    @invariant()
    def requests_accounted_for(self) -> None:
        """(d): what is unanswered is exactly the parked GETs, at most one per session."""
        parked = {m.get_id: m.sid for m in self.models.values() if m.get_id is not None}
        assert self.outstanding == parked, (self.outstanding, parked)

    @invariant()
    def nothing_stuck(self) -> None:
        """(a): a session with a writable transport holds nothing back; nothing is lost."""
        for m in self.models.values():
            assert m.received == m.app_sent[: len(m.received)]
            if m.state is S.CLOSED:
                continue
            if m.state is S.WEBSOCKET or m.get_id is not None:
                assert not m.queue, (m.sid, m.queue)
            queued = [p.data for p in m.queue if p.type is PacketType.MESSAGE]
            assert m.received + queued == m.app_sent, (m.sid, m.received, queued, m.app_sent)

    def teardown(self) -> None:
        """A well-behaved client of a live session has everything the application sent."""
        for m in self.models.values():
            if m.polls and not m.dead and m.state in (S.POLLING, S.WEBSOCKET):
                assert m.received == m.app_sent, (m.sid, m.received, m.app_sent)


def _run(max_examples: int, steps: int) -> None:
    run_state_machine_as_test(
        EngineServerMachine,
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


def test_engine_server_state_machine() -> None:
    _run(max_examples=600, steps=60)


@pytest.mark.slow
def test_engine_server_state_machine_soak() -> None:
    _run(max_examples=3000, steps=120)
