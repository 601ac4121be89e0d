"""The threads adapter on real sockets (127.0.0.1): :class:`ThreadedServer` and :class:`Client`.

The demo application is served to the blocking client over each transport setting
(WebSocket only, polling only, polling then upgrade).  Then what is particular to
threads: application calls from any thread, per-thread ordering under concurrent
emits, sequential versus concurrent handlers, a consumer that stops reading, graceful
shutdown without leaked threads, the demo CLI, and TLS.  Waits are on events with
timeouts, never fixed sleeps.
"""

from __future__ import annotations

import errno
import json
import logging
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Message, Request, TextMessage

from socketio_proto.app import Server
from socketio_proto.demo import create_app, demo_fallback
from socketio_proto.engineio.config import EngineConfig
from socketio_proto.errors import LocalProtocolError
from socketio_proto.socketio.config import ClientConfig, ReconnectionConfig
from socketio_proto.threads import AckTimeout, Client, ConnectFailed, ThreadedServer
from socketio_proto.threads import _common as threads_common
from tests.support.demo_server import running_demo
from tests.support.tls import Certificate, self_signed_certificate

TIMEOUT = 5.0
TRANSPORTS = {"websocket": ["websocket"], "polling": ["polling"], "upgrade": None}


class Inbox:
    """What a client's handlers received, by event name, with blocking waits."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.items: list[tuple[str, tuple[Any, ...]]] = []

    def handler(self, name: str, answer: Any = None) -> Callable[..., Any]:
        def record(*args: Any) -> Any:
            with self._cond:
                self.items.append((name, args))
                self._cond.notify_all()
            return answer

        return record

    def of(self, name: str) -> list[tuple[Any, ...]]:
        with self._cond:
            return [args for event, args in self.items if event == name]

    def wait(self, name: str, count: int = 1, timeout: float = TIMEOUT) -> list[tuple[Any, ...]]:
        with self._cond:
            found = self._cond.wait_for(lambda: len(self.of(name)) >= count, timeout)
        assert found, f"{count} {name!r} expected, got {self.of(name)}"
        return self.of(name)


def wait_until(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def client_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("socketio_proto-client")]


@pytest.fixture
def demo_server() -> Iterator[ThreadedServer]:
    with ThreadedServer(create_app(), port=0, fallback=demo_fallback()) as server:
        yield server


@pytest.fixture(params=list(TRANSPORTS), ids=list(TRANSPORTS))
def transports(request: pytest.FixtureRequest) -> list[str] | None:
    return TRANSPORTS[request.param]


def demo_client(
    server: ThreadedServer, transports: list[str] | None, inbox: Inbox | None = None
) -> tuple[Client, Inbox]:
    inbox = inbox if inbox is not None else Inbox()
    client = Client()
    for event in ("my response", "disconnect", "connect"):
        client.on(event, inbox.handler(event), namespace="/test")
    client.connect(server.url, namespaces=["/", "/test"], transports=transports)
    return client, inbox


# -- the demo application over each transport ---------------------------------------------


def test_demo_connect_event_and_echo(
    demo_server: ThreadedServer, transports: list[str] | None
) -> None:
    client, inbox = demo_client(demo_server, transports)
    with client:
        assert inbox.wait("my response") == [({"data": "Connected"},)]
        assert client.sid("/test") is not None
        client.emit("my event", {"data": "hello"}, namespace="/test")
        assert inbox.wait("my response", 2)[1] == ({"data": "hello"},)
        args = ["text", b"\x00\xffbytes", {"nested": [1, 2.5, None, b"\x01"]}, True]
        assert client.call("echo", *args) == args
        if transports is None:
            wait_until(lambda: client.transport == "websocket")
            assert client.call("echo", b"after upgrade") == [b"after upgrade"]
        else:
            assert client.transport == transports[0]
        acked = Inbox()
        client.emit("echo", 1, "two", callback=acked.handler("ack"))
        assert acked.wait("ack") == [(1, "two")]


def test_broadcast_and_rooms(demo_server: ThreadedServer, transports: list[str] | None) -> None:
    first, one = demo_client(demo_server, transports)
    second, two = demo_client(demo_server, ["websocket"])
    with first, second:
        one.wait("my response")
        two.wait("my response")
        first.emit("my broadcast event", {"data": "to all"}, namespace="/test")
        assert one.wait("my response", 2)[1] == ({"data": "to all"},)
        assert two.wait("my response", 2)[1] == ({"data": "to all"},)

        assert first.call("join", {"room": "blue"}, namespace="/test") == [True]
        first.emit("my room event", {"room": "blue", "data": "members only"}, namespace="/test")
        assert one.wait("my response", 3)[2] == ({"data": "members only"},)
        # The server emits in order to each client: once the marker arrives, the room
        # message would have arrived before it.
        second.emit("my broadcast event", {"data": "marker"}, namespace="/test")
        assert two.wait("my response", 3)[2] == ({"data": "marker"},)
        assert ({"data": "members only"},) not in two.of("my response")

        assert first.call("leave", {"room": "blue"}, namespace="/test") == [True]
        second.emit("my room event", {"room": "blue", "data": "nobody"}, namespace="/test")
        second.emit("my broadcast event", {"data": "marker 2"}, namespace="/test")
        assert one.wait("my response", 5)[4] == ({"data": "marker 2"},)
        assert ({"data": "nobody"},) not in one.of("my response")


def test_server_initiated_disconnect(
    demo_server: ThreadedServer, transports: list[str] | None
) -> None:
    client, inbox = demo_client(demo_server, transports)
    with client:
        inbox.wait("my response")
        client.emit("disconnect request", namespace="/test")
        assert inbox.wait("disconnect") == [("io server disconnect",)]
        assert inbox.of("my response")[-1] == ({"data": "Disconnected!"},)
        assert client.sid("/test") is None
        assert client.call("echo", "still on /") == ["still on /"]


def test_unknown_namespace_is_refused(demo_server: ThreadedServer) -> None:
    before = threading.active_count()
    client = Client()
    with pytest.raises(ConnectFailed) as failure:
        client.connect(demo_server.url + "/nope", transports=["websocket"])
    assert failure.value.refusal is not None
    assert failure.value.refusal.message == "Invalid namespace"
    assert not client.connected
    assert threading.active_count() == before


def test_unreachable_server_fails_to_connect() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nobody listens there
    client = Client()
    with pytest.raises(ConnectFailed):
        client.connect(f"http://127.0.0.1:{port}", wait_timeout=TIMEOUT)


def test_500_messages_in_order(demo_server: ThreadedServer, transports: list[str] | None) -> None:
    client, inbox = demo_client(demo_server, transports)
    with client:
        inbox.wait("my response")
        for i in range(500):
            client.emit("my event", {"data": i}, namespace="/test")
        received = inbox.wait("my response", 501)
        assert [args[0]["data"] for args in received[1:]] == list(range(500))


# -- threads ----------------------------------------------------------------------------


def test_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        before = threading.active_count()
        server = ThreadedServer(create_app(), port=port)
        with pytest.raises(OSError, match="already in use") as error:
            server.start()
        assert error.value.errno == errno.EADDRINUSE
        assert threading.active_count() == before
        server.close()  # never started: nothing to do


def test_emit_from_a_foreign_thread(demo_server: ThreadedServer) -> None:
    client, inbox = demo_client(demo_server, ["websocket"])
    with client:
        inbox.wait("my response")
        thread = threading.Thread(
            target=demo_server.app.emit,
            args=("my response", {"data": "from a thread"}),
            kwargs={"namespace": "/test"},
        )
        thread.start()
        thread.join(TIMEOUT)
        assert inbox.wait("my response", 2)[1] == ({"data": "from a thread"},)
        future = demo_server.call_threadsafe(demo_server.app.rooms, client.sid("/test"))
        assert future.result(TIMEOUT) == {client.sid("/test")}


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_concurrent_emitters_keep_each_threads_order(
    demo_server: ThreadedServer, transport: str
) -> None:
    client, inbox = demo_client(demo_server, [transport])
    threads, count = 8, 100
    with client:
        client.on("seq", inbox.handler("seq"), namespace="/test")
        inbox.wait("my response")
        sid = client.sid("/test")
        start = threading.Barrier(threads)

        def emitter(n: int) -> None:
            start.wait(TIMEOUT)
            for i in range(count):
                demo_server.app.emit("seq", n, i, to=sid, namespace="/test")

        workers = [threading.Thread(target=emitter, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(TIMEOUT)
        received = inbox.wait("seq", threads * count)
        assert len(received) == threads * count
        for n in range(threads):
            assert [i for m, i in received if m == n] == list(range(count))


def test_graceful_shutdown_joins_every_thread() -> None:
    before = threading.active_count()
    app = create_app()
    left = Inbox()
    app.on("disconnect", left.handler("left"), namespace="/test")
    server = ThreadedServer(app, port=0)
    server.start()
    clients = [demo_client(server, transports) for transports in TRANSPORTS.values()]
    for _, inbox in clients:
        inbox.wait("my response")
    assert threading.active_count() > before
    started = time.monotonic()
    server.close()
    assert time.monotonic() - started < 2.0
    # The disconnect handlers ran before close() returned.
    assert [reason for _, reason in left.of("left")] == ["server shutting down"] * 3
    for client, inbox in clients:
        # The sessions close under the clients (as with the JS server's close()).
        assert inbox.wait("disconnect") == [("transport close",)]
        client.disconnect()
    assert threading.active_count() == before, [t.name for t in threading.enumerate()]
    server.close()  # twice: nothing more


def test_serve_forever_returns_after_close() -> None:
    server = ThreadedServer(create_app(), port=0)
    closer = threading.Timer(0.05, server.close)
    closer.start()
    server.serve_forever()  # starts, then returns when closed
    closer.join()
    assert server.port != 0


def test_a_consumer_that_stops_reading_is_cut_off(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app()
    gone = threading.Event()
    app.on("disconnect", lambda sid, reason: gone.set())
    bound = 64 * 1024
    blob = "x" * 16 * 1024
    with ThreadedServer(app, port=0, max_outgoing_bytes=bound) as server:
        sock, sid = raw_websocket(server.port)
        with sock, caplog.at_level(logging.WARNING, "socketio_proto.threads"):
            worst = sent = 0
            while not gone.is_set():  # the client reads nothing from here on
                assert sent < 64 * 1024 * 1024, "never cut off"
                app.emit("blob", blob, to=sid)
                sent += len(blob)
                worst = max(
                    [worst, *(link.unwritten for link in list(server._runner.links.values()))]
                )
            assert worst <= bound + len(blob) + 64  # one message past the bound at most
            assert "is not reading: cut off" in caplog.text
            wait_until(lambda: not server._runner.links)


def test_a_closing_connection_that_does_not_drain_is_cut(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(threads_common, "CLOSE_TIMEOUT", 0.2)
    app = create_app()
    blob = "x" * 16 * 1024
    with ThreadedServer(app, port=0, max_outgoing_bytes=1 << 30) as server:
        sock, sid = raw_websocket(server.port)
        with sock, caplog.at_level(logging.WARNING, "socketio_proto.threads"):
            for _ in range(500):  # 8 MB: more than the kernel buffers, so the writer blocks
                app.emit("blob", blob, to=sid)
            assert server._runner.links
            app.disconnect(sid, close=True)  # the close frame can never leave
            wait_until(lambda: not server._runner.links)
            assert "closing took too long: cut" in caplog.text


def test_reconnects_after_a_server_restart() -> None:
    config = ClientConfig(reconnection=ReconnectionConfig(delay=0.05, delay_max=0.1))
    client = Client(config)
    inbox = Inbox()
    client.on("connect", inbox.handler("connect"))
    client.on("disconnect", inbox.handler("disconnect"))
    with ThreadedServer(create_app(), port=0) as first:
        port = first.port
        client.connect(first.url, transports=["websocket"])
        inbox.wait("connect")
    with client:
        assert inbox.wait("disconnect") == [("transport close",)]
        with ThreadedServer(create_app(), port=port) as second:
            inbox.wait("connect", 2)
            assert client.call("echo", "back") == ["back"]
            assert client.sid() is not None
            second.close()


def raw_websocket(port: int) -> tuple[socket.socket, str]:
    """A bare WebSocket Engine.IO client joined to ``/``: (its socket, the socket id)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # little kernel buffering
    sock.settimeout(TIMEOUT)
    sock.connect(("127.0.0.1", port))
    ws = WSConnection(ConnectionType.CLIENT)
    target = "/socket.io/?EIO=4&transport=websocket"
    sock.sendall(ws.send(Request(host=f"127.0.0.1:{port}", target=target)))
    while True:
        ws.receive_data(sock.recv(4096))
        for event in ws.events():
            if isinstance(event, AcceptConnection):
                sock.sendall(ws.send(Message(data="40")))
            elif isinstance(event, TextMessage) and event.data.startswith("40"):
                return sock, json.loads(event.data[2:])["sid"]


