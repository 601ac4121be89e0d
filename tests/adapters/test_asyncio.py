"""The asyncio adapter: AsyncServer and AsyncClient over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import pytest

from socketio_proto.app import Server
from socketio_proto.asyncio import AckTimeout, AsyncClient, AsyncServer, ConnectFailed
from socketio_proto.demo import create_app, demo_fallback
from socketio_proto.engineio.config import EngineConfig
from socketio_proto.errors import LocalProtocolError
from socketio_proto.socketio.config import ClientConfig, ReconnectionConfig

T = TypeVar("T")
MODES: list[list[str] | None] = [["websocket"], ["polling"], None]
MODE_IDS = ["websocket", "polling", "upgrade"]
TIMEOUT = 10.0


def run(main: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(main(), 30)

    return asyncio.run(bounded())


@asynccontextmanager
async def demo_server(**options: Any) -> AsyncIterator[AsyncServer]:
    async with AsyncServer(create_app(), port=0, fallback=demo_fallback(), **options) as server:
        yield server


class Inbox:
    """What a client's handlers received, with a way to wait for more."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._changed = asyncio.Event()

    def add(self, *args: Any) -> None:
        self.items.append(args[0] if len(args) == 1 else args)
        self._changed.set()

    async def wait_for(self, count: int) -> list[Any]:
        async with asyncio.timeout(TIMEOUT):
            while len(self.items) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.items


async def connect_client(
    server: AsyncServer, transports: list[str] | None, namespaces: tuple[str, ...] = ("/test", "/")
) -> tuple[AsyncClient, Inbox]:
    client = AsyncClient()
    inbox = Inbox()
    client.on("my response", inbox.add, namespace="/test")
    await client.connect(server.url, namespaces=list(namespaces), transports=transports)
    return client, inbox


@pytest.mark.parametrize("transports", MODES, ids=MODE_IDS)
def test_demo_behaviours(transports: list[str] | None) -> None:
    async def main() -> None:
        async with demo_server() as server:
            a, a_box = await connect_client(server, transports)
            b, b_box = await connect_client(server, transports)
            assert await a_box.wait_for(1) == [{"data": "Connected"}]
            await b_box.wait_for(1)

            await a.emit("my event", {"data": "hi"}, namespace="/test")
            assert (await a_box.wait_for(2))[1] == {"data": "hi"}

            args = [1, "ü ☃", b"\x00\xff", {"nested": [b"\x01", {"deep": b"\x02"}]}, None]
            assert await a.call("echo", *args) == args
            assert await a.call("echo") == []

            await b.emit("my broadcast event", {"data": "all"}, namespace="/test")
            assert (await a_box.wait_for(3))[2] == {"data": "all"}
            assert (await b_box.wait_for(2))[1] == {"data": "all"}

            assert await a.call("join", {"room": "r"}, namespace="/test") == [True]
            await b.emit("my room event", {"room": "r", "data": "members"}, namespace="/test")
            assert (await a_box.wait_for(4))[3] == {"data": "members"}
            # b is not a member: the next thing it gets is the sentinel, not the room event.
            await b.emit("my event", {"data": "sentinel"}, namespace="/test")
            assert (await b_box.wait_for(3))[2] == {"data": "sentinel"}
            assert await a.call("leave", {"room": "r"}, namespace="/test") == [True]

            reasons = Inbox()
            a.on("disconnect", reasons.add, namespace="/test")
            await a.emit("disconnect request", namespace="/test")
            assert (await a_box.wait_for(5))[4] == {"data": "Disconnected!"}
            assert await reasons.wait_for(1) == ["io server disconnect"]
            assert a.sid("/test") is None and a.sid("/") is not None
            if transports is None:
                assert a.transport == "websocket"
            await a.disconnect()
            await b.disconnect()

    run(main)


