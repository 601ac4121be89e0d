"""The request context of :class:`~socketio_proto.flask.FlaskSocketIO` handlers.

A raw Engine.IO polling client (so the handshake URL, headers and cookies are ours to
choose) talks to ``ThreadedServer(app, wsgi=flask_app)`` on 127.0.0.1.  Handlers see
``request.sid``/``namespace``/``event``, the handshake's query arguments, headers and
cookies, the auth payload, the socket's own ``flask.session`` (opened from the
handshake's cookie, kept between its events), and nothing of any of it leaks to code
outside the facade's handlers.
"""

from __future__ import annotations

import json
import queue
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import flask
import pytest

from socketio_proto.app import ConnectionRefused
from socketio_proto.errors import LocalProtocolError
from socketio_proto.flask import (
    FlaskSocketIO,
    current_socket,
    emit,
    join_room,
    leave_room,
    rooms,
)
from socketio_proto.threads import ThreadedServer

TIMEOUT = 5.0
request: Any = flask.request  # request.sid & co. are set at run time, as in Flask-SocketIO


class Polling:
    """An Engine.IO 4 long-polling client speaking raw packets."""

    def __init__(self, base: str, query: str = "", headers: dict[str, str] | None = None) -> None:
        self.base = base + "/socket.io/?EIO=4&transport=polling"
        self.headers = headers or {}
        opened = self._http(self.base + ("&" + query if query else ""))
        assert opened.startswith("0"), opened
        self.sid = json.loads(opened[1:])["sid"]
        self.inbox: list[str] = []

    def _http(self, url: str, data: bytes | None = None) -> str:
        req = urllib.request.Request(url, data=data, headers=self.headers)
        with urllib.request.urlopen(req, timeout=TIMEOUT) as response:
            return str(response.read().decode("utf-8"))

    def send(self, *packets: str) -> None:
        body = "\x1e".join("4" + packet for packet in packets).encode()
        assert self._http(f"{self.base}&sid={self.sid}", body) == "ok"

    def expect(self, prefix: str) -> str:
        """The next Socket.IO packet starting with ``prefix`` (others stay in the inbox)."""
        while True:
            for index, packet in enumerate(self.inbox):
                if packet.startswith(prefix):
                    return self.inbox.pop(index)
            body = self._http(f"{self.base}&sid={self.sid}")
            for message in body.split("\x1e"):
                if message.startswith("4"):
                    self.inbox.append(message[1:])
                elif message == "2":  # a ping
                    self.send_raw("3")

    def send_raw(self, message: str) -> None:
        assert self._http(f"{self.base}&sid={self.sid}", message.encode()) == "ok"

    def payload(self, prefix: str) -> Any:
        return json.loads(self.expect(prefix)[len(prefix) :])


def snapshot(auth: Any = None) -> dict[str, Any]:
    return {
        "sid": request.sid,
        "same_sid": current_socket().sid == request.sid,
        "namespace": request.namespace,
        "event": request.event["message"],
        "path": request.path,
        "user": request.args.get("user"),
        "tags": request.args.getlist("tag"),
        "token": request.headers.get("X-Token"),
        "cookie": request.cookies.get("flavour"),
        "auth": auth if auth is not None else request.auth,
        "app": flask.current_app.name,
        "handshake_user": current_socket().request.query.get("user"),
    }


@pytest.fixture
def site() -> Iterator[tuple[flask.Flask, ThreadedServer, queue.Queue[Any]]]:
    flask_app = flask.Flask("context_app")
    flask_app.secret_key = "test secret"
    socketio = FlaskSocketIO(flask_app)
    seen: queue.Queue[Any] = queue.Queue()

    @socketio.on("connect", namespace="/ctx")
    def connect(auth: Any) -> None:
        if auth == {"token": "bad"}:
            raise ConnectionRefused("bad token")
        emit("context", snapshot(auth))

    @socketio.on("whoami", namespace="/ctx")
    def whoami() -> dict[str, Any]:
        return snapshot()

    @socketio.on("count", namespace="/ctx")
    def count() -> list[Any]:
        flask.session["n"] = flask.session.get("n", 0) + 1
        return [flask.session["n"], flask.session.get("user")]

    @socketio.on("rooms", namespace="/ctx")
    def room_trip(room: str) -> list[list[str]]:
        join_room(room)
        inside = rooms()
        leave_room(room)
        return [inside, rooms()]

    @socketio.on("disconnect", namespace="/ctx")
    def gone(reason: str) -> None:
        seen.put(("disconnect", request.sid, reason, request.args.get("user")))

    @socketio.server.on("plain", namespace="/ctx2")
    def plain(sid: str) -> list[Any]:
        # Not a facade handler: no Flask context, no socket context, on the same workers.
        try:
            current_socket()
            ours = True
        except LocalProtocolError:
            ours = False
        return [flask.has_request_context(), ours]

    with ThreadedServer(socketio.server, port=0, wsgi=flask_app, max_workers=2) as server:
        yield flask_app, server, seen


