"""``socketio_proto.asgi``: path routing, the ASGI protocol in-process, and real uvicorn.

* :func:`~socketio_proto.asgi.route_path` under both mount conventions (Starlette >= 0.33
  keeps the prefix in ``scope["path"]``, older versions stripped it);
* :class:`~socketio_proto.asgi.ASGIApp` driven in-process with hand-made ASGI messages:
  404s, the lifespan (alone and wrapping another app), body limits (413), a parked
  long poll whose client leaves, WebSocket refusals, shutdown;
* our :class:`~socketio_proto.asyncio.AsyncClient` against ``ASGIApp`` on uvicorn, at
  the root and mounted under Starlette, in every transport mode; graceful shutdown; a
  real client dropping a parked poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from starlette.applications import Starlette

from socketio_proto.asgi import ASGIApp, route_path
from socketio_proto.asgi.server import Message, Scope
from socketio_proto.asyncio import AsyncClient
from socketio_proto.demo import create_app
from socketio_proto.demo.app import demo_engine_config
from socketio_proto.engineio.client import ClientConfig as EngineClientConfig
from socketio_proto.engineio.server import SessionState
from socketio_proto.errors import LocalProtocolError
from socketio_proto.limits import Limits
from socketio_proto.socketio.config import ClientConfig, ReconnectionConfig
from tests.asgi.servers import (
    HELLO,
    RunningServer,
    hello_app,
    starlette_app,
    uvicorn_server,
)

T = TypeVar("T")
TIMEOUT = 10.0
MODES: list[list[str] | None] = [["websocket"], ["polling"], None]
MODE_IDS = ["websocket", "polling", "upgrade"]
HANDSHAKE = b"EIO=4&transport=polling"


def run(main: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(main(), 30)

    return asyncio.run(bounded())


# -- route_path ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        # Not mounted.
        ({"path": "/socket.io/", "raw_path": b"/socket.io/"}, "/socket.io/"),
        ({"path": "/socket.io/", "root_path": ""}, "/socket.io/"),
        # Starlette >= 0.33 (and the ASGI spec): path is full, root_path is the mount.
        (
            {"path": "/sio/socket.io/", "root_path": "/sio", "raw_path": b"/sio/socket.io/"},
            "/socket.io/",
        ),
        (
            {"path": "/a/b/socket.io/", "root_path": "/a/b", "raw_path": b"/a/b/socket.io/"},
            "/socket.io/",
        ),
        ({"path": "/sio/socket.io/", "root_path": "/sio"}, "/socket.io/"),  # no raw_path
        ({"path": "/sio", "root_path": "/sio", "raw_path": b"/sio"}, "/"),
        # Starlette < 0.33: path already stripped, raw_path still full.
        (
            {"path": "/socket.io/", "root_path": "/sio", "raw_path": b"/sio/socket.io/"},
            "/socket.io/",
        ),
        # ... even when the rest starts with the prefix (mounted at /socket.io).
        (
            {
                "path": "/socket.io/",
                "root_path": "/socket.io",
                "raw_path": b"/socket.io/socket.io/",
            },
            "/socket.io/",
        ),
        (
            {
                "path": "/socket.io/socket.io/",
                "root_path": "/socket.io",
                "raw_path": b"/socket.io/socket.io/",
            },
            "/socket.io/",
        ),
        # A prefix only matches at a segment boundary.
        ({"path": "/sios/x", "root_path": "/sio", "raw_path": b"/sios/x"}, "/sios/x"),
        # uvicorn --root-path behind a proxy that strips it: path and raw_path both full.
        (
            {"path": "/api/socket.io/", "root_path": "/api", "raw_path": b"/api/socket.io/"},
            "/socket.io/",
        ),
        # Percent-encoding in raw_path, a query string some servers left in it.
        (
            {"path": "/s io/socket.io/", "root_path": "/s io", "raw_path": b"/s%20io/socket.io/"},
            "/socket.io/",
        ),
        (
            {"path": "/socket.io/", "root_path": "/sio", "raw_path": b"/sio/socket.io/?EIO=4"},
            "/socket.io/",
        ),
        # A trailing slash on root_path is tolerated.
        (
            {"path": "/sio/socket.io/", "root_path": "/sio/", "raw_path": b"/sio/socket.io/"},
            "/socket.io/",
        ),
    ],
)
def test_route_path(scope: Scope, expected: str) -> None:
    assert route_path(scope) == expected


# -- in-process ASGI ---------------------------------------------------------------------------


def http_scope(path: str, query: bytes = b"", *, method: str = "GET", **extra: Any) -> Scope:
    scope: Scope = {
        "type": "http",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query,
        "headers": [(b"host", b"testserver")],
    }
    scope.update(extra)
    return scope


async def call_http(
    app: ASGIApp,
    scope: Scope,
    chunks: tuple[bytes, ...] = (b"",),
    *,
    leave: asyncio.Event | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request; the client sends ``chunks`` then waits (until ``leave`` is set)."""
    incoming: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[Message] = []
    gone = leave if leave is not None else asyncio.Event()

    async def receive() -> Message:
        if incoming:
            return incoming.pop(0)
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    if not sent:
        return 0, {}, b""
    start, body = sent
    assert start["type"] == "http.response.start" and body["type"] == "http.response.body"
    headers = {name.decode(): value.decode() for name, value in start["headers"]}
    assert all(name == name.lower() for name in headers)
    if "content-length" in headers:  # always there in our responses
        assert int(headers["content-length"]) == len(body["body"])
    return start["status"], headers, body["body"]


