"""The Engine.IO client machine (protocol.md 1.9 client rules, 1.10, checklist 34-38)."""

from __future__ import annotations

import json

import pytest

from socketio_proto import LocalProtocolError
from socketio_proto.engineio import Packet, PacketType, encode_payload_v4
from socketio_proto.engineio.client import (
    CLOSING_TIMEOUT,
    ClientConfig,
    ClientState,
    Connected,
    EngineClient,
    OpenWebSocket,
    SendRequest,
)
from socketio_proto.engineio.events import (
    CloseReason,
    CloseWebSocket,
    MessageReceived,
    SendWebSocket,
    SessionClosed,
    SessionUpgraded,
)
from socketio_proto.engineio.http import HttpResponse

T = PacketType
OK = HttpResponse(200, (("Content-Type", "text/html"),), b"ok")


def handshake_body(upgrades: list[str], max_payload: int = 1_000_000) -> bytes:
    data = {
        "sid": "SID",
        "upgrades": upgrades,
        "pingInterval": 300,
        "pingTimeout": 200,
        "maxPayload": max_payload,
    }
    return b"0" + json.dumps(data).encode()


def text(body: str | bytes) -> HttpResponse:
    raw = body.encode() if isinstance(body, str) else body
    return HttpResponse(200, (("Content-Type", "text/plain; charset=UTF-8"),), raw)


def open_client(
    upgrades: list[str] | None = None, *, max_payload: int = 1_000_000, **config: object
) -> tuple[EngineClient, SendRequest]:
    """A v4 polling client past its handshake; returns it with its pending GET."""
    client = EngineClient(ClientConfig(**config))  # type: ignore[arg-type]
    client.connect(0.0)
    (handshake,) = client.outputs()
    assert isinstance(handshake, SendRequest)
    client.handle_response(
        handshake.request_id, text(handshake_body(upgrades or [], max_payload)), 0.0
    )
    outputs = client.outputs()
    polls = [o for o in outputs if isinstance(o, SendRequest)]
    assert len(polls) == 1
    return client, polls[0]


def test_handshake_request_shape() -> None:
    client = EngineClient(ClientConfig(path="/socket.io", query={"token": "x"}))
    client.connect(0.0)
    (out,) = client.outputs()
    assert isinstance(out, SendRequest)
    request = out.request
    assert request.method == "GET"
    assert request.path == "/socket.io/"  # trailing slash added, as engine.io-client does
    assert request.query["EIO"] == "4"
    assert request.query["transport"] == "polling"
    assert request.query["token"] == "x"
    assert "t" in request.query and "sid" not in request.query
    assert request.target.startswith("/socket.io/?")


def test_connected_event_and_first_poll() -> None:
    client, poll = open_client(["websocket"], upgrade=False)
    (event,) = client.events()
    assert isinstance(event, Connected)
    assert event.sid == "SID"
    assert event.handshake.ping_interval == 0.3
    assert event.handshake.ping_timeout == 0.2
    assert event.handshake.upgrades == ("websocket",)
    assert poll.request.method == "GET"
    assert poll.request.query["sid"] == "SID"
    assert client.state is ClientState.OPEN


def test_exactly_one_get_in_flight_and_repoll_after_each_response() -> None:
    client, poll = open_client()
    client.send("a")
    outputs = client.outputs()
    assert all(o.request.method == "POST" for o in outputs if isinstance(o, SendRequest))
    client.handle_response(poll.request_id, text("4x\x1e6"), 0.1)
    (next_poll,) = [o for o in client.outputs() if isinstance(o, SendRequest)]
    assert next_poll.request.method == "GET"
    assert [e for e in client.events() if isinstance(e, MessageReceived)] == [
        MessageReceived("SID", "x")
    ]