def blocking_app(log: list[tuple[str, int]]) -> Server:
    app = Server(engine_config=EngineConfig(path="/socket.io/"))
    entered = [threading.Event(), threading.Event()]

    @app.on("block")
    def block(sid: str, n: int) -> int:
        log.append(("enter", n))
        entered[n].set()
        entered[1 - n].wait(0.3)  # concurrent handlers meet here; sequential ones cannot
        log.append(("exit", n))
        return n

    return app


@pytest.mark.parametrize("concurrent", [False, True], ids=["sequential", "concurrent"])
def test_handler_scheduling(concurrent: bool) -> None:
    log: list[tuple[str, int]] = []
    with ThreadedServer(blocking_app(log), port=0, concurrent=concurrent) as server:
        client = Client()
        with client:
            client.connect(server.url, transports=["websocket"])
            acks = Inbox()
            client.emit("block", 0, callback=acks.handler("ack"))
            client.emit("block", 1, callback=acks.handler("ack"))
            assert sorted(acks.wait("ack", 2)) == [(0,), (1,)]
    if concurrent:
        assert set(log[:2]) == {("enter", 0), ("enter", 1)}
    else:
        assert log == [("enter", 0), ("exit", 0), ("enter", 1), ("exit", 1)]


def test_blocking_call_inside_a_handler_of_the_same_connection() -> None:
    app = Server(engine_config=EngineConfig(path="/socket.io/"))
    server = ThreadedServer(app, port=0)

    @app.on("ask")
    def ask(sid: str, question: str) -> Any:
        return tuple(server.call("question", question, to=sid, timeout=TIMEOUT))

    @app.on("ask nobody")
    def ask_nobody(sid: str) -> str:
        try:
            server.call("unanswered", to=sid, timeout=0.1)
        except AckTimeout:
            return "timed out"
        return "answered"

    with server:
        client = Client()
        client.on("question", lambda question: f"{question}? 42")
        with client:
            client.connect(server.url, transports=["polling"])
            assert client.call("ask", "meaning") == ["meaning? 42"]
            assert client.call("ask nobody") == ["timed out"]
            with pytest.raises(LocalProtocolError, match="holding the adapter's lock"):
                server.call_threadsafe(lambda: server.call("x", to=str(client.sid()))).result()


