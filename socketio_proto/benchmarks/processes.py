"""The servers under test: what to run for each row, where, and how to start and stop it.

Every server is a separate process serving the demo application's ``/test``
namespace (or, for ``limit``, just what the load generator needs), started through
:mod:`~socketio_proto.benchmarks.pinned` so that it runs on the server CPU with the
open-files limit raised, and listening on a free port it announces on stdout.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import re
import resource
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .npm import NodeToolchainError
from .peers import NODE_SERVER, PYTHON_SOCKETIO_SERVER, node_server_modules

__all__ = [
    "SERVER_NAMES",
    "Placement",
    "RunningServer",
    "ServerName",
    "ServerSpec",
    "Unavailable",
    "placement",
    "running_server",
    "server_name",
    "server_spec",
]

ServerName = Literal["asyncio", "trio", "threads", "python-socketio", "node", "limit"]
#: Every row, in report order: ours, then the baseline, Node.js and the floor.
SERVER_NAMES: tuple[ServerName, ...] = (
    "asyncio",
    "trio",
    "threads",
    "python-socketio",
    "node",
    "limit",
)

_START_TIMEOUT = 60.0
#: Generous: on the shared server CPU another server may still be tearing down
#: thousands of connections when this one is told to stop.
_STOP_TIMEOUT = 60.0
_DEMO_BANNER = re.compile(r" on http://[^\s/]+:(\d+)/")
_PORT_BANNER = re.compile(r"listening on port (\d+)(?: \(ws: ([\w.-]+)\))?")


class Unavailable(Exception):
    """A server cannot run here (a library or Node.js is missing); the message says why."""


@dataclass(frozen=True, slots=True)
class Placement:
    """Which CPUs the servers and the load generator get, and the open-files limits.

    With two CPUs or more, every server runs alone on one CPU and the load generator
    on another, so the generator never steals the server's time; with fewer, nothing
    is pinned (``None``) and the report says so.
    """

    server_cpus: tuple[int, ...] | None
    loadgen_cpus: tuple[int, ...] | None
    nofile_soft: int
    nofile_hard: int

    def launcher(self, cpus: tuple[int, ...] | None) -> list[str]:
        """The command prefix that pins to ``cpus`` and raises the open-files limit."""
        prefix = [sys.executable, "-m", "socketio_proto.benchmarks.pinned"]
        if cpus is not None:
            prefix += ["--cpus", ",".join(map(str, cpus))]
        return [*prefix, "--nofile", str(self.nofile_hard), "--"]

    def fits(self, clients: int) -> bool:
        """Whether ``clients`` connections (plus some spare descriptors) fit the hard limit."""
        return self.nofile_hard >= clients + 64

    def describe(self) -> str:
        if self.server_cpus is None or self.loadgen_cpus is None:
            pinned = "**not pinned** (fewer than 2 CPUs available)"
        else:
            pinned = (
                f"servers pinned to CPU {_cpus(self.server_cpus)}, the load generator to "
                f"CPU {_cpus(self.loadgen_cpus)}"
            )
        hard = "unlimited" if self.nofile_hard == resource.RLIM_INFINITY else self.nofile_hard
        return f"{pinned}; open files: soft {self.nofile_soft}, raised to the hard limit {hard}"


def _cpus(cpus: tuple[int, ...]) -> str:
    return ",".join(map(str, cpus))


def placement() -> Placement:
    """Server on the first CPU this process may use, load generator on the second."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1 << 20)
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(available) < 2:
        return Placement(None, None, soft, hard)
    return Placement((available[0],), (available[1],), soft, hard)


@dataclass(frozen=True, slots=True)
class ServerSpec:
    """How to start one server row: its command, extra environment and stop signal."""

    name: ServerName
    command: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    stop_signal: signal.Signals = signal.SIGTERM
    banner: re.Pattern[str] = _PORT_BANNER


def node_executable() -> str | None:
    return shutil.which("node")


def server_name(text: str) -> ServerName:
    """``text`` as a row name; ``ValueError`` if there is no such row."""
    for name in SERVER_NAMES:
        if text == name:
            return name
    raise ValueError(f"unknown server {text!r}; choose from {', '.join(SERVER_NAMES)}")


def server_spec(name: ServerName) -> ServerSpec:
    """The spec of server ``name``; :class:`Unavailable` if it cannot run here."""
    command: tuple[str, ...]
    if name in ("asyncio", "trio", "threads"):
        if name == "trio" and importlib.util.find_spec("trio") is None:
            raise Unavailable("trio is not installed (pip install 'socketio_proto[trio]')")
        command = (sys.executable, "-m", "socketio_proto", "demo", "--io", name, "--port", "0")
        # The demo turns SIGINT (KeyboardInterrupt) into a clean shutdown.
        return ServerSpec(name, command, stop_signal=signal.SIGINT, banner=_DEMO_BANNER)
    if name == "python-socketio":
        missing = [m for m in ("socketio", "engineio", "uvicorn") if not _importable(m)]
        if missing:
            raise Unavailable(
                f"{', '.join(missing)} not installed (pip install python-socketio uvicorn)"
            )
        # "auto": uvicorn's own default, the websocket implementation a deployment gets.
        command = (sys.executable, str(PYTHON_SOCKETIO_SERVER), "0", "auto")
        return ServerSpec("python-socketio", command)
    if name == "node":
        node = node_executable()
        if node is None:
            raise Unavailable("Node.js (`node`) is not on PATH")
        try:
            modules = node_server_modules()
        except NodeToolchainError as exc:
            raise Unavailable(f"cannot install the npm socket.io server: {exc}") from None
        return ServerSpec("node", (node, str(NODE_SERVER), "0"), env=(("NODE_PATH", str(modules)),))
    if name == "limit":
        command = (sys.executable, "-m", "socketio_proto.benchmarks.limit_server", "--port", "0")
        return ServerSpec("limit", command)
    raise ValueError(f"unknown server {name!r}")


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


