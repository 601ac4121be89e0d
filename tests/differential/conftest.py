"""Differential tests against the official JavaScript parsers.

One Node process (``harness.cjs``) per test session serves every request; the
npm packages are installed into the shared cache by
:func:`tests.support.npm.ensure_node_modules`.  This module also holds the
helpers the test modules share: converting values to and from the harness's
JSON form, and comparing values with JavaScript semantics.
"""

from __future__ import annotations

import base64
import json
import math
import os
import select
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from socketio_proto.engineio.packet import Packet as EnginePacket
from socketio_proto.engineio.packet import PacketType as EngineType
from socketio_proto.socketio.packet import Packet
from tests.support.npm import ensure_node_modules, node_executable

#: The official parsers under test, pinned.  The ``-v4``/``-v3`` aliases are the
#: legacy majors speaking Socket.IO revision 4 / Engine.IO revision 3.
PARSER_PACKAGES: Mapping[str, str] = {
    "socket.io-parser": "4.2.7",
    "socket.io-parser-v4": "npm:socket.io-parser@3.4.3",
    "engine.io-parser": "5.2.3",
    "engine.io-parser-v3": "npm:engine.io-parser@2.2.1",
    "socket.io-msgpack-parser": "3.0.2",
}

HARNESS = Path(__file__).with_name("harness.cjs")
_TIMEOUT = 30.0


class HarnessError(RuntimeError):
    """The harness process died, hung or answered garbage (a test-infrastructure failure)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """One answer of the harness: ``value`` if the JS call returned, else ``error``."""

    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> Any:
        """The value; fails the test with the JS error message if the call threw."""
        if self.error is not None:
            raise AssertionError(f"the JavaScript side raised: {self.error}")
        return self.value


class JsHarness:
    """A client for ``harness.cjs``: JSON requests in, JSON answers out, in order."""

    def __init__(self, process: subprocess.Popen[bytes], stderr: IO[bytes]) -> None:
        self._process = process
        self._stderr = stderr
        self._buffer = b""
        self._next_id = 0

    @classmethod
    def start(cls, node_modules: Path) -> JsHarness:
        env = dict(os.environ, NODE_PATH=str(node_modules), NODE_OPTIONS="")
        # Owned by the harness and closed in close(); a file, not a pipe, so a
        # chatty stderr can never block the process.
        stderr = tempfile.TemporaryFile()  # noqa: SIM115
        process = subprocess.Popen(
            [node_executable(), str(HARNESS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
        )
        return cls(process, stderr)

    def close(self) -> None:
        process = self._process
        if process.stdin is not None and not process.stdin.closed:
            process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        self._stderr.close()

    def call(self, op: str, **args: Any) -> Any:
        """Run one operation; return its result or fail if the JS side threw."""
        return self.request(op, **args).unwrap()

    def request(self, op: str, **args: Any) -> Outcome:
        """Run one operation; return its :class:`Outcome` (value or JS error message)."""
        answer = self._roundtrip({"op": op, **args})
        return _outcome(answer)

    def batch(self, requests: Sequence[tuple[str, Mapping[str, Any]]]) -> list[Outcome]:
        """Run several operations in one round trip."""
        answer = self._roundtrip({"batch": [{"op": op, **args} for op, args in requests]})
        results = answer.get("results")
        if not isinstance(results, list) or len(results) != len(requests):
            raise HarnessError(f"malformed batch answer: {answer!r}")
        return [_outcome(item) for item in results]

    def _roundtrip(self, request: dict[str, Any]) -> dict[str, Any]:
        self._next_id += 1
        request["id"] = self._next_id
        stdin = self._process.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps(request).encode("ascii") + b"\n")
            stdin.flush()
        except BrokenPipeError:
            raise HarnessError(f"harness exited: {self._diagnostics()}") from None
        answer = json.loads(self._read_line())
        if not isinstance(answer, dict) or answer.get("id") != self._next_id:
            raise HarnessError(f"out-of-sequence answer {answer!r}")
        return answer

    def _read_line(self) -> bytes:
        stdout = self._process.stdout
        assert stdout is not None
        fd = stdout.fileno()
        deadline = time.monotonic() + _TIMEOUT
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HarnessError(f"no answer within {_TIMEOUT}s: {self._diagnostics()}")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise HarnessError(f"harness exited: {self._diagnostics()}")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _diagnostics(self) -> str:
        self._stderr.seek(0)
        tail = self._stderr.read()[-4000:].decode("utf-8", "replace")
        return f"exit code {self._process.poll()}, stderr:\n{tail}"


def _outcome(answer: Mapping[str, Any]) -> Outcome:
    if "error" in answer:
        return Outcome(error=str(answer["error"]))
    if "ok" not in answer:
        raise HarnessError(f"answer without 'ok' or 'error': {answer!r}")
    return Outcome(value=answer["ok"])


@pytest.fixture(scope="session")
def js() -> Iterator[JsHarness]:
    """The running harness, shared by every differential test of the session."""
    modules = ensure_node_modules("differential-parsers", PARSER_PACKAGES)
    harness = JsHarness.start(modules)
    try:
        versions = harness.call("versions")
        expected = {
            alias: spec.rpartition(":")[2] if spec.startswith("npm:") else f"{alias}@{spec}"
            for alias, spec in PARSER_PACKAGES.items()
        }
        assert versions == expected, f"harness loaded {versions}, expected {expected}"
        yield harness
    finally:
        harness.close()


# -- values across the boundary -------------------------------------------------


def to_wire(value: Any) -> Any:
    """A Python value in the harness's JSON form (bytes and $-keys tagged)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bin": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, float) and not math.isfinite(value):
        return {"$num": "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")}
    if isinstance(value, list | tuple):
        return [to_wire(item) for item in value]
    if isinstance(value, dict):
        out = {key: to_wire(item) for key, item in value.items()}
        return {"$obj": out} if any(key.startswith("$") for key in value) else out
    return value


