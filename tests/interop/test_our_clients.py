"""Our clients (asyncio, trio, threads) against other servers.

The peers serve the demo application (``tests/support/peer_servers.py``): the
official Node.js ``socket.io`` server and python-socketio's ``AsyncServer``.
Every scenario runs for each client in three transport modes (WebSocket only,
polling only, polling upgraded to WebSocket).

The scenarios are written once, synchronously, against :class:`Harness`: a
blocking facade over one client whose handlers push what they receive into
thread-safe queues.  The asyncio and trio clients run in their own event loop
in a background thread (each call into them is a blocking round trip into that
loop); the threads client is blocking already.  A failing test's report carries
the peer server's stderr.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from typing import Any, TypeVar

import pytest
import trio

from socketio_proto.asyncio import AsyncClient
from socketio_proto.driver.client import ConnectFailed
from socketio_proto.socketio.config import ClientConfig, ReconnectionConfig
from socketio_proto.threads import Client
from socketio_proto.trio import TrioClient
from tests.support.peer_servers import PEERS, PeerServer, running_peer

pytestmark = pytest.mark.interop
pytest_plugins = ["tests.support.peer_servers"]

CLIENTS = ("asyncio", "trio", "threads")
#: Transport mode -> our clients' ``transports`` argument.
MODES: dict[str, list[str] | None] = {
    "websocket": ["websocket"],
    "polling": ["polling"],
    "upgrade": None,
}
TIMEOUT = 5.0  # for any single answer
#: Reconnect quickly: the reconnection test should not wait for the default 1 s backoff.
CONFIG = ClientConfig(reconnection=ReconnectionConfig(delay=0.05, delay_max=0.2))

T = TypeVar("T")


# -- the harness -----------------------------------------------------------------------------


class Inbox:
    """What handlers received, in order (filled from any thread)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._queue: queue.Queue[Any] = queue.Queue()

    def put(self, item: Any) -> None:
        self._queue.put(item)

    def get(self, timeout: float = TIMEOUT) -> Any:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no {self.what} within {timeout} s") from None

    def empty(self) -> bool:
        return self._queue.empty()


