"""Fuzz ``socketio_proto.wire.WireServer``: raw TCP bytes on several connections.

Input: a mode byte, then the body (see fuzzlib.py).  The body is split on ``SEPARATOR``
(``f5 f5``) into *segments*; each segment is one control byte followed by the bytes one
connection sends:

  control bits 0-2: connection (0-5; 6 and 7 wrap around)
  control bit 3:    EOF after the segment (``receive_data(conn, b"")``)
  control bits 4-5: then the clock moves by 0, 0.3, 1.0 or 2.5 s and ``handle_timeout`` runs
  control bit 6:    then the connection is lost (reset; ``connection_lost``)

Mode bits:
  bits 0-1: how the bytes are chunked for the comparison with one-read-per-unit feeding:
            0 byte by byte, 1 chunks of ``size``, 2 chunks of 1, 2, 3... up to ``size``,
            3 byte by byte and chunks of ``size``
  bits 2-5: ``size`` - 1 (1-16)
  bits 6-7: configuration: 0 small limits; 1 the same with CORS "*" and a session cookie;
            2 permessage-deflate on WebSockets; 3 Engine.IO 4 only, no upgrades

Sessions get the ids sid0, sid1... (a deterministic ``sid_generator``), so seeds can
address them: ``GET /engine.io/?EIO=4&transport=polling&sid=sid0``.

Invariants:
  * ``WireServer`` never raises (on any bytes, EOF, reset or timer);
  * fed whole or in smaller chunks, every connection receives the same bytes, the same
    connections close, and the application sees the same events;
  * nothing is transmitted on a connection after ``connection_lost``;
  * what a plain HTTP connection receives starts with an HTTP/1.1 status line;
  * a connection whose first request head is malformed gets exactly one 400 and a close.

"Whole" means one ``receive_data`` per segment.  One equivalence is allowed: a text
message both over ``max_payload_bytes`` and invalid UTF-8 past the limit is closed with
1007 when it arrives in one read (wsproto validates the chunk first) and with 1009 when it
trickles in (the size check comes first); either close is correct.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import atheris
import fuzzlib
from fuzzlib import check


def _instrumentation() -> contextlib.AbstractContextManager[Any]:
    # Instrument the library and the HTTP/WebSocket parsers it drives, but only when run
    # as a fuzzer: imported by tests/test_fuzz.py the modules stay plain.
    if __name__ == "__main__":
        return atheris.instrument_imports(  # type: ignore[no-any-return]
            include=["socketio_proto", "h11", "wsproto"]
        )
    return contextlib.nullcontext()


with _instrumentation():
    import h11

    from socketio_proto.engineio.config import CookieConfig, EngineConfig
    from socketio_proto.engineio.events import ServerEvent
    from socketio_proto.limits import Limits
    from socketio_proto.wire import WireServer

SEPARATOR = b"\xf5\xf5"
# h11 exports the state without listing it in __all__.
_MIGHT_SWITCH_PROTOCOL = h11.MIGHT_SWITCH_PROTOCOL  # type: ignore[attr-defined]
CONNECTIONS = 6
TICKS = (0.0, 0.3, 1.0, 2.5)


@dataclass(frozen=True, slots=True)
class Segment:
    conn: int
    data: bytes
    eof: bool = False
    tick: float = 0.0
    reset: bool = False


@dataclass(slots=True)
class Outcome:
    sent: dict[int, bytes] = field(default_factory=dict)
    closed: set[int] = field(default_factory=set)
    events: list[ServerEvent] = field(default_factory=list)


Splitter = Callable[[bytes], Iterator[bytes]]


def parse_segments(body: bytes) -> list[Segment]:
    segments = []
    for raw in body.split(SEPARATOR):
        if not raw:
            continue
        control = raw[0]
        segments.append(
            Segment(
                conn=(control & 7) % CONNECTIONS,
                data=raw[1:],
                eof=bool(control & 8),
                tick=TICKS[(control >> 4) & 3],
                reset=bool(control & 64),
            )
        )
    return segments


def make_config(variant: int) -> EngineConfig:
    """Configuration ``variant``; sessions are named sid0, sid1... in order."""
    ids = itertools.count()
    limits = Limits(max_payload_bytes=400, max_packets_per_payload=8)
    common: dict[str, Any] = {
        "sid_generator": lambda: f"sid{next(ids)}",
        "ping_interval": 1.0,
        "ping_timeout": 0.5,
        "upgrade_timeout": 0.75,
        "close_timeout": 2.0,
        "http_compression_threshold": 64,
        "limits": limits,
    }
    if variant == 1:
        return EngineConfig(
            allow_eio3=True, cors_allowed_origins="*", cookie=CookieConfig(), **common
        )
    if variant == 2:
        return EngineConfig(allow_eio3=True, websocket_compression=True, **common)
    if variant == 3:
        return EngineConfig(allow_upgrades=False, **common)
    return EngineConfig(allow_eio3=True, **common)


# -- cutting the input into units --------------------------------------------------------------


def upgrade_head(data: bytes) -> int | None:
    """Where the head of an upgrade request in ``data`` ends, if there is one.

    An h11 server reads ``data``, answering every complete request with an empty 200, until
    a request asks to switch protocols.
    """
    oracle = h11.Connection(h11.SERVER)
    oracle.receive_data(data)
    try:
        while True:
            event = oracle.next_event()
            if event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
                return None
            if event is h11.PAUSED:
                if oracle.their_state is _MIGHT_SWITCH_PROTOCOL:
                    return len(data) - len(oracle.trailing_data[0])
                oracle.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
                oracle.send(h11.EndOfMessage())
                oracle.start_next_cycle()
    except (h11.RemoteProtocolError, h11.LocalProtocolError):
        return None


def client_frames(data: bytes) -> list[bytes]:
    """``data`` cut at WebSocket frame boundaries (a truncated last frame stays whole)."""
    frames = []
    i = 0
    while i < len(data):
        if len(data) - i < 2:
            frames.append(data[i:])
            break
        length = data[i + 1] & 0x7F
        start = i + 2
        if length == 126:
            length, start = int.from_bytes(data[start : start + 2], "big"), start + 2
        elif length == 127:
            length, start = int.from_bytes(data[start : start + 8], "big"), start + 8
        if data[i + 1] & 0x80:
            start += 4
        end = min(start + length, len(data))
        frames.append(data[i:end])
        i = end
    return frames


def units(segments: list[Segment]) -> list[tuple[Segment, list[bytes]]]:
    """Each segment with the pieces fed in one read each: the whole segment."""
    return [(segment, [segment.data] if segment.data else []) for segment in segments]


# -- feeding ------------------------------------------------------------------------------------


def whole(data: bytes) -> Iterator[bytes]:
    yield data


def bytewise(data: bytes) -> Iterator[bytes]:
    for i in range(len(data)):
        yield data[i : i + 1]


def fixed(size: int) -> Splitter:
    def split(data: bytes) -> Iterator[bytes]:
        for i in range(0, len(data), size):
            yield data[i : i + size]

    return split


def growing(size: int) -> Splitter:
    def split(data: bytes) -> Iterator[bytes]:
        i, step = 0, 1
        while i < len(data):
            yield data[i : i + step]
            i += step
            step = step % size + 1

    return split


def run(plan: list[tuple[Segment, list[bytes]]], split: Splitter, variant: int) -> Outcome:
    wire = WireServer(config=make_config(variant))
    outcome = Outcome()
    conn_ids: dict[int, int] = {}
    lost: set[int] = set()
    now = 0.0

    def drain() -> None:
        for out in wire.transmit(now):
            index = next(i for i, c in conn_ids.items() if c == out.conn_id)
            check(index not in lost, "transmit on connection %d after connection_lost", index)
            outcome.sent[index] = outcome.sent.get(index, b"") + out.data
            if out.close:
                outcome.closed.add(index)
                lost.add(index)
                wire.connection_lost(out.conn_id, now)
        outcome.events.extend(wire.events())

    for segment, pieces in plan:
        if segment.conn in lost:
            continue
        if segment.conn not in conn_ids:
            conn_ids[segment.conn] = wire.connection_made()
        conn_id = conn_ids[segment.conn]
        for piece in pieces:
            for chunk in split(piece):
                wire.receive_data(conn_id, chunk, now)
                drain()
        if segment.eof:
            wire.receive_data(conn_id, b"", now)
            drain()
        if segment.reset and segment.conn not in lost:
            lost.add(segment.conn)
            wire.connection_lost(conn_id, now)
            drain()
        if segment.tick:
            now += segment.tick
            wire.handle_timeout(now)
            drain()
    return outcome


# -- invariants ---------------------------------------------------------------------------------


#: Close frames (server frames are unmasked) that may stand for each other (see above).
_CLOSE_1007 = b"\x88\x02\x03\xef"
_CLOSE_1009 = b"\x88\x02\x03\xf1"


def check_same(reference: Outcome, other: Outcome, name: str) -> None:
    for index in sorted(set(reference.sent) | set(other.sent)):
        first, second = reference.sent.get(index, b""), other.sent.get(index, b"")
        if first != second and first.replace(_CLOSE_1007, _CLOSE_1009) == second.replace(
            _CLOSE_1007, _CLOSE_1009
        ):
            continue  # too big and invalid UTF-8: either failure code is right
        check(
            first == second,
            "connection %d: one read per unit vs %s:\n%r\n%r",
            index,
            name,
            first,
            second,
        )
    check(
        reference.closed == other.closed,
        "closed connections %r vs %r (%s)",
        reference.closed,
        other.closed,
        name,
    )
    check(
        reference.events == other.events,
        "events %r vs %r (%s)",
        reference.events,
        other.events,
        name,
    )


def check_responses(plan: list[tuple[Segment, list[bytes]]], outcome: Outcome) -> None:
    upgraded = {segment.conn for segment, pieces in plan if len(pieces) > 1}
    upgraded |= {
        segment.conn for segment, pieces in plan if pieces and upgrade_head(pieces[0]) is not None
    }
    for index, sent in outcome.sent.items():
        if sent and index not in upgraded:
            check(sent.startswith(b"HTTP/1.1 "), "connection %d got %r", index, sent[:80])
    # Malformed first request head: one 400, then close.
    for segment, _ in plan:
        mine = [s for s, _ in plan if s.conn == segment.conn]
        if mine[0] is not segment or len(mine) > 1 or segment.reset:
            continue
        oracle = h11.Connection(h11.SERVER)
        oracle.receive_data(segment.data)
        if segment.eof:
            oracle.receive_data(b"")
        try:
            oracle.next_event()
        except h11.RemoteProtocolError:
            sent = outcome.sent.get(segment.conn, b"")
            check(segment.conn in outcome.closed, "malformed HTTP left the connection open")
            check(
                sent.startswith(b"HTTP/1.1 400 ")
                and sent.count(b"HTTP/1.1 ") == 1
                and sent.endswith(b"\r\n\r\nBad Request"),
                "malformed HTTP answered %r",
                sent,
            )


def TestOneInput(data: bytes) -> None:
    mode, body = fuzzlib.split_input(data)
    size = ((mode >> 2) & 15) + 1
    variant = mode >> 6
    choices: dict[int, list[tuple[str, Splitter]]] = {
        0: [("byte by byte", bytewise)],
        1: [(f"chunks of {size}", fixed(size))],
        2: [(f"chunks of 1..{size}", growing(size))],
        3: [("byte by byte", bytewise), (f"chunks of {size}", fixed(size))],
    }
    splitters = choices[mode & 3]
    plan = units(parse_segments(body))
    reference = run(plan, whole, variant)
    for name, split in splitters:
        check_same(reference, run(plan, split, variant), name)
    check_responses(plan, reference)


# -- seeds --------------------------------------------------------------------------------------


def _request(method: str, target: str, headers: str = "", body: bytes = b"") -> bytes:
    head = f"{method} {target} HTTP/1.1\r\nHost: example.com\r\n{headers}"
    if body or method == "POST":
        head += f"Content-Length: {len(body)}\r\n"
    return (head + "\r\n").encode("latin-1") + body


def _frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    mask = b"\x37\xfa\x21\x3d"
    size = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if size < 126:
        head += bytes([0x80 | size])
    else:
        head += bytes([0x80 | 126]) + size.to_bytes(2, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _segment(
    conn: int, data: bytes, *, eof: bool = False, tick: int = 0, reset: bool = False
) -> bytes:
    return bytes([conn | eof << 3 | tick << 4 | reset << 6]) + data


def seeds() -> dict[str, bytes]:
    """The seed corpus (``fuzz/corpus/fuzz_wire_server/``), by name."""
    ws_headers = (
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    )
    deflate = "Sec-WebSocket-Extensions: permessage-deflate\r\n"

    def path(eio: str, transport: str, sid: str | None = None) -> str:
        query = f"EIO={eio}&transport={transport}&t=N1x"
        return f"/engine.io/?{query}" + (f"&sid={sid}" if sid else "")

    def join(*segments: bytes, mode: int = 0) -> bytes:
        return bytes([mode]) + SEPARATOR.join(segments)

    handshake4 = _request("GET", path("4", "polling"), "Accept-Encoding: gzip\r\n")
    handshake3 = _request("GET", path("3", "polling"))
    poll = _request("GET", path("4", "polling", "sid0"))
    post = _request("POST", path("4", "polling", "sid0"), body=b"4hello\x1e4world")
    post3 = _request("POST", path("3", "polling", "sid0"), body=b"6:4hello2:4x1:2")
    post3_binary = _request(
        "POST",
        path("3", "polling", "sid0"),
        "Content-Type: application/octet-stream\r\n",
        b"\x00\x06\xff4hello\x01\x05\xff\x04\x01\x02\x03\x04",
    )
    probe = _request("GET", path("4", "websocket", "sid0"), ws_headers)
    upgrade_frames = _frame(1, b"2probe") + _frame(1, b"5")
    messages = (
        _frame(1, b"4hello")
        + _frame(2, b"\x01\x02\x03")
        + _frame(1, b"4fra", fin=False)
        + _frame(0, "gment \u00e9".encode())
        + _frame(9, b"ping!")
        + _frame(1, b"3")
    )
    close = _frame(8, (1000).to_bytes(2, "big") + b"bye")
    ws_only = _request("GET", path("4", "websocket"), ws_headers)
    ws_only3 = _request("GET", path("3", "websocket"), ws_headers)
    chunk = b"4" + b"y" * 199
    chunked = (
        f"POST {path('4', 'polling', 'sid0')} HTTP/1.1\r\nHost: example.com\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode("latin-1") + b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(3))
    chunked += b"0\r\n\r\n"
    return {
        "handshake": join(_segment(0, handshake4)),
        "handshake-v3": join(_segment(0, handshake3)),
        "handshake-poll-post": join(_segment(0, handshake4), _segment(1, poll), _segment(2, post)),
        "v3-poll-post-binary": join(
            _segment(0, handshake3),
            _segment(1, _request("GET", path("3", "polling", "sid0"))),
            _segment(2, post3),
            _segment(2, post3_binary),
        ),
        "pipelined": join(_segment(0, handshake4 + post + poll)),
        "parked-poll-timeout": join(
            _segment(0, handshake4), _segment(1, poll, tick=2), _segment(1, poll, tick=3)
        ),
        "parked-poll-aborted": join(_segment(0, handshake4), _segment(1, poll, eof=True)),
        "reset-after-post": join(_segment(0, handshake4), _segment(1, post, reset=True)),
        "reset-websocket": join(
            _segment(0, handshake4),
            _segment(1, poll),
            _segment(3, probe + upgrade_frames, reset=True),
            _segment(4, ws_only, reset=True),
        ),
        "upgrade": join(
            _segment(0, handshake4),
            _segment(1, poll),
            _segment(3, probe + upgrade_frames + messages + close),
        ),
        "upgrade-split": join(
            _segment(0, handshake4),
            _segment(3, probe),
            _segment(3, _frame(1, b"2probe")),
            _segment(1, poll),
            _segment(3, _frame(1, b"5"), tick=1),
            _segment(3, messages, eof=True),
            mode=3 | 5 << 2,
        ),
        "upgrade-deflate": join(
            _segment(0, handshake4),
            _segment(3, probe.replace(b"\r\n\r\n", b"\r\n" + deflate.encode() + b"\r\n")),
            mode=2 << 6,
        ),
        "websocket-only": join(_segment(4, ws_only + messages + close)),
        "websocket-only-v3": join(
            _segment(4, ws_only3 + _frame(1, b"2") + _frame(2, b"\x04\x01\x02"), tick=2)
        ),
        "websocket-too-big": join(_segment(4, ws_only + _frame(1, b"4" + b"x" * 500))),
        "websocket-bad-frames": join(
            _segment(4, ws_only + b"\x81\x024x"),
            _segment(5, ws_only + _frame(3, b"4x")),
        ),
        "post-too-big": join(
            _segment(0, handshake4),
            _segment(1, _request("POST", path("4", "polling", "sid0"), body=b"4" * 500)),
        ),
        "post-chunked-too-big": join(_segment(0, handshake4), _segment(1, chunked)),
        "preflight-cors": join(
            _segment(0, _request("OPTIONS", path("4", "polling"), "Origin: http://a\r\n")),
            mode=1 << 6,
        ),
        "unknown-sid": join(_segment(0, _request("GET", path("4", "polling", "nope")))),
        "bad-handshakes": join(
            _segment(0, _request("POST", path("4", "polling"), body=b"4x")),
            _segment(1, _request("GET", path("5", "polling"))),
            _segment(2, _request("GET", path("4", "flash"))),
        ),
        "not-found": join(_segment(0, _request("GET", "/elsewhere"))),
        "malformed": join(_segment(0, b"NOT HTTP AT ALL\r\n\r\n")),
        "malformed-eof": join(_segment(0, b"GET / HTTP/1.1\r\nHost", eof=True)),
        "no-upgrades": join(_segment(0, handshake4), _segment(3, probe), mode=3 << 6),
    }


def regression_inputs() -> dict[str, bytes]:
    """Inputs that once broke the invariant (now seeds ``fixed-*``)."""
    ws_headers = (
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    )
    ws_only = _request("GET", "/engine.io/?EIO=4&transport=websocket", ws_headers)
    handshake = _request("GET", "/engine.io/?EIO=4&transport=polling")
    poll = _request("GET", "/engine.io/?EIO=4&transport=polling&sid=sid0")
    http10 = (
        "GET /engine.io/?EIO=4&transport=websocket HTTP/1.0\r\n" + ws_headers + "\r\n"
    ).encode("latin-1")
    return {
        "fixed-non-ascii-connection-header": bytes([0])
        + _segment(4, ws_only.replace(b"Connection: Upgrade", b"Connection:\xa0Upgrade")),
        "fixed-http10-upgrade-without-host": bytes([0]) + _segment(4, http10),
        "fixed-parked-poll-reset": bytes([0])
        + SEPARATOR.join([_segment(0, handshake), _segment(1, poll, reset=True)]),
        "fixed-oversized-invalid-utf8": bytes([0])
        + _segment(4, ws_only + _frame(1, b"4" + b"x" * 450 + b"\xff")),
    }


if __name__ == "__main__":
    fuzzlib.main(TestOneInput)
    sys.exit(0)
