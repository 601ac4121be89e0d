"""Smoke tests of ``python -m socketio_proto bench codec``: it runs and reports every row.

Nothing here asserts a timing: performance is measured by the benchmark, never by tests.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from socketio_proto.benchmarks.codec import ROW_TITLES

ROOT = Path(__file__).resolve().parent.parent

OPS = r"\d+(?:\.\d+)?[kM]?"
OPS_CELL = re.compile(rf"^{OPS} \({OPS}-{OPS}\)$")
RATIO_CELL = re.compile(r"^\d+\.\d\dx$")
COLUMNS = 9  # row, wire, implementation, 3 x ops/s, 3 x ratio


def bench(tmp_path: Path, env: dict[str, str] | None = None) -> tuple[str, str]:
    output = tmp_path / "bench.md"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "socketio_proto",
            "bench",
            "codec",
            "--quick",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = output.read_text(encoding="utf-8")
    assert report.strip() in result.stdout
    return report, result.stderr


def table_rows(report: str) -> list[list[str]]:
    """The cells of the main table (the one with an Implementation column), header excluded."""
    lines = report.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Row | Wire |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_codec_bench_reports_every_row_with_numbers(tmp_path: Path) -> None:
    report, _ = bench(tmp_path)
    assert "- Python: " in report
    assert re.search(r"Machine: \d+ cores", report)
    assert re.search(r"python-socketio \d", report)
    assert re.search(r"python-engineio \d", report)

    rows = table_rows(report)
    assert {row[0] for row in rows} == set(ROW_TITLES)
    for row in rows:
        assert len(row) == COLUMNS, row
        for cell in row[3:6]:
            assert OPS_CELL.match(cell), row
    implementations = {(row[0], row[2]) for row in rows}
    for title in ROW_TITLES:
        assert (title, "socketio_proto, json (stdlib)") in implementations
        assert (title, "socketio_proto, orjson") in implementations
        baseline = (title, "python-socketio, json") in implementations
        # python-engineio 4 has no v3 payloads: that row stands alone.
        assert baseline == ("v3" not in title), title

    for row in rows:
        ratios = row[6:9]
        if row[2].startswith("python-socketio"):
            assert ratios == ["baseline"] * 3, row
        elif "v3" in row[0]:
            assert all(cell.startswith("n/a") for cell in ratios), row
            assert "no v3" in ratios[0], row
        else:
            assert all(RATIO_CELL.match(cell) for cell in ratios), row
    msgpack_rows = {row[0] for row in rows if "msgpack" in row[2]}
    assert "small event" in msgpack_rows
    assert "### Targets" in report


def test_codec_bench_says_when_python_socketio_is_missing(tmp_path: Path) -> None:
    # Shadow the installed packages with ones that cannot be imported.
    for name in ("socketio", "engineio"):
        package = tmp_path / "shadow" / name
        package.mkdir(parents=True)
        (package / "__init__.py").write_text(f"raise ImportError('{name} hidden by the test')\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(tmp_path / "shadow"), *filter(None, [env.get("PYTHONPATH")])]
    )
    report, stderr = bench(tmp_path, env)
    assert "NOT installed" in report
    assert "NOT installed" in stderr
    rows = table_rows(report)
    assert {row[0] for row in rows} == set(ROW_TITLES)
    assert not any(row[2].startswith("python-socketio") for row in rows)
    for row in rows:
        for cell in row[3:6]:
            assert OPS_CELL.match(cell), row
        assert all(cell.startswith("n/a") for cell in row[6:9]), row
