"""Codec benchmark: socketio_proto next to python-socketio / python-engineio.

``python -m socketio_proto bench codec [--quick] [--output FILE]``

Every row of a fixed corpus is encoded and decoded along the *full wire
path*, by each implementation, in the same process:

* encode = build the Socket.IO packet, Socket.IO encode, wrap every message
  in an Engine.IO ``message`` packet and encode it (the ``4`` prefix, or the
  raw binary frame of an attachment over WebSocket); payload rows then join
  the Engine.IO packets into a polling body and encode it to UTF-8 bytes;
* decode = Engine.IO decode (payload rows start from the body bytes), then
  Socket.IO decode, feeding binary attachments until the packet is complete.

python-socketio is driven exactly as its server does it:
``socketio.packet.Packet(...).encode()`` then ``engineio.packet.Packet(MESSAGE,
data=...).encode()`` (``engineio.payload.Payload(...).encode()`` for polling),
and ``engineio.packet.Packet(encoded_packet=...)`` then
``socketio.packet.Packet(encoded_packet=...)`` plus ``add_attachment`` to decode.

Timing: ``time.perf_counter_ns`` around a loop whose iteration count is
calibrated per case, several rounds with every (case, operation) pair run once
per round in a shuffled order, so machine noise hits every implementation
alike.  Reported: ops/s median (min-max) over the rounds; the round-trip
column is ``1 / (encode time + decode time)`` of the same round.  Ratios are
socketio_proto's median divided by python-socketio's, same row, same wire format.
"""

from __future__ import annotations

import datetime
import gc
import importlib
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Literal

from ..engineio import Packet as EioPacket
from ..engineio import PacketType as EioType
from ..engineio import decode_packet, decode_payload, encode_packet, encode_payload
from ..limits import Limits
from ..serialization import JsonCodec, OrjsonCodec, StdlibJsonCodec
from ..socketio import Decoder, Encoder
from ..socketio import Packet as SioPacket
from ..socketio import PacketType as SioType

__all__ = ["ROW_TITLES", "Case", "build_cases", "main", "render", "run"]

Operation = Literal["encode", "decode"]
Format = Literal["json", "msgpack"]

# -- the corpus -------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One corpus entry: a Socket.IO message, or a polling payload of many."""

    key: str
    title: str
    #: ``(type, data, ack id)`` of each Socket.IO packet, all in namespace "/".
    packets: tuple[tuple[SioType, Any, int | None], ...]
    #: None: each packet travels as WebSocket messages; 3 or 4: one polling body.
    payload_revision: Literal[3, 4] | None = None
    #: Whether the msgpack parser rows are measured too.
    msgpack: bool = True


def _record(i: int) -> dict[str, Any]:
    return {
        "id": i,
        "user": f"user-{i % 97}",
        "text": f"message number {i} says héllo to the room",
        "ts": 1_700_000_000_000 + i * 37,
        "score": round(i * 1.25 + 0.5, 2),
        "read": i % 3 == 0,
        "tags": ["alpha", "beta"] if i % 2 else [],
        "geo": {"lat": 48.8566, "lon": 2.3522},
    }


def _rows() -> list[Row]:
    small = (SioType.EVENT, ["my event", {"data": "hi"}], None)
    batch = tuple(
        (SioType.EVENT, ["message", {"seq": i, "text": f"hello {i}"}], None) for i in range(100)
    )
    blob = bytes(range(256)) * 4096  # 1 MiB
    return [
        Row("small", "small event", (small,)),
        Row(
            "2k",
            "2 KB event",
            (
                (
                    SioType.EVENT,
                    ["chat", {"room": "general", "items": [_record(i) for i in range(12)]}],
                    None,
                ),
            ),
        ),
        Row(
            "100k",
            "100 KB event",
            (
                (
                    SioType.EVENT,
                    ["chat", {"room": "general", "items": [_record(i) for i in range(576)]}],
                    None,
                ),
            ),
        ),
        Row(
            "binary",
            "1 MiB binary event",
            (
                (
                    SioType.EVENT,
                    ["upload", {"name": "blob.bin", "size": len(blob), "content": blob}],
                    None,
                ),
            ),
        ),
        Row("ack", "ack", ((SioType.ACK, ["ok", {"saved": True, "id": 42}], 12),)),
        Row("payload-v4", "100-packet v4 payload", batch, payload_revision=4, msgpack=False),
        Row("payload-v3", "100-packet v3 payload", batch, payload_revision=3, msgpack=False),
    ]


