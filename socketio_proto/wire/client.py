"""Drive an Engine.IO client from raw TCP bytes: h11 for polling, our framing for WebSockets.

A polling client needs a GET and a POST in flight at once, so the wire client
manages several TCP connections to one server (idle ones are kept alive and
reused).  The caller opens connections when told to and moves bytes::

    wire = WireClient(EngineClient(config), host="localhost:5000")
    wire.connect(now)
    for out in wire.transmit(now):
        if isinstance(out, OpenConnection): open a TCP connection for out.conn_id
        else: write out.data to out.conn_id (then close it if out.close)
    wire.receive_data(conn_id, data, now)     # b"" means EOF

A WebSocket's opening handshake is checked by wsproto; its frames then go
through :class:`~socketio_proto.wire.websocket.FrameCodec` (masked, as a
client's must be), or through wsproto when permessage-deflate was negotiated.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import h11
from wsproto import ConnectionType, WSConnection
from wsproto import events as ws_events
from wsproto.extensions import Extension, PerMessageDeflate
from wsproto.utilities import RemoteProtocolError as WsRemoteProtocolError

from ..engineio.client import (
    ClientEvent,
    EngineClient,
    OpenWebSocket,
    SendRequest,
)
from ..engineio.events import CloseReason, CloseWebSocket, SendWebSocket
from ..engineio.http import HttpResponse
from ._common import decode_headers, encode_headers
from ._messages import WsprotoFraming
from .server import Transmit
from .websocket import Close, FrameCodec, Ping, Received, Role, WebSocketError

__all__ = ["OpenConnection", "WireClient"]


@dataclass(frozen=True, slots=True)
class OpenConnection:
    """Open a new TCP connection to the server, known as ``conn_id`` from now on."""

    conn_id: int


class _Connection:
    __slots__ = (
        "body",
        "body_size",
        "closing",
        "conn_id",
        "h11",
        "handshake",
        "head",
        "out",
        "posting",
        "request_id",
        "response",
        "ws",
        "ws_id",
    )

    def __init__(self, conn_id: int) -> None:
        self.conn_id = conn_id
        self.h11: h11.Connection | None = None
        self.request_id: int | None = None
        #: The request in flight is a POST.
        self.posting = False
        self.response: h11.Response | None = None
        self.body: list[bytes] = []
        self.body_size = 0
        #: The WebSocket handshake in progress (wsproto wrote the request, and checks the
        #: response), and the bytes received since it began.
        self.handshake: WSConnection | None = None
        self.head = bytearray()
        #: The WebSocket's framing once the handshake is done.
        self.ws: FrameCodec | WsprotoFraming | None = None
        self.ws_id: int | None = None
        self.out = bytearray()
        self.closing = False


class WireClient:
    """One Engine.IO client session over raw bytes."""

    def __init__(
        self,
        client: EngineClient,
        host: str,
        *,
        websocket_compression: bool = False,
        max_header_bytes: int = 16 * 1024,
    ) -> None:
        self.client = client
        self.host = host
        self.websocket_compression = websocket_compression
        self.max_header_bytes = max_header_bytes
        # A response may carry a whole polling payload; allow framing overhead on top.
        self.max_body_bytes = client.config.limits.max_payload_bytes * 2 + 1024
        self._connections: dict[int, _Connection] = {}
        self._idle: list[_Connection] = []
        self._by_request: dict[int, _Connection] = {}
        self._by_ws: dict[int, _Connection] = {}
        self._ids = itertools.count(1)
        self._pending: list[OpenConnection | Transmit] = []
        self._touched: dict[int, _Connection] = {}

    # -- pass-through to the machine -------------------------------------------------

    def connect(self, now: float) -> None:
        """Start the handshake."""
        self.client.connect(now)

    def send(self, data: str | bytes) -> bool:
        """Queue one message (see :meth:`EngineClient.send`)."""
        return self.client.send(data)

    def close(self, now: float) -> None:
        """Close the session."""
        self.client.close(now)

    def events(self) -> list[ClientEvent]:
        """Drain the client's events."""
        return self.client.events()

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timeout` must next be called."""
        return self.client.next_deadline()

    def handle_timeout(self, now: float) -> None:
        """Fire the client's deadlines due at ``now``."""
        self.client.handle_timeout(now)

    @property
    def finished(self) -> bool:
        """The session is closed and every connection is hung up (nothing left to do)."""
        return self.client.closed and not self._connections

    # -- bytes ---------------------------------------------------------------------------

    def transmit(self, now: float) -> list[OpenConnection | Transmit]:
        """Connections to open and bytes to write, in order."""
        for output in self.client.outputs():
            if isinstance(output, SendRequest):
                self._send_request(output)
            elif isinstance(output, OpenWebSocket):
                self._open_websocket(output)
            elif isinstance(output, SendWebSocket):
                conn = self._by_ws.get(output.ws_id)
                if conn is not None and conn.ws is not None:
                    self._write(conn, conn.ws.send(output.message))
            else:
                assert isinstance(output, CloseWebSocket)
                conn = self._by_ws.pop(output.ws_id, None)
                if conn is not None:
                    if conn.ws is not None:  # else the handshake is still going: just hang up
                        self._write(conn, conn.ws.close(output.code))
                    self._mark_closing(conn)
        if self.client.closed:
            # The session is over: hang up.  After our own close, the parked poll stays
            # open until the close packet's POST is answered: a server that saw the
            # poll's EOF first would record a transport error instead of our close.
            # (Some servers never answer that poll, so it is not waited for.)
            graceful = self.client.close_reason is CloseReason.FORCED_CLOSE
            posting = graceful and any(
                conn.request_id is not None and conn.posting for conn in self._connections.values()
            )
            for conn in list(self._connections.values()):
                if conn.request_id is None or not posting:
                    self._mark_closing(conn)
        pending, self._pending = self._pending, []
        touched, self._touched = self._touched, {}
        for conn in touched.values():
            if conn.out or conn.closing:
                pending.append(Transmit(conn.conn_id, bytes(conn.out), conn.closing))
                conn.out.clear()
                if conn.closing:
                    self._connections.pop(conn.conn_id, None)
        return pending

    def receive_data(self, conn_id: int, data: bytes, now: float) -> None:
        """Bytes from connection ``conn_id``; ``b""`` means EOF."""
        conn = self._connections.get(conn_id)
        if conn is None:
            return
        if conn.ws is not None:
            self._receive_ws(conn, data, now)
        elif conn.handshake is not None:
            self._receive_handshake(conn, data, now)
        elif conn.h11 is not None:
            self._receive_http(conn, data, now)

    def connection_lost(self, conn_id: int, now: float) -> None:
        """The connection failed to open or broke."""
        conn = self._connections.pop(conn_id, None)
        if conn is None:
            return
        if conn in self._idle:
            self._idle.remove(conn)
        self._touched.pop(conn_id, None)
        self._forget(conn, now)

    # -- HTTP ----------------------------------------------------------------------------

    def _new_connection(self) -> _Connection:
        conn = _Connection(next(self._ids))
        self._connections[conn.conn_id] = conn
        self._pending.append(OpenConnection(conn.conn_id))
        return conn

    def _send_request(self, output: SendRequest) -> None:
        request = output.request
        conn = self._idle.pop() if self._idle else self._new_connection()
        if conn.h11 is None:
            conn.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=self.max_header_bytes)
        headers = [(b"Host", self.host.encode("idna"))]
        headers += encode_headers(request.headers)
        headers.append((b"Content-Length", str(len(request.body)).encode()))
        data = conn.h11.send(
            h11.Request(method=request.method, target=request.target, headers=headers)
        )
        data = (data or b"") + (conn.h11.send(h11.Data(data=request.body)) or b"")
        data += conn.h11.send(h11.EndOfMessage()) or b""
        conn.out += data
        conn.request_id = output.request_id
        conn.posting = request.method == "POST"
        conn.response, conn.body, conn.body_size = None, [], 0
        self._by_request[output.request_id] = conn
        self._touched[conn.conn_id] = conn

    def _receive_http(self, conn: _Connection, data: bytes, now: float) -> None:
        assert conn.h11 is not None
        try:
            conn.h11.receive_data(data)
        except RuntimeError:
            return
        while True:
            try:
                event = conn.h11.next_event()
            except h11.RemoteProtocolError:
                self._fail(conn, now)
                return
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Response):
                conn.response = event
            elif isinstance(event, h11.Data):
                conn.body_size += len(event.data)
                if conn.body_size > self.max_body_bytes:
                    self._fail(conn, now)
                    return
                conn.body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                self._complete_response(conn, now)
                return
            elif isinstance(event, h11.ConnectionClosed):
                self._fail(conn, now)
                return

    def _complete_response(self, conn: _Connection, now: float) -> None:
        assert conn.h11 is not None and conn.response is not None
        request_id, conn.request_id = conn.request_id, None
        response = HttpResponse(
            conn.response.status_code,
            decode_headers(conn.response.headers),
            b"".join(conn.body),
        )
        conn.body = []
        if request_id is not None:
            self._by_request.pop(request_id, None)
        if (
            conn.h11.our_state is h11.DONE
            and conn.h11.their_state is h11.DONE
            and not self.client.closed
        ):
            conn.h11.start_next_cycle()
            self._idle.append(conn)
        else:
            self._mark_closing(conn)
        if request_id is not None:
            self.client.handle_response(request_id, response, now)

    def _fail(self, conn: _Connection, now: float) -> None:
        self._mark_closing(conn)
        self._forget(conn, now)

    def _forget(self, conn: _Connection, now: float) -> None:
        if conn.request_id is not None:
            request_id, conn.request_id = conn.request_id, None
            self._by_request.pop(request_id, None)
            self.client.request_failed(request_id, now)
        if conn.ws_id is not None:
            ws_id, conn.ws_id = conn.ws_id, None
            if self._by_ws.pop(ws_id, None) is not None:
                if conn.ws is None:  # the handshake did not complete
                    self.client.websocket_refused(ws_id, None, now)
                else:
                    self.client.websocket_closed(ws_id, now)

    def _mark_closing(self, conn: _Connection) -> None:
        conn.closing = True
        if conn in self._idle:
            self._idle.remove(conn)
        self._touched[conn.conn_id] = conn

    # -- WebSocket -----------------------------------------------------------------------

    def _open_websocket(self, output: OpenWebSocket) -> None:
        conn = self._new_connection()
        conn.handshake = WSConnection(ConnectionType.CLIENT)
        conn.ws_id = output.ws_id
        request = output.request
        extensions: list[Extension] = [PerMessageDeflate()] if self.websocket_compression else []
        conn.out += conn.handshake.send(
            ws_events.Request(
                host=self.host,
                target=request.target,
                extra_headers=encode_headers(request.headers),
                extensions=extensions,
            )
        )
        # wsproto would also take the frames that follow the response in the same read,
        # out of our codec's reach: our own h11 finds where the response ends.  It is told
        # of an upgrade request so that it expects a 101; what it would write is dropped
        # (wsproto's request above is the one sent).
        conn.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=self.max_header_bytes)
        host = (b"Host", self.host.encode("idna"))
        upgrade = [host, (b"Connection", b"Upgrade"), (b"Upgrade", b"websocket")]
        conn.h11.send(h11.Request(method="GET", target=request.target, headers=upgrade))
        conn.h11.send(h11.EndOfMessage())
        self._by_ws[output.ws_id] = conn
        self._touched[conn.conn_id] = conn

    def _receive_handshake(self, conn: _Connection, data: bytes, now: float) -> None:
        assert conn.h11 is not None
        if conn.closing:
            return
        conn.head += data
        try:
            conn.h11.receive_data(data)
            event = conn.h11.next_event()
        except h11.RemoteProtocolError:  # not HTTP, or a head over max_header_bytes
            self._refuse(conn, None, now)
            return
        if event is h11.NEED_DATA:
            return
        if isinstance(event, h11.InformationalResponse) and event.status_code == 101:
            self._accept(conn, now)
        elif isinstance(event, h11.InformationalResponse | h11.Response):
            # Like wsproto, any other status (even a 1xx) refuses, without waiting for a body.
            refusal = HttpResponse(event.status_code, decode_headers(event.headers))
            self._refuse(conn, refusal, now)
        else:  # EOF before a response
            self._refuse(conn, None, now)

    def _accept(self, conn: _Connection, now: float) -> None:
        """The server answered 101: let wsproto check it, then switch to framing."""
        handshake, parser = conn.handshake, conn.h11
        assert handshake is not None and parser is not None and conn.ws_id is not None
        trailing, _ = parser.trailing_data
        # wsproto sees the response alone, so nothing after it is left inside wsproto.
        response = bytes(conn.head[: len(conn.head) - len(trailing)])
        try:
            handshake.receive_data(response)
            accepted = [e for e in handshake.events() if isinstance(e, ws_events.AcceptConnection)]
        except WsRemoteProtocolError:  # a bad Sec-WebSocket-Accept, an unknown extension...
            accepted = []
        if not accepted:
            self._refuse(conn, None, now)
            return
        limit = self.client.config.limits.max_payload_bytes
        # An extension (only permessage-deflate is offered) needs wsproto's framing.
        conn.ws = (
            WsprotoFraming(handshake, limit)
            if accepted[0].extensions
            else FrameCodec(role=Role.CLIENT, max_message_bytes=limit)
        )
        # The HTTP side is done with: keep an open WebSocket small.
        conn.handshake = conn.h11 = None
        conn.head = bytearray()
        self.client.websocket_opened(conn.ws_id, now)
        if trailing:  # frames sent right behind the response
            self._receive_ws(conn, trailing, now)

    def _refuse(self, conn: _Connection, response: HttpResponse | None, now: float) -> None:
        ws_id, conn.ws_id = conn.ws_id, None
        self._mark_closing(conn)
        if ws_id is not None and self._by_ws.pop(ws_id, None) is not None:
            self.client.websocket_refused(ws_id, response, now)

    def _receive_ws(self, conn: _Connection, data: bytes, now: float) -> None:
        ws = conn.ws
        assert ws is not None
        if conn.closing:  # being hung up: nothing more is read
            return
        if not data:  # EOF without a close frame
            self._fail(conn, now)
            return
        try:
            received = ws.receive(data)
        except WebSocketError as exc:
            # What came before the violation is delivered, however the stream was split.
            if self._deliver(conn, exc.received, now):
                self._write(conn, ws.fail(exc.code))
                self._fail(conn, now)
            return
        self._deliver(conn, received, now)

    def _deliver(self, conn: _Connection, received: list[Received], now: float) -> bool:
        """Hand messages to the client and answer controls; False once the peer closed."""
        ws, ws_id = conn.ws, conn.ws_id
        assert ws is not None and ws_id is not None
        for item in received:
            if type(item) is str or type(item) is bytes:
                self.client.receive_websocket_message(ws_id, item, now)
            elif isinstance(item, Ping):
                self._write(conn, ws.pong(item.payload))
            else:
                assert isinstance(item, Close)
                self._write(conn, ws.reply_to_close(item))
                self._fail(conn, now)
                return False
        return True

    def _write(self, conn: _Connection, data: bytes | None) -> None:
        if data is not None:
            conn.out += data
            self._touched[conn.conn_id] = conn
