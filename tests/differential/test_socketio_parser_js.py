"""Our Socket.IO text parser against the official ``socket.io-parser``.

Revision 5 is compared with socket.io-parser 4.2.7 (Socket.IO JS 3.x/4.x) and
revision 4 with socket.io-parser 3.4.3 (Socket.IO JS 2.x):

* Python encodes, JS decodes: the packet comes back unchanged;
* JS encodes, Python decodes: likewise;
* without floats the encodings are byte-identical (text header and attachments);
* the agreement test feeds near-valid text to both decoders and requires the
  same accept/reject decision and the same decoded packet, except for the
  deliberate deviations listed (and each demonstrated) below.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from socketio_proto.errors import ProtocolError
from socketio_proto.socketio.binary import has_binary
from socketio_proto.socketio.packet import RESERVED_EVENTS, Packet, PacketType, SocketIORevision
from socketio_proto.socketio.parser import Decoder, Encoder
from socketio_proto.testing import strategies as sps
from tests.differential.conftest import (
    JsHarness,
    has_float,
    has_index_key,
    has_proto_key,
    js_equal,
    messages_from_wire,
    messages_to_wire,
    sio_packet_as_dict,
    sio_packet_from_wire,
    sio_packet_to_wire,
)

pytestmark = pytest.mark.interop

REVISIONS: list[SocketIORevision] = [5, 4]
#: Half the profile's examples: each example is a round trip to Node.
EXAMPLES = max(20, settings().max_examples // 2)
#: Built once: constructing strategies per example costs more than running it.
PACKETS = {revision: sps.socketio_packets(revision=revision) for revision in REVISIONS}


# -- helpers ----------------------------------------------------------------------


def _normalise_js_type(packet: dict[str, Any], revision: SocketIORevision) -> dict[str, Any]:
    # socket.io-parser 3.x keeps BINARY_EVENT/BINARY_ACK as the type of the
    # reassembled packet (socket.io 2.x treats them as EVENT/ACK); 4.x and we
    # report EVENT/ACK.
    if revision == 4 and packet["type"] in (5, 6):
        return {**packet, "type": packet["type"] - 3}
    return packet


DecodeResult = dict[str, Any]


def python_decode(text: str, revision: SocketIORevision) -> DecodeResult:
    """Feed ``text`` to our decoder; complete a binary packet with attachments 0x00, 0x01...

    Only :class:`ProtocolError` counts as a rejection; anything else escapes
    and fails the test (decoders must not crash on any input).
    """
    decoder = Decoder(revision=revision)
    packets: list[dict[str, Any]] = []
    filled = 0
    try:
        packet = decoder.receive(text)
        while packet is None and decoder.awaiting_attachments > 0:
            packet = decoder.receive(bytes([filled % 256]))
            filled += 1
    except ProtocolError as exc:
        return {"packets": [], "error": exc.message, "pending": None}
    if packet is not None:
        packets.append(sio_packet_as_dict(packet))
    return {"packets": packets, "error": None, "pending": None}


def js_decode(js: JsHarness, text: str, revision: SocketIORevision) -> DecodeResult:
    result = js.call("sio.decode", rev=revision, messages=[text], fill=True)
    pending = result["pending"]
    return {
        "packets": [
            _normalise_js_type(sio_packet_from_wire(p), revision) for p in result["packets"]
        ],
        "error": result["error"],
        # socket.io-parser 3.x leaves a finished zero-attachment packet "pending 0".
        "pending": None if pending in (None, 0) else pending,
    }


def agree(ours: DecodeResult, theirs: DecodeResult) -> bool:
    if ours["error"] is not None or theirs["error"] is not None:
        return ours["error"] is not None and theirs["error"] is not None
    return js_equal(ours["packets"], theirs["packets"]) and js_equal(
        ours["pending"], theirs["pending"]
    )


def js_encoder_drops_key(packet: Packet) -> bool:
    """Whether socket.io-parser's encoder loses part of this packet.

    Its binary deconstruction copies objects key by key with plain assignment,
    so an own ``"__proto__"`` key sets the copy's prototype and vanishes from
    the JSON it sends. Our encoder keeps the key.
    """
    return has_binary(packet.data) and has_proto_key(packet.data)


# -- round trips ------------------------------------------------------------------


@pytest.mark.parametrize("revision", REVISIONS)
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_python_encodes_js_decodes(js: JsHarness, revision: SocketIORevision, data: Any) -> None:
    packet = data.draw(PACKETS[revision])
    messages = Encoder(revision=revision).encode(packet)
    result = js.call("sio.decode", rev=revision, messages=messages_to_wire(messages))
    assert result["error"] is None, (messages, result)
    assert result["pending"] in (None, 0), (messages, result)
    assert len(result["packets"]) == 1, (messages, result)
    decoded = _normalise_js_type(sio_packet_from_wire(result["packets"][0]), revision)
    assert js_equal(decoded, sio_packet_as_dict(packet)), (messages, decoded, packet)


@pytest.mark.parametrize("revision", REVISIONS)
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_js_encodes_python_decodes(js: JsHarness, revision: SocketIORevision, data: Any) -> None:
    packet = data.draw(PACKETS[revision])
    assume(not js_encoder_drops_key(packet))
    messages = messages_from_wire(
        js.call("sio.encode", rev=revision, packet=sio_packet_to_wire(packet))
    )
    decoder = Decoder(revision=revision)
    results = [decoder.receive(message) for message in messages]
    assert results[:-1] == [None] * (len(messages) - 1), (messages, results)
    decoded = results[-1]
    assert decoded is not None, messages
    assert decoder.awaiting_attachments == 0
    assert js_equal(sio_packet_as_dict(decoded), sio_packet_as_dict(packet)), (messages, decoded)


@pytest.mark.parametrize("revision", REVISIONS)
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_encodings_identical_without_floats(
    js: JsHarness, revision: SocketIORevision, data: Any
) -> None:
    packet = data.draw(PACKETS[revision])
    # Floats print differently (1e-07 vs 1e-7); index-like keys reorder in JS.
    assume(not has_float(packet.data) and not has_index_key(packet.data))
    assume(not js_encoder_drops_key(packet))
    ours = Encoder(revision=revision).encode(packet)
    theirs = messages_from_wire(
        js.call("sio.encode", rev=revision, packet=sio_packet_to_wire(packet))
    )
    assert ours == theirs


@pytest.mark.parametrize(
    ("revision", "packet", "wire"),
    [
        (5, Packet(PacketType.CONNECT, "/admin"), ["0/admin,"]),
        (5, Packet(PacketType.DISCONNECT, "/admin"), ["1/admin,"]),
        (
            5,
            Packet(PacketType.EVENT, "/admin", ["project:delete", 123], 456),
            ['2/admin,456["project:delete",123]'],
        ),
        (5, Packet(PacketType.ACK, "/x", [], 0), ["3/x,0[]"]),
        (
            5,
            Packet(PacketType.CONNECT_ERROR, "/", {"message": "Not authorized"}),
            ['4{"message":"Not authorized"}'],
        ),
        (
            5,
            Packet(PacketType.EVENT, "/", ["a", b"\x01", {"x": [b"\x02\x03"]}], 5),
            [
                '52-5["a",{"_placeholder":true,"num":0},{"x":[{"_placeholder":true,"num":1}]}]',
                b"\x01",
                b"\x02\x03",
            ],
        ),
        (
            4,
            Packet(PacketType.CONNECT_ERROR, "/admin", "Not authorized"),
            ['4/admin,"Not authorized"'],
        ),
        (4, Packet(PacketType.CONNECT, "/admin?token=1"), ["0/admin?token=1,"]),
        (
            4,
            Packet(PacketType.ACK, "/", ["bar", b"\xff"], 15),
            ['61-15["bar",{"_placeholder":true,"num":0}]', b"\xff"],
        ),
    ],
)
def test_documented_encodings(
    js: JsHarness, revision: SocketIORevision, packet: Packet, wire: list[str | bytes]
) -> None:
    """The examples of protocol.md 2.3/2.9: both encoders produce exactly these."""
    assert Encoder(revision=revision).encode(packet) == wire
    theirs = js.call("sio.encode", rev=revision, packet=sio_packet_to_wire(packet))
    assert messages_from_wire(theirs) == wire


# -- agreement on near-valid input --------------------------------------------------

#: What JavaScript's Number() skips as whitespace; socket.io-parser tests
#: ``Number(c) == c``, so each of these counts as an ack-id "digit" (value 0).
JS_WHITESPACE = frozenset(
    "\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_ASCII_DIGITS = frozenset("0123456789")


class JsFields(NamedTuple):
    """The fields of a text packet as socket.io-parser's decodeString scans them."""

    type: str
    attachments: str | None  # BINARY_* only: the text before the first "-"
    nsp: str
    id_run: str  # ASCII digits *and* JS whitespace, see JS_WHITESPACE
    tail: str  # what is parsed as JSON