#: Row titles in table order (the smoke test checks that each one is reported).
ROW_TITLES = tuple(row.title for row in _rows())

_SMALL_ROWS = ("small event", "ack")

#: The default ``max_payload_bytes`` (1e6, as in JS) would refuse the 1 MiB message.
_LIMITS = Limits(max_payload_bytes=4 << 20)

# -- implementations --------------------------------------------------------------------

Frames = list[str | bytes]
Wire = Frames | bytes


@dataclass
class Case:
    """One implementation of one row: an encode and a decode callable, and their samples."""

    row: Row
    impl: str
    format: Format
    baseline: bool
    encode: Callable[[], Wire]
    decode: Callable[[], Any]
    #: Turns the result of ``decode`` into ``[(data, ack id), ...]`` for the sanity check.
    decoded: Callable[[Any], list[tuple[Any, int | None]]]
    wire_size: int = 0
    iterations: dict[str, int] = field(default_factory=dict)
    ns_per_op: dict[str, list[float]] = field(default_factory=dict)


def _frames_size(wire: Wire) -> int:
    if isinstance(wire, bytes):
        return len(wire)
    return sum(len(f.encode("utf-8")) if isinstance(f, str) else len(f) for f in wire)


def _ours_json(
    row: Row, codec: JsonCodec, wire: Wire | None
) -> tuple[Callable[[], Wire], Callable[[], Any]]:
    encoder = Encoder(json=codec)
    decoder = Decoder(json=codec, limits=_LIMITS)
    message = EioType.MESSAGE
    packets = row.packets
    revision = row.payload_revision
    if revision is None:
        ((ptype, data, ack),) = packets

        def encode() -> Wire:
            frames = encoder.encode(SioPacket(ptype, "/", data, ack))
            return [encode_packet(EioPacket(message, m)) for m in frames]

        def decode() -> Any:
            result = None
            for frame in wire_frames:
                result = decoder.receive(decode_packet(frame).data)
            return result

    else:

        def encode() -> Wire:
            eio = [
                EioPacket(message, m)
                for ptype, data, ack in packets
                for m in encoder.encode(SioPacket(ptype, "/", data, ack))
            ]
            body = encode_payload(eio, revision)[0]
            return body.encode("utf-8") if isinstance(body, str) else body

        def decode() -> Any:
            return [decoder.receive(p.data) for p in decode_payload(wire_body, revision)]

    canonical = encode() if wire is None else wire
    wire_frames = canonical if isinstance(canonical, list) else []
    wire_body = canonical if isinstance(canonical, bytes) else b""
    return encode, decode


def _ours_msgpack(row: Row, wire: Wire | None) -> tuple[Callable[[], Wire], Callable[[], Any]]:
    from ..socketio.msgpack import MsgpackDecoder, MsgpackEncoder

    encoder = MsgpackEncoder()
    decoder = MsgpackDecoder(limits=_LIMITS)
    message = EioType.MESSAGE
    ((ptype, data, ack),) = row.packets

    def encode() -> Wire:
        frames = encoder.encode(SioPacket(ptype, "/", data, ack))
        return [encode_packet(EioPacket(message, m)) for m in frames]

    def decode() -> Any:
        result = None
        for frame in wire_frames:
            result = decoder.receive(decode_packet(frame).data)
        return result

    canonical = encode() if wire is None else wire
    wire_frames = canonical if isinstance(canonical, list) else []
    return encode, decode