class Harness:
    """One of our clients, driven synchronously, with handlers for the demo's events."""

    def __init__(self, client: Any) -> None:
        self.client = client
        #: connect() was called (so disconnect() may be).
        self.started = False
        #: "my response" on /test.
        self.responses = Inbox("'my response'")
        #: The namespace of each "connect" handler call.
        self.connects = Inbox("'connect'")
        #: (namespace, reason) of each "disconnect" handler call.
        self.disconnects = Inbox("'disconnect'")
        #: "peer left" on /test: {"sid", "reason"} of another socket the server saw leave.
        self.departures = Inbox("'peer left'")
        client.on("my response", self.responses.put, namespace="/test")
        client.on("peer left", self.departures.put, namespace="/test")
        for namespace in ("/", "/test"):
            client.on("connect", self._on_connect(namespace), namespace=namespace)
            client.on("disconnect", self._on_disconnect(namespace), namespace=namespace)

    def _on_connect(self, namespace: str) -> Callable[[], None]:
        return lambda: self.connects.put(namespace)

    def _on_disconnect(self, namespace: str) -> Callable[[str], None]:
        return lambda reason: self.disconnects.put((namespace, reason))

    # The client's surface, blocking; subclasses run each call where the client lives.

    def connect(self, url: str, namespaces: Sequence[str], transports: list[str] | None) -> None:
        raise NotImplementedError

    def emit(self, event: str, *args: Any, namespace: str = "/") -> None:
        raise NotImplementedError

    def emit_many(self, event: str, payloads: Sequence[Any], *, namespace: str = "/") -> None:
        """Emit ``event`` once per payload, pausing briefly every 25 emits."""
        raise NotImplementedError

    def call(self, event: str, *args: Any, namespace: str = "/") -> list[Any]:
        raise NotImplementedError

    def emit_with_callback(self, event: str, *args: Any, namespace: str = "/") -> Inbox:
        """Emit with an ack callback; the inbox receives the callback's arguments, as a tuple."""
        acks = Inbox(f"ack for {event!r}")
        self._emit_with_callback(event, args, namespace, lambda *a: acks.put(a))
        return acks

    def _emit_with_callback(
        self, event: str, args: tuple[Any, ...], namespace: str, callback: Callable[..., None]
    ) -> None:
        raise NotImplementedError

    def disconnect(self) -> None:
        raise NotImplementedError

    @property
    def transport(self) -> str | None:
        raise NotImplementedError

    def sid(self, namespace: str) -> str | None:
        raise NotImplementedError

    def close(self) -> None:
        """Disconnect (if needed) and release the loop thread, if any."""
        self.disconnect()

    # Scenario helpers.

    def response(self) -> Any:
        return self.responses.get()

    def responses_until(self, sentinel: str) -> list[Any]:
        """Send a sentinel "my event"; return everything received before its echo."""
        self.emit("my event", {"data": sentinel}, namespace="/test")
        before = []
        while (message := self.response()) != {"data": sentinel}:
            before.append(message)
        return before

    def wait_for_transport(self, name: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while self.transport != name:
            if time.monotonic() > deadline:
                raise AssertionError(f"transport is {self.transport!r}, not {name!r}")
            time.sleep(0.01)


class AsyncioHarness(Harness):
    """:class:`socketio_proto.asyncio.AsyncClient` in a loop of its own thread."""

    client: AsyncClient

    def __init__(self) -> None:
        super().__init__(AsyncClient(CONFIG))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="asyncio-client", daemon=True
        )
        self.thread.start()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(3 * TIMEOUT)

    def _get(self, function: Callable[[], T]) -> T:
        async def get() -> T:
            return function()

        return self._run(get())

    def connect(self, url: str, namespaces: Sequence[str], transports: list[str] | None) -> None:
        self.started = True
        self._run(
            self.client.connect(
                url, namespaces=namespaces, transports=transports, wait_timeout=TIMEOUT
            )
        )

    def emit(self, event: str, *args: Any, namespace: str = "/") -> None:
        self._run(self.client.emit(event, *args, namespace=namespace))

    def emit_many(self, event: str, payloads: Sequence[Any], *, namespace: str = "/") -> None:
        async def emit_all() -> None:
            for i, payload in enumerate(payloads, 1):
                await self.client.emit(event, payload, namespace=namespace)
                if i % 25 == 0:
                    await asyncio.sleep(0.001)

        self._run(emit_all())

    def call(self, event: str, *args: Any, namespace: str = "/") -> list[Any]:
        return self._run(self.client.call(event, *args, namespace=namespace, timeout=TIMEOUT))

    def _emit_with_callback(
        self, event: str, args: tuple[Any, ...], namespace: str, callback: Callable[..., None]
    ) -> None:
        self._run(self.client.emit(event, *args, namespace=namespace, callback=callback))

    def disconnect(self) -> None:
        if self.started:
            self._run(self.client.disconnect())

    @property
    def transport(self) -> str | None:
        return self._get(lambda: self.client.transport)

    def sid(self, namespace: str) -> str | None:
        return self._get(lambda: self.client.sid(namespace))

    def close(self) -> None:
        try:
            self.disconnect()
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(TIMEOUT)
            if not self.thread.is_alive():
                self.loop.close()


