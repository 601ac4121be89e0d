"""Codec benchmark: socketio_proto next to python-socketio / python-engineio.

``python -m socketio_proto bench codec [--quick] [--output FILE]``

Every row of a fixed corpus is encoded and decoded along the *full wire
path*, by each implementation, in the same process:

* encode = build the Socket.IO packet, Socket.IO encode, wrap every message
  in an Engine.IO ``message`` packet (``message_packet``, as the Engine.IO
  server and client do) and encode it (the ``4`` prefix, or the
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
calibrated per case (gc off during a sample, as ``timeit`` does), many short
rounds; in each round every (case, operation) pair runs once, the
implementations of one row back to back in a shuffled order, so machine noise
hits them alike.  Reported: ops/s median (min-max) over the rounds; the
round-trip column is ``1 / (median encode time + median decode time)``.  A
ratio is the median over the rounds of python-socketio's time divided by
socketio_proto's, same row, same wire format, same round.
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

from ..engineio import decode_packet, decode_payload, encode_packet, encode_payload
from ..engineio.packet import message_packet
from ..limits import Limits
from ..serialization import JsonCodec, OrjsonCodec, StdlibJsonCodec
from ..socketio import Decoder, Encoder
from ..socketio import Packet as SioPacket
from ..socketio import PacketType as SioType

__all__ = ["ROW_TITLES", "Case", "build_cases", "build_report", "main", "render", "run"]

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


#: Row titles in table order (the smoke test checks that the report has exactly these).
ROW_TITLES = (
    "small event",
    "2 KB event",
    "100 KB event",
    "1 MiB binary event",
    "ack",
    "100-packet v4 payload",
    "100-packet v3 payload",
)

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
    packets = row.packets
    revision = row.payload_revision
    if revision is None:
        ((ptype, data, ack),) = packets

        def encode() -> Wire:
            frames = encoder.encode(SioPacket(ptype, "/", data, ack))
            return [encode_packet(message_packet(m)) for m in frames]

        def decode() -> Any:
            result = None
            for frame in wire_frames:
                result = decoder.receive(decode_packet(frame).data)
            return result

    else:

        def encode() -> Wire:
            eio = [
                message_packet(m)
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
    ((ptype, data, ack),) = row.packets

    def encode() -> Wire:
        frames = encoder.encode(SioPacket(ptype, "/", data, ack))
        return [encode_packet(message_packet(m)) for m in frames]

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


def _decoded(result: Any) -> list[tuple[Any, int | None]]:
    """``[(data, ack id), ...]`` of what a decode callable returned (same for both libraries)."""
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
        # Every JSON implementation decodes the same wire: what socketio_proto writes.
        json_wire = _ours_json(row, StdlibJsonCodec(), None)[0]()
        enc, dec = _ours_json(row, StdlibJsonCodec(), json_wire)
        cases.append(Case(row, OURS_JSON, "json", False, enc, dec))
        if env.orjson:
            enc, dec = _ours_json(row, OrjsonCodec(), json_wire)
            cases.append(Case(row, OURS_ORJSON, "json", False, enc, dec))
        if env.theirs and row.payload_revision != 3:
            enc, dec = _theirs(row, "json", json_wire)
            cases.append(Case(row, THEIRS_JSON, "json", True, enc, dec))
        if env.msgpack and row.msgpack:
            msgpack_wire = _ours_msgpack(row, None)[0]()
            enc, dec = _ours_msgpack(row, msgpack_wire)
            cases.append(Case(row, OURS_MSGPACK, "msgpack", False, enc, dec))
            if env.theirs:
                try:
                    enc, dec = _theirs(row, "msgpack", msgpack_wire)
                except ImportError:
                    pass
                else:
                    cases.append(Case(row, THEIRS_MSGPACK, "msgpack", True, enc, dec))
    for case in cases:
        _check(case)
    return cases


def _check(case: Case) -> None:
    """Both directions must carry exactly the row's data (so we compare like with like)."""
    expected = [(data, ack) for _, data, ack in case.row.packets]
    got = _decoded(case.decode())
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
    if _decoded(back) != expected:
        raise AssertionError(f"{case.impl} encodes {case.row.title} wrongly")


# -- timing -----------------------------------------------------------------------------


#: A sample whose wall-clock time exceeds its CPU time by more than this share was
#: preempted by another process (on a 2-core machine shared with test runs, a 1 ms
#: sample can take 10 ms): it is taken again, up to ``_ATTEMPTS`` times.
_PREEMPTION_TOLERANCE = 0.05
_ATTEMPTS = 20


@dataclass
class Counters:
    samples: int = 0
    preempted: int = 0


COUNTERS = Counters()


def _time(fn: Callable[[], object], iterations: int) -> tuple[int, int]:
    """``(wall-clock ns, thread CPU ns)`` of ``iterations`` calls, gc off (as ``timeit``)."""
    loop = range(iterations)
    enabled = gc.isenabled()
    gc.disable()
    try:
        cpu = time.thread_time_ns()
        start = time.perf_counter_ns()
        for _ in loop:
            fn()
        wall = time.perf_counter_ns() - start
        return wall, time.thread_time_ns() - cpu
    finally:
        if enabled:
            gc.enable()


def _sample(fn: Callable[[], object], iterations: int) -> int:
    """Wall-clock ns of ``iterations`` calls, measured again while another process preempts it.

    If every attempt was preempted, the least disturbed one is kept (and counted).
    """
    COUNTERS.samples += 1
    best_wall, best_gap = 0, -1
    for _ in range(_ATTEMPTS):
        wall, cpu = _time(fn, iterations)
        gap = wall - cpu
        if gap <= wall * _PREEMPTION_TOLERANCE:
            return wall
        if best_gap < 0 or gap < best_gap:
            best_wall, best_gap = wall, gap
    COUNTERS.preempted += 1
    return best_wall


