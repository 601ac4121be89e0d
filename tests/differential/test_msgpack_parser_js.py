"""Our msgpack Socket.IO parser against the official ``socket.io-msgpack-parser`` 3.0.2.

Round trips in both directions, byte identity without floats, and an
agreement test over msgpack maps with wrong or unusual fields.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgpack
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from socketio_proto.errors import ProtocolError
from socketio_proto.socketio.msgpack import MsgpackDecoder, MsgpackEncoder
from socketio_proto.socketio.packet import RESERVED_EVENTS, Packet
from socketio_proto.testing import strategies as sps
from tests.differential.conftest import (
    JsHarness,
    from_wire,
    has_float,
    has_index_key,
    has_proto_key,
    js_equal,
    sio_packet_as_dict,
    sio_packet_from_wire,
    sio_packet_to_wire,
    to_wire,
)

pytestmark = pytest.mark.interop

EXAMPLES = max(20, settings().max_examples // 2)
packets = sps.socketio_packets(revision=5)


@settings(max_examples=EXAMPLES)
@given(packet=packets)
def test_python_encodes_js_decodes(js: JsHarness, packet: Packet) -> None:
    assume(not has_proto_key(packet.data))  # notepack.io turns it into a prototype
    (message,) = MsgpackEncoder().encode(packet)
    assert isinstance(message, bytes)
    decoded = sio_packet_from_wire(js.call("msgpack.decode", data=to_wire(message)))
    assert js_equal(decoded, sio_packet_as_dict(packet)), (decoded, packet)


@settings(max_examples=EXAMPLES)
@given(packet=packets)
def test_js_encodes_python_decodes(js: JsHarness, packet: Packet) -> None:
    (wire,) = js.call("msgpack.encode", packet=sio_packet_to_wire(packet))
    message = from_wire(wire)
    assert isinstance(message, bytes)
    decoded = MsgpackDecoder().receive(message)
    assert decoded is not None
    assert js_equal(sio_packet_as_dict(decoded), sio_packet_as_dict(packet)), (decoded, packet)


@settings(max_examples=EXAMPLES)
@given(packet=packets)
def test_encodings_identical_without_floats(js: JsHarness, packet: Packet) -> None:
    # notepack writes integral numbers as ints, msgpack-python writes floats as
    # float64; JS enumerates index-like keys first.  Otherwise: same bytes.
    assume(not has_float(packet.data) and not has_index_key(packet.data))
    (ours,) = MsgpackEncoder().encode(packet)
    (theirs,) = js.call("msgpack.encode", packet=sio_packet_to_wire(packet))
    assert ours == from_wire(theirs)


# -- agreement on unusual maps -----------------------------------------------------------

_MISSING = object()

_event_data = st.one_of(
    st.lists(sps.json_values(binary=True, max_leaves=4), max_size=3),
    st.builds(
        lambda name, rest: [name, *rest], st.sampled_from(sorted(RESERVED_EVENTS)), st.just([])
    ),
    st.sampled_from([[], [True], [None, "x"], [{"a": 1}], ["error", 1], [1.5]]),
)
_fields: dict[str, st.SearchStrategy[Any]] = {
    # Valid values first and twice as likely, then the odd ones.
    "type": st.one_of(
        st.integers(0, 4),
        st.integers(0, 4),
        st.integers(-1, 7),
        st.sampled_from([2.0, 1.5, "2", None, True, _MISSING]),
    ),
    "nsp": st.one_of(
        sps.namespaces(),
        sps.namespaces(),
        st.sampled_from(["", "admin", 1, None, b"/", _MISSING]),
    ),
    "data": st.one_of(
        st.just(_MISSING),
        _event_data,
        sps.json_values(binary=True, max_leaves=4),
        st.dictionaries(st.text(max_size=3), sps.json_scalars, max_size=2),
    ),
    "id": st.one_of(
        st.just(_MISSING),
        sps.ack_ids(),
        st.sampled_from([-1, 0, 1.0, 1.5, 10**15, 2**53, 2**63, "1", None, True]),
    ),
}


@st.composite
def unusual_maps(draw: st.DrawFn) -> bytes:
    message: dict[Any, Any] = {}
    for key in draw(st.permutations(list(_fields))):
        value = draw(_fields[key])
        if value is not _MISSING:
            message[key] = value
    if draw(st.booleans()):
        message["extra"] = draw(sps.json_scalars)
    packed: bytes = msgpack.packb(message, use_bin_type=True)
    return packed


Result = dict[str, Any] | str  # a packet, or the error message


def python_decode(message: bytes) -> Result:
    try:
        packet = MsgpackDecoder().receive(message)
    except ProtocolError as exc:
        return f"error: {exc.message}"
    assert packet is not None
    return sio_packet_as_dict(packet)


def js_decode(js: JsHarness, message: bytes) -> Result:
    outcome = js.request("msgpack.decode", data=to_wire(message))
    if outcome.error is not None:
        return f"error: {outcome.error}"
    return sio_packet_from_wire(outcome.value)


def _accepted_only_by_js(ours: Result, theirs: Result) -> bool:
    return isinstance(ours, str) and isinstance(theirs, dict)


def _accepted_only_by_us(ours: Result, theirs: Result) -> bool:
    return isinstance(ours, dict) and isinstance(theirs, str)


# Each rule inspects the unpacked map; test_every_msgpack_deviation_is_real
# shows a reproducer for each.
Rule = Callable[[dict[Any, Any], Result, Result], bool]


def _has_type(m: dict[Any, Any], *types: int) -> bool:
    value = m.get("type")
    return type(value) is int and value in types


def _rule_event_payload(m: dict[Any, Any], ours: Result, theirs: Result) -> bool:
    # DELIBERATE (same rules as our text parser, protocol.md 2.2): the JS msgpack
    # parser checks EVENT data only with Array.isArray, so [], [true] and
    # ["connect"] pass; we require a valid, non-reserved event name.
    return (
        _has_type(m, 2) and isinstance(m.get("data"), list) and _accepted_only_by_js(ours, theirs)
    )


def _rule_integral_float(m: dict[Any, Any], ours: Result, theirs: Result) -> bool:
    # UNDOCUMENTED (reported): a float64 type or id with an integral value
    # (2.0, 1.0) is a JS integer (Number.isInteger); we require msgpack ints.
    return any(isinstance(m.get(k), float) for k in ("type", "id")) and _accepted_only_by_js(
        ours, theirs
    )


def _rule_id_range(m: dict[Any, Any], ours: Result, theirs: Result) -> bool:
    # DELIBERATE (Limits.max_ack_id_digits) / UNDOCUMENTED for negatives
    # (reported): JS takes any integer id (-1, 2**63); we take 0..10**15-1.
    ack = m.get("id")
    return (
        isinstance(ack, int)
        and not isinstance(ack, bool)
        and not 0 <= ack < 10**15
        and _accepted_only_by_js(ours, theirs)
    )


DEVIATIONS: dict[str, Rule] = {
    "msgpack-event-payload": _rule_event_payload,
    "msgpack-integral-float": _rule_integral_float,
    "msgpack-id-range": _rule_id_range,
}


def classify(message: bytes, ours: Result, theirs: Result) -> list[str]:
    unpacked = msgpack.unpackb(message, raw=False, strict_map_key=False)
    return [name for name, rule in DEVIATIONS.items() if rule(unpacked, ours, theirs)]


def agree(ours: Result, theirs: Result) -> bool:
    if isinstance(ours, str) or isinstance(theirs, str):
        return isinstance(ours, str) and isinstance(theirs, str)
    return js_equal(ours, theirs)


@settings(max_examples=EXAMPLES * 2)
@given(message=unusual_maps())
def test_decoders_agree_on_unusual_maps(js: JsHarness, message: bytes) -> None:
    ours = python_decode(message)
    theirs = js_decode(js, message)
    if agree(ours, theirs):
        return
    unpacked = msgpack.unpackb(message, raw=False, strict_map_key=False)
    assert classify(message, ours, theirs), (
        f"undocumented disagreement on {unpacked!r}:\n  ours:   {ours}\n  theirs: {theirs}"
    )


REPRODUCERS: list[tuple[str, dict[str, Any]]] = [
    ("msgpack-event-payload", {"type": 2, "nsp": "/", "data": []}),
    ("msgpack-event-payload", {"type": 2, "nsp": "/", "data": ["connect"]}),
    ("msgpack-integral-float", {"type": 2.0, "nsp": "/", "data": ["x"]}),
    ("msgpack-integral-float", {"type": 3, "nsp": "/", "data": [], "id": 1.0}),
    ("msgpack-id-range", {"type": 3, "nsp": "/", "data": [], "id": -1}),
    ("msgpack-id-range", {"type": 3, "nsp": "/", "data": [], "id": 10**15}),
]


@pytest.mark.parametrize(("rule", "message"), REPRODUCERS)
def test_every_msgpack_deviation_is_real(js: JsHarness, rule: str, message: dict[str, Any]) -> None:
    packed: bytes = msgpack.packb(message, use_bin_type=True)
    ours = python_decode(packed)
    theirs = js_decode(js, packed)
    assert not agree(ours, theirs), f"{rule}: the decoders now agree on {message!r}; drop the rule"
    assert classify(packed, ours, theirs) == [rule], (ours, theirs)


def test_every_msgpack_rule_has_a_reproducer() -> None:
    assert {rule for rule, _ in REPRODUCERS} == set(DEVIATIONS)


@pytest.mark.parametrize(("key", "js_key"), [(1, "1"), (None, "null"), (True, "true")])
def test_non_string_map_keys(js: JsHarness, key: int | None, js_key: str) -> None:
    """Either reject such maps or convert the keys as JavaScript does; never differ."""
    packed: bytes = msgpack.packb(
        {"type": 2, "nsp": "/", "data": ["x", {key: "a"}]}, use_bin_type=True
    )
    theirs = js_decode(js, packed)
    assert theirs == {"type": 2, "nsp": "/", "data": ["x", {js_key: "a"}]}
    ours = python_decode(packed)
    assert ours.startswith("error") if isinstance(ours, str) else agree(ours, theirs), ours