class TrioHarness(Harness):
    """:class:`socketio_proto.trio.TrioClient` in ``trio.run`` in a thread of its own.

    The client lives in an ``async with`` block for the harness's lifetime; calls
    reach it through ``trio.from_thread``.
    """

    client: TrioClient

    def __init__(self) -> None:
        super().__init__(TrioClient(CONFIG))
        self._ready = threading.Event()
        self._stop: trio.Event | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name="trio-client", daemon=True)
        self.thread.start()
        if not self._ready.wait(TIMEOUT):
            raise AssertionError(f"trio did not start: {self._error!r}")

    def _main(self) -> None:
        try:
            trio.run(self._serve)
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        self._stop = trio.Event()
        async with self.client:
            self._ready.set()
            await self._stop.wait()

    def _run(self, function: Callable[[], Awaitable[T]]) -> T:
        async def bounded() -> T:
            with trio.fail_after(3 * TIMEOUT):
                return await function()

        return trio.from_thread.run(bounded, trio_token=self._token)

    def _get(self, function: Callable[[], T]) -> T:
        return trio.from_thread.run_sync(function, trio_token=self._token)

    def connect(self, url: str, namespaces: Sequence[str], transports: list[str] | None) -> None:
        self.started = True
        self._run(
            lambda: self.client.connect(
                url, namespaces=namespaces, transports=transports, wait_timeout=TIMEOUT
            )
        )

    def emit(self, event: str, *args: Any, namespace: str = "/") -> None:
        self._run(lambda: self.client.emit(event, *args, namespace=namespace))

    def emit_many(self, event: str, payloads: Sequence[Any], *, namespace: str = "/") -> None:
        async def emit_all() -> None:
            for i, payload in enumerate(payloads, 1):
                await self.client.emit(event, payload, namespace=namespace)
                if i % 25 == 0:
                    await trio.sleep(0.001)

        self._run(emit_all)

    def call(self, event: str, *args: Any, namespace: str = "/") -> list[Any]:
        return self._run(
            lambda: self.client.call(event, *args, namespace=namespace, timeout=TIMEOUT)
        )

    def _emit_with_callback(
        self, event: str, args: tuple[Any, ...], namespace: str, callback: Callable[..., None]
    ) -> None:
        self._run(lambda: self.client.emit(event, *args, namespace=namespace, callback=callback))

    def disconnect(self) -> None:
        if self.started:
            self._run(self.client.disconnect)

    @property
    def transport(self) -> str | None:
        return self._get(lambda: self.client.transport)

    def sid(self, namespace: str) -> str | None:
        return self._get(lambda: self.client.sid(namespace))

    def close(self) -> None:
        try:
            self.disconnect()
        finally:
            if self._stop is not None and self.thread.is_alive():
                trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
            self.thread.join(TIMEOUT)
        if self._error is not None:
            raise self._error
        assert not self.thread.is_alive(), "the trio client did not finish"


class ThreadsHarness(Harness):
    """:class:`socketio_proto.threads.Client`, blocking already."""

    client: Client

    def __init__(self) -> None:
        super().__init__(Client(CONFIG))

    def connect(self, url: str, namespaces: Sequence[str], transports: list[str] | None) -> None:
        self.started = True
        self.client.connect(url, namespaces=namespaces, transports=transports, wait_timeout=TIMEOUT)

    def emit(self, event: str, *args: Any, namespace: str = "/") -> None:
        self.client.emit(event, *args, namespace=namespace)

    def emit_many(self, event: str, payloads: Sequence[Any], *, namespace: str = "/") -> None:
        for i, payload in enumerate(payloads, 1):
            self.client.emit(event, payload, namespace=namespace)
            if i % 25 == 0:
                time.sleep(0.001)

    def call(self, event: str, *args: Any, namespace: str = "/") -> list[Any]:
        return self.client.call(event, *args, namespace=namespace, timeout=TIMEOUT)

    def _emit_with_callback(
        self, event: str, args: tuple[Any, ...], namespace: str, callback: Callable[..., None]
    ) -> None:
        self.client.emit(event, *args, namespace=namespace, callback=callback)

    def disconnect(self) -> None:
        self.client.disconnect()

    @property
    def transport(self) -> str | None:
        return self.client.transport

    def sid(self, namespace: str) -> str | None:
        return self.client.sid(namespace)


HARNESSES: dict[str, Callable[[], Harness]] = {
    "asyncio": AsyncioHarness,
    "trio": TrioHarness,
    "threads": ThreadsHarness,
}


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=PEERS)
def server(request: pytest.FixtureRequest) -> Iterator[PeerServer]:
    with running_peer(request.param) as peer:
        yield peer


