"""Run a server in a subprocess, as a user would, and stop it cleanly.

The demo, the Flask example and the peer servers (Node.js socket.io,
python-socketio) all print a banner once they listen; :func:`running_server`
waits for it, yields where the server is, and on exit sends a signal and
checks that the server exited 0.  stdout is drained in the background (a
chatty server never blocks on a full pipe); stderr goes to a file that
failures quote.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ServerProcess", "running_server"]

_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 15.0


@dataclass
class ServerProcess:
    """A running server: where it listens, and what it wrote on stderr so far."""

    url: str
    process: subprocess.Popen[str]
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


@contextlib.contextmanager
def running_server(
    name: str,
    command: Sequence[str],
    banner: re.Pattern[str],
    *,
    url: Callable[[str], str] = lambda found: found,
    env: Mapping[str, str] | None = None,
    stop: signal.Signals = signal.SIGINT,
) -> Iterator[ServerProcess]:
    """Start ``command``; ``url(first group of banner)`` is where it listens."""
    with tempfile.NamedTemporaryFile("w+", suffix=".stderr", delete=False) as err:
        stderr_path = Path(err.name)
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            list(command),
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    try:
        found = _read_banner(name, process, banner, stderr_path)
        server = ServerProcess(url(found), process, stderr_path)
        yield server
        process.send_signal(stop)
        try:
            process.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the {name} ignored {stop.name}:\n{server.stderr()}") from None
        assert process.returncode == 0, (
            f"the {name} exited with {process.returncode}:\n{server.stderr()}"
        )
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        stderr_path.unlink(missing_ok=True)


def _read_banner(
    name: str, process: subprocess.Popen[str], banner: re.Pattern[str], stderr_path: Path
) -> str:
    found: list[str] = []
    done = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            match = banner.search(line)
            if match and not found:
                found.append(match.group(1))
                done.set()
        done.set()  # EOF: the server exited

    threading.Thread(target=read, daemon=True, name=f"{name}-stdout").start()
    done.wait(_START_TIMEOUT)
    if not found:
        process.kill()
        process.wait()
        raise AssertionError(
            f"the {name} did not start:\n{stderr_path.read_text(errors='replace')}"
        )
    return found[0]
