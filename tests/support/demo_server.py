"""Run ``python -m socketio_proto demo`` in a subprocess, as a user would.

Interop tests point the official clients at it::

    with running_demo("trio") as demo:
        demo.url                      # "http://127.0.0.1:PORT"

The server listens on a free port (``--port 0``) on 127.0.0.1; leaving the
block sends SIGINT (or ``stop``) and checks that the demo shut down cleanly.
"""

from __future__ import annotations

import re
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import ServerProcess, running_server

__all__ = ["URL_BANNER", "DemoProcess", "running_demo"]

#: The "... on http://HOST:PORT/" line the demo and the Flask example print.
URL_BANNER = re.compile(r"on (http://[^/\s]+)/")
DemoProcess = ServerProcess


@contextmanager
def running_demo(
    io: str,
    *,
    client_js: Path | None = None,
    extra: Sequence[str] = (),
    stop: signal.Signals = signal.SIGINT,
) -> Iterator[DemoProcess]:
    command = [sys.executable, "-m", "socketio_proto", "demo", "--io", io, "--port", "0"]
    if client_js is not None:
        command += ["--client-js", str(client_js)]
    with running_server(f"{io} demo", [*command, *extra], URL_BANNER, stop=stop) as demo:
        yield demo
