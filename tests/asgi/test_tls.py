"""``ASGIApp`` over TLS: HTTPS and WSS under a real uvicorn and a real hypercorn.

Both servers get a certificate made at test time (:mod:`tests.support.tls`) and serve
the demo application, same-origin only (``cors_allowed_origins=None``: the production
default, and the setting under which ``HttpRequest.secure`` matters, since the
same-origin check compares ``Origin`` with ``{scheme}://{Host}``).

* the official Node.js ``socket.io-client`` 4.8 (``tests/interop/js/scenarios.cjs``)
  connects to the ``https://`` URL, polling then upgrading, WebSocket only and polling
  only, and runs connect, echo (acks, binary included), concurrent acks and a stream
  across the upgrade.  Node verifies the certificate for real: it trusts it through
  ``NODE_EXTRA_CA_CERTS``, nothing turns verification off.  Server side, the ASGI
  scopes are seen to be ``https``/``wss`` and a Socket.IO middleware sees every
  handshake request with ``secure`` True (over polling in one mode, over WebSocket in
  the other: both ways ``ASGIApp`` computes it);
* the same-origin check, with HTTP/1.1 requests of our own (urllib, and a WebSocket
  handshake on a raw socket): ``Origin: https://127.0.0.1:PORT`` is accepted over TLS
  and ``http://`` refused -- the polling handshake, a WebSocket handshake and the
  upgrade of a polling session -- and the reverse over plain HTTP,
  so that neither "always secure" nor "never secure" passes;
* the same over HTTP/2, which hypercorn offers over TLS (ALPN) and browsers use: no
  ``Host`` header there, only ``:authority``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.events
import pytest

from socketio_proto.asgi import ASGIApp
from socketio_proto.asgi.server import ASGIApplication, Receive, Scope, Send
from socketio_proto.demo import create_app
from socketio_proto.demo.app import demo_engine_config
from socketio_proto.engineio.http import HttpRequest
from tests.asgi.servers import RunningServer, hypercorn_server, uvicorn_server
from tests.asgi.test_js_client import run_scenarios
from tests.interop.test_js_client import (
    CLIENT_PACKAGES,
    ECHO_CASES,
    STREAM_LENGTH,
    ScenarioReport,
    binary_paths,
    from_js,
    typed,
)
from tests.support.npm import ensure_node_modules
from tests.support.tls import Certificate, self_signed_certificate

TIMEOUT = 10.0
NODE_SCENARIOS = ("connect", "echo", "concurrent_acks", "stream_during_upgrade")
#: The transport of each mode's Engine.IO handshake, and the ASGI scopes the mode uses.
HANDSHAKE_TRANSPORT = {"upgrade": "polling", "websocket": "websocket", "polling": "polling"}
SCOPES = {
    "upgrade": {("http", "https"), ("websocket", "wss")},
    "websocket": {("websocket", "wss")},
    "polling": {("http", "https")},
}


class ServerFactory(Protocol):
    def __call__(
        self, app: ASGIApplication, name: str = ..., *, tls: Certificate | None = None
    ) -> contextlib.AbstractContextManager[RunningServer]: ...


SERVERS: Mapping[str, ServerFactory] = {"uvicorn": uvicorn_server, "hypercorn": hypercorn_server}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@dataclass
class Handshake:
    """What a Socket.IO middleware saw of a connection's Engine.IO handshake request."""

    secure: bool
    transport: str | None
    host: str | None


@dataclass
class Deployment:
    """``ASGIApp`` (same-origin only) on a real server, and what the server side saw."""

    server: RunningServer
    sio: ASGIApp
    #: (scope type, scheme) of every HTTP and WebSocket scope the server passed in.
    scopes: set[tuple[str, str]] = field(default_factory=set)
    handshakes: list[Handshake] = field(default_factory=list)

    @property
    def port(self) -> int:
        port = urlsplit(self.server.url).port
        assert port is not None
        return port

    def origin(self, scheme: str) -> str:
        return f"{scheme}://127.0.0.1:{self.port}"

    def seen_handshakes(self) -> list[Handshake]:
        """The middleware's records, read in the server's loop."""
        return self.sio.call_threadsafe(lambda: list(self.handshakes)).result(TIMEOUT)