class RunningServer:
    """A started server process: its port, what its banner said, its memory, its stderr."""

    def __init__(
        self,
        spec: ServerSpec,
        process: asyncio.subprocess.Process,
        port: int,
        detail: str | None,
        stderr_path: Path,
    ) -> None:
        self.spec = spec
        self.process = process
        self.port = port
        #: The second banner group: uvicorn's websocket implementation for python-socketio.
        self.detail = detail
        self.stderr_path = stderr_path

    @property
    def name(self) -> ServerName:
        return self.spec.name

    def alive(self) -> bool:
        return self.process.returncode is None

    def pause(self) -> None:
        """Stop the process (SIGSTOP): it takes no CPU until :meth:`resume`."""
        if self.alive():
            os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.alive():
            os.kill(self.process.pid, signal.SIGCONT)

    def cpu_ticks(self) -> int:
        """User plus system CPU time used so far, in clock ticks (``/proc/<pid>/stat``)."""
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:  # gone: it uses no more CPU
            return 0
        # The command name (field 2) may hold spaces: count fields after its ")".
        fields = stat[stat.rindex(")") + 2 :].split()
        return int(fields[11]) + int(fields[12])

    def rss_kib(self) -> int:
        """Resident set size of the server process, from ``/proc/<pid>/status``."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"no VmRSS for {self.name} (pid {self.process.pid})")
        return int(match.group(1))

    def stderr_tail(self, lines: int = 15) -> str:
        try:
            text = self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])


async def _read_banner(
    spec: ServerSpec, process: asyncio.subprocess.Process
) -> tuple[int, str | None]:
    assert process.stdout is not None
    while True:
        line = (await process.stdout.readline()).decode(errors="replace")
        if not line:
            raise RuntimeError(f"the {spec.name} server exited before listening")
        match = spec.banner.search(line)
        if match:
            detail = match.group(2) if match.re.groups >= 2 else None
            return int(match.group(1)), detail


async def _drain(stream: asyncio.StreamReader | None) -> None:
    """Discard what the server prints after its banner, so it never blocks on a full pipe."""
    if stream is None:
        return
    while await stream.read(65536):
        pass


@contextlib.asynccontextmanager
async def running_server(
    spec: ServerSpec, where: Placement, problems: list[str] | None = None
) -> AsyncIterator[RunningServer]:
    """Start ``spec`` on the server CPU; stop it on exit.

    A server that ignores its stop signal is killed; that, a non-zero exit status and
    any stderr output are appended to ``problems`` (for the report) rather than raised:
    a benchmark run should still report what it measured.
    """
    with tempfile.NamedTemporaryFile("w+b", suffix=f".{spec.name}.stderr", delete=False) as err:
        stderr_path = Path(err.name)
        process = await asyncio.create_subprocess_exec(
            *where.launcher(where.server_cpus),
            *spec.command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **dict(spec.env)},
        )
    drain: asyncio.Task[None] | None = None
    try:
        try:
            port, detail = await asyncio.wait_for(_read_banner(spec, process), _START_TIMEOUT)
        except (TimeoutError, RuntimeError) as exc:
            text = stderr_path.read_text(errors="replace").strip()
            raise RuntimeError(f"the {spec.name} server did not start ({exc}): {text}") from None
        drain = asyncio.create_task(_drain(process.stdout))
        server = RunningServer(spec, process, port, detail, stderr_path)
        yield server
        if process.returncode is not None:
            _note(problems, f"{spec.name}: the server died (exit {process.returncode})")
        else:
            process.send_signal(spec.stop_signal)
            try:
                await asyncio.wait_for(process.wait(), _STOP_TIMEOUT)
            except TimeoutError:
                _note(problems, f"{spec.name}: ignored {spec.stop_signal.name}; killed")
            else:
                if process.returncode != 0:
                    _note(problems, f"{spec.name}: exited with status {process.returncode}")
        tail = server.stderr_tail()
        if tail:
            _note(problems, f"{spec.name} wrote on stderr: {tail}")
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        if drain is not None:
            drain.cancel()
        stderr_path.unlink(missing_ok=True)


def _note(problems: list[str] | None, text: str) -> None:
    print(f"  warning: {text}", file=sys.stderr)
    if problems is not None:
        problems.append(text)
