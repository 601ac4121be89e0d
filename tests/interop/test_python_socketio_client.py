"""python-socketio's ``AsyncClient`` against our demo server, on every IO adapter.

The ``demo`` fixture (``tests/interop/conftest.py``) runs ``python -m
socketio_proto demo --io <adapter>`` once per adapter; each test runs in the
three transport modes (WebSocket only, polling only, polling upgraded to
WebSocket).  A failing test's report carries the demo's stderr.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any

import engineio.payload
import pytest
import socketio

from tests.support.demo_server import DemoProcess

pytestmark = pytest.mark.interop
pytest_plugins = ["tests.support.peer_servers"]

#: Transport mode -> python-socketio's ``transports`` argument.
MODES: dict[str, list[str] | None] = {
    "websocket": ["websocket"],
    "polling": ["polling"],
    "upgrade": None,
}
#: The transport the client should be using once ``connect()`` returns.
SETTLED = {"websocket": "websocket", "polling": "polling", "upgrade": "websocket"}
TIMEOUT = 5.0  # for any single answer
TEST_TIMEOUT = 30.0  # for a whole scenario


@pytest.fixture(params=list(MODES))
def mode(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def run(scenario: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(scenario, TEST_TIMEOUT))


async def until(predicate: Callable[[], bool]) -> None:
    for _ in range(int(TIMEOUT / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"still false after {TIMEOUT} s")


class Peer:
    """A python-socketio client, with what it received on ``/test``."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.responses: asyncio.Queue[Any] = asyncio.Queue()
        self.disconnects: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()

        async def my_response(data: Any) -> None:
            await self.responses.put(data)

        async def disconnected(*reason: Any) -> None:
            await self.disconnects.put(reason)

        self.sio.on("my response", my_response, namespace="/test")
        self.sio.on("disconnect", disconnected, namespace="/test")

    async def response(self) -> Any:
        """The next "my response" on ``/test``."""
        try:
            return await asyncio.wait_for(self.responses.get(), TIMEOUT)
        except TimeoutError:
            raise AssertionError(f"no 'my response' within {TIMEOUT} s") from None

    async def responses_until(self, sentinel: str) -> list[Any]:
        """Send a sentinel "my event"; return everything received before its echo."""
        await self.sio.emit("my event", {"data": sentinel}, namespace="/test")
        before = []
        while (message := await self.response()) != {"data": sentinel}:
            before.append(message)
        return before

    async def call(self, event: str, *args: Any, namespace: str = "/") -> Any:
        return await self.sio.call(event, args, namespace=namespace, timeout=TIMEOUT)


@asynccontextmanager
async def connected(
    demo: DemoProcess, mode: str, namespaces: Sequence[str] = ("/", "/test")
) -> AsyncIterator[Peer]:
    peer = Peer()
    await peer.sio.connect(
        demo.url, namespaces=list(namespaces), transports=MODES[mode], wait_timeout=TIMEOUT
    )
    try:
        if "/test" in namespaces:
            assert await peer.response() == {"data": "Connected"}
        yield peer
    finally:
        await disconnect(peer.sio)


async def disconnect(sio: Any) -> None:
    """``sio.disconnect()``, which must finish promptly (the server ends the long-poll)."""
    if sio.eio.state == "connected":
        # python-engineio's write loop stops as soon as disconnect() changes the state:
        # if a POST is in flight then, the close packet queued behind it is never sent
        # and disconnect() waits for the server's next ping (25 s) to end the
        # long-poll.  Let what is queued leave first.
        await asyncio.wait_for(sio.eio.queue.join(), TIMEOUT)
    try:
        await asyncio.wait_for(sio.disconnect(), TIMEOUT)
    except TimeoutError:
        raise AssertionError(f"disconnect() took more than {TIMEOUT} s") from None


