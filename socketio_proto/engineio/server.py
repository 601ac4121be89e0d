"""The Engine.IO server machine: a session table driven by parsed requests.

Drive it with :meth:`EngineServer.handle_request` (plain HTTP: polling and
handshakes), :meth:`~EngineServer.handle_websocket` (an upgrade request) and
:meth:`~EngineServer.receive_websocket_message`; tell it when transports go
away; call :meth:`~EngineServer.handle_timeout` at :meth:`~EngineServer.next_deadline`.
Read what happened from :meth:`~EngineServer.events` (for the application) and
:meth:`~EngineServer.outputs` (HTTP responses and WebSocket actions).

Sends are queued and only flushed when :meth:`~EngineServer.outputs` is
drained, so everything sent between two drains leaves in one polling response.
Nothing here reads a clock, sleeps or touches a socket: time comes in as ``now``.
"""

from __future__ import annotations

import base64
import gzip
import heapq
import itertools
import json
import secrets
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from .._fastinit import StateEnum
from ..errors import LimitExceeded, LocalProtocolError, RemoteProtocolError
from .config import EngineConfig
from .events import (
    CloseReason,
    CloseWebSocket,
    MessageReceived,
    Output,
    Respond,
    SendWebSocket,
    ServerEvent,
    SessionClosed,
    SessionOpened,
    SessionUpgraded,
)
from .http import EngineErrorCode, HttpRequest, HttpResponse, error_response
from .packet import (
    EngineRevision,
    Packet,
    PacketType,
    decode_packet,
    encode_packet,
    message_packet,
)
from .payload import (
    check_pollable_v4,
    decode_jsonp_post,
    decode_payload,
    encode_jsonp,
    encode_payload,
)

__all__ = ["EngineServer", "SessionState", "WebSocketAccepted"]

PING = Packet(PacketType.PING)
PONG = Packet(PacketType.PONG)
NOOP = Packet(PacketType.NOOP)
CLOSE = Packet(PacketType.CLOSE)
PROBE_PONG = Packet(PacketType.PONG, "probe")

WS_NORMAL = 1000
WS_PROTOCOL_ERROR = 1002
WS_MESSAGE_TOO_BIG = 1009

_OK_BODY: Final = b"ok"


class SessionState(StateEnum):
    """Where a session's transport stands."""

    POLLING = "polling"
    #: Polling is active and a WebSocket probe is open, waiting for ``2probe``.
    PROBING = "probing"
    #: The probe answered ``3probe``; waiting for ``5`` while the client pauses polling.
    UPGRADING = "upgrading"
    WEBSOCKET = "websocket"
    #: The application closed a polling session; waiting for a GET to carry ``1``.
    CLOSING = "closing"
    CLOSED = "closed"


class _Input(StateEnum):
    PROBE_OPENED = "probe opened"
    PROBE_PING = "2probe"
    PROBE_UPGRADE = "5"
    PROBE_FAILED = "probe failed"
    CLOSE_REQUESTED = "close requested"
    CLOSED = "closed"


_S = SessionState
#: Every transition a session can make; anything else is a bug in this module.
TRANSITIONS: Final[dict[tuple[SessionState, _Input], SessionState]] = {
    (_S.POLLING, _Input.PROBE_OPENED): _S.PROBING,
    (_S.PROBING, _Input.PROBE_PING): _S.UPGRADING,
    (_S.PROBING, _Input.PROBE_FAILED): _S.POLLING,
    (_S.UPGRADING, _Input.PROBE_FAILED): _S.POLLING,
    (_S.UPGRADING, _Input.PROBE_UPGRADE): _S.WEBSOCKET,
    (_S.POLLING, _Input.CLOSE_REQUESTED): _S.CLOSING,
    **{(state, _Input.CLOSED): _S.CLOSED for state in _S if state is not _S.CLOSED},
}

_POLLING_STATES: Final = frozenset({_S.POLLING, _S.PROBING, _S.UPGRADING, _S.CLOSING})


@dataclass(frozen=True, slots=True)
class WebSocketAccepted:
    """Complete the WebSocket handshake (adding ``headers`` to the 101), then use ``ws_id``."""

    ws_id: int
    headers: tuple[tuple[str, str], ...] = ()