def test_handler_errors_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    app = Server(engine_config=EngineConfig(path="/socket.io/"))

    @app.on("fail")
    def fail(sid: str) -> None:
        raise ValueError("boom")

    @app.on("coroutine")
    async def coroutine(sid: str) -> None:
        raise AssertionError("never awaited")

    @app.on("echo")
    def echo(sid: str, *args: Any) -> tuple[Any, ...]:
        return args

    with ThreadedServer(app, port=0) as server, Client() as client:
        client.connect(server.url, transports=["websocket"])
        with caplog.at_level(logging.ERROR, "socketio_proto.threads"):
            client.emit("fail")
            client.emit("coroutine")
            assert client.call("echo", "alive") == ["alive"]  # the same connection, after them
        errors = [r for r in caplog.records if r.name == "socketio_proto.threads"]
        assert [r.getMessage() for r in errors] == [
            "error in event 'fail' on /",
            "error in event 'coroutine' on /",
        ]
        assert "boom" in caplog.text
        assert "is async; use an async adapter" in caplog.text


def test_client_requires_connect_and_refuses_twice(demo_server: ThreadedServer) -> None:
    client = Client()
    with pytest.raises(LocalProtocolError, match="connect"):
        client.emit("x")
    assert client.transport is None
    assert not client.connected
    with client:
        client.connect(demo_server.url, transports=["websocket"])
        assert client.connected
        with pytest.raises(LocalProtocolError, match="already connected"):
            client.connect(demo_server.url)
    assert client.wait(TIMEOUT)