class Undefined:
    """JavaScript ``undefined`` found inside a value the harness sent back."""

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED = Undefined()


def from_wire(value: Any) -> Any:
    """The inverse of :func:`to_wire` for answers of the harness."""
    if isinstance(value, list):
        return [from_wire(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((tag, inner),) = value.items()
        if tag == "$bin":
            return base64.b64decode(inner)
        if tag == "$num":
            return float(inner.lower().replace("infinity", "inf"))
        if tag == "$undef":
            return UNDEFINED
        if tag == "$obj":
            return {key: from_wire(item) for key, item in inner.items()}
    if any(key.startswith("$") for key in value):
        raise HarnessError(f"unexpected tagged object {value!r}")
    return {key: from_wire(item) for key, item in value.items()}


def _as_double(number: int | float) -> float:
    try:
        return float(number)
    except OverflowError:
        return math.inf if number > 0 else -math.inf


def js_equal(left: Any, right: Any) -> bool:
    """Structural equality as JavaScript sees values: numbers compare as doubles,
    ``True`` is not ``1``, bytes and str never mix, dict key order is irrelevant."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        a, b = _as_double(left), _as_double(right)
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(map(js_equal, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(js_equal(left[k], right[k]) for k in left)
    if isinstance(left, bytes | bytearray) and isinstance(right, bytes | bytearray):
        return bytes(left) == bytes(right)
    if left is None or right is None or left is UNDEFINED or right is UNDEFINED:
        return left is right
    return type(left) is type(right) and bool(left == right)


def has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(has_float(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_float(v) for v in value)
    return False


def _is_array_index(key: str) -> bool:
    return (
        key.isascii()
        and key.isdigit()
        and (key == "0" or not key.startswith("0"))
        and int(key) < 2**32 - 1
    )


def has_proto_key(value: Any) -> bool:
    """Whether a dict has a ``"__proto__"`` key.

    notepack.io (under socket.io-msgpack-parser) decodes maps with plain
    assignment, so such a key sets the object's prototype instead of becoming
    a property: JS loses it.  Our decoder keeps it (a plain dict key).
    """
    if isinstance(value, dict):
        return any(k == "__proto__" or has_proto_key(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_proto_key(v) for v in value)
    return False


def has_index_key(value: Any) -> bool:
    """Whether a dict has a key JavaScript orders first (an array index like "7").

    JS objects enumerate such keys in numeric order before all others, so
    JSON.stringify and the placeholder walk can order them differently from a
    Python dict: same value, different bytes.
    """
    if isinstance(value, dict):
        return any(_is_array_index(k) or has_index_key(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_index_key(v) for v in value)
    return False


# -- packets across the boundary -------------------------------------------------


def sio_packet_to_wire(packet: Packet) -> dict[str, Any]:
    wire: dict[str, Any] = {"type": int(packet.type), "nsp": packet.namespace}
    if packet.data is not None:
        wire["data"] = to_wire(packet.data)
    if packet.id is not None:
        wire["id"] = packet.id
    return wire


def sio_packet_from_wire(wire: Mapping[str, Any]) -> dict[str, Any]:
    """A JS packet as a plain dict ``{type, nsp[, data][, id]}`` of Python values."""
    out: dict[str, Any] = {"type": wire["type"], "nsp": wire["nsp"]}
    if "data" in wire:
        out["data"] = from_wire(wire["data"])
    if "id" in wire:
        out["id"] = from_wire(wire["id"])
    return out


def sio_packet_as_dict(packet: Packet) -> dict[str, Any]:
    """Our packet in the same shape as :func:`sio_packet_from_wire` returns."""
    out: dict[str, Any] = {"type": int(packet.type), "nsp": packet.namespace}
    if packet.data is not None:
        out["data"] = packet.data
    if packet.id is not None:
        out["id"] = packet.id
    return out


def messages_to_wire(messages: Sequence[str | bytes]) -> list[Any]:
    return [m if isinstance(m, str) else to_wire(m) for m in messages]


def messages_from_wire(messages: Sequence[Any]) -> list[str | bytes]:
    out: list[str | bytes] = []
    for message in messages:
        decoded = from_wire(message)
        assert isinstance(decoded, str | bytes), f"unexpected message {message!r}"
        out.append(decoded)
    return out


_EIO_NAMES = {t: t.name.lower() for t in EngineType}
_EIO_TYPES = {name: t for t, name in _EIO_NAMES.items()}


def eio_packet_to_wire(packet: EnginePacket) -> dict[str, Any]:
    return {"type": _EIO_NAMES[packet.type], "data": to_wire(packet.data)}


def eio_packet_from_wire(wire: Mapping[str, Any]) -> EnginePacket:
    """A JS Engine.IO packet as ours (absent data is ``""``); fails on an error packet."""
    name = wire["type"]
    assert name in _EIO_TYPES, f"JS decoded a {name!r} packet: {wire!r}"
    data = from_wire(wire["data"]) if "data" in wire else ""
    assert isinstance(data, str | bytes), f"unexpected packet data {wire!r}"
    return EnginePacket(_EIO_TYPES[name], data)


__all__ = [
    "PARSER_PACKAGES",
    "UNDEFINED",
    "HarnessError",
    "JsHarness",
    "Outcome",
    "eio_packet_from_wire",
    "eio_packet_to_wire",
    "from_wire",
    "has_float",
    "has_index_key",
    "js_equal",
    "messages_from_wire",
    "messages_to_wire",
    "sio_packet_as_dict",
    "sio_packet_from_wire",
    "sio_packet_to_wire",
    "to_wire",
]
