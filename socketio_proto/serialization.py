"""JSON codecs for Socket.IO payloads, chosen per instance.

A codec turns application data into JSON text and back, with the JavaScript
semantics peers expect:

* compact separators and non-ASCII left unescaped (byte parity with
  ``JSON.stringify``);
* ``NaN``/``Infinity`` are written as ``null`` (as ``JSON.stringify`` does) and
  rejected when received (``JSON.parse`` rejects them);
* lone surrogates are written as ``\\uXXXX`` escapes, so the text always
  encodes to valid UTF-8;
* a big-integer guard: integers outside JavaScript's safe range (+-2**53-1)
  silently lose precision in a JS peer, so encoding one raises
  :class:`~socketio_proto.EncodeError` unless the codec was built with
  ``allow_unsafe_integers=True``.

:class:`StdlibJsonCodec` is the default; :class:`OrjsonCodec` is a faster drop-in
when the ``orjson`` extra is installed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any, Final, Protocol, runtime_checkable

from .errors import DecodeError, EncodeError

__all__ = [
    "MAX_SAFE_INTEGER",
    "JsonCodec",
    "OrjsonCodec",
    "StdlibJsonCodec",
    "default_json_codec",
]

#: The largest integer a JavaScript number holds exactly (``Number.MAX_SAFE_INTEGER``).
MAX_SAFE_INTEGER: Final = 2**53 - 1

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Any integer outside the safe range is written with at least 16 digits.
_LONG_DIGIT_RUN = re.compile("[0-9]{16}")
# From this many characters on, mapping the UTF-8 text to "1" (ASCII digit) / "0" (any other
# byte) and searching for 16 ones is faster than the regex (whose cost grows ~8x faster).
_DIGIT_MASK_MIN_LENGTH = 32
_DIGIT_MASK = bytes(0x31 if 0x30 <= byte <= 0x39 else 0x30 for byte in range(256))
_SIXTEEN_DIGITS = b"1" * 16


@runtime_checkable
class JsonCodec(Protocol):
    """What a Socket.IO packet codec needs from a JSON implementation."""

    @property
    def name(self) -> str:
        """A short name for diagnostics and benchmarks."""
        ...

    def dumps(self, obj: Any) -> str:
        """Serialize ``obj``; raise :class:`EncodeError` if it cannot be."""
        ...

    def loads(self, text: str) -> Any:
        """Parse ``text``; raise :class:`DecodeError` if it is not valid JSON.

        Nesting deeper than a few hundred levels may be refused (parsers
        recurse); the protocol layers cap depth far lower (``Limits.max_json_depth``).
        """
        ...


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _replace_non_finite(obj: Any) -> Any:
    """Copy ``obj`` with NaN/Infinity replaced by None (what JSON.stringify writes)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _replace_non_finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_replace_non_finite(v) for v in obj]
    return obj


def _find_unsafe_integer(obj: Any) -> int | None:
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, int) and not isinstance(item, bool):
            if -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                continue
            return item
        if isinstance(item, dict):
            stack.extend(item.values())
            stack.extend(k for k in item if isinstance(k, int))
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return None


def _has_long_digit_run(text: str) -> bool:
    """Whether ``text`` holds 16 consecutive ASCII digits (``_LONG_DIGIT_RUN.search``)."""
    if len(text) >= _DIGIT_MASK_MIN_LENGTH:
        try:
            raw = text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: let the regex look
            pass
        else:
            return _SIXTEEN_DIGITS in raw.translate(_DIGIT_MASK)
    return _LONG_DIGIT_RUN.search(text) is not None


def _escape_lone_surrogates(text: str) -> str:
    if text.isascii():
        return text
    try:
        # Strict UTF-8 fails exactly on surrogate code points, much faster than a regex search.
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