@contextlib.contextmanager
def deploy(server: str, tls: Certificate | None) -> Iterator[Deployment]:
    app = create_app(demo_engine_config(cors_allowed_origins=None))
    sio = ASGIApp(app)
    scopes: set[tuple[str, str]] = set()
    handshakes: list[Handshake] = []

    def record(sid: str, auth: Any, request: HttpRequest) -> None:
        transport = request.query.get("transport")
        handshakes.append(Handshake(request.secure, transport, request.header("host")))

    app.use(record, namespace="*")

    async def recording(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scopes.add((scope["type"], scope.get("scheme", "")))
        await sio(scope, receive, send)

    name = f"{server}-{'tls' if tls else 'plain'}"
    with SERVERS[server](recording, name, tls=tls) as running:
        yield Deployment(running, sio, scopes, handshakes)


# -- the official JS client over HTTPS/WSS -------------------------------------------------


@pytest.fixture(scope="module")
def client_modules() -> Path:
    return ensure_node_modules("interop-socketio-client-4", CLIENT_PACKAGES)


def run_node(
    modules: Path,
    deployment: Deployment,
    mode: str,
    ca: Path | None,
    scenarios: tuple[str, ...] = NODE_SCENARIOS,
) -> ScenarioReport:
    report, _ = run_scenarios(modules, deployment.server, mode, scenarios, ca=ca)
    return ScenarioReport(mode, report)


@pytest.mark.interop
@pytest.mark.parametrize("mode", ["upgrade", "websocket", "polling"])
@pytest.mark.parametrize("server", list(SERVERS))
def test_js_client_over_tls(
    server: str, mode: str, certificate: Certificate, client_modules: Path
) -> None:
    with deploy(server, certificate) as deployment:
        assert deployment.server.url.startswith("https://127.0.0.1:")
        run = run_node(client_modules, deployment, mode, certificate.cert)
        try:
            clients = check_scenarios(run)
            # Server side: TLS scopes only, and every handshake request seen as secure
            # (over polling: the "https" scope; WebSocket only: the "wss" one).
            assert deployment.scopes == SCOPES[mode]
            handshakes = deployment.seen_handshakes()
            expected = Handshake(True, HANDSHAKE_TRANSPORT[mode], f"127.0.0.1:{deployment.port}")
            assert handshakes == [expected] * clients
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- server log ---\n{deployment.server.log()}") from None


@pytest.mark.interop
def test_js_client_checks_the_certificate(certificate: Certificate, client_modules: Path) -> None:
    """Without the CA the client refuses the server: the tests above verify it for real."""
    with deploy("uvicorn", certificate) as deployment:
        run = run_node(client_modules, deployment, "websocket", None, ("connect",))
        with pytest.raises(AssertionError, match="connect_error"):
            run.result("connect")
        assert deployment.scopes == set()  # no request got through the TLS handshake


def check_scenarios(run: ScenarioReport) -> int:
    """Check what the client observed; return how many Socket.IO connections it made."""
    clients = 0
    result = run.result("connect")
    assert result["first"] == ["Connected"] and result["second"] == ["Connected"], result
    run.check_transports(result["transports"])
    clients += len(result["transports"])

    result = run.result("echo")
    for case, sent in ECHO_CASES.items():
        echoed = result["cases"][case]
        assert typed(from_js(echoed["ack"])) == typed(sent), case
        assert [where for where, _ in echoed["binary"]] == binary_paths(sent), case
    run.check_transports(result["transports"])
    clients += len(result["transports"])

    result = run.result("concurrent_acks")
    expected = [[i, bytes([i, i + 1])] if i % 5 == 0 else [i, "x" * i] for i in range(50)]
    assert typed(from_js(result["acks"])) == typed(expected)
    run.check_transports(result["transports"])
    clients += len(result["transports"])

    result = run.result("stream_during_upgrade")
    assert result["responses"] == ["Connected", *range(STREAM_LENGTH)]
    run.check_transports(result["transports"])
    if run.mode == "upgrade":
        assert result["stream"]["transports_seen_sending"] == ["polling", "websocket"]
    clients += len(result["transports"])
    return clients


# -- the same-origin check over HTTP/1.1 ----------------------------------------------------

HANDSHAKE_QUERY = "EIO=4&transport=polling"


def _client_context(tls: Certificate | None) -> ssl.SSLContext | None:
    return None if tls is None else tls.client_context()


def http_request(
    deployment: Deployment,
    query: str,
    origin: str,
    context: ssl.SSLContext | None,
) -> tuple[int, bytes]:
    """One GET of ``/socket.io/?query`` with ``Origin``; the status and the body."""
    request = urllib.request.Request(
        f"{deployment.server.url}/socket.io/?{query}", headers={"Origin": origin}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as refused:
        with refused:
            return refused.code, refused.read()


def websocket_handshake(
    deployment: Deployment,
    query: str,
    origin: str,
    context: ssl.SSLContext | None,
    *,
    first_frame: bool = False,
) -> tuple[int, bytes]:
    """A WebSocket handshake (HTTP/1.1) to ``/socket.io/?query`` with ``Origin``.

    Returns the status and, after a 101 and if ``first_frame``, the payload of the
    first frame the server sends within a moment (``b""`` if none).
    """
    with contextlib.ExitStack() as stack:
        conn: socket.socket = stack.enter_context(
            socket.create_connection(("127.0.0.1", deployment.port), timeout=TIMEOUT)
        )
        if context is not None:
            conn = stack.enter_context(context.wrap_socket(conn, server_hostname="127.0.0.1"))
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        conn.sendall(
            f"GET /socket.io/?{query} HTTP/1.1\r\nHost: 127.0.0.1:{deployment.port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n".encode("ascii")
        )
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            assert chunk, f"the connection closed during the handshake: {data!r}"
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        status = int(head.split(b" ", 2)[1])
        if status != 101 or not first_frame:
            return status, b""
        conn.settimeout(0.5)
        with contextlib.suppress(TimeoutError):
            while len(rest) < 2 or len(rest) < _frame_end(rest):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                rest += chunk
        if len(rest) < 2:
            return status, b""
        return status, rest[_frame_start(rest) : _frame_end(rest)]


def _frame_start(data: bytes) -> int:
    length = data[1] & 0x7F
    return 2 if length < 126 else 4 if length == 126 else 10


def _frame_end(data: bytes) -> int:
    length = data[1] & 0x7F
    if length == 126:
        length = int.from_bytes(data[2:4], "big")
    elif length == 127:
        length = int.from_bytes(data[2:10], "big")
    return _frame_start(data) + length


@pytest.mark.parametrize("tls", [True, False], ids=["tls", "plain"])
@pytest.mark.parametrize("server", list(SERVERS))
def test_same_origin_follows_the_scheme(server: str, tls: bool, certificate: Certificate) -> None:
    with deploy(server, certificate if tls else None) as deployment:
        own, other = ("https", "http") if tls else ("http", "https")
        assert deployment.server.url == deployment.origin(own)
        same, cross = deployment.origin(own), deployment.origin(other)
        context = _client_context(certificate if tls else None)

        # The polling handshake.
        status, body = http_request(deployment, HANDSHAKE_QUERY, same, context)
        assert status == 200 and body.startswith(b"0{"), (status, body)
        sid = json.loads(body[1:])["sid"]
        status, body = http_request(deployment, HANDSHAKE_QUERY, cross, context)
        assert (status, json.loads(body)) == (
            403,
            {"code": 4, "message": "Not an accepted origin"},
        )

        # A WebSocket-only handshake: 101, then the Engine.IO open packet.
        query = "EIO=4&transport=websocket"
        status, first = websocket_handshake(deployment, query, same, context, first_frame=True)
        assert status == 101 and first.startswith(b'0{"sid":'), (status, first)
        assert websocket_handshake(deployment, query, cross, context)[0] == 403

        # The upgrade of the polling session (its probe); the refusal leaves it alone.
        query = f"EIO=4&transport=websocket&sid={sid}"
        assert websocket_handshake(deployment, query, cross, context)[0] == 403
        assert websocket_handshake(deployment, query, same, context)[0] == 101

        # Everything went through the scopes of the scheme.
        secure = {("http", "https"), ("websocket", "wss")}
        assert deployment.scopes == (secure if tls else {("http", "http"), ("websocket", "ws")})


# -- the same-origin check over HTTP/2 (hypercorn) ---------------------------------------------


def h2_get(deployment: Deployment, path: str, origin: str, context: ssl.SSLContext) -> int:
    """One GET over HTTP/2 (negotiated with ALPN, as browsers do); the status."""
    context.set_alpn_protocols(["h2"])
    with (
        socket.create_connection(("127.0.0.1", deployment.port), timeout=TIMEOUT) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as conn,
    ):
        assert conn.selected_alpn_protocol() == "h2"
        h2c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        h2c.initiate_connection()
        h2c.send_headers(
            1,
            [
                (":method", "GET"),
                (":scheme", "https"),
                (":authority", f"127.0.0.1:{deployment.port}"),
                (":path", path),
                ("origin", origin),
            ],
            end_stream=True,
        )
        conn.sendall(h2c.data_to_send())
        status: int | None = None
        while True:
            data = conn.recv(65536)
            assert data, "the server closed the HTTP/2 connection before the response ended"
            for event in h2c.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    status = int(dict(event.headers)[b":status"])
                elif isinstance(event, h2.events.DataReceived):
                    h2c.acknowledge_received_data(event.flow_controlled_length, 1)
                elif isinstance(event, h2.events.StreamEnded):
                    assert status is not None
                    return status
            conn.sendall(h2c.data_to_send())


def test_same_origin_over_http2(certificate: Certificate) -> None:
    with deploy("hypercorn", certificate) as deployment:
        path = f"/socket.io/?{HANDSHAKE_QUERY}"
        same, cross = deployment.origin("https"), deployment.origin("http")
        assert h2_get(deployment, path, same, certificate.client_context()) == 200
        assert h2_get(deployment, path, cross, certificate.client_context()) == 403
        assert deployment.scopes == {("http", "https")}