async def handshake(app: ASGIApp, path: str = "/socket.io/") -> str:
    status, _, body = await call_http(app, http_scope(path, HANDSHAKE))
    assert status == 200, body
    assert body.startswith(b"0")
    sid: str = json.loads(body[1:])["sid"]
    return sid


def test_other_paths_are_404_without_another_app() -> None:
    async def main() -> None:
        app = ASGIApp(create_app())
        status, headers, body = await call_http(app, http_scope("/elsewhere"))
        assert (status, body) == (404, b"Not Found")
        assert headers["content-length"] == "9"
        # The engine's path is not served by itself: socketio_path decides.
        status, _, _ = await call_http(app, http_scope("/socket.iox/", HANDSHAKE))
        assert status == 404

    run(main)


def test_websocket_elsewhere_is_refused() -> None:
    async def main() -> None:
        app = ASGIApp(create_app())
        cases: list[tuple[dict[str, Any], str]] = [
            ({"websocket.http.response": {}}, "websocket.http.response.start"),
            ({}, "websocket.close"),
        ]
        for extensions, expected in cases:
            sent: list[Message] = []

            async def receive() -> Message:
                return {"type": "websocket.connect"}

            async def send(message: Message, sent: list[Message] = sent) -> None:
                sent.append(message)

            scope = http_scope("/chat", type="websocket", extensions=extensions)
            await app(scope, receive, send)
            assert sent[0]["type"] == expected
            if expected == "websocket.http.response.start":
                assert sent[0]["status"] == 404

    run(main)


def test_other_requests_go_to_the_other_app() -> None:
    async def main() -> None:
        seen: list[str] = []

        async def other(scope: Scope, receive: Any, send: Any) -> None:
            seen.append(scope["path"])
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        app = ASGIApp(create_app(), other)
        assert (await call_http(app, http_scope("/hello")))[0] == 204
        assert (await call_http(app, http_scope("/socket.io/", HANDSHAKE)))[0] == 200
        assert seen == ["/hello"]

    run(main)


def test_custom_socketio_path_and_mount_prefix() -> None:
    async def main() -> None:
        app = ASGIApp(create_app(), socketio_path="/realtime/")
        assert app.socketio_path == "/realtime/"
        await handshake(app, "/realtime/")
        # Mounted at /api (full path in scope["path"], as Starlette >= 0.33 does).
        scope = http_scope("/api/realtime/", HANDSHAKE, root_path="/api")
        assert (await call_http(app, scope))[0] == 200
        # /realtime without its slash is served too, as the JS server does.
        assert (await call_http(app, http_scope("/realtime", HANDSHAKE)))[0] == 200
        assert (await call_http(app, http_scope("/socket.io/", HANDSHAKE)))[0] == 404
        with pytest.raises(ValueError, match="socketio_path"):
            ASGIApp(create_app(), socketio_path="/")

    run(main)


