"""WebSockets that negotiated permessage-deflate: wsproto framing behind our codec's interface.

:class:`~socketio_proto.wire.websocket.FrameCodec` handles every WebSocket
without extensions; a connection that negotiated compression is framed by
wsproto instead, wrapped here so that the wire layers see one interface.
"""

from __future__ import annotations

from wsproto import WSConnection
from wsproto import events as ws_events
from wsproto.connection import ConnectionState
from wsproto.utilities import LocalProtocolError as WsLocalProtocolError
from wsproto.utilities import RemoteProtocolError as WsRemoteProtocolError

from .websocket import (
    CLOSE_PROTOCOL_ERROR,
    CLOSE_TOO_BIG,
    Close,
    CodecState,
    Ping,
    Received,
    WebSocketError,
    close_frame,
)

__all__ = ["MessageAssembler", "MessageTooBig", "WsprotoFraming"]

_STATES = {
    ConnectionState.OPEN: CodecState.OPEN,
    ConnectionState.LOCAL_CLOSING: CodecState.LOCAL_CLOSING,
    # Our codec stays OPEN until it replies to the peer's close.
    ConnectionState.REMOTE_CLOSING: CodecState.OPEN,
}


class MessageTooBig(Exception):
    """The message being reassembled exceeds the limit (close with 1009)."""


class MessageAssembler:
    """Collects the chunks of one message at a time; sizes count UTF-8 bytes.

    Chunks go into one growing buffer (text kept as UTF-8), so a flood of tiny
    fragments costs its bytes rather than an object per fragment; a message
    that arrives in one piece is passed through without a copy.
    """

    __slots__ = ("_parts", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._parts = bytearray()

    def add(self, event: ws_events.TextMessage | ws_events.BytesMessage) -> str | bytes | None:
        """Add one chunk; return the whole message once it is finished."""
        chunk = event.data
        data = chunk.encode("utf-8", "surrogatepass") if isinstance(chunk, str) else chunk
        if len(self._parts) + len(data) > self.limit:
            self._parts = bytearray()
            raise MessageTooBig
        if not event.message_finished:
            self._parts += data
            return None
        if not self._parts:
            return chunk if isinstance(chunk, str) else bytes(chunk)
        self._parts += data
        whole, self._parts = bytes(self._parts), bytearray()
        return whole.decode("utf-8", "surrogatepass") if isinstance(chunk, str) else whole


class WsprotoFraming:
    """Our codec's interface (:class:`~socketio_proto.wire.websocket.FrameCodec`) on wsproto."""

    __slots__ = ("_assembler", "_ws")

    def __init__(self, ws: WSConnection, max_message_bytes: int) -> None:
        self._ws = ws
        self._assembler = MessageAssembler(max_message_bytes)

    @property
    def state(self) -> CodecState:
        return _STATES.get(self._ws.state, CodecState.CLOSED)

    def receive(self, data: bytes) -> list[Received]:
        received: list[Received] = []
        try:
            self._receive(data, received)
        except WebSocketError as exc:
            exc.received = received  # delivered first, as FrameCodec does
            raise
        return received

    def _receive(self, data: bytes, received: list[Received]) -> None:
        ws = self._ws
        ws.receive_data(data)
        try:
            for event in ws.events():
                if isinstance(event, ws_events.TextMessage | ws_events.BytesMessage):
                    try:
                        message = self._assembler.add(event)
                    except MessageTooBig:
                        raise WebSocketError(CLOSE_TOO_BIG, "message too big") from None
                    if message is not None:
                        received.append(message)
                elif isinstance(event, ws_events.Ping):
                    received.append(Ping(bytes(event.payload)))
                elif isinstance(event, ws_events.CloseConnection):
                    if ws.state is ConnectionState.OPEN:
                        # wsproto reports a framing error (bad RSV bits, opcode, UTF-8...)
                        # as a CloseConnection of its own, with the code to fail with.
                        raise WebSocketError(event.code, event.reason or "invalid frame")
                    received.append(Close(event.code, event.reason or ""))
                    break
        except WsRemoteProtocolError as exc:
            raise WebSocketError(CLOSE_PROTOCOL_ERROR, str(exc)) from None

    def _send(self, event: ws_events.Event) -> bytes | None:
        try:
            return self._ws.send(event)
        except WsLocalProtocolError:  # closing has begun: nothing more may be sent
            return None

    def send(self, message: str | bytes) -> bytes | None:
        if isinstance(message, str):
            return self._send(ws_events.TextMessage(data=message))
        return self._send(ws_events.BytesMessage(data=message))

    def pong(self, payload: bytes) -> bytes | None:
        return self._send(ws_events.Pong(payload=payload))

    def close(self, code: int = 1000, reason: str = "") -> bytes | None:
        return self._send(ws_events.CloseConnection(code=code, reason=reason or None))

    def fail(self, code: int) -> bytes | None:
        # wsproto already considers itself closed after a violation: frame it ourselves
        # (masked on a client's connection, as every frame a client sends must be).
        return close_frame(code, mask=self._ws.client)

    def reply_to_close(self, close: Close) -> bytes | None:
        if self._ws.state is not ConnectionState.REMOTE_CLOSING:
            return None
        return self._send(ws_events.CloseConnection(code=close.code))
