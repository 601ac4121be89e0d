"""The JSON codecs' JavaScript-compatibility rules (protocol.md 2.3, 6 item 22)."""

from __future__ import annotations

import pytest

from socketio_proto import DecodeError, EncodeError, OrjsonCodec, StdlibJsonCodec
from socketio_proto.serialization import MAX_SAFE_INTEGER, JsonCodec, default_json_codec

CODECS = [StdlibJsonCodec(), OrjsonCodec()]


@pytest.fixture(params=CODECS, ids=lambda c: c.name)
def codec(request: pytest.FixtureRequest) -> JsonCodec:
    result: JsonCodec = request.param
    return result


def test_both_codecs_satisfy_the_protocol(codec: JsonCodec) -> None:
    assert isinstance(codec, JsonCodec)
    assert isinstance(default_json_codec(), StdlibJsonCodec)


def test_compact_and_unescaped_like_json_stringify(codec: JsonCodec) -> None:
    assert codec.dumps({"a": [1, "é", "日本", None, True]}) == '{"a":[1,"é","日本",null,true]}'
    assert codec.dumps("\x00\n\x1f") == '"\\u0000\\n\\u001f"'


def test_non_finite_floats_become_null(codec: JsonCodec) -> None:
    nan, inf = float("nan"), float("inf")
    assert (
        codec.dumps([nan, inf, -inf, {"x": nan}, (1.5, inf)])
        == '[null,null,null,{"x":null},[1.5,null]]'
    )


def test_non_finite_literals_are_rejected(codec: JsonCodec) -> None:
    for text in ("NaN", "[Infinity]", '{"a":-Infinity}'):
        with pytest.raises(DecodeError):
            codec.loads(text)


def test_lone_surrogates_are_escaped_so_output_is_valid_utf8(codec: JsonCodec) -> None:
    text = codec.dumps(["a\ud800b", "\udfff"])
    assert text == '["a\\ud800b","\\udfff"]'
    text.encode("utf-8")
    assert codec.loads(text) == ["a\ud800b", "\udfff"]


def test_unsafe_integers_are_refused_by_default(codec: JsonCodec) -> None:
    assert (
        codec.dumps([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]) == "[9007199254740991,-9007199254740991]"
    )
    for value in (MAX_SAFE_INTEGER + 1, -(MAX_SAFE_INTEGER + 1), 2**64, 10**30):
        with pytest.raises(EncodeError, match="safe range"):
            codec.dumps({"n": [value]})


def test_digit_runs_in_strings_are_not_mistaken_for_integers(codec: JsonCodec) -> None:
    assert codec.dumps(["12345678901234567890"]) == '["12345678901234567890"]'


@pytest.mark.parametrize("cls", [StdlibJsonCodec, OrjsonCodec])
def test_unsafe_integers_allowed_on_request(cls: type[StdlibJsonCodec] | type[OrjsonCodec]) -> None:
    codec = cls(allow_unsafe_integers=True)
    assert codec.dumps([2**53, 2**64]) == "[9007199254740992,18446744073709551616]"


def test_unsupported_types_and_cycles_raise_encode_error(codec: JsonCodec) -> None:
    cyclic: list[object] = []
    cyclic.append(cyclic)
    for value in (b"bytes", {1, 2}, object(), cyclic):
        with pytest.raises(EncodeError):
            codec.dumps(value)


def test_invalid_json_raises_decode_error(codec: JsonCodec) -> None:
    for text in (
        "",
        "[",
        "[1,]",
        "{'a':1}",
        '"\x01"',
        "1" * 5000,
        "[" * 5000 + "]" * 5000,
        "[1] x",
    ):
        with pytest.raises(DecodeError):
            codec.loads(text)


def test_whitespace_and_duplicate_keys_follow_json_parse(codec: JsonCodec) -> None:
    assert codec.loads(" [1, 2] ") == [1, 2]
    assert codec.loads('{"a":1,"a":2}') == {"a": 2}
