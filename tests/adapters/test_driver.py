"""The IO-free drivers, joined by an in-memory network on a fake clock.

No sockets and no threads: every byte the client driver writes is handed to
the server driver and back, so connection bookkeeping across reconnections,
job scheduling and deadlines are checked deterministically.
"""

from __future__ import annotations

from typing import Any

import pytest

from socketio_proto.app import Job, Server, run_sync
from socketio_proto.app.jobs import Call
from socketio_proto.driver import ClientDriver, Endpoint, JobScheduler, ServerDriver
from socketio_proto.driver.client import ConnectFailed, with_transports
from socketio_proto.engineio.config import EngineConfig
from socketio_proto.socketio.config import ClientConfig, ReconnectionConfig
from socketio_proto.wire.client import OpenConnection


class Network:
    """Client connections wired to server connections; ``cut()`` breaks them all."""

    def __init__(self, server: ServerDriver, client: ClientDriver) -> None:
        self.server, self.client = server, client
        self.now = 0.0
        self.links: dict[int, int] = {}  # client conn -> server conn
        self.opened = 0
        self.refuse = False

    def pump(self) -> None:
        for _ in range(1000):
            moved = False
            for job in self.server.take_jobs():
                moved = True
                run_sync(job)
                self.server.job_finished(job, self.now)
            for job in self.client.take_jobs():
                moved = True
                run_sync(job)
                self.client.job_finished(job, self.now)
            for out in self.client.transmit(self.now):
                moved = True
                if isinstance(out, OpenConnection):
                    self.opened += 1
                    if self.refuse:
                        self.client.connection_lost(out.conn_id, self.now)
                    else:
                        self.links[out.conn_id] = self.server.connection_made()
                    continue
                server_conn = self.links.get(out.conn_id)
                if server_conn is None:
                    continue
                if out.data:
                    self.server.receive_data(server_conn, out.data, self.now)
                if out.close:
                    del self.links[out.conn_id]
                    self.server.connection_lost(server_conn, self.now)
            back = {server: client for client, server in self.links.items()}
            for transmit in self.server.transmit(self.now):
                moved = True
                client_conn = back.get(transmit.conn_id)
                if client_conn is None:
                    continue
                if transmit.data:
                    self.client.receive_data(client_conn, transmit.data, self.now)
                if transmit.close:
                    self.links.pop(client_conn, None)
                    self.server.connection_lost(transmit.conn_id, self.now)
                    self.client.receive_data(client_conn, b"", self.now)
            if not moved:
                return
        raise AssertionError("the network never settled")

    def advance(self, seconds: float) -> None:
        """Move the fake clock, firing every deadline on the way."""
        end = self.now + seconds
        while True:
            due = [
                d
                for d in (self.server.next_deadline(), self.client.next_deadline())
                if d is not None and d <= end
            ]
            if not due:
                break
            self.now = max(self.now, min(due))
            self.server.handle_timeout(self.now)
            self.client.handle_timeout(self.now)
            self.pump()
        self.now = end
        self.pump()

    def cut(self) -> None:
        for client_conn, server_conn in list(self.links.items()):
            del self.links[client_conn]
            self.server.connection_lost(server_conn, self.now)
            self.client.connection_lost(client_conn, self.now)
        self.pump()


def make_app() -> Server:
    app = Server(engine_config=EngineConfig(path="/socket.io/"))

    @app.on("echo")
    def echo(sid: str, *args: Any) -> tuple[Any, ...]:
        return args

    @app.on("connect", namespace="/test")
    def connect(sid: str) -> None:
        app.socket(sid).emit("hello", sid)

    return app


def make_pair(transports: list[str] | None = None) -> Network:
    config = ClientConfig(reconnection=ReconnectionConfig(delay=1, delay_max=1, seed=7))
    client = ClientDriver(Endpoint("127.0.0.1", 5000), with_transports(config, transports))
    return Network(ServerDriver(make_app()), client)


@pytest.mark.parametrize("transports", [["websocket"], ["polling"], None])
def test_client_and_server_drivers_talk(transports: list[str] | None) -> None:
    net = make_pair(transports)
    hellos: list[str] = []
    connects: list[str] = []
    net.client.on("hello", hellos.append, namespace="/test")
    net.client.on("connect", lambda: connects.append("up"), namespace="/test")
    net.client.connect(["/", "/test"], net.now)
    net.pump()
    assert set(net.client.connected) == {"/", "/test"}
    assert hellos == [net.client.connected["/test"]] and connects == ["up"]
    pending = net.client.call("echo", 1, b"\x02", now=net.now)
    acked: list[Any] = []
    net.client.emit("echo", "cb", callback=lambda *args: acked.append(args), now=net.now)
    net.pump()
    assert pending.result() == [1, b"\x02"]
    assert acked == [("cb",)]
    assert net.client.transport == ("polling" if transports == ["polling"] else "websocket")


