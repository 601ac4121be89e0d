"""The markdown report of the server suites: environment, one table per suite, the targets.

The text is valid MyST Markdown, so ``docs/benchmarks-results.md`` (written by
``bench all``) builds with the rest of the documentation under ``sphinx -W``.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TypeVar

from .results import EchoResult, FanoutResult, MemoryResult, Spread

__all__ = [
    "Environment",
    "fmt_count",
    "fmt_ms",
    "fmt_ratio",
    "fmt_spread",
    "markdown_table",
    "render",
]

BASELINE = "python-socketio"
_OURS = ("asyncio", "trio", "threads")

# -- formatting -------------------------------------------------------------------------


def fmt_count(value: float) -> str:
    """Thousands separated, no decimals: ``12,345``."""
    return f"{value:,.0f}"


def fmt_ms(value: float | None) -> str:
    """Milliseconds with three significant-ish digits: ``0.153``, ``7.44``, ``231``."""
    if value is None:
        return "n/a"
    if value < 1:
        return f"{value:.3f}"
    if value < 10:
        return f"{value:.2f}"
    if value < 100:
        return f"{value:.1f}"
    return f"{value:,.0f}"


def fmt_spread(value: Spread | None, fmt: Callable[[float], str]) -> str:
    """``median (min-max)``."""
    if value is None:
        return "n/a"
    return f"{fmt(value.median)} ({fmt(value.low)}-{fmt(value.high)})"


def fmt_ratio(value: float | None) -> str:
    """``2.31x``; ``n/a`` when there is nothing to compare."""
    return "n/a" if value is None else f"{value:.2f}x"


def _cell(text: str) -> str:
    """Table-safe: no pipes or newlines, errors shortened (the Problems list has them whole)."""
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= 90 else text[:87] + "..."


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return lines


# -- environment ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Environment:
    """Where and with what a run happened, for the report's header."""

    date: str
    machine: str
    python: str
    node: str
    versions: tuple[tuple[str, str], ...]
    placement: str

    @classmethod
    def probe(
        cls, *, node: str | None, placement: str, socket_io_modules: Path | None
    ) -> Environment:
        versions = [(name, _version(name)) for name in _PYTHON_PACKAGES]
        versions.append(("socket.io (npm)", _npm_version(socket_io_modules, "socket.io")))
        return cls(
            date=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            machine=_machine(),
            python=f"{platform.python_implementation()} {platform.python_version()}",
            node=_node_version(node),
            versions=tuple(versions),
            placement=placement,
        )


_PYTHON_PACKAGES = (
    "socketio_proto",
    "python-socketio",
    "python-engineio",
    "uvicorn",
    "wsproto",
    "h11",
    "trio",
)


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _npm_version(modules: Path | None, package: str) -> str:
    if modules is None:
        return "not installed"
    try:
        manifest = json.loads((modules / package / "package.json").read_text())
    except (OSError, ValueError):
        return "not installed"
    return str(manifest.get("version", "unknown"))


def _node_version(node: str | None) -> str:
    if node is None:
        return "not installed"
    try:
        result = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return result.stdout.strip() or "unknown"


def _machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    return (
        f"{os.cpu_count()} CPUs ({usable} usable), {model}; {platform.system()} "
        f"{platform.release()} {platform.machine()}; load average {load} at the start"
    )


# -- the report -------------------------------------------------------------------------

R = TypeVar("R", EchoResult, FanoutResult, MemoryResult)


def _find(results: Sequence[R], server: str, clients: int) -> R | None:
    for result in results:
        if result.server == server and result.clients == clients:
            return result
    return None


def _sizes(results: Sequence[EchoResult | FanoutResult | MemoryResult]) -> list[int]:
    return sorted({r.clients for r in results})


def _error_or(result: EchoResult | FanoutResult | MemoryResult, text: str) -> str:
    if result.error and text == "n/a":
        return f"error: {result.error}"
    return text


def echo_table(results: Sequence[EchoResult]) -> list[str]:
    rows = []
    for clients in _sizes(results):
        baseline = _find(results, BASELINE, clients)
        limit = _find(results, "limit", clients)
        for result in (r for r in results if r.clients == clients):
            rows.append(
                [
                    str(clients),
                    result.server,
                    _error_or(result, fmt_spread(result.per_second, fmt_count)),
                    fmt_ms(result.p50_ms),
                    fmt_ms(result.p99_ms),
                    fmt_ratio(result.ratio(baseline)),
                    fmt_ratio(result.ratio(limit)),
                ]
            )
    return markdown_table(
        [
            "Clients",
            "Server",
            "Round trips/s, median (min-max)",
            "p50 ms",
            "p99 ms",
            "vs python-socketio",
            "vs limit",
        ],
        rows,
    )


def fanout_table(results: Sequence[FanoutResult]) -> list[str]:
    rows = []
    for clients in _sizes(results):
        baseline = _find(results, BASELINE, clients)
        node = _find(results, "node", clients)
        for result in (r for r in results if r.clients == clients):
            rows.append(
                [
                    str(clients),
                    result.server,
                    _error_or(result, fmt_spread(result.time_ms, fmt_ms)),
                    fmt_ratio(result.ratio(baseline)),
                    fmt_ratio(result.ratio(node)),
                ]
            )
    return markdown_table(
        [
            "Clients",
            "Server",
            "ms until the last client has it, median (min-max)",
            "vs python-socketio",
            "vs node",
        ],
        rows,
    )


