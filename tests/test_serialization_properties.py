"""Property-based tests of the JSON codecs (``socketio_proto.serialization``).

Both codecs must agree with each other and with JavaScript's JSON semantics:
compact output, NaN/Infinity written as null and refused on input, lone
surrogates escaped, unsafe integers refused unless allowed, and ``loads``
raising nothing but DecodeError.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socketio_proto import DecodeError, EncodeError, JsonCodec, OrjsonCodec, StdlibJsonCodec
from socketio_proto.serialization import MAX_SAFE_INTEGER
from socketio_proto.testing import strategies as sps

CodecFactory = Callable[..., JsonCodec]
CODECS: list[CodecFactory] = [StdlibJsonCodec, OrjsonCodec]
codecs = pytest.mark.parametrize("codec", CODECS, ids=["stdlib", "orjson"])
other_codecs = pytest.mark.parametrize("other", CODECS, ids=["to-stdlib", "to-orjson"])

# JSON text: valid documents, near-valid mutations of them, and arbitrary text.
_json_documents = sps.json_values().map(lambda v: json.dumps(v, ensure_ascii=False))
_json_like = st.one_of(
    st.text(max_size=30),
    _json_documents,
    sps.mutated_text(_json_documents),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "[NaN]", '{"a":-Infinity}', "1e999", "-0"]),
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 6000).map(lambda n: "1" * n),
)


def canonical(value: Any) -> Any:
    """What JSON makes of a value: non-finite floats become null, surrogate pairs combine."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    if isinstance(value, dict):
        return {canonical(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    return value


def contains(value: Any, predicate: Callable[[Any], bool]) -> bool:
    """Whether ``predicate`` holds for ``value`` or anything inside it (keys too)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if predicate(item):
            return True
        if isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def is_unsafe_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INTEGER


@st.composite
def buried(draw: st.DrawFn, value: st.SearchStrategy[Any]) -> Any:
    """A JSON value with ``value`` placed somewhere inside (or at the top)."""
    result = draw(value)
    for _ in range(draw(st.integers(0, 4))):
        siblings = draw(st.lists(sps.json_scalars, max_size=2))
        if draw(st.booleans()):
            siblings.insert(draw(st.integers(0, len(siblings))), result)
            result = siblings
        else:
            result = {**{str(i): s for i, s in enumerate(siblings)}, "k": result}
    return result


# -- round trips -------------------------------------------------------------------


@codecs
@other_codecs
@given(value=sps.json_values(max_leaves=20))
def test_round_trip_across_codecs(codec: CodecFactory, other: CodecFactory, value: Any) -> None:
    text = codec().dumps(value)
    assert isinstance(text, str)
    assert other().loads(text) == value


@given(value=sps.json_values(max_leaves=20))
def test_stdlib_output_is_compact_js_style(value: Any) -> None:
    """Byte parity with JSON.stringify for these values: compact, non-ASCII unescaped."""
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    assert StdlibJsonCodec().dumps(value) == expected


@given(value=sps.json_values(max_leaves=20).filter(lambda v: not contains(v, _is_float)))
def test_codecs_write_identical_text_without_floats(value: Any) -> None:
    assert OrjsonCodec().dumps(value) == StdlibJsonCodec().dumps(value)


def _is_float(value: Any) -> bool:
    return isinstance(value, float)


@codecs
@given(value=sps.json_values(max_leaves=20))
def test_dumps_is_deterministic(codec: CodecFactory, value: Any) -> None:
    assert codec().dumps(value) == codec().dumps(value)


# -- NaN / Infinity ------------------------------------------------------------------


@codecs
@other_codecs
@given(value=buried(st.one_of(st.sampled_from([math.nan, math.inf, -math.inf]), st.floats())))
def test_non_finite_floats_become_null(
    codec: CodecFactory, other: CodecFactory, value: Any
) -> None:
    text = codec().dumps(value)
    assert json.loads(text, parse_constant=_refuse) == canonical(value)  # no NaN/Infinity
    assert other().loads(text) == canonical(value)


def _refuse(constant: str) -> Any:
    raise AssertionError(f"{constant} written to JSON")


@codecs
@given(
    value=buried(st.sampled_from(["NaN", "Infinity", "-Infinity"])).map(
        lambda v: (
            json.dumps(v)
            .replace('"NaN"', "NaN")
            .replace('"Infinity"', "Infinity")
            .replace('"-Infinity"', "-Infinity")
        )
    )
)
def test_non_finite_constants_are_refused(codec: CodecFactory, value: str) -> None:
    with pytest.raises(DecodeError):
        codec().loads(value)


# -- lone surrogates -----------------------------------------------------------------

_surrogate_text = st.text(
    st.one_of(st.characters(categories=["Cs"]), st.sampled_from('a"\\\u00e9\U0001f600')),
    max_size=10,
)


@codecs
@other_codecs
@given(value=buried(_surrogate_text), key=_surrogate_text)
def test_lone_surrogates_are_escaped(
    codec: CodecFactory, other: CodecFactory, value: Any, key: str
) -> None:
    document = {key: value}
    text = codec().dumps(document)
    text.encode("utf-8")  # always valid UTF-8
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in text)
    assert other().loads(text) == canonical(document)


# -- integers ------------------------------------------------------------------------

_unsafe = st.one_of(
    st.integers(min_value=MAX_SAFE_INTEGER + 1, max_value=2**200),
    st.integers(min_value=-(2**200), max_value=-MAX_SAFE_INTEGER - 1),
    st.sampled_from([MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER - 1, 2**63, 2**64, -(2**63) - 1]),
)


@codecs
@given(value=buried(_unsafe))
def test_unsafe_integers_refused(codec: CodecFactory, value: Any) -> None:
    with pytest.raises(EncodeError):
        codec().dumps(value)


@codecs
@given(value=buried(_unsafe))
def test_unsafe_integers_allowed_on_request(codec: CodecFactory, value: Any) -> None:
    text = codec(allow_unsafe_integers=True).dumps(value)
    assert StdlibJsonCodec().loads(text) == value


@codecs
@given(
    value=buried(
        st.one_of(
            st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER),
            st.sampled_from([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 10**15, -(10**15)]),
        )
    )
)
def test_safe_integers_accepted(codec: CodecFactory, value: Any) -> None:
    assert codec().loads(codec().dumps(value)) == value


# -- values JSON cannot carry --------------------------------------------------------


@dataclasses.dataclass
class _Point:
    x: int


_UNSUPPORTED = [
    {1, 2},
    frozenset(),
    1j,
    object(),
    Decimal("1.5"),
    range(3),
    b"bytes",
    bytearray(b"x"),
    Ellipsis,
    10**5000,
]
# orjson would serialise these natively; both codecs refuse them like the standard library.
_ORJSON_NATIVE = [
    datetime.datetime(2020, 1, 2, 3, 4, 5),
    datetime.date(2020, 1, 2),
    datetime.time(3, 4, 5),
    _Point(1),
]


@codecs
@given(value=buried(st.sampled_from(_UNSUPPORTED)), allow_unsafe=st.booleans())
def test_unsupported_values_raise_encode_error(
    codec: CodecFactory, value: Any, allow_unsafe: bool
) -> None:
    with pytest.raises(EncodeError):
        codec(allow_unsafe_integers=allow_unsafe).dumps(value)


@codecs
@given(value=buried(st.sampled_from(_ORJSON_NATIVE)))
def test_codecs_refuse_the_same_values(codec: CodecFactory, value: Any) -> None:
    with pytest.raises(EncodeError):
        codec().dumps(value)


@given(value=buried(st.uuids()))
def test_uuids_only_with_orjson(value: Any) -> None:
    """The one documented difference: orjson writes UUIDs as strings, the stdlib refuses them."""
    with pytest.raises(EncodeError):
        StdlibJsonCodec().dumps(value)
    as_strings = StdlibJsonCodec().loads(OrjsonCodec().dumps(value))
    assert as_strings == _uuids_to_str(value)


def _uuids_to_str(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: _uuids_to_str(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_uuids_to_str(v) for v in value]
    return value


@codecs
@settings(max_examples=30)
@given(value=sps.json_values(max_leaves=6), as_list=st.booleans(), key=st.text(max_size=3))
def test_circular_values_raise_encode_error(
    codec: CodecFactory, value: Any, as_list: bool, key: str
) -> None:
    container: Any = [value] if as_list else {"v": value}
    if isinstance(container, list):
        container.append(container)
    else:
        container[key] = container
    with pytest.raises(EncodeError):
        codec().dumps(container)


@codecs
@settings(max_examples=10)
@given(depth=st.integers(500, 5000))
def test_deep_values_encode_or_raise_encode_error(codec: CodecFactory, depth: int) -> None:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    try:
        text = codec().dumps(value)
    except EncodeError:
        return
    assert text == "[" * depth + "1" + "]" * depth


# -- loads never raises anything but DecodeError -------------------------------------


@codecs
@given(text=_json_like)
def test_loads_decodes_or_raises_decode_error(codec: CodecFactory, text: str) -> None:
    try:
        value = codec().loads(text)
    except DecodeError:
        return
    # Whatever parses is plain JSON data, and both codecs agree on it -- up to
    # the nesting both parsers promise; deeper, success depends on the stack.
    assert not contains(value, lambda v: isinstance(v, float) and math.isnan(v))
    if _nesting(value) > AGREED_DEPTH:
        return
    for other in CODECS:
        assert _same(other().loads(text), value)


#: Nesting both codecs parse whatever the interpreter's stack looks like.
AGREED_DEPTH = 500


def _nesting(value: Any) -> int:
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _same(a: Any, b: Any) -> bool:
    """Equality where an int and the float a JS-like parser makes of it compare equal."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if isinstance(x, float) or isinstance(y, float):
            if not (isinstance(x, int | float) and isinstance(y, int | float)):
                return False
            if float(x) != float(y):
                return False
        elif isinstance(x, list) and isinstance(y, list):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif isinstance(x, dict) and isinstance(y, dict):
            if x.keys() != y.keys():
                return False
            stack.extend((x[k], y[k]) for k in x)
        elif type(x) is not type(y) or x != y:
            return False
    return True


@codecs
@given(text=st.text(st.characters(categories=["Cs", "Po", "Nd"]), max_size=12))
def test_loads_text_with_lone_surrogates(codec: CodecFactory, text: str) -> None:
    """``loads`` takes ``str``, which may hold lone surrogates (raw, not escaped)."""
    try:
        value = codec().loads(text)
    except DecodeError:
        pass
    else:
        assert _same(value, json.loads(text))
    assert codec().loads(json.dumps([text], ensure_ascii=False)) == [text]
