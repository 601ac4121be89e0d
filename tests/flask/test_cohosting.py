"""A Flask app and Socket.IO on one port: ``ThreadedServer(app, wsgi=flask_app)``.

Real sockets on 127.0.0.1.  The page and the Engine.IO handshake share the port; the
view sees the request as a WSGI server would give it (body, repeated query
parameters, the peer's address); a view that blocks holds up neither Socket.IO nor
other pages (it runs on a worker, outside the server's lock); answers on one
connection keep their order; a client leaving mid-view and a graceful close with a
view running are handled.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field

import flask
import pytest

from socketio_proto.app import Server
from socketio_proto.engineio.http import HttpRequest, HttpResponse
from socketio_proto.threads import Client, ThreadedServer

TIMEOUT = 5.0


@dataclass
class Site:
    server: ThreadedServer
    release: threading.Event = field(default_factory=threading.Event)
    entered: threading.Event = field(default_factory=threading.Event)
    view_threads: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url


def make_site() -> tuple[flask.Flask, Server, Site]:
    flask_app = flask.Flask(__name__)
    app = Server()

    @app.on("echo")
    def echo(sid: str, *args: object) -> tuple[object, ...]:
        return args

    site = Site(ThreadedServer(app, port=0, wsgi=flask_app))

    @flask_app.route("/")
    def index() -> str:
        site.view_threads.append(threading.current_thread().name)
        return "<h1>index</h1>"

    @flask_app.post("/echo")
    def echo_view() -> flask.Response:
        return flask.jsonify(
            tags=flask.request.args.getlist("tag"),
            body=flask.request.get_json(),
            remote=flask.request.remote_addr,
            server_port=flask.request.environ["SERVER_PORT"],
        )

    @flask_app.route("/slow")
    def slow() -> str:
        site.entered.set()
        assert site.release.wait(TIMEOUT), "the test never released the view"
        return "slow"

    @flask_app.route("/fast")
    def fast() -> str:
        return "fast"

    @flask_app.route("/emit")
    def emit_from_view() -> str:
        app.emit("news", "from a view")  # takes the server's lock itself: not held here
        return "sent"

    return flask_app, app, site


@pytest.fixture
def site() -> Iterator[Site]:
    _, _, site = make_site()
    with site.server:
        yield site
        site.release.set()


def get(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> bytes:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        body: bytes = response.read()
        return body


def raw_responses(port: int, payload: bytes, count: int) -> list[tuple[int, bytes]]:
    """Send ``payload`` (pipelined requests) on one connection; the first ``count`` answers.

    The server always sends ``Content-Length``, which is all this parser needs.
    """
    answers: list[tuple[int, bytes]] = []
    buffer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(payload)
        while len(answers) < count:
            head, separator, rest = buffer.partition(b"\r\n\r\n")
            if separator:
                lines = head.decode("latin-1").split("\r\n")
                fields = dict(line.lower().split(": ", 1) for line in lines[1:])
                length = int(fields["content-length"])
                if len(rest) >= length:
                    answers.append((int(lines[0].split()[1]), rest[:length]))
                    buffer = rest[length:]
                    continue
            chunk = sock.recv(65536)
            assert chunk, "the server hung up"
            buffer += chunk
    return answers


def test_page_and_polling_handshake_share_the_port(site: Site) -> None:
    assert get(site.url + "/") == b"<h1>index</h1>"
    handshake = get(site.url + "/socket.io/?EIO=4&transport=polling")
    assert handshake.startswith(b'0{"sid":')
    assert json.loads(handshake[1:])["upgrades"] == ["websocket"]
    # Flask answers what is not Socket.IO, 404s included.
    with pytest.raises(urllib.error.HTTPError) as missing:
        get(site.url + "/nowhere")
    assert missing.value.code == 404
    # The view ran on one of the server's HTTP workers.
    assert site.view_threads and site.view_threads[0].startswith("socketio_proto-server-http")


def test_view_sees_body_repeated_query_and_peer(site: Site) -> None:
    answer = json.loads(
        get(
            site.url + "/echo?tag=a&tag=b",
            data=b'{"x": [1, 2]}',
            headers={"Content-Type": "application/json"},
        )
    )
    assert answer == {
        "tags": ["a", "b"],
        "body": {"x": [1, 2]},
        "remote": "127.0.0.1",
        "server_port": str(site.server.port),
    }


def test_a_blocked_view_holds_up_neither_socketio_nor_other_pages(site: Site) -> None:
    results: list[bytes] = []
    waiting = threading.Thread(target=lambda: results.append(get(site.url + "/slow")))
    waiting.start()
    assert site.entered.wait(TIMEOUT)
    # The view is blocked: Socket.IO, another page and an emit from a view still work.
    news: list[str] = []
    with Client() as client:
        client.on("news", news.append)
        client.connect(site.url, transports=["websocket"])
        assert client.call("echo", "hi", timeout=TIMEOUT) == ["hi"]
        assert get(site.url + "/fast") == b"fast"
        assert get(site.url + "/emit") == b"sent"
        deadline = time.monotonic() + TIMEOUT
        while not news and time.monotonic() < deadline:
            time.sleep(0.01)
        assert news == ["from a view"]
    assert results == []
    site.release.set()
    waiting.join(TIMEOUT)
    assert results == [b"slow"]


def test_pipelined_answers_keep_their_order(site: Site) -> None:
    payload = (
        b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    threading.Timer(0.1, site.release.set).start()
    answers = raw_responses(site.server.port, payload, 3)
    assert [status for status, _ in answers] == [200, 200, 200]
    assert answers[0][1] == b"slow"
    assert answers[1][1] == b"fast"
    assert answers[2][1].startswith(b'0{"sid":')


def test_a_client_leaving_mid_view_is_forgotten(site: Site) -> None:
    with socket.create_connection(("127.0.0.1", site.server.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        assert site.entered.wait(TIMEOUT)
    site.release.set()  # its answer has nowhere to go
    assert get(site.url + "/fast") == b"fast"


def test_graceful_close_lets_a_running_view_answer() -> None:
    _, _, site = make_site()
    server = site.server
    server.start()
    results: list[bytes] = []
    waiting = threading.Thread(target=lambda: results.append(get(site.url + "/slow")))
    waiting.start()
    assert site.entered.wait(TIMEOUT)
    closing = threading.Thread(target=server.close)
    closing.start()
    time.sleep(0.05)
    assert closing.is_alive()  # waiting for the view
    site.release.set()
    closing.join(TIMEOUT)
    waiting.join(TIMEOUT)
    assert results == [b"slow"]
    assert not any(t.name.startswith("socketio_proto-server-http") for t in threading.enumerate())


def test_a_plain_fallback_runs_off_the_lock_too() -> None:
    seen: list[str] = []

    def page(request: HttpRequest) -> HttpResponse:
        seen.append(threading.current_thread().name)
        return HttpResponse(200, (("Content-Type", "text/plain"),), request.path.encode())

    with ThreadedServer(Server(), port=0, fallback=page) as server:
        assert get(server.url + "/page") == b"/page"
    assert seen[0].startswith("socketio_proto-server-http")


def test_fallback_and_wsgi_are_exclusive() -> None:
    with pytest.raises(ValueError, match="not both"):
        ThreadedServer(Server(), wsgi=flask.Flask(__name__), fallback=lambda r: HttpResponse(204))