class StdlibJsonCodec:
    """The default codec, built on the standard library's C-accelerated ``json``."""

    name = "json"

    def __init__(self, *, allow_unsafe_integers: bool = False) -> None:
        self.allow_unsafe_integers = allow_unsafe_integers
        self._encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        self._decoder = json.JSONDecoder(parse_constant=_reject_constant)
        # What ``self._encoder.encode`` builds on every call, built once; without the
        # circular-reference bookkeeping (a shared ``markers`` dict would not be thread-safe).
        # ``_c_encode(obj, 0)`` returns the text in pieces.
        self._c_encode: Callable[[Any, int], Sequence[str]] = (
            (lambda obj, _: (self._encoder.encode(obj),))
            if c_make_encoder is None
            else c_make_encoder(
                None, self._encoder.default, encode_basestring, None, ":", ",", False, False, False
            )
        )
        self._scan_once = self._decoder.scan_once  # type: ignore[attr-defined]

    def dumps(self, obj: Any) -> str:
        try:
            try:
                text = "".join(self._c_encode(obj, 0))
            except (ValueError, RecursionError):
                # Circular data recurses until RecursionError without the bookkeeping: the
                # checked encoder reports it as such (and raises the same ValueError for
                # NaN).  A TypeError is raised by both at the same point: it passes through.
                text = self._encoder.encode(obj)
        except ValueError as exc:
            if "Circular reference" in str(exc):
                raise EncodeError(f"cannot encode a circular structure: {exc}") from None
            # Out-of-range floats: retry with them replaced, as JSON.stringify does.
            try:
                text = self._encoder.encode(_replace_non_finite(obj))
            except (TypeError, ValueError, RecursionError) as again:
                raise EncodeError(f"cannot encode as JSON: {again}") from None
        except (TypeError, RecursionError) as exc:
            raise EncodeError(f"cannot encode as JSON: {exc}") from None
        if not self.allow_unsafe_integers and _has_long_digit_run(text):
            self._check_integers(obj)
        return text if text.isascii() else _escape_lone_surrogates(text)

    def _check_integers(self, obj: Any) -> None:
        unsafe = _find_unsafe_integer(obj)
        if unsafe is not None:
            raise EncodeError(
                f"integer {unsafe} is outside JavaScript's safe range (+-2**53-1); "
                "send it as a string, or build the codec with allow_unsafe_integers=True"
            )

    def loads(self, text: str) -> Any:
        # Fast path: one JSON value spanning the whole text is what ``decode`` would return.
        # Anything else (whitespace, trailing data, errors) goes through ``decode`` itself.
        try:
            value, end = self._scan_once(text, 0)
        except (StopIteration, ValueError, RecursionError):
            pass  # not one clean value: let decode() give the precise error
        else:
            if end == len(text):
                return value
        try:
            return self._decoder.decode(text)
        except RecursionError:
            raise DecodeError("JSON nesting too deep") from None
        except ValueError as exc:  # JSONDecodeError, and int() over sys.int_max_str_digits
            raise DecodeError(f"invalid JSON: {exc}") from None


class OrjsonCodec:
    """A codec on orjson (``pip install socketio_proto[orjson]``).

    Same rules as :class:`StdlibJsonCodec`; whatever orjson itself refuses
    (lone surrogates, integers beyond 64 bits, non-string keys) is retried with
    the standard library, so for JSON types the two codecs agree.  Dates and
    dataclasses are refused like the standard library refuses them; orjson
    additionally writes ``uuid.UUID`` and ``enum.Enum`` values.  Like a JS peer,
    orjson parses integers beyond 64 bits as floats.
    """

    name = "orjson"

    def __init__(self, *, allow_unsafe_integers: bool = False) -> None:
        import orjson

        self._orjson = orjson
        self._fallback = StdlibJsonCodec(allow_unsafe_integers=allow_unsafe_integers)
        self.allow_unsafe_integers = allow_unsafe_integers
        passthrough = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
        strict = 0 if allow_unsafe_integers else orjson.OPT_STRICT_INTEGER
        self._options = passthrough | strict

    def dumps(self, obj: Any) -> str:
        try:
            return self._orjson.dumps(obj, option=self._options).decode()
        except self._orjson.JSONEncodeError:
            return self._fallback.dumps(obj)

    def loads(self, text: str) -> Any:
        try:
            return self._orjson.loads(text)
        except self._orjson.JSONDecodeError:
            return self._fallback.loads(text)


_DEFAULT = StdlibJsonCodec()


def default_json_codec() -> JsonCodec:
    """The codec used when none is given: a shared :class:`StdlibJsonCodec`."""
    return _DEFAULT
