"""The h11 fuzz invariant for the bytes-level layer, :class:`~socketio_proto.wire.WireServer`.

For arbitrary byte streams -- random bytes, mutations of valid polling requests and WebSocket
upgrade requests followed by frames, and multi-connection scenarios (a handshake on one
connection, a parked poll on a second, a POST on a third, an upgrade on a fourth) -- the wire
server:

* never raises;
* transmits the same bytes on every connection, closes the same connections and reports the
  same events, whether each segment is fed whole, byte by byte or in random chunks (session ids
  come from a deterministic ``sid_generator``, so runs are comparable);
* answers malformed HTTP with one ``400`` response and closes the connection.

Known deviations, reported to the lead and kept out of the generated inputs (so that what is
checked passes exactly, and widening the generators shows when they are fixed):

* Frames are sent one per segment, and mutated upgrade requests never carry bytes after their
  head: replies the wire layer writes itself (pong, close) leave at once while Engine.IO
  output waits for ``transmit()``, and a WebSocket closed within the same ``receive_data``
  loses that pending output (e.g. the ``open`` packet), so several frames in one read differ
  from the same frames trickled in.
* Mutated upgrade requests stay ASCII and keep their ``Host``: wsproto's handshake decodes
  ``Connection``, ``Sec-WebSocket-Extensions`` and ``Sec-WebSocket-Protocol`` as ASCII, and
  rebuilds the request as HTTP/1.1 (where ``Host`` is mandatory), and what it raises
  (``UnicodeDecodeError``, ``h11.LocalProtocolError``) escapes ``receive_data``.
* Header blocks stay far below ``max_header_bytes``: h11 enforces that limit on *incomplete*
  events only, so a larger head is accepted in one read and refused when it trickles in.
* The oversized frame is valid UTF-8: a text message over the limit with invalid UTF-8 past
  the limit closes with 1007 in one read and with 1009 when it trickles in.
* Connections are only lost after the server closes them: ``connection_lost`` while a GET is
  parked makes ``transmit()`` report that lost connection once more.

``fuzz/fuzz_wire_server.py`` checks the same invariant on arbitrary input.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import h11
from hypothesis import assume, example, given
from hypothesis import strategies as st

from socketio_proto.engineio.config import EngineConfig
from socketio_proto.engineio.events import ServerEvent
from socketio_proto.limits import Limits
from socketio_proto.testing import strategies as sps
from socketio_proto.wire import WireServer

#: Connections 0-2 carry polling requests, 3 and up one WebSocket upgrade each.
CONNECTIONS = 6
WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="


@dataclass(frozen=True, slots=True)
class Segment:
    """Bytes from one connection; then maybe EOF, then maybe the clock moves (and fires)."""

    conn: int
    data: bytes
    eof: bool = False
    tick: float = 0.0


@dataclass(slots=True)
class Outcome:
    sent: dict[int, bytes] = field(default_factory=dict)
    closed: set[int] = field(default_factory=set)
    events: list[ServerEvent] = field(default_factory=list)


Splitter = Callable[[bytes], Iterator[bytes]]


def whole(data: bytes) -> Iterator[bytes]:
    if data:
        yield data


def bytewise(data: bytes) -> Iterator[bytes]:
    for i in range(len(data)):
        yield data[i : i + 1]


def chunked(rng: random.Random) -> Splitter:
    def split(data: bytes) -> Iterator[bytes]:
        i = 0
        while i < len(data):
            size = rng.choice((1, 2, 3, 7, 16, 64, 500))
            yield data[i : i + size]
            i += size

    return split


def make_wire() -> WireServer:
    ids = itertools.count()
    config = EngineConfig(
        allow_eio3=True,
        ping_interval=1.0,
        ping_timeout=0.5,
        upgrade_timeout=0.75,
        close_timeout=2.0,
        http_compression_threshold=64,
        limits=Limits(max_payload_bytes=300, max_packets_per_payload=8),
        sid_generator=lambda: f"sid{next(ids)}",
    )
    return WireServer(config=config)


def run(segments: list[Segment], split: Splitter) -> Outcome:
    """Feed ``segments`` (each through ``split``), as an event loop would; never raises."""
    wire = make_wire()
    outcome = Outcome()
    conn_ids: dict[int, int] = {}
    lost: set[int] = set()
    now = 0.0

    def drain() -> None:
        for out in wire.transmit(now):
            index = next(i for i, c in conn_ids.items() if c == out.conn_id)
            assert index not in lost, f"transmit on connection {index} after connection_lost"
            outcome.sent[index] = outcome.sent.get(index, b"") + out.data
            if out.close:
                outcome.closed.add(index)
                lost.add(index)
                wire.connection_lost(out.conn_id, now)  # what an adapter does after closing
        outcome.events.extend(wire.events())

    for segment in segments:
        if segment.conn not in conn_ids:
            conn_ids[segment.conn] = wire.connection_made()
        conn_id = conn_ids[segment.conn]
        for chunk in split(segment.data):
            wire.receive_data(conn_id, chunk, now)
            drain()
        if segment.eof:
            wire.receive_data(conn_id, b"", now)
            drain()
        if segment.tick:
            now += segment.tick
            wire.handle_timeout(now)
            drain()
    return outcome


def check_same_whatever_the_chunking(segments: list[Segment], rng: random.Random) -> Outcome:
    reference = run(segments, whole)
    for name, split in (("byte by byte", bytewise), ("random chunks", chunked(rng))):
        other = run(segments, split)
        for index in sorted(set(reference.sent) | set(other.sent)):
            assert reference.sent.get(index, b"") == other.sent.get(index, b""), (
                f"connection {index}: whole vs {name}"
            )
        assert reference.closed == other.closed, f"closed connections: whole vs {name}"
        assert reference.events == other.events, f"events: whole vs {name}"
    return reference


# -- building valid traffic -------------------------------------------------------------------


def http_request(
    method: str,
    target: str,
    headers: tuple[tuple[str, str], ...] = (),
    body: bytes = b"",
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: example.com"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def engine_target(eio: str, transport: str, sid: str | None = None) -> str:
    query = f"EIO={eio}&transport={transport}&t=abc"
    return f"/engine.io/?{query}&sid={sid}" if sid is not None else f"/engine.io/?{query}"


def upgrade_request(eio: str, sid: str | None) -> bytes:
    return http_request(
        "GET",
        engine_target(eio, "websocket", sid),
        (
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", WS_KEY),
            ("Sec-WebSocket-Version", "13"),
        ),
    )


def ws_frame(
    opcode: int, payload: bytes, mask: bytes = b"\x37\xfa\x21\x3d", fin: bool = True
) -> bytes:
    """One client frame (clients must mask)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 1 << 16:
        head += bytes([0x80 | 126]) + size.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + size.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def text_frame(text: str, **kwargs: object) -> bytes:
    return ws_frame(0x1, text.encode("utf-8"), **kwargs)  # type: ignore[arg-type]


