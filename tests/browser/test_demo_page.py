"""The demo page in headless Chromium, against each IO adapter's demo server, and the
Flask example's page (``examples/flask_app``).

Debian's ``chromium`` (``/usr/bin/chromium``, installed by ``.ci/run``) is driven
by ``playwright-core`` from npm (``drive_page.cjs``, run with Node).  The page is
served by ``python -m socketio_proto demo --client-js`` with the official client
bundle (``socket.io-client`` 4.8.1's ``dist/socket.io.min.js``); both npm
packages are pinned and installed into the test cache by
:func:`tests.support.npm.ensure_node_modules`, nothing is vendored.

The driver opens the page in two tabs, A and B, and uses its forms: echo,
broadcast, join room, send to room, leave room, disconnect.  It prints a JSON
report of what each tab showed (log lines, every value of the transport label,
the ping latency, the socket id, console and page errors); the assertions are
made here.  Screenshots of both tabs are saved under ``$SOCKETIO_PROTO_ARTIFACTS``
(default: the test's ``tmp_path``) in ``browser/``, and their paths printed.

The Flask example's page is the seed's: its log reads "Received #N: ..." (a per-socket
message count kept in ``flask.session``) and join/leave answer with the socket's rooms.

A missing Chromium fails the tests (CI installs it); it is not a reason to skip.
``$SOCKETIO_PROTO_CHROMIUM`` names another executable.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.support.demo_server import URL_BANNER, DemoProcess, running_demo
from tests.support.npm import ensure_node_modules, node_executable
from tests.support.processes import running_server

pytestmark = pytest.mark.interop

DRIVER = Path(__file__).with_name("drive_page.cjs")
FLASK_EXAMPLE = Path(__file__).parents[2] / "examples" / "flask_app" / "app.py"
PACKAGES: Mapping[str, str] = {"socket.io-client": "4.8.1", "playwright-core": "1.65.1"}
CLIENT_BUNDLE = Path("socket.io-client", "dist", "socket.io.min.js")
DEFAULT_CHROMIUM = "/usr/bin/chromium"
_DRIVER_TIMEOUT = 90.0
_TAIL = 6000

#: What each tab's log must read at the end, in order (see drive_page.cjs).
EXPECTED_LOG_A = [
    "Received: Connected",
    "Received: hello",
    "Received: hi everyone",  # B's broadcast
    "Joined r1",
    "Received: to the room",  # B's message to r1
    "Left r1",
    "Received: A is not in r1",  # A's sentinel: B's later message to r1 did not come
    "Received: Disconnected!",
    "Disconnected: io server disconnect",
]
EXPECTED_LOG_B = [
    "Received: Connected",
    "Received: hi everyone",
    "Received: B is not in r1",  # B's sentinel: its message to r1 did not come back
    "Received: B sent after A left",
    "Received: B still here",  # after A's disconnect
]


def chromium_executable() -> Path:
    """The browser to drive; fails the test (not a skip) if it is missing."""
    executable = Path(os.environ.get("SOCKETIO_PROTO_CHROMIUM", DEFAULT_CHROMIUM))
    if not os.access(executable, os.X_OK):
        pytest.fail(
            f"Chromium was not found at {executable}. The browser tests need Debian's "
            "`chromium` package (`apt-get install chromium`; .ci/run installs it) or "
            "SOCKETIO_PROTO_CHROMIUM set to a Chromium executable.",
            pytrace=False,
        )
    return executable


@pytest.fixture(scope="module")
def node_modules() -> Path:
    return ensure_node_modules("browser-demo", PACKAGES)


@pytest.fixture
def artefacts(tmp_path: Path) -> Path:
    configured = os.environ.get("SOCKETIO_PROTO_ARTIFACTS")
    directory = (Path(configured) if configured else tmp_path) / "browser"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def drive_page(
    url: str, node_modules: Path, chromium: Path, shot_prefix: Path, flavour: str
) -> dict[str, Any]:
    """Run the scenario in the browser; the driver's report."""
    env = dict(os.environ, NODE_PATH=str(node_modules), NODE_OPTIONS="", CHROMIUM=str(chromium))
    env.pop("DEBUG", None)
    try:
        done = subprocess.run(
            [node_executable(), str(DRIVER), url, str(shot_prefix), flavour],
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=env,
            timeout=_DRIVER_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else ""
        raise AssertionError(
            f"the browser driver hung for {_DRIVER_TIMEOUT}s\n--- Node stderr ---\n{stderr}"
        ) from None
    try:
        report = json.loads(done.stdout)
    except ValueError:
        report = None
    if done.returncode != 0 or not isinstance(report, dict):
        raise AssertionError(
            f"the browser driver failed (exit {done.returncode}); stdout:\n"
            f"{done.stdout[-_TAIL:]}\n--- Node stderr ---\n{done.stderr[-_TAIL:]}"
        )
    return report


def check_common(report: Mapping[str, Any], details: str) -> dict[str, Any]:
    """What holds for either page; returns the two tabs' observations."""
    for path in report.get("screenshots", []):
        print(f"screenshot: {path}")
    print("steps (ms):", {step["name"]: step["ms"] for step in report.get("steps", [])})
    if "error" in report:
        error = report["error"]
        raise AssertionError(
            f"the browser scenario failed at step {error['step']!r}: {error['message']}\n{details}"
        )
    tabs: dict[str, Any] = report["tabs"]
    for name, tab in tabs.items():
        # The label starts as "connecting", shows polling, then the upgrade.
        assert tab["transports"] == ["connecting", "polling", "websocket"], (name, details)
        assert tab["latency"].isdigit(), (name, details)
        assert tab["page_errors"] == [], (name, details)
        errors = [e for e in tab["console_errors"] if not e["url"].endswith("/favicon.ico")]
        assert errors == [], (name, details)
    assert len(report["screenshots"]) == 2, details
    for path in report["screenshots"]:
        assert Path(path).stat().st_size > 0, path
    return tabs


def check_demo_report(report: Mapping[str, Any], diagnostics: str) -> None:
    details = f"{json.dumps(report, indent=1, ensure_ascii=False)}\n{diagnostics}"
    tabs = check_common(report, details)
    assert tabs["A"]["log"] == EXPECTED_LOG_A, details
    assert tabs["B"]["log"] == EXPECTED_LOG_B, details
    # A was disconnected from /test at the end: its socket id is cleared; B keeps one.
    assert tabs["A"]["sid"] == "\u2013", details
    assert tabs["B"]["sid"] and tabs["B"]["sid"] != "\u2013", details


def check_flask_report(report: Mapping[str, Any], diagnostics: str) -> None:
    details = f"{json.dumps(report, indent=1, ensure_ascii=False)}\n{diagnostics}"
    tabs = check_common(report, details)
    # The count is per socket (flask.session): B's broadcast and room messages carry B's.
    log_a = list(tabs["A"]["log"])
    rooms_joined, rooms_left = _rooms(log_a[3]), _rooms(log_a[5])
    assert "r1" in rooms_joined and len(rooms_joined) == 2, details  # r1 and the sid's room
    assert rooms_left == rooms_joined - {"r1"}, details
    log_a[3], log_a[5] = "Received #2: In rooms: <sid>, r1", "Received #3: In rooms: <sid>"
    assert log_a == [
        "Received #0: Connected",
        "Received #1: hello",
        "Received #1: hi everyone",
        "Received #2: In rooms: <sid>, r1",
        "Received #2: to the room",
        "Received #3: In rooms: <sid>",
        "Received #4: A is not in r1",
        "Received #5: Disconnected!",
        "Disconnected: io server disconnect",
    ], details
    assert tabs["B"]["log"] == [
        "Received #0: Connected",
        "Received #1: hi everyone",
        "Received #3: B is not in r1",
        "Received #5: B sent after A left",
        "Received #6: B still here",
    ], details


def _rooms(line: str) -> set[str]:
    prefix = re.match(r"Received #\d+: In rooms: ", line)
    assert prefix, line
    return set(line[prefix.end() :].split(", "))


@pytest.mark.parametrize("io", ["asyncio", "trio", "threads"])
def test_demo_page_in_chromium(io: str, node_modules: Path, artefacts: Path) -> None:
    chromium = chromium_executable()
    with running_demo(io, client_js=node_modules / CLIENT_BUNDLE) as demo:
        report = drive_page(demo.url, node_modules, chromium, artefacts / f"demo-{io}", "demo")
        diagnostics = f"--- demo server stderr ({demo.url}) ---\n{demo.stderr()[-_TAIL:]}"
    check_demo_report(report, diagnostics)


def test_flask_example_page_in_chromium(node_modules: Path, artefacts: Path) -> None:
    chromium = chromium_executable()
    with running_flask_example(node_modules / CLIENT_BUNDLE) as server:
        report = drive_page(server.url, node_modules, chromium, artefacts / "flask", "flask")
        diagnostics = f"--- Flask example stderr ({server.url}) ---\n{server.stderr()[-_TAIL:]}"
    check_flask_report(report, diagnostics)


# -- the Flask example as a user runs it ------------------------------------------------


@contextlib.contextmanager
def running_flask_example(client_js: Path) -> Iterator[DemoProcess]:
    """``python examples/flask_app/app.py --port 0 --client-js ...``; SIGINT at the end."""
    command = [sys.executable, str(FLASK_EXAMPLE), "--port", "0", "--client-js", str(client_js)]
    with running_server("Flask example", command, URL_BANNER) as server:
        yield server
