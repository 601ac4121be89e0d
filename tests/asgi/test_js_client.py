"""Interop: the official Node.js ``socket.io-client`` 4.8 against ``ASGIApp`` on real servers.

Every deployment below serves :func:`socketio_proto.demo.create_app` through
:class:`~socketio_proto.asgi.ASGIApp` on a real ASGI server (in a thread of this
process), at ``/socket.io/`` or mounted at ``/sio`` (the client then uses ``path:
"/sio/socket.io"``).  For each deployment and transport mode (``websocket``,
``polling``, ``upgrade`` -- see ``tests/interop/test_js_client.py``), one Node process
runs ``tests/interop/js/scenarios.cjs`` and one test checks everything it observed:
connect, "my event", broadcast, rooms, "disconnect request", echo acks (binary
included), concurrent acks, 500 messages in order and a stream across the upgrade.

The server is started per test (it takes a fraction of a second) so that pytest-xdist
never runs a Node process twice; the next to Socket.IO ordinary route is checked too.
"""

from __future__ import annotations

import contextlib
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from socketio_proto.asgi import ASGIApp
from socketio_proto.asgi.server import ASGIApplication
from socketio_proto.demo import create_app
from tests.asgi.servers import (
    HELLO,
    LegacyMount,
    RunningServer,
    fastapi_app,
    hello_app,
    hypercorn_server,
    starlette_app,
    uvicorn_server,
)
from tests.interop.test_js_client import (
    CLIENT_PACKAGES,
    ECHO_CASES,
    MODES,
    STREAM_LENGTH,
    ScenarioReport,
    binary_paths,
    from_js,
    invoke_scenarios,
    to_js,
    typed,
)
from tests.support.npm import ensure_node_modules

pytestmark = pytest.mark.interop

SCENARIOS = (
    "connect",
    "my_event",
    "broadcast",
    "rooms",
    "disconnect_request",
    "echo",
    "concurrent_acks",
    "ordered",
    "stream_during_upgrade",
)
_TAIL = 6000

ServerFactory = Callable[[ASGIApplication, str], contextlib.AbstractContextManager[RunningServer]]


@dataclass(frozen=True)
class Deployment:
    """An ASGI server, and how ``ASGIApp`` sits in the application it serves."""

    server: ServerFactory
    build: Callable[[ASGIApp], ASGIApplication]
    #: The client's ``path`` option (None: the default ``/socket.io``).
    path: str | None
    #: Whether ``/hello`` is served next to Socket.IO.
    hello: bool


DEPLOYMENTS: Mapping[str, Deployment] = {
    # At the root, wrapping another application (python-socketio's ASGIApp style).
    "uvicorn": Deployment(uvicorn_server, lambda sio: ASGIApp(sio.app, hello_app()), None, True),
    # At the root, alone.
    "hypercorn": Deployment(hypercorn_server, lambda sio: sio, None, False),
    # Mounted: scope["path"] keeps the prefix, root_path names it (Starlette >= 0.33).
    "starlette-mount": Deployment(uvicorn_server, starlette_app, "/sio/socket.io", True),
    "fastapi-mount": Deployment(hypercorn_server, fastapi_app, "/sio/socket.io", True),
    # Mounted the way Starlette < 0.33 did it: the prefix stripped from scope["path"].
    "legacy-mount": Deployment(
        uvicorn_server, lambda sio: LegacyMount("/sio", sio, hello_app()), "/sio/socket.io", True
    ),
}


@pytest.fixture(scope="module")
def client_modules() -> Path:
    return ensure_node_modules("interop-socketio-client-4", CLIENT_PACKAGES)


@dataclass
class Observed(ScenarioReport):
    node_stderr: str
    server: RunningServer


def _run_node(modules: Path, server: RunningServer, mode: str, path: str | None) -> Observed:
    report, stderr = run_scenarios(modules, server, mode, SCENARIOS, path=path)
    return Observed(mode, report, stderr, server)