def js_fields(text: str) -> JsFields:
    """Split ``text`` the way decodeString does (same in socket.io-parser 3.x and 4.x)."""
    i = 0
    attachments = None
    if text[:1] in ("5", "6"):
        dash = text.find("-", 1)
        i = dash if dash != -1 else len(text)
        attachments = text[1:i]
    nsp = "/"
    if text[i + 1 : i + 2] == "/":
        comma = text.find(",", i + 1)
        end = comma if comma != -1 else len(text)
        nsp = text[i + 1 : end]
        i = end
    run_end = i + 1
    while run_end < len(text) and (
        text[run_end] in _ASCII_DIGITS or text[run_end] in JS_WHITESPACE
    ):
        run_end += 1
    return JsFields(text[:1], attachments, nsp, text[i + 1 : run_end], text[run_end:])


def _json_tail(tail: str) -> tuple[bool, Any]:
    try:
        return True, json.loads(tail)
    except ValueError:
        return False, None


# Each rule: (name, predicate(text, revision, ours, theirs)).  A mismatch must
# match one rule; test_every_deviation_is_real shows a reproducer for each.
Rule = Callable[[str, SocketIORevision, DecodeResult, DecodeResult], bool]


def _rejected_by_us(ours: DecodeResult, theirs: DecodeResult) -> bool:
    return ours["error"] is not None and theirs["error"] is None


