"""Unit tests of the server benchmarks' numbers and markdown: medians, ratios, tables.

No server runs here and nothing is timed: the records are made up.
"""

from __future__ import annotations

import pytest

from socketio_proto.benchmarks.loadgen import EchoSample
from socketio_proto.benchmarks.processes import SERVER_NAMES, Placement, server_name
from socketio_proto.benchmarks.report import (
    Environment,
    echo_table,
    fanout_table,
    fmt_count,
    fmt_ms,
    fmt_ratio,
    fmt_spread,
    markdown_table,
    memory_table,
    render,
    targets_table,
)
from socketio_proto.benchmarks.results import (
    EchoResult,
    FanoutResult,
    MemoryResult,
    Spread,
    higher_is_better,
    lower_is_better,
    spread,
)
from socketio_proto.benchmarks.servers import parse_servers
from socketio_proto.benchmarks.suites import Plan


def sample(per_second: float, p50: float = 1.0, p99: float = 2.0) -> EchoSample:
    return EchoSample(1, int(per_second), per_second, p50, p99)


def cells(lines: list[str]) -> list[list[str]]:
    """The body rows of a markdown table, split into cells."""
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]


def test_spread_is_median_min_max() -> None:
    assert spread([3.0, 1.0, 2.0]) == Spread(2.0, 1.0, 3.0)
    assert spread([4.0, 1.0]) == Spread(2.5, 1.0, 4.0)
    assert spread([]) is None


def test_ratios_say_how_many_times_better() -> None:
    assert higher_is_better(300.0, 100.0) == 3.0
    assert lower_is_better(10.0, 80.0) == 8.0
    assert higher_is_better(None, 1.0) is None
    assert higher_is_better(1.0, 0.0) is None
    assert lower_is_better(0.0, 1.0) is None
    assert lower_is_better(-2.0, 1.0) is None  # a negative memory delta has no ratio


def test_formats() -> None:
    assert fmt_count(12345.6) == "12,346"
    assert [fmt_ms(v) for v in (0.1234, 7.444, 23.45, 1234.0)] == ["0.123", "7.44", "23.4", "1,234"]
    assert fmt_ms(None) == "n/a"
    assert fmt_ratio(2.345) == "2.35x"
    assert fmt_ratio(None) == "n/a"
    assert fmt_spread(Spread(2.0, 1.0, 3.0), fmt_count) == "2 (1-3)"
    assert fmt_spread(None, fmt_count) == "n/a"


def test_markdown_table_escapes_cells() -> None:
    lines = markdown_table(["A", "B"], [["x|y", "line\nbreak"], ["z" * 200, ""]])
    assert lines[:2] == ["| A | B |", "|---|---|"]
    assert lines[2] == "| x\\|y | line break |"
    assert lines[3].endswith("... |  |")
    assert len(lines[3]) < 100


def test_echo_results_and_table() -> None:
    ours = EchoResult("asyncio", 10, (sample(900), sample(1200, 0.5, 9.0), sample(1000)))
    baseline = EchoResult("python-socketio", 10, (sample(300), sample(250), sample(350)))
    limit = EchoResult("limit", 10, (sample(1250),))
    broken = EchoResult("node", 10, (), "load generator exit 1: boom")
    assert ours.per_second == Spread(1000, 900, 1200)
    assert ours.p50_ms == 1.0
    assert ours.p99_ms == 2.0
    assert ours.ratio(baseline) == pytest.approx(1000 / 300)
    assert ours.ratio(limit) == pytest.approx(0.8)
    assert broken.ratio(baseline) is None
    assert ours.ratio(None) is None

    rows = cells(echo_table([ours, baseline, broken, limit]))
    assert rows[0] == ["10", "asyncio", "1,000 (900-1,200)", "1.00", "2.00", "3.33x", "0.80x"]
    assert rows[1][-2:] == ["1.00x", "0.24x"]
    assert rows[2][2] == "error: load generator exit 1: boom"
    assert rows[2][-2:] == ["n/a", "n/a"]


