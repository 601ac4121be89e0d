"""Write the seed corpora (fuzz/corpus/<target>/) and known-issue reproducers.

Every seed is ``bytes([mode]) + body`` (see fuzzlib.py and each target's docstring
for the mode bits).  The examples come from /work/shared/protocol.md: sections 1.3,
1.4, 1.14 and 1.15 (Engine.IO), 2.3, 2.4, 2.6, 2.8, 2.9 and 2.11 (Socket.IO) and the
malicious inputs of section 4.  Run from anywhere::

    .venv/bin/python fuzz/make_corpus.py

It rewrites the generated files and leaves other files (e.g. crashes you added by
hand) alone.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import quote

import msgpack

FUZZ_DIR = Path(__file__).resolve().parent
CORPUS_DIR = FUZZ_DIR / "corpus"
KNOWN_ISSUES_DIR = FUZZ_DIR / "known_issues"

Seeds = list[tuple[str, bytes]]


def seed(mode: int, body: str | bytes) -> bytes:
    raw = body.encode("utf-8") if isinstance(body, str) else body
    return bytes([mode]) + raw


# -- engine.io packet ------------------------------------------------------------------
# mode bit 0: revision 3; bit 1: binary frame.

V4_TEXT = [
    "0",
    '0{"sid":"Vu0AAAB","upgrades":["websocket"],"pingInterval":5000,'
    '"pingTimeout":3000,"maxPayload":1000000}',
    "1",
    "2",
    "3",
    "2probe",
    "3probe",
    "4hello",
    "4",
    "5",
    "6",
    "4\u20ac\U0001f600",
    '42["foo"]',
    "bAQIDBA==",
    "bAQID",
    "bAQI=",
    "b",
    "b=",
    "bA",
    "bAQ==",
    "bAQ===",
    "bA\u20ac",
    "b4AQIDBA==",
    "",
    "7",
    "x",
    "\u0664hello",
]
V3_TEXT = ["b4AQIDBA==", "b0AQID", "b4", "b", "b9AQID", "bxAQID", "4hello", "2probe", "3", "b6"]


def engineio_packet() -> Seeds:
    seeds = [(f"v4-text-{i}", seed(0, text)) for i, text in enumerate(V4_TEXT)]
    seeds += [(f"v3-text-{i}", seed(1, text)) for i, text in enumerate(V3_TEXT)]
    seeds += [
        ("v4-text-invalid-utf8", seed(0, b"4\xff\xfe")),
        ("v4-text-lone-surrogate", seed(0, b"b\xed\xa0\x80")),
        ("v4-binary", seed(2, b"\x01\x02\x03")),
        ("v4-binary-empty", seed(2, b"")),
        ("v3-binary-message", seed(3, b"\x04\x01\x02\x03")),
        ("v3-binary-message-empty", seed(3, b"\x04")),
        ("v3-binary-open", seed(3, b"\x00{}")),
        ("v3-binary-empty", seed(3, b"")),
        ("v3-binary-bad-type", seed(3, b"\x07abc")),
        ("v3-binary-ascii-type", seed(3, b"4hello")),
    ]
    return seeds


# -- engine.io payload -----------------------------------------------------------------
# mode bits 0-3: entry point; bit 4: small limits; bit 5: v3 inside JSONP.

HANDSHAKE = (
    '0{"sid":"Vu0AAAB","upgrades":["websocket"],"pingInterval":5000,'
    '"pingTimeout":3000,"maxPayload":1000000}'
)
SESSION_GET = (
    '40{"sid":"iR0","pid":"Zw0"}\x1e451-["hello","world",{"_placeholder":true,"num":0},'
    '"Q8BBpuu"]\x1ebAQI=\x1e40/ok,{"sid":"kV0","pid":"Lu0"}\x1e42/ok,["in-ok",{"a":1},"Q8BBpuu.0"]'
)
V4_BODIES = [
    "4hello\x1e2\x1e4world",
    "4hello\x1ebAQIDBA==",
    "",
    "2",
    "6\x1e4x",
    "0\x1e4y",
    "5",
    "1",
    "\x1e",
    "4a\x1e",
    '40\x1e40/ok,{"a":1}',
    SESSION_GET,
    HANDSHAKE,
    "4\u20ac\U0001f600",
    "4hello\x1e7",
    "\x1e".join(["4x"] * 9),
]
V3_BODIES = [
    "4:4\u20ac\U0001f600",
    "6:4hello10:b4AQIDBA==",
    "0:",
    "",
    "2:4\U0001f600",
    "3:4\U0001f600",
    f"{len(HANDSHAKE)}:{HANDSHAKE}2:40",
    "2:40",
    "99999991:422222222",
    "1:",
    ":",
    "a:4",
    "5:4",
    "1",
    '7:4line\nx7:4q"uote',
    "0:0:0:1:2",
    "01:2",
    "12345678901:4",
    "\u0664:4",
    "10:b4AQIDBA=",
    "2:b4",
    "".join(["2:4x"] * 9),
]
V3_BINARY = [
    b"\x00\x06\xff4hello\x01\x05\xff\x04\x01\x02\x03\x04",
    b"\x00\x08\xff4\xe2\x82\xac\xf0\x9f\x98\x80",
    b"",
    b"\x01\x01\x02\x03\xff\x04" + bytes(122),
    b"\x02\x01\xff4",
    b"\x00\x01",
    b"\x00" + b"\x09" * 20 + b"\xff",
    b"\x00\xff",
    b"\x00\x01\xff",
    b"\x01\x01\xff\x04",
    b"\x00\x02\xff4\xff",
    b"\x00\x0a\xffb4AQIDBA==",
    b"\x01\x01\xff\x09",
    b"\x00\x05\xff4abc",
]
JSONP_FORM = [
    "d=" + quote('7:4line\\nx7:4q"uote'),
    "d=" + quote("4hello\x1e2"),
    "d=4:4abc",
    "x=1",
    "d=a&d=b",
    "d=%ZZ",
    "d=",
    "d=6%3A4hello",
    "d=" + quote("7:4a\\\\nb"),
]
JSONP_RAW = ["7:4line\\nx", "\\\\n", "4a\\n", "\\n\\n\\\\n", "4hello\x1e2", "", "6:4hello"]


def engineio_payload() -> Seeds:
    seeds: Seeds = [(f"v4-body-{i}", seed(0, body)) for i, body in enumerate(V4_BODIES)]
    seeds += [(f"v4-str-{i}", seed(6, body)) for i, body in enumerate(V4_BODIES[:3])]
    seeds += [
        ("v4-text-plain", seed(1, "4hello\x1e2")),
        ("v4-octet-stream", seed(2, "4hello")),
        ("v4-small-limits", seed(16, "\x1e".join(["4x"] * 9))),
        ("v4-invalid-utf8", seed(0, b"4\xff")),
        ("v4-str-lone-surrogate", seed(6, b"4\xed\xa0\x80\x1e4\x80")),
    ]
    seeds += [(f"v3-body-{i}", seed(3, body)) for i, body in enumerate(V3_BODIES)]
    seeds += [(f"v3-str-{i}", seed(7, body)) for i, body in enumerate(V3_BODIES[:3])]
    seeds += [
        ("v3-small-limits", seed(16 | 3, "".join(["2:4x"] * 9))),
        ("v3-str-lone-surrogate-length", seed(7, b"\x80:")),
        ("v3-str-lone-surrogate-entry", seed(7, b"2:4\x80")),
        # Found by fuzzing (fixed): UnicodeDecodeError escaped decode_payload_v3.
        ("v3-str-lone-surrogate-digits", seed(7, b"1\x80:4")),
    ]
    seeds += [(f"v3-binary-{i}", seed(8, body)) for i, body in enumerate(V3_BINARY)]
    seeds += [
        ("v3-octet-stream", seed(4, V3_BINARY[0])),
        ("v3-octet-stream-params", seed(5, V3_BINARY[1])),
    ]
    # JSONP: alternate the revision of the inner payload.
    seeds += [
        (f"jsonp-form-{i}", seed((32 if i % 2 else 0) | 9, body))
        for i, body in enumerate(JSONP_FORM)
    ]
    seeds += [
        (f"jsonp-raw-{i}", seed((0 if i % 2 else 32) | 10, body))
        for i, body in enumerate(JSONP_RAW)
    ]
    return seeds


# -- socket.io text parser --------------------------------------------------------------
# mode bit 0: revision 4; bit 1: orjson; bits 2-3: max_attachments - 1;
# bit 4: 3-digit ack ids; bit 5: JSON depth 4.

SIO5 = 3 << 2  # revision 5, stdlib JSON, max_attachments 4
SIO4 = SIO5 | 1
ORJSON = 2
ATTACHMENTS_2 = 1 << 2  # max_attachments 2 (bits 2-3 = 1)

PH0 = '{"_placeholder":true,"num":0}'
PH1 = '{"_placeholder":true,"num":1}'


def messages(*parts: str | bytes) -> bytes:
    """Join messages for the Socket.IO targets: binary ones get the 0x00 prefix."""
    out = []
    for part in parts:
        out.append(b"\x00" + part if isinstance(part, bytes) else part.encode("utf-8"))
    return b"\xff".join(out)


# The 2.3 encoding examples, one seed each.
SIO5_EXAMPLES = [
    "0",
    "0/admin,",
    '0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}',
    "1/admin,",
    '2["foo"]',
    '212["foo"]',
    '2/admin,456["project:delete",123]',
    "3/x,0[]",
    '4{"message":"Not authorized"}',
    '4/secure,{"message":"not authorized","data":{"reason":"x"}}',
    '2456["message-with-ack",1,"2",{"3":[false]}]',
    '3456[1,"2",{"3":[false]}]',
    '0{"sid":"iR0","pid":"Zw0"}',
    '2/ok,["in-ok",{"a":1},"Q8BBpuu.0"]',
]
# Rows of the 2.3 edge-case table and the 2.6/2.8/section 4 inputs, one seed per
# row (every message of a row is decoded on its own: none starts a reassembly).
SIO5_GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("valid", ("0", "0{}", "1", "1/a", "1/a,", "3", "4", "2")),
    ("invalid-connect", ("0null", "0[]", '0"str"', "0/a,null", "1/admin,{}", "0[1]", "1{}")),
    (
        "invalid-event",
        ("2[]", "2{}", '2[true,"foo"]', '2[null,"bar"]', '2["disconnecting"]'),
    ),
    ("cve-2023-32695", ('2[{"toString":"foo"}]',)),
    ("reserved-names", ('2["connect"]', '2["newListener"]', '2["disconnect"]')),
    ("cve-2024-38355", ('2["error","x"]', '2["error"]')),
    ("valid-events", ("2[1]", '2["x",null]', '2[1,"x"]', '3999["x"]')),
    ("bad-ack-ids", ('21a["x"]', '2-1["x"]', '21.5["x"]', '2["x"]garbage', '2["x"')),
    ("illegal-attachments", ("5", "6", "51", "5a-", "51.23-", '5-1-["x"]', '50-["x"]')),
    ("namespaces", ("0/nsp?x=1,{}", "2/nsp", '2/,["x"]', '2//a,["x"]', "0admin,")),
    ("unknown-types", ("7", "a", "999", "")),
    ("js-quirk-ids", ('2 ["x"]', '2 1["x"]', '2007["x"]', '212345678901234567890["x"]')),
    ("auth", ('0{"token":"123"}', "0/custom,", '0/custom,{"token":"abc"}')),
    ("recovery", ('0{"pid":"Zw0","offset":"Q8BBpuu"}', '0{"_placeholder":true,"num":0}')),
    ("json-numbers", ('2["x",12345678901234567890]', '2["x",1e400,-0,-0.0,1E5]', '2["x",NaN]')),
    ("json-strings", ('2["\\ud800","\\u001e","\u20ac\U0001f600"]', '2["x",{"a":1,"a":2}]')),
    ("json-depth", ('2["x",[[[[[[]]]]]]]', '2["x",' + "[" * 40 + "]" * 40 + "]")),
]

SIO5_STREAMS: list[tuple[str, tuple[str | bytes, ...]]] = [
    ("binary-event", (f'51-["baz",{PH0}]', b"\x01\x02\x03\x04")),
    ("binary-event-admin-2", (f'52-/admin,["baz",{PH0},{PH1}]', b"\x01", b"\x02\x03")),
    ("binary-ack", (f'61-15["bar",{PH0}]', b"\x01\x02")),
    ("binary-nested", (f'52-5["a",{PH0},{{"x":[{PH1}]}}]', b"\x01", b"\x02")),
    ("binary-ack-2", (f"62-789[{PH0},{PH1}]", b"\x01", b"\x02")),
    ("binary-event-ack-2", (f'52-789["message-with-binary",{PH0},{PH1}]', b"\x01", b"")),
    ("binary-same-placeholder", (f'51-["x",{PH0},{PH0}]', b"\x01")),
    ("binary-unused", ('51-["x"]', b"\x01")),
    ("binary-offset", (f'51-["hello","world",{PH0},"Q8BBpuu"]', b"\x01\x02")),
    # section 4: CVE-2022-2421
    ("cve-2022-2421-splice", ('51-["hello",{"_placeholder":true,"num":"splice"}]', b"\x01")),
    ("placeholder-out-of-range", ('51-["hello",{"_placeholder":true,"num":1}]', b"\x01")),
    ("placeholder-float", ('51-["hello",{"_placeholder":true,"num":0.0}]', b"\x01")),
    ("placeholder-bool", ('51-["hello",{"_placeholder":true,"num":true}]', b"\x01")),
    ("placeholder-no-num", ('51-["hello",{"_placeholder":true}]', b"\x01")),
    ("text-during-reassembly", (f'52-["x",{PH0},{PH1}]', b"\x01", '2["y"]', b"\x02")),
    ("binary-without-header", (b"\x01\x02", '2["x"]')),
    ("binary-then-recover", (f'51-["x",{PH0}]', b"\x01", b"\x02", '2["y"]')),
    # section 4: CVE-2026-33151 (attachment count)
    ("cve-2026-33151", ('5999999-["x"]', b"\x01", b"\x02", b"\x03", b"\x04", b"\x05")),
    ("too-many-attachments", ('511-["x"]', b"\x01")),
    ("header-twice", (f'51-["x",{PH0}]', f'51-["y",{PH0}]')),
    ("binary-event-reserved", (f'51-["connect",{PH0}]', b"\x01")),
    ("binary-ack-no-array", (f"61-{PH0}", b"\x01")),
    ("empty-message", ("",)),
    ("session-2-11", ("0", '0/ok,{"a":1}', '2/ok,["x"]', "1/ok,", "1")),
]

SIO4_TEXT = [
    "0",
    "0/admin?token=1234&uid=abcd,",
    "0/admin,",
    '4/admin,"Not authorized"',
    '4/secure,{"reason":"x"}',
    '4/plain,"plain"',
    '4/nope,{"message":"Invalid namespace"}',
    '2["x"]',
    '0{"token":"1"}',
    "4true",
    "41",
    '41"x"',
    "4[1,2]",
    "4-1",  # known issue 2
    "2[1e999]",  # known issue 3
]


def socketio_parser() -> Seeds:
    seeds = [(f"sio5-{i}", seed(SIO5, messages(text))) for i, text in enumerate(SIO5_EXAMPLES)]
    seeds += [(f"sio5-{name}", seed(SIO5, messages(*parts))) for name, parts in SIO5_GROUPS]
    seeds += [(f"sio5-{name}", seed(SIO5, messages(*parts))) for name, parts in SIO5_STREAMS]
    seeds += [(f"sio4-{i}", seed(SIO4, messages(text))) for i, text in enumerate(SIO4_TEXT[:7])]
    seeds.append(("sio4-misc", seed(SIO4, messages(*SIO4_TEXT[7:]))))
    # Found by this target once (decoded, then refused by the encoder); now refused.
    seeds += [
        ("fixed-non-finite-event-name", seed(SIO5, "2[1e999]")),
        ("fixed-non-finite-event-name-sio4", seed(SIO4, '2/a,7[-1e400,"x"]')),
        ("fixed-lone-surrogate-namespace", seed(SIO5, b"0/\x80,")),
        ("fixed-lone-surrogate-namespace-event", seed(SIO5, b'2/a\xed\xb2\x80,["x"]')),
    ]
    seeds += [
        ("sio4-binary-event", seed(SIO4, messages(f'51-["x",{PH0}]', b"\x01"))),
        ("sio5-orjson-event", seed(SIO5 | ORJSON, messages('2["x",18446744073709551616]'))),
        ("sio5-orjson-surrogate", seed(SIO5 | ORJSON, messages('2["\\udc00"]'))),
        ("sio5-orjson-binary", seed(SIO5 | ORJSON, messages(f'51-["x",{PH0}]', b"\x01"))),
        ("sio5-max-attachments-2", seed(ATTACHMENTS_2, messages('53-["x"]', b"1", b"2", b"3"))),
        ("sio5-short-ack-ids", seed(SIO5 | 16, messages('21234["x"]', '2123["x"]'))),
        ("sio5-shallow", seed(SIO5 | 32, messages('2["x",[[[]]]]', '2["x",[[]]]'))),
        ("sio5-invalid-utf8", seed(SIO5, b'2["\xff\xfe"]')),
        ("sio5-lone-surrogate", seed(SIO5, b'2["\x80"]\xff0/\x80,')),
        ("sio5-split-surrogate-pair", seed(SIO5, b'2["x\\ud800\x80"]')),
    ]
    return seeds


# -- socket.io msgpack parser --------------------------------------------------------
# mode bit 0: small limits; bit 1: text message; bit 2: split into messages.

MSGPACK_PACKETS: list[object] = [
    {"type": 0, "nsp": "/"},
    {"type": 0, "nsp": "/admin", "data": {"token": "123"}},
    {"type": 0, "nsp": "/", "data": {"sid": "oSO0OpakMV_3jnilAAAA", "pid": "Zw0"}},
    {"type": 1, "nsp": "/admin"},
    {"type": 2, "nsp": "/", "data": ["foo"]},
    {"type": 2, "nsp": "/", "data": ["foo", b"\x01\x02\x03"], "id": 12},
    {"type": 2, "nsp": "/admin", "data": ["project:delete", 123], "id": 456},
    {"type": 3, "nsp": "/x", "data": [], "id": 0},
    {"type": 3, "nsp": "/", "data": [1, "2", {"3": [False]}], "id": 456},
    {"type": 4, "nsp": "/", "data": {"message": "Not authorized"}},
    {"type": 4, "nsp": "/secure", "data": "not authorized"},
    {"type": 2, "nsp": "/", "data": [{"toString": "foo"}]},
    {"type": 2, "nsp": "/", "data": ["connect"]},
    {"type": 2, "nsp": "/", "data": ["error", "x"]},
    {"type": 2, "nsp": "/", "data": [1, "x"]},
    {"type": 2, "nsp": "/", "data": [1.5, float("nan"), float("inf")]},
    {"type": 2, "nsp": "/", "data": ["x", None, True, -1, 2**64 - 1, -(2**63)]},
    {"type": 2, "nsp": "/", "data": ["x", {1: 2, b"k": 3, 1.5: 4}]},
    {"type": 2, "nsp": "/", "data": ["x", [[[[[[]]]]]]]},
    {"type": 2, "nsp": "/", "data": ["x", msgpack.ExtType(5, b"ab")]},
    {"type": 2, "nsp": "/", "data": ["x", msgpack.Timestamp(1, 2)]},
    {"type": 2, "nsp": "/", "data": ["x", {"_placeholder": True, "num": 0}]},
    {"type": 2, "nsp": "/", "data": ["x"], "id": 10**15},
    {"type": 2, "nsp": "/", "data": ["x"], "id": -1},
    {"type": 2, "nsp": "/", "data": ["x"], "id": True},
    {"type": 2, "nsp": "/", "data": ["x"], "id": "1"},
    {"type": 2, "nsp": "/", "data": None},
    {"type": 2, "nsp": "/"},
    {"type": 5, "nsp": "/", "data": ["x"]},
    {"type": "2", "nsp": "/", "data": ["x"]},
    {"type": True, "nsp": "/"},
    {"type": 0},
    {"type": 0, "nsp": 1},
    {"type": 0, "nsp": "/", "data": []},
    {"type": 1, "nsp": "/", "data": {}},
    {"type": 3, "nsp": "/", "data": {}},
    {"type": 0, "nsp": "/", "extra": 1},
    ["type", 0],
    None,
]
MSGPACK_RAW = [
    b"",
    b"\xc1",
    b"\x82\xa4type\x00",
    b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data\xdd\xff\xff\xff\xff",
    b"\x82\xa4type\x00\xa3nsp\xa1/\x00",
    b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x91\xc7\x0c\xff" + bytes(12),
    b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x91\xd6\xff\x00\x00\x00\x01",
    b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x92\xa1x\xca\x3f\xc0\x00\x00",
    b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x92\xa1x\xd4\x00\x00",
    b"\x82\xa4type\x00\xa3nsp\xa2/\xff",
    b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data" + b"\x91" * 2000 + b"\xa1x",
    b"\x81\x91\x00\x00",
]


def msgpack_parser() -> Seeds:
    seeds: Seeds = []
    for i, obj in enumerate(MSGPACK_PACKETS):
        raw = msgpack.packb(obj, use_bin_type=True)
        seeds.append((f"packet-{i}", seed(0, raw)))
        if i in (1, 5, 17):
            seeds.append((f"packet-small-limits-{i}", seed(1, raw)))
    for i, raw in enumerate(MSGPACK_RAW):
        seeds.append((f"raw-{i}", seed(0, raw)))
    seeds += [
        ("text-message", seed(2, '40{"token":"123"}')),
        ("text-message-invalid-utf8", seed(2, b"\x80\xa4type\x00")),
        (
            "split",
            seed(4, b"\x00" + msgpack.packb({"type": 0, "nsp": "/"}) + b"\xff" + b"0"),
        ),
        ("split-empty", seed(4, b"")),
    ]
    return seeds


# -- JSON codecs ---------------------------------------------------------------------
# mode bits 0-1: 0 stdlib, 1 orjson, 2/3 both (differential); bit 2: unsafe integers.

JSON_TEXTS: list[str | bytes] = [
    '{"sid":"oSO0OpakMV_3jnilAAAA"}',
    '["foo"]',
    '["project:delete",123]',
    "[]",
    "{}",
    '{"message":"Not authorized"}',
    '["baz",{"_placeholder":true,"num":0}]',
    '["hello","world",{"_placeholder":true,"num":0},"Q8BBpuu"]',
    '[1,"2",{"3":[false]}]',
    '{"toString":"foo"}',
    "1e400",
    "-1e400",
    "[1e999,-1e999]",
    "1.5e-400",
    "-0",
    "-0.0",
    "1E5",
    "1.0",
    '"\\ud800"',
    '"\\udc00\\ud800"',
    '"\\ud83d\\ude00"',
    '"\\u001e"',
    '"\u20ac\U0001f600"',
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775808",
    "-9223372036854775809",
    "9007199254740993",
    "1" * 400,
    "1" * 4301,
    "NaN",
    "Infinity",
    "-Infinity",
    "[1,2",
    '{"a":1,"a":2}',
    '{"a":1,}',
    "[1,]",
    "\ufeff1",
    " \t\n\r1 \t\n\r",
    "1 2",
    "true",
    "false",
    "null",
    '""',
    '"\x00"',
    "'x'",
    "[" * 200 + "]" * 200,
    "[" * 2000 + "]" * 2000,
    '{"a":' * 100 + "1" + "}" * 100,
    b'"\x80"',
    b'"\\udc00\\ud800\x80"',  # found by fuzzing: escaped high + raw low surrogate
    "[19223372036854775808,-1e999]",  # found by fuzzing: orjson falls back, big int stays int
    b"\xef\xbb\xbf[]",
    "0.1e1",
    "01",
    "1.",
    ".5",
    "+1",
    "0x10",
]


def json_codecs() -> Seeds:
    seeds: Seeds = []
    for i, text in enumerate(JSON_TEXTS):
        seeds.append((f"both-{i}", seed(2, text)))
    seeds += [
        ("stdlib-event", seed(0, JSON_TEXTS[2])),
        ("orjson-event", seed(1, JSON_TEXTS[2])),
        ("unsafe-big-int", seed(6, JSON_TEXTS[24])),
        ("orjson-surrogate", seed(1, JSON_TEXTS[18])),
    ]
    return seeds


# -- socket.io server ---------------------------------------------------------------
# mode bit 0: EIO 3; bit 1: slot 1 on the other revision; bit 2: recovery; bit 3: msgpack;
# bits 4-5: sessions opened at the start - 1; bit 6: tight limits; bit 7: auto-pong.
# The body is steps separated by 0xff: a control byte (bits 0-1 slot, bits 2-4 action,
# bits 5-7 argument), then the step's payload (see fuzz_socketio_server.py).

SRV_EIO3 = 1
SRV_MIXED = 2
SRV_RECOVERY = 4
SRV_MSGPACK = 8
SRV_TWO = 1 << 4
SRV_THREE = 2 << 4
SRV_TIGHT = 64
SRV_PONG = 128


def srv_step(action: int, payload: str | bytes = b"", *, slot: int = 0, arg: int = 0) -> bytes:
    raw = payload.encode("utf-8") if isinstance(payload, str) else payload
    assert b"\xff" not in raw, raw
    return bytes([slot | action << 2 | arg << 5]) + raw


def srv_sio(text: str, slot: int = 0) -> bytes:
    """A Socket.IO text packet (the target sends ``"4" + text``)."""
    return srv_step(0, text, slot=slot)


def srv_binary(data: bytes, slot: int = 0) -> bytes:
    return srv_step(1, data, slot=slot)


def srv_frame(text: str | bytes, slot: int = 0) -> bytes:
    """A raw Engine.IO frame: text, or (bytes) a binary frame."""
    return srv_step(2, text, slot=slot, arg=int(isinstance(text, bytes)))


def srv_close(slot: int = 0, *, error: bool = False) -> bytes:
    return srv_step(3, slot=slot, arg=int(error))


def srv_tick(index: int) -> bytes:
    """The clock moves by TICKS[index]: 0.05, 0.25, 0.5, 1.0, 1.6, 2.5, 5.5, 12.0 s."""
    return srv_step(4, arg=index)


def srv_reopen(slot: int = 0, variant: int = 0, record: int = 0) -> bytes:
    return srv_step(5, bytes([record]), slot=slot, arg=variant)


def srv_app(op: int, slot: int = 0, socket: int = 0) -> bytes:
    return srv_step(6, bytes([socket]), slot=slot, arg=op)


def srv_server(op: int) -> bytes:
    return srv_step(7, arg=op)


def srv_msgpack(obj: object, slot: int = 0) -> bytes:
    return srv_binary(msgpack.packb(obj, use_bin_type=True), slot)


def srv(mode: int, *steps: bytes) -> bytes:
    return bytes([mode]) + b"\xff".join(steps)


SIO_BINARY_2 = f'52-["message",{PH0},{PH1}]'
SIO_BINARY_ACK_2 = f'52-456["message-with-ack",{PH0},{PH1}]'

SERVER_SEEDS: list[tuple[str, bytes]] = [
    # The Socket.IO v5 suite's frames (protocol.md 3.3), each as the test sends it.
    ("suite-connect", srv(0, srv_sio("0"))),
    ("suite-connect-auth", srv(0, srv_sio('0{"token":"123"}'))),
    ("suite-connect-custom", srv(SRV_TWO, srv_sio("0/custom,"), srv_sio('0/custom,{"a":1}', 1))),
    (
        "suite-event",
        srv(
            0, srv_sio("0"), srv_sio('2["message",1]'), srv_sio('2["message","\u20ac",{"a":[1,2]}]')
        ),
    ),
    (
        "suite-event-ack",
        srv(0, srv_sio("0"), srv_sio('2456["message-with-ack",1,"2",{"3":[false]}]')),
    ),
    (
        "suite-binary-event",
        srv(
            0, srv_sio("0"), srv_sio(SIO_BINARY_2), srv_binary(b"\x01\x02\x03"), srv_binary(b"\x04")
        ),
    ),
    (
        "suite-binary-ack",
        srv(0, srv_sio("0"), srv_sio(SIO_BINARY_ACK_2), srv_binary(b"\x01"), srv_binary(b"")),
    ),
    (
        "suite-raw-frames",
        srv(
            0,
            srv_frame("40"),
            srv_frame('42["message",1]'),
            srv_frame('42456["message-with-ack",1]'),
            srv_frame(f'451-["message",{PH0}]'),
            srv_binary(b"\x01\x02"),
            srv_frame("41"),
            srv_frame("40/custom,"),
        ),
    ),
    ("suite-disconnect", srv(0, srv_sio("0"), srv_sio("1"), srv_sio('2["message",1]'))),
    ("suite-connect-error-from-client", srv(0, srv_sio("0"), srv_sio("4{}"))),
    ("suite-connect-twice", srv(0, srv_sio("0"), srv_sio("0"))),
    ("suite-event-before-connect", srv(0, srv_sio('2["message",1]'))),
    ("suite-ack-before-connect", srv(0, srv_sio("3[]"))),
    (
        "suite-invalid-packets",
        srv(SRV_THREE, srv_sio("999"), srv_sio('2["x"', 1), srv_sio("5", 2), srv_sio("0", 0)),
    ),
    ("suite-binary-without-header", srv(0, srv_sio("0"), srv_binary(b"\x01"))),
    (
        "suite-binary-no-socket",
        srv(0, srv_sio(f'51-/custom,["message",{PH0}]'), srv_binary(b"\x01")),
    ),
    (
        "suite-binary-interrupted",
        srv(0, srv_sio("0"), srv_sio(SIO_BINARY_2), srv_binary(b"\x01"), srv_sio('2["message"]')),
    ),
    (
        "cve-2022-2421-splice",
        srv(
            0,
            srv_sio("0"),
            srv_sio('51-["message",{"_placeholder":true,"num":"splice"}]'),
            srv_binary(b"\x01"),
        ),
    ),
    ("cve-2023-32695", srv(0, srv_sio("0"), srv_sio('2[{"toString":"message"}]'))),
    ("cve-2024-38355", srv(0, srv_sio("0"), srv_sio('2["error","x"]'), srv_sio('2["message"]'))),
    ("unsafe-integer-echo", srv(0, srv_sio("0"), srv_sio('2["message",12345678901234567890]'))),
    # Namespaces: unknown, dynamic, refused, deferred.
    (
        "namespaces",
        srv(
            0,
            srv_sio("0/random,"),
            srv_sio("0/dyn-a,"),
            srv_sio("0/custom,"),
            srv_sio('2/dyn-a,["message",1]'),
            srv_sio("1/dyn-a,"),
            srv_sio("0/dyn-a,"),
        ),
    ),
    (
        "refused",
        srv(0, srv_sio('0{"token":"bad"}'), srv_sio('0/custom,{"refuse":1}'), srv_sio("0")),
    ),
    (
        "deferred-accept",
        srv(
            0,
            srv_sio('0{"wait":1}'),
            srv_app(4),
            srv_app(5),
            srv_app(0),
            srv_sio('30["answer"]'),
            srv_sio("31[]"),
        ),
    ),
    # refuse() once left the acks pending on the socket armed (fixed in the server).
    (
        "deferred-refuse-pending-ack",
        srv(0, srv_sio('0{"wait":1}'), srv_app(4), srv_app(1), srv_tick(3)),
    ),
    (
        "deferred-disconnect",
        srv(0, srv_sio('0{"wait":1}'), srv_sio('0/custom,{"wait":1}'), srv_app(2), srv_app(3)),
    ),
    (
        "deferred-connect-timeout",
        srv(0, srv_sio('0{"wait":1}'), srv_sio('2["message"]'), srv_tick(5)),
    ),
    # Acknowledgements: single, broadcast, timeouts, late and duplicate answers.
    (
        "ask",
        srv(
            0, srv_sio("0"), srv_sio('2["ask",1]'), srv_sio('30["answer"]'), srv_sio('30["again"]')
        ),
    ),
    ("ask-timeout", srv(0, srv_sio("0"), srv_sio('2["ask"]'), srv_tick(4), srv_sio("30[1]"))),
    (
        "ask-all",
        srv(
            SRV_THREE,
            srv_sio("0"),
            srv_sio("0", 1),
            srv_sio("0", 2),
            srv_sio('2["ask-all"]'),
            srv_sio("30[1]"),
            srv_sio("30[2]", 1),
            srv_close(2),
            srv_tick(4),
        ),
    ),
    (
        "broadcast-ack-no-timeout",
        srv(
            SRV_TWO,
            srv_sio('0/custom,{"room":"r0"}'),
            srv_sio('0/custom,{"room":"r0"}', 1),
            srv_server(3),
            srv_sio("3/custom,0[1]"),
            srv_sio("1/custom,", 1),
            srv_server(3),
        ),
    ),
    # Rooms and broadcasts.
    (
        "rooms",
        srv(
            SRV_THREE,
            srv_sio("0"),
            srv_sio("0", 1),
            srv_sio('2["join","r0"]', 1),
            srv_sio('2["broadcast","r0","hi"]'),
            srv_app(6, 2),
            srv_server(1),
            srv_server(6),
            srv_sio('2["leave","r0"]', 1),
            srv_server(4),
            srv_server(0),
        ),
    ),
    (
        "bye-kill",
        srv(
            0, srv_sio("0"), srv_sio("0/custom,"), srv_sio('2["bye"]'), srv_sio('2/custom,["kill"]')
        ),
    ),
    ("volatile", srv(0, srv_sio("0"), srv_sio('2["volatile",1]'), srv_server(5))),
    ("server-close", srv(SRV_TWO, srv_sio("0"), srv_server(7), srv_sio("0"), srv_reopen(1))),
    # Time: connect timeout, ping timeout, auto-pong.
    ("connect-timeout", srv(0, srv_tick(6))),
    ("ping-timeout", srv(0, srv_sio("0"), srv_tick(5), srv_tick(5))),
    (
        "auto-pong",
        srv(
            SRV_PONG, srv_sio("0"), srv_tick(5), srv_tick(5), srv_tick(5), srv_sio('2["message",1]')
        ),
    ),
    # Engine.IO frames and transport failures.
    (
        "engine-frames",
        srv(
            SRV_THREE,
            srv_frame("6"),
            srv_frame("5"),
            srv_frame("3"),
            srv_frame("2", 1),
            srv_frame("1", 2),
        ),
    ),
    ("engine-base64", srv(0, srv_sio("0"), srv_sio(f'51-["message",{PH0}]'), srv_frame("bAQI="))),
    ("transport-error", srv(0, srv_sio("0"), srv_close(error=True))),
    # Connection state recovery.
    (
        "recovery",
        srv(
            SRV_RECOVERY,
            srv_sio("0"),
            srv_sio('0/custom,{"room":"r0"}'),
            srv_server(0),
            srv_server(1),
            srv_close(),
            srv_server(0),
            srv_server(6),
            srv_reopen(0, 1, 0),
            srv_reopen(1, 1, 1),
            srv_sio('2["message",1]'),
        ),
    ),
    (
        "recovery-variants",
        srv(
            SRV_RECOVERY | SRV_THREE,
            srv_sio("0"),
            srv_sio("0", 1),
            srv_sio("0", 2),
            srv_server(0),
            srv_close(),
            srv_close(1),
            srv_close(2),
            srv_reopen(0, 2, 0),
            srv_reopen(1, 3, 1),
            srv_reopen(2, 4, 2),
            srv_reopen(0, 5, 0),
            srv_reopen(1, 6, 1),
            srv_app(0, 1),
            srv_reopen(2, 7, 2),
        ),
    ),
    (
        "recovery-twice",
        srv(
            SRV_RECOVERY,
            srv_sio("0"),
            srv_server(0),
            srv_reopen(0, 1),
            srv_reopen(0, 1),
            srv_reopen(0, 1),
        ),
    ),
    (
        "recovery-expired",
        srv(SRV_RECOVERY, srv_sio("0"), srv_server(0), srv_close(), srv_tick(7), srv_reopen(0, 1)),
    ),
    (
        "recovery-ping-timeout",
        srv(
            SRV_RECOVERY,
            srv_sio("0"),
            srv_sio('2["ask"]'),
            srv_tick(5),
            srv_tick(5),
            srv_reopen(0, 1),
        ),
    ),
    (
        "recovery-deferred-close",
        srv(
            SRV_RECOVERY,
            srv_sio("0"),
            srv_server(0),
            srv_reopen(0, 6),
            srv_close(),
            srv_reopen(0, 1),
        ),
    ),
    # Engine.IO 3 / Socket.IO revision 4.
    (
        "v4",
        srv(
            SRV_EIO3,
            srv_sio('2["message",1]'),
            srv_sio("0/custom?token=1,"),
            srv_sio('2/custom,1["message-with-ack",1]'),
            srv_frame("2"),
            srv_sio(f'51-["message",{PH0}]'),
            srv_binary(b"\x01"),
            srv_sio("1/custom,"),
            srv_sio("0/custom,{}"),
        ),
    ),
    (
        "v4-refused",
        srv(
            SRV_EIO3, srv_sio("0/custom?refuse=1,"), srv_sio("0/nope,"), srv_sio("0/dyn-x?wait=1,")
        ),
    ),
    (
        "v4-invalid-state",
        srv(
            SRV_EIO3,
            srv_sio('2/custom,["message"]'),
            srv_sio("3/custom,1[]"),
            srv_sio("1"),
            srv_sio('2["message"]'),
        ),
    ),
    ("v4-recovery", srv(SRV_EIO3 | SRV_RECOVERY, srv_server(0), srv_close(), srv_reopen(0, 1))),
    (
        "mixed",
        srv(
            SRV_MIXED | SRV_TWO | SRV_RECOVERY,
            srv_sio("0"),
            srv_sio("0/custom,", 1),
            srv_server(0),
            srv_server(2),
            srv_sio("30[1]"),
            srv_sio('2/custom,["join"]', 1),
            srv_server(1),
        ),
    ),
    # The msgpack parser.
    (
        "msgpack",
        srv(
            SRV_MSGPACK,
            srv_msgpack({"type": 0, "nsp": "/"}),
            srv_msgpack({"type": 2, "nsp": "/", "data": ["message", b"\x01\x02"]}),
            srv_msgpack({"type": 2, "nsp": "/", "data": ["message-with-ack", 1], "id": 7}),
            srv_sio('2["ask"]'),
            srv_msgpack({"type": 3, "nsp": "/", "data": [1], "id": 0}),
        ),
    ),
    ("msgpack-text", srv(SRV_MSGPACK, srv_frame("40"))),
    (
        "msgpack-v4",
        srv(SRV_MSGPACK | SRV_EIO3, srv_msgpack({"type": 2, "nsp": "/", "data": ["message"]})),
    ),
    # Found by this target (open): at now=5.1 a packet stored at 0.1 with
    # max_disconnection_duration=5 is not expired (5.1 - 5 < 0.1 in floats) while
    # next_deadline() says 0.1 + 5 == 5.1, so handle_timeout(next_deadline()) leaves the
    # deadline where it was.
    (
        "bug-recovery-expiry-rounding",
        srv(SRV_RECOVERY, srv_tick(0), srv_tick(0), srv_server(0), srv_tick(5), srv_tick(5)),
    ),
    # Tight limits.
    (
        "tight-limits",
        srv(
            SRV_TIGHT,
            srv_sio("0"),
            srv_sio('2["message",[[[[1]]]]]'),
        ),
    ),
    ("tight-ack-id", srv(SRV_TIGHT, srv_sio("0"), srv_sio('2123["message-with-ack"]'))),
    ("tight-attachments", srv(SRV_TIGHT, srv_sio("0"), srv_sio(SIO_BINARY_2))),
    ("tight-payload", srv(SRV_TIGHT, srv_sio("0"), srv_sio('2["message","' + "x" * 150 + '"]'))),
]


def socketio_server() -> Seeds:
    return list(SERVER_SEEDS)


# -- known issues (reproducers of deviations the targets tolerate; see README.md) ----

KNOWN_ISSUES: dict[str, Seeds] = {}

TARGETS = {
    "fuzz_engineio_packet": engineio_packet,
    "fuzz_engineio_payload": engineio_payload,
    "fuzz_socketio_parser": socketio_parser,
    "fuzz_msgpack_parser": msgpack_parser,
    "fuzz_json_codecs": json_codecs,
    "fuzz_socketio_server": socketio_server,
}

_GENERATED = re.compile(r"^seed-")


def write(directory: Path, seeds: Seeds) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.iterdir():
        if _GENERATED.match(old.name):
            old.unlink()
    names = set()
    for name, data in seeds:
        slug = re.sub(r"[^a-z0-9.-]+", "-", name.lower()).strip("-")
        filename = f"seed-{slug}-{hashlib.sha1(data).hexdigest()[:8]}"
        if filename in names:
            raise ValueError(f"duplicate seed {filename}")
        names.add(filename)
        (directory / filename).write_bytes(data)
    return len(seeds)


def main() -> None:
    for target, make in TARGETS.items():
        count = write(CORPUS_DIR / target, make())
        print(f"{target}: {count} seeds")
    for target in TARGETS:
        directory = KNOWN_ISSUES_DIR / target
        seeds = KNOWN_ISSUES.get(target, [])
        if seeds or directory.is_dir():
            count = write(directory, seeds)
            print(f"{target}: {count} known-issue reproducers")
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()


if __name__ == "__main__":
    main()
