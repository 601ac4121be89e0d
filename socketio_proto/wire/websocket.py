"""RFC 6455 framing, sans-IO: bytes in, messages out; messages in, frames out.

The wire layers use this for every WebSocket without extensions (wsproto
still does the opening handshake, and whole connections that negotiate
permessage-deflate).  It exists for speed: a message is one header parse, one
unmask and one decode, with no event object, no generator and no copy of a
frame that arrived whole; a frame to send is a cached header plus the payload,
and frames from a server are unmasked, so one frame can go to many peers
(see :func:`text_frame`).

::

    codec = FrameCodec(role=Role.SERVER, max_message_bytes=1_000_000)
    for item in codec.receive(data):      # raises WebSocketError (close with .code)
        if isinstance(item, str | bytes): ...        # a whole message
        elif isinstance(item, Ping): write(codec.pong(item.payload))
        elif isinstance(item, Close): write(codec.reply_to_close(item)); hang up
    write(codec.send("hello"))            # None once closing has begun

Nothing here touches a socket or a clock.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from typing import Final

__all__ = [
    "Close",
    "CodecState",
    "FrameCodec",
    "Ping",
    "Received",
    "Role",
    "WebSocketError",
    "binary_frame",
    "close_frame",
    "text_frame",
]

_CONTINUATION: Final = 0x0
_TEXT: Final = 0x1
_BINARY: Final = 0x2
_CLOSE: Final = 0x8
_PING: Final = 0x9
_PONG: Final = 0xA

#: Status codes a close frame may carry (RFC 6455 7.4; 3000-4999 are for applications).
_SENDABLE_CLOSE_CODES: Final = frozenset(
    {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014}
)
_NO_MASK: Final = b"\x00\x00\x00\x00"

CLOSE_NORMAL: Final = 1000
CLOSE_PROTOCOL_ERROR: Final = 1002
CLOSE_INVALID_DATA: Final = 1007
CLOSE_TOO_BIG: Final = 1009


class Role(Enum):
    """Which end of the connection a codec serves: clients mask, servers must not."""

    SERVER = "server"
    CLIENT = "client"


class CodecState(Enum):
    OPEN = "open"
    #: We sent a close frame and wait for the peer's.
    LOCAL_CLOSING = "local closing"
    #: Close frames went both ways, or the connection failed: nothing more flows.
    CLOSED = "closed"


class WebSocketError(Exception):
    """The peer broke the framing rules; fail the connection with close ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{reason} (close code {code})")
        self.code = code
        self.reason = reason
        #: What the failing read completed before the violation (deliver it first).
        self.received: list[Received] = []


