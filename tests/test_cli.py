"""The command line and the README's example, run as a user would."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "socketio_proto", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


@pytest.mark.parametrize("eio", ["3", "4"])
def test_demo_walks_a_session_and_verifies_every_packet(eio: str) -> None:
    result = cli("tour", "--eio", eio)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("decoded back     : identical") == 8
    assert "MISMATCH" not in result.stdout
    # The in-memory Engine.IO session: upgrade, echo, heartbeats, close.
    assert "client SessionUpgraded" in result.stdout
    assert "data='hello'" in result.stdout and "data=b'\\x01\\x02'" in result.stdout
    assert "heartbeats had kept it alive: True" in result.stdout
    assert "reason=<CloseReason.FORCED_CLOSE" in result.stdout
    assert "server sessions left after close: 0" in result.stdout
    # The application API with a SocketClient: connect handler, ack, broadcast.
    assert "client ClientConnected: namespace='/test'" in result.stdout
    assert "args=[{'data': 'Connected'}]" in result.stdout
    assert "ack_id=0, args=[True]" in result.stdout
    assert "args=[{'data': 'hello, everyone'}]" in result.stdout
    if eio == "4":
        assert 'b\'42/test,["my event",{"data":"hi"}]\'' in result.stdout
    else:
        assert "b'8:41/test,'" in result.stdout


def test_decode_explains_a_capture() -> None:
    result = cli("decode", '451-["hello",{"_placeholder":true,"num":0}]\\x1ebAQI=\\x1e2')
    assert result.returncode == 0, result.stderr
    assert "waiting for 1" in result.stdout
    assert "data=['hello', b'\\x01\\x02']" in result.stdout
    assert "Engine.IO PING" in result.stdout


def test_decode_reports_invalid_payloads() -> None:
    result = cli("decode", "")
    assert result.returncode == 1
    assert "not an Engine.IO 4 payload" in result.stdout


def test_readme_example_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks, "the README has no python example"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


# -- the demo server ----------------------------------------------------------------------


def _get(url: str) -> tuple[int, str, bytes]:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read()


@pytest.mark.parametrize("io", ["asyncio", "trio", "threads"])
def test_demo_serves_the_page_socketio_and_a_local_client_bundle(io: str, tmp_path: Path) -> None:
    from tests.support.demo_server import running_demo

    bundle = tmp_path / "socket.io.min.js"
    bundle.write_text("/* a stand-in bundle */")
    with running_demo(io, client_js=bundle) as demo:
        status, kind, page = _get(demo.url + "/")
        assert status == 200 and kind.startswith("text/html")
        assert b'<script src="/socket.io-client.js">' in page
        assert _get(demo.url + "/socket.io-client.js")[2] == b"/* a stand-in bundle */"
        # Engine.IO 4 and 3 handshakes, any origin.
        _, _, v4 = _get(demo.url + "/socket.io/?EIO=4&transport=polling")
        assert v4.startswith(b'0{"sid":')
        _, _, v3 = _get(demo.url + "/socket.io/?EIO=3&transport=polling")
        match = re.fullmatch(rb'\d+:0\{"sid":"([^"]+)".*', v3)
        assert match, v3
        sid = match.group(1).decode()
        _, _, joined = _get(demo.url + f"/socket.io/?EIO=3&transport=polling&sid={sid}")
        assert joined == b"2:40"  # revision 4 joins "/" unasked


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
@pytest.mark.parametrize("io", ["asyncio", "trio", "threads"])
def test_demo_stops_gracefully_on_a_signal(io: str, stop: signal.Signals) -> None:
    import json
    import urllib.request

    from tests.support.demo_server import running_demo

    def http(url: str, data: bytes | None = None) -> str:
        with urllib.request.urlopen(url, data=data, timeout=10) as response:
            return str(response.read().decode())

    answers: queue.Queue[str] = queue.Queue()
    with running_demo(io, stop=stop) as demo:  # checks the exit status after the signal
        base = demo.url + "/socket.io/?EIO=4&transport=polling"
        sid = json.loads(http(base)[1:])["sid"]
        assert http(f"{base}&sid={sid}", b"40/test,") == "ok"
        joined = http(f"{base}&sid={sid}")  # the CONNECT reply and the greeting
        assert joined.startswith("40/test,") and "Connected" in joined, joined
        poll = threading.Thread(target=lambda: answers.put(http(f"{base}&sid={sid}")))
        poll.start()
        time.sleep(0.2)  # the long poll is waiting on the server
    poll.join(10)
    # The waiting poll was answered with Engine.IO's close packet before the process ended.
    assert answers.get_nowait() == "1"


def test_demo_page_uses_the_cdn_without_client_js() -> None:
    from tests.support.demo_server import running_demo

    with running_demo("asyncio") as demo:
        page = _get(demo.url + "/")[2]
    assert b'<script src="https://cdn.socket.io/4.8.1/socket.io.min.js">' in page


def test_demo_reports_a_port_in_use() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("demo", "--port", str(port))
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "already in use" in result.stderr


def test_demo_rejects_a_missing_client_bundle() -> None:
    result = cli("demo", "--client-js", "/nonexistent/socket.io.js")
    assert result.returncode == 2
    assert "no such file" in result.stderr
