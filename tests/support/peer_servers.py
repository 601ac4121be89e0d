"""Run other implementations' Socket.IO servers in subprocesses, for interop tests.

Two peers serve the demo application (see ``socketio_proto/demo/app.py``):

* the official Node.js ``socket.io`` server
  (``socketio_proto/benchmarks/peers/node_server.cjs``, with ``socket.io`` installed at
  test time by :func:`socketio_proto.benchmarks.peers.node_server_modules`);
* python-socketio's ``AsyncServer`` under uvicorn with wsproto
  (``socketio_proto/benchmarks/peers/python_socketio_server.py``).

The scripts ship with the package because the server benchmarks run them too.

::

    with running_peer("node") as peer:
        peer.url                      # "http://127.0.0.1:PORT"

Each listens on 127.0.0.1, on a free port it reports on stdout; leaving the block
sends SIGTERM and checks that the server exited cleanly.

This module is also a pytest plugin (``pytest_plugins = ["tests.support.peer_servers"]``
in a test module): when a test fails, the stderr of every server it was given
(a :class:`PeerServer` or a :class:`~tests.support.demo_server.DemoProcess`
fixture) is added to its report.  The test modules import this module before
pytest registers it, so it opts out of assertion rewriting (PYTEST_DONT_REWRITE),
which would only warn; its few asserts carry their own messages.
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from socketio_proto.benchmarks.peers import (
    NODE_SERVER,
    PYTHON_SOCKETIO_SERVER,
    SOCKET_IO_VERSION,
    node_server_modules,
)
from tests.support.demo_server import DemoProcess
from tests.support.npm import node_executable
from tests.support.processes import running_server

__all__ = [
    "PEERS",
    "SOCKET_IO_VERSION",
    "PeerName",
    "PeerServer",
    "node_server_modules",
    "running_peer",
]

PeerName = Literal["node", "python-socketio"]
PEERS: tuple[PeerName, ...] = ("node", "python-socketio")

_BANNER = re.compile(r"listening on port (\d+)")


@dataclass
class PeerServer:
    """A running peer server: where it listens, and what it wrote on stderr so far."""

    name: PeerName
    url: str
    process: subprocess.Popen[str]
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


def _command(name: PeerName) -> tuple[list[str], Mapping[str, str]]:
    if name == "node":
        env = {"NODE_PATH": str(node_server_modules())}
        return [node_executable(), str(NODE_SERVER), "0"], env
    if name == "python-socketio":
        command = [sys.executable, str(PYTHON_SOCKETIO_SERVER), "0", "wsproto"]
        return command, {"PYTHONUNBUFFERED": "1"}
    raise ValueError(f"unknown peer server {name!r}")


@contextlib.contextmanager
def running_peer(name: PeerName) -> Iterator[PeerServer]:
    """Start the ``name`` peer server; stop it (and check it stopped cleanly) on exit."""
    command, env = _command(name)
    with running_server(
        f"{name} server",
        command,
        _BANNER,
        url=lambda port: f"http://127.0.0.1:{port}",
        env=env,
        stop=signal.SIGTERM,
    ) as running:
        yield PeerServer(name, running.url, running.process, running.stderr_path)


# -- pytest plugin: show the servers' stderr on failure -------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        funcargs: dict[str, object] = getattr(item, "funcargs", {})
        for argname, value in funcargs.items():
            if isinstance(value, PeerServer | DemoProcess):
                try:
                    stderr = value.stderr().strip() or "(empty)"
                except OSError:  # the server's fixture has finished: its report has it
                    continue
                report.sections.append((f"stderr of the server {argname!r} ({value.url})", stderr))
    return report