def _theirs(row: Row, fmt: Format, wire: Wire) -> tuple[Callable[[], Wire], Callable[[], Any]]:
    import engineio.packet as eio_packet
    import engineio.payload as eio_payload

    if fmt == "json":
        import socketio.packet as sio_packet

        sio_class: Any = sio_packet.Packet
    else:
        import socketio.msgpack_packet as sio_msgpack

        sio_class = sio_msgpack.MsgPackPacket

    eio_class: Any = eio_packet.Packet
    message = eio_packet.MESSAGE

    class Payload(eio_payload.Payload):  # type: ignore[misc]
        # python-engineio refuses payloads of more than 16 packets by default.
        max_decode_packets = 1000

    packets = [(int(t), d, i) for t, d, i in row.packets]
    revision = row.payload_revision
    if revision is None:
        ((ptype, data, ack),) = packets

        def encode() -> Wire:
            encoded = sio_class(ptype, data=data, namespace="/", id=ack).encode()
            if isinstance(encoded, list):
                return [eio_class(message, data=m).encode() for m in encoded]
            return [eio_class(message, data=encoded).encode()]

        frames = wire if isinstance(wire, list) else []
        first, rest = frames[0], frames[1:]

        def decode() -> Any:
            pkt = sio_class(encoded_packet=eio_class(encoded_packet=first).data)
            for frame in rest:
                pkt.add_attachment(eio_class(encoded_packet=frame).data)
            return pkt

    else:
        assert revision == 4, "python-engineio 4 has no v3 payloads"

        def encode() -> Wire:
            eio = [
                eio_class(message, data=sio_class(t, data=d, namespace="/", id=i).encode())
                for t, d, i in packets
            ]
            body: str = Payload(packets=eio).encode()
            return body.encode("utf-8")

        body = wire if isinstance(wire, bytes) else b""

        def decode() -> Any:
            payload = Payload(encoded_payload=body.decode("utf-8"))
            return [sio_class(encoded_packet=p.data) for p in payload.packets]

    return encode, decode


def _decoded_ours(result: Any) -> list[tuple[Any, int | None]]:
    items = result if isinstance(result, list) else [result]
    return [(p.data, p.id) for p in items]


def _decoded_theirs(result: Any) -> list[tuple[Any, int | None]]:
    items = result if isinstance(result, list) else [result]
    return [(p.data, p.id) for p in items]


@dataclass
class Environment:
    theirs: bool
    orjson: bool
    msgpack: bool
    notes: list[str]


def _probe() -> Environment:
    """Which optional libraries are importable (python-socketio is never imported eagerly)."""
    notes: list[str] = []
    theirs = all(
        _importable(name) for name in ("socketio.packet", "engineio.packet", "engineio.payload")
    )
    if not theirs:
        notes.append(
            "python-socketio / python-engineio are NOT installed: only socketio_proto is "
            "measured and no ratio is reported.  Install them with `pip install python-socketio` "
            "(or `pip install socketio_proto[dev]`)."
        )
    orjson_ok = _importable("orjson")
    if not orjson_ok:
        notes.append("orjson is not installed: the socketio_proto + orjson rows are skipped.")
    msgpack_ok = _importable("msgpack")
    if not msgpack_ok:
        notes.append("msgpack is not installed: the msgpack parser rows are skipped.")
    elif theirs and not _importable("socketio.msgpack_packet"):
        notes.append("socketio.msgpack_packet is unavailable: no msgpack baseline.")
    return Environment(theirs, orjson_ok, msgpack_ok, notes)


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


OURS_JSON = "socketio_proto, json (stdlib)"
OURS_ORJSON = "socketio_proto, orjson"
OURS_MSGPACK = "socketio_proto, msgpack"
THEIRS_JSON = "python-socketio, json"
THEIRS_MSGPACK = "python-socketio, msgpack"


def build_cases(env: Environment | None = None) -> list[Case]:
    """Every (row, implementation) pair, checked to carry the same data both ways."""
    env = env if env is not None else _probe()
    cases: list[Case] = []
    for row in _rows():
        json_wire: Wire | None = None
        enc, dec = _ours_json(row, StdlibJsonCodec(), None)
        json_wire = enc()
        enc, dec = _ours_json(row, StdlibJsonCodec(), json_wire)
        cases.append(Case(row, OURS_JSON, "json", False, enc, dec, _decoded_ours))
        if env.orjson:
            enc, dec = _ours_json(row, OrjsonCodec(), json_wire)
            cases.append(Case(row, OURS_ORJSON, "json", False, enc, dec, _decoded_ours))
        if env.theirs and row.payload_revision != 3:
            enc, dec = _theirs(row, "json", json_wire)
            cases.append(Case(row, THEIRS_JSON, "json", True, enc, dec, _decoded_theirs))
        if env.msgpack and row.msgpack:
            enc, dec = _ours_msgpack(row, None)
            msgpack_wire = enc()
            enc, dec = _ours_msgpack(row, msgpack_wire)
            cases.append(Case(row, OURS_MSGPACK, "msgpack", False, enc, dec, _decoded_ours))
            if env.theirs:
                try:
                    enc, dec = _theirs(row, "msgpack", msgpack_wire)
                except ImportError:
                    pass
                else:
                    cases.append(
                        Case(row, THEIRS_MSGPACK, "msgpack", True, enc, dec, _decoded_theirs)
                    )
    for case in cases:
        _check(case)
    return cases