@pytest.mark.parametrize("transports", MODES, ids=MODE_IDS)
def test_five_hundred_messages_arrive_in_order(transports: list[str] | None) -> None:
    async def main() -> None:
        async with demo_server() as server:
            client = AsyncClient()
            inbox = Inbox()
            client.on("my response", inbox.add, namespace="/test")
            # Emitting from the connect handler: in upgrade mode the stream starts on
            # polling and crosses the switch to WebSocket.
            client.on(
                "connect",
                lambda: [
                    asyncio.ensure_future(client.emit("my event", {"data": n}, namespace="/test"))
                    for n in range(500)
                ],
                namespace="/test",
            )
            await client.connect(server.url, namespaces=["/test"], transports=transports)
            items = await inbox.wait_for(501)
            assert items == [{"data": "Connected"}] + [{"data": n} for n in range(500)]
            await client.disconnect()

    run(main)


def test_unknown_namespace_is_refused() -> None:
    async def main() -> None:
        async with demo_server() as server:
            client = AsyncClient()
            with pytest.raises(ConnectFailed, match="Invalid namespace") as caught:
                await client.connect(server.url, namespaces=["/nope"])
            assert caught.value.refusal is not None

    run(main)


def test_unreachable_server_fails_fast() -> None:
    async def main() -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        client = AsyncClient()
        with pytest.raises(ConnectFailed, match="cannot connect"):
            await client.connect(f"http://127.0.0.1:{port}", wait_timeout=5)

    run(main)


def test_port_in_use_gives_a_clear_error() -> None:
    async def main() -> None:
        async with demo_server() as first:
            second = AsyncServer(create_app(), port=first.port)
            with pytest.raises(OSError, match=r"cannot listen on 127\.0\.0\.1:\d+: .*in use"):
                await second.start()

    run(main)


def test_the_page_is_served_next_to_socketio() -> None:
    async def main() -> None:
        async with demo_server() as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            response = await reader.read()
            writer.close()
            assert response.startswith(b"HTTP/1.1 200 ")
            assert b'io("/test")' in response

    run(main)


def test_app_calls_from_another_thread_are_refused_and_call_threadsafe_works() -> None:
    async def main() -> None:
        async with demo_server() as server:
            client, inbox = await connect_client(server, ["websocket"], ("/test",))
            await inbox.wait_for(1)
            errors: list[BaseException] = []

            def from_thread() -> None:
                try:
                    server.app.emit("my response", {"data": "direct"}, namespace="/test")
                except LocalProtocolError as exc:
                    errors.append(exc)
                future = server.call_threadsafe(
                    server.app.emit, "my response", {"data": "safe"}, namespace="/test"
                )
                future.result(TIMEOUT)

            await asyncio.to_thread(from_thread)
            assert len(errors) == 1 and "call_threadsafe" in str(errors[0])
            assert (await inbox.wait_for(2))[1] == {"data": "safe"}
            await client.disconnect()

    run(main)


def test_server_call_awaits_the_clients_ack_and_times_out() -> None:
    async def main() -> None:
        async with demo_server() as server:
            client = AsyncClient()
            client.on("question", lambda n: n * 2)
            await client.connect(server.url)
            sid = client.sid("/")
            assert sid is not None
            assert await server.call("question", 21, to=sid) == [42]
            with pytest.raises(AckTimeout):
                await server.call("unknown-event", to=sid, timeout=0.2)

            def from_thread() -> list[Any]:
                # A coroutine function is awaited in the loop; the future has its result
                # (typed: mypy checks this assignment through call_threadsafe's overloads).
                answer: list[Any] = server.call_threadsafe(
                    server.call, "question", 5, to=sid
                ).result(TIMEOUT)
                return answer

            assert await asyncio.to_thread(from_thread) == [10]
            await client.disconnect()

    run(main)


def test_graceful_shutdown_tells_clients() -> None:
    async def main() -> None:
        server = AsyncServer(create_app(), port=0)
        await server.start()
        config = ClientConfig(reconnection=ReconnectionConfig(enabled=False))
        client = AsyncClient(config)
        reasons = Inbox()
        client.on("disconnect", reasons.add, namespace="/test")
        await client.connect(server.url, namespaces=["/test"], transports=["websocket"])
        serving = asyncio.ensure_future(server.serve_forever())
        await server.close()
        await asyncio.wait_for(serving, TIMEOUT)
        assert (await reasons.wait_for(1))[0] in ("io server disconnect", "transport close")
        await asyncio.wait_for(client.wait(), TIMEOUT)

    run(main)