def run_scenarios(
    modules: Path,
    server: RunningServer,
    mode: str,
    scenarios: Sequence[str],
    *,
    path: str | None = None,
    ca: Path | None = None,
) -> tuple[dict[str, Any], str]:
    """Run the Node.js scenario runner against ``server``: its report and its stderr.

    ``ca``: a certificate for Node to trust (an HTTPS server's own).
    """
    request: dict[str, Any] = {
        "url": server.url,
        "package": "socket.io-client",
        "flavour": "v4",
        "mode": mode,
        "scenarios": list(scenarios),
        "echo_cases": {name: to_js(list(args)) for name, args in ECHO_CASES.items()},
    }
    if path is not None:
        request["path"] = path
    return invoke_scenarios(modules, request, server.log, ca=ca)


@pytest.fixture(params=list(DEPLOYMENTS))
def deployment(request: pytest.FixtureRequest) -> Iterator[tuple[Deployment, RunningServer]]:
    setup = DEPLOYMENTS[request.param]
    with setup.server(setup.build(ASGIApp(create_app())), request.param) as server:
        yield setup, server


@pytest.mark.parametrize("mode", MODES)
def test_demo_behaviours(
    deployment: tuple[Deployment, RunningServer], mode: str, client_modules: Path
) -> None:
    setup, server = deployment
    run = _run_node(client_modules, server, mode, setup.path)
    try:
        _check_everything(run)
        if setup.hello:
            with urllib.request.urlopen(f"{server.url}/hello", timeout=5) as response:
                assert response.read().decode() == HELLO
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}\n--- Node stderr ---\n{run.node_stderr[-_TAIL:] or '(empty)'}\n"
            f"--- server log ---\n{server.log()}"
        ) from None


def _check_everything(run: Observed) -> None:
    result = run.result("connect")
    assert result["first"] == ["Connected"] and result["second"] == ["Connected"], result
    run.check_transports(result["transports"])

    result = run.result("my_event")
    assert result["sender"] == [
        "Connected",
        "to me only",
        {"nested": [1, 2, "three"], "unicode": "héllo ✓"},
    ]
    assert result["other"] == ["Connected"]
    run.check_transports(result["transports"])

    result = run.result("broadcast")
    assert result["seen"] == [["Connected", result["token"]]] * 3
    run.check_transports(result["transports"])

    result = run.result("rooms")
    assert result["join_acks"] == [[True], [True]]
    assert result["after_join"] == {
        "a": ["Connected", "for the room"],
        "b": ["Connected", "for the room"],
        "outsider": ["Connected"],
    }
    assert result["leave_ack"] == [True]
    assert result["after_leave"]["a"][-1] == "after b left"
    assert "after b left" not in result["after_leave"]["b"]
    assert result["after_outsider_joined"]["outsider"][-1] == "outsider joined"
    run.check_transports(result["transports"])

    result = run.result("disconnect_request")
    assert result["responses"] == ["Connected", "Disconnected!"]
    assert result["events"][-1] == ["disconnect", "io server disconnect"]
    assert result["connected"] is False
    assert result["bystander"] == ["Connected"]
    run.check_transports(result["transports"])

    result = run.result("echo")
    for case, sent in ECHO_CASES.items():
        echoed = result["cases"][case]
        assert typed(from_js(echoed["ack"])) == typed(sent), case
        assert [where for where, _ in echoed["binary"]] == binary_paths(sent), case
    run.check_transports(result["transports"])

    result = run.result("concurrent_acks")
    expected = [[i, bytes([i, i + 1])] if i % 5 == 0 else [i, "x" * i] for i in range(50)]
    assert typed(from_js(result["acks"])) == typed(expected)

    result = run.result("ordered")
    assert result["responses"] == ["Connected", *range(STREAM_LENGTH)]
    run.check_transports(result["transports"])

    result = run.result("stream_during_upgrade")
    assert result["responses"] == ["Connected", *range(STREAM_LENGTH)]
    run.check_transports(result["transports"])
    if run.mode == "upgrade":
        assert result["stream"]["transports_seen_sending"] == ["polling", "websocket"]