def _rule_empty_type(
    text: str, rev: SocketIORevision, ours: DecodeResult, theirs: DecodeResult
) -> bool:
    # DOCUMENTED (parser.py, protocol.md 2.3 step 1): JS reads the type as
    # Number(str.charAt(0)), which is 0 (CONNECT) for "" and likewise for a
    # whitespace first char (" ", "\n"...: same quirk); we require "0".."6".
    first = text[:1]
    return (first == "" or first in JS_WHITESPACE) and _rejected_by_us(ours, theirs)


def _rule_event_without_payload(
    text: str, rev: SocketIORevision, ours: DecodeResult, theirs: DecodeResult
) -> bool:
    # DOCUMENTED (parser.py, protocol.md 2.3): JS accepts an EVENT (and a
    # BINARY_EVENT header) with no JSON payload; we reject it.
    f = js_fields(text)
    return f.type in ("2", "5") and f.tail == "" and _rejected_by_us(ours, theirs)


def _rule_binary_ack_without_payload(
    text: str, rev: SocketIORevision, ours: DecodeResult, theirs: DecodeResult
) -> bool:
    # UNDOCUMENTED (reported): a BINARY_ACK header with no payload ("61-") is
    # accepted by JS (it waits for the attachment); we reject it, although we
    # accept a plain ACK without payload as JS does.
    f = js_fields(text)
    return f.type == "6" and f.tail == "" and _rejected_by_us(ours, theirs)