def test_connect_to_test_and_root(demo: DemoProcess, mode: str) -> None:
    async def scenario() -> None:
        async with connected(demo, mode) as peer:
            assert peer.sio.connected
            assert peer.sio.transport() == SETTLED[mode]
            sid_test, sid_root = peer.sio.get_sid("/test"), peer.sio.get_sid("/")
            assert sid_test and sid_root and sid_test != sid_root
            assert peer.responses.empty()

    run(scenario())


def test_connect_to_root_only(demo: DemoProcess, mode: str) -> None:
    async def scenario() -> None:
        async with connected(demo, mode, namespaces=["/"]) as peer:
            assert peer.sio.get_sid("/")
            assert peer.sio.get_sid("/test") is None
            assert await peer.call("echo", "hi") == "hi"

    run(scenario())


def test_my_event_is_echoed_to_the_sender(demo: DemoProcess, mode: str) -> None:
    async def scenario() -> None:
        async with connected(demo, mode) as peer:
            for data in ["hello", "", 42, [1, {"nested": "é✓"}], None]:
                await peer.sio.emit("my event", {"data": data}, namespace="/test")
                assert await peer.response() == {"data": data}

    run(scenario())


def test_broadcast_reaches_every_client_including_the_sender(demo: DemoProcess, mode: str) -> None:
    async def scenario() -> None:
        async with connected(demo, mode) as a, connected(demo, mode) as b:
            await a.sio.emit("my broadcast event", {"data": "to all"}, namespace="/test")
            assert await a.response() == {"data": "to all"}
            assert await b.response() == {"data": "to all"}
            await b.sio.emit("my broadcast event", {"data": "again"}, namespace="/test")
            assert await a.response() == {"data": "again"}
            assert await b.response() == {"data": "again"}

    run(scenario())


def test_room_events_reach_members_only(demo: DemoProcess, mode: str) -> None:
    async def scenario() -> None:
        async with connected(demo, mode) as member, connected(demo, mode) as outsider:
            assert await member.call("join", {"room": "lobby"}, namespace="/test") is True

            # The member's own room event comes back to it; by then the server has
            # sent it to every member, so the outsider's sentinel echo comes first.
            event = {"room": "lobby", "data": "members only"}
            await member.sio.emit("my room event", event, namespace="/test")
            assert await member.response() == {"data": "members only"}
            assert await outsider.responses_until("sentinel 1") == []

            # A non-member may still send to the room.
            event = {"room": "lobby", "data": "from outside"}
            await outsider.sio.emit("my room event", event, namespace="/test")
            assert await member.response() == {"data": "from outside"}
            assert await outsider.responses_until("sentinel 2") == []

            # After leaving, the former member receives nothing.
            assert await member.call("leave", {"room": "lobby"}, namespace="/test") is True
            event = {"room": "lobby", "data": "nobody"}
            await member.sio.emit("my room event", event, namespace="/test")
            assert await member.responses_until("sentinel 3") == []

    run(scenario())


ECHOES: list[tuple[str, tuple[Any, ...], Any]] = [
    # (id, arguments, what python-socketio's call() returns: one value, or a tuple)
    ("binary", (b"\x00\x01\xfe\xff",), b"\x00\x01\xfe\xff"),
    ("empty-binary", (b"",), b""),
    (
        "nested-binary",
        ({"a": [b"x", {"b": b"\x00" * 300}], "n": 1},),
        {"a": [b"x", {"b": b"\x00" * 300}], "n": 1},
    ),
    (
        "several",
        (1, "two", b"three", None, [True, {"k": b"v"}]),
        (1, "two", b"three", None, [True, {"k": b"v"}]),
    ),
    ("text", ("plain", 2.5), ("plain", 2.5)),
    ("none", (), None),
]


@pytest.mark.parametrize(("args", "expected"), [e[1:] for e in ECHOES], ids=[e[0] for e in ECHOES])
def test_echo_acks_with_the_same_arguments(
    demo: DemoProcess, mode: str, args: tuple[Any, ...], expected: Any
) -> None:
    async def scenario() -> None:
        async with connected(demo, mode, namespaces=["/"]) as peer:
            assert await peer.call("echo", *args) == expected
            # The callback style too (arguments unpacked).
            answered: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()
            await peer.sio.emit("echo", args, callback=lambda *a: answered.set_result(a))
            assert await asyncio.wait_for(answered, TIMEOUT) == args

    run(scenario())


