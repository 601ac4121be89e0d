"""Malicious Socket.IO input against :class:`SocketServer` (protocol.md section 4).

Each attack comes from one client while a well-behaved client of the same server
keeps talking.  Every test checks that

* the attacker's Engine.IO session is closed and each of its sockets is reported
  ``Disconnected(reason=PARSE_ERROR)`` (or, for the size limit, a transport error);
* nothing escapes: the harness runs the server synchronously, so any exception
  raised while handling the input would fail the test;
* nothing the attacker sent reached the application as an event;
* the well-behaved client is unaffected: its messages, sent before, between and
  after the attack, are all echoed, in order.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from socketio_proto.limits import Limits
from socketio_proto.socketio.config import ServerConfig
from socketio_proto.socketio.events import (
    Disconnected,
    DisconnectReason,
    EventReceived,
)
from socketio_proto.socketio.packet import RESERVED_EVENTS
from tests.socketio.test_server_invalid_state import SioClient, Transport
from tests.support.socket_server import SIO_SUITE_SERVER, SocketHarness

TRANSPORTS: tuple[Transport, ...] = ("websocket", "polling")
PH0 = '{"_placeholder":true,"num":0}'


class Arena:
    """A server, a well-behaved client on it, and attackers."""

    def __init__(
        self, transport: Transport = "websocket", server_config: ServerConfig = SIO_SUITE_SERVER
    ) -> None:
        self.h = SocketHarness(server_config=server_config)
        self.good = SioClient(self.h, "websocket")
        self.good_sid = self.good.connect()
        self.transport = transport
        self.counter = 0
        self._chat()

    def _chat(self) -> None:
        """The good client sends two numbered messages and gets both back in order."""
        first, second = self.counter, self.counter + 1
        self.counter += 2
        self.good.send(f'2["message",{first}]', f'2["message",{second}]')
        assert self.good.recv() == [
            f'2["message-back",{first}]',
            f'2["message-back",{second}]',
        ]

    def attacker(self, joined: Sequence[str] = ("/",)) -> tuple[SioClient, list[str]]:
        client = SioClient(self.h, self.transport)
        sids = [client.connect(namespace) for namespace in joined]
        self._chat()  # interleaved with the attacker's traffic
        return client, sids

    def attack(
        self,
        *messages: str | bytes,
        joined: Sequence[str] = ("/",),
        reason: DisconnectReason = DisconnectReason.PARSE_ERROR,
    ) -> SioClient:
        """Send ``messages`` from a fresh attacker; check the outcome described above."""
        client, sids = self.attacker(joined)
        events_before = len(self.h.of_type(EventReceived))
        client.send(*messages)
        client.assert_closed()
        gone = [e for e in self.h.of_type(Disconnected) if e.sid in sids]
        assert sorted(e.sid for e in gone) == sorted(sids)
        assert {e.reason for e in gone} <= {reason}
        assert len(self.h.of_type(EventReceived)) == events_before  # nothing delivered
        self.assert_good_unaffected()
        return client

    def assert_good_unaffected(self) -> None:
        self._chat()
        assert self.good_sid in self.h.sio.sockets("/")
        assert all(e.sid != self.good_sid for e in self.h.of_type(Disconnected))
        good_events = [e for e in self.h.of_type(EventReceived) if e.sid == self.good_sid]
        assert [e.args for e in good_events] == [[n] for n in range(self.counter)]


@pytest.fixture(params=TRANSPORTS)
def arena(request: pytest.FixtureRequest) -> Arena:
    transport = request.param
    assert transport in TRANSPORTS
    return Arena(transport)


# -- CVE-2022-2421: placeholder ``num`` ------------------------------------------------------


@pytest.mark.parametrize(
    "num",
    [
        '"splice"',
        '"0"',
        '"__proto__"',
        "1",
        "99",
        "-1",
        "0.5",
        "0.0",
        "true",
        "false",
        "null",
        "[]",
        "{}",
        "1e999",
    ],
)
def test_placeholder_num_attack(arena: Arena, num: str) -> None:
    arena.attack(f'51-["message",{{"_placeholder":true,"num":{num}}}]', b"\x01")


def test_placeholder_without_num(arena: Arena) -> None:
    arena.attack('51-["message",{"_placeholder":true}]', b"\x01")


def test_placeholder_nested_deep_inside_the_data(arena: Arena) -> None:
    arena.attack('51-["message",{"a":[1,{"b":{"_placeholder":true,"num":"splice"}}]}]', b"\x01")


def test_placeholder_in_binary_ack(arena: Arena) -> None:
    arena.attack('61-0[{"_placeholder":true,"num":"splice"}]', b"\x01")


def test_placeholder_as_event_name(arena: Arena) -> None:
    # After reassembly the name would be bytes: refused on the header already.
    arena.attack(f"51-[{PH0}]", b"\x01")


def test_text_in_the_middle_of_reassembly(arena: Arena) -> None:
    arena.attack(f'52-["message",{PH0},{{"_placeholder":true,"num":1}}]', b"\x01", '2["x"]')


def test_binary_without_header(arena: Arena) -> None:
    arena.attack(b"\x01\x02\x03")


def test_placeholder_lookalike_is_plain_data(arena: Arena) -> None:
    """``"_placeholder":"true"`` (a string) is not a placeholder: just an object."""
    client, (sid,) = arena.attacker()
    client.send('2["message",{"_placeholder":"true","num":"splice"}]')
    assert client.recv() == ['2["message-back",{"_placeholder":"true","num":"splice"}]']
    (event,) = [e for e in arena.h.of_type(EventReceived) if e.sid == sid]
    assert event.args == [{"_placeholder": "true", "num": "splice"}]
    arena.assert_good_unaffected()


# -- CVE-2023-32695: non-string event names -----------------------------------------------


@pytest.mark.parametrize(
    "packet",
    [
        '2[{"toString":"foo"}]',
        '2[null,"bar"]',
        "2[null]",
        "2[true]",
        '2[true,"foo"]',
        '2[false,"foo"]',
        '2[["message"],"x"]',
        "2[1e999]",
        "2[-1e999]",
        "2[]",
        "2{}",
        '2"message"',
        "2",
        f'51-[{{"toString":"foo"}},{PH0}]',
    ],
)
def test_invalid_event_name(arena: Arena, packet: str) -> None:
    messages: list[str | bytes] = [packet]
    if packet.startswith("5"):
        messages.append(b"\x01")
    arena.attack(*messages)


@pytest.mark.parametrize("name", [1, 0, -5, 2.5])
def test_numeric_event_name_is_accepted(arena: Arena, name: float) -> None:
    client, (sid,) = arena.attacker()
    client.send(f'2[{name},"x"]')
    (event,) = [e for e in arena.h.of_type(EventReceived) if e.sid == sid]
    assert event.event == name
    assert event.args == ["x"]
    client.assert_usable()
    arena.assert_good_unaffected()


# -- CVE-2024-38355: an event named "error" ----------------------------------------------


def test_event_named_error_is_delivered_as_a_normal_event(arena: Arena) -> None:
    client, (sid,) = arena.attacker()
    client.send('2["error","x"]')
    client.send('2["error"]', '2["error",{"message":"boom"}]')
    events = [e for e in arena.h.of_type(EventReceived) if e.sid == sid]
    assert events == [
        EventReceived(sid, "/", "error", ["x"], None),
        EventReceived(sid, "/", "error", [], None),
        EventReceived(sid, "/", "error", [{"message": "boom"}], None),
    ]
    assert all(e.sid != sid for e in arena.h.of_type(Disconnected))
    client.assert_usable()
    arena.assert_good_unaffected()


def test_event_named_error_with_an_ack(arena: Arena) -> None:
    client, (sid,) = arena.attacker()
    client.send('27["error","x"]')
    (event,) = [e for e in arena.h.of_type(EventReceived) if e.sid == sid]
    assert event == EventReceived(sid, "/", "error", ["x"], 7)
    arena.h.sio.ack(sid, 7, "fine")
    arena.h.pump()
    assert client.recv() == ['37["fine"]']
    arena.assert_good_unaffected()


# -- reserved event names ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(RESERVED_EVENTS))
def test_reserved_event_name(arena: Arena, name: str) -> None:
    arena.attack(f'2["{name}","x"]')


@pytest.mark.parametrize("name", sorted(RESERVED_EVENTS))
def test_reserved_event_name_in_binary_event(arena: Arena, name: str) -> None:
    arena.attack(f'51-["{name}",{PH0}]', b"\x01")


def test_reserved_event_name_on_a_custom_namespace(arena: Arena) -> None:
    arena.attack('2/custom,["disconnect"]', joined=("/", "/custom"))


def test_reserved_names_are_the_documented_ones() -> None:
    assert frozenset(RESERVED_EVENTS) == {
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
    }


# -- CVE-2026-33151: attachment counts ---------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        '5999999-["message"]',
        "5" + "9" * 400 + '-["message"]',
        '511-["message"]',
        '50-["message"]',
        '500-["message"]',
        '5-1-["message"]',
        '5a-["message"]',
        '51.5-["message"]',
        '5-["message"]',
        '51["message"]',
        "5",
        "6999999-0[]",
        "611-0[]",
        "60-0[]",
    ],
)
def test_attachment_count_attack(arena: Arena, header: str) -> None:
    # Refused on the header alone: no attachment is ever buffered.
    arena.attack(header)


def test_maximum_attachment_count_is_accepted(arena: Arena) -> None:
    client, (sid,) = arena.attacker()
    placeholders = ",".join(f'{{"_placeholder":true,"num":{n}}}' for n in range(10))
    client.send(f'510-["message",{placeholders}]', *(bytes([n]) for n in range(10)))
    (event,) = [e for e in arena.h.of_type(EventReceived) if e.sid == sid]
    assert event.args == [bytes([n]) for n in range(10)]
    header, *attachments = client.recv()
    assert header == f'510-["message-back",{placeholders}]'
    assert attachments == [bytes([n]) for n in range(10)]
    arena.assert_good_unaffected()


def test_leading_zeros_in_attachment_count_are_accepted(arena: Arena) -> None:
    client, _ = arena.attacker()
    client.send(f'5001-["message",{PH0}]', b"\x01")
    assert client.recv() == [f'51-["message-back",{PH0}]', b"\x01"]
    arena.assert_good_unaffected()


def test_attachment_limit_is_configurable() -> None:
    config = ServerConfig(connect_timeout=1.0, limits=Limits(max_attachments=2))
    arena = Arena("websocket", config)
    client, _ = arena.attacker()
    client.send(f'52-["message",{PH0},{{"_placeholder":true,"num":1}}]', b"\x01", b"\x02")
    assert len(client.recv()) == 3
    arena.attack('53-["message"]')


# -- binary headers for namespaces without a socket ------------------------------------------


@pytest.mark.parametrize(
    ("header", "joined"),
    [
        (f'51-/custom,["message",{PH0}]', ("/",)),
        (f'51-/nope,["message",{PH0}]', ("/",)),
        (f'51-["message",{PH0}]', ("/custom",)),
        (f"61-/custom,0[{PH0}]", ("/",)),
        (f'51-["message",{PH0}]', ()),
    ],
)
def test_binary_header_for_unconnected_namespace(
    arena: Arena, header: str, joined: tuple[str, ...]
) -> None:
    # The header alone closes: no attachment is ever buffered for it.
    arena.attack(header, joined=joined)


def test_binary_header_after_namespace_disconnect(arena: Arena) -> None:
    client, sids = arena.attacker(("/", "/custom"))
    client.send("1/custom,")
    client.send(f'51-/custom,["message",{PH0}]')
    client.assert_closed()
    root = [e for e in arena.h.of_type(Disconnected) if e.sid == sids[0]]
    assert [e.reason for e in root] == [DisconnectReason.PARSE_ERROR]
    arena.assert_good_unaffected()


def test_many_binary_headers_for_unconnected_namespaces_leave_nothing_behind() -> None:
    arena = Arena("websocket")
    for _ in range(20):
        arena.attack(f'59-/custom,["message",{PH0}]')
    assert arena.h.sio.connection_sockets(arena.good.eio_sid) == {"/": arena.good_sid}
    assert len(arena.h.engine.sessions) == 1


# -- attachment state freed on disconnect ------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_attachment_state_freed_when_the_connection_closes(transport: Transport) -> None:
    arena = Arena(transport)
    client, (sid,) = arena.attacker()
    client.send(f'52-["message",{PH0},{{"_placeholder":true,"num":1}}]', b"\x01" * 1000)
    # White box: the per-connection decoder holds the partial packet...
    decoder = arena.h.sio._connections[client.eio_sid].decoder
    assert decoder.pending is not None
    # ...until the Engine.IO session goes away (the client closes it).
    if client.ws is not None:
        client.ws.close()
    else:
        arena.h.send_post(client.eio_sid, "1")
    assert decoder.pending is None
    assert client.eio_sid not in arena.h.sio._connections
    (gone,) = [e for e in arena.h.of_type(Disconnected) if e.sid == sid]
    expected = (
        DisconnectReason.TRANSPORT_CLOSE
        if transport == "websocket"
        else DisconnectReason.FORCED_CLOSE
    )
    assert gone.reason is expected
    arena.assert_good_unaffected()


def test_attachment_state_freed_on_ping_timeout() -> None:
    arena = Arena("polling")
    client, (sid,) = arena.attacker()
    client.send(f'51-["message",{PH0}]')
    decoder = arena.h.sio._connections[client.eio_sid].decoder
    assert decoder.pending is not None
    # The good client answers pings over WebSocket; the attacker goes silent.
    assert arena.good.ws is not None
    for _ in range(3):
        arena.h.clock.advance(0.3)
        arena.good.ws.send("3")
    assert decoder.pending is None
    assert client.eio_sid not in arena.h.sio._connections
    (gone,) = [e for e in arena.h.of_type(Disconnected) if e.sid == sid]
    assert gone.reason is DisconnectReason.PING_TIMEOUT
    arena.assert_good_unaffected()


def test_attachment_state_freed_on_server_disconnect_with_close() -> None:
    arena = Arena("websocket")
    client, (sid,) = arena.attacker()
    client.send(f'51-["message",{PH0}]')
    decoder = arena.h.sio._connections[client.eio_sid].decoder
    arena.h.sio.disconnect(sid, close=True)
    arena.h.pump()
    assert decoder.pending is None
    client.assert_closed()
    arena.assert_good_unaffected()


# -- ack ids ----------------------------------------------------------------------------------


def test_ack_id_of_max_digits_is_accepted(arena: Arena) -> None:
    client, _ = arena.attacker()
    ack_id = "9" * Limits().max_ack_id_digits
    client.send(f'2{ack_id}["message-with-ack","x"]')
    assert client.recv() == [f'3{ack_id}["x"]']
    arena.assert_good_unaffected()


@pytest.mark.parametrize(
    "packet",
    [
        "2" + "1" * 16 + '["message-with-ack"]',
        "2" + "9" * 5000 + '["message-with-ack"]',
        "2" + "1" * 16,
        "3" + "1" * 16 + "[]",
        "2/custom," + "1" * 16 + '["message-with-ack"]',
        "61-" + "1" * 16 + f"[{PH0}]",
    ],
)
def test_ack_id_too_long(arena: Arena, packet: str) -> None:
    joined = ("/", "/custom") if "/custom" in packet else ("/",)
    arena.attack(packet, joined=joined)


def test_ack_id_limit_is_configurable() -> None:
    config = ServerConfig(connect_timeout=1.0, limits=Limits(max_ack_id_digits=3))
    arena = Arena("websocket", config)
    client, _ = arena.attacker()
    client.send('2999["message-with-ack",1]')
    assert client.recv() == ["3999[1]"]
    arena.attack('21000["message-with-ack",1]')


def test_leading_zeros_in_ack_ids_count_as_digits(arena: Arena) -> None:
    arena.attack("2" + "0" * 16 + '1["message-with-ack"]')


# -- JSON nesting ------------------------------------------------------------------------------


def nested(depth: int) -> str:
    """``["message", <depth - 1 nested arrays>]``: JSON nesting ``depth`` in all."""
    inner = depth - 1
    return '["message",' + "[" * inner + "]" * inner + "]"


def test_nesting_at_the_limit_is_accepted(arena: Arena) -> None:
    client, _ = arena.attacker()
    depth = Limits().max_json_depth
    client.send("2" + nested(depth))
    assert client.recv() == ["2" + nested(depth).replace('"message"', '"message-back"', 1)]
    arena.assert_good_unaffected()


@pytest.mark.parametrize(
    "packet",
    [
        "2" + nested(Limits().max_json_depth + 1),
        "2" + nested(100_000),
        '2["message",' + '{"a":' * 200 + "1" + "}" * 200 + "]",
        "3" + "0" + "[" * 200 + "]" * 200,
        "51-" + nested(200)[:-1] + f",{PH0}]",
    ],
    ids=["limit+1", "100000", "objects", "ack", "binary-header"],
)
def test_nesting_beyond_the_limit(arena: Arena, packet: str) -> None:
    messages: list[str | bytes] = [packet]
    if packet.startswith("5"):
        messages.append(b"\x01")
    arena.attack(*messages)


def test_nesting_in_connect_payload(arena: Arena) -> None:
    arena.attack("0/custom," + '{"a":' * 200 + "1" + "}" * 200)


def test_nesting_limit_is_configurable() -> None:
    config = ServerConfig(connect_timeout=1.0, limits=Limits(max_json_depth=3))
    arena = Arena("websocket", config)
    client, _ = arena.attacker()
    client.send('2["message",[[1]]]')
    assert client.recv() == ['2["message-back",[[1]]]']
    arena.attack('2["message",[[[1]]]]')


# -- odd but valid JSON ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "undefined", "'x'", "01"])
def test_non_json_values_are_refused(arena: Arena, value: str) -> None:
    arena.attack(f'2["message",{value}]')


def test_huge_number_is_refused_not_crashing(arena: Arena) -> None:
    arena.attack('2["message",' + "9" * 5000 + "]")


def test_placeholder_in_a_plain_event_stays_plain_data(arena: Arena) -> None:
    """Only BINARY_EVENT/BINARY_ACK are reassembled: a placeholder elsewhere is an object."""
    client, (sid,) = arena.attacker()
    client.send(f'2["message",{PH0}]')
    (event,) = [e for e in arena.h.of_type(EventReceived) if e.sid == sid]
    assert event.args == [{"_placeholder": True, "num": 0}]
    assert client.recv() == [f'2["message-back",{PH0}]']
    arena.assert_good_unaffected()


def test_prototype_keys_are_plain_data(arena: Arena) -> None:
    client, _ = arena.attacker()
    client.send('2["message",{"__proto__":{"polluted":1},"constructor":{"prototype":2}}]')
    assert client.recv() == [
        '2["message-back",{"__proto__":{"polluted":1},"constructor":{"prototype":2}}]'
    ]
    arena.assert_good_unaffected()


def test_trailing_garbage_after_json(arena: Arena) -> None:
    arena.attack('2["message"]garbage')


# -- size -------------------------------------------------------------------------------------


def test_oversized_websocket_message() -> None:
    arena = Arena("websocket")
    client, (sid,) = arena.attacker()
    assert client.ws is not None
    client.ws.send('42["message","' + "x" * 1_000_001 + '"]')
    assert client.ws.close_code == 1009
    (gone,) = [e for e in arena.h.of_type(Disconnected) if e.sid == sid]
    assert gone.reason is DisconnectReason.TRANSPORT_ERROR
    assert [e for e in arena.h.of_type(EventReceived) if e.sid == sid] == []
    arena.assert_good_unaffected()


def test_oversized_polling_post_is_refused_without_closing() -> None:
    arena = Arena("polling")
    client, (sid,) = arena.attacker()
    response = arena.h.send_post(client.eio_sid, '42["message","' + "x" * 1_000_001 + '"]')
    assert response.response.status == 413
    assert [e for e in arena.h.of_type(EventReceived) if e.sid == sid] == []
    client.assert_usable()
    arena.assert_good_unaffected()