def test_at_most_one_post_and_queued_messages_follow_in_one_batch() -> None:
    client, _ = open_client()
    client.send("a")
    (first,) = client.outputs()
    assert isinstance(first, SendRequest)
    assert first.request.body == b"4a"
    assert first.request.header("content-type") == "text/plain;charset=UTF-8"
    client.send("b")
    client.send(b"\x01")
    assert client.outputs() == []  # the first POST is still in flight
    client.handle_response(first.request_id, OK, 0.1)
    (second,) = [o for o in client.outputs() if o.request.method == "POST"]  # type: ignore[union-attr]
    assert isinstance(second, SendRequest)
    assert second.request.body == b"4b\x1ebAQ=="


def test_batches_are_split_by_max_payload() -> None:
    client, _ = open_client(max_payload=20)
    client.send("x")
    (first,) = client.outputs()
    assert isinstance(first, SendRequest)
    for _ in range(5):
        client.send("12345")  # each costs 5 + 2 bytes; 1 + 7 + 7 fits 20, a third does not
    client.handle_response(first.request_id, OK, 0.1)
    batches = []
    while True:
        posts = [
            o for o in client.outputs() if isinstance(o, SendRequest) and o.request.method == "POST"
        ]
        if not posts:
            break
        batches.append(posts[0].request.body)
        client.handle_response(posts[0].request_id, OK, 0.1)
    assert batches == [b"412345\x1e412345", b"412345\x1e412345", b"412345"]


def test_a_single_packet_larger_than_max_payload_is_still_sent() -> None:
    client, _ = open_client(max_payload=5)
    client.send("0123456789")
    (post,) = client.outputs()
    assert isinstance(post, SendRequest)
    assert post.request.body == b"40123456789"


def test_v4_answers_pings_and_times_out_without_them() -> None:
    client, poll = open_client()
    assert client.next_deadline() == pytest.approx(0.5)  # pingInterval + pingTimeout
    client.handle_response(poll.request_id, text("2"), 0.3)
    (pong,) = [
        o for o in client.outputs() if isinstance(o, SendRequest) and o.request.method == "POST"
    ]
    assert pong.request.body == b"3"
    assert client.next_deadline() == pytest.approx(0.8)
    client.handle_timeout(0.79)
    assert client.state is ClientState.OPEN
    client.handle_timeout(0.8)
    assert client.closed
    assert client.events()[-1] == SessionClosed("SID", CloseReason.PING_TIMEOUT)
    # Like engine.io-client, a polling client that gives up still tells the server.
    (goodbye,) = [o for o in client.outputs() if isinstance(o, SendRequest)]
    assert goodbye.request.body == b"1"


def test_v3_client_sends_pings_and_any_packet_proves_liveness() -> None:
    client = EngineClient(ClientConfig(revision=3, upgrade=False))
    client.connect(0.0)
    (handshake,) = client.outputs()
    assert isinstance(handshake, SendRequest)
    assert handshake.request.query["EIO"] == "3"
    body = handshake_body([])
    client.handle_response(handshake.request_id, text(f"{len(body)}:{body.decode()}"), 0.0)
    (poll,) = client.outputs()
    assert client.next_deadline() == pytest.approx(0.3)
    client.handle_timeout(0.3)
    (ping,) = client.outputs()
    assert isinstance(ping, SendRequest)
    assert ping.request.body == b"1:2"
    assert client.next_deadline() == pytest.approx(0.5)
    client.handle_response(ping.request_id, OK, 0.31)
    assert isinstance(poll, SendRequest)
    client.handle_response(poll.request_id, text("1:3"), 0.35)
    assert client.next_deadline() == pytest.approx(0.65)  # next ping pingInterval after the pong
    client.handle_timeout(0.65)
    assert client.state is ClientState.OPEN


def test_v3_handshake_may_carry_the_implicit_namespace_connect() -> None:
    client = EngineClient(ClientConfig(revision=3, upgrade=False))
    client.connect(0.0)
    (handshake,) = client.outputs()
    assert isinstance(handshake, SendRequest)
    body = handshake_body([]).decode()
    client.handle_response(handshake.request_id, text(f"{len(body)}:{body}2:40"), 0.0)
    events = client.events()
    assert isinstance(events[0], Connected)
    assert events[1] == MessageReceived("SID", "0")


