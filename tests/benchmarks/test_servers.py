"""End-to-end runs of the server benchmarks with tiny loads: they run and report every row.

Real servers (ours on asyncio, python-socketio, Node.js socket.io, the bare wsproto
limit) and the real Node.js load generator; only the sizes are tiny.  Nothing here
asserts a timing: the checks are that every requested row has positive numbers and
that the ratio cells are the arithmetic of the measured values.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import pytest

from socketio_proto.__main__ import main as cli
from socketio_proto.benchmarks.processes import ServerName
from socketio_proto.benchmarks.report import fmt_ratio
from socketio_proto.benchmarks.results import MemoryResult
from socketio_proto.benchmarks.servers import run
from socketio_proto.benchmarks.suites import Plan

ROOT = Path(__file__).resolve().parent.parent.parent
SERVERS: tuple[ServerName, ...] = ("asyncio", "python-socketio", "node", "limit")
NUMBER = re.compile(r"^-?[\d,]+(?:\.\d+)?")


def section(report: str, title: str) -> list[list[str]]:
    """Body cells of the table under the ``## title`` heading."""
    lines = report.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"## {title}"))
    table = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        table.append(line)
    return [[c.strip() for c in line.strip("|").split("|")] for line in table[2:]]


def number(cell: str) -> float:
    match = NUMBER.match(cell)
    assert match, cell
    return float(match.group(0).replace(",", ""))


def test_every_suite_reports_every_server() -> None:
    plan = Plan(
        servers=SERVERS,
        rounds=2,
        echo_clients=(1,),
        echo_seconds=0.2,
        echo_warmup=0.05,
        fanout_clients=(10,),
        memory_clients=(20,),
        memory_settle=0.1,
        memory_warmup=0.1,
    )
    outcome = asyncio.run(run(plan, ("echo", "fanout", "memory")))
    report = outcome.report
    assert outcome.measured
    assert outcome.echo is not None and outcome.fanout is not None and outcome.memory is not None
    assert "Node.js: v" in report
    assert re.search(r"python-socketio \d", report)
    assert re.search(r"socket\.io \(npm\) 4\.8\.1", report)
    assert "uvicorn websocket implementation (python-socketio row): uvicorn." in report

    echo = section(report, "Echo")
    assert [(row[0], row[1]) for row in echo] == [("1", server) for server in SERVERS]
    for row, result in zip(echo, outcome.echo, strict=True):
        assert result.error is None, result
        assert len(result.samples) == 2
        assert all(number(cell) > 0 for cell in row[2:5]), row
        baseline = next(
            r for r in outcome.echo if r.server == "python-socketio" and r.clients == result.clients
        )
        limit = next(r for r in outcome.echo if r.server == "limit" and r.clients == result.clients)
        assert result.per_second is not None and baseline.per_second is not None
        assert limit.per_second is not None
        assert row[5] == fmt_ratio(result.per_second.median / baseline.per_second.median)
        assert row[6] == fmt_ratio(result.per_second.median / limit.per_second.median)
    assert all(row[5] == "1.00x" for row in echo if row[1] == "python-socketio")

    fanout = section(report, "Fanout")
    assert [row[1] for row in fanout] == list(SERVERS)
    baseline_ms = next(r for r in outcome.fanout if r.server == "python-socketio")
    node_ms = next(r for r in outcome.fanout if r.server == "node")
    for row, broadcast in zip(fanout, outcome.fanout, strict=True):
        assert broadcast.error is None and len(broadcast.milliseconds) == 2, broadcast
        assert number(row[2]) > 0, row
        assert broadcast.time_ms is not None and baseline_ms.time_ms and node_ms.time_ms
        assert row[3] == fmt_ratio(baseline_ms.time_ms.median / broadcast.time_ms.median)
        assert row[4] == fmt_ratio(node_ms.time_ms.median / broadcast.time_ms.median)

    memory = section(report, "Memory")
    assert [row[1] for row in memory] == list(SERVERS)
    for row, held in zip(memory, outcome.memory, strict=True):
        assert isinstance(held, MemoryResult)
        assert held.error is None, held
        assert held.base_kib and held.base_kib > 0 and held.loaded_kib and held.loaded_kib > 0
        assert number(row[2]) > 0 and number(row[3]) > 0, row
        number(row[4])  # KiB per client: a delta, possibly zero with 20 clients
    assert "## Targets" in report


def test_cli_writes_the_report(tmp_path: Path) -> None:
    output = tmp_path / "echo.md"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "socketio_proto",
            "bench",
            "echo",
            "--quick",
            "--servers",
            "limit",
            "--seconds",
            "0.2",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = output.read_text(encoding="utf-8")
    assert report == result.stdout
    assert [row[:2] for row in section(report, "Echo")] == [
        ["1", "limit"],
        ["10", "limit"],
        ["100", "limit"],
    ]
    assert "echo K=100 round 1/1" in result.stderr
    assert "python-socketio" not in section(report, "Echo")[0][1]


def test_unknown_server_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli(["bench", "echo", "--servers", "asyncio,nginx"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "unknown server 'nginx'" in err
    assert "asyncio, trio, threads, python-socketio, node, limit" in err


def test_server_options_are_refused_for_the_codec_suite(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        cli(["bench", "codec", "--servers", "asyncio"])
    assert "server suites only" in capsys.readouterr().err


def _state(pid: int) -> str:
    """The process state letter of ``/proc/<pid>/stat`` ("T": stopped)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2]


def test_a_paused_server_takes_no_cpu_until_resumed() -> None:
    # What lets the suites measure one server while the others sit still.
    from socketio_proto.benchmarks.processes import placement, running_server, server_spec

    async def main() -> None:
        problems: list[str] = []
        async with running_server(server_spec("limit"), placement(), problems) as server:
            pid = server.process.pid
            assert _state(pid) != "T"
            server.pause()
            await asyncio.sleep(0.05)
            assert _state(pid) == "T"
            server.resume()
            await asyncio.sleep(0.05)
            assert _state(pid) != "T"
        assert problems == []  # it still stopped cleanly on its signal

    asyncio.run(main())
