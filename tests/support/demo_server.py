"""Run ``python -m socketio_proto demo`` in a subprocess, as a user would.

Interop tests point the official clients at it::

    with running_demo("trio") as demo:
        demo.url                      # "http://127.0.0.1:PORT"

The server listens on a free port (``--port 0``) on 127.0.0.1; leaving the
block sends SIGINT and checks that the demo shut down cleanly.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DemoProcess", "running_demo"]

_BANNER = re.compile(r"on (http://[^/\s]+)/")
_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 15.0


@dataclass
class DemoProcess:
    url: str
    process: subprocess.Popen[str]
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


@contextlib.contextmanager
def running_demo(
    io: str, *, client_js: Path | None = None, extra: Sequence[str] = ()
) -> Iterator[DemoProcess]:
    command = [sys.executable, "-m", "socketio_proto", "demo", "--io", io, "--port", "0"]
    if client_js is not None:
        command += ["--client-js", str(client_js)]
    command += list(extra)
    with tempfile.NamedTemporaryFile("w+", suffix=".stderr", delete=False) as err:
        stderr_path = Path(err.name)
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        url = _read_banner(process, stderr_path)
        demo = DemoProcess(url, process, stderr_path)
        yield demo
        process.send_signal(signal.SIGINT)
        try:
            process.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the {io} demo ignored SIGINT:\n{demo.stderr()}") from None
        assert process.returncode == 0, f"demo exited with {process.returncode}:\n{demo.stderr()}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        stderr_path.unlink(missing_ok=True)


def _read_banner(process: subprocess.Popen[str], stderr_path: Path) -> str:
    assert process.stdout is not None
    found: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            match = _BANNER.search(line)
            if match:
                found.append(match.group(1))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(_START_TIMEOUT)
    if not found:
        process.kill()
        raise AssertionError(f"the demo did not start:\n{stderr_path.read_text(errors='replace')}")
    return found[0]