#: Client WebSocket frames, each sent as its own segment (see the module docstring).
FRAMES: dict[str, bytes] = {
    "2probe": text_frame("2probe"),
    "5": text_frame("5"),
    "message": text_frame("4hello \u00e9"),
    "binary": ws_frame(0x2, b"\x01\x02\x03"),
    "v3 binary": ws_frame(0x2, b"\x04\x01\x02\x03"),
    "ping packet": text_frame("2"),
    "pong packet": text_frame("3"),
    "close packet": text_frame("1"),
    "first fragment": ws_frame(0x1, b"4fra", fin=False),
    "continuation": ws_frame(0x0, "gment \u00e9".encode()),
    "control ping": ws_frame(0x9, b"ping!"),
    "control close": ws_frame(0x8, (1000).to_bytes(2, "big") + b"bye"),
    "empty text": text_frame(""),
    "too big": text_frame("4" + "x" * 400),
    "invalid utf-8": ws_frame(0x1, b"4\xff\xfe"),
    "unmasked": b"\x81\x024x",
    "reserved opcode": ws_frame(0x3, b"4x"),
}

HTTP_KINDS = (
    "handshake",
    "poll",
    "post",
    "post v3 binary",
    "preflight",
    "not found",
    "pipelined",
    "big post",
    "chunked post",
    "head",
    "junk",
)
UPGRADE_KINDS = ("probe upgrade", "websocket only")