def test_fanout_ratios_compare_times() -> None:
    ours = FanoutResult("asyncio", 5000, (40.0, 50.0, 45.0))
    baseline = FanoutResult("python-socketio", 5000, (400.0, 500.0, 450.0))
    node = FanoutResult("node", 5000, (30.0,))
    assert ours.ratio(baseline) == pytest.approx(10.0)
    assert ours.ratio(node) == pytest.approx(30 / 45)
    rows = cells(fanout_table([ours, baseline, node]))
    assert rows[0] == ["5000", "asyncio", "45.0 (40.0-50.0)", "10.00x", "0.67x"]

    targets = cells(targets_table(None, [ours, baseline, node], None))
    assert ["fanout 5000: time within 1.5x Node's", "asyncio", "1.50x Node's time", "met"] in (
        targets
    )
    assert ["fanout 5000 >= 8x python-socketio", "asyncio", "10.00x", "met"] in targets


def test_memory_per_client_and_targets() -> None:
    ours = MemoryResult("threads", 1000, 20_000, 45_000)
    baseline = MemoryResult("python-socketio", 1000, 40_000, 60_000)
    failed = MemoryResult("trio", 1000, None, None, "the server died")
    assert ours.per_client_kib == 25.0
    assert ours.ratio(baseline) == pytest.approx(0.8)
    assert failed.per_client_kib is None
    rows = cells(memory_table([ours, baseline, failed]))
    assert rows[0] == ["1000", "threads", "19.5", "43.9", "25.00", "0.80x"]
    assert rows[2][4] == "error: the server died"
    targets = cells(targets_table(None, None, [ours, baseline, failed]))
    assert ["memory: <= 10 KiB per idle client (N=1000)", "threads", "25.00", "**not met**"] in (
        targets
    )
    assert ["memory: <= 10 KiB per idle client (N=1000)", "trio", "n/a", "not measured"] in targets


def test_render_has_environment_sections_and_problems() -> None:
    env = Environment(
        date="2026-01-01 00:00 UTC",
        machine="2 CPUs",
        python="CPython 3.11",
        node="v20",
        versions=(("socketio_proto", "0.1.0"), ("uvicorn", "0.30")),
        placement="not pinned",
    )
    echo = [EchoResult("asyncio", 1, (sample(10),))]
    report = render(
        env,
        method=["echo: tiny"],
        notes=["node is NOT measured: missing."],
        echo=echo,
        problems=["limit wrote on stderr: ```oops```"],
        uvicorn_ws="wsproto",
        extra_sections=["## Codec benchmark\n\ntext"],
    )
    assert report.startswith("# Server benchmark results\n")
    assert "- Versions: socketio_proto 0.1.0, uvicorn 0.30" in report
    assert "- uvicorn websocket implementation (python-socketio row): wsproto" in report
    assert "- **Note:** node is NOT measured: missing." in report
    assert "## Echo" in report
    assert "## Fanout" not in report
    assert "~~~~text\nlimit wrote on stderr: ```oops```\n~~~~" in report
    assert report.rstrip().endswith("## Codec benchmark\n\ntext")


def test_server_names_and_plans() -> None:
    assert parse_servers(None) == SERVER_NAMES
    assert parse_servers("limit, asyncio") == ("asyncio", "limit")
    with pytest.raises(ValueError, match="unknown server 'nope'"):
        parse_servers("asyncio,nope")
    with pytest.raises(ValueError, match="no server"):
        parse_servers(",")
    assert server_name("node") == "node"
    quick = Plan.default(quick=True, rounds=2, seconds=0.5)
    assert (quick.rounds, quick.echo_seconds, quick.fanout_clients) == (2, 0.5, (100, 1000))
    full = Plan.default()
    assert (full.echo_clients, full.fanout_clients, full.memory_clients) == (
        (1, 10, 100),
        (100, 1000, 5000),
        (1000, 5000),
    )


def test_placement_pins_through_the_launcher() -> None:
    where = Placement((0,), (1,), 1024, 4096)
    assert where.launcher(where.server_cpus)[-5:] == ["--cpus", "0", "--nofile", "4096", "--"]
    assert "--cpus" not in Placement(None, None, 1024, 4096).launcher(None)
    assert where.fits(4000)
    assert not where.fits(5000)
    assert "not pinned" in Placement(None, None, 1024, 4096).describe()