def session_cookie(flask_app: flask.Flask, **values: Any) -> str:
    with flask_app.test_client() as client:
        with client.session_transaction() as session:
            session.update(values)
        cookie = client.get_cookie("session")
        assert cookie is not None
        return f"session={cookie.value}"


def test_handlers_see_the_handshake_request_and_auth(
    site: tuple[flask.Flask, ThreadedServer, queue.Queue[Any]],
) -> None:
    _, server, _ = site
    client = Polling(
        server.url,
        "user=ada&tag=a&lang=fr&tag=b",
        {"X-Token": "t0k3n", "Cookie": "flavour=vanilla"},
    )
    client.send('0/ctx,{"token":"good"}')
    sid = client.payload("0/ctx,")["sid"]
    expected = {
        "sid": sid,
        "same_sid": True,
        "namespace": "/ctx",
        "event": "connect",
        "path": "/socket.io/",
        "user": "ada",
        "tags": ["a", "b"],  # every value of a repeated parameter, as in Flask
        "token": "t0k3n",
        "cookie": "vanilla",
        "auth": {"token": "good"},
        "app": "context_app",
        "handshake_user": "ada",
    }
    context = json.loads(client.expect('2/ctx,["context",')[len('2/ctx,["context",') : -1])
    assert context == expected
    client.send('2/ctx,7["whoami"]')
    assert client.payload("3/ctx,7") == [{**expected, "event": "whoami"}]


def test_each_socket_has_its_own_session_from_the_cookie(
    site: tuple[flask.Flask, ThreadedServer, queue.Queue[Any]],
) -> None:
    flask_app, server, _ = site
    cookie = session_cookie(flask_app, user="ada")
    first = Polling(server.url, headers={"Cookie": cookie})
    second = Polling(server.url)
    for client in (first, second):
        client.send('0/ctx,{"token":"good"}')
        client.expect("0/ctx,")
    for ack_id in (1, 2, 3):
        first.send(f'2/ctx,{ack_id}["count"]')
        assert first.payload(f"3/ctx,{ack_id}") == [[ack_id, "ada"]]
    second.send('2/ctx,1["count"]')
    assert second.payload("3/ctx,1") == [[1, None]]


def test_room_helpers_act_for_the_current_socket(
    site: tuple[flask.Flask, ThreadedServer, queue.Queue[Any]],
) -> None:
    _, server, _ = site
    client = Polling(server.url)
    client.send('0/ctx,{"token":"good"}')
    sid = client.payload("0/ctx,")["sid"]
    client.send('2/ctx,4["rooms","lobby"]')
    assert client.payload("3/ctx,4") == [[[sid, "lobby"], [sid]]]


def test_disconnect_handlers_keep_the_context(
    site: tuple[flask.Flask, ThreadedServer, queue.Queue[Any]],
) -> None:
    _, server, seen = site
    client = Polling(server.url, "user=bob")
    client.send('0/ctx,{"token":"good"}')
    sid = client.payload("0/ctx,")["sid"]
    client.send("1/ctx,")
    assert seen.get(timeout=TIMEOUT) == ("disconnect", sid, "io client disconnect", "bob")


def test_a_refused_connection_is_forgotten(
    site: tuple[flask.Flask, ThreadedServer, queue.Queue[Any]],
) -> None:
    flask_app, server, _ = site
    client = Polling(server.url)
    client.send('0/ctx,{"token":"bad"}')
    assert client.payload("4/ctx,") == {"message": "bad token"}
    socketio = flask_app.extensions["socketio_proto"]
    assert isinstance(socketio, FlaskSocketIO)
    assert socketio._handshakes == {}


def test_nothing_leaks_outside_facade_handlers(
    site: tuple[flask.Flask, ThreadedServer, queue.Queue[Any]],
) -> None:
    _, server, _ = site
    client = Polling(server.url, "user=ada")
    client.send('0/ctx,{"token":"good"}', "0/ctx2,")
    client.expect("0/ctx,")
    client.expect("0/ctx2,")
    for ack_id in range(4):  # on every worker the facade's handlers have used
        client.send(f'2/ctx,{ack_id}["whoami"]', f'2/ctx2,{ack_id}["plain"]')
        assert client.payload(f"3/ctx2,{ack_id}") == [[False, False]]
        client.expect(f"3/ctx,{ack_id}")
    with pytest.raises(LocalProtocolError):
        current_socket()
    with pytest.raises(LocalProtocolError):
        emit("nowhere")
    assert threading.current_thread() is threading.main_thread()
