"""Drive the Node.js load generator (``loadgen.cjs``) and parse what it reports.

One generator process per measurement, pinned to the load generator's CPU: the
same client code drives every server, so they are compared on equal terms, and
Node.js spends far less per message than any server under test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .processes import Placement

__all__ = ["LOADGEN_SCRIPT", "EchoSample", "Loadgen", "LoadgenError"]

#: The generator script, shipped as package data.
LOADGEN_SCRIPT = Path(__file__).resolve().with_name("loadgen.cjs")


class LoadgenError(RuntimeError):
    """The generator failed (a refused connection, a wrong reply, a timeout...)."""


@dataclass(frozen=True, slots=True)
class EchoSample:
    """One echo run: round trips completed in the measured window and their latency."""

    clients: int
    round_trips: int
    per_second: float
    p50_ms: float
    p99_ms: float


class Loadgen:
    """Runs ``loadgen.cjs`` with ``node`` on the load generator's CPU against one port."""

    def __init__(self, node: str, where: Placement, *, host: str = "127.0.0.1") -> None:
        self._node = node
        self._where = where
        self._host = host

    async def _start(self, port: int, options: Mapping[str, Any]) -> asyncio.subprocess.Process:
        config = {"host": self._host, "port": port, "path": "/socket.io/", **options}
        return await asyncio.create_subprocess_exec(
            *self._where.launcher(self._where.loadgen_cpus),
            self._node,
            str(LOADGEN_SCRIPT),
            json.dumps(config),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    async def _run(self, port: int, options: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        """Run to completion; the last ``{"event": mode}`` record it printed."""
        process = await self._start(port, options)
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
        except TimeoutError:
            raise LoadgenError(f"{options['mode']} did not finish within {timeout:.0f} s") from None
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        records = _records(stdout)
        wanted = [r for r in records if r.get("event") == options["mode"]]
        if process.returncode != 0 or not wanted:
            raise LoadgenError(_failure(process.returncode, stderr))
        return wanted[-1]

    async def echo(
        self, port: int, *, clients: int, seconds: float, warmup: float, timeout: float
    ) -> EchoSample:
        """``clients`` clients, each sending its next event as soon as the reply arrives."""
        options = {"mode": "echo", "clients": clients, "seconds": seconds, "warmup": warmup}
        record = await self._run(port, options, timeout)
        return EchoSample(
            clients=int(record["clients"]),
            round_trips=int(record["roundTrips"]),
            per_second=float(record["perSecond"]),
            p50_ms=float(record["p50"] or 0.0),
            p99_ms=float(record["p99"] or 0.0),
        )

    async def fanout(
        self, port: int, *, clients: int, rounds: int, timeout: float
    ) -> tuple[float, ...]:
        """Milliseconds from one broadcast request until the last of ``clients`` has it."""
        options = {"mode": "fanout", "clients": clients, "rounds": rounds}
        record = await self._run(port, options, timeout)
        return tuple(float(ms) for ms in record["milliseconds"])

    @contextlib.asynccontextmanager
    async def idle(self, port: int, *, clients: int, timeout: float) -> AsyncIterator[None]:
        """Hold ``clients`` idle connections (answering pings) for the body of the block."""
        process = await self._start(port, {"mode": "idle", "clients": clients})
        assert process.stdout is not None and process.stdin is not None
        try:
            try:
                line = await asyncio.wait_for(process.stdout.readline(), timeout)
            except TimeoutError:
                raise LoadgenError(
                    f"{clients} idle clients were not connected within {timeout:.0f} s"
                ) from None
            if not _records(line):
                await process.wait()
                stderr = await process.stderr.read() if process.stderr else b""
                raise LoadgenError(_failure(process.returncode, stderr))
            yield
            process.stdin.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


def _records(stdout: bytes) -> list[dict[str, Any]]:
    records = []
    for line in stdout.decode(errors="replace").splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict):
                    records.append(record)
    return records


def _failure(returncode: int | None, stderr: bytes) -> str:
    lines = stderr.decode(errors="replace").strip().splitlines()
    # loadgen.cjs prefixes its message with "loadgen: " (a stack trace may follow).
    told = [line.removeprefix("loadgen: ") for line in lines if line.startswith("loadgen: ")]
    detail = told[0] if told else " / ".join(lines[-3:]) if lines else "no output"
    return f"load generator exit {returncode}: {detail}"
