"""The echo, fanout and memory suites: which loads run against which servers, in what order.

The machine is shared and noisy, so the order matters more than the repetitions:

* echo starts every selected server once, then for each round runs the same load
  against each server in turn, so a slow minute hurts every server alike;
* fanout connects C clients once per (server, C) and times several broadcasts
  (after one untimed warm-up broadcast);
* memory starts a fresh server per (server, N), so no earlier load inflates it.

A failure (a server that does not start, dies or answers wrongly, a generator
timeout) becomes the error of that row and the run goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sys
import time
from collections.abc import AsyncIterator, Callable

from .loadgen import EchoSample, Loadgen, LoadgenError
from .processes import (
    SERVER_NAMES,
    Placement,
    RunningServer,
    ServerName,
    ServerSpec,
    running_server,
)
from .results import EchoResult, FanoutResult, MemoryResult

__all__ = ["Bench", "Plan"]


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """Sizes and durations of a run (the CLI's ``--quick``/``--rounds``/``--seconds``)."""

    servers: tuple[ServerName, ...] = SERVER_NAMES
    rounds: int = 3
    echo_clients: tuple[int, ...] = (1, 10, 100)
    echo_seconds: float = 3.0
    echo_warmup: float = 1.0
    fanout_clients: tuple[int, ...] = (100, 1000, 5000)
    memory_clients: tuple[int, ...] = (1000, 5000)
    #: How long the idle clients are held before the memory is read.
    memory_settle: float = 1.0
    #: The 1-client echo run that warms a fresh server up before its base memory is read.
    memory_warmup: float = 0.5

    @classmethod
    def default(
        cls,
        *,
        quick: bool = False,
        servers: tuple[ServerName, ...] = SERVER_NAMES,
        rounds: int | None = None,
        seconds: float | None = None,
    ) -> Plan:
        if quick:
            plan = cls(
                servers=servers,
                rounds=1,
                echo_seconds=1.0,
                echo_warmup=0.3,
                fanout_clients=(100, 1000),
                memory_clients=(1000,),
            )
        else:
            plan = cls(servers=servers)
        if rounds is not None:
            plan = dataclasses.replace(plan, rounds=rounds)
        if seconds is not None:
            plan = dataclasses.replace(plan, echo_seconds=seconds)
        return plan


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _timeout(clients: int) -> float:
    """Generous: python-socketio may need tens of seconds to accept thousands of clients."""
    return 120.0 + clients * 0.1


@dataclasses.dataclass
class Bench:
    """Runs suites against the available servers; gathers what the report needs."""

    plan: Plan
    where: Placement
    loadgen: Loadgen
    specs: dict[ServerName, ServerSpec]
    log: Callable[[str], None] = dataclasses.field(default=_stderr)
    #: Anything odd: servers that died, wrote on stderr, ignored their stop signal...
    problems: list[str] = dataclasses.field(default_factory=list)
    #: What the servers' banners said (uvicorn's websocket implementation).
    details: dict[ServerName, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self._started = time.monotonic()

    def _progress(self, text: str) -> None:
        self.log(f"  [{time.monotonic() - self._started:6.1f} s] {text}")

    def _names(self) -> list[ServerName]:
        return [name for name in self.plan.servers if name in self.specs]

    async def _start_all(
        self, stack: contextlib.AsyncExitStack
    ) -> tuple[dict[ServerName, RunningServer], dict[ServerName, str]]:
        running: dict[ServerName, RunningServer] = {}
        failed: dict[ServerName, str] = {}
        for name in self._names():
            try:
                server = await stack.enter_async_context(
                    running_server(self.specs[name], self.where, self.problems)
                )
            except RuntimeError as exc:
                failed[name] = str(exc)
                self.problems.append(str(exc))
                self._progress(f"{name}: {exc}")
                continue
            running[name] = server
            if server.detail:
                self.details[name] = server.detail
        return running, failed

    @contextlib.asynccontextmanager
    async def _alone(
        self, running: dict[ServerName, RunningServer], name: ServerName
    ) -> AsyncIterator[RunningServer]:
        """Measure server ``name`` alone on the server CPU: idle first, the others paused.

        All servers share one CPU, and one still tearing down thousands of closed
        connections (python-socketio takes tens of seconds) would slow the
        measurement of another; paused (SIGSTOP), it waits for its own turn.
        """
        server = running[name]
        others = [other for other in running.values() if other is not server]
        for other in others:
            other.pause()
        try:
            await self._settle(server)
            yield server
        finally:
            for other in others:
                other.resume()

    async def _settle(self, server: RunningServer) -> None:
        """Wait until ``server`` is idle (at most ``_SETTLE_LIMIT`` seconds)."""
        deadline = time.monotonic() + _SETTLE_LIMIT
        previous = server.cpu_ticks()
        while time.monotonic() < deadline:
            await asyncio.sleep(_SETTLE_STEP)
            used = server.cpu_ticks()
            if used - previous <= _IDLE_TICKS:
                return
            previous = used
        self._progress(f"{server.name} still busy after {_SETTLE_LIMIT:.0f} s; measuring anyway")

    async def echo(self) -> list[EchoResult]:
        plan = self.plan
        samples: dict[tuple[ServerName, int], list[EchoSample]] = {}
        errors: dict[tuple[ServerName, int], str] = {}
        async with contextlib.AsyncExitStack() as stack:
            running, failed = await self._start_all(stack)
            for name, reason in failed.items():
                for clients in plan.echo_clients:
                    errors[name, clients] = reason
            for clients in plan.echo_clients:
                for round_number in range(plan.rounds):
                    self._progress(f"echo K={clients} round {round_number + 1}/{plan.rounds}")
                    for name in running:
                        try:
                            async with self._alone(running, name) as server:
                                sample = await self.loadgen.echo(
                                    server.port,
                                    clients=clients,
                                    seconds=plan.echo_seconds,
                                    warmup=plan.echo_warmup,
                                    timeout=plan.echo_seconds
                                    + plan.echo_warmup
                                    + _timeout(clients),
                                )
                        except LoadgenError as exc:
                            errors.setdefault((name, clients), str(exc))
                            self._progress(f"echo K={clients} {name}: {exc}")
                            continue
                        samples.setdefault((name, clients), []).append(sample)
        return [
            EchoResult(
                name,
                clients,
                tuple(samples.get((name, clients), [])),
                errors.get((name, clients)),
            )
            for clients in plan.echo_clients
            for name in self._names()
        ]

    async def fanout(self) -> list[FanoutResult]:
        plan = self.plan
        results: list[FanoutResult] = []
        async with contextlib.AsyncExitStack() as stack:
            running, failed = await self._start_all(stack)
            for clients in plan.fanout_clients:
                for name in self._names():
                    if name in failed:
                        results.append(FanoutResult(name, clients, (), failed[name]))
                        continue
                    if not self.where.fits(clients):
                        results.append(FanoutResult(name, clients, (), _too_many(clients)))
                        continue
                    self._progress(f"fanout C={clients} {name}")
                    try:
                        async with self._alone(running, name) as server:
                            times = await self.loadgen.fanout(
                                server.port,
                                clients=clients,
                                rounds=plan.rounds + 1,
                                timeout=_timeout(clients) * 2,
                            )
                    except LoadgenError as exc:
                        self._progress(f"fanout C={clients} {name}: {exc}")
                        results.append(FanoutResult(name, clients, (), str(exc)))
                        continue
                    # The first broadcast warms caches and code paths up: not timed.
                    results.append(FanoutResult(name, clients, times[1:]))
        return results

    async def memory(self) -> list[MemoryResult]:
        plan = self.plan
        results: list[MemoryResult] = []
        for clients in plan.memory_clients:
            for name in self._names():
                if not self.where.fits(clients):
                    results.append(MemoryResult(name, clients, None, None, _too_many(clients)))
                    continue
                self._progress(f"memory N={clients} {name}")
                results.append(await self._memory_of(name, clients))
        return results

    async def _memory_of(self, name: ServerName, clients: int) -> MemoryResult:
        plan = self.plan
        try:
            async with running_server(self.specs[name], self.where, self.problems) as server:
                if server.detail:
                    self.details[name] = server.detail
                await self.loadgen.echo(
                    server.port,
                    clients=1,
                    seconds=plan.memory_warmup,
                    warmup=0.1,
                    timeout=_timeout(1),
                )
                await asyncio.sleep(0.2)
                base = server.rss_kib()
                idle = self.loadgen.idle(server.port, clients=clients, timeout=_timeout(clients))
                async with idle:
                    await asyncio.sleep(plan.memory_settle)
                    if not server.alive():
                        raise LoadgenError("the server died while holding the clients")
                    loaded = server.rss_kib()
        except (RuntimeError, OSError) as exc:
            self._progress(f"memory N={clients} {name}: {exc}")
            return MemoryResult(name, clients, None, None, str(exc))
        return MemoryResult(name, clients, base, loaded)


#: How long :meth:`Bench._settle` waits for busy servers, how often it looks, and the
#: CPU ticks (1/100 s) per look below which they count as idle.
_SETTLE_LIMIT = 30.0
_SETTLE_STEP = 0.25
_IDLE_TICKS = 1


def _too_many(clients: int) -> str:
    return f"skipped: the open-files hard limit is too low for {clients} clients"