def segment_bytes(kind: str, eio: str, sid: str) -> bytes:
    if kind == "handshake":
        return http_request("GET", engine_target(eio, "polling"), (("Accept-Encoding", "gzip"),))
    if kind == "poll":
        return http_request("GET", engine_target(eio, "polling", sid))
    if kind == "post":
        body = b"4hello\x1e4world" if eio == "4" else b"6:4hello6:4world"
        return http_request("POST", engine_target(eio, "polling", sid), (), body)
    if kind == "post v3 binary":
        body = b"\x00\x06\xff4hello\x01\x05\xff\x04\x01\x02\x03\x04"
        headers = (("Content-Type", "application/octet-stream"),)
        return http_request("POST", engine_target(eio, "polling", sid), headers, body)
    if kind == "probe upgrade":
        return upgrade_request(eio, sid)
    if kind == "websocket only":
        return upgrade_request(eio, None)
    if kind == "preflight":
        return http_request("OPTIONS", engine_target(eio, "polling"), (("Origin", "http://x"),))
    if kind == "not found":
        return http_request("GET", "/elsewhere")
    if kind == "pipelined":
        return segment_bytes("handshake", eio, sid) + segment_bytes("post", eio, sid)
    if kind == "big post":  # over max_payload_bytes by its Content-Length
        return http_request("POST", engine_target(eio, "polling", sid), (), b"4" + b"x" * 400)
    if kind == "chunked post":  # over max_payload_bytes while streaming
        chunk = b"4" + b"y" * 199
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(3)) + b"0\r\n\r\n"
        target = engine_target(eio, "polling", sid)
        head = f"POST {target} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        return head.encode("latin-1") + body
    if kind == "head":
        return http_request("HEAD", engine_target(eio, "polling"))
    if kind in FRAMES:
        return FRAMES[kind]
    return b"\x00\xffGET / HTTP/9.9\r\n\r\n"


#: The upgrade headers wsproto's handshake decodes as ASCII.
WSPROTO_ASCII_HEADERS = (b"connection", b"sec-websocket-extensions", b"sec-websocket-protocol")


def known_upgrade_issue(data: bytes) -> bool:
    """Whether ``data`` is an upgrade request that hits a reported bug (see the docstring):
    bytes after its head, non-ASCII in a header wsproto decodes, or no ``Host``."""
    oracle = h11.Connection(h11.SERVER)
    oracle.receive_data(data)
    request = None
    try:
        while True:
            event = oracle.next_event()
            if isinstance(event, h11.Request):
                request = event
            elif event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
                return False
            elif event is h11.PAUSED:
                assert request is not None
                names = [name for name, _ in request.headers]
                return (
                    bool(oracle.trailing_data[0])
                    or b"host" not in names
                    or not all(
                        value.isascii()
                        for name, value in request.headers
                        if name in WSPROTO_ASCII_HEADERS
                    )
                )
    except h11.RemoteProtocolError:
        return False


SIDS = st.sampled_from(["sid0", "sid0", "sid1", "unknown"])
EIOS = st.sampled_from(["4", "3"])
HTTP_REQUESTS = st.builds(segment_bytes, st.sampled_from(HTTP_KINDS), EIOS, SIDS)
UPGRADE_REQUESTS = st.builds(segment_bytes, st.sampled_from(UPGRADE_KINDS), EIOS, SIDS)


@st.composite
def scenarios(draw: st.DrawFn) -> list[Segment]:
    """A handshake first (so that sid0 exists), then polling requests on connections 0-2,
    WebSocket upgrades on fresh connections (3 and up) and frames on the latest of those.

    Polling requests may be mutated; upgrade requests are kept intact and every WebSocket
    frame is a segment of its own (see the module docstring).
    """
    eio = draw(EIOS)
    segments = [Segment(0, segment_bytes("handshake", eio, "sid0"))]
    websocket: int | None = None
    for _ in range(draw(st.integers(1, 14))):
        what = draw(st.sampled_from(["http"] * 3 + ["upgrade"] + ["frame"] * 4))
        if what == "frame" and websocket is not None:
            kind = draw(st.sampled_from(["2probe", "5", *FRAMES]))
            conn = websocket if draw(st.integers(0, 5)) else draw(st.integers(0, 2))
        elif what == "upgrade" and (websocket or 2) < CONNECTIONS - 1:
            kind = draw(st.sampled_from(UPGRADE_KINDS))
            conn = websocket = (websocket or 2) + 1
        else:
            kind = draw(st.sampled_from(HTTP_KINDS))
            conn = draw(st.integers(0, 2))
        data = segment_bytes(kind, eio, draw(SIDS))
        if kind in HTTP_KINDS and draw(st.integers(0, 2)) == 0:
            data = draw(sps.mutated_bytes(st.just(data)))
        segments.append(
            Segment(
                conn,
                data,
                eof=draw(st.integers(0, 11)) == 0,
                tick=draw(st.sampled_from([0.0, 0.0, 0.0, 0.0, 0.3, 0.6, 1.0, 2.5])),
            )
        )
    return segments


# -- the invariants -----------------------------------------------------------------------------