def test_disconnect_request(demo: DemoProcess, mode: str) -> None:
    async def scenario() -> None:
        async with connected(demo, mode) as peer:
            await peer.sio.emit("disconnect request", namespace="/test")
            assert await peer.response() == {"data": "Disconnected!"}
            reason = await asyncio.wait_for(peer.disconnects.get(), TIMEOUT)
            assert reason == (peer.sio.reason.SERVER_DISCONNECT,)
            assert peer.sio.get_sid("/test") is None
            # The connection and "/" are still up.
            assert peer.sio.connected
            assert await peer.call("echo", "still here") == "still here"

    run(scenario())


def test_disconnect_request_on_the_only_namespace_ends_the_connection(
    demo: DemoProcess, mode: str
) -> None:
    async def scenario() -> None:
        async with connected(demo, mode, namespaces=["/test"]) as peer:
            await peer.sio.emit("disconnect request", namespace="/test")
            assert await peer.response() == {"data": "Disconnected!"}
            await asyncio.wait_for(peer.disconnects.get(), TIMEOUT)
            # python-socketio closes its engine on losing its last namespace.  (Not
            # waiting for "disconnected": if its "disconnect request" POST is still in
            # flight, that takes 25 s, see disconnect(); nor for sio.wait(), which
            # sleeps a second to see whether it reconnects.)
            await until(lambda: not peer.sio.connected and peer.sio.eio.state != "connected")

    run(scenario())


def test_unknown_namespace_is_a_connection_error(demo: DemoProcess, mode: str) -> None:
    async def scenario() -> None:
        # The refusal, as the "connect_error" handler sees it.
        sio = socketio.AsyncClient(reconnection=False)
        refusals: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()

        async def connect_error(*data: Any) -> None:
            await refusals.put(data)

        sio.on("connect_error", connect_error, namespace="/nope")
        await sio.connect(demo.url, namespaces=["/nope"], transports=MODES[mode], wait=False)
        (data,) = await asyncio.wait_for(refusals.get(), TIMEOUT)
        assert isinstance(data, dict) and isinstance(data.get("message"), str), data
        assert sio.get_sid("/nope") is None
        await disconnect(sio)

        # connect() raising.  Only where the CONNECT goes over WebSocket: over polling,
        # connect() itself calls disconnect() as the refusal arrives, often while its
        # CONNECT POST is still in flight, which costs 25 s (see disconnect()).
        if mode != "polling":
            sio = socketio.AsyncClient(reconnection=False)
            with pytest.raises(socketio.exceptions.ConnectionError, match="/nope"):
                await sio.connect(
                    demo.url, namespaces=["/nope"], transports=MODES[mode], wait_timeout=TIMEOUT
                )
            await disconnect(sio)

        # The server is fine afterwards.
        async with connected(demo, mode, namespaces=["/"]) as peer:
            assert await peer.call("echo", 1) == 1

    run(scenario())


def test_messages_arrive_in_order(
    demo: DemoProcess, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # python-engineio refuses polling payloads of more than 16 packets ("Too many
    # packets in payload", a known limitation: miguelgrinberg/python-engineio#142),
    # while servers, ours like the JS one, send every queued packet in one response.
    # Raising the limit is the documented workaround.
    monkeypatch.setattr(engineio.payload.Payload, "max_decode_packets", 10_000)

    async def scenario() -> None:
        async with connected(demo, mode) as peer:
            for i in range(200):
                await peer.sio.emit("my event", {"data": i}, namespace="/test")
            received = [await peer.response() for _ in range(200)]
            assert received == [{"data": i} for i in range(200)]

    run(scenario())