def _rule_whitespace_ack_id(
    text: str, rev: SocketIORevision, ours: DecodeResult, theirs: DecodeResult
) -> bool:
    # DOCUMENTED (protocol.md 2.3 step 4, JS quirk): JS tests Number(c) == c,
    # so whitespace (" ", "\t", "\n", NBSP, BOM...) after the namespace counts
    # as ack-id digits ("2 1[...]" -> id 1, "21 2[...]" -> id NaN).  We read
    # ASCII digits only.
    return any(c in JS_WHITESPACE for c in js_fields(text).id_run)


def _rule_long_ack_id(
    text: str, rev: SocketIORevision, ours: DecodeResult, theirs: DecodeResult
) -> bool:
    # DOCUMENTED (parser.py, protocol.md 2.3 step 4 [Recommend]): JS accepts
    # ack ids of any length (losing precision past 2**53); we cap them at
    # Limits.max_ack_id_digits (15) digits.
    run = js_fields(text).id_run
    return len(run) > 15 and set(run) <= _ASCII_DIGITS and _rejected_by_us(ours, theirs)


def _rule_attachment_count_syntax(
    text: str, rev: SocketIORevision, ours: DecodeResult, theirs: DecodeResult
) -> bool:
    # UNDOCUMENTED (reported): JS validates the attachment count with
    # Number(buf) == buf, so " 1", "1 ", "+1", "1.0", "1e0" and "0x1" are all
    # 1; we take ASCII digits only.
    count = js_fields(text).attachments
    return (
        count is not None
        and not (count.isascii() and count.isdigit())
        and _rejected_by_us(ours, theirs)
    )


def _rule_sio4_attachment_bounds(
    text: str, rev: SocketIORevision, ours: DecodeResult, theirs: DecodeResult
) -> bool:
    # DELIBERATE (protocol.md 2.4, CVE-2026-33151): socket.io-parser 3.x takes
    # any numeric count (0, 11, 1.5...); we require 1..max_attachments (10).
    count = js_fields(text).attachments
    if rev != 4 or count is None or not _rejected_by_us(ours, theirs):
        return False
    try:
        value = float(count)
    except ValueError:
        return count.strip() == ""  # Number("") == 0
    return not value.is_integer() or not 1 <= value <= 10


def _rule_sio4_connect_payload(
    text: str, rev: SocketIORevision, ours: DecodeResult, theirs: DecodeResult
) -> bool:
    # DELIBERATE (packet.py payload_error, protocol.md 2.9): revision 4 CONNECT
    # carries no payload; socket.io-parser 3.x accepts any JSON whose typeof is
    # "object" (objects, arrays, null).
    f = js_fields(text)
    return rev == 4 and f.type == "0" and f.tail != "" and _rejected_by_us(ours, theirs)


def _rule_sio4_error_null(
    text: str, rev: SocketIORevision, ours: DecodeResult, theirs: DecodeResult
) -> bool:
    # DELIBERATE (parser.py rejects every null payload): socket.io-parser 3.x
    # accepts ERROR "4null" because typeof null == "object".
    f = js_fields(text)
    ok, value = _json_tail(f.tail)
    return rev == 4 and f.type == "4" and ok and value is None and _rejected_by_us(ours, theirs)


def _rule_sio4_reserved_event(
    text: str, rev: SocketIORevision, ours: DecodeResult, theirs: DecodeResult
) -> bool:
    # DELIBERATE (packet.py RESERVED_EVENTS): socket.io-parser 3.x has no
    # reserved-name check; we refuse "connect", "disconnect"... in both revisions.
    f = js_fields(text)
    ok, value = _json_tail(f.tail)
    return (
        rev == 4
        and f.type in ("2", "5")
        and ok
        and isinstance(value, list)
        and bool(value)
        and isinstance(value[0], str)
        and value[0] in RESERVED_EVENTS
        and _rejected_by_us(ours, theirs)
    )