def _mib(kib: int | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.1f}"


def _kib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def memory_table(results: Sequence[MemoryResult]) -> list[str]:
    rows = []
    for clients in _sizes(results):
        baseline = _find(results, BASELINE, clients)
        for result in (r for r in results if r.clients == clients):
            rows.append(
                [
                    str(clients),
                    result.server,
                    _mib(result.base_kib),
                    _mib(result.loaded_kib),
                    _error_or(result, _kib(result.per_client_kib)),
                    fmt_ratio(result.ratio(baseline)),
                ]
            )
    return markdown_table(
        [
            "Idle clients",
            "Server",
            "RSS before, MiB",
            "RSS holding them, MiB",
            "KiB per client",
            "vs python-socketio",
        ],
        rows,
    )


def _verdict(value: float | None, ok: bool) -> str:
    if value is None:
        return "not measured"
    return "met" if ok else "**not met**"


def targets_table(
    echo: Sequence[EchoResult] | None,
    fanout: Sequence[FanoutResult] | None,
    memory: Sequence[MemoryResult] | None,
) -> list[str]:
    """The issue's targets, checked for each of our servers that was measured."""
    rows: list[list[str]] = []
    measured = {r.server for r in echo or ()} | {r.server for r in fanout or ()}
    measured |= {r.server for r in memory or ()}
    ours = [name for name in _OURS if name in measured]
    for name in ours:
        for clients in (10, 100):
            result = _find(echo or [], name, clients)
            if result is None:
                continue
            vs_baseline = result.ratio(_find(echo or [], BASELINE, clients))
            vs_limit = result.ratio(_find(echo or [], "limit", clients))
            rows.append(
                [
                    f"echo K={clients} >= 3x python-socketio",
                    name,
                    fmt_ratio(vs_baseline),
                    _verdict(vs_baseline, vs_baseline is not None and vs_baseline >= 3),
                ]
            )
            rows.append(
                [
                    f"echo K={clients} >= 0.8x limit",
                    name,
                    fmt_ratio(vs_limit),
                    _verdict(vs_limit, vs_limit is not None and vs_limit >= 0.8),
                ]
            )
        fan = _find(fanout or [], name, 5000)
        if fan is not None:
            vs_node = fan.ratio(_find(fanout or [], "node", 5000))
            vs_baseline = fan.ratio(_find(fanout or [], BASELINE, 5000))
            slower = None if vs_node is None else 1 / vs_node
            rows.append(
                [
                    "fanout 5000: time within 1.5x Node's",
                    name,
                    "n/a" if slower is None else f"{slower:.2f}x Node's time",
                    _verdict(slower, slower is not None and slower <= 1.5),
                ]
            )
            rows.append(
                [
                    "fanout 5000 >= 8x python-socketio",
                    name,
                    fmt_ratio(vs_baseline),
                    _verdict(vs_baseline, vs_baseline is not None and vs_baseline >= 8),
                ]
            )
        for held in (r for r in memory or () if r.server == name):
            per_client = held.per_client_kib
            rows.append(
                [
                    f"memory: <= 10 KiB per idle client (N={held.clients})",
                    name,
                    _kib(per_client),
                    _verdict(per_client, per_client is not None and per_client <= 10),
                ]
            )
    return markdown_table(["Target", "Server", "Measured", "Verdict"], rows) if rows else []


def render(
    env: Environment,
    *,
    method: Sequence[str],
    notes: Sequence[str],
    echo: Sequence[EchoResult] | None = None,
    fanout: Sequence[FanoutResult] | None = None,
    memory: Sequence[MemoryResult] | None = None,
    problems: Sequence[str] = (),
    uvicorn_ws: str | None = None,
    title: str = "Server benchmark results",
    extra_sections: Sequence[str] = (),
) -> str:
    """The whole markdown page."""
    versions = ", ".join(f"{name} {version}" for name, version in env.versions)
    lines = [
        f"# {title}",
        "",
        "Generated by `python -m socketio_proto bench`; see {doc}`benchmarks` for the method.",
        "",
        f"- Date: {env.date}",
        f"- Machine: {env.machine}",
        f"- Python: {env.python}; Node.js: {env.node}",
        f"- Versions: {versions}",
        f"- uvicorn websocket implementation (python-socketio row): {uvicorn_ws or 'n/a'}",
        f"- Placement: {env.placement}",
    ]
    lines += [f"- Method: {item}" for item in method]
    lines += [f"- **Note:** {note}" for note in notes]
    lines.append(
        "- Ratios: how many times better than the reference (> 1: better): round trips "
        "per second over the reference's; the reference's time or KiB per client over the row's."
    )
    if echo is not None:
        lines += ["", "## Echo", "", *echo_table(echo)]
    if fanout is not None:
        lines += ["", "## Fanout (broadcast)", "", *fanout_table(fanout)]
    if memory is not None:
        lines += ["", "## Memory per idle client", "", *memory_table(memory)]
    targets = targets_table(echo, fanout, memory)
    if targets:
        lines += ["", "## Targets (issue 7)", "", *targets]
    if problems:
        # Verbatim (stderr tails hold anything): a fenced block keeps them out of the markup.
        lines += ["", "## Problems seen during the run", "", "~~~~text"]
        lines += [problem.replace("~~~~", "~ ~ ~ ~") for problem in problems]
        lines.append("~~~~")
    for section in extra_sections:
        lines += ["", section.strip()]
    return "\n".join(lines) + "\n"