async def lifespan(app: ASGIApp, shutdown: asyncio.Event | None = None) -> list[str]:
    """A lifespan: startup, then shutdown (once ``shutdown`` is set); what the app sent."""
    incoming: list[Message] = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> Message:
        if len(incoming) == 1 and shutdown is not None:
            await shutdown.wait()
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message["type"])

    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    return sent


def test_lifespan_alone_closes_the_sessions() -> None:
    async def main() -> None:
        app = ASGIApp(create_app())
        shutdown = asyncio.Event()
        task = asyncio.ensure_future(lifespan(app, shutdown))
        await asyncio.sleep(0)
        sid = await handshake(app)
        query = f"EIO=4&transport=polling&sid={sid}".encode()
        leave = asyncio.Event()
        parked = asyncio.ensure_future(
            call_http(app, http_scope("/socket.io/", query), leave=leave)
        )
        await asyncio.sleep(0.01)
        shutdown.set()
        assert await task == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
        # The parked poll carried the close packet; the session is gone.
        assert (await parked)[2] == b"1"
        assert not app.app.engine.sessions
        assert app.closed
        # New sessions are refused until the next startup.
        assert (await call_http(app, http_scope("/socket.io/", HANDSHAKE)))[0] == 503
        await asyncio.wait_for(_startup_only(app), TIMEOUT)
        sid = await handshake(app)
        # A polling session without a poll waiting closes with its next GET.
        await app.shutdown()
        assert app.app.engine.session_state(sid) is SessionState.CLOSING
        query = f"EIO=4&transport=polling&sid={sid}".encode()
        assert (await call_http(app, http_scope("/socket.io/", query)))[2] == b"1"
        assert not app.app.engine.sessions

    run(main)


async def _startup_only(app: ASGIApp) -> None:
    started = asyncio.Event()

    async def receive() -> Message:
        if not started.is_set():
            return {"type": "lifespan.startup"}
        await asyncio.Event().wait()  # never shuts down
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        started.set()

    task = asyncio.ensure_future(app({"type": "lifespan"}, receive, send))
    await started.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_lifespan_goes_to_the_other_app_after_the_sessions_close() -> None:
    async def main() -> None:
        events: list[str] = []
        sio: ASGIApp

        @contextlib.asynccontextmanager
        async def other_lifespan(_: Starlette) -> AsyncIterator[None]:
            events.append("other started")
            yield
            states = {sio.app.engine.session_state(sid).name for sid in sio.app.engine.sessions}
            events.append(f"other stopping, sessions: {sorted(states)}")

        sio = ASGIApp(create_app(), Starlette(lifespan=other_lifespan))
        shutdown = asyncio.Event()
        task = asyncio.ensure_future(lifespan(sio, shutdown))
        await asyncio.sleep(0)
        await handshake(sio)
        shutdown.set()
        assert await task == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
        assert events == ["other started", "other stopping, sessions: ['CLOSING']"]

    run(main)


def test_bodies_over_max_payload_are_413() -> None:
    async def main() -> None:
        limits = Limits(max_payload_bytes=1000)
        app = ASGIApp(create_app(demo_engine_config(limits=limits)))
        sid = await handshake(app)
        query = f"EIO=4&transport=polling&sid={sid}".encode()
        # Announced too large: refused before reading.
        scope = http_scope(
            "/socket.io/", query, method="POST", headers=[(b"content-length", b"1001")]
        )
        assert (await call_http(app, scope, (b"x" * 1001,)))[0] == 413
        # Streamed too large (no Content-Length): refused once it passes the limit.
        scope = http_scope("/socket.io/", query, method="POST")
        assert (await call_http(app, scope, (b"4" + b"x" * 600, b"x" * 600)))[0] == 413
        # At the limit: taken.
        status, _, body = await call_http(app, scope, (b"4" + b"x" * 499, b"x" * 500))
        assert (status, body) == (200, b"ok")
        assert sid in app.app.engine.sessions

    run(main)


