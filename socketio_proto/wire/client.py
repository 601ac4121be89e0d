"""Drive an Engine.IO client from raw TCP bytes: h11 for polling, wsproto for WebSockets.

A polling client needs a GET and a POST in flight at once, so the wire client
manages several TCP connections to one server (idle ones are kept alive and
reused).  The caller opens connections when told to and moves bytes::

    wire = WireClient(EngineClient(config), host="localhost:5000")
    wire.connect(now)
    for out in wire.transmit(now):
        if isinstance(out, OpenConnection): open a TCP connection for out.conn_id
        else: write out.data to out.conn_id (then close it if out.close)
    wire.receive_data(conn_id, data, now)     # b"" means EOF
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import h11
from wsproto import ConnectionType, WSConnection
from wsproto import events as ws_events
from wsproto.connection import ConnectionState
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
from ._common import decode_headers, encode_headers, message_event, send_ws
from ._messages import MessageAssembler, MessageTooBig
from .server import Transmit

__all__ = ["OpenConnection", "WireClient"]


@dataclass(frozen=True, slots=True)
class OpenConnection:
    """Open a new TCP connection to the server, known as ``conn_id`` from now on."""

    conn_id: int


class _Connection:
    __slots__ = (
        "assembler",
        "body",
        "body_size",
        "closing",
        "conn_id",
        "h11",
        "out",
        "posting",
        "request_id",
        "response",
        "ws",
        "ws_id",
    )

    def __init__(self, conn_id: int, message_limit: int) -> None:
        self.conn_id = conn_id
        self.h11: h11.Connection | None = None
        self.request_id: int | None = None
        #: The request in flight is a POST.
        self.posting = False
        self.response: h11.Response | None = None
        self.body: list[bytes] = []
        self.body_size = 0
        self.ws: WSConnection | None = None
        self.ws_id: int | None = None
        self.assembler = MessageAssembler(message_limit)
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
                if conn is not None:
                    self._send_ws(conn, message_event(output.message))
            else:
                assert isinstance(output, CloseWebSocket)
                conn = self._by_ws.pop(output.ws_id, None)
                if conn is not None:
                    self._send_ws(conn, ws_events.CloseConnection(code=output.code))
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
        conn = _Connection(next(self._ids), self.client.config.limits.max_payload_bytes)
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
                if conn.ws is not None and conn.ws.state is ConnectionState.CONNECTING:
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
        conn.ws = WSConnection(ConnectionType.CLIENT)
        conn.ws_id = output.ws_id
        request = output.request
        extensions: list[Extension] = [PerMessageDeflate()] if self.websocket_compression else []
        headers = encode_headers(request.headers)
        conn.out += conn.ws.send(
            ws_events.Request(
                host=self.host,
                target=request.target,
                extra_headers=headers,
                extensions=extensions,
            )
        )
        self._by_ws[output.ws_id] = conn
        self._touched[conn.conn_id] = conn

    def _receive_ws(self, conn: _Connection, data: bytes, now: float) -> None:
        ws = conn.ws
        assert ws is not None
        ws.receive_data(data or None)
        ws_id = conn.ws_id
        try:
            for event in ws.events():
                if ws_id is None:
                    return
                if isinstance(event, ws_events.AcceptConnection):
                    self.client.websocket_opened(ws_id, now)
                elif isinstance(event, ws_events.RejectConnection):
                    self._by_ws.pop(ws_id, None)
                    conn.ws_id = None
                    self._mark_closing(conn)
                    refusal = HttpResponse(
                        event.status_code,
                        decode_headers(event.headers),
                    )
                    self.client.websocket_refused(ws_id, refusal, now)
                    return
                elif isinstance(event, ws_events.TextMessage | ws_events.BytesMessage):
                    if not self._collect_fragment(conn, event, now):
                        return
                elif isinstance(event, ws_events.Ping):
                    self._send_ws(conn, event.response())
                elif isinstance(event, ws_events.CloseConnection):
                    if ws.state is ConnectionState.REMOTE_CLOSING:
                        self._send_ws(conn, event.response())
                    self._fail(conn, now)
                    return
        except WsRemoteProtocolError:
            self._send_ws(conn, ws_events.CloseConnection(code=1002))
            self._fail(conn, now)
            return
        if not data:
            self._fail(conn, now)

    def _collect_fragment(
        self,
        conn: _Connection,
        event: ws_events.TextMessage | ws_events.BytesMessage,
        now: float,
    ) -> bool:
        try:
            message = conn.assembler.add(event)
        except MessageTooBig:
            self._send_ws(conn, ws_events.CloseConnection(code=1009))
            self._fail(conn, now)
            return False
        if message is not None:
            assert conn.ws_id is not None
            self.client.receive_websocket_message(conn.ws_id, message, now)
        return True

    def _send_ws(self, conn: _Connection, event: ws_events.Event) -> None:
        assert conn.ws is not None
        data = send_ws(conn.ws, event)
        if data is not None:
            conn.out += data
            self._touched[conn.conn_id] = conn