def test_upgrade_probe_pause_and_switch() -> None:
    client = EngineClient(ClientConfig())
    client.connect(0.0)
    (handshake,) = client.outputs()
    assert isinstance(handshake, SendRequest)
    client.handle_response(handshake.request_id, text(handshake_body(["websocket"])), 0.0)
    outputs = client.outputs()
    (open_ws,) = [o for o in outputs if isinstance(o, OpenWebSocket)]
    (get,) = [o for o in outputs if isinstance(o, SendRequest)]
    assert open_ws.request.query["transport"] == "websocket"
    assert open_ws.request.query["sid"] == "SID"
    client.websocket_opened(open_ws.ws_id, 0.01)
    assert client.outputs() == [SendWebSocket(open_ws.ws_id, "2probe")]
    client.receive_websocket_message(open_ws.ws_id, "3probe", 0.02)
    assert client.upgrading
    client.send("during pause")
    assert client.outputs() == []  # no POST while pausing, and the GET is still out
    client.handle_response(get.request_id, text("6"), 0.03)
    outputs = client.outputs()
    assert outputs == [
        SendWebSocket(open_ws.ws_id, "5"),
        SendWebSocket(open_ws.ws_id, "4during pause"),
    ]
    assert client.transport == "websocket"
    assert SessionUpgraded("SID", "websocket") in client.events()
    client.send(b"\x01")
    assert client.outputs() == [SendWebSocket(open_ws.ws_id, b"\x01")]


def test_probe_failure_keeps_polling() -> None:
    client = EngineClient(ClientConfig())
    client.connect(0.0)
    (handshake,) = client.outputs()
    assert isinstance(handshake, SendRequest)
    client.handle_response(handshake.request_id, text(handshake_body(["websocket"])), 0.0)
    outputs = client.outputs()
    (open_ws,) = [o for o in outputs if isinstance(o, OpenWebSocket)]
    client.websocket_opened(open_ws.ws_id, 0.01)
    client.outputs()
    client.receive_websocket_message(open_ws.ws_id, "4unexpected", 0.02)
    assert client.outputs() == [CloseWebSocket(open_ws.ws_id)]
    assert client.transport == "polling"
    assert not client.upgrading
    client.send("still polling")
    (post,) = client.outputs()
    assert isinstance(post, SendRequest)
    assert post.request.method == "POST"


def test_websocket_only_handshake_and_close() -> None:
    client = EngineClient(ClientConfig(transports=("websocket",)))
    client.connect(0.0)
    (open_ws,) = client.outputs()
    assert isinstance(open_ws, OpenWebSocket)
    assert "sid" not in open_ws.request.query
    client.websocket_opened(open_ws.ws_id, 0.0)
    client.receive_websocket_message(open_ws.ws_id, handshake_body([]).decode(), 0.0)
    assert isinstance(client.events()[0], Connected)
    client.receive_websocket_message(open_ws.ws_id, "2", 0.3)
    assert client.outputs() == [SendWebSocket(open_ws.ws_id, "3")]
    client.close(0.4)
    assert client.outputs() == [CloseWebSocket(open_ws.ws_id)]
    assert client.events() == [SessionClosed("SID", CloseReason.FORCED_CLOSE)]
    assert not client.send("late")


def test_polling_close_posts_the_close_packet() -> None:
    client, _ = open_client()
    client.close(0.1)
    (post,) = client.outputs()
    assert isinstance(post, SendRequest)
    assert post.request.body == b"1"
    assert client.state is ClientState.CLOSED