def _check(case: Case) -> None:
    """Both directions must carry exactly the row's data (so we compare like with like)."""
    expected = [(data, ack) for _, data, ack in case.row.packets]
    got = case.decoded(case.decode())
    if got != expected:
        raise AssertionError(f"{case.impl} decodes {case.row.title} wrongly")
    wire = case.encode()
    case.wire_size = _frames_size(wire)
    # Re-decode what this implementation encoded with socketio_proto's own decoder.
    if case.row.payload_revision is not None:
        assert isinstance(wire, bytes)
        packets = decode_payload(wire, case.row.payload_revision)
        decoder = Decoder()
        back = [decoder.receive(p.data) for p in packets]
    else:
        assert isinstance(wire, list)
        if case.format == "msgpack":
            from ..socketio.msgpack import MsgpackDecoder

            any_decoder: Any = MsgpackDecoder(limits=_LIMITS)
        else:
            any_decoder = Decoder()
        back = [None]
        for frame in wire:
            back = [any_decoder.receive(decode_packet(frame).data)]
    if _decoded_ours(back) != expected:
        raise AssertionError(f"{case.impl} encodes {case.row.title} wrongly")


# -- timing -----------------------------------------------------------------------------


def _time(fn: Callable[[], object], iterations: int) -> int:
    loop = range(iterations)
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in loop:
            fn()
        return time.perf_counter_ns() - start
    finally:
        if enabled:
            gc.enable()


def _calibrate(fn: Callable[[], object], target_ns: int) -> int:
    """An iteration count that makes one sample last about ``target_ns``."""
    iterations = 1
    while True:
        elapsed = max(_time(fn, iterations), 1)
        if elapsed >= target_ns // 4:
            return max(1, round(iterations * target_ns / elapsed))
        iterations = max(iterations * 2, round(iterations * target_ns / elapsed / 2))


def run(
    cases: list[Case],
    *,
    rounds: int,
    target_ns: int,
    progress: Callable[[str], None] | None = None,
) -> None:
    """Fill every case's ``ns_per_op``: ``rounds`` interleaved samples per operation."""
    ops: list[tuple[Case, Operation]] = [(c, op) for c in cases for op in ("encode", "decode")]
    rng = random.Random(20240601)
    rng.shuffle(ops)
    for case, op in ops:
        fn = case.encode if op == "encode" else case.decode
        fn()  # warm up
        case.iterations[op] = _calibrate(fn, target_ns)
        case.ns_per_op[op] = []
    for number in range(rounds):
        if progress is not None:
            progress(f"round {number + 1}/{rounds}")
        gc.collect()
        rng.shuffle(ops)
        for case, op in ops:
            fn = case.encode if op == "encode" else case.decode
            n = case.iterations[op]
            case.ns_per_op[op].append(_time(fn, n) / n)


# -- report -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Stat:
    median: float
    low: float
    high: float


def _stats(case: Case, column: str) -> Stat:
    if column == "round trip":
        per_round = [
            e + d for e, d in zip(case.ns_per_op["encode"], case.ns_per_op["decode"], strict=True)
        ]
    else:
        per_round = case.ns_per_op[column]
    ops = [1e9 / ns for ns in per_round]
    return Stat(statistics.median(ops), min(ops), max(ops))


def _fmt_ops(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e4:
        return f"{value / 1e3:.0f}k"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}"


def _fmt_size(size: int) -> str:
    if size >= 1 << 20:
        return f"{size / (1 << 20):.1f} MiB"
    if size >= 10_000:
        return f"{size / 1024:.0f} KiB"
    return f"{size} B"


COLUMNS = ("encode", "decode", "round trip")


def _baseline(cases: list[Case], case: Case) -> Case | None:
    for other in cases:
        if other.baseline and other.row.key == case.row.key and other.format == case.format:
            return other
    return None