def _calibrate(fn: Callable[[], object], target_ns: int) -> int:
    """An iteration count that makes one sample last about ``target_ns``."""
    iterations = 1
    while True:
        elapsed = max(_time(fn, iterations)[0], 1)
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
    """Fill every case's ``ns_per_op``: ``rounds`` interleaved samples per operation.

    In a round, the implementations of one row and operation are sampled back to back
    (in a shuffled order), so that the per-round ratios compare samples taken under
    the same machine load; the groups themselves are shuffled too.
    """
    operations: tuple[Operation, ...] = ("encode", "decode")
    groups: dict[tuple[str, Operation], list[Case]] = {}
    for case in cases:
        for op in operations:
            groups.setdefault((case.row.key, op), []).append(case)
    rng = random.Random(20240601)
    for case in cases:
        for op in operations:
            fn = case.encode if op == "encode" else case.decode
            fn()  # warm up
            case.iterations[op] = _calibrate(fn, target_ns)
            case.ns_per_op[op] = []
    order = list(groups)
    for number in range(rounds):
        if progress is not None:
            progress(f"round {number + 1}/{rounds}")
        gc.collect()
        rng.shuffle(order)
        for key in order:
            group = groups[key]
            rng.shuffle(group)
            op = key[1]
            for case in group:
                fn = case.encode if op == "encode" else case.decode
                n = case.iterations[op]
                case.ns_per_op[op].append(_sample(fn, n) / n)


# -- report -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Stat:
    median: float
    low: float
    high: float


def _stats(case: Case, column: str) -> Stat:
    """ops/s median, min and max of one column.

    A round trip is one encode plus one decode: its time is the sum of the encode and
    decode medians (extremes: sums of the extremes).  Summing per round instead would
    add up the noise of two separate samples.
    """
    if column == "round trip":
        encode, decode = case.ns_per_op["encode"], case.ns_per_op["decode"]
        return Stat(
            1e9 / (statistics.median(encode) + statistics.median(decode)),
            1e9 / (max(encode) + max(decode)),
            1e9 / (min(encode) + min(decode)),
        )
    ops = [1e9 / ns for ns in case.ns_per_op[column]]
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
    """Median over the rounds of (baseline time / our time), samples of the same round.

    The two were sampled back to back, so a round slowed down by other processes
    slows both: far steadier than a ratio of medians on a busy machine.
    """
    base = _baseline(cases, case)
    if base is None or case.baseline:
        return None
    if column == "round trip":
        ours = [
            e + d for e, d in zip(case.ns_per_op["encode"], case.ns_per_op["decode"], strict=True)
        ]
        theirs = [
            e + d for e, d in zip(base.ns_per_op["encode"], base.ns_per_op["decode"], strict=True)
        ]
    else:
        ours, theirs = case.ns_per_op[column], base.ns_per_op[column]
    return statistics.median(t / o for t, o in zip(theirs, ours, strict=True))


def _load() -> str:
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except (AttributeError, OSError):  # not on every platform
        return "unknown"


def _versions() -> str:
    parts = []
    for dist in ("socketio_proto", "python-socketio", "python-engineio", "orjson", "msgpack"):
        try:
            parts.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist} (not installed)")
    return ", ".join(parts)


def render(
    cases: list[Case], *, rounds: int, target_ns: int, notes: list[str], load: str | None = None
) -> str:
    """The markdown report: environment, the table, and the targets of the issue."""
    theirs_present = any(c.baseline for c in cases)
    lines = [
        "## Codec benchmark: socketio_proto vs python-socketio",
        "",
        f"- Date: {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Python: {platform.python_implementation()} {platform.python_version()}"
        f" ({platform.system()} {platform.machine()})",
        f"- Machine: {os.cpu_count()} cores, load average {load or _load()} (1/5/15 min) "
        "when the run started",
        f"- Libraries: {_versions()}",
        f"- Method: {rounds} interleaved rounds, ~{target_ns / 1e6:g} ms per sample "
        f"(a sample preempted by another process is taken again; {COUNTERS.preempted} of "
        f"{COUNTERS.samples} never ran undisturbed), "
        "`time.perf_counter_ns`; ops/s median (min-max); ratio = median over the rounds of "
        "python-socketio's time / socketio_proto's time for the same row and wire format, "
        "sampled back to back (x > 1: socketio_proto is faster).",
        "- Full wire path: encode = Socket.IO packet + Engine.IO packet (+ polling body "
        "as UTF-8 bytes); decode = the reverse, including binary attachment reassembly. "
        "Round trip = 1 / (median encode time + median decode time).",
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
    report = build_report(quick=quick)
    print(report)
    if output is not None:
        with open(output, "w", encoding="utf-8") as file:
            file.write(report)
    return 0


def build_report(quick: bool = False) -> str:
    """Run the codec benchmark (progress on stderr); the markdown report."""
    # Many short samples rather than a few long ones: on a shared machine, most short
    # samples run without being preempted, so their median is far steadier.
    rounds, target_ns = (3, 2_000_000) if quick else (51, 2_000_000)
    env = _probe()
    for note in env.notes:
        print(f"note: {note}", file=sys.stderr)
    cases = build_cases(env)
    load = _load()
    started = time.perf_counter()

    def progress(message: str) -> None:
        print(f"  {message} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)

    print(f"benchmarking {len(cases)} cases, {rounds} rounds...", file=sys.stderr)
    run(cases, rounds=rounds, target_ns=target_ns, progress=progress)
    return render(cases, rounds=rounds, target_ns=target_ns, notes=env.notes, load=load)