@dataclass(frozen=True, slots=True)
class Ping:
    """The peer pinged; answer with :meth:`FrameCodec.pong`."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class Close:
    """The peer sent a close frame (``code`` 1005 when it carried none)."""

    code: int
    reason: str


#: What :meth:`FrameCodec.receive` returns: whole messages (text as ``str``) and controls.
Received = str | bytes | Ping | Close


def _header(first_byte: int, length: int, mask_bit: int) -> bytes:
    if length < 126:
        return bytes((first_byte, mask_bit | length))
    if length < 65536:
        return bytes((first_byte, mask_bit | 126)) + length.to_bytes(2, "big")
    return bytes((first_byte, mask_bit | 127)) + length.to_bytes(8, "big")


# Headers of unmasked final frames of up to 125 bytes, the common case, built once.
_SMALL_TEXT_HEADERS: Final = tuple(bytes((0x80 | _TEXT, n)) for n in range(126))
_SMALL_BINARY_HEADERS: Final = tuple(bytes((0x80 | _BINARY, n)) for n in range(126))


def text_frame(message: str) -> bytes:
    """An unmasked final text frame (what a server sends): the same bytes suit every peer."""
    payload = message.encode("utf-8")
    length = len(payload)
    if length < 126:
        return _SMALL_TEXT_HEADERS[length] + payload
    return _header(0x80 | _TEXT, length, 0) + payload


def binary_frame(message: bytes) -> bytes:
    """An unmasked final binary frame."""
    length = len(message)
    if length < 126:
        return _SMALL_BINARY_HEADERS[length] + message
    return _header(0x80 | _BINARY, length, 0) + message


def close_frame(code: int, reason: str = "", *, mask: bool = False) -> bytes:
    """A close frame carrying ``code`` (none for 1005, which may not be sent).

    The reason is cut to the 123 bytes a control frame leaves it, on a
    character boundary.
    """
    if code == 1005:
        return _frame(_CLOSE, b"", mask)
    if not _valid_close_code(code):
        raise ValueError(f"close code {code} may not be sent")
    encoded = reason.encode("utf-8")[:123].decode("utf-8", "ignore").encode("utf-8")
    return _frame(_CLOSE, code.to_bytes(2, "big") + encoded, mask)


def _frame(opcode: int, payload: bytes, mask: bool) -> bytes:
    if not mask:
        return _header(0x80 | opcode, len(payload), 0) + payload
    key = os.urandom(4)
    return _header(0x80 | opcode, len(payload), 0x80) + key + _xor(payload, key)


def _xor(data: bytes, key: bytes) -> bytes:
    """``data`` masked (or unmasked) with the 4-byte ``key``, in C speed via big ints."""
    length = len(data)
    if not length:
        return b""
    keystream = (key * (length // 4 + 1))[:length]
    return (int.from_bytes(data, "little") ^ int.from_bytes(keystream, "little")).to_bytes(
        length, "little"
    )


def _valid_close_code(code: int) -> bool:
    return code in _SENDABLE_CLOSE_CODES or 3000 <= code <= 4999


class FrameCodec:
    """One WebSocket connection's frames, after the handshake, without extensions.

    ``max_message_bytes`` bounds a message (all its fragments together): a
    longer one raises :class:`WebSocketError` with code 1009 as soon as a
    frame header announces it, before its bytes are buffered.
    """

    __slots__ = (
        "_buffer",
        "_client",
        "_fragments",
        "_input_done",
        "_needed",
        "_opcode",
        "_peer_closed",
        "limit",
        "state",
    )

    def __init__(self, *, role: Role, max_message_bytes: int) -> None:
        self._client = role is Role.CLIENT
        self.limit = max_message_bytes
        self.state = CodecState.OPEN
        # The peer's close frame arrived: later bytes are ignored.  The state stays
        # OPEN until :meth:`reply_to_close`, so that replies to the messages that came
        # before the close, in the same read, still go out first.
        self._peer_closed = False
        # No more input is parsed: the peer closed, or broke the rules.
        self._input_done = False
        # Bytes of an incomplete frame (empty between frames, the common case), and
        # how many the frame needs in all once its header is known: a big frame
        # arriving in many reads is appended to, not re-parsed and copied each time.
        self._buffer = bytearray()
        self._needed = 0
        # The message being reassembled from fragments: its opcode and its bytes so far
        # (one buffer, not a list: a flood of tiny fragments costs only its bytes).
        self._opcode = 0
        self._fragments = bytearray()

    # -- receiving -------------------------------------------------------------------

    def receive(self, data: bytes) -> list[Received]:
        """Parse ``data``; returns the messages and control frames completed by it.

        Raises :class:`WebSocketError` on a framing violation.  What the same
        read completed before it is in the error's ``received``: handle that
        first (pings still get their pong), so nothing depends on how the
        stream was split; then send :meth:`fail` with the error's code and hang
        up.  Bytes after the peer's close frame or a violation are ignored.
        """
        if self._input_done or self.state is CodecState.CLOSED:
            return []
        if self._buffer:
            self._buffer += data
            if len(self._buffer) < self._needed:
                return []
            buffer = bytes(self._buffer)
        else:
            buffer = data
        received: list[Received] = []
        try:
            used = self._parse(buffer, received)
        except WebSocketError as exc:
            self._input_done = True
            self._buffer = bytearray()
            exc.received = received
            raise
        self._buffer = bytearray(buffer[used:]) if used < len(buffer) else bytearray()
        return received

    def _parse(self, buffer: bytes, received: list[Received]) -> int:
        """Append what ``buffer`` completes to ``received``; returns the bytes used."""
        size = len(buffer)
        position = 0
        masked_expected = 0 if self._client else 0x80
        self._needed = 0
        while size - position >= 2:
            first, second = buffer[position], buffer[position + 1]
            opcode = first & 0x0F
            self._check_header(first, second, masked_expected)
            length = second & 0x7F
            start = position + 2
            if length == 126:
                if size - position < 4:
                    break
                length = int.from_bytes(buffer[start : start + 2], "big")
                start += 2
            elif length == 127:
                if size - position < 10:
                    break
                length = int.from_bytes(buffer[start : start + 8], "big")
                start += 8
            if opcode >= _CLOSE:
                # Checked on the decoded length: the RFC's "minimal encoding" rule
                # binds the sender, so a long form of a short length is accepted.
                if length > 125:
                    raise WebSocketError(CLOSE_PROTOCOL_ERROR, "a control frame over 125 bytes")
            elif len(self._fragments) + length > self.limit:
                raise WebSocketError(CLOSE_TOO_BIG, f"message over {self.limit} bytes")
            if masked_expected:
                end = start + 4 + length
                if end > size:
                    self._needed = end - position
                    break
                key = buffer[start : start + 4]
                payload = buffer[start + 4 : end]
                if key != _NO_MASK:
                    payload = _xor(payload, key)
            else:
                end = start + length
                if end > size:
                    self._needed = end - position
                    break
                payload = buffer[start:end]
            position = end
            if opcode >= _CLOSE:
                control = self._control(opcode, payload)
                if control is not None:
                    received.append(control)
                    if isinstance(control, Close):
                        return size  # nothing after a close frame counts
                continue
            message = self._data(opcode, bool(first & 0x80), payload)
            if message is not None:
                received.append(message)
        return position

    def _check_header(self, first: int, second: int, masked_expected: int) -> None:
        """Refuse a frame from its first two bytes, before waiting for its payload."""
        opcode = first & 0x0F
        if first & 0x70:
            raise WebSocketError(CLOSE_PROTOCOL_ERROR, "reserved bits set without an extension")
        if second & 0x80 != masked_expected:
            raise WebSocketError(
                CLOSE_PROTOCOL_ERROR,
                "a server frame must not be masked"
                if self._client
                else "a client frame must be masked",
            )
        if opcode >= _CLOSE:
            if opcode > _PONG:
                raise WebSocketError(CLOSE_PROTOCOL_ERROR, f"reserved opcode {opcode:#x}")
            if not first & 0x80:
                raise WebSocketError(CLOSE_PROTOCOL_ERROR, "a fragmented control frame")
        elif opcode > _BINARY:
            raise WebSocketError(CLOSE_PROTOCOL_ERROR, f"reserved opcode {opcode:#x}")
        elif opcode == _CONTINUATION:
            if not self._opcode:
                raise WebSocketError(CLOSE_PROTOCOL_ERROR, "a continuation frame with no message")
        elif self._opcode:
            raise WebSocketError(CLOSE_PROTOCOL_ERROR, "a new message inside a fragmented one")

    def _data(self, opcode: int, final: bool, payload: bytes) -> str | bytes | None:
        if opcode == _CONTINUATION:
            self._fragments += payload
            if not final:
                return None
            opcode, payload = self._opcode, bytes(self._fragments)
            self._opcode, self._fragments = 0, bytearray()
        elif not final:
            self._opcode, self._fragments = opcode, bytearray(payload)
            return None
        if opcode == _BINARY:
            return payload
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            raise WebSocketError(CLOSE_INVALID_DATA, "a text message that is not UTF-8") from None

    def _control(self, opcode: int, payload: bytes) -> Ping | Close | None:
        if opcode == _PING:
            return Ping(payload)
        if opcode == _PONG:
            return None
        if not payload:
            close = Close(1005, "")
        elif len(payload) == 1:
            raise WebSocketError(CLOSE_PROTOCOL_ERROR, "a close frame with a 1-byte body")
        else:
            code = int.from_bytes(payload[:2], "big")
            if not _valid_close_code(code):
                raise WebSocketError(CLOSE_PROTOCOL_ERROR, f"close code {code} may not be sent")
            try:
                close = Close(code, payload[2:].decode("utf-8"))
            except UnicodeDecodeError:
                raise WebSocketError(
                    CLOSE_INVALID_DATA, "a close reason that is not UTF-8"
                ) from None
        self._peer_closed = self._input_done = True
        if self.state is CodecState.LOCAL_CLOSING:
            self.state = CodecState.CLOSED
        return close

    # -- sending ---------------------------------------------------------------------

    def send(self, message: str | bytes) -> bytes | None:
        """One message as a frame; None once closing has begun (nothing more may be sent)."""
        if self.state is not CodecState.OPEN:
            return None
        if self._client:
            if isinstance(message, str):
                return _frame(_TEXT, message.encode("utf-8"), True)
            return _frame(_BINARY, message, True)
        return text_frame(message) if isinstance(message, str) else binary_frame(message)

    def pong(self, payload: bytes) -> bytes | None:
        """The answer to a :class:`Ping`."""
        if self.state is not CodecState.OPEN:
            return None
        return _frame(_PONG, payload, self._client)

    def ping(self, payload: bytes = b"") -> bytes | None:
        """A ping frame (at most 125 bytes of payload)."""
        if len(payload) > 125:
            raise ValueError("a ping payload is at most 125 bytes")
        if self.state is not CodecState.OPEN:
            return None
        return _frame(_PING, payload, self._client)

    def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> bytes | None:
        """Start the closing handshake (None if it already began).

        After the peer's close this is our answer, and the handshake is complete.
        Raises :class:`ValueError` for a code a close frame may not carry.
        """
        if self.state is not CodecState.OPEN:
            return None
        frame = close_frame(code, reason, mask=self._client)
        self.state = CodecState.CLOSED if self._peer_closed else CodecState.LOCAL_CLOSING
        return frame

    def fail(self, code: int) -> bytes | None:
        """The close frame failing the connection after a :class:`WebSocketError`.

        The state becomes CLOSED: hang up once it is written (None if our close
        frame already went).
        """
        if self.state is not CodecState.OPEN:
            self.state = CodecState.CLOSED
            return None
        self.state = CodecState.CLOSED
        return close_frame(code, mask=self._client)

    def reply_to_close(self, close: Close) -> bytes | None:
        """The close frame answering the peer's, echoing its code (None if ours already went)."""
        if self.state is not CodecState.OPEN or not self._peer_closed:
            return None
        self.state = CodecState.CLOSED
        return close_frame(close.code, mask=self._client)