def _rule_non_finite_event_name(
    text: str, rev: SocketIORevision, ours: DecodeResult, theirs: DecodeResult
) -> bool:
    # DELIBERATE (packet.py is_valid_event_name): JSON numbers that overflow to
    # Infinity are valid event names for JS, but re-emitting one writes null, an
    # invalid name; we refuse them when decoding.
    f = js_fields(text)
    ok, value = _json_tail(f.tail)
    return (
        f.type in ("2", "5")
        and ok
        and isinstance(value, list)
        and bool(value)
        and isinstance(value[0], float)
        and not math.isfinite(value[0])
        and _rejected_by_us(ours, theirs)
    )


DEVIATIONS: dict[str, Rule] = {
    "empty-type": _rule_empty_type,
    "event-without-payload": _rule_event_without_payload,
    "binary-ack-without-payload": _rule_binary_ack_without_payload,
    "whitespace-ack-id": _rule_whitespace_ack_id,
    "long-ack-id": _rule_long_ack_id,
    "attachment-count-syntax": _rule_attachment_count_syntax,
    "sio4-attachment-bounds": _rule_sio4_attachment_bounds,
    "sio4-connect-payload": _rule_sio4_connect_payload,
    "sio4-error-null": _rule_sio4_error_null,
    "sio4-reserved-event": _rule_sio4_reserved_event,
    "non-finite-event-name": _rule_non_finite_event_name,
}


def classify(
    text: str, revision: SocketIORevision, ours: DecodeResult, theirs: DecodeResult
) -> list[str]:
    return [name for name, rule in DEVIATIONS.items() if rule(text, revision, ours, theirs)]


_TOKENS = [
    *"0123456789",
    "-",
    "/",
    ",",
    " ",
    "\t",
    "\n",
    "\xa0",
    "[",
    "]",
    "{",
    "}",
    '"',
    ":",
    ".",
    "e",
    "x",
    "+",
    "?",
    "a",
    "null",
    "true",
    "false",
    "[]",
    "{}",
    '"x"',
    "1.5",
    "-1",
    "1e2",
    '["x"]',
    '["connect"]',
    '{"_placeholder":true,"num":0}',
    '{"_placeholder":true,"num":1}',
    '{"_placeholder":true,"num":-1}',
    '{"_placeholder":true,"num":"0"}',
    '{"_placeholder":false,"num":0}',
]
_token = st.sampled_from(_TOKENS)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


_placeholder = st.builds(
    lambda num: {"_placeholder": True, "num": num},
    st.one_of(st.integers(-1, 11), st.sampled_from(["0", None, True])),
)
_json_tails = st.recursive(
    st.one_of(sps.json_scalars, _placeholder),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=6,
).map(_dumps)


#: Field by field: type, optional attachments, namespace, ack id and tail.
synthetic_text = st.tuples(
    st.sampled_from([*"0123456", "", "7", "a", " "]),
    st.one_of(
        st.just(""),
        st.from_regex(r"\A[0-9]{1,3}-\Z"),
        st.sampled_from(["-", "0-", " 1-", "1.0-", "+1-", "1e0-", "0x1-", "11-", "1"]),
    ),
    st.sampled_from(["", "/", "/,", "/a", "/a,", "//a,", "/a?x=1,", "/a-b,"]),
    st.one_of(
        st.just(""),
        st.from_regex(r"\A[0-9]{1,20}\Z"),
        st.sampled_from([" ", " 1", "1 ", "\t2", "\xa03", "-1", "1.5"]),
    ),
    st.one_of(st.just(""), _json_tails, _token),
).map("".join)


def valid_text(revision: SocketIORevision) -> st.SearchStrategy[str]:
    """The text header our encoder writes for a valid packet."""

    def header(packet: Packet) -> str:
        first = Encoder(revision=revision).encode(packet)[0]
        assert isinstance(first, str)
        return first

    return PACKETS[revision].map(header)