def test_a_parked_poll_whose_client_leaves_closes_the_session() -> None:
    async def main() -> None:
        server = create_app()
        reasons: list[str] = []
        server.on("disconnect", lambda sid, reason: reasons.append(reason))
        app = ASGIApp(server)
        sid = await handshake(app)
        post = http_scope(
            "/socket.io/", f"EIO=4&transport=polling&sid={sid}".encode(), method="POST"
        )
        assert (await call_http(app, post, (b"40",)))[0] == 200  # join "/"
        poll = http_scope("/socket.io/", f"EIO=4&transport=polling&sid={sid}".encode())
        assert (await call_http(app, poll))[2].startswith(b"40")  # the CONNECT reply
        leave = asyncio.Event()
        parked = asyncio.ensure_future(call_http(app, poll, leave=leave))
        await asyncio.sleep(0.05)
        assert not parked.done()  # nothing to send: the poll waits
        leave.set()
        assert await parked == (0, {}, b"")  # no response to a client that left
        assert sid not in app.app.engine.sessions
        await asyncio.sleep(0.01)
        assert reasons == ["transport error"]

    run(main)


@pytest.mark.parametrize(
    ("scheme", "secure"),
    # Either secure name counts on an HTTP scope: scheme-rewriting middlewares mix them up.
    [("https", True), ("wss", True), ("http", False), ("ws", False)],
)
def test_same_origin_reads_the_scope_scheme(scheme: str, secure: bool) -> None:
    async def main() -> None:
        app = ASGIApp(create_app(demo_engine_config(cors_allowed_origins=None)))
        origin = [(b"host", b"testserver"), (b"origin", b"https://testserver")]
        scope = http_scope("/socket.io/", HANDSHAKE, scheme=scheme, headers=origin)
        status, _, body = await call_http(app, scope)
        assert status == (200 if secure else 403), body

    run(main)


class FakeWebSocket:
    """The client side of an in-process ASGI WebSocket; ``stall`` stops taking sends."""

    def __init__(self, app: ASGIApp, query: bytes, *, stall: bool = False) -> None:
        self.to_app: asyncio.Queue[Message] = asyncio.Queue()
        self.from_app: asyncio.Queue[Message] = asyncio.Queue()
        self.stall = stall
        scope = http_scope("/socket.io/", query, type="websocket", scheme="ws")
        self.to_app.put_nowait({"type": "websocket.connect"})
        self.task = asyncio.ensure_future(app(scope, self.to_app.get, self._send))

    async def _send(self, message: Message) -> None:
        if self.stall and message["type"] == "websocket.send":
            await asyncio.Event().wait()  # a peer that stopped reading
        self.from_app.put_nowait(message)

    async def next(self) -> Message:
        return await asyncio.wait_for(self.from_app.get(), TIMEOUT)

    async def text(self) -> str:
        message = await self.next()
        assert message["type"] == "websocket.send", message
        text: str = message["text"]
        return text

    def say(self, text: str) -> None:
        self.to_app.put_nowait({"type": "websocket.receive", "text": text})