@given(data=st.binary(max_size=600), seed=st.integers(0, 2**32 - 1))
@example(data=b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", seed=0)
@example(data=b"\r\n\r\n", seed=0)
def test_random_bytes(data: bytes, seed: int) -> None:
    outcome = check_same_whatever_the_chunking([Segment(0, data, eof=True)], random.Random(seed))
    check_malformed_gets_400(data, outcome)


@given(
    data=sps.mutated_bytes(HTTP_REQUESTS),
    eof=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_mutated_polling_requests(data: bytes, eof: bool, seed: int) -> None:
    segments = [Segment(0, segment_bytes("handshake", "4", "sid0")), Segment(1, data, eof=eof)]
    outcome = check_same_whatever_the_chunking(segments, random.Random(seed))
    check_malformed_gets_400(data, outcome, conn=1, eof=eof)


@given(
    data=sps.mutated_bytes(UPGRADE_REQUESTS),
    frame=st.sampled_from(sorted(FRAMES)),
    seed=st.integers(0, 2**32 - 1),
)
def test_mutated_upgrade_requests(data: bytes, frame: str, seed: int) -> None:
    # Reported WireServer bugs are kept out (see the module docstring).
    assume(not known_upgrade_issue(data))
    segments = [
        Segment(0, segment_bytes("handshake", "4", "sid0")),
        Segment(1, data),
        Segment(1, FRAMES["2probe"]),
        Segment(1, FRAMES[frame]),
        Segment(1, FRAMES["5"], eof=True),
    ]
    outcome = check_same_whatever_the_chunking(segments, random.Random(seed))
    check_malformed_gets_400(data, outcome, conn=1, eof=False)


@given(segments=scenarios(), seed=st.integers(0, 2**32 - 1))
def test_scenarios(segments: list[Segment], seed: int) -> None:
    check_same_whatever_the_chunking(segments, random.Random(seed))


def check_malformed_gets_400(
    data: bytes, outcome: Outcome, conn: int = 0, *, eof: bool = True
) -> None:
    """If h11 rejects the first request head, the answer is one 400 and a close."""
    oracle = h11.Connection(h11.SERVER)
    oracle.receive_data(data)
    if eof:
        oracle.receive_data(b"")
    try:
        oracle.next_event()
    except h11.RemoteProtocolError:
        pass
    else:
        return  # a request head parsed, or could still: not this check's business
    assert conn in outcome.closed, "malformed HTTP did not close the connection"
    sent = outcome.sent.get(conn, b"")
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    client.send(h11.EndOfMessage())
    client.receive_data(sent)
    response = client.next_event()
    assert isinstance(response, h11.Response) and response.status_code == 400, response
    assert (b"connection", b"close") in response.headers
    data_event = client.next_event()
    assert isinstance(data_event, h11.Data) and data_event.data == b"Bad Request"
    assert isinstance(client.next_event(), h11.EndOfMessage)
    assert sent.count(b"HTTP/1.1 ") == 1 and sent.endswith(b"\r\n\r\nBad Request"), sent


def test_a_full_session_is_the_same_byte_by_byte() -> None:
    """Handshake, parked poll, POST, upgrade with frames, then a WebSocket-only v3 session."""
    frames = ["2probe", "5", "message", "binary", "first fragment", "continuation"]
    segments = [
        Segment(0, segment_bytes("handshake", "4", "")),
        Segment(1, segment_bytes("poll", "4", "sid0")),
        Segment(2, segment_bytes("post", "4", "sid0")),
        Segment(3, upgrade_request("4", "sid0")),
        *(Segment(3, FRAMES[name]) for name in frames),
        Segment(3, FRAMES["control ping"]),
        Segment(3, FRAMES["control close"]),
        Segment(0, upgrade_request("3", None)),
        Segment(0, FRAMES["ping packet"], tick=1.0),
    ]
    outcome = check_same_whatever_the_chunking(segments, random.Random(1))
    kinds = [type(event).__name__ for event in outcome.events]
    assert kinds.count("SessionOpened") == 2
    assert "SessionUpgraded" in kinds
    assert outcome.sent[3].startswith(b"HTTP/1.1 101 ")
    assert 3 in outcome.closed


def test_malformed_request_line() -> None:
    outcome = run([Segment(0, b"NOT HTTP AT ALL\r\n\r\n")], whole)
    assert outcome.sent[0].startswith(b"HTTP/1.1 400 ")
    assert outcome.closed == {0}
    check_malformed_gets_400(b"NOT HTTP AT ALL\r\n\r\n", outcome)
