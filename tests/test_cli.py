"""The command line and the README's example, run as a user would."""

from __future__ import annotations

import re
import subprocess
import sys
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
