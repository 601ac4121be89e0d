"""Shared helpers for the atheris targets in this directory (not a target itself).

This module must not import ``socketio_proto`` at import time: each target
imports the library inside ``atheris.instrument_imports()`` and instrumentation
only applies to modules imported there for the first time.

Input layout shared by every target: the first byte is a *mode byte* read with
``FuzzedDataProvider.ConsumeUInt(1)`` (its bits pick the function, revision,
limits...; see each target's docstring), the rest is the input proper.  An empty
input means mode 0 and an empty body.  Seeds are therefore ``bytes([mode]) +
body``; ``make_corpus.py`` writes them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import atheris

__all__ = [
    "STRICT",
    "Failure",
    "InvariantViolation",
    "attempt",
    "check",
    "check_same_outcome",
    "instrumented",
    "iter_messages",
    "json_depth",
    "main",
    "same",
    "split_input",
    "text",
]

T = TypeVar("T")

#: ``FUZZ_STRICT=1`` turns the tolerated, already-reported deviations (see
#: README.md, "Known issues") back into failures, to check whether they are fixed.
STRICT = os.environ.get("FUZZ_STRICT", "") == "1"


class InvariantViolation(AssertionError):
    """A decoder returned something, but not what the invariants require."""


def check(condition: bool, message: str, *args: object) -> None:
    """Like ``assert`` (never stripped by ``python -O``); ``message % args`` is built lazily."""
    if not condition:
        raise InvariantViolation(message % args if args else message)


def instrumented(module_name: str) -> contextlib.AbstractContextManager[Any]:
    """``atheris.instrument_imports()`` for ``socketio_proto`` when run as a fuzzer.

    Imported as a module (the in-process seed replay in tests/test_fuzz.py), the
    library is left uninstrumented so the rest of the test session is unaffected.
    """
    if module_name == "__main__":
        return atheris.instrument_imports(include=["socketio_proto"])  # type: ignore[no-any-return]
    return contextlib.nullcontext()


def main(test_one_input: Callable[[bytes], None], *, instrument_harness: bool = False) -> None:
    """Hand the command line to libFuzzer and run ``test_one_input``.

    ``instrument_harness`` also instruments this module and the target's module.
    The JSON and msgpack parsers are C code that gives libFuzzer no coverage
    signal, but the harness walks every decoded value (``same``, depth checks), so
    new value *shapes* then show up as new coverage.
    """
    if instrument_harness:
        target = sys.modules[test_one_input.__module__]
        for module in (target, sys.modules[__name__]):
            for obj in list(vars(module).values()):
                if isinstance(obj, types.FunctionType) and obj.__module__ == module.__name__:
                    atheris.instrument_func(obj)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


def split_input(data: bytes) -> tuple[int, bytes]:
    """Split ``data`` into the mode byte and the body (see the module docstring)."""
    fdp = atheris.FuzzedDataProvider(data)
    mode: int = fdp.ConsumeUInt(1)
    body: bytes = fdp.ConsumeBytes(fdp.remaining_bytes())
    return mode, body


def text(body: bytes) -> str:
    """The body as text: UTF-8, with invalid bytes kept as lone surrogates.

    Valid UTF-8 decodes normally; anything else still yields a ``str`` (with
    U+DC80..U+DCFF), so the ``str`` entry points also see strings that no UTF-8
    decoder would produce -- they must reject those cleanly too.
    """
    return body.decode("utf-8", "surrogateescape")


class Failure:
    """The ``RemoteProtocolError`` a call raised, kept for comparison."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __repr__(self) -> str:
        return f"Failure({self.error!r})"


def attempt(function: Callable[..., T], *args: Any, **kwargs: Any) -> T | Failure:
    """Call ``function``: its result, or a :class:`Failure` if it raised RemoteProtocolError.

    Any other exception propagates: that is the bug the fuzzers look for.
    """
    from socketio_proto.errors import RemoteProtocolError

    try:
        return function(*args, **kwargs)
    except RemoteProtocolError as exc:
        check(isinstance(exc.message, str) and bool(exc.message), "%r has no message", exc)
        return Failure(exc)


def check_same_outcome(first: object, second: object, what: str) -> None:
    """Determinism: two runs over the same input give equal results or equal errors."""
    if isinstance(first, Failure) or isinstance(second, Failure):
        check(
            isinstance(first, Failure)
            and isinstance(second, Failure)
            and type(first.error) is type(second.error)
            and str(first.error) == str(second.error),
            "%s is not deterministic: %r then %r",
            what,
            first,
            second,
        )
        return
    check(same(first, second), "%s is not deterministic: %r then %r", what, first, second)


def _as_float(value: int) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.copysign(math.inf, value)


def _utf16(value: str) -> bytes:
    return value.encode("utf-16-le", "surrogatepass")


def same(a: object, b: object, *, json_lossy: bool = False, big_int_as_float: bool = False) -> bool:
    """Deep, type-strict equality (``1 != 1.0 != True``; NaN equals NaN; dict order counts).

    ``json_lossy``: ``b`` went through JSON text, so a non-finite float in ``a``
    may be ``None`` in ``b`` (what ``JSON.stringify`` writes for them), and strings
    are compared as UTF-16 code units, as JavaScript does: a lone high surrogate
    followed by a lone low surrogate (two code points in Python) is written as two
    ``\\uXXXX`` escapes, which read back as one astral character.
    ``big_int_as_float``: an integer outside the 64-bit range in ``a`` may be the
    nearest float in ``b`` (orjson parses such integers as floats, like JS).

    Iterative, so deeply nested data cannot hit the recursion limit here.
    """
    stack: list[tuple[object, object]] = [(a, b)]
    while stack:
        x, y = stack.pop()
        if json_lossy and isinstance(x, float) and not math.isfinite(x) and y is None:
            continue
        if (
            big_int_as_float
            and type(x) is int
            and type(y) is float
            and not -(2**63) <= x < 2**64
            and _as_float(x) == y
        ):
            continue
        if type(x) is not type(y):
            return False
        if isinstance(x, str):
            assert isinstance(y, str)
            if x != y and not (json_lossy and _utf16(x) == _utf16(y)):
                return False
        elif isinstance(x, float):
            assert isinstance(y, float)
            if not (x == y or (math.isnan(x) and math.isnan(y))):
                return False
        elif isinstance(x, list | tuple):
            assert isinstance(y, list | tuple)
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif isinstance(x, dict):
            assert isinstance(y, dict)
            if len(x) != len(y):
                return False
            for (kx, vx), (ky, vy) in zip(x.items(), y.items(), strict=True):
                stack.append((kx, ky))
                stack.append((vx, vy))
        elif dataclasses.is_dataclass(x):
            stack.extend((getattr(x, f.name), getattr(y, f.name)) for f in dataclasses.fields(x))
        elif x != y:
            return False
    return True


def json_depth(data: object) -> int:
    """Nesting depth of lists and dicts (a scalar is 0), iteratively."""
    deepest = 0
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def iter_messages(body: bytes) -> Iterator[str | bytes]:
    """Split a body into Engine.IO messages for the stateful Socket.IO decoders.

    Messages are separated by ``0xff`` (never part of UTF-8, so any text fits).
    A chunk starting with ``0x00`` is a binary message (the rest of the chunk);
    any other chunk is a text message (see :func:`text`).
    """
    for chunk in body.split(b"\xff"):
        if chunk[:1] == b"\x00":
            yield chunk[1:]
        else:
            yield text(chunk)