_MUTATIONS = st.sampled_from(["insert", "delete", "replace", "truncate", "prefix"])
_PREFIXES = st.sampled_from([*"0123456", "5", "51-", "/", ","])


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    """Up to three random edits of a text drawn from ``base``."""
    text = draw(base)
    for _ in range(draw(st.integers(0, 3))):
        action = draw(_MUTATIONS)
        pos = draw(st.integers(0, len(text)))
        if action == "insert":
            text = text[:pos] + draw(_token) + text[pos:]
        elif action == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 3)) :]
        elif action == "replace" and pos < len(text):
            text = text[:pos] + draw(_token) + text[pos + 1 :]
        elif action == "truncate":
            text = text[:pos]
        elif action == "prefix":
            text = draw(_PREFIXES) + text
    return text


def near_valid_text(revision: SocketIORevision) -> st.SearchStrategy[str]:
    return mutated(st.one_of(valid_text(revision), synthetic_text))


NEAR_VALID = {revision: near_valid_text(revision) for revision in REVISIONS}


def check_agreement(js: JsHarness, text: str, revision: SocketIORevision) -> None:
    ours = python_decode(text, revision)
    theirs = js_decode(js, text, revision)
    if agree(ours, theirs):
        return
    rules = classify(text, revision, ours, theirs)
    assert rules, (
        f"undocumented disagreement with socket.io-parser (revision {revision}) on {text!r}:\n"
        f"  ours:   {ours}\n  theirs: {theirs}"
    )


@pytest.mark.parametrize("revision", REVISIONS)
@settings(max_examples=EXAMPLES * 4)
@given(data=st.data())
def test_decoders_agree_on_near_valid_text(
    js: JsHarness, revision: SocketIORevision, data: Any
) -> None:
    check_agreement(js, data.draw(NEAR_VALID[revision], label="text"), revision)


#: Hand-picked inputs (protocol.md 2.3 edge-case table and friends).
AGREEMENT_CORPUS = [
    "0",
    "0{}",
    "1",
    "1/a",
    "1/a,",
    "3",
    "4",
    "0null",
    "0[]",
    '0"str"',
    "0/a,null",
    "1/admin,{}",
    "2[]",
    "2{}",
    '2[{"toString":"foo"}]',
    '2[true,"foo"]',
    '2[null,"bar"]',
    '2["connect"]',
    '2["disconnecting"]',
    '2["newListener"]',
    "2[1]",
    '2["error"]',
    '2["x",null]',
    '21a["x"]',
    '2-1["x"]',
    '21.5["x"]',
    '2["x"]garbage',
    '2["x"',
    "5",
    "6",
    "51",
    "5a-",
    "51.23-",
    '5-1-["x"]',
    '50-["x"]',
    '511-["x"]',
    "7",
    "a",
    "999",
    "0/nsp?x=1,{}",
    '2/,["x"]',
    '2//a,["x"]',
    "2/nsp",
    '2007["x"]',
    '2123456789012345["x"]',
    '51-["a",{"_placeholder":true,"num":0}]',
    '52-["a",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]',
    '51-["a",{"_placeholder":true,"num":1}]',
    '51-["a",{"_placeholder":true,"num":"0"}]',
    '51-[{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]',
    '61-3[{"_placeholder":true,"num":0}]',
    '4"boom"',
    "4{}",
    "4[]",
    '3[{"_placeholder":true,"num":0}]',
    '2["x",1e400]',
    '2[-0.0,"x"]',
    "2[1e2]",
    '2["x"] ',
    '2["\\u0000"]',
]


@pytest.mark.parametrize("revision", REVISIONS)
@pytest.mark.parametrize("text", AGREEMENT_CORPUS)
def test_decoders_agree_on_corpus(js: JsHarness, revision: SocketIORevision, text: str) -> None:
    check_agreement(js, text, revision)


