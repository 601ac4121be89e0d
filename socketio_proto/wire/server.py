"""Drive an Engine.IO server from raw TCP bytes: h11 for HTTP, our framing after an upgrade.

One :class:`WireServer` serves every TCP connection of an endpoint, because an
Engine.IO session spans connections (a polling GET parked on one connection is
answered because of a POST on another).  The caller reports connections and
bytes, and writes what :meth:`WireServer.transmit` returns::

    conn = wire.connection_made()
    wire.receive_data(conn, data, now)        # b"" means the peer sent EOF
    for out in wire.transmit(now):            # bytes for any connection
        write(out.conn_id, out.data)
        if out.close: close(out.conn_id)

Sans-IO: no sockets, no clock (``now`` comes in), no threads.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import h11
from wsproto import ConnectionType, WSConnection
from wsproto import events as ws_events
from wsproto.extensions import Extension, PerMessageDeflate
from wsproto.utilities import RemoteProtocolError as WsRemoteProtocolError

from .._fastinit import fast_init
from ..engineio.config import EngineConfig
from ..engineio.events import CloseWebSocket, Respond, SendWebSocket, ServerEvent
from ..engineio.http import HttpRequest, HttpResponse
from ..engineio.server import EngineServer, WebSocketAccepted
from ._common import decode_headers, encode_headers, find_header, write_response
from ._messages import WsprotoFraming
from .websocket import (
    Close,
    CodecState,
    FrameCodec,
    Ping,
    Received,
    Role,
    WebSocketError,
)

__all__ = ["ParkedRequest", "Transmit", "WireServer"]

#: Serves requests outside the Engine.IO path (e.g. an HTML page); None answers 404.
Fallback = Callable[[HttpRequest], HttpResponse]

# h11 exports the state without listing it in __all__.
_MIGHT_SWITCH_PROTOCOL = h11.MIGHT_SWITCH_PROTOCOL  # type: ignore[attr-defined]
_BAD_REQUEST = HttpResponse(400, (("Content-Type", "text/plain"),), b"Bad Request")
_NOT_FOUND = HttpResponse(404, (("Content-Type", "text/plain"),), b"Not Found")
_HEAD_TOO_LARGE = HttpResponse(431, (("Content-Type", "text/plain"),), b"")
_TOO_LARGE = HttpResponse(413, (("Content-Type", "text/plain"),), b"")
_OPEN = CodecState.OPEN


@fast_init
@dataclass(frozen=True, slots=True)
class Transmit:
    """Bytes to write to connection ``conn_id``; close it afterwards if ``close``."""

    conn_id: int
    data: bytes
    close: bool = False


@dataclass(frozen=True, slots=True)
class ParkedRequest:
    """A request outside the Engine.IO path, waiting for :meth:`WireServer.answer`."""

    conn_id: int
    #: Identifies this request on its connection (negative: never an engine request id).
    token: int
    request: HttpRequest


class _Connection:
    __slots__ = (
        "body",
        "body_size",
        "closing",
        "conn_id",
        "fed",
        "h11",
        "message_start",
        "out",
        "request",
        "request_id",
        "secure",
        "ws",
        "ws_id",
    )

    def __init__(self, conn_id: int, secure: bool, max_header_bytes: int) -> None:
        self.conn_id = conn_id
        self.secure = secure
        self.h11: h11.Connection | None = h11.Connection(
            h11.SERVER, max_incomplete_event_size=max_header_bytes
        )
        #: Bytes fed to h11, and where the current message began among them.
        self.fed = 0
        self.message_start = 0
        self.request: h11.Request | None = None
        self.body: list[bytes] = []
        self.body_size = 0
        self.request_id: int | None = None
        self.ws: FrameCodec | WsprotoFraming | None = None
        self.ws_id: int | None = None
        #: Bytes to write, in order (joined by :meth:`WireServer.transmit`).
        self.out: list[bytes] = []
        self.closing = False


class WireServer:
    """An Engine.IO endpoint on raw bytes.

    ``engine`` defaults to a new :class:`EngineServer` built from ``config``;
    its events are re-exported by :meth:`events`.  Requests outside the
    Engine.IO path go to ``fallback`` there and then; with ``park_fallback``
    they wait in :attr:`parked` instead (their connection parses nothing more
    meanwhile, as during a long poll) until the caller, for instance a worker
    thread running a WSGI app, hands the response to :meth:`answer`.
    """

    def __init__(
        self,
        engine: EngineServer | None = None,
        *,
        config: EngineConfig | None = None,
        fallback: Fallback | None = None,
        park_fallback: bool = False,
        max_header_bytes: int = 16 * 1024,
    ) -> None:
        self.engine = engine if engine is not None else EngineServer(config)
        self.config = self.engine.config
        self.fallback = fallback
        self.park_fallback = park_fallback
        #: Requests waiting for :meth:`answer` (with ``park_fallback``); take them from here.
        self.parked: list[ParkedRequest] = []
        self._tokens = itertools.count(-1, -1)
        self.max_header_bytes = max_header_bytes
        self._connections: dict[int, _Connection] = {}
        self._by_request: dict[int, _Connection] = {}
        self._by_ws: dict[int, _Connection] = {}
        self._ids = itertools.count(1)
        self._touched: dict[int, _Connection] = {}

    # -- the caller's side ------------------------------------------------------------

    def connection_made(self, *, secure: bool = False) -> int:
        """A new TCP connection; ``secure`` if it is TLS.  Returns its id."""
        conn = _Connection(next(self._ids), secure, self.max_header_bytes)
        self._connections[conn.conn_id] = conn
        return conn.conn_id

    def receive_data(self, conn_id: int, data: bytes, now: float) -> None:
        """Bytes from connection ``conn_id``; ``b""`` means EOF."""
        conn = self._connections.get(conn_id)
        if conn is None or conn.closing:
            return
        if conn.ws is not None:
            self._receive_ws(conn, data, now)
        else:
            if not data and conn.request_id is not None:
                # EOF while a request waits for its answer: the client gave up (a
                # cancelled long poll closes the session).
                self._abort_request(conn, now)
                return
            assert conn.h11 is not None
            try:
                conn.h11.receive_data(data)
            except RuntimeError:  # data after EOF or while closed
                return
            conn.fed += len(data)
            self._process_http(conn, now)

    def connection_lost(self, conn_id: int, now: float) -> None:
        """The TCP connection is gone (reset, or closed after a ``close`` transmit)."""
        conn = self._connections.pop(conn_id, None)
        if conn is None:
            return
        if conn.request_id is not None:
            self._abort_request(conn, now)
        if conn.ws_id is not None:
            self._by_ws.pop(conn.ws_id, None)
            self.engine.websocket_closed(conn.ws_id, now)
        self._touched.pop(conn_id, None)  # nothing more is written to a lost connection

    def transmit(self, now: float) -> list[Transmit]:
        """Everything to write now, one entry per connection with output."""
        self._drain_engine(now)
        touched, self._touched = self._touched, {}
        result = []
        for conn in touched.values():
            out = conn.out
            if out or conn.closing:
                data = out[0] if len(out) == 1 else b"".join(out)
                result.append(Transmit(conn.conn_id, data, conn.closing))
                conn.out = []
        return result

    def _drain_engine(self, now: float) -> None:
        """Turn the engine's outputs into bytes on their connections.

        Also called right after each engine call made while handling received
        bytes, so that what the wire layer writes itself (pongs, close replies)
        keeps its place in line however the bytes were chunked.
        """
        by_ws = self._by_ws
        # A broadcast hands every target the same message object: frame it once.
        last_message: str | bytes | None = None
        last_frame = b""
        while True:
            outputs = self.engine.outputs()
            if not outputs:
                break
            for output in outputs:
                if type(output) is SendWebSocket:
                    conn = by_ws.get(output.ws_id)
                    if conn is None or conn.ws is None:
                        continue
                    ws, message = conn.ws, output.message
                    if message is last_message and type(ws) is FrameCodec and ws.state is _OPEN:
                        frame: bytes | None = last_frame  # server frames suit any peer
                    else:
                        frame = ws.send(message)
                        if frame is not None and type(ws) is FrameCodec:
                            last_message, last_frame = message, frame
                    self._write(conn, frame)
                elif isinstance(output, Respond):
                    conn = self._by_request.pop(output.request_id, None)
                    if conn is not None:
                        self._send_response(conn, output.response, now)
                else:
                    assert isinstance(output, CloseWebSocket)
                    conn = self._by_ws.pop(output.ws_id, None)
                    if conn is not None and conn.ws is not None:
                        self._close_ws(conn, output.code)

    def _abort_request(self, conn: _Connection, now: float) -> None:
        request_id, conn.request_id = conn.request_id, None
        assert request_id is not None
        self._by_request.pop(request_id, None)
        self._mark_closing(conn)
        if request_id > 0:  # not a parked request: the engine was waiting on it
            self.engine.request_aborted(request_id, now)

    def answer(self, parked: ParkedRequest, response: HttpResponse, now: float) -> None:
        """The response to a parked request (dropped if its client left meanwhile)."""
        conn = self._connections.get(parked.conn_id)
        if conn is not None and conn.request_id == parked.token:
            self._send_response(conn, response, now)

    def events(self) -> list[ServerEvent]:
        """Drain the engine's application events."""
        return self.engine.events()

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timeout` must next be called."""
        return self.engine.next_deadline()

    def handle_timeout(self, now: float) -> None:
        """Fire the engine's deadlines due at ``now``."""
        self.engine.handle_timeout(now)

    # -- HTTP ---------------------------------------------------------------------------

    def _process_http(self, conn: _Connection, now: float) -> None:
        assert conn.h11 is not None
        while not conn.closing and conn.request_id is None:
            try:
                event = conn.h11.next_event()
            except h11.RemoteProtocolError as exc:
                too_long = exc.error_status_hint == 431
                self._respond_and_close(conn, _HEAD_TOO_LARGE if too_long else _BAD_REQUEST)
                return
            if event is h11.NEED_DATA:
                return
            if event is h11.PAUSED:
                if conn.h11.their_state is _MIGHT_SWITCH_PROTOCOL:
                    self._upgrade(conn, now)
                return
            if isinstance(event, h11.Request):
                # h11 bounds only heads still incomplete; bound complete ones the same
                # way (it refuses once more than the limit is buffered without the end).
                if self._consumed(conn) - conn.message_start - 1 > self.max_header_bytes:
                    self._respond_and_close(conn, _HEAD_TOO_LARGE)
                    return
                conn.request, conn.body, conn.body_size = event, [], 0
                length = find_header(event.headers, b"content-length")
                limit = self.config.limits.max_payload_bytes
                if length is not None and length.isdigit() and int(length) > limit:
                    self._respond_and_close(conn, _TOO_LARGE)
                    return
            elif isinstance(event, h11.Data):
                conn.body_size += len(event.data)
                if conn.body_size > self.config.limits.max_payload_bytes:
                    self._respond_and_close(conn, _TOO_LARGE)
                    return
                conn.body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                conn.message_start = self._consumed(conn)
                if conn.h11.their_state is _MIGHT_SWITCH_PROTOCOL:
                    continue  # an upgrade request: decided at PAUSED
                self._dispatch_request(conn, now)
            elif isinstance(event, h11.ConnectionClosed):
                self._mark_closing(conn)
                return

    @staticmethod
    def _consumed(conn: _Connection) -> int:
        """Bytes of this connection h11 has parsed so far."""
        assert conn.h11 is not None
        return conn.fed - len(conn.h11.trailing_data[0])

    def _build_request(self, conn: _Connection) -> HttpRequest:
        assert conn.request is not None
        request = conn.request
        return HttpRequest.from_target(
            request.method.decode("ascii", "replace"),
            request.target.decode("utf-8", "replace"),
            decode_headers(request.headers),
            b"".join(conn.body),
            secure=conn.secure,
        )

    def _dispatch_request(self, conn: _Connection, now: float) -> None:
        request = self._build_request(conn)
        conn.body = []
        if not request.path.startswith(self.config.path):
            if self.park_fallback:
                conn.request_id = next(self._tokens)
                self.parked.append(ParkedRequest(conn.conn_id, conn.request_id, request))
                return
            response = self.fallback(request) if self.fallback is not None else _NOT_FOUND
            self._send_response(conn, response, now)
            return
        request_id = self.engine.handle_request(request, now)
        conn.request_id = request_id
        self._by_request[request_id] = conn

    def _send_response(self, conn: _Connection, response: HttpResponse, now: float) -> None:
        conn.request_id = None
        assert conn.h11 is not None
        try:
            conn.out.append(write_response(conn.h11, response))
        except h11.LocalProtocolError:
            self._mark_closing(conn)
            return
        self._touched[conn.conn_id] = conn
        if conn.h11.our_state is h11.MUST_CLOSE or conn.h11.their_state is not h11.DONE:
            conn.closing = True
            return
        if conn.h11.our_state is h11.DONE:
            conn.h11.start_next_cycle()
            self._process_http(conn, now)  # a pipelined request may be buffered

    def _respond_and_close(self, conn: _Connection, response: HttpResponse) -> None:
        """Answer (when h11 still can) and hang up: the connection cannot be reused."""
        if conn.h11 is not None and conn.h11.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            with contextlib.suppress(h11.LocalProtocolError):
                conn.out.append(write_response(conn.h11, response, close=True))
        self._mark_closing(conn)

    def _mark_closing(self, conn: _Connection) -> None:
        conn.closing = True
        self._touched[conn.conn_id] = conn

    # -- WebSocket ----------------------------------------------------------------------

    def _upgrade(self, conn: _Connection, now: float) -> None:
        assert conn.request is not None and conn.h11 is not None
        upgrade = (find_header(conn.request.headers, b"upgrade") or "").lower()
        if upgrade != "websocket" or conn.request.method != b"GET":
            self._respond_and_close(conn, _BAD_REQUEST)
            return
        # Let wsproto validate the handshake headers before the engine hears of it.
        ws = WSConnection(ConnectionType.SERVER)
        try:
            ws.initiate_upgrade_connection(list(conn.request.headers), conn.request.target)
            valid = any(isinstance(event, ws_events.Request) for event in ws.events())
        except (WsRemoteProtocolError, h11.ProtocolError, UnicodeError):
            # wsproto rebuilds the request with h11 and decodes some headers as text.
            valid = False
        if not valid:
            self._respond_and_close(conn, _BAD_REQUEST)
            return
        request = self._build_request(conn)
        decision: WebSocketAccepted | HttpResponse = (
            self.engine.handle_websocket(request, now)
            if request.path.startswith(self.config.path)
            else _NOT_FOUND
        )
        if isinstance(decision, HttpResponse):
            self._respond_and_close(conn, decision)
            return
        # Our framing unless permessage-deflate is on and offered: wsproto compresses.
        offers = find_header(conn.request.headers, b"sec-websocket-extensions") or ""
        deflate = self.config.websocket_compression and "permessage-deflate" in offers.lower()
        extensions: list[Extension] = [PerMessageDeflate()] if deflate else []
        extra = encode_headers(decision.headers)
        conn.out.append(
            ws.send(ws_events.AcceptConnection(extensions=extensions, extra_headers=extra))
        )
        trailing, _ = conn.h11.trailing_data
        limit = self.config.limits.max_payload_bytes
        conn.ws = (
            WsprotoFraming(ws, limit)
            if deflate
            else FrameCodec(role=Role.SERVER, max_message_bytes=limit)
        )
        conn.ws_id = decision.ws_id
        # The HTTP side is done with: keep an idle WebSocket small.
        conn.h11 = conn.request = None
        self._by_ws[decision.ws_id] = conn
        self._touched[conn.conn_id] = conn
        self._drain_engine(now)  # the open packet goes out before any reply to trailing frames
        if trailing:
            self._receive_ws(conn, bytes(trailing), now)

    def _receive_ws(self, conn: _Connection, data: bytes, now: float) -> None:
        ws = conn.ws
        assert ws is not None and conn.ws_id is not None
        if not data:  # EOF without a close frame
            self._ws_gone(conn, now)
            return
        try:
            received = ws.receive(data)
        except WebSocketError as exc:
            # What came before the violation is delivered, however the stream was split.
            if self._deliver(conn, exc.received, now):
                self._write(conn, ws.fail(exc.code))
                self._ws_gone(conn, now, error=True)
            return
        self._deliver(conn, received, now)

    def _deliver(self, conn: _Connection, received: list[Received], now: float) -> bool:
        """Hand messages to the engine and answer controls; False once the peer closed."""
        ws, engine, ws_id = conn.ws, self.engine, conn.ws_id
        assert ws is not None and ws_id is not None
        for item in received:
            if type(item) is str or type(item) is bytes:
                engine.receive_websocket_message(ws_id, item, now)
                self._drain_engine(now)
            elif isinstance(item, Ping):
                self._write(conn, ws.pong(item.payload))
            else:
                assert isinstance(item, Close)
                self._write(conn, ws.reply_to_close(item))
                self._ws_gone(conn, now)
                return False
        return True

    def _write(self, conn: _Connection, data: bytes | None) -> None:
        if data is not None:
            conn.out.append(data)
            self._touched[conn.conn_id] = conn

    def _close_ws(self, conn: _Connection, code: int) -> None:
        assert conn.ws is not None
        self._write(conn, conn.ws.close(code))
        self._mark_closing(conn)

    def _ws_gone(self, conn: _Connection, now: float, *, error: bool = False) -> None:
        self._mark_closing(conn)
        if conn.ws_id is not None and self._by_ws.pop(conn.ws_id, None) is not None:
            self.engine.websocket_closed(conn.ws_id, now, error=error)
            self._drain_engine(now)
