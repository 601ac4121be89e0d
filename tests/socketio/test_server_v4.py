"""Socket.IO revision 4 (JS 1.x/2.x clients) over Engine.IO 3 (protocol.md 2.9, 6 item 30).

The server runs with ``allow_eio3=True``; an ``EIO=3`` session speaks revision 4:
``/`` is joined implicitly (the server sends ``40`` unprompted), the connection
query rides in the CONNECT namespace, CONNECT replies carry no payload, refusals
carry a string (or the error's data), socket ids are derived from the Engine.IO
sid, packets for namespaces without a socket are ignored, and binary WebSocket
frames carry the ``04`` type byte.  ``EIO=4`` sessions on the same server still
speak revision 5.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from socketio_proto.engineio.config import EngineConfig
from socketio_proto.socketio import events as sio_events
from socketio_proto.socketio.config import RecoveryConfig, ServerConfig
from socketio_proto.socketio.events import (
    ConnectRequested,
    Disconnected,
    DisconnectReason,
    EventReceived,
)
from socketio_proto.socketio.server import SocketServer, SocketState
from tests.support.socket_server import SIO_SUITE_SERVER, SocketHarness
from tests.support.wire_client import WsClient

CONFIG_V3 = EngineConfig(
    path="/socket.io/",
    ping_interval=0.3,
    ping_timeout=0.2,
    cors_allowed_origins="*",
    allow_eio3=True,
)
NAMESPACES = ("/admin", "/secure", "/plain", "/custom")
PH0 = '{"_placeholder":true,"num":0}'


def v4_app(sio: SocketServer, event: sio_events.ServerEvent) -> None:
    """Accept, or refuse like a JS middleware (``next(err)``), and echo like the reference."""
    if isinstance(event, ConnectRequested):
        auth: Any = event.auth if event.auth is not None else {}
        if event.namespace == "/admin" and auth.get("token") != "1234":
            sio.refuse(event.sid, "Not authorized")
        elif event.namespace == "/secure":
            sio.refuse(event.sid, "not authorized", {"reason": "x"})
        elif event.namespace == "/plain":
            sio.refuse(event.sid, "plain", "plain")
        else:
            sio.accept(event.sid)
    elif isinstance(event, EventReceived):
        if event.event == "message":
            sio.emit("message-back", *event.args, namespace=event.namespace, to=event.sid)
        elif event.event == "message-with-ack" and event.ack_id is not None:
            sio.ack(event.sid, event.ack_id, *event.args)


def settle(h: SocketHarness) -> None:
    """Run the app on what direct API calls reported, then deliver the output."""
    h._run_app()
    h.pump()


def harness() -> SocketHarness:
    return SocketHarness(CONFIG_V3, SIO_SUITE_SERVER, app=v4_app, namespaces=NAMESPACES)


def open_ws(h: SocketHarness) -> tuple[WsClient, str]:
    """An ``EIO=3`` WebSocket session; the implicit ``40`` is left unread."""
    ws, eio_sid = h.open_websocket("EIO=3&transport=websocket")
    return ws, eio_sid


def v3_payload(*packets: str) -> str:
    """An Engine.IO 3 text payload (ASCII packets: length in characters)."""
    return "".join(f"{len(p)}:{p}" for p in packets)


def v3_packets(body: str) -> list[str]:
    packets = []
    while body:
        length, _, rest = body.partition(":")
        packets.append(rest[: int(length)])
        body = rest[int(length) :]
    return packets


# -- implicit "/" ----------------------------------------------------------------------------


def test_implicit_root_namespace_over_websocket() -> None:
    h = harness()
    ws, eio_sid = open_ws(h)
    assert ws.messages == ["40"]  # unprompted, right after the handshake, no payload
    (request,) = h.of_type(ConnectRequested)
    assert request == ConnectRequested(eio_sid, "/", None, eio_sid, request.request)
    assert h.sio.state(eio_sid) is SocketState.CONNECTED
    assert h.sio.sockets("/") == frozenset({eio_sid})
    assert h.sio.eio_sid(eio_sid) == eio_sid


def test_implicit_root_namespace_over_polling() -> None:
    h = harness()
    eio_sid = h.open_polling("EIO=3&transport=polling&b64=1")
    # The handshake response holds only the open packet; 40 comes with the next GET.
    poll = h.poll(eio_sid, eio=3).response
    assert poll.status == 200
    assert poll.text == "2:40"
    (request,) = h.of_type(ConnectRequested)
    assert request.sid == eio_sid
    assert request.auth is None


def test_implicit_root_namespace_then_events() -> None:
    h = harness()
    ws, eio_sid = open_ws(h)
    ws.recv()
    ws.send('42["message",1,"2",{"3":[true]}]')
    assert ws.recv() == '42["message-back",1,"2",{"3":[true]}]'
    ws.send('42456["message-with-ack",1]')
    assert ws.recv() == "43456[1]"
    assert h.of_type(EventReceived)[0] == EventReceived(
        eio_sid, "/", "message", [1, "2", {"3": [True]}], None
    )


def test_no_connect_timeout_in_revision_4() -> None:
    h = harness()
    ws, eio_sid = open_ws(h)
    # Revision 4 heartbeat: the client pings, the server pongs.
    for _ in range(8):
        h.clock.advance(0.2)
        ws.send("2")
    assert ws.open  # 1.6 s > connectTimeout (1 s): "/" was joined implicitly
    assert h.closed_reason(eio_sid) is None


def test_implicit_root_can_be_accepted_later() -> None:
    requests: list[ConnectRequested] = []

    def app(sio: SocketServer, event: sio_events.ServerEvent) -> None:
        if isinstance(event, ConnectRequested):
            requests.append(event)

    h = SocketHarness(CONFIG_V3, SIO_SUITE_SERVER, app=app)
    ws, eio_sid = open_ws(h)
    assert ws.messages == []
    h.sio.emit("early", 1, to=eio_sid)  # held until the CONNECT reply
    h.pump()
    assert ws.messages == []
    assert h.sio.accept(requests[0].sid)
    h.pump()
    assert ws.messages == ["40", '42["early",1]']


# -- CONNECT to other namespaces ------------------------------------------------------------


def test_connect_with_query_string_auth() -> None:
    h = harness()
    ws, eio_sid = open_ws(h)
    ws.recv()
    ws.send("40/admin?token=1234&uid=abcd,")
    assert ws.recv() == "40/admin,"  # no payload in revision 4
    assert ws.messages == []
    request = h.of_type(ConnectRequested)[-1]
    assert request.namespace == "/admin"
    assert request.auth == {"token": "1234", "uid": "abcd"}
    assert request.sid == f"/admin#{eio_sid}"
    assert h.sio.namespace_of(f"/admin#{eio_sid}") == "/admin"
    assert h.sio.connection_sockets(eio_sid) == {"/": eio_sid, "/admin": f"/admin#{eio_sid}"}
    assert "/admin?token=1234&uid=abcd" not in h.sio.namespaces


def test_connect_without_query() -> None:
    h = harness()
    ws, eio_sid = open_ws(h)
    ws.recv()
    ws.send("40/custom,")
    assert ws.recv() == "40/custom,"
    request = h.of_type(ConnectRequested)[-1]
    assert (request.namespace, request.auth, request.sid) == (
        "/custom",
        {},
        f"/custom#{eio_sid}",
    )
    ws.send('42/custom,["message","x"]')
    assert ws.recv() == '42/custom,["message-back","x"]'
    ws.send('42/custom,7["message-with-ack","y"]')
    assert ws.recv() == '43/custom,7["y"]'


def test_connect_without_trailing_comma() -> None:
    h = harness()
    ws, _ = open_ws(h)
    ws.recv()
    ws.send("40/admin?token=1234")
    assert ws.recv() == "40/admin,"


def test_refusal_is_a_string() -> None:
    h = harness()
    ws, eio_sid = open_ws(h)
    ws.recv()
    ws.send("40/admin?token=wrong,")
    assert ws.recv() == '44/admin,"Not authorized"'
    assert ws.open  # the Engine.IO connection stays
    assert h.sio.connection_sockets(eio_sid) == {"/": eio_sid}
    # Packets for the refused namespace are ignored, not fatal.
    ws.send('42/admin,["message","x"]')
    assert ws.messages == []
    assert ws.open
    # The client may try again.
    ws.send("40/admin?token=1234,")
    assert ws.recv() == "40/admin,"


def test_refusal_with_data_sends_the_data() -> None:
    h = harness()
    ws, _ = open_ws(h)
    ws.recv()
    ws.send("40/secure,")
    assert ws.recv() == '44/secure,{"reason":"x"}'
    ws.send("40/plain,")
    assert ws.recv() == '44/plain,"plain"'
    assert ws.open


def test_unknown_namespace_is_refused_with_an_object() -> None:
    h = harness()
    ws, _ = open_ws(h)
    ws.recv()
    ws.send("40/nope,")
    assert ws.recv() == '44/nope,{"message":"Invalid namespace"}'
    ws.send("40/nope?token=1,")
    assert ws.recv() == '44/nope,{"message":"Invalid namespace"}'
    assert ws.open
    assert len(h.of_type(ConnectRequested)) == 1  # only the implicit "/"


def test_unknown_namespace_over_polling() -> None:
    h = harness()
    eio_sid = h.open_polling("EIO=3&transport=polling&b64=1")
    assert h.poll(eio_sid, eio=3).response.text == "2:40"
    push = h.send_post(eio_sid, v3_payload("40/nope,", "40/admin?token=1234,"), eio=3)
    assert push.response.body == b"ok"
    poll = h.poll(eio_sid, eio=3).response
    assert v3_packets(poll.text) == ['44/nope,{"message":"Invalid namespace"}', "40/admin,"]


# -- packets for namespaces without a socket are ignored ---------------------------------------


@pytest.mark.parametrize(
    "packet",
    [
        '42/custom,["message","x"]',
        '42/nope,["message","x"]',
        '43/custom,0["x"]',
        "41/custom,",
        "41/nope,",
        '44/custom,"x"',
        "40",  # "/" is already connected
        "44",
    ],
)
def test_packet_for_namespace_without_socket_is_ignored(packet: str) -> None:
    h = harness()
    ws, eio_sid = open_ws(h)
    ws.recv()
    ws.send(packet)
    assert ws.messages == []
    assert ws.open
    assert h.of_type(Disconnected) == []
    assert h.of_type(EventReceived) == []
    ws.send('42["message","still here"]')
    assert ws.recv() == '42["message-back","still here"]'
    assert h.closed_reason(eio_sid) is None


def test_binary_packet_for_namespace_without_socket_is_ignored() -> None:
    h = harness()
    ws, _ = open_ws(h)
    ws.recv()
    ws.send(f'451-/custom,["message",{PH0}]')
    ws.send(b"\x04\x01")
    assert ws.open
    assert h.of_type(EventReceived) == []
    ws.send('42["message","still here"]')
    assert ws.recv() == '42["message-back","still here"]'


def test_packets_after_client_disconnect_are_ignored() -> None:
    h = harness()
    ws, eio_sid = open_ws(h)
    ws.recv()
    ws.send("40/custom,")
    ws.recv()
    ws.send("41/custom,")
    assert h.of_type(Disconnected) == [
        Disconnected(f"/custom#{eio_sid}", "/custom", DisconnectReason.CLIENT_DISCONNECT)
    ]
    ws.send('42/custom,["message","x"]')
    assert ws.messages == []
    assert ws.open
    ws.send("41")  # leave "/" too: the Engine.IO connection stays
    ws.send('42["message","x"]')
    assert ws.messages == []
    assert ws.open
    assert h.sio.connection_sockets(eio_sid) == {}


def test_decode_errors_still_close() -> None:
    h = harness()
    ws, eio_sid = open_ws(h)
    ws.recv()
    ws.send("4abc")
    assert ws.close_code is not None
    assert [(e.sid, e.reason) for e in h.of_type(Disconnected)] == [
        (eio_sid, DisconnectReason.PARSE_ERROR)
    ]


# -- binary over Engine.IO 3 -------------------------------------------------------------------


def test_binary_over_eio3_websocket_carries_the_type_byte() -> None:
    h = harness()
    ws, _ = open_ws(h)
    ws.recv()
    ws.send(f'452-["message",{PH0},{{"_placeholder":true,"num":1}}]')
    ws.send(b"\x04\x01\x02\x03")
    ws.send(b"\x04\x04\x05\x06")
    assert ws.recv() == f'452-["message-back",{PH0},{{"_placeholder":true,"num":1}}]'
    assert ws.recv() == b"\x04\x01\x02\x03"
    assert ws.recv() == b"\x04\x04\x05\x06"
    (event,) = h.of_type(EventReceived)
    assert event.args == [b"\x01\x02\x03", b"\x04\x05\x06"]  # type byte stripped


def test_binary_ack_over_eio3_websocket() -> None:
    h = harness()
    ws, _ = open_ws(h)
    ws.recv()
    ws.send("40/custom,")
    ws.recv()
    ws.send(f'451-/custom,789["message-with-ack",{PH0}]')
    ws.send(b"\x04\xff")
    assert ws.recv() == f"461-/custom,789[{PH0}]"
    assert ws.recv() == b"\x04\xff"


def test_server_emit_with_binary_over_eio3_websocket() -> None:
    h = harness()
    ws, eio_sid = open_ws(h)
    ws.recv()
    h.sio.emit("file", {"data": b"\x00\x01"}, to=eio_sid)
    h.pump()
    assert ws.recv() == f'451-["file",{{"data":{PH0}}}]'
    assert ws.recv() == b"\x04\x00\x01"


def test_binary_over_eio3_polling_base64() -> None:
    h = harness()
    eio_sid = h.open_polling("EIO=3&transport=polling&b64=1")
    h.poll(eio_sid, eio=3)
    body = v3_payload(f'451-["message",{PH0}]', "b4" + base64.b64encode(b"\x01\x02").decode())
    assert h.send_post(eio_sid, body, eio=3).response.body == b"ok"
    poll = h.poll(eio_sid, eio=3).response
    assert v3_packets(poll.text) == [f'451-["message-back",{PH0}]', "b4AQI="]


def test_binary_over_eio3_polling_xhr2() -> None:
    h = harness()
    eio_sid = h.open_polling("EIO=3&transport=polling")
    h.poll(eio_sid, eio=3)
    header = f'451-["message-back",{PH0}]'  # Engine.IO type 4 + the Socket.IO packet
    body = v3_payload(f'451-["message",{PH0}]', "b4AQI=")
    assert h.send_post(eio_sid, body, eio=3).response.body == b"ok"
    poll = h.poll(eio_sid, eio=3).response
    # Binary payload: 0x00 <length digits> 0xff <packet>, 0x01 ... 0xff 0x04 <bytes>.
    digits = bytes(int(d) for d in str(len(header)))
    assert poll.body == b"\x00" + digits + b"\xff" + header.encode() + b"\x01\x03\xff\x04\x01\x02"


# -- revision 4 and 5 on one server --------------------------------------------------------------


def test_eio4_clients_still_speak_revision_5() -> None:
    h = harness()
    ws4, eio4 = open_ws(h)
    assert ws4.recv() == "40"
    ws5, eio5 = h.open_websocket("EIO=4&transport=websocket")
    assert ws5.messages == []  # no implicit connection in revision 5
    ws5.send("40/custom,")
    reply = ws5.recv()
    assert isinstance(reply, str)
    assert reply.startswith("40/custom,{")
    sid5 = json.loads(reply[len("40/custom,") :])["sid"]
    assert sid5 != eio5
    assert "#" not in sid5
    ws5.send("40/custom?token=1,")  # "?" is part of the name in revision 5
    assert ws5.recv() == '44/custom?token=1,{"message":"Invalid namespace"}'
    ws4.send("40/custom,")
    assert ws4.recv() == "40/custom,"
    # A broadcast reaches both, each in its own revision's framing.
    h.sio.emit("news", "x", namespace="/custom")
    h.pump()
    assert ws4.recv() == '42/custom,["news","x"]'
    assert ws5.recv() == '42/custom,["news","x"]'
    # An error in revision 5 is an object; in revision 4 a string.
    ws5.send("40/admin,")
    assert ws5.recv() == '44/admin,{"message":"Not authorized"}'
    ws4.send("40/admin,")
    assert ws4.recv() == '44/admin,"Not authorized"'
    assert h.sio.sockets("/custom") == frozenset({sid5, f"/custom#{eio4}"})


def test_server_disconnect_in_revision_4() -> None:
    h = harness()
    ws, eio_sid = open_ws(h)
    ws.recv()
    ws.send("40/custom,")
    ws.recv()
    h.sio.disconnect(f"/custom#{eio_sid}")
    h.sio.disconnect(eio_sid)
    settle(h)
    assert ws.messages == ["41/custom,", "41"]
    assert ws.open
    assert [e.reason for e in h.of_type(Disconnected)] == [
        DisconnectReason.SERVER_DISCONNECT,
        DisconnectReason.SERVER_DISCONNECT,
    ]


def recovery_harness() -> SocketHarness:
    config = ServerConfig(connect_timeout=1.0, recovery=RecoveryConfig())
    return SocketHarness(CONFIG_V3, config, app=v4_app, namespaces=NAMESPACES)


def test_no_pid_in_revision_4_even_with_recovery() -> None:
    h = recovery_harness()
    ws, _ = open_ws(h)
    assert ws.recv() == "40"
    ws.send("40/custom,")
    assert ws.recv() == "40/custom,"
    ws.send("40/nope,")
    assert ws.recv() == '44/nope,{"message":"Invalid namespace"}'


def test_no_recovery_offset_for_revision_4_sockets() -> None:
    """Revision 4 has no recovery: its clients must not get an offset as an extra argument."""
    h = recovery_harness()
    ws4, eio4 = open_ws(h)
    assert ws4.recv() == "40"
    ws5, _ = h.open_websocket("EIO=4&transport=websocket")
    ws5.send("40")
    reply = ws5.recv()
    assert isinstance(reply, str)
    assert set(json.loads(reply[2:])) == {"sid", "pid"}
    ws4.send('42["message",1]')
    assert ws4.recv() == '42["message-back",1]'
    # A broadcast: revision 5 sockets get the offset, revision 4 sockets must not.
    h.sio.emit("news", "x")
    settle(h)
    news5 = ws5.recv()
    assert isinstance(news5, str)
    assert json.loads(news5[2:])[:2] == ["news", "x"]
    assert len(json.loads(news5[2:])) == 3
    assert ws4.recv() == '42["news","x"]'
    assert h.sio.sockets("/") >= {eio4}
