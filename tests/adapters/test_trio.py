"""The trio adapter on real sockets (127.0.0.1): TrioServer against TrioClient and raw clients.

Plain pytest: every test runs its own ``trio.run``.  Waits are on events and
channels under ``trio.fail_after``, never on fixed sleeps.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import math
import socket
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import trio
from wsproto import ConnectionType, WSConnection
from wsproto import events as ws_events

from socketio_proto.app import Server
from socketio_proto.demo import create_app, demo_engine_config, demo_fallback
from socketio_proto.errors import LocalProtocolError
from socketio_proto.socketio.config import ClientConfig, ReconnectionConfig
from socketio_proto.trio import AckTimeout, ConnectFailed, TrioClient, TrioServer
from tests.support.demo_server import running_demo

TIMEOUT = 5.0
TRANSPORTS: dict[str, list[str] | None] = {
    "websocket": ["websocket"],
    "polling": ["polling"],
    "upgrade": None,  # polling first, then the upgrade to WebSocket
}
NO_RECONNECT = ClientConfig(reconnection=ReconnectionConfig(enabled=False))


def run(test: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        with trio.fail_after(15):
            await test()

    trio.run(bounded)


@contextlib.asynccontextmanager
async def serving(app: Server | None = None, **options: Any) -> AsyncIterator[TrioServer]:
    """A started TrioServer (the demo app by default) on a free port."""
    if app is None:
        app = create_app()
        options.setdefault("fallback", demo_fallback())
    server = TrioServer(app, port=0, **options)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve)
        try:
            yield server
        finally:  # also when the test failed: the nursery would wait for serve() forever
            await server.aclose()


class Inbox:
    """Collects what a handler receives; ``await inbox.get()`` the next item, in order."""

    def __init__(self) -> None:
        self._send, self._receive = trio.open_memory_channel[Any](math.inf)

    def __call__(self, *args: Any) -> None:
        self._send.send_nowait(args[0] if len(args) == 1 else args)

    async def get(self) -> Any:
        with trio.fail_after(TIMEOUT):
            return await self._receive.receive()

    def empty(self) -> bool:
        return self._receive.statistics().current_buffer_used == 0


def make_client(config: ClientConfig = NO_RECONNECT) -> tuple[TrioClient, Inbox, Inbox]:
    """A client whose /test "my response" and "disconnect" go to inboxes."""
    client = TrioClient(config)
    responses, disconnects = Inbox(), Inbox()
    client.on("my response", responses, namespace="/test")
    client.on("disconnect", disconnects, namespace="/test")
    return client, responses, disconnects


# -- the demo application, on each transport --------------------------------------------------


@pytest.mark.parametrize("mode", TRANSPORTS)
def test_connect_event_and_echo(mode: str) -> None:
    async def main() -> None:
        async with serving() as server:
            client, responses, _ = make_client()
            async with client:
                await client.connect(
                    server.url, namespaces=["/test", "/"], transports=TRANSPORTS[mode]
                )
                assert client.connected and client.sid("/test") and client.sid("/")
                assert await responses.get() == {"data": "Connected"}
                await client.emit("my event", {"data": "hello"}, namespace="/test")
                assert await responses.get() == {"data": "hello"}
                args = ["text", 42, b"\x00\xffbinary", {"nested": [b"\x01", None, 1.5]}]
                assert await client.call("echo", *args) == args
                acked = Inbox()
                await client.emit("echo", b"\x02", "x", callback=acked)
                assert await acked.get() == (b"\x02", "x")
                if mode == "upgrade":
                    with trio.fail_after(TIMEOUT):
                        while client.transport != "websocket":
                            await trio.sleep(0.01)
                assert client.transport == ("polling" if mode == "polling" else "websocket")

    run(main)


@pytest.mark.parametrize("mode", TRANSPORTS)
def test_broadcast_and_rooms(mode: str) -> None:
    async def main() -> None:
        async with serving() as server:
            a, a_responses, _ = make_client()
            b, b_responses, _ = make_client()
            async with a, b:
                for client, responses in ((a, a_responses), (b, b_responses)):
                    await client.connect(
                        server.url, namespaces=["/test"], transports=TRANSPORTS[mode]
                    )
                    assert await responses.get() == {"data": "Connected"}
                await a.emit("my broadcast event", {"data": "all"}, namespace="/test")
                assert await a_responses.get() == {"data": "all"}
                assert await b_responses.get() == {"data": "all"}

                assert await a.call("join", {"room": "r"}, namespace="/test") == [True]
                await b.emit("my room event", {"room": "r", "data": "room"}, namespace="/test")
                assert await a_responses.get() == {"data": "room"}
                # b is not in the room: its next message is the answer to a later event.
                await b.emit("my event", {"data": "after"}, namespace="/test")
                assert await b_responses.get() == {"data": "after"}
                assert a_responses.empty()

    run(main)


@pytest.mark.parametrize("mode", TRANSPORTS)
def test_server_initiated_disconnect(mode: str) -> None:
    async def main() -> None:
        async with serving() as server:
            client, responses, disconnects = make_client()
            async with client:
                await client.connect(server.url, namespaces=["/test"], transports=TRANSPORTS[mode])
                assert await responses.get() == {"data": "Connected"}
                await client.emit("disconnect request", namespace="/test")
                assert await responses.get() == {"data": "Disconnected!"}
                assert await disconnects.get() == "io server disconnect"
                assert client.sid("/test") is None

    run(main)


@pytest.mark.parametrize("mode", TRANSPORTS)
def test_unknown_namespace_is_refused(mode: str) -> None:
    async def main() -> None:
        async with serving() as server, TrioClient(NO_RECONNECT) as client:
            with pytest.raises(ConnectFailed, match="/nowhere refused") as failed:
                await client.connect(
                    server.url, namespaces=["/nowhere"], transports=TRANSPORTS[mode]
                )
            assert failed.value.refusal is not None
            assert not client.connected

    run(main)


def test_unreachable_server() -> None:
    async def main() -> None:
        with socket.socket() as sock:  # a port nobody listens on
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        async with TrioClient(NO_RECONNECT) as client:
            with pytest.raises(ConnectFailed):
                await client.connect(f"http://127.0.0.1:{port}", wait_timeout=TIMEOUT)

    run(main)


@pytest.mark.parametrize("mode", TRANSPORTS)
def test_500_messages_in_order(mode: str) -> None:
    async def main() -> None:
        async with serving() as server:
            client, responses, _ = make_client()
            async with client:
                await client.connect(server.url, namespaces=["/test"], transports=TRANSPORTS[mode])
                assert await responses.get() == {"data": "Connected"}
                for i in range(500):
                    await client.emit("my event", {"data": i}, namespace="/test")
                assert [(await responses.get())["data"] for _ in range(500)] == list(range(500))

    run(main)


def test_server_call_and_ack_timeout() -> None:
    async def main() -> None:
        async with serving() as server, TrioClient(NO_RECONNECT) as client:
            client.on("question", lambda text: text.upper())
            client.on("ignored", lambda: None)
            await client.connect(server.url)
            sid = client.sid("/")
            assert sid is not None
            assert await server.call("question", "why", to=sid) == ["WHY"]
            with pytest.raises(AckTimeout):
                await server.call("unhandled", to=sid, timeout=0.05)

    run(main)


# -- server behaviours -------------------------------------------------------------------------


def test_port_in_use() -> None:
    async def main() -> None:
        async with serving() as first:
            second = TrioServer(create_app(), port=first.port)
            with pytest.raises(OSError, match="already in use") as failed:
                await second.serve()
            assert failed.value.errno == errno.EADDRINUSE
            assert f"127.0.0.1:{first.port}" in str(failed.value)

    run(main)


def test_fallback_page_and_polling_handshake() -> None:
    async def main() -> None:
        async with serving() as server:

            def fetch(path: str) -> tuple[int, bytes]:
                with urllib.request.urlopen(server.url + path, timeout=TIMEOUT) as response:
                    return response.status, response.read()

            status, page = await trio.to_thread.run_sync(fetch, "/")
            assert status == 200 and b"<html" in page.lower()
            status, body = await trio.to_thread.run_sync(
                fetch, "/socket.io/?EIO=4&transport=polling"
            )
            assert status == 200 and body.startswith(b'0{"sid":')

    run(main)


def test_other_threads_go_through_call_threadsafe() -> None:
    async def main() -> None:
        app = create_app()
        async with serving(app, fallback=demo_fallback()) as server:
            client, responses, _ = make_client()
            async with client:
                await client.connect(server.url, namespaces=["/test", "/"])
                assert await responses.get() == {"data": "Connected"}

                def from_thread() -> None:
                    with pytest.raises(LocalProtocolError, match="call_threadsafe"):
                        app.emit("my response", {"data": "direct"}, namespace="/test")
                    emit = functools.partial(app.emit, namespace="/test")
                    future = server.call_threadsafe(emit, "my response", {"data": "via trio"})
                    assert future.result(TIMEOUT) is None

                await trio.to_thread.run_sync(from_thread)
                assert await responses.get() == {"data": "via trio"}
                # The client's side too, coroutine functions included.
                future = await trio.to_thread.run_sync(
                    lambda: client.call_threadsafe(client.call, "echo", "x")
                )
                assert await trio.to_thread.run_sync(future.result, TIMEOUT) == ["x"]

    run(main)


@pytest.mark.parametrize("mode", ["websocket", "polling"])
@pytest.mark.parametrize("how", ["aclose", "cancel"])
def test_graceful_shutdown(how: str, mode: str) -> None:
    async def main() -> None:
        server = TrioServer(create_app(), port=0, shutdown_timeout=2.0)
        client, responses, disconnects = make_client()
        served = trio.Event()

        async def serve(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            try:
                await server.serve(task_status=task_status)
            finally:
                served.set()

        async with client, trio.open_nursery() as nursery:
            await nursery.start(serve)
            await client.connect(server.url, namespaces=["/test"], transports=TRANSPORTS[mode])
            assert await responses.get() == {"data": "Connected"}
            if how == "aclose":
                await server.aclose()
            else:
                nursery.cancel_scope.cancel()
            assert await disconnects.get() in ("server shutting down", "transport close")
            with trio.fail_after(TIMEOUT):
                await served.wait()
                await client.wait()

    run(main)


def test_handler_errors_are_logged_and_survived(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        app = Server(engine_config=demo_engine_config())

        @app.on("boom")
        def boom(sid: str) -> None:
            raise RuntimeError("sync boom")

        @app.on("aboom")
        async def aboom(sid: str) -> None:
            await trio.sleep(0)
            raise RuntimeError("async boom")

        @app.on("ping")
        def ping(sid: str) -> str:
            return "pong"

        async with serving(app) as server, TrioClient(NO_RECONNECT) as client:
            await client.connect(server.url)
            await client.emit("boom")
            await client.emit("aboom")
            assert await client.call("ping") == ["pong"]
            with trio.fail_after(TIMEOUT):
                while "async boom" not in caplog.text:
                    await trio.sleep(0.01)

    with caplog.at_level(logging.ERROR, logger="socketio_proto.trio"):
        run(main)
    assert "sync boom" in caplog.text and "async boom" in caplog.text


@pytest.mark.parametrize("concurrent", [False, True])
def test_job_scheduling(concurrent: bool) -> None:
    async def main() -> None:
        app = Server(engine_config=demo_engine_config())
        log: list[tuple[str, int]] = []
        done = Inbox()

        @app.on("work")
        async def work(sid: str, n: int) -> None:
            log.append(("start", n))
            await trio.sleep(0.05)
            log.append(("end", n))
            done(n)

        async with (
            serving(app, concurrent=concurrent) as server,
            TrioClient(NO_RECONNECT) as client,
        ):
            await client.connect(server.url, transports=["websocket"])
            await client.emit("work", 1)
            await client.emit("work", 2)
            assert {await done.get(), await done.get()} == {1, 2}
        if concurrent:  # both started before either ended (trio may start them in any order)
            assert [kind for kind, _ in log] == ["start", "start", "end", "end"]
        else:
            assert log == [("start", 1), ("end", 1), ("start", 2), ("end", 2)]

    run(main)


def test_slow_consumer_is_cut_off() -> None:
    limit = 64 * 1024
    payload = "x" * 8192

    async def main() -> None:
        app = Server(engine_config=demo_engine_config())
        joined, left = Inbox(), Inbox()

        @app.on("connect")
        def connect(sid: str) -> None:
            joined(sid)

        @app.on("disconnect")
        def disconnect(sid: str, reason: str) -> None:
            left(reason)

        @app.on("echo")
        def echo(sid: str, *args: Any) -> tuple[Any, ...]:
            return args

        async with serving(app, max_outgoing_bytes=limit) as server:
            # A raw WebSocket client with a tiny receive buffer that stops reading.
            sock = trio.socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            await sock.connect(("127.0.0.1", server.port))
            stream = trio.SocketStream(sock)
            ws = WSConnection(ConnectionType.CLIENT)
            target = "/socket.io/?EIO=4&transport=websocket"
            await stream.send_all(ws.send(ws_events.Request(host="127.0.0.1", target=target)))
            opened = False
            with trio.fail_after(TIMEOUT):
                while not opened:
                    ws.receive_data(await stream.receive_some(65536))
                    for event in ws.events():
                        if isinstance(event, ws_events.TextMessage):
                            assert event.data.startswith("0")
                            opened = True
            await stream.send_all(ws.send(ws_events.Message(data="40")))
            sid = await joined.get()

            peak = count = 0
            with trio.fail_after(TIMEOUT):
                while left.empty():
                    count += 1
                    app.emit("flood", payload, to=sid)
                    await trio.sleep(0)
                    peak = max(peak, server.outgoing_bytes)
            assert await left.get() == "transport close"
            assert count * len(payload) > limit  # the flood did exceed the bound
            assert peak <= limit + len(payload) + 1024
            assert server.outgoing_bytes == 0
            # Other clients are served as usual.
            async with TrioClient(NO_RECONNECT) as client:
                await client.connect(server.url)
                assert await client.call("echo", 1) == [1]
            # The raw client gets what the kernel buffers held, then the hang-up.
            with trio.fail_after(TIMEOUT), contextlib.suppress(trio.BrokenResourceError):
                while await stream.receive_some(65536):
                    pass
            await stream.aclose()

    run(main)


def test_reconnects_after_restart() -> None:
    config = ClientConfig(reconnection=ReconnectionConfig(delay=0.05, delay_max=0.1))

    async def main() -> None:
        client, responses, disconnects = make_client(config)
        async with client:
            async with serving() as first:
                port = first.port
                await client.connect(first.url, namespaces=["/test"], transports=["websocket"])
                assert await responses.get() == {"data": "Connected"}
            assert await disconnects.get() in ("server shutting down", "transport close")
            second = TrioServer(create_app(), port=port)
            async with trio.open_nursery() as nursery:
                await nursery.start(second.serve)
                assert await responses.get() == {"data": "Connected"}  # joined again
                await client.emit("my event", {"data": "back"}, namespace="/test")
                assert await responses.get() == {"data": "back"}
                await client.disconnect()
                await second.aclose()

    run(main)


def test_demo_cli_exits_cleanly_on_sigint() -> None:
    with running_demo("trio") as demo:
        with urllib.request.urlopen(demo.url + "/", timeout=TIMEOUT) as response:
            assert response.status == 200
        url = demo.url + "/socket.io/?EIO=4&transport=polling"
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            assert response.read().startswith(b'0{"sid":')


# -- the connection's writes ----------------------------------------------------------------


def test_writes_go_out_at_once_and_in_order_when_the_peer_stalls() -> None:
    from socketio_proto.trio._common import Connection

    async def main() -> None:
        ours, theirs = socket.socketpair()
        theirs.setblocking(False)
        stream = trio.SocketStream(trio.socket.from_stdlib_socket(ours))
        conn = Connection(1)

        async def opened() -> trio.abc.Stream:
            return stream

        async with trio.open_nursery() as nursery:
            nursery.start_soon(
                functools.partial(
                    conn.run, opened, lambda _id, _data: None, lambda: None, close_on_eof=False
                )
            )
            await trio.testing.wait_all_tasks_blocked()
            # An idle plain-TCP connection sends in write() itself: no task has run since.
            conn.write(b"now")
            assert theirs.recv(16) == b"now"
            # The peer stops reading: what the socket refuses queues, later writes behind it.
            chunks = [bytes([n]) * 300_000 for n in range(1, 9)]
            for chunk in chunks:
                conn.write(chunk)
            assert conn.unwritten > 0
            received = bytearray()
            while len(received) < sum(map(len, chunks)):
                with contextlib.suppress(BlockingIOError):
                    received += theirs.recv(1 << 20)
                await trio.sleep(0)
            assert bytes(received) == b"".join(chunks)
            await trio.testing.wait_all_tasks_blocked()
            assert conn.unwritten == 0
            conn.close()
        theirs.close()

    run(main)