@pytest.fixture(params=CLIENTS)
def kind(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(params=list(MODES))
def mode(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


ClientFactory = Callable[..., Harness]


@pytest.fixture
def make_client(server: PeerServer, kind: str, mode: str) -> Iterator[ClientFactory]:
    """``make_client(namespaces=("/", "/test"))``: a connected client, closed after the test.

    A client that joins /test has consumed its "Connected" message already.
    """
    clients: list[Harness] = []

    def make(namespaces: Sequence[str] = ("/", "/test")) -> Harness:
        client = HARNESSES[kind]()
        clients.append(client)
        client.connect(server.url, namespaces, MODES[mode])
        if "/test" in namespaces:
            assert client.response() == {"data": "Connected"}
        return client

    yield make
    errors: list[BaseException] = []
    for client in clients:
        try:
            client.close()
        except Exception as exc:
            errors.append(exc)
    if errors:
        raise errors[0]


# -- scenarios -------------------------------------------------------------------------------

SETTLED = {"websocket": "websocket", "polling": "polling", "upgrade": "websocket"}


def test_connect(make_client: ClientFactory, mode: str) -> None:
    client = make_client()
    sid_test, sid_root = client.sid("/test"), client.sid("/")
    assert sid_test and sid_root and sid_test != sid_root
    assert {client.connects.get(), client.connects.get()} == {"/", "/test"}
    client.wait_for_transport(SETTLED[mode])
    assert client.responses.empty()


def test_my_event_is_echoed_to_the_sender(make_client: ClientFactory) -> None:
    client = make_client()
    for data in ["hello", "", 42, [1, {"nested": "é✓"}], None, {"deep": {"er": [True, 1.5]}}]:
        client.emit("my event", {"data": data}, namespace="/test")
        assert client.response() == {"data": data}


ECHOES: list[tuple[str, tuple[Any, ...]]] = [
    ("binary", (b"\x00\x01\xfe\xff",)),
    ("empty-binary", (b"",)),
    ("nested-binary", ({"a": [b"x", {"b": b"\x00" * 300}], "n": 1},)),
    ("several", (1, "two", b"three", None, [True, {"k": b"v"}])),
    ("text", ("plain", 2.5, "é✓")),
    ("none", ()),
]


@pytest.mark.parametrize("args", [e[1] for e in ECHOES], ids=[e[0] for e in ECHOES])
def test_echo_acks_with_the_same_arguments(
    make_client: ClientFactory, args: tuple[Any, ...]
) -> None:
    client = make_client(["/"])
    answer = client.call("echo", *args)
    assert answer == list(args)
    assert [type(a) for a in answer] == [type(a) for a in args]
    assert client.emit_with_callback("echo", *args).get() == args


def test_broadcast_reaches_every_client_including_the_sender(make_client: ClientFactory) -> None:
    a, b = make_client(), make_client()
    a.emit("my broadcast event", {"data": "to all"}, namespace="/test")
    assert a.response() == {"data": "to all"}
    assert b.response() == {"data": "to all"}
    b.emit("my broadcast event", {"data": "again"}, namespace="/test")
    assert a.response() == {"data": "again"}
    assert b.response() == {"data": "again"}


def test_room_events_reach_members_only(make_client: ClientFactory) -> None:
    member, outsider = make_client(), make_client()
    assert member.call("join", {"room": "lobby"}, namespace="/test") == [True]

    # The member's own room event comes back to it; by then the server has sent it
    # to every member, so the outsider's sentinel echo must come first.
    member.emit("my room event", {"room": "lobby", "data": "members only"}, namespace="/test")
    assert member.response() == {"data": "members only"}
    assert outsider.responses_until("sentinel 1") == []

    # A non-member may still send to the room.
    outsider.emit("my room event", {"room": "lobby", "data": "from outside"}, namespace="/test")
    assert member.response() == {"data": "from outside"}
    assert outsider.responses_until("sentinel 2") == []

    # After leaving, the former member receives nothing.
    assert member.call("leave", {"room": "lobby"}, namespace="/test") == [True]
    member.emit("my room event", {"room": "lobby", "data": "nobody"}, namespace="/test")
    assert member.responses_until("sentinel 3") == []


def test_disconnect_request(make_client: ClientFactory) -> None:
    client = make_client()
    client.emit("disconnect request", namespace="/test")
    assert client.response() == {"data": "Disconnected!"}
    assert client.disconnects.get() == ("/test", "io server disconnect")
    assert client.sid("/test") is None
    # The connection and "/" are still up.
    assert client.call("echo", "still here") == ["still here"]
    assert client.disconnects.empty()


#: The reason each peer server reports when a client leaves a namespace itself.
CLIENT_LEFT = {"node": "client namespace disconnect", "python-socketio": "client disconnect"}


def test_the_server_sees_disconnect(server: PeerServer, make_client: ClientFactory) -> None:
    stayer, leaver = make_client(), make_client()
    sid = leaver.sid("/test")
    leaver.disconnect()
    assert leaver.disconnects.get() == ("/", "io client disconnect")
    assert leaver.disconnects.get() == ("/test", "io client disconnect")
    # The server says which socket left /test and why; sockets of earlier tests may
    # still be reported first.
    while (departure := stayer.departures.get())["sid"] != sid:
        pass
    assert departure == {"sid": sid, "reason": CLIENT_LEFT[server.name]}


def test_disconnect_returns_promptly(make_client: ClientFactory) -> None:
    client = make_client()
    assert client.call("echo", "last") == ["last"]
    started = time.monotonic()
    client.disconnect()
    elapsed = time.monotonic() - started
    # engine.io-client hangs up at once; 1 s is generous on a loaded machine.
    assert elapsed < 1.0, f"disconnect() took {elapsed:.2f} s"


def test_unknown_namespace_fails_to_connect(
    server: PeerServer, kind: str, mode: str, make_client: ClientFactory
) -> None:
    client = HARNESSES[kind]()
    try:
        with pytest.raises(ConnectFailed) as failure:
            client.connect(server.url, ["/nope"], MODES[mode])
        assert failure.value.refusal is not None
        assert failure.value.refusal.namespace == "/nope"
    finally:
        client.close()
    # The server is fine afterwards.
    assert make_client(["/"]).call("echo", 1) == [1]


def test_messages_arrive_in_order(make_client: ClientFactory, mode: str) -> None:
    client = make_client()
    # Right after connect(), in upgrade mode, the WebSocket probe is under way:
    # these are sent over polling, during the upgrade and over WebSocket.
    client.emit_many("my event", [{"data": i} for i in range(500)], namespace="/test")
    received = [client.response() for _ in range(500)]
    assert received == [{"data": i} for i in range(500)]
    client.wait_for_transport(SETTLED[mode])


@pytest.mark.parametrize("server", ["node"], indirect=True)
def test_reconnects_after_the_transport_drops(make_client: ClientFactory) -> None:
    client = make_client()
    assert {client.connects.get(), client.connects.get()} == {"/", "/test"}
    old_sid = client.sid("/test")

    client.emit("drop me", namespace="/test")  # the server closes the Engine.IO transport
    dropped = {client.disconnects.get(), client.disconnects.get()}
    assert dropped == {("/", "transport close"), ("/test", "transport close")}

    # The client reconnects and rejoins both namespaces by itself.
    assert {client.connects.get(), client.connects.get()} == {"/", "/test"}
    assert client.response() == {"data": "Connected"}
    new_sid = client.sid("/test")
    assert new_sid and new_sid != old_sid
    client.emit("my event", {"data": "back"}, namespace="/test")
    assert client.response() == {"data": "back"}
    assert client.call("echo", b"\x01") == [b"\x01"]
