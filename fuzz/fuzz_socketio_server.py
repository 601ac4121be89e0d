"""Fuzz the Socket.IO server: ``SocketServer`` over ``EngineServer``, driven like a live server.

One to three Engine.IO WebSocket sessions are opened on an ``EngineServer``
(``path="/socket.io/"``, namespaces ``/``, ``/custom`` and the dynamic ``/dyn-*``); the
fuzzed *steps* then deliver messages, close WebSockets, move the clock and reopen
sessions with the ``{"pid", "offset"}`` of earlier sockets (connection state recovery),
while a small application reacts to the ``SocketServer`` events like the official
reference server does.

Input: a mode byte, then the body, split on ``0xff`` into steps (at most 64); each step is
one control byte followed by its payload.

Mode bits:
  bit 0:    Engine.IO 3 (``EIO=3``, Socket.IO revision 4) instead of Engine.IO 4
  bit 1:    mixed: session slot 1 uses the other revision
  bit 2:    connection state recovery (``max_disconnection_duration=5``, 6 packets kept)
  bit 3:    the msgpack parser instead of the default one
  bits 4-5: sessions opened at the start - 1 (1-3; 3 means 1)
  bit 6:    tight ``Limits`` (128-byte messages, 1 attachment, 2-digit ack ids, depth 3)
            instead of small ones (1000 bytes, 3 attachments, 6 digits, depth 8)
  bit 7:    auto-pong: answer every ping at once (and ping as an EIO 3 client before ticks)

Control byte: bits 0-1 session slot (0-2; 3 is slot 0), bits 5-7 an argument ``arg``,
bits 2-4 the action:
  0: a Socket.IO text packet: the Engine.IO message ``"4" + payload``.  With the msgpack
     parser a payload the default parser decodes is sent as that packet in msgpack
  1: a binary message (the payload; EIO 3 gets the ``04`` type byte in front)
  2: a raw Engine.IO frame: the payload as text (``arg`` odd: as a binary frame)
  3: the WebSocket closes (``arg`` odd: failed, "transport error")
  4: the clock moves by ``TICKS[arg]``; ``handle_timeout`` on the engine, then the server
  5: the slot's WebSocket closes and a new session opens in the slot; ``arg`` > 0 then sends
     a CONNECT carrying the pid of a socket seen so far (payload byte 0 picks which) and:
     1 the last offset it received, 2 the first offset ever sent, 3 an unknown offset,
     4 no offset, 5 a number as offset, 6 like 1 plus ``"wait"`` (the app defers the
     answer), 7 like 1 plus ``"token":"bad"`` (the app refuses)
  6: the app acts on a socket of the slot (payload byte 0 picks it): ``arg`` 0 accept (or,
     once connected, emit a binary event to it), 1 refuse (or join room ``r1``),
     2 disconnect, 3 disconnect with close, 4 emit_with_ack with a timeout, 5 without,
     6 join room ``r0``, 7 leave room ``r0``
  7: the app acts on the server: ``arg`` 0 emit to ``/``, 1 emit binary to room ``r0``,
     2 broadcast_with_ack to ``/`` with a timeout, 3 to room ``r0`` of ``/custom``
     without, 4 close_room, 5 volatile emit, 6 emit to ``r0`` except ``r1``, 7 ``close()``

At the end the clock jumps three times by 50 s without pongs: every session dies of ping
timeout and every deadline fires.

The application (the suite's reference server plus a few verbs): CONNECT is accepted and
answered with ``auth`` (the CONNECT payload) unless the payload (revision 4: the namespace
query) has ``refuse`` or ``"token": "bad"`` (refused) or ``wait`` (deferred to action 6);
``auth.room`` is joined; ``message`` is echoed as ``message-back``,
``message-with-ack`` acknowledged with its arguments, any other event with an ack id
acknowledged empty; ``join``/``leave`` a room, ``broadcast`` (to room ``args[0]``, the
sender excepted), ``ask`` (emit_with_ack, 1 s), ``ask-all`` (broadcast_with_ack, 1 s),
``bye`` (disconnect), ``kill`` (disconnect with close), ``volatile`` (volatile emit).

Invariants:
  * ``handle_engine_event``, ``handle_timeout`` and ``close`` never raise;
  * app calls on sockets the server reports as existing never raise, except
    ``EncodeError`` when echoing what the client sent (e.g. an integer beyond 2**53);
    ``accept``/``refuse`` of a CONNECTING socket return True; a recovered socket has its
    session data (set at its first accept) and its own room back;
  * every ``ConnectRequested`` sid is unique among live sockets, and its Engine.IO
    session is open; ``EventReceived`` only for live sockets;
  * every socket gets at most one ``Disconnected`` (refused sockets none), and none once
    it is gone; once the server has processed everything, every live socket's session
    is open and ``state(sid)`` agrees with the events (CONNECTING until accepted);
  * ``AckReceived``/``AckTimedOut`` at most once per (sid, ack id) and only for an
    ``emit_with_ack``; pending acks only on live sockets (a leaving socket times them
    out); ``BroadcastAckCompleted`` at most once per ack id, with responses and missing
    splitting its targets into ``responses`` and ``missing`` (without a timeout, only
    targets that left are missing), and none left pending once all its targets are gone;
  * a message the server's own parser refuses (fed to a replica decoder) closes the
    connection at once; after a connection is closed nothing more is sent on its
    WebSocket (``SendWebSocket`` after ``CloseWebSocket`` is a violation) and no socket
    joins on it;
  * every Engine.IO message the server sends decodes (``decode_packet``), opens with the
    handshake, and its Socket.IO messages decode with a fresh client-side ``Decoder``
    (``MsgpackDecoder``) per session, reassembling attachments, into valid packets: a
    CONNECT reply carries the requested sid (and a pid with recovery), a CONNECT_ERROR a
    message, no ACK/DISCONNECT/ack-requesting EVENT for a namespace without a CONNECT
    reply; no packet is left half-sent between two drains;
  * ``next_deadline()`` of either machine is never at or before ``now`` right after its
    ``handle_timeout(now)``, nor in the past after any step;
  * at the end, after the final jumps: no live socket, no session, no pending ack or
    broadcast ack, and no deadline left.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import fuzzlib
from fuzzlib import check

with fuzzlib.instrumented(__name__):
    from socketio_proto.engineio import events as eio
    from socketio_proto.engineio.config import EngineConfig
    from socketio_proto.engineio.http import HttpRequest
    from socketio_proto.engineio.packet import PacketType as EioType
    from socketio_proto.engineio.packet import decode_packet
    from socketio_proto.engineio.server import EngineServer, SessionState, WebSocketAccepted
    from socketio_proto.errors import EncodeError, LocalProtocolError, ProtocolError
    from socketio_proto.limits import Limits
    from socketio_proto.socketio import events as sio
    from socketio_proto.socketio.config import RecoveryConfig, ServerConfig
    from socketio_proto.socketio.msgpack import MsgpackDecoder, MsgpackEncoder
    from socketio_proto.socketio.packet import PacketType, SocketIORevision, payload_error
    from socketio_proto.socketio.parser import Decoder, PacketDecoder
    from socketio_proto.socketio.server import SocketServer, SocketState

MAX_STEPS = 64
SLOTS = 3
TICKS = (0.05, 0.25, 0.5, 1.0, 1.6, 2.5, 5.5, 12.0)
FINAL_TICKS = (50.0, 50.0, 50.0)
PING_INTERVAL = 2.0
PING_TIMEOUT = 1.0
CONNECT_TIMEOUT = 3.0
ACK_TIMEOUT = 1.0
RECOVERY = RecoveryConfig(max_disconnection_duration=5, max_stored_packets=6)
SMALL_LIMITS = Limits(
    max_payload_bytes=1000,
    max_packets_per_payload=16,
    max_attachments=3,
    max_ack_id_digits=6,
    max_json_depth=8,
)
TIGHT_LIMITS = Limits(
    max_payload_bytes=128,
    max_packets_per_payload=4,
    max_attachments=1,
    max_ack_id_digits=2,
    max_json_depth=3,
)
HUGE_LIMITS = Limits(max_attachments=2**62, max_ack_id_digits=2**62, max_json_depth=2**62)
DYNAMIC = re.compile(r"/dyn-[a-z0-9]*")
DELIVERED = frozenset(
    {
        PacketType.CONNECT,
        PacketType.DISCONNECT,
        PacketType.EVENT,
        PacketType.ACK,
        PacketType.CONNECT_ERROR,
    }
)
_CONNECTING = SocketState.CONNECTING
_CONNECTED = SocketState.CONNECTED


@dataclass(slots=True)
class Ws:
    """One WebSocket as its client sees it."""

    ws_id: int
    eio: int
    revision: SocketIORevision
    #: Client side: decodes what the server sends.
    decoder: PacketDecoder
    eio_sid: str | None = None
    closed: bool = False
    #: Namespaces with a CONNECT reply (and no DISCONNECT/CONNECT_ERROR since).
    replied: set[str] = field(default_factory=set)
    #: Namespace -> the sid of its last CONNECT reply.
    sids: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Live:
    """A socket the server reported (ConnectRequested) and that has not left."""

    namespace: str
    eio_sid: str
    state: SocketState = _CONNECTING


@dataclass(frozen=True, slots=True)
class Record:
    """A socket whose CONNECT reply carried a pid (for recovery attempts)."""

    namespace: str
    pid: str
    sid: str


class Run:
    """One input: the machines, the client-side view and the model of what was reported."""

    def __init__(self, mode: int) -> None:
        self.mode = mode
        self.recovery = bool(mode & 4)
        self.msgpack = bool(mode & 8)
        self.autopong = bool(mode & 128)
        self.limits = TIGHT_LIMITS if mode & 64 else SMALL_LIMITS
        eio_ids = itertools.count()
        sio_ids = itertools.count()
        self.engine = EngineServer(
            EngineConfig(
                path="/socket.io/",
                ping_interval=PING_INTERVAL,
                ping_timeout=PING_TIMEOUT,
                allow_eio3=True,
                limits=self.limits,
                sid_generator=lambda: f"e{next(eio_ids)}",
            )
        )
        self.sio = SocketServer(
            self.engine,
            ServerConfig(
                parser="msgpack" if self.msgpack else "default",
                connect_timeout=CONNECT_TIMEOUT,
                recovery=RECOVERY if self.recovery else None,
                limits=self.limits,
                id_generator=lambda: f"i{next(sio_ids)}",
            ),
            namespaces=("/custom", DYNAMIC),
        )
        self.now = 0.0
        self.step = 0
        self.slots: list[Ws | None] = [None] * SLOTS
        self.ws: dict[int, Ws] = {}
        self.by_eio: dict[str, Ws] = {}
        # Server side, per Engine.IO session: a replica of the server's own parser.
        self.replicas: dict[str, PacketDecoder] = {}
        self.closing: set[str] = set()
        self.must_close: set[str] = set()
        self.closed_eio: set[str] = set()
        self.live: dict[str, Live] = {}
        self.requested: dict[tuple[str, str], set[str]] = {}
        self.pending_acks: set[tuple[str, int]] = set()
        self.done_acks: set[tuple[str, int]] = set()
        #: Broadcast ack -> its targets and how often each had left when it was sent.
        self.broadcasts: dict[tuple[str, int], tuple[frozenset[str], dict[str, int]]] = {}
        self.departures: dict[str, int] = {}
        self.done_broadcasts: set[tuple[str, int]] = set()
        self.records: list[Record] = []
        self.offsets: dict[str, list[str]] = {}
        self.first_offset: str | None = None
        self.pings: list[Ws] = []

    # -- the engine side --------------------------------------------------------------------

    def eio_for(self, slot: int) -> int:
        eio = 3 if self.mode & 1 else 4
        if self.mode & 2 and slot == 1:
            eio = 7 - eio
        return eio

    def open(self, slot: int) -> None:
        old = self.slots[slot]
        if old is not None and not old.closed:
            self.engine.websocket_closed(old.ws_id, self.now)
            self.pump()
        eio = self.eio_for(slot)
        request = HttpRequest.from_target("GET", f"/socket.io/?EIO={eio}&transport=websocket")
        accepted = self.engine.handle_websocket(request, self.now)
        check(isinstance(accepted, WebSocketAccepted), "handshake refused: %r", accepted)
        assert isinstance(accepted, WebSocketAccepted)
        revision: SocketIORevision = 4 if eio == 3 else 5
        decoder: PacketDecoder = (
            MsgpackDecoder(limits=HUGE_LIMITS)
            if self.msgpack
            else Decoder(revision=revision, limits=HUGE_LIMITS)
        )
        ws = Ws(accepted.ws_id, eio, revision, decoder)
        self.ws[ws.ws_id] = ws
        self.slots[slot] = ws
        self.pump()
        check(ws.eio_sid is not None, "no handshake on a new WebSocket")

    def send(self, ws: Ws, message: str | bytes) -> None:
        self.drain()
        self.engine.receive_websocket_message(ws.ws_id, message, self.now)
        self.pump()

    def send_message(self, ws: Ws, message: str | bytes) -> None:
        """An Engine.IO ``message`` packet carrying ``message``."""
        if isinstance(message, str):
            self.send(ws, "4" + message)
        else:
            self.send(ws, b"\x04" + message if ws.eio == 3 else message)

    def sio_text(self, ws: Ws, text: str) -> None:
        if self.msgpack:
            try:
                packet = Decoder(limits=HUGE_LIMITS).decode(text)
                self.send_message(ws, MsgpackEncoder().encode(packet)[0])
            except ProtocolError:
                pass
            else:
                return
        self.send_message(ws, text)

    def tick(self, delta: float) -> None:
        if self.autopong:
            for ws in self.ws.values():
                if ws.eio == 3 and not ws.closed:
                    self.send(ws, "2")
        self.drain()
        self.now += delta
        now = self.now
        self.engine.handle_timeout(now)
        deadline = self.engine.next_deadline()
        check(deadline is None or deadline > now, "engine deadline %r at %r", deadline, now)
        self.pump(timers_fired=False)
        self.sio.handle_timeout(now)
        deadline = self.sio.next_deadline()
        check(deadline is None or deadline > now, "server deadline %r at %r", deadline, now)
        self.pump()

    # -- running everything to quiescence -------------------------------------------------------

    def pump(self, *, timers_fired: bool = True) -> None:
        """Run both machines and the app until nothing happens; then check the model.

        ``timers_fired`` False: the engine's timers fired but not yet the server's
        (whose deadlines may then be due).
        """
        engine, server = self.engine, self.sio
        while True:
            engine_events = engine.events()
            for event in engine_events:
                self.drain()
                self.before_engine_event(event)
                server.handle_engine_event(event, self.now)
                self.after_engine_event(event)
            sio_events = server.events()
            for sio_event in sio_events:
                self.observe(sio_event)
            for sio_event in sio_events:
                self.react(sio_event)
            self.drain()
            if self.pings:
                pings, self.pings = self.pings, []
                for ws in pings:
                    if not ws.closed:
                        engine.receive_websocket_message(ws.ws_id, "3", self.now)
                continue
            if not engine_events and not sio_events:
                break
        self.check_model(timers_fired)

    def before_engine_event(self, event: eio.ServerEvent) -> None:
        if isinstance(event, eio.SessionOpened):
            revision: SocketIORevision = 4 if event.revision == 3 else 5
            self.replicas[event.sid] = (
                MsgpackDecoder(limits=self.limits)
                if self.msgpack
                else Decoder(revision=revision, limits=self.limits)
            )
        elif isinstance(event, eio.MessageReceived):
            replica = self.replicas.get(event.sid)
            if replica is None or event.sid in self.closing:
                return
            try:
                replica.receive(event.data)
            except ProtocolError:
                self.must_close.add(event.sid)
        elif isinstance(event, eio.SessionClosed):
            self.closed_eio.add(event.sid)

    def after_engine_event(self, event: eio.ServerEvent) -> None:
        if isinstance(event, eio.MessageReceived) and event.sid in self.must_close:
            check(
                self.engine.session_state(event.sid) is SessionState.CLOSED,
                "session %s stays open after the undecodable message %r",
                event.sid,
                event.data,
            )
            self.closing.add(event.sid)
        elif isinstance(event, eio.SessionClosed):
            self.closing.add(event.sid)
            check(
                self.sio.connection_sockets(event.sid) == {},
                "sockets %r outlive session %s",
                self.sio.connection_sockets(event.sid),
                event.sid,
            )

    def drain(self) -> None:
        for out in self.engine.outputs():
            check(not isinstance(out, eio.Respond), "HTTP response without a request: %r", out)
            assert not isinstance(out, eio.Respond)
            ws = self.ws.get(out.ws_id)
            check(ws is not None, "output for unknown WebSocket %r", out)
            assert ws is not None
            check(not ws.closed, "%r after the WebSocket was closed", out)
            if isinstance(out, eio.CloseWebSocket):
                ws.closed = True
                continue
            self.client_receives(ws, out.message)
        for ws in self.ws.values():
            pending = ws.decoder.pending
            check(pending is None, "half a binary packet sent to %s: %r", ws.eio_sid, pending)

    def client_receives(self, ws: Ws, message: str | bytes) -> None:
        try:
            packet = decode_packet(message, 3 if ws.eio == 3 else 4)
        except ProtocolError as exc:
            check(False, "server sent an undecodable Engine.IO message %r: %s", message, exc)
            raise
        if ws.eio_sid is None:
            check(packet.type is EioType.OPEN, "first message %r is not the handshake", message)
            assert isinstance(packet.data, str)
            handshake = json.loads(packet.data)
            ws.eio_sid = handshake["sid"]
            self.by_eio[handshake["sid"]] = ws
            return
        kind = packet.type
        if kind is EioType.MESSAGE:
            self.client_decodes(ws, packet.data)
        elif kind is EioType.PING:
            check(ws.eio == 4, "EIO 3 server sent a ping")
            if self.autopong:
                self.pings.append(ws)
        else:
            check(kind is EioType.PONG and ws.eio == 3, "server sent %r", message)

    def client_decodes(self, ws: Ws, data: str | bytes) -> None:
        check(not self.msgpack or isinstance(data, bytes), "msgpack server sent text %r", data)
        try:
            packet = ws.decoder.receive(data)
        except ProtocolError as exc:
            check(False, "client cannot decode %r from the server: %s", data, exc)
            raise
        if packet is None:
            return
        check(packet.type in DELIVERED, "client decoded a %r packet", packet.type)
        problem = payload_error(packet.type, packet.data, ws.revision)
        check(problem is None, "server sent an invalid payload (%s): %r", problem, packet)
        name, payload = packet.namespace, packet.data
        # The msgpack parser takes any string as a namespace (as JS does), and a
        # CONNECT_ERROR answers with the name the client sent.
        check(
            self.msgpack or (name.startswith("/") and "," not in name),
            "bad namespace in %r",
            packet,
        )
        kind = packet.type
        if kind is PacketType.CONNECT:
            if ws.revision == 5:
                check(
                    isinstance(payload, dict) and isinstance(payload.get("sid"), str),
                    "CONNECT reply without sid: %r",
                    packet,
                )
                sid = payload["sid"]
                assert ws.eio_sid is not None
                check(
                    sid in self.requested.get((ws.eio_sid, name), ()),
                    "CONNECT reply %r names a socket never requested on %s",
                    packet,
                    ws.eio_sid,
                )
                pid = payload.get("pid")
                check(
                    isinstance(pid, str) if self.recovery else "pid" not in payload,
                    "CONNECT reply %r (recovery %s)",
                    packet,
                    self.recovery,
                )
                if isinstance(pid, str):
                    self.records.append(Record(name, pid, sid))
                ws.sids[name] = sid
            else:
                check(payload is None, "revision 4 CONNECT reply with a payload: %r", packet)
            ws.replied.add(name)
        elif kind is PacketType.CONNECT_ERROR:
            if ws.revision == 5:
                check(
                    isinstance(payload, dict) and isinstance(payload.get("message"), str),
                    "CONNECT_ERROR without message: %r",
                    packet,
                )
            ws.replied.discard(name)
        elif kind is PacketType.DISCONNECT:
            check(name in ws.replied, "DISCONNECT for %s without a CONNECT reply", name)
            ws.replied.discard(name)
        elif kind is PacketType.ACK:
            check(name in ws.replied, "ACK for %s without a CONNECT reply", name)
        else:
            check(
                name in ws.replied or (packet.id is None and self.recovery),
                "EVENT %r for a namespace without a CONNECT reply",
                packet,
            )
            if self.recovery and packet.id is None and isinstance(payload[-1], str):
                sid = ws.sids.get(name)
                if sid is not None:
                    self.offsets.setdefault(sid, []).append(payload[-1])
                if self.first_offset is None:
                    self.first_offset = payload[-1]

    # -- the model of what the server reported ---------------------------------------------------

    def observe(self, event: sio.ServerEvent) -> None:
        if isinstance(event, sio.ConnectRequested):
            check(event.sid not in self.live, "ConnectRequested for live socket %s", event.sid)
            check(
                event.eio_sid not in self.closing,
                "socket %s joins on closed session %s",
                event.sid,
                event.eio_sid,
            )
            self.live[event.sid] = Live(event.namespace, event.eio_sid)
            self.requested.setdefault((event.eio_sid, event.namespace), set()).add(event.sid)
        elif isinstance(event, sio.Disconnected):
            check(event.sid in self.live, "Disconnected for %s, which is not live", event.sid)
            if event.reason is sio.DisconnectReason.PARSE_ERROR:
                self.must_close.add(self.live[event.sid].eio_sid)
            del self.live[event.sid]
            self.departures[event.sid] = self.departures.get(event.sid, 0) + 1
        elif isinstance(event, sio.EventReceived):
            live = self.live.get(event.sid)
            check(
                live is not None and live.state is _CONNECTED,
                "EventReceived for socket %s (%r)",
                event.sid,
                live,
            )
        elif isinstance(event, sio.AckReceived | sio.AckTimedOut):
            key = (event.sid, event.ack_id)
            check(key not in self.done_acks, "second outcome for ack %r: %r", key, event)
            check(key in self.pending_acks, "outcome for an ack never requested: %r", event)
            self.pending_acks.discard(key)
            self.done_acks.add(key)
        else:
            key = (event.namespace, event.ack_id)
            check(key not in self.done_broadcasts, "broadcast ack %r completed twice", key)
            entry = self.broadcasts.pop(key, None)
            check(entry is not None, "completion of unknown broadcast ack %r", event)
            assert entry is not None
            targets, counts = entry
            self.done_broadcasts.add(key)
            responded = set(event.responses)
            check(
                responded | event.missing == targets and responded.isdisjoint(event.missing),
                "broadcast ack %r for targets %r",
                event,
                targets,
            )
            # Without a timeout, the missing ones are those that left since.
            check(
                event.timed_out
                or all(
                    self.departures.get(sid, 0) > count
                    for sid, count in counts.items()
                    if sid in event.missing
                ),
                "broadcast ack %r completed early, some of %r never left",
                event,
                event.missing,
            )

    def check_model(self, timers_fired: bool) -> None:
        server, now = self.sio, self.now
        sessions = self.engine.sessions
        for sid, live in self.live.items():
            check(live.eio_sid in sessions, "socket %s outlives session %s", sid, live.eio_sid)
            state = server.state(sid)
            check(state is live.state, "socket %s is %r, events say %r", sid, state, live.state)
        for sid, _ in self.pending_acks:
            check(sid in self.live, "ack pending for socket %s, which is gone", sid)
        for key, (targets, _) in self.broadcasts.items():
            check(
                any(sid in self.live for sid in targets),
                "broadcast ack %r pending but its targets %r are gone",
                key,
                targets,
            )
        for eio_sid in self.must_close:
            ws = self.by_eio.get(eio_sid)
            check(
                eio_sid not in sessions and (ws is None or ws.closed),
                "session %s closed for a parse error, but it or its WebSocket is open",
                eio_sid,
            )
        deadlines = [self.engine.next_deadline()]
        if timers_fired:
            deadlines.append(server.next_deadline())
        for deadline in deadlines:
            check(
                deadline is None or deadline >= now, "deadline %r in the past (%r)", deadline, now
            )

    # -- the application ---------------------------------------------------------------------------

    def call(self, what: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """An app call that must not fail (harness data only)."""
        try:
            return function(*args, **kwargs)
        except LocalProtocolError as exc:
            check(False, "%s raised %r", what, exc)
            raise

    def echo(self, what: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """An app call carrying client data: ``EncodeError`` is the only allowed failure."""
        try:
            function(*args, **kwargs)
        except EncodeError:
            pass
        except LocalProtocolError as exc:
            check(False, "%s raised %r", what, exc)
            raise

    def alive(self, sid: str) -> bool:
        return self.sio.state(sid) is not SocketState.NONE

    def accept(self, sid: str) -> None:
        check(self.call("accept", self.sio.accept, sid) is True, "accept failed")
        self.live[sid].state = _CONNECTED
        # Session data survives a recovery: a recovered socket finds it (see react()).
        self.call("session", self.sio.session, sid).setdefault("first", sid)

    def refuse(self, sid: str) -> None:
        result = self.call("refuse", self.sio.refuse, sid, "refused", {"by": "app"})
        check(result is True, "refuse failed")
        del self.live[sid]
        self.departures[sid] = self.departures.get(sid, 0) + 1

    def emit_with_ack(
        self, sid: str, *args: Any, timeout: float | None, echo: bool = False
    ) -> None:
        try:
            ack_id = self.sio.emit_with_ack(sid, *args, timeout=timeout, now=self.now)
        except EncodeError:
            check(echo, "emit_with_ack refused harness data")
            return
        except LocalProtocolError as exc:
            check(False, "emit_with_ack raised %r", exc)
            raise
        key = (sid, ack_id)
        check(key not in self.pending_acks and key not in self.done_acks, "ack id reused %r", key)
        self.pending_acks.add(key)

    def broadcast_with_ack(
        self, namespace: str, *args: Any, to: str | None = None, timeout: float | None
    ) -> None:
        server = self.sio
        targets = frozenset(server.sockets(namespace, to))
        try:
            ack_id = server.broadcast_with_ack(
                *args, namespace=namespace, to=to, timeout=timeout, now=self.now
            )
        except EncodeError:
            return
        except LocalProtocolError as exc:
            check(False, "broadcast_with_ack raised %r", exc)
            raise
        key = (namespace, ack_id)
        check(key not in self.done_broadcasts, "broadcast ack id %r reused", key)
        # Its completion (at once when there is no target) is observed in pump().
        self.broadcasts[key] = (targets, {sid: self.departures.get(sid, 0) for sid in targets})

    def react(self, event: sio.ServerEvent) -> None:
        server = self.sio
        if isinstance(event, sio.ConnectRequested):
            sid, auth = event.sid, event.auth
            if not self.alive(sid):
                return
            if event.recovered:
                data = self.call("session", server.session, sid)
                check(data.get("first") == sid, "recovered socket %s has session %r", sid, data)
                check(sid in server.rooms(sid), "recovered socket %s not in its own room", sid)
            if isinstance(auth, dict) and ("refuse" in auth or auth.get("token") == "bad"):
                self.refuse(sid)
                return
            if isinstance(auth, dict) and "wait" in auth:
                self.call("emit", server.emit, "welcome", namespace=event.namespace, to=sid)
                return
            self.accept(sid)
            self.echo(
                "emit auth",
                server.emit,
                "auth",
                auth if auth is not None else {},
                namespace=event.namespace,
                to=sid,
            )
            room = auth.get("room") if isinstance(auth, dict) else None
            if isinstance(room, str):
                self.call("enter_room", server.enter_room, sid, room)
            return
        if not isinstance(event, sio.EventReceived) or not self.alive(event.sid):
            return
        sid, name, args, ack_id = event.sid, event.event, event.args, event.ack_id
        namespace = event.namespace
        first = args[0] if args and isinstance(args[0], str) else None
        if name == "message":
            self.echo("echo", server.emit, "message-back", *args, namespace=namespace, to=sid)
        elif name == "join":
            self.call("enter_room", server.enter_room, sid, first or "r0")
        elif name == "leave":
            self.call("leave_room", server.leave_room, sid, first or "r0")
        elif name == "broadcast":
            self.echo(
                "broadcast",
                server.emit,
                "broadcast",
                *args[1:],
                namespace=namespace,
                to=first,
                exclude=sid,
            )
        elif name == "ask":
            self.emit_with_ack(sid, "question", *args, timeout=ACK_TIMEOUT, echo=True)
        elif name == "ask-all":
            self.broadcast_with_ack(namespace, "question", *args, to=first, timeout=ACK_TIMEOUT)
        elif name == "bye":
            self.call("disconnect", server.disconnect, sid, now=self.now)
        elif name == "kill":
            self.call("disconnect", server.disconnect, sid, close=True, now=self.now)
        elif name == "volatile":
            self.echo("volatile", server.emit, "v", *args, namespace=namespace, volatile=True)
        if ack_id is not None and self.alive(sid):
            if name == "message-with-ack":
                self.echo("ack", server.ack, sid, ack_id, *args)
            else:
                self.call("ack", server.ack, sid, ack_id)

    def socket_op(self, ws: Ws, arg: int, payload: bytes) -> None:
        server = self.sio
        assert ws.eio_sid is not None
        sockets = sorted(server.connection_sockets(ws.eio_sid).items())
        if not sockets:
            return
        namespace, sid = sockets[payload[0] % len(sockets) if payload else 0]
        connecting = server.state(sid) is _CONNECTING
        if arg == 0:
            if connecting:
                self.accept(sid)
            else:
                self.call("emit", server.emit, "tick", b"\x01\x02", namespace=namespace, to=sid)
        elif arg == 1:
            if connecting:
                self.refuse(sid)
            else:
                self.call("enter_room", server.enter_room, sid, "r1")
        elif arg in (2, 3):
            self.call("disconnect", server.disconnect, sid, close=arg == 3, now=self.now)
        elif arg == 4:
            self.emit_with_ack(sid, "question", 1, timeout=ACK_TIMEOUT)
        elif arg == 5:
            self.emit_with_ack(sid, "question", b"\x03", timeout=None)
        elif arg == 6:
            self.call("enter_room", server.enter_room, sid, "r0")
        else:
            self.call("leave_room", server.leave_room, sid, "r0")
        self.pump()

    def server_op(self, arg: int) -> None:
        server = self.sio
        if arg == 0:
            self.call("emit", server.emit, "news", {"step": self.step}, now=self.now)
        elif arg == 1:
            self.call("emit", server.emit, "news", b"\x00\x01", to="r0", now=self.now)
        elif arg == 2:
            self.broadcast_with_ack("/", "poll", timeout=ACK_TIMEOUT)
        elif arg == 3:
            self.broadcast_with_ack("/custom", "poll", [1], to="r0", timeout=None)
        elif arg == 4:
            self.call("close_room", server.close_room, "r0")
        elif arg == 5:
            self.call("emit", server.emit, "news", namespace="/custom", volatile=True)
        elif arg == 6:
            self.call("emit", server.emit, "news", 6, namespace="/custom", to="r0", exclude="r1")
        else:
            server.close(self.now)
        self.pump()

    def reopen(self, slot: int, arg: int, payload: bytes) -> None:
        self.open(slot)
        if arg == 0 or not self.records:
            return
        record = self.records[payload[0] % len(self.records) if payload else -1]
        offsets = self.offsets.get(record.sid)
        last = offsets[-1] if offsets else self.first_offset or "none"
        auth: dict[str, Any] = {"pid": record.pid}
        if arg in (1, 6, 7):
            auth["offset"] = last
        elif arg == 2:
            auth["offset"] = self.first_offset or last
        elif arg == 3:
            auth["offset"] = "unknown"
        elif arg == 5:
            auth["offset"] = 5
        if arg == 6:
            auth["wait"] = 1
        elif arg == 7:
            auth["token"] = "bad"
        ws = self.slots[slot]
        assert ws is not None
        prefix = "" if record.namespace == "/" else record.namespace + ","
        self.sio_text(ws, "0" + prefix + json.dumps(auth, separators=(",", ":")))

    def run_step(self, control: int, payload: bytes) -> None:
        slot = (control & 3) % SLOTS
        action = (control >> 2) & 7
        arg = control >> 5
        if action == 4:
            self.tick(TICKS[arg])
            return
        if action == 5:
            self.reopen(slot, arg, payload)
            return
        if action == 7:
            self.server_op(arg)
            return
        ws = self.slots[slot]
        if ws is None:
            return
        if action == 0:
            self.sio_text(ws, fuzzlib.text(payload))
        elif action == 1:
            self.send_message(ws, payload)
        elif action == 2:
            self.send(ws, payload if arg & 1 else fuzzlib.text(payload))
        elif action == 3:
            if not ws.closed:
                self.engine.websocket_closed(ws.ws_id, self.now, error=bool(arg & 1))
                self.pump()
        elif not ws.closed:
            self.socket_op(ws, arg, payload)

    def finish(self) -> None:
        self.autopong = False
        for delta in FINAL_TICKS:
            self.tick(delta)
        check(not self.live, "sockets %r survive the end", sorted(self.live))
        check(not self.engine.sessions, "sessions %r survive the end", self.engine.sessions)
        check(not self.pending_acks, "acks %r never resolved", sorted(self.pending_acks))
        check(not self.broadcasts, "broadcast acks %r never completed", sorted(self.broadcasts))
        check(self.engine.next_deadline() is None, "engine deadline left at the end")
        check(self.sio.next_deadline() is None, "server deadline left at the end")


def TestOneInput(data: bytes) -> None:
    mode, body = fuzzlib.split_input(data)
    run = Run(mode)
    for slot in range(((mode >> 4) & 3) % 3 + 1):
        run.open(slot)
    for chunk in body.split(b"\xff")[:MAX_STEPS]:
        if not chunk:
            continue
        run.step += 1
        run.run_step(chunk[0], chunk[1:])
    run.finish()


if __name__ == "__main__":
    fuzzlib.main(TestOneInput)
    sys.exit(0)