class _Session:
    __slots__ = (
        "close_due",
        "get_request",
        "get_request_id",
        "grace_used",
        "liveness_due",
        "ping_due",
        "plain",
        "pong_due",
        "probe",
        "queue",
        "revision",
        "scheduled",
        "sid",
        "state",
        "supports_binary",
        "upgrade_due",
        "ws",
    )

    def __init__(
        self, sid: str, revision: EngineRevision, supports_binary: bool, state: SessionState
    ) -> None:
        self.sid = sid
        self.revision: EngineRevision = revision
        self.supports_binary = supports_binary
        self.state = state
        self.queue: list[Packet] = []
        # How many queued messages were sent with compress=False.
        self.plain = 0
        self.get_request_id: int | None = None
        self.get_request: HttpRequest | None = None
        self.ws: int | None = None
        self.probe: int | None = None
        self.ping_due: float | None = None
        self.pong_due: float | None = None
        self.grace_used = False
        self.liveness_due: float | None = None
        self.upgrade_due: float | None = None
        self.close_due: float | None = None
        self.scheduled: float | None = None

    def transition(self, event: _Input) -> None:
        try:
            self.state = TRANSITIONS[self.state, event]
        except KeyError:
            raise LocalProtocolError(
                f"session {self.sid}: no transition from {self.state.name} on {event.value}"
            ) from None

    def deadline(self) -> float | None:
        due = [
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
        return min(due) if due else None

    @property
    def transport_name(self) -> str:
        return "polling" if self.state in _POLLING_STATES else "websocket"


class EngineServer:
    """All Engine.IO sessions of one server endpoint."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config if config is not None else EngineConfig()
        self._sessions: dict[str, _Session] = {}
        self._ws_owner: dict[int, _Session] = {}
        self._get_owner: dict[int, _Session] = {}
        self._events: list[ServerEvent] = []
        self._outputs: list[Output] = []
        self._dirty: dict[str, _Session] = {}
        # The last message _send_now encoded, how, and the result (for broadcasts).
        self._last_sent: tuple[str | bytes, int, bool, str | bytes] | None = None
        self._timers: list[tuple[float, int, str]] = []
        self._ids = itertools.count(1)
        self._timer_seq = itertools.count()
        self._sid_counter = itertools.count(secrets.randbelow(1 << 24))

    # -- public queries -------------------------------------------------------------

    @property
    def sessions(self) -> frozenset[str]:
        """The ids of every session not yet closed."""
        return frozenset(self._sessions)

    def session_state(self, sid: str) -> SessionState:
        """The state of session ``sid`` (CLOSED for unknown or closed ids)."""
        session = self._sessions.get(sid)
        return session.state if session is not None else SessionState.CLOSED

    def revision(self, sid: str) -> EngineRevision:
        """The Engine.IO revision of open session ``sid`` (LocalProtocolError if unknown)."""
        return self._require(sid).revision

    def transport(self, sid: str) -> str:
        """The current transport of open session ``sid`` (LocalProtocolError if unknown)."""
        return self._require(sid).transport_name

    def events(self) -> list[ServerEvent]:
        """Drain the application events that happened since the last call."""
        events, self._events = self._events, []
        return events

    def outputs(self) -> list[Output]:
        """Flush queued packets, then drain the transport actions, in order."""
        if self._dirty:
            dirty, self._dirty = self._dirty, {}
            for session in dirty.values():
                self._flush(session)
        outputs, self._outputs = self._outputs, []
        return outputs

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timeout` must next be called (None: nothing scheduled)."""
        timers = self._timers
        while timers:
            deadline, _, sid = timers[0]
            session = self._sessions.get(sid)
            if session is not None and session.scheduled == deadline:
                return deadline
            heapq.heappop(timers)
        return None

    # -- application calls ------------------------------------------------------------

    def send(self, sid: str, data: str | bytes) -> bool:
        """Queue one message; False if the session is gone or closing (it is dropped)."""
        return self.send_many(sid, (data,))

    def writable(self, sid: str) -> bool:
        """Whether a message sent now leaves at once (volatile messages need this).

        True on an open WebSocket, or while polling with a GET waiting for data;
        False when the message would wait in the queue (or the session is gone).
        """
        session = self._sessions.get(sid)
        if session is None:
            return False
        if session.state is _S.WEBSOCKET:
            return True
        return session.state is not _S.CLOSING and session.get_request_id is not None

    def send_many(
        self, sid: str, messages: Iterable[str | bytes], *, compress: bool = True
    ) -> bool:
        """Queue several messages back to back (e.g. a Socket.IO packet and its attachments).

        ``compress=False`` keeps a polling response that carries only such
        messages uncompressed (as in JS, one compressible packet is enough to
        compress the body).  WebSocket compression is per connection.
        """
        session = self._sessions.get(sid)
        if session is None:
            return False
        state = session.state
        if state is _S.WEBSOCKET and not session.queue:
            self._send_now(session, messages)
            return True
        if state is _S.CLOSING or state is _S.CLOSED:
            return False
        # Validate everything first, so a bad message queues none of the batch.
        packets = [message_packet(data) for data in messages]
        if session.revision == 4 and session.state is not _S.WEBSOCKET:
            check_pollable_v4(packets)  # it may still leave by polling
        if (
            session.state is not _S.WEBSOCKET
            and len(session.queue) + len(packets) > self.config.max_queued_packets
        ):
            # The client stopped polling: do not let its backlog grow (on a WebSocket
            # the queue leaves at every flush and the adapter bounds the socket buffer).
            self._terminate(session, CloseReason.TRANSPORT_ERROR, detail="slow consumer")
            return False
        session.queue.extend(packets)
        if not compress:
            session.plain += len(packets)
        self._dirty[sid] = session
        return True

    def close(self, sid: str, now: float) -> None:
        """Close a session from the server side, after what was queued is delivered."""
        session = self._sessions.get(sid)
        if session is None or session.state is _S.CLOSING:
            return
        if session.state in (_S.PROBING, _S.UPGRADING):
            self._probe_failed(session)  # the session closes on the transport it has
        if session.state is _S.WEBSOCKET:
            self._flush(session)
            self._terminate(session, CloseReason.SERVER_CLOSE, WS_NORMAL)
        elif session.get_request_id is not None:
            session.queue.append(CLOSE)
            self._respond_poll(session, session.queue)
            session.queue = []
            self._terminate(session, CloseReason.SERVER_CLOSE)
        else:
            self._dirty.pop(sid, None)
            session.transition(_Input.CLOSE_REQUESTED)
            session.ping_due = session.pong_due = session.liveness_due = None
            session.close_due = now + self.config.close_timeout
            self._schedule(session)

    def handle_timeout(self, now: float) -> None:
        """Fire every deadline that is due at ``now``."""
        timers = self._timers
        while timers and timers[0][0] <= now:
            deadline, _, sid = heapq.heappop(timers)
            session = self._sessions.get(sid)
            if session is None or session.scheduled != deadline:
                continue
            session.scheduled = None
            self._fire(session, now)
            if session.state is not _S.CLOSED:
                self._schedule(session)

    # -- transport inputs ---------------------------------------------------------------

    def handle_request(self, request: HttpRequest, now: float) -> int:
        """Take a complete plain-HTTP request; returns its id.

        The response appears in :meth:`outputs` as ``Respond(request_id, ...)``,
        at once or -- for a polling GET with nothing to send -- later.
        """
        request_id = next(self._ids)
        response = self._route(request_id, request, now)
        if response is not None:
            self._outputs.append(Respond(request_id, response))
        return request_id

    def request_aborted(self, request_id: int, now: float) -> None:
        """The client went away before request ``request_id`` was answered."""
        session = self._get_owner.pop(request_id, None)
        if session is None or session.get_request_id != request_id:
            return
        session.get_request_id = session.get_request = None
        self._terminate(session, CloseReason.TRANSPORT_ERROR)

    def handle_websocket(
        self, request: HttpRequest, now: float
    ) -> WebSocketAccepted | HttpResponse:
        """Decide on a WebSocket upgrade request, before the handshake completes.

        Returns :class:`WebSocketAccepted` (complete the handshake, then drain
        :meth:`outputs`) or the HTTP response to refuse it with.
        """
        cors = self._cors_headers(request)
        transport_known = (
            request.query.get("transport") == "websocket" and "websocket" in self.config.transports
        )
        refusal = self._check_common(request, cors, transport_known)
        if refusal is not None:
            return refusal
        sid = request.query.get("sid")
        if sid is None:
            refusal = self._check_handshake(request, cors)
            if refusal is not None:
                return refusal
            revision = _parse_revision(request.query.get("EIO"))
            assert revision is not None
            ws_id = next(self._ids)
            opened = self._open_session(request, revision, _S.WEBSOCKET, now)
            opened.ws = ws_id
            self._ws_owner[ws_id] = opened
            self._outputs.append(SendWebSocket(ws_id, encode_packet(self._open_packet(opened, []))))
            return WebSocketAccepted(ws_id, self._cookie_headers(opened.sid))
        session = self._sessions.get(sid)
        if session is None:
            return error_response(EngineErrorCode.UNKNOWN_SID, extra_headers=cors)
        if _parse_revision(request.query.get("EIO")) != session.revision:
            return error_response(EngineErrorCode.BAD_REQUEST, extra_headers=cors)
        ws_id = next(self._ids)
        if session.state is not _S.POLLING or not self.config.allow_upgrades:
            # Already upgrading or upgraded (or closing): accept, then close at once.
            self._outputs.append(CloseWebSocket(ws_id, WS_NORMAL))
            return WebSocketAccepted(ws_id)
        session.transition(_Input.PROBE_OPENED)
        session.probe = ws_id
        session.upgrade_due = now + self.config.upgrade_timeout
        self._ws_owner[ws_id] = session
        self._schedule(session)
        return WebSocketAccepted(ws_id)

    def receive_websocket_message(self, ws_id: int, message: str | bytes, now: float) -> None:
        """One complete message arrived on WebSocket ``ws_id``."""
        session = self._ws_owner.get(ws_id)
        if session is None:
            return
        if _exceeds(message, self.config.limits.max_payload_bytes):
            if ws_id == session.probe:
                self._probe_failed(session)
            else:
                self._terminate(session, CloseReason.TRANSPORT_ERROR, WS_MESSAGE_TOO_BIG)
            return
        try:
            packet = decode_packet(message, session.revision)
        except RemoteProtocolError:
            if ws_id == session.probe:
                self._probe_failed(session)
            else:
                self._terminate(session, CloseReason.PARSE_ERROR, WS_PROTOCOL_ERROR)
            return
        if ws_id == session.probe:
            self._on_probe_packet(session, packet, now)
        else:
            self._on_packet(session, packet, now)

    def websocket_closed(self, ws_id: int, now: float, *, error: bool = False) -> None:
        """WebSocket ``ws_id`` is gone: closed by the peer, or (``error``) failed.

        A failure (bad framing, an oversized message) ends its session with
        "transport error" rather than "transport close".
        """
        session = self._ws_owner.pop(ws_id, None)
        if session is None:
            return
        if ws_id == session.probe:
            session.probe = None
            self._probe_failed(session)
        elif ws_id == session.ws:
            session.ws = None
            reason = CloseReason.TRANSPORT_ERROR if error else CloseReason.TRANSPORT_CLOSE
            self._terminate(session, reason)

    def close_all(self, now: float) -> None:
        """Close every session (server shutdown)."""
        for sid in list(self._sessions):
            self.close(sid, now)

    # -- routing --------------------------------------------------------------------------

    def _route(self, request_id: int, request: HttpRequest, now: float) -> HttpResponse | None:
        cors = self._cors_headers(request)
        if request.method == "OPTIONS" and self.config.cors_allowed_origins is not None:
            return self._preflight(request, cors)
        transport = request.query.get("transport")
        refusal = self._check_common(request, cors, transport in self.config.transports)
        if refusal is not None:
            return refusal
        sid = request.query.get("sid")
        if sid is None:
            if transport == "websocket" and request.method == "GET":
                # A WebSocket handshake without the upgrade (checked before allow_request,
                # as in JS; a non-GET gets code 2 from _check_handshake).
                return error_response(EngineErrorCode.BAD_REQUEST, extra_headers=cors)
            refusal = self._check_handshake(request, cors)
            if refusal is not None:
                return refusal
            revision = _parse_revision(request.query.get("EIO"))
            assert revision is not None
            opened = self._open_session(request, revision, _S.POLLING, now)
            upgrades = ["websocket"] if self._can_upgrade() else []
            return self._poll_response(
                opened,
                request,
                [self._open_packet(opened, upgrades)],
                self._cookie_headers(opened.sid),
            )
        session = self._sessions.get(sid)
        if session is None:
            return error_response(EngineErrorCode.UNKNOWN_SID, extra_headers=cors)
        if transport != "polling" or session.transport_name != "polling":
            return error_response(EngineErrorCode.BAD_REQUEST, extra_headers=cors)
        if _parse_revision(request.query.get("EIO")) != session.revision:
            return error_response(EngineErrorCode.BAD_REQUEST, extra_headers=cors)
        if request.method == "GET":
            return self._on_poll(session, request_id, request)
        if request.method == "POST":
            return self._on_post(session, request, now, cors)
        return error_response(EngineErrorCode.BAD_REQUEST, extra_headers=cors)

    def _check_common(
        self, request: HttpRequest, cors: tuple[tuple[str, str], ...], transport_known: bool
    ) -> HttpResponse | None:
        # JS order: transport known -> Origin characters -> (origin allowed, ours) -> ...
        if not request.path.startswith(self.config.path):
            return HttpResponse(404, (("Content-Type", "text/plain"),), b"Not Found")
        if not transport_known:
            return error_response(EngineErrorCode.UNKNOWN_TRANSPORT, extra_headers=cors)
        origin = request.header("origin")
        if origin is not None:
            if not _valid_header_value(origin):
                return error_response(EngineErrorCode.BAD_REQUEST, extra_headers=cors)
            if not self._origin_allowed(origin, request):
                return error_response(
                    EngineErrorCode.FORBIDDEN, "Not an accepted origin", extra_headers=cors
                )
        return None

    def _check_handshake(
        self, request: HttpRequest, cors: tuple[tuple[str, str], ...]
    ) -> HttpResponse | None:
        if request.method != "GET":
            return error_response(EngineErrorCode.BAD_HANDSHAKE_METHOD, extra_headers=cors)
        if self.config.allow_request is not None:
            message = self.config.allow_request(request)
            if message is not None:
                return error_response(EngineErrorCode.FORBIDDEN, message, extra_headers=cors)
        revision = _parse_revision(request.query.get("EIO"))
        if revision is None or (revision == 3 and not self.config.allow_eio3):
            return error_response(EngineErrorCode.UNSUPPORTED_PROTOCOL_VERSION, extra_headers=cors)
        return None

    # -- sessions ---------------------------------------------------------------------------

    def _new_sid(self) -> str:
        if self.config.sid_generator is not None:
            sid = self.config.sid_generator()
            if sid in self._sessions:
                raise LocalProtocolError(f"sid_generator returned a live id {sid!r}")
            return sid
        while True:
            counter = next(self._sid_counter) & 0xFFFFFF
            raw = secrets.token_bytes(12) + counter.to_bytes(3, "big")
            sid = base64.urlsafe_b64encode(raw).decode("ascii")
            if sid not in self._sessions:
                return sid

    def _open_session(
        self, request: HttpRequest, revision: EngineRevision, state: SessionState, now: float
    ) -> _Session:
        supports_binary = not request.query.get("b64")
        session = _Session(self._new_sid(), revision, supports_binary, state)
        self._sessions[session.sid] = session
        if revision == 4:
            session.ping_due = now + self.config.ping_interval
        else:
            session.liveness_due = now + self.config.ping_interval + self.config.ping_timeout
        self._schedule(session)
        self._events.append(SessionOpened(session.sid, revision, session.transport_name, request))
        return session

    def _open_packet(self, session: _Session, upgrades: list[str]) -> Packet:
        handshake = {
            "sid": session.sid,
            "upgrades": upgrades,
            "pingInterval": self.config.ping_interval_ms,
            "pingTimeout": self.config.ping_timeout_ms,
            "maxPayload": self.config.limits.max_payload_bytes,
        }
        return Packet(PacketType.OPEN, json.dumps(handshake, separators=(",", ":")))

    def _can_upgrade(self) -> bool:
        return self.config.allow_upgrades and "websocket" in self.config.transports

    def _require(self, sid: str) -> _Session:
        session = self._sessions.get(sid)
        if session is None:
            raise LocalProtocolError(f"no open session {sid!r}")
        return session

    # -- polling --------------------------------------------------------------------------

    def _on_poll(
        self, session: _Session, request_id: int, request: HttpRequest
    ) -> HttpResponse | None:
        if session.get_request_id is not None:
            # Two GETs at once: refuse the new one, close the session through the old one.
            self._terminate(session, CloseReason.TRANSPORT_ERROR)
            return error_response(
                EngineErrorCode.BAD_REQUEST, extra_headers=self._cors_headers(request)
            )
        if session.state is _S.CLOSING:
            packets = [*session.queue, CLOSE]
            session.queue = []
            response = self._poll_response(session, request, packets)
            self._terminate(session, CloseReason.SERVER_CLOSE)
            return response
        if session.queue:
            packets, session.queue = session.queue, []
            self._dirty.pop(session.sid, None)
            return self._poll_response(session, request, packets)
        if session.state is _S.UPGRADING:
            return self._poll_response(session, request, [NOOP])
        session.get_request_id = request_id
        session.get_request = request
        self._get_owner[request_id] = session
        return None

    def _on_post(
        self,
        session: _Session,
        request: HttpRequest,
        now: float,
        cors: tuple[tuple[str, str], ...],
    ) -> HttpResponse:
        ok = HttpResponse(
            200,
            (
                ("Content-Type", "text/html"),
                ("Cache-Control", "no-store"),
                *cors,
            ),
            _OK_BODY,
        )
        if session.state is _S.CLOSING:
            return ok
        try:
            if "j" in request.query:
                form = (request.header("content-type") or "").startswith(
                    "application/x-www-form-urlencoded"
                )
                body = decode_jsonp_post(request.body, form=form).encode("utf-8")
                packets = decode_payload(body, session.revision, limits=self.config.limits)
            else:
                packets = decode_payload(
                    request.body,
                    session.revision,
                    content_type=request.header("content-type"),
                    limits=self.config.limits,
                )
        except LimitExceeded as exc:
            if exc.limit == "max_payload_bytes":
                return HttpResponse(413, (("Cache-Control", "no-store"), *cors))
            self._terminate(session, CloseReason.PARSE_ERROR)
            return error_response(EngineErrorCode.BAD_REQUEST, extra_headers=cors)
        except RemoteProtocolError:
            self._terminate(session, CloseReason.PARSE_ERROR)
            return error_response(EngineErrorCode.BAD_REQUEST, extra_headers=cors)
        for packet in packets:
            self._on_packet(session, packet, now)
            if session.state in (_S.CLOSED, _S.CLOSING):
                break
        return ok

    def _poll_response(
        self,
        session: _Session,
        request: HttpRequest,
        packets: list[Packet],
        extra_headers: tuple[tuple[str, str], ...] = (),
    ) -> HttpResponse:
        cors = self._cors_headers(request)
        jsonp = request.query.get("j")
        if jsonp is not None:
            body_text, _ = encode_payload(packets, session.revision)
            assert isinstance(body_text, str)
            body = encode_jsonp(body_text, jsonp).encode("utf-8")
            content_type = "text/javascript; charset=UTF-8"
        else:
            encoded, content_type = encode_payload(
                packets, session.revision, supports_binary=session.supports_binary
            )
            body = encoded if isinstance(encoded, bytes) else encoded.encode("utf-8")
        headers = [
            ("Content-Type", content_type),
            ("Cache-Control", "no-store"),
            *cors,
            *extra_headers,
        ]
        # The queue is always sent whole: it holds every message sent with compress=False.
        compressible = len(packets) > session.plain
        session.plain = 0
        threshold = self.config.http_compression_threshold
        if compressible and threshold is not None and len(body) >= threshold:
            body, encoding = _compress(body, request.header("accept-encoding"))
            if encoding is not None:
                headers.append(("Content-Encoding", encoding))
        return HttpResponse(200, tuple(headers), body)

    def _respond_poll(self, session: _Session, packets: list[Packet]) -> None:
        request_id, request = session.get_request_id, session.get_request
        assert request_id is not None and request is not None
        self._get_owner.pop(request_id, None)
        session.get_request_id = session.get_request = None
        self._outputs.append(Respond(request_id, self._poll_response(session, request, packets)))

    def _send_now(self, session: _Session, messages: Iterable[str | bytes]) -> None:
        """Messages straight to an open WebSocket with nothing queued before them.

        A broadcast sends the same message objects to every target: the last
        encoding is remembered, so each is encoded once, and the wire layer
        frames it once too (it sees the same object).
        """
        ws, revision, base64 = session.ws, session.revision, not session.supports_binary
        assert ws is not None
        encoded: list[str | bytes] = []
        for data in messages:  # validate and encode all before anything leaves
            last = self._last_sent
            if last is not None and last[0] is data and last[1] == revision and last[2] == base64:
                encoded.append(last[3])
                continue
            if type(data) is str and data.isascii():
                message: str | bytes = "4" + data
            else:
                message = encode_packet(message_packet(data), revision, base64=base64)
            self._last_sent = (data, revision, base64, message)
            encoded.append(message)
        self._outputs += [SendWebSocket(ws, message) for message in encoded]

    def _flush(self, session: _Session) -> None:
        if not session.queue or session.state is _S.CLOSED:
            return
        if session.state is _S.WEBSOCKET:
            assert session.ws is not None
            base64 = not session.supports_binary
            for packet in session.queue:
                self._outputs.append(
                    SendWebSocket(
                        session.ws, encode_packet(packet, session.revision, base64=base64)
                    )
                )
            session.queue = []
            session.plain = 0
        elif session.get_request_id is not None:
            packets, session.queue = session.queue, []
            self._respond_poll(session, packets)

    # -- packets --------------------------------------------------------------------------

    def _on_packet(self, session: _Session, packet: Packet, now: float) -> None:
        kind = packet.type
        if kind is PacketType.MESSAGE:
            if session.pong_due is not None and not session.grace_used:
                # A busy client may queue data ahead of its pong: extend once per cycle.
                session.grace_used = True
                session.pong_due = now + self.config.ping_timeout
                self._schedule(session)
            self._events.append(MessageReceived(session.sid, packet.data))
        elif kind is PacketType.PONG and session.revision == 4:
            if session.pong_due is not None:  # unsolicited pongs are ignored
                session.pong_due = None
                session.ping_due = now + self.config.ping_interval
                self._schedule(session)
        elif kind is PacketType.PING and session.revision == 3:
            session.liveness_due = now + self.config.ping_interval + self.config.ping_timeout
            self._schedule(session)
            session.queue.append(PONG)
            self._dirty[session.sid] = session
        elif kind in (PacketType.PING, PacketType.PONG):
            self._terminate(session, CloseReason.TRANSPORT_ERROR)  # wrong heartbeat direction
        elif kind is PacketType.CLOSE:
            if session.get_request_id is not None:
                self._respond_poll(session, [NOOP])
            self._terminate(session, CloseReason.FORCED_CLOSE)
        # OPEN, NOOP and a stray UPGRADE are ignored, as the JS server does.

    def _on_probe_packet(self, session: _Session, packet: Packet, now: float) -> None:
        assert session.probe is not None
        if session.state is _S.PROBING and packet == Packet(PacketType.PING, "probe"):
            session.transition(_Input.PROBE_PING)
            self._outputs.append(SendWebSocket(session.probe, encode_packet(PROBE_PONG)))
            if session.get_request_id is not None:
                self._flush(session)
                if session.get_request_id is not None:
                    self._respond_poll(session, [NOOP])  # release the poll so the client can pause
        elif session.state is _S.UPGRADING and packet.type is PacketType.UPGRADE:
            session.transition(_Input.PROBE_UPGRADE)
            if session.get_request_id is not None:
                self._flush(session)
                if session.get_request_id is not None:
                    self._respond_poll(session, [NOOP])
            session.ws, session.probe = session.probe, None
            session.upgrade_due = None
            self._schedule(session)
            self._events.append(SessionUpgraded(session.sid, "websocket"))
            self._flush(session)
        else:
            self._probe_failed(session)

    def _probe_failed(self, session: _Session) -> None:
        if session.probe is not None:
            self._close_probe(session)
        if session.state in (_S.PROBING, _S.UPGRADING):
            session.transition(_Input.PROBE_FAILED)
            session.upgrade_due = None
            self._schedule(session)
            if session.queue:
                self._dirty[session.sid] = session

    def _close_probe(self, session: _Session) -> None:
        assert session.probe is not None
        self._ws_owner.pop(session.probe, None)
        self._outputs.append(CloseWebSocket(session.probe, WS_NORMAL))
        session.probe = None

    # -- timers ---------------------------------------------------------------------------

    def _schedule(self, session: _Session) -> None:
        deadline = session.deadline()
        previous, session.scheduled = session.scheduled, deadline
        if deadline is not None and deadline != previous:
            heapq.heappush(self._timers, (deadline, next(self._timer_seq), session.sid))
            if len(self._timers) > 2 * len(self._sessions) + 64:
                self._compact_timers()

    def _compact_timers(self) -> None:
        """Drop stale entries so the heap stays O(sessions) whatever the driver does."""
        live = self._sessions
        self._timers = [
            entry
            for entry in self._timers
            if (session := live.get(entry[2])) is not None and session.scheduled == entry[0]
        ]
        heapq.heapify(self._timers)

    def _fire(self, session: _Session, now: float) -> None:
        if session.close_due is not None and session.close_due <= now:
            self._terminate(session, CloseReason.SERVER_CLOSE)
            return
        if session.pong_due is not None and session.pong_due <= now:
            self._terminate(session, CloseReason.PING_TIMEOUT)
            return
        if session.liveness_due is not None and session.liveness_due <= now:
            self._terminate(session, CloseReason.PING_TIMEOUT)
            return
        if session.upgrade_due is not None and session.upgrade_due <= now:
            self._probe_failed(session)
        if session.ping_due is not None and session.ping_due <= now:
            session.ping_due = None
            session.pong_due = now + self.config.ping_timeout
            session.grace_used = False
            session.queue.append(PING)
            self._dirty[session.sid] = session

    # -- closing --------------------------------------------------------------------------

    def _terminate(
        self, session: _Session, reason: CloseReason, ws_code: int = WS_NORMAL, detail: str = ""
    ) -> None:
        if session.state is _S.CLOSED:
            return
        if session.get_request_id is not None:
            self._respond_poll(session, [CLOSE])
        if session.probe is not None:
            self._close_probe(session)
        if session.ws is not None:
            self._ws_owner.pop(session.ws, None)
            self._outputs.append(CloseWebSocket(session.ws, ws_code))
            session.ws = None
        session.transition(_Input.CLOSED)
        session.queue = []
        session.scheduled = None
        self._sessions.pop(session.sid, None)
        self._dirty.pop(session.sid, None)
        self._events.append(SessionClosed(session.sid, reason, detail))

    # -- HTTP details -----------------------------------------------------------------------

    def _origin_allowed(self, origin: str, request: HttpRequest) -> bool:
        allowed = self.config.cors_allowed_origins
        if allowed == "*":
            return True
        if allowed is None:
            host = request.header("host")
            scheme = "https" if request.secure else "http"
            return host is not None and origin == f"{scheme}://{host}"
        return origin in allowed

    def _cors_headers(self, request: HttpRequest) -> tuple[tuple[str, str], ...]:
        allowed = self.config.cors_allowed_origins
        if allowed is None:
            return ()
        if allowed == "*":
            return (("Access-Control-Allow-Origin", "*"),)
        origin = request.header("origin")
        if origin is None or origin not in allowed:
            return ()
        headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        if self.config.cors_credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return tuple(headers)

    def _preflight(self, request: HttpRequest, cors: tuple[tuple[str, str], ...]) -> HttpResponse:
        origin = request.header("origin")
        if origin is not None and not self._origin_allowed(origin, request):
            return error_response(EngineErrorCode.FORBIDDEN, "Not an accepted origin")
        headers = [*cors, ("Access-Control-Allow-Methods", "GET,POST,OPTIONS")]
        requested = request.header("access-control-request-headers")
        if requested:
            headers.append(("Access-Control-Allow-Headers", requested))
        return HttpResponse(204, tuple(headers))

    def _cookie_headers(self, sid: str) -> tuple[tuple[str, str], ...]:
        cookie = self.config.cookie
        return (("Set-Cookie", cookie.header(sid)),) if cookie is not None else ()


def _parse_revision(value: str | None) -> EngineRevision | None:
    if value == "4":
        return 4
    if value == "3":
        return 3
    return None


def _valid_header_value(value: str) -> bool:
    return all(c == "\t" or " " <= c <= "~" or "\x80" <= c <= "\xff" for c in value)


def _exceeds(message: str | bytes, limit: int) -> bool:
    size = len(message)
    if isinstance(message, bytes) or size > limit or size * 4 <= limit:
        return size > limit
    return len(message.encode("utf-8", "surrogatepass")) > limit


def _compress(body: bytes, accept_encoding: str | None) -> tuple[bytes, str | None]:
    accepted = {part.split(";")[0].strip().lower() for part in (accept_encoding or "").split(",")}
    if "gzip" in accepted:
        return gzip.compress(body, mtime=0), "gzip"
    if "deflate" in accepted:
        return zlib.compress(body), "deflate"
    return body, None