def test_websocket_in_process() -> None:
    async def main() -> None:
        app = ASGIApp(create_app())
        ws = FakeWebSocket(app, b"EIO=4&transport=websocket")
        assert (await ws.next())["type"] == "websocket.accept"
        sid = json.loads((await ws.text())[1:])["sid"]
        ws.say("40")
        assert (await ws.text()).startswith("40{")
        ws.say('421["echo","x",{"y":[1]}]')
        assert await ws.text() == '431["x",{"y":[1]}]'
        # The peer goes away: the session ends, the handler returns.
        ws.to_app.put_nowait({"type": "websocket.disconnect", "code": 1006})
        await asyncio.wait_for(ws.task, TIMEOUT)
        assert sid not in app.app.engine.sessions

        # The server closes: the close is sent after what was queued, then the handler ends.
        ws = FakeWebSocket(app, b"EIO=4&transport=websocket")
        assert (await ws.next())["type"] == "websocket.accept"
        await ws.text()
        ws.say("40")
        await ws.text()
        await app.shutdown()
        assert await ws.next() == {"type": "websocket.close", "code": 1000}
        await asyncio.wait_for(ws.task, TIMEOUT)
        assert not app.app.engine.sessions

    run(main)


def test_a_websocket_that_stops_reading_is_cut_off(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        server = create_app()
        reasons: list[str] = []
        server.on("disconnect", lambda sid, reason: reasons.append(reason))
        app = ASGIApp(server, max_outgoing_bytes=10_000)
        ws = FakeWebSocket(app, b"EIO=4&transport=websocket", stall=True)
        assert (await ws.next())["type"] == "websocket.accept"
        ws.say("40")
        payload = "x" * 1000
        for i in range(20):
            ws.say(f'42{i}["echo","{payload}"]')
        await asyncio.wait_for(ws.task, TIMEOUT)  # cut off: the handler returned
        assert not app.app.engine.sessions
        await asyncio.sleep(0.01)
        assert reasons == ["transport error"]
        assert "not reading: cut off" in caplog.text

    run(main)


def test_a_new_loop_is_adopted_only_with_nothing_live() -> None:
    app = ASGIApp(create_app())

    async def first() -> None:
        sid = await handshake(app)
        query = f"EIO=4&transport=polling&sid={sid}".encode()
        poll = asyncio.ensure_future(call_http(app, http_scope("/socket.io/", query)))
        await asyncio.sleep(0.01)
        await app.shutdown()
        assert (await poll)[2] == b"1"

    async def second() -> str:
        await _startup_only(app)  # a test client's second run, say
        return await handshake(app)

    async def third() -> str:
        return await handshake(app)

    run(first)
    run(second)  # nothing was live: served on the new loop
    with pytest.raises(LocalProtocolError, match="another event loop"):
        run(third)  # the session of the previous run is still open


def test_call_threadsafe_needs_a_loop() -> None:
    app = ASGIApp(create_app())
    with pytest.raises(Exception, match="no loop"):
        app.call_threadsafe(print)


# -- uvicorn and our asyncio client --------------------------------------------------------


@pytest.fixture(scope="module")
def at_root() -> Iterator[tuple[RunningServer, ASGIApp]]:
    sio = ASGIApp(create_app(), hello_app())
    with uvicorn_server(sio, "uvicorn-root") as server:
        yield server, sio


@pytest.fixture(scope="module")
def mounted() -> Iterator[tuple[RunningServer, ASGIApp]]:
    sio = ASGIApp(create_app())
    with uvicorn_server(starlette_app(sio), "uvicorn-starlette") as server:
        yield server, sio


async def demo_round_trip(url: str, path: str, transports: list[str] | None) -> None:
    config = ClientConfig(
        engine=EngineClientConfig(path=path), reconnection=ReconnectionConfig(enabled=False)
    )
    client = AsyncClient(config)
    responses: asyncio.Queue[Any] = asyncio.Queue()
    client.on("my response", responses.put_nowait, namespace="/test")
    await client.connect(url, namespaces=["/", "/test"], transports=transports)
    try:
        assert await asyncio.wait_for(responses.get(), TIMEOUT) == {"data": "Connected"}
        assert await client.call("echo", "hi", b"\x00\xff", {"n": [1]}) == [
            "hi",
            b"\x00\xff",
            {"n": [1]},
        ]
        for i in range(100):
            await client.emit("my event", {"data": i}, namespace="/test")
        for i in range(100):
            assert await asyncio.wait_for(responses.get(), TIMEOUT) == {"data": i}
        await client.emit("disconnect request", namespace="/test")
        assert await asyncio.wait_for(responses.get(), TIMEOUT) == {"data": "Disconnected!"}
        expected = "polling" if transports == ["polling"] else "websocket"
        if transports is None:  # the upgrade may land just after the namespaces joined
            for _ in range(100):
                if client.transport == expected:
                    break
                await asyncio.sleep(0.01)
        assert client.transport == expected
    finally:
        await client.disconnect()


@pytest.mark.parametrize("transports", MODES, ids=MODE_IDS)
def test_async_client_at_the_root(
    at_root: tuple[RunningServer, ASGIApp], transports: list[str] | None
) -> None:
    server, _ = at_root
    run(lambda: demo_round_trip(server.url, "/socket.io/", transports))


@pytest.mark.parametrize("transports", MODES, ids=MODE_IDS)
def test_async_client_mounted_under_starlette(
    mounted: tuple[RunningServer, ASGIApp], transports: list[str] | None
) -> None:
    server, _ = mounted
    run(lambda: demo_round_trip(server.url, "/sio/socket.io/", transports))


@pytest.mark.parametrize("fixture", ["at_root", "mounted"])
def test_plain_http_next_to_socketio(fixture: str, request: pytest.FixtureRequest) -> None:
    server, _ = request.getfixturevalue(fixture)
    with urllib.request.urlopen(f"{server.url}/hello", timeout=5) as response:
        assert response.read().decode() == HELLO
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{server.url}/nothing-here", timeout=5)
    refused.value.close()
    assert refused.value.code == 404
    prefix = "/sio" if fixture == "mounted" else ""
    url = f"{server.url}{prefix}/socket.io/?EIO=4&transport=polling"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.read().startswith(b"0{")


def test_a_client_dropping_its_parked_poll_closes_the_session(
    at_root: tuple[RunningServer, ASGIApp],
) -> None:
    server, sio = at_root
    url = f"{server.url}/socket.io/?EIO=4&transport=polling"
    with urllib.request.urlopen(url, timeout=5) as response:
        sid = json.loads(response.read()[1:])["sid"]

    def sessions() -> frozenset[str]:
        return sio.call_threadsafe(lambda: sio.app.engine.sessions).result(TIMEOUT)

    assert sid in sessions()
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(
            f"GET /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\n"
            f"Host: {host}\r\n\r\n".encode()
        )
        conn.settimeout(0.2)
        with pytest.raises(TimeoutError):
            conn.recv(1)  # parked: nothing to say yet
    for _ in range(200):
        if sid not in sessions():
            break
        asyncio.run(asyncio.sleep(0.01))
    assert sid not in sessions()


def test_graceful_shutdown_tells_every_client() -> None:
    async def main(server: RunningServer, sio: ASGIApp) -> None:
        reasons: asyncio.Queue[str] = asyncio.Queue()
        clients = []
        for transports in (["websocket"], ["polling"]):
            config = ClientConfig(reconnection=ReconnectionConfig(enabled=False))
            client = AsyncClient(config)
            client.on("disconnect", reasons.put_nowait, namespace="/test")
            await client.connect(server.url, namespaces=["/test"], transports=transports)
            clients.append(client)
        await asyncio.wrap_future(sio.call_threadsafe(sio.shutdown))
        # The JS server closes the Engine.IO sessions on shutdown, without DISCONNECT packets.
        got = [await asyncio.wait_for(reasons.get(), TIMEOUT) for _ in clients]
        assert got == ["transport close"] * 2
        for client in clients:
            await asyncio.wait_for(client.wait(), TIMEOUT)
        # Refused until the next startup.
        url = f"{server.url}/socket.io/?EIO=4&transport=polling"
        with pytest.raises(urllib.error.HTTPError) as refused:
            await asyncio.to_thread(urllib.request.urlopen, url, timeout=5)
        refused.value.close()
        assert refused.value.code == 503

    sio = ASGIApp(create_app())
    with uvicorn_server(sio, "uvicorn-shutdown") as server:
        run(lambda: main(server, sio))