def _ratio(cases: list[Case], case: Case, column: str) -> float | None:
    base = _baseline(cases, case)
    if base is None or case.baseline:
        return None
    return _stats(case, column).median / _stats(base, column).median


def _versions() -> str:
    parts = []
    for dist in ("socketio_proto", "python-socketio", "python-engineio", "orjson", "msgpack"):
        try:
            parts.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist} (not installed)")
    return ", ".join(parts)


def render(cases: list[Case], *, rounds: int, target_ns: int, notes: list[str]) -> str:
    """The markdown report: environment, the table, and the targets of the issue."""
    theirs_present = any(c.baseline for c in cases)
    lines = [
        "## Codec benchmark: socketio_proto vs python-socketio",
        "",
        f"- Date: {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Python: {platform.python_implementation()} {platform.python_version()}"
        f" ({platform.system()} {platform.machine()})",
        f"- Machine: {os.cpu_count()} cores",
        f"- Libraries: {_versions()}",
        f"- Method: {rounds} interleaved rounds, ~{target_ns / 1e6:g} ms per sample, "
        "`time.perf_counter_ns`; ops/s median (min-max); ratio = socketio_proto median / "
        "python-socketio median for the same row and wire format "
        "(x > 1: socketio_proto is faster).",
        "- Full wire path: encode = Socket.IO packet + Engine.IO packet (+ polling body "
        "as UTF-8 bytes); decode = the reverse, including binary attachment reassembly. "
        "Round trip = 1 / (encode + decode time) per round.",
    ]
    lines += [f"- **Note:** {note}" for note in notes]
    lines += [
        "",
        "| Row | Wire | Implementation | Encode ops/s | Decode ops/s | Round trip ops/s "
        "| Encode ratio | Decode ratio | Round trip ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for case in cases:
        cells = [case.row.title, _fmt_size(case.wire_size), case.impl]
        for column in COLUMNS:
            s = _stats(case, column)
            cells.append(f"{_fmt_ops(s.median)} ({_fmt_ops(s.low)}-{_fmt_ops(s.high)})")
        for column in COLUMNS:
            if case.baseline:
                cells.append("baseline")
                continue
            ratio = _ratio(cases, case, column)
            if ratio is not None:
                cells.append(f"{ratio:.2f}x")
            elif case.row.payload_revision == 3 and theirs_present and column == "encode":
                cells.append("n/a: python-engineio 4 has no v3 payloads")
            else:
                cells.append("n/a")
        lines.append("| " + " | ".join(cells) + " |")
    if theirs_present:
        lines += ["", *_targets(cases)]
    return "\n".join(lines) + "\n"


def _targets(cases: list[Case]) -> list[str]:
    lines = [
        "### Targets",
        "",
        "| Target | Row | Encode | Decode | Round trip | Met |",
        "|---|---|---|---|---|---|",
    ]
    goals = [(OURS_JSON, 2.5, None), (OURS_ORJSON, 10.0, _SMALL_ROWS)]
    for impl, goal, rows in goals:
        for case in cases:
            if case.impl != impl or (rows is not None and case.row.title not in rows):
                continue
            ratios = [_ratio(cases, case, column) for column in COLUMNS]
            if any(r is None for r in ratios):
                continue
            met = all(r is not None and r >= goal for r in ratios)
            cells = [f"{impl} >= {goal:g}x", case.row.title]
            cells += [f"{r:.2f}x" for r in ratios if r is not None]
            cells.append("yes" if met else "**no**")
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def main(quick: bool = False, output: str | None = None) -> int:
    rounds, target_ns = (3, 3_000_000) if quick else (7, 60_000_000)
    env = _probe()
    for note in env.notes:
        print(f"note: {note}", file=sys.stderr)
    cases = build_cases(env)
    started = time.perf_counter()

    def progress(message: str) -> None:
        print(f"  {message} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)

    print(f"benchmarking {len(cases)} cases, {rounds} rounds...", file=sys.stderr)
    run(cases, rounds=rounds, target_ns=target_ns, progress=progress)
    report = render(cases, rounds=rounds, target_ns=target_ns, notes=env.notes)
    print(report)
    if output is not None:
        with open(output, "w", encoding="utf-8") as file:
            file.write(report)
    return 0