def test_polling_close_waits_for_the_post_in_flight() -> None:
    """Two POSTs at once make the server drop the session (transport error), so the
    close packet waits for the answers to what is queued, as engine.io-client does."""
    client, poll = open_client()
    client.events()
    client.send("a")
    (first,) = client.outputs()  # POST "4a" in flight
    assert isinstance(first, SendRequest)
    client.send("b")
    client.close(0.1)
    assert client.outputs() == []
    assert client.state is ClientState.CLOSING
    assert not client.send("too late")
    assert client.next_deadline() == 0.1 + CLOSING_TIMEOUT
    client.handle_response(poll.request_id, text("4ignored"), 0.2)  # the GET: no longer wanted
    assert client.outputs() == [] and not client.events()
    client.handle_response(first.request_id, text("ok"), 0.3)
    (rest,) = client.outputs()  # what was queued, without the close packet
    assert isinstance(rest, SendRequest) and rest.request.body == b"4b"
    assert client.state is ClientState.CLOSING
    client.handle_response(rest.request_id, text("ok"), 0.4)
    (post,) = client.outputs()  # servers act on a close before the packets sharing its POST
    assert isinstance(post, SendRequest) and post.request.body == b"1"
    assert client.closed
    assert client.events() == [SessionClosed("SID", CloseReason.FORCED_CLOSE)]


def test_a_closing_client_gives_up_on_a_lost_post() -> None:
    client, _ = open_client()
    client.send("a")
    (first,) = client.outputs()
    assert isinstance(first, SendRequest)
    client.close(0.1)
    client.request_failed(first.request_id, 0.2)
    (post,) = client.outputs()  # the close packet still goes out
    assert isinstance(post, SendRequest) and post.request.body == b"1"
    assert client.state is ClientState.CLOSED

    client, _ = open_client()
    client.send("a")
    client.outputs()
    client.close(0.1)
    client.handle_timeout(0.1 + CLOSING_TIMEOUT)
    assert client.outputs() == []
    assert client.state is ClientState.CLOSED
    assert client.events()[-1] == SessionClosed("SID", CloseReason.FORCED_CLOSE)


def test_server_close_packet_and_errors_end_the_session() -> None:
    client, poll = open_client()
    client.handle_response(poll.request_id, text("1"), 0.1)
    assert client.events()[-1] == SessionClosed("SID", CloseReason.TRANSPORT_CLOSE)

    client, poll = open_client()
    client.handle_response(
        poll.request_id, HttpResponse(400, body=b'{"code":1,"message":"Session ID unknown"}'), 0.1
    )
    closed = client.events()[-1]
    assert isinstance(closed, SessionClosed)
    assert closed.reason is CloseReason.TRANSPORT_ERROR
    assert "400" in closed.detail

    client, poll = open_client()
    client.handle_response(poll.request_id, text("zzz"), 0.1)
    assert client.events()[-1].reason is CloseReason.PARSE_ERROR  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "body",
    [b"4hello", b'0{"sid":1}', b'0{"upgrades":[]}', b"0not json", b"0[]"],
)
def test_invalid_handshakes_fail_cleanly(body: bytes) -> None:
    client = EngineClient()
    client.connect(0.0)
    (handshake,) = client.outputs()
    assert isinstance(handshake, SendRequest)
    client.handle_response(handshake.request_id, text(body), 0.0)
    assert client.state is ClientState.CLOSED
    closed = client.events()[-1]
    assert isinstance(closed, SessionClosed)
    assert closed.reason is CloseReason.PARSE_ERROR


def test_api_misuse() -> None:
    client = EngineClient()
    assert not client.send("before connect")
    client.connect(0.0)
    with pytest.raises(LocalProtocolError):
        client.connect(0.0)
    with pytest.raises(LocalProtocolError):
        client.send(1)  # type: ignore[arg-type]


def test_payload_helper_matches_what_the_client_posts() -> None:
    client, _ = open_client()
    client.send("€")
    (post,) = client.outputs()
    assert isinstance(post, SendRequest)
    assert post.request.body == encode_payload_v4([Packet(T.MESSAGE, "€")]).encode()
