"""Fuzz ``socketio_proto.wire.websocket.FrameCodec.receive`` on raw frame bytes.

Input: a mode byte, then the bytes the peer sends (see fuzzlib.py).

Mode bits:
  bit 0:    role -- 0: a server codec (frames must be masked), 1: a client codec
  bits 1-2: ``max_message_bytes`` -- 0, 16, 200 or 70000
  bits 3-4: how the bytes are chunked for the comparison with byte-by-byte feeding:
            0 one read, 1 chunks of ``size``, 2 chunks of 1, 2, 3... up to ``size``,
            3 the bytes after the first ``size`` in one read
  bits 5-7: ``size`` - 1 (1-8)

Invariants:
  * ``receive`` returns a list of ``str``, ``bytes``, ``Ping`` and ``Close`` (exact
    types) or raises ``WebSocketError`` with code 1002, 1007 or 1009, a reason and in
    ``received`` such a list (what the read completed before the violation); anything
    else escaping is a crash;
  * a message is never over the limit (its UTF-8 for text); a ping payload is at most
    125 bytes; a close carries 1005 (and no reason) or a sendable code (1012-1014
    included) and a reason of at most 123 bytes;
  * after an error the state is still OPEN (the pings in ``received`` get a pong),
    ``receive`` returns nothing more, and ``fail(code)`` returns a close frame that
    the peer decodes as ``Close(code, "")`` and leaves the state CLOSED;
  * after the peer's close ``receive`` returns nothing, the state stays OPEN until
    ``reply_to_close``, which echoes the code; without one ``reply_to_close`` is None;
  * chunking does not matter: in one read, in chunks or byte by byte the codec
    delivers the same items (counting the error's ``received``) and fails with the
    same code;
  * what it delivers, re-sent by a codec of the other role, decodes to the same items.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import fuzzlib
from fuzzlib import check

with fuzzlib.instrumented(__name__):
    from socketio_proto.wire.websocket import (
        Close,
        CodecState,
        FrameCodec,
        Ping,
        Received,
        Role,
        WebSocketError,
    )

LIMITS = (0, 16, 200, 70_000)
SENDABLE = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})
#: A masked (to a server) and an unmasked (to a client) empty text frame and close frame.
LATE_DATA = b"\x81\x00\x82\x80\x00\x00\x00\x00"
LATE_CLOSE = b"\x88\x00\x88\x80\x00\x00\x00\x00"


def chunked(body: bytes, how: int, size: int) -> Iterator[bytes]:
    if how == 0:
        yield body
    elif how == 1:
        for i in range(0, len(body), size):
            yield body[i : i + size]
    elif how == 2:
        position, step = 0, 1
        while position < len(body):
            yield body[position : position + step]
            position += step
            step = step % size + 1
    else:
        yield body[:size]
        yield body[size:]


def other(role: Role) -> Role:
    return Role.SERVER if role is Role.CLIENT else Role.CLIENT


def peer_reads(role: Role, frame: bytes) -> list[Received]:
    """What the peer makes of ``frame``, sent by a codec of ``role`` (a client masks)."""
    try:
        return FrameCodec(role=other(role), max_message_bytes=0).receive(frame)
    except WebSocketError as exc:
        check(False, "the peer refused %r: %r", frame, exc)
        raise


def feed(role: Role, limit: int, chunks: Iterator[bytes]) -> tuple[list[Received], int | None]:
    """Everything a fresh codec delivers for ``chunks``, and the close code it failed with."""
    codec = FrameCodec(role=role, max_message_bytes=limit)
    delivered: list[Received] = []
    closes: list[Close] = []
    for chunk in chunks:
        try:
            items = codec.receive(chunk)
        except WebSocketError as exc:
            check(exc.code in (1002, 1007, 1009), "unexpected close code %r", exc.code)
            check(isinstance(exc.reason, str) and bool(exc.reason), "%r has no reason", exc)
            check(not closes, "failed with %r after the peer's close", exc)
            check(type(exc.received) is list, "received is %r", exc.received)
            check_items(codec, exc.received)
            check(not any(type(i) is Close for i in exc.received), "a close before %r", exc)
            check_failed(role, codec, exc.code, exc.received)
            return delivered + exc.received, exc.code
        check(type(items) is list, "receive returned %r", items)
        check(not closes or items == [], "delivered %r after the peer's close", items)
        check_items(codec, items)
        closes += [item for item in items if type(item) is Close]
        check(len(closes) <= 1, "two closes: %r", closes)
        check(not closes or items == [] or type(items[-1]) is Close, "after a close: %r", items)
        delivered += items
    # Neither an error nor our close: the state is OPEN, even after the peer's close.
    check(codec.state is CodecState.OPEN, "state %s", codec.state)
    if not closes:
        check(codec.reply_to_close(Close(1000, "")) is None, "a reply without the peer's close")
        check(codec.state is CodecState.OPEN, "state %s after a refused reply", codec.state)
        return delivered, None
    [close] = closes
    reply = codec.reply_to_close(close)
    check(reply is not None, "no reply to %r", close)
    assert reply is not None
    check(codec.state is CodecState.CLOSED, "state %s after the reply", codec.state)
    check(peer_reads(role, reply) == [Close(close.code, "")], "reply %r to %r", reply, close)
    check(codec.reply_to_close(close) is None, "a second reply")
    check(codec.send(b"") is None and codec.close() is None, "sent after CLOSED")
    return delivered, None


def check_failed(role: Role, codec: FrameCodec, code: int, received: list[Received]) -> None:
    """After an error: no more input, still OPEN for the pongs, then ``fail`` closes."""
    check(codec.state is CodecState.OPEN, "state %s after an error", codec.state)
    check(codec.receive(LATE_DATA) == [], "data after an error")
    check(codec.receive(LATE_CLOSE) == [], "a close after an error")
    for item in received:
        if type(item) is Ping:
            pong = codec.pong(item.payload)
            check(pong is not None, "no pong for %r after an error", item)
    check(codec.state is CodecState.OPEN, "state %s after an error", codec.state)
    frame = codec.fail(code)
    check(codec.state is CodecState.CLOSED, "state %s after fail", codec.state)
    check(frame is not None, "fail(%d) sent nothing", code)
    assert frame is not None
    check(peer_reads(role, frame) == [Close(code, "")], "fail(%d) sent %r", code, frame)
    check(codec.fail(code) is None and codec.send("x") is None, "sent after fail")
    check(codec.receive(LATE_DATA) == [], "data after fail")


def check_items(codec: FrameCodec, items: list[Received]) -> None:
    for item in items:
        check_item(codec, item)


def check_item(codec: FrameCodec, item: object) -> None:
    kind = type(item)
    check(kind in (str, bytes, Ping, Close), "receive delivered %r", item)
    if isinstance(item, str):
        size = len(item.encode("utf-8"))  # strict: a lone surrogate would raise here
        check(size <= codec.limit, "a %d-byte text message over the limit", size)
    elif isinstance(item, bytes):
        check(len(item) <= codec.limit, "a %d-byte message over the limit", len(item))
    elif isinstance(item, Ping):
        check(type(item.payload) is bytes and len(item.payload) <= 125, "bad ping %r", item)
    else:
        assert isinstance(item, Close)
        if item.code == 1005:
            check(item.reason == "", "1005 with a reason: %r", item)
        else:
            check(item.code in SENDABLE or 3000 <= item.code <= 4999, "bad close %r", item)
            check(len(item.reason.encode("utf-8")) <= 123, "close reason too long %r", item)


def TestOneInput(data: bytes) -> None:
    mode, body = fuzzlib.split_input(data)
    role = Role.CLIENT if mode & 1 else Role.SERVER
    limit = LIMITS[(mode >> 1) & 3]
    how, size = (mode >> 3) & 3, ((mode >> 5) & 7) + 1

    reference = feed(role, limit, (body[i : i + 1] for i in range(len(body))))
    got = feed(role, limit, chunked(body, how, size))
    check(fuzzlib.same(got, reference), "in chunks %r, byte by byte %r", got, reference)
    if how != 0:
        whole = feed(role, limit, iter([body]))
        check(fuzzlib.same(whole, reference), "in one read %r, byte by byte %r", whole, reference)

    # Round trip: what was delivered, sent back the other way, decodes to the same items.
    peer = FrameCodec(role=other(role), max_message_bytes=0)
    wire = b""
    for item in reference[0]:
        if isinstance(item, str | bytes):
            frame = peer.send(item)
        elif isinstance(item, Ping):
            frame = peer.ping(item.payload)
        else:
            frame = peer.close(item.code, item.reason)
        check(frame is not None, "the peer could not re-send %r", item)
        assert frame is not None
        wire += frame
    again = feed(role, limit, iter([wire]))
    check(fuzzlib.same(again, (reference[0], None)), "re-sent %r as %r", reference, again)


def seeds() -> dict[str, bytes]:
    """The seed corpus (``fuzz/corpus/fuzz_websocket_codec/``), by name."""
    key = b"\x37\xfa\x21\x3d"

    def masked(first: int, payload: bytes, length: int | None = None) -> bytes:
        n = len(payload) if length is None else length
        if n < 126:
            header = bytes((first, 0x80 | n))
        elif n < 65536:
            header = bytes((first, 0x80 | 126)) + n.to_bytes(2, "big")
        else:
            header = bytes((first, 0x80 | 127)) + n.to_bytes(8, "big")
        return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))

    def plain(first: int, payload: bytes) -> bytes:
        n = len(payload)
        if n < 126:
            return bytes((first, n)) + payload
        return bytes((first, 126)) + n.to_bytes(2, "big") + payload

    server, client = 0b110, 0b111  # limit 70000, one read
    trickle = 0b010_10_110  # limit 70000, chunks of 1, 2, 3, 1...
    return {
        "ws-text": bytes([server]) + masked(0x81, b"hello"),
        "ws-binary-126": bytes([trickle]) + masked(0x82, bytes(range(200))),
        "ws-fragments-and-ping": bytes([trickle])
        + masked(0x01, b"\xe2\x82")
        + masked(0x89, b"ping")
        + masked(0x80, b"\xac!"),
        "ws-close-1000": bytes([server]) + masked(0x88, b"\x03\xe8bye") + masked(0x81, b"x"),
        "ws-close-empty": bytes([server]) + masked(0x88, b""),
        "ws-close-bad-code": bytes([server]) + masked(0x88, b"\x03\xed"),
        "ws-invalid-utf8": bytes([server]) + masked(0x81, b"\xed\xa0\x80"),
        "ws-rsv-and-opcode": bytes([server]) + masked(0xC1, b"x") + masked(0x83, b""),
        "ws-over-limit": bytes([0b010]) + masked(0x82, b"", length=1000),  # limit 16
        "ws-limit-fragments": bytes([0b100])  # limit 200
        + masked(0x02, b"a" * 150)
        + masked(0x80, b"b" * 51),
        "ws-unmasked-to-server": bytes([server]) + plain(0x81, b"hi"),
        "ws-client-text": bytes([client])
        + plain(0x81, b"hi")
        + plain(0x89, b"")
        + plain(0x8A, b""),
        "ws-client-masked": bytes([client]) + masked(0x81, b"hi"),
        "ws-client-big": bytes([client | 0b001_01_000]) + plain(0x82, b"z" * 300),
        "ws-control-too-long": bytes([server]) + masked(0x89, b"p" * 126),
        "ws-continuation-first": bytes([server]) + masked(0x80, b"x"),
        # Items the read completed before a violation are in the error's ``received``.
        "ws-text-then-reserved-opcode": bytes([server])
        + masked(0x81, b"first")
        + masked(0x83, b""),
        "ws-ping-then-bad-utf8": bytes([trickle])
        + masked(0x89, b"are you there")
        + masked(0x82, b"\x00\x01")
        + masked(0x81, b"ok\xc3("),
        # 1012-1014 are sendable close codes; 1015 is not.
        "ws-close-1012": bytes([server]) + masked(0x88, b"\x03\xf4restart"),
        "ws-close-1014": bytes([server]) + masked(0x88, b"\x03\xf6gateway"),
        "ws-close-1015": bytes([server]) + masked(0x88, b"\x03\xf7"),
        # Refused from the first two bytes: 1002 although the length is over the limit.
        "ws-reserved-opcode-huge": bytes([0b010]) + masked(0x83, b"", length=1 << 40)[:10],
        "ws-fragmented-ping-huge": bytes([0b010]) + masked(0x09, b"", length=1000)[:4],
        "ws-new-message-in-fragments": bytes([0b010])
        + masked(0x01, b"a")
        + masked(0x82, b"", length=70_000)[:10],
        # A control frame over 125 bytes, known once its 16-bit length arrives.
        "ws-ping-length-126-limit-0": bytes([0b1_000]) + masked(0x89, b"", length=126)[:4],
        # A non-minimal length on a control frame (accepted).
        "ws-ping-non-minimal": bytes([server]) + bytes((0x89, 0xFE, 0, 2)) + key + b"\x47\x93",
    }


if __name__ == "__main__":
    fuzzlib.main(TestOneInput)
    sys.exit(0)
