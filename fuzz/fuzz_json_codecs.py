"""Fuzz the JSON codecs' decoding: ``StdlibJsonCodec.loads`` and ``OrjsonCodec.loads``.

Input: a mode byte, then the JSON text (see fuzzlib.py; UTF-8, invalid bytes as
lone surrogates).

Mode bits 0-1: 0 -- StdlibJsonCodec; 1 -- OrjsonCodec; 2 and 3 -- both, compared.
Mode bit 2: the decoding codec is built with ``allow_unsafe_integers=True``.

Invariants:
  * ``loads`` returns or raises ``RemoteProtocolError`` (``DecodeError``),
    deterministically;
  * an accepted value re-encodes (``dumps``, unsafe integers allowed) to text that
    is valid UTF-8 and loads back to the same value (type-strict; non-finite
    floats such as ``1e999`` come back as null, as with JSON.stringify; with
    orjson, integers beyond 64 bits may come back as floats);
  * differential: both codecs accept the same texts and return the same values,
    except that orjson returns integers outside the 64-bit range as floats.
"""

from __future__ import annotations

import sys

import fuzzlib
from fuzzlib import Failure, attempt, check, check_same_outcome, json_depth, same

with fuzzlib.instrumented(__name__):
    from socketio_proto.errors import EncodeError
    from socketio_proto.serialization import JsonCodec, OrjsonCodec, StdlibJsonCodec

# (decoding codec, allow_unsafe_integers) -> codec; re-encoding always allows them.
CODECS: dict[tuple[str, bool], JsonCodec] = {
    ("json", False): StdlibJsonCodec(),
    ("json", True): StdlibJsonCodec(allow_unsafe_integers=True),
    ("orjson", False): OrjsonCodec(),
    ("orjson", True): OrjsonCodec(allow_unsafe_integers=True),
}
# Deeper than this, encoding may legitimately hit Python's recursion limit.
MAX_ENCODABLE_DEPTH = 256


def loads(name: str, unsafe: bool, text: str) -> object:
    codec = CODECS[name, unsafe]
    value = attempt(codec.loads, text)
    check_same_outcome(value, attempt(codec.loads, text), f"{name}.loads")
    if isinstance(value, Failure):
        return value
    try:
        encoded = CODECS[name, True].dumps(value)
    except EncodeError:
        if json_depth(value) > MAX_ENCODABLE_DEPTH:
            return value
        raise
    check(isinstance(encoded, str), "dumps gave %r", encoded)
    try:
        encoded.encode("utf-8")
    except UnicodeEncodeError:
        check(False, "%s.dumps(%r) is not valid UTF-8: %r", name, value, encoded)
    again = attempt(codec.loads, encoded)
    check(
        not isinstance(again, Failure)
        # OrjsonCodec returns an integer beyond 64 bits as an int when it fell back
        # to the stdlib for the whole text and as a float otherwise (README.md).
        and same(value, again, json_lossy=True, big_int_as_float=name == "orjson"),
        "%s: %r dumps to %r, which loads as %r",
        name,
        value,
        encoded,
        again,
    )
    return value


def TestOneInput(data: bytes) -> None:
    mode, body = fuzzlib.split_input(data)
    text = fuzzlib.text(body)
    unsafe = bool(mode & 4)
    which = mode & 3
    if which == 0:
        loads("json", unsafe, text)
    elif which == 1:
        loads("orjson", unsafe, text)
    else:
        stdlib = loads("json", unsafe, text)
        orjson = loads("orjson", unsafe, text)
        if isinstance(stdlib, Failure) or isinstance(orjson, Failure):
            check(
                isinstance(stdlib, Failure) and isinstance(orjson, Failure),
                "codecs disagree on %r: json %r, orjson %r",
                text,
                stdlib,
                orjson,
            )
        else:
            check(
                same(stdlib, orjson, big_int_as_float=True),
                "codecs disagree on %r: json %r, orjson %r",
                text,
                stdlib,
                orjson,
            )


if __name__ == "__main__":
    fuzzlib.main(TestOneInput, instrument_harness=True)
    sys.exit(0)