def test_a_reconnection_gets_fresh_connection_ids_and_old_ones_are_hung_up() -> None:
    net = make_pair(["websocket"])
    connects: list[str] = []
    net.client.on("connect", lambda: connects.append("up"), namespace="/test")
    net.client.connect(["/test"], net.now)
    net.pump()
    first_links = set(net.links)
    net.cut()
    assert net.client.connected == {}
    net.advance(1.0)
    assert connects == ["up", "up"]
    assert not first_links & set(net.links)  # driver ids are never reused
    assert net.client.failure(["/test"]) is None


def test_the_first_connection_failing_is_reported_as_unreachable() -> None:
    net = make_pair()
    net.refuse = True
    net.client.connect(["/"], net.now)
    net.pump()
    failure = net.client.failure(["/"])
    assert isinstance(failure, ConnectFailed)
    assert "cannot connect to 127.0.0.1:5000" in str(failure)


def test_a_refused_namespace_is_reported_with_the_servers_answer() -> None:
    net = make_pair()
    errors: list[Any] = []
    net.client.on("connect_error", errors.append, namespace="/nope")
    net.client.connect(["/nope"], net.now)
    net.pump()
    failure = net.client.failure(["/nope"])
    assert failure is not None and failure.refusal is not None
    assert failure.refusal.message == "Invalid namespace"
    assert errors == ["Invalid namespace"]


def test_server_shutdown_disconnects_every_socket() -> None:
    net = make_pair(["websocket"])
    reasons: list[str] = []
    net.client.on("disconnect", reasons.append, namespace="/test")
    net.client.connect(["/test"], net.now)
    net.pump()
    net.server.shutdown(net.now)
    net.pump()
    assert reasons in (["io server disconnect"], ["transport close"])
    assert net.server.app.sio.sockets("/test") == frozenset()


def test_server_deadlines_combine_the_wire_and_the_app() -> None:
    net = make_pair(["websocket"])
    net.client.connect(["/"], net.now)
    net.pump()
    sid = net.client.connected["/"]
    assert net.server.next_deadline() == 25.0  # the first ping
    net.server.app.call("never-acked", to=sid, timeout=3.0, now=net.now)
    assert net.server.next_deadline() == 3.0


def test_endpoint_parsing() -> None:
    assert Endpoint.parse("http://example.com") == (Endpoint("example.com", 80), "/")
    assert Endpoint.parse("wss://example.com/chat/") == (
        Endpoint("example.com", 443, True),
        "/chat",
    )
    endpoint, _ = Endpoint.parse("http://[::1]:8080/")
    assert endpoint.host_header == "[::1]:8080"
    assert Endpoint("h", 443, True).host_header == "h"
    with pytest.raises(ValueError, match="scheme"):
        Endpoint.parse("ftp://h")
    with pytest.raises(ValueError, match="no host"):
        Endpoint.parse("http://")
    with pytest.raises(ValueError, match="unknown transport"):
        with_transports(None, ["carrier-pigeon"])


def _job(connection: str, log: list[str], name: str) -> Job:
    def steps() -> Any:
        yield Call(log.append, (name,))

    return Job(connection, name, steps())


def test_scheduler_is_sequential_per_connection_by_default() -> None:
    log: list[str] = []
    scheduler = JobScheduler()
    a1, a2, b1 = _job("a", log, "a1"), _job("a", log, "a2"), _job("b", log, "b1")
    assert scheduler.add([a1, a2, b1]) == [a1, b1]
    assert scheduler.busy == 2
    assert scheduler.finished(a1) is a2
    assert scheduler.finished(a2) is None
    assert scheduler.finished(b1) is None
    assert scheduler.busy == 0


def test_scheduler_can_release_everything_at_once() -> None:
    log: list[str] = []
    scheduler = JobScheduler(concurrent=True)
    jobs = [_job("a", log, "a1"), _job("a", log, "a2")]
    assert scheduler.add(jobs) == jobs
    assert scheduler.finished(jobs[0]) is None


def test_too_slow_bound() -> None:
    driver = ServerDriver(make_app(), max_outgoing_bytes=10)
    assert not driver.too_slow(10)
    assert driver.too_slow(11)
    with pytest.raises(ValueError, match="max_outgoing_bytes"):
        ServerDriver(make_app(), max_outgoing_bytes=0)
