"""The Flask example (``examples/flask_app/app.py``) end to end with the official client.

The example runs as a user runs it (``python examples/flask_app/app.py --port 0``,
stopped with Ctrl-C); the Flask ``index`` page and the polling handshake are fetched
over HTTP, then ``js/example.cjs`` drives Node's ``socket.io-client`` 4.8 through the
seed's scenarios once per transport mode (WebSocket only, polling only, polling then
the upgrade): the ``Connected`` greeting, ``my event`` with the per-socket session
count, ``my broadcast event``, join/leave/close room with ``my room event``,
``disconnect request``, and the ack of ``echo`` on ``/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.interop.test_js_client import CLIENT_PACKAGES
from tests.support.demo_server import URL_BANNER
from tests.support.npm import ensure_node_modules, node_executable
from tests.support.processes import ServerProcess, running_server

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "flask_app" / "app.py"
SCRIPT = Path(__file__).parent / "js" / "example.cjs"
MODES = ("websocket", "polling", "upgrade")
TIMEOUT = 30.0


Example = ServerProcess


@contextlib.contextmanager
def running_example(*extra: str) -> Iterator[Example]:
    command = [sys.executable, str(EXAMPLE), "--port", "0", *extra]
    # SIGTERM: what a service manager sends; the example must still exit cleanly (status 0).
    with running_server("Flask example", command, URL_BANNER, stop=signal.SIGTERM) as server:
        yield server


@pytest.fixture(scope="module")
def example() -> Iterator[Example]:
    with running_example() as running:
        yield running


@pytest.fixture(scope="module")
def client_modules() -> Path:
    return ensure_node_modules("interop-socketio-client-4", CLIENT_PACKAGES)


@pytest.fixture(scope="module", params=MODES)
def results(
    request: pytest.FixtureRequest, example: Example, client_modules: Path
) -> dict[str, Any]:
    done = subprocess.run(
        [node_executable(), str(SCRIPT)],
        input=json.dumps({"url": example.url, "mode": request.param}),
        capture_output=True,
        text=True,
        env=dict(os.environ, NODE_PATH=str(client_modules), NODE_OPTIONS=""),
        timeout=TIMEOUT * 3,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["version"] == CLIENT_PACKAGES["socket.io-client"]
    outcome: dict[str, Any] = {"mode": request.param}
    for name, entry in report["results"].items():
        assert "error" not in entry, f"{name} ({request.param}): {entry['error']}\n{done.stderr}"
        outcome[name] = entry["ok"]
    return outcome


def test_index_page_and_handshake_on_one_port(example: Example) -> None:
    with urllib.request.urlopen(example.url + "/", timeout=TIMEOUT) as response:
        page = response.read().decode()
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<script src="https://cdn.socket.io/4.8.1/socket.io.min.js"></script>' in page
    assert 'io("/test")' in page
    url = example.url + "/socket.io/?EIO=4&transport=polling"
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        assert response.read().startswith(b'0{"sid":')


def test_connected(results: dict[str, Any]) -> None:
    connect = results["connect"]
    assert connect["responses"] == [{"data": "Connected", "count": 0}]
    expected = {
        "websocket": {"end": "websocket", "upgrades": []},
        "polling": {"end": "polling", "upgrades": []},
        "upgrade": {"end": "websocket", "upgrades": ["websocket"]},
    }
    assert connect["transport"] == expected[results["mode"]]


def test_my_event_answers_the_sender_with_its_session_count(results: dict[str, Any]) -> None:
    my_event = results["my_event"]
    assert my_event["sender"] == [
        {"data": "Connected", "count": 0},
        {"data": "one", "count": 1},
        {"data": {"nested": ["two", 2]}, "count": 2},
    ]
    assert my_event["other"] == ["Connected"]


def test_broadcast_reaches_everyone_once(results: dict[str, Any]) -> None:
    assert results["broadcast"]["seen"] == [["Connected", "to all"]] * 3


def test_rooms(results: dict[str, Any]) -> None:
    rooms = results["rooms"]
    a, b = rooms["ids"]["a"], rooms["ids"]["b"]
    assert rooms["after_join"] == {
        "a": ["Connected", f"In rooms: {a}, lobby", "for the lobby"],
        "b": ["Connected", f"In rooms: {b}, lobby", "for the lobby"],
        "outsider": ["Connected"],
    }
    # b left, then a closed the room (announcing it to its members): the last room
    # event reached nobody.
    assert rooms["after_close"] == {
        "a": ["Connected", f"In rooms: {a}, lobby", "for the lobby", "Room lobby is closing."],
        "b": ["Connected", f"In rooms: {b}, lobby", "for the lobby", f"In rooms: {b}"],
        "outsider": ["Connected"],
    }


def test_disconnect_request(results: dict[str, Any]) -> None:
    request = results["disconnect_request"]
    assert request["responses"] == ["Connected", "Disconnected!"]
    assert request["events"] == [["connect"], ["disconnect", "io server disconnect"]]
    assert request["bystander"] == ["Connected"]


def test_echo_on_the_main_namespace(results: dict[str, Any]) -> None:
    assert results["echo"]["ack"] == ["ping", 1, {"n": [True, None]}]