def test_client_reconnects_when_the_server_comes_back() -> None:
    async def main() -> None:
        server = AsyncServer(create_app(), port=0)
        await server.start()
        port = server.port
        config = ClientConfig(reconnection=ReconnectionConfig(delay=0.05, delay_max=0.1))
        client = AsyncClient(config)
        connects = Inbox()
        client.on("connect", lambda: connects.add("up"), namespace="/test")
        await client.connect(server.url, namespaces=["/test"], transports=["websocket"])
        await connects.wait_for(1)
        await server.close(timeout=1)
        async with AsyncServer(create_app(), port=port):
            await connects.wait_for(2)
            assert client.sid("/test") is not None
            await client.disconnect()

    run(main)


def test_a_client_that_stops_reading_is_cut_off() -> None:
    """The slow-consumer bound: unwritten bytes past the limit close the connection."""

    async def main() -> None:
        app = create_app()
        flood = "x" * 60_000

        @app.on("flood")
        def on_flood(sid: str) -> None:
            for _ in range(200):
                app.emit("data", flood, to=sid)

        async with AsyncServer(app, port=0, max_outgoing_bytes=256 * 1024) as server:
            sock = socket.create_connection(("127.0.0.1", server.port))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.setblocking(False)
            loop = asyncio.get_running_loop()
            key = "dGhlIHNhbXBsZSBub25jZQ=="
            request = (
                "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            await loop.sock_sendall(sock, request.encode())
            await asyncio.sleep(0.2)
            # Masked client frames: "40" (CONNECT /), then '42["flood"]'.
            for text in (b"40", b'42["flood"]'):
                await loop.sock_sendall(sock, bytes([0x81, 0x80 | len(text), 0, 0, 0, 0]) + text)
            # Never read again; the server must hang up rather than buffer 12 MB.
            async with asyncio.timeout(TIMEOUT):
                while server._transports:
                    await asyncio.sleep(0.05)
            sock.close()

    run(main)


@pytest.mark.parametrize("concurrent", [False, True])
def test_handler_scheduling(concurrent: bool) -> None:
    async def main() -> None:
        app = Server(engine_config=EngineConfig(path="/socket.io/"))
        log: list[str] = []

        @app.on("work")
        async def work(sid: str, name: str, delay: float) -> str:
            log.append(f"start {name}")
            await asyncio.sleep(delay)
            log.append(f"end {name}")
            return name

        async with AsyncServer(app, port=0, concurrent=concurrent) as server:
            client = AsyncClient()
            await client.connect(server.url, transports=["websocket"])
            slow = asyncio.ensure_future(client.call("work", "slow", 0.3))
            fast = asyncio.ensure_future(client.call("work", "fast", 0.0))
            assert await slow == ["slow"] and await fast == ["fast"]
            await client.disconnect()
        if concurrent:
            assert log == ["start slow", "start fast", "end fast", "end slow"]
        else:
            assert log == ["start slow", "end slow", "start fast", "end fast"]

    run(main)


def test_a_failing_handler_is_logged_and_the_server_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        app = create_app()

        @app.on("boom")
        def boom(sid: str) -> None:
            raise RuntimeError("kaboom")

        async with AsyncServer(app, port=0) as server:
            client = AsyncClient()
            await client.connect(server.url, transports=["websocket"])
            await client.emit("boom")
            assert await client.call("echo", "still alive") == ["still alive"]
            await client.disconnect()

    run(main)
    assert any("kaboom" in record.exc_text for record in caplog.records if record.exc_text)


def test_client_api_misuse_is_reported() -> None:
    async def main() -> None:
        client = AsyncClient()
        with pytest.raises(LocalProtocolError, match="connect"):
            await client.emit("x")
        with pytest.raises(ValueError, match="scheme"):
            await client.connect("ftp://127.0.0.1:1")
        async with demo_server() as server:
            await client.connect(server.url)
            with pytest.raises(LocalProtocolError, match="already connected"):
                await client.connect(server.url)
            result: list[BaseException] = []

            def other_thread() -> None:
                try:
                    asyncio.run(client.emit("x"))
                except LocalProtocolError as exc:
                    result.append(exc)

            thread = threading.Thread(target=other_thread)
            thread.start()
            thread.join(TIMEOUT)
            assert result and "call_threadsafe" in str(result[0])
            await client.disconnect()

    run(main)