# Each deviation rule with a reproducer: the decoders really disagree there,
# and exactly that rule explains it.  When our decoder changes to match JS,
# the corresponding entry fails and the rule must go.
DEVIATION_REPRODUCERS: list[tuple[str, Literal[4, 5], str]] = [
    ("non-finite-event-name", 5, "2[1e999]"),
    ("non-finite-event-name", 4, '2[-1e400,"x"]'),
    ("empty-type", 5, ""),
    ("empty-type", 4, " /a,"),
    ("event-without-payload", 5, "2"),
    ("event-without-payload", 5, "51-"),
    ("binary-ack-without-payload", 5, "61-"),
    ("whitespace-ack-id", 5, '2 ["x"]'),
    ("whitespace-ack-id", 5, '21 2["x"]'),
    ("whitespace-ack-id", 4, '2\xa01["x"]'),
    ("long-ack-id", 5, '21234567890123456["x"]'),
    ("attachment-count-syntax", 5, '5 1-["x",{"_placeholder":true,"num":0}]'),
    ("attachment-count-syntax", 5, '51.0-["x"]'),
    ("sio4-attachment-bounds", 4, '50-["x"]'),
    ("sio4-attachment-bounds", 4, '511-["x"]'),
    ("sio4-connect-payload", 4, "0{}"),
    ("sio4-connect-payload", 4, "0/a,[]"),
    ("sio4-error-null", 4, "4null"),
    ("sio4-reserved-event", 4, '2["connect"]'),
]


@pytest.mark.parametrize(("rule", "revision", "text"), DEVIATION_REPRODUCERS)
def test_every_deviation_is_real(
    js: JsHarness, rule: str, revision: SocketIORevision, text: str
) -> None:
    ours = python_decode(text, revision)
    theirs = js_decode(js, text, revision)
    assert not agree(ours, theirs), f"{rule}: the decoders now agree on {text!r}; drop the rule"
    assert classify(text, revision, ours, theirs) == [rule], (ours, theirs)


def test_every_rule_has_a_reproducer() -> None:
    assert {rule for rule, _, _ in DEVIATION_REPRODUCERS} == set(DEVIATIONS)


# -- regressions of bugs this suite found --------------------------------------------


@pytest.mark.parametrize("revision", REVISIONS)
@pytest.mark.parametrize(
    "text", ['5001-["x",{"_placeholder":true,"num":0}]', '60010-3[{"_placeholder":true,"num":9}]']
)
def test_attachment_count_with_leading_zeros(
    js: JsHarness, revision: SocketIORevision, text: str
) -> None:
    """Counts like "001" are valid (1*DIGIT); we once capped the digits instead of the value."""
    theirs = js_decode(js, text, revision)
    assert theirs["error"] is None and len(theirs["packets"]) == 1, theirs
    ours = python_decode(text, revision)
    assert ours == theirs


# -- lone surrogates --------------------------------------------------------------------

_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
#: Text with lone surrogates (but no high+low pair, which JS would read as one
#: astral character and JSON.stringify would then write unescaped).
surrogate_text = st.text(
    st.one_of(
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"]),
        st.characters(max_codepoint=0x7F),
        st.characters(min_codepoint=0x80, exclude_categories=["Cs"]),
    ),
    max_size=8,
).filter(lambda s: _SURROGATE_PAIR.search(s) is None)


@pytest.mark.parametrize("revision", REVISIONS)
@settings(max_examples=EXAMPLES)
@given(name=surrogate_text, arg=surrogate_text, key=surrogate_text)
def test_lone_surrogates_encode_like_js(
    js: JsHarness, revision: SocketIORevision, name: str, arg: str, key: str
) -> None:
    """JSON.stringify writes lone surrogates as lowercase \\uXXXX escapes; so do we."""
    assume(name not in RESERVED_EVENTS)
    packet = Packet(PacketType.EVENT, "/", [name, arg, {key: arg}])
    ours = Encoder(revision=revision).encode(packet)
    theirs = messages_from_wire(
        js.call("sio.encode", rev=revision, packet=sio_packet_to_wire(packet))
    )
    assert ours == theirs
    assert all(isinstance(m, str) and m.encode("utf-8") for m in ours)
    decoded = Decoder(revision=revision).receive(theirs[0])
    assert decoded is not None and decoded.data == packet.data
