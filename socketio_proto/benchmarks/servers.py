"""Server benchmarks: ``python -m socketio_proto bench [codec|echo|fanout|memory|all]``.

Our three adapters (``asyncio``, ``trio``, ``threads``, each serving the demo
application), python-socketio's ``AsyncServer`` on uvicorn (the baseline), the
official Node.js ``socket.io`` server and a bare wsproto server (``limit``, the
floor) are driven by one Node.js load generator:

* echo: K clients each sending its next event as soon as the reply arrives;
* fanout: C clients connected, one broadcast, time until the last one has it;
* memory: resident memory per idle client.

This module turns the CLI options into a :class:`~socketio_proto.benchmarks.suites.Plan`,
finds which servers can run here, runs the suites and writes the report.  It is a
tool for humans: tests check that it runs and reports, never how fast anything is.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .loadgen import Loadgen
from .npm import NodeToolchainError
from .peers import node_server_modules
from .processes import (
    SERVER_NAMES,
    Placement,
    ServerName,
    ServerSpec,
    Unavailable,
    placement,
    server_name,
    server_spec,
)
from .report import Environment, render
from .results import EchoResult, FanoutResult, MemoryResult
from .suites import Bench, Plan

__all__ = ["DEFAULT_OUTPUT", "SUITES", "Outcome", "main", "parse_servers", "run"]

SUITES = ("codec", "echo", "fanout", "memory", "all")
_SERVER_SUITES = ("echo", "fanout", "memory")

_ROOT = Path(__file__).resolve().parent.parent.parent
#: Where ``bench all`` writes its report in a source checkout (a page of the docs).
DEFAULT_OUTPUT = _ROOT / "docs" / "benchmarks-results.md"


def parse_servers(text: str | None) -> tuple[ServerName, ...]:
    """``"asyncio,limit"`` -> ``("asyncio", "limit")`` (report order); ValueError if unknown."""
    if text is None:
        return SERVER_NAMES
    chosen = {server_name(part.strip()) for part in text.split(",") if part.strip()}
    if not chosen:
        raise ValueError("no server selected")
    return tuple(name for name in SERVER_NAMES if name in chosen)


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _placement_notes(where: Placement, plan: Plan, suites: Sequence[str]) -> list[str]:
    notes = []
    if where.server_cpus is None:
        notes.append(
            "fewer than 2 CPUs are available: servers and load generator are NOT pinned "
            "and share the CPU, so the numbers are lower and noisier than they should be."
        )
    sizes = [*(plan.fanout_clients if "fanout" in suites else ())]
    sizes += [*(plan.memory_clients if "memory" in suites else ())]
    too_many = [n for n in sizes if not where.fits(n)]
    if too_many:
        notes.append(
            f"the open-files hard limit ({where.nofile_hard}) is too low for "
            f"{max(too_many)} clients: those rows are skipped (raise `ulimit -Hn`)."
        )
    return notes


def _available(names: Sequence[ServerName], notes: list[str]) -> dict[ServerName, ServerSpec]:
    specs: dict[ServerName, ServerSpec] = {}
    for name in names:
        try:
            specs[name] = server_spec(name)
        except Unavailable as exc:
            notes.append(f"{name} is NOT measured: {exc}.")
            _log(f"note: {name} is NOT measured: {exc}")
    return specs


def _method(plan: Plan, suites: Sequence[str]) -> list[str]:
    lines = [
        "every server is a separate process on the server CPU; one Node.js load generator "
        "(`loadgen.cjs`, built-in `net` only, Engine.IO 4 over WebSocket, namespace `/test`) "
        "runs per measurement on the other CPU; while one server is measured, the others "
        "are paused (SIGSTOP) and the measured one has been idle for 0.25 s."
    ]
    if "echo" in suites:
        lines.append(
            f"echo: K = {', '.join(map(str, plan.echo_clients))} clients, each sending "
            "`my event` as soon as its previous reply arrived; "
            f"{plan.rounds} round(s) of {plan.echo_seconds:g} s after a "
            f"{plan.echo_warmup:g} s warm-up, rounds interleaved across servers; round trips/s "
            "median (min-max) over the rounds, latency = median over the rounds of each "
            "round's p50/p99."
        )
    if "fanout" in suites:
        lines.append(
            f"fanout: C = {', '.join(map(str, plan.fanout_clients))} clients connected once "
            f"per server, then 1 warm-up and {plan.rounds} timed `my broadcast event` "
            "round(s); time from the request leaving client 0 until the last client "
            "received the broadcast, median (min-max)."
        )
    if "memory" in suites:
        lines.append(
            f"memory: N = {', '.join(map(str, plan.memory_clients))}; a fresh server per "
            f"(server, N), warmed up by a {plan.memory_warmup:g} s 1-client echo run; VmRSS "
            f"before, then with N idle clients connected (after {plan.memory_settle:g} s); "
            "KiB per client = (RSS with - RSS before) / N."
        )
    return lines


@dataclass(frozen=True, slots=True)
class Outcome:
    """A finished run: the report and the results it was rendered from."""

    report: str
    echo: tuple[EchoResult, ...] | None
    fanout: tuple[FanoutResult, ...] | None
    memory: tuple[MemoryResult, ...] | None
    #: False when nothing at all could be measured (no Node.js, every server failing...).
    measured: bool


async def run(plan: Plan, suites: Sequence[str], *, extra_sections: Sequence[str] = ()) -> Outcome:
    """Run ``suites`` (of echo, fanout, memory) and render the report."""
    where = placement()
    notes = _placement_notes(where, plan, suites)
    for note in notes:
        _log(f"note: {note}")
    node = shutil.which("node")
    specs: dict[ServerName, ServerSpec] = {}
    if node is None:
        notes.append(
            "Node.js is NOT installed: the load generator needs it, so no server was measured."
        )
        _log("error: Node.js (`node`) is not on PATH; the load generator needs it")
    else:
        specs = _available(plan.servers, notes)
    modules = None
    if "node" in specs:
        try:
            modules = node_server_modules()
        except NodeToolchainError:  # pragma: no cover (server_spec already installed it)
            modules = None
    env = Environment.probe(node=node, placement=where.describe(), socket_io_modules=modules)
    echo: list[EchoResult] | None = None
    fanout: list[FanoutResult] | None = None
    memory: list[MemoryResult] | None = None
    bench: Bench | None = None
    if node is not None and specs:
        bench = Bench(plan, where, Loadgen(node, where), specs, log=_log)
        if "echo" in suites:
            _log("echo suite...")
            echo = await bench.echo()
        if "fanout" in suites:
            _log("fanout suite...")
            fanout = await bench.fanout()
        if "memory" in suites:
            _log("memory suite...")
            memory = await bench.memory()
    measured = any(
        r.error is None for r in [*(echo or ()), *(fanout or ()), *(memory or ())]
    ) or bool(extra_sections)
    report = render(
        env,
        method=_method(plan, suites),
        notes=notes,
        echo=echo,
        fanout=fanout,
        memory=memory,
        problems=bench.problems if bench else (),
        uvicorn_ws=bench.details.get("python-socketio") if bench else None,
        extra_sections=extra_sections,
    )
    return Outcome(
        report,
        None if echo is None else tuple(echo),
        None if fanout is None else tuple(fanout),
        None if memory is None else tuple(memory),
        measured,
    )


def main(
    suite: str,
    *,
    quick: bool = False,
    output: str | None = None,
    servers: str | None = None,
    rounds: int | None = None,
    seconds: float | None = None,
) -> int:
    """The ``bench`` command.  ``ValueError`` for a bad option (the CLI reports it)."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; choose from {', '.join(SUITES)}")
    if suite == "codec":
        from .codec import main as codec_main

        return codec_main(quick=quick, output=output)
    if rounds is not None and rounds < 1:
        raise ValueError("--rounds must be at least 1")
    if seconds is not None and seconds <= 0:
        raise ValueError("--seconds must be positive")
    plan = Plan.default(quick=quick, servers=parse_servers(servers), rounds=rounds, seconds=seconds)
    suites = _SERVER_SUITES if suite == "all" else (suite,)
    extra: list[str] = []
    if suite == "all":
        from .codec import build_report

        _log("codec suite...")
        extra.append(build_report(quick=quick))
    outcome = asyncio.run(run(plan, suites, extra_sections=extra))
    report = outcome.report
    print(report, end="")
    target = output
    if target is None and suite == "all" and DEFAULT_OUTPUT.parent.joinpath("index.rst").is_file():
        target = str(DEFAULT_OUTPUT)
    if target is not None:
        Path(target).write_text(report, encoding="utf-8")
        _log(f"report written to {target}")
    return 0 if outcome.measured else 1