def test_disconnect_from_a_handler(
    demo_server: ThreadedServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client()
    done = threading.Event()

    @client.on("my response", namespace="/test")
    def leave(data: Any) -> None:
        client.disconnect()  # stops the client's threads, this handler's own excepted
        done.set()

    with caplog.at_level(logging.WARNING, "socketio_proto.threads"):
        client.connect(demo_server.url, namespaces=["/test"], transports=["websocket"])
        assert done.wait(TIMEOUT)
        assert client.wait(TIMEOUT)
        wait_until(lambda: not client_threads())
    assert not caplog.records


# -- the demo CLI and TLS ------------------------------------------------------------------


def test_demo_cli_serves_and_stops_on_sigint() -> None:
    with running_demo("threads") as demo:
        with urllib.request.urlopen(demo.url + "/", timeout=TIMEOUT) as page:
            assert page.status == 200
            assert b"<html" in page.read().lower()
        target = demo.url + "/socket.io/?EIO=4&transport=polling"
        with urllib.request.urlopen(target, timeout=TIMEOUT) as handshake:
            assert handshake.status == 200
            assert handshake.read().startswith(b"0{")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_tls(certificate: Certificate, transport: str) -> None:
    with ThreadedServer(create_app(), port=0, ssl=certificate.server_context()) as server:
        assert server.url.startswith("https://")
        client = Client(ssl=certificate.client_context())
        with client:
            client.connect(server.url, transports=[transport])
            payload = [b"\x00" * 100_000, "x" * 100_000]
            assert client.call("echo", *payload) == payload
