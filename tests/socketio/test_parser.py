"""Socket.IO text parser, byte for byte (protocol.md 2.2-2.4, 2.9, 2.11, 3.3 C)."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import pytest

from socketio_proto import DecodeError, EncodeError, LimitExceeded, Limits
from socketio_proto.engineio import Packet as EnginePacket
from socketio_proto.engineio import decode_payload_v4
from socketio_proto.socketio import Decoder, Encoder, Packet, PacketType, split_namespace_query

T = PacketType
PH0 = {"_placeholder": True, "num": 0}
PH1 = {"_placeholder": True, "num": 1}


def decode_all(messages: list[str | bytes], **options: Any) -> Packet:
    decoder = Decoder(**options)
    results = [decoder.receive(m) for m in messages]
    assert all(r is None for r in results[:-1])
    assert results[-1] is not None
    assert decoder.awaiting_attachments == 0
    return results[-1]


ENCODING_TABLE: list[tuple[Packet, list[str | bytes]]] = [
    (Packet(T.CONNECT), ["0"]),
    (Packet(T.CONNECT, "/admin"), ["0/admin,"]),
    (
        Packet(T.CONNECT, "/admin", {"sid": "oSO0OpakMV_3jnilAAAA"}),
        ['0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}'],
    ),
    (Packet(T.CONNECT, data={"token": "123"}), ['0{"token":"123"}']),
    (Packet(T.DISCONNECT, "/admin"), ["1/admin,"]),
    (Packet(T.EVENT, data=["foo"]), ['2["foo"]']),
    (Packet(T.EVENT, data=["foo"], id=12), ['212["foo"]']),
    (
        Packet(T.EVENT, "/admin", ["project:delete", 123], 456),
        ['2/admin,456["project:delete",123]'],
    ),
    (Packet(T.ACK, "/x", [], 0), ["3/x,0[]"]),
    (
        Packet(T.CONNECT_ERROR, data={"message": "Not authorized"}),
        ['4{"message":"Not authorized"}'],
    ),
    (
        Packet(T.CONNECT_ERROR, "/secure", {"message": "not authorized", "data": {"reason": "x"}}),
        ['4/secure,{"message":"not authorized","data":{"reason":"x"}}'],
    ),
    (
        Packet(T.EVENT, data=["baz", b"\x01\x02\x03\x04"]),
        ['51-["baz",{"_placeholder":true,"num":0}]', b"\x01\x02\x03\x04"],
    ),
    (
        Packet(T.EVENT, "/admin", ["baz", b"a", b"b"]),
        [
            '52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
            b"a",
            b"b",
        ],
    ),
    (
        Packet(T.ACK, data=["bar", b"z"], id=15),
        ['61-15["bar",{"_placeholder":true,"num":0}]', b"z"],
    ),
    (
        Packet(T.EVENT, data=["a", b"1", {"x": [b"2"]}], id=5),
        [
            '52-5["a",{"_placeholder":true,"num":0},{"x":[{"_placeholder":true,"num":1}]}]',
            b"1",
            b"2",
        ],
    ),
    (Packet(T.EVENT, data=["x", None]), ['2["x",null]']),
    (Packet(T.EVENT, data=["é", "日本"]), ['2["é","日本"]']),  # non-ASCII unescaped, as JS
]


@pytest.mark.parametrize(("packet", "wire"), ENCODING_TABLE)
def test_encoding_table(packet: Packet, wire: list[str | bytes]) -> None:
    assert Encoder().encode(packet) == wire
    assert decode_all(wire) == packet


def test_wire_binary_types_are_accepted_by_the_encoder() -> None:
    packet = Packet(T.BINARY_EVENT, data=["x", b"1"])
    assert Encoder().encode(packet) == ['51-["x",{"_placeholder":true,"num":0}]', b"1"]


@pytest.mark.parametrize(
    ("wire", "packet"),
    [
        ("0", Packet(T.CONNECT)),
        ("0{}", Packet(T.CONNECT, data={})),
        ("1", Packet(T.DISCONNECT)),
        ("1/a", Packet(T.DISCONNECT, "/a")),
        ("1/a,", Packet(T.DISCONNECT, "/a")),
        ("3", Packet(T.ACK)),
        ("4", Packet(T.CONNECT_ERROR)),
        ("2[1]", Packet(T.EVENT, data=[1])),
        ('2["error"]', Packet(T.EVENT, data=["error"])),
        ('2["x",null]', Packet(T.EVENT, data=["x", None])),
        ('2/,["x"]', Packet(T.EVENT, data=["x"])),
        ('2//a,["x"]', Packet(T.EVENT, "//a", ["x"])),
        ('2007["x"]', Packet(T.EVENT, data=["x"], id=7)),
        ("0/nsp?x=1,{}", Packet(T.CONNECT, "/nsp?x=1", {})),
    ],
)
def test_valid_edge_cases(wire: str, packet: Packet) -> None:
    assert Decoder().receive(wire) == packet


@pytest.mark.parametrize(
    "wire",
    [
        "",  # JS decodes this as CONNECT "/" by accident
        "2",  # EVENT without payload (JS accepts; python-socketio crashed on it)
        "2/nsp",
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
        '2["connect_error"]',
        '2["disconnect"]',
        '2["disconnecting"]',
        '2["newListener"]',
        '2["removeListener"]',
        '21a["x"]',
        '2-1["x"]',
        '21.5["x"]',
        '2["x"]garbage',
        '2["x"',
        "3{}",
        "4[1]",
        "5",
        "6",
        "51",
        "5a-",
        "51.23-",
        '5-1-["x"]',
        '50-["x"]',
        "7",
        "a",
        "999",
        "4abc",
        "2abc",
        "2NaN",
        '2["x",NaN]',
        '2["x",Infinity]',
    ],
)
def test_invalid_edge_cases(wire: str) -> None:
    with pytest.raises(DecodeError):
        Decoder().receive(wire)


def test_invalid_handshake_and_ack_id_from_the_v5_suite() -> None:
    for wire in ("abc", "2{}", '2abc["message-with-ack",1,"2",{"3":[false]}]'):
        with pytest.raises(DecodeError):
            Decoder().receive(wire)


def test_too_many_attachments() -> None:
    decoder = Decoder(limits=Limits(max_attachments=2))
    with pytest.raises(LimitExceeded) as info:
        decoder.receive('53-["x"]')
    assert info.value.limit == "max_attachments"
    with pytest.raises(LimitExceeded):
        Decoder().receive('5999999-["x"]')  # CVE-2026-33151


def test_ack_id_length_is_capped() -> None:
    with pytest.raises(LimitExceeded) as info:
        Decoder().receive('4212345678901234567890["x"]'[1:])
    assert info.value.limit == "max_ack_id_digits"
    assert Decoder().receive('2123456789012345["x"]') == Packet(
        T.EVENT, data=["x"], id=123456789012345
    )


def test_json_depth_is_capped() -> None:
    decoder = Decoder(limits=Limits(max_json_depth=3))
    assert decoder.receive('2["x",[[1]]]') == Packet(T.EVENT, data=["x", [[1]]])
    with pytest.raises(LimitExceeded) as info:
        decoder.receive('2["x",[[[1]]]]')
    assert info.value.limit == "max_json_depth"
    with pytest.raises(DecodeError):  # far beyond the interpreter's own recursion limit
        Decoder().receive("2" + "[" * 100_000 + "]" * 100_000)


# -- binary attachments (2.4) ----------------------------------------------------------


def test_reassembly_returns_none_until_complete() -> None:
    decoder = Decoder()
    assert (
        decoder.receive(
            '52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
        )
        is None
    )
    assert decoder.awaiting_attachments == 2
    assert decoder.receive(b"\x01\x02\x03") is None
    assert decoder.awaiting_attachments == 1
    assert decoder.receive(b"\x04\x05\x06") == Packet(
        T.EVENT, data=["message", b"\x01\x02\x03", b"\x04\x05\x06"]
    )
    assert decoder.awaiting_attachments == 0


def test_same_placeholder_referenced_twice() -> None:
    assert decode_all(
        ['51-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]', b"a"]
    ) == Packet(T.EVENT, data=["x", b"a", b"a"])


def test_placeholders_in_plain_packets_stay_plain_objects() -> None:
    assert Decoder().receive('2["x",{"_placeholder":true,"num":0}]') == Packet(
        T.EVENT, data=["x", PH0]
    )


@pytest.mark.parametrize(
    "num",
    ['"splice"', "1", "-1", "0.5", "true", "null", '"0"'],
)
def test_illegal_placeholder_numbers(num: str) -> None:
    decoder = Decoder()
    assert decoder.receive(f'51-["hello",{{"_placeholder":true,"num":{num}}}]') is None
    with pytest.raises(DecodeError):
        decoder.receive(b"\x00")  # CVE-2022-2421
    # The decoder recovers for the next packet.
    assert decoder.receive('2["ok"]') == Packet(T.EVENT, data=["ok"])


def test_text_while_reassembling_and_stray_binary_are_errors() -> None:
    decoder = Decoder()
    decoder.receive('51-["x",{"_placeholder":true,"num":0}]')
    with pytest.raises(DecodeError):
        decoder.receive('2["y"]')
    assert decoder.awaiting_attachments == 0
    with pytest.raises(DecodeError):
        decoder.receive(b"\x01")


def test_reassembly_survives_across_polling_payloads() -> None:
    decoder = Decoder()
    first = decode_payload_v4('40\x1e451-["hello","world",{"_placeholder":true,"num":0}]')
    second = decode_payload_v4('bAQI=\x1e42/ok,["in-ok",{"a":1}]')
    results = [decoder.receive(p.data) for p in first + second]
    assert results == [
        Packet(T.CONNECT),
        None,
        Packet(T.EVENT, data=["hello", "world", b"\x01\x02"]),
        Packet(T.EVENT, "/ok", ["in-ok", {"a": 1}]),
    ]


def test_reset_frees_reassembly_state() -> None:
    decoder = Decoder()
    decoder.receive('51-["x",{"_placeholder":true,"num":0}]')
    decoder.reset()
    assert decoder.awaiting_attachments == 0
    with pytest.raises(DecodeError):
        decoder.receive(b"\x01")


def test_v5_suite_binary_ack_echo() -> None:
    wire: list[str | bytes] = [
        '62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
        b"\x01\x02\x03",
        b"\x04\x05\x06",
    ]
    packet = decode_all(wire)
    assert packet == Packet(T.ACK, data=[b"\x01\x02\x03", b"\x04\x05\x06"], id=789)
    assert Encoder().encode(packet) == wire


def test_sample_session_from_the_reference_server() -> None:
    body = (
        '40{"sid":"iR","pid":"Zw"}\x1e451-["hello","world",{"_placeholder":true,"num":0},"Q8BBpuu"]'
        '\x1ebAQI=\x1e40/ok,{"sid":"kV","pid":"Lu"}\x1e42/ok,["in-ok",{"a":1},"Q8BBpuu.0"]'
    )
    decoder = Decoder()
    packets = [p for p in (decoder.receive(e.data) for e in decode_payload_v4(body)) if p]
    assert packets == [
        Packet(T.CONNECT, data={"sid": "iR", "pid": "Zw"}),
        Packet(T.EVENT, data=["hello", "world", b"\x01\x02", "Q8BBpuu"]),
        Packet(T.CONNECT, "/ok", {"sid": "kV", "pid": "Lu"}),
        Packet(T.EVENT, "/ok", ["in-ok", {"a": 1}, "Q8BBpuu.0"]),
    ]


# -- revision 4 (2.9) -------------------------------------------------------------------


def test_revision_4_connect_and_error_packets() -> None:
    encoder, decoder = Encoder(revision=4), Decoder(revision=4)
    assert encoder.encode(Packet(T.CONNECT, "/admin")) == ["0/admin,"]
    assert decoder.receive("0/admin?token=1234&uid=abcd,") == Packet(
        T.CONNECT, "/admin?token=1234&uid=abcd"
    )
    assert encoder.encode(Packet(T.CONNECT_ERROR, "/admin", "Not authorized")) == [
        '4/admin,"Not authorized"'
    ]
    assert decoder.receive('4/secure,{"reason":"x"}') == Packet(
        T.CONNECT_ERROR, "/secure", {"reason": "x"}
    )
    assert decoder.receive('4/a,["any","json"]') == Packet(T.CONNECT_ERROR, "/a", ["any", "json"])
    with pytest.raises(DecodeError):  # revision 4 CONNECT carries no payload
        decoder.receive('0{"token":"1"}')
    with pytest.raises(EncodeError):
        encoder.encode(Packet(T.CONNECT, data={"token": "1"}))
    with pytest.raises(EncodeError):  # would read back as ack id 0
        encoder.encode(Packet(T.CONNECT_ERROR, data=0))


def test_split_namespace_query() -> None:
    assert split_namespace_query("/admin?token=1234&uid=abcd") == (
        "/admin",
        {"token": "1234", "uid": "abcd"},
    )
    assert split_namespace_query("/admin") == ("/admin", {})
    assert split_namespace_query("/?a=") == ("/", {"a": ""})


# -- encoder validation -----------------------------------------------------------------


@pytest.mark.parametrize(
    "packet",
    [
        Packet(T.EVENT, data=["connect"]),
        Packet(T.EVENT, data=["disconnect", 1]),
        Packet(T.EVENT, data=[]),
        Packet(T.EVENT, data="x"),
        Packet(T.EVENT, data=[{"a": 1}]),
        Packet(T.EVENT, data=[True]),
        Packet(T.EVENT, "admin", ["x"]),
        Packet(T.EVENT, "/a,b", ["x"]),
        Packet(T.EVENT, data=["x"], id=-1),
        Packet(T.EVENT, data=["x"], id=True),
        Packet(T.EVENT, data=["x", object()]),
        Packet(T.EVENT, data=["x", {1, 2}]),
        Packet(T.ACK, data={"a": 1}),
        Packet(T.DISCONNECT, data={}),
        Packet(T.CONNECT, data=[1]),
        Packet(T.CONNECT_ERROR, data=[1]),
        Packet(T.CONNECT, data={"x": b"binary is not allowed here"}),
    ],
)
def test_encoder_refuses_invalid_packets(packet: Packet) -> None:
    with pytest.raises(EncodeError):
        Encoder().encode(packet)


def test_event_and_args_properties() -> None:
    packet = Packet(T.EVENT, data=["hello", 1, 2])
    assert packet.event == "hello"
    assert packet.args == [1, 2]
    assert Packet(T.ACK, data=[3]).args == [3]
    assert Packet(T.ACK).args == []
    with pytest.raises(AttributeError):
        _ = Packet(T.CONNECT).event
    with pytest.raises(AttributeError):
        _ = Packet(T.CONNECT).args


def test_bytes_like_values_are_sent_as_attachments() -> None:
    wire = Encoder().encode(Packet(T.EVENT, data=["x", bytearray(b"ab"), memoryview(b"cd")]))
    assert wire[1:] == [b"ab", b"cd"]
    assert wire[0] == '52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'


def test_decode_helper_refuses_binary_headers() -> None:
    decoder = Decoder()
    assert decoder.decode('2["x"]') == Packet(T.EVENT, data=["x"])
    with pytest.raises(DecodeError):
        decoder.decode('51-["x",{"_placeholder":true,"num":0}]')


@pytest.mark.parametrize("cls", [Packet, EnginePacket])
def test_packet_init_matches_its_dataclass_fields(cls: type) -> None:
    # Both packet classes hand-write __init__ for speed; its defaults must stay in
    # step with the dataclass fields (what replace(), repr and equality rely on).
    fields = dataclasses.fields(cls)
    parameters = list(inspect.signature(cls).parameters.values())
    assert [p.name for p in parameters] == [f.name for f in fields]
    for parameter, field in zip(parameters, fields, strict=True):
        expected = (
            inspect.Parameter.empty if field.default is dataclasses.MISSING else field.default
        )
        assert parameter.default == expected, field.name
    assert dataclasses.replace(cls(PacketType.CONNECT)) == cls(PacketType.CONNECT)
