"""The Sphinx documentation builds without a single warning, and its examples run.

Two builds of ``docs/`` in a fresh temporary directory, sharing one environment:

* ``-b html`` with ``-W --keep-going``: every warning (a broken cross reference, a
  malformed docstring, a missing module) fails the test;
* ``-b doctest``: every ``>>>`` example and ``testcode`` block in the guides (and in
  docstrings pulled in by autodoc) is executed and its output compared.
"""

from __future__ import annotations

import importlib.util
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import socketio_proto

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TIMEOUT = 180
# Command-line helpers, not a library API.
UNDOCUMENTED = ("socketio_proto.tour", "socketio_proto.benchmarks")


def _public_modules() -> set[str]:
    names = {socketio_proto.__name__}
    for info in pkgutil.walk_packages(socketio_proto.__path__, "socketio_proto."):
        parts = info.name.split(".")
        if any(part.startswith("_") for part in parts):
            continue
        if info.name.startswith(UNDOCUMENTED):
            continue
        names.add(info.name)
    return names


def _sphinx(builder: str, work: Path, *extra: str) -> tuple[int, str]:
    command = [
        sys.executable,
        "-m",
        "sphinx",
        "-b",
        builder,
        "-q",
        *extra,
        # One environment for both builds: the second one does not read the sources again.
        "-d",
        str(work / "doctrees"),
        str(DOCS),
        str(work / builder),
    ]
    try:
        # cwd: the examples run hypothesis, which keeps a cache in the working directory.
        done = subprocess.run(
            command,
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        return -1, f"timed out after {TIMEOUT} s\n{exc.output}"
    return done.returncode, done.stdout


def test_docs_build_cleanly_and_examples_pass(tmp_path: Path) -> None:
    html_status, html_output = _sphinx("html", tmp_path, "-W", "--keep-going")
    doctest_status, doctest_output = _sphinx("doctest", tmp_path)

    assert html_status == 0, f"sphinx -W -b html failed:\n{html_output}"
    assert doctest_status == 0, f"sphinx -b doctest failed:\n{doctest_output}"

    site = tmp_path / "html"
    for page in ("index", "codecs", "json", "limits", "deviations", "testing", "api/index"):
        assert (site / f"{page}.html").is_file(), f"{page}.html was not built"
    report = (tmp_path / "doctest" / "output.txt").read_text(encoding="utf-8")
    assert "0 failures in tests" in report, report
    # The guides really are executed: a count far from zero.
    summary = re.search(r"Doctest summary\s*=+\s*(\d+) tests", report)
    assert summary is not None, report
    tests_run = int(summary.group(1))
    assert tests_run >= 100, report

    # The API reference covers every public module.
    documented = {
        match
        for page in (site / "api").glob("*.html")
        for match in re.findall(r'id="module-([\w.]+)"', page.read_text(encoding="utf-8"))
    }
    missing = sorted(_public_modules() - documented)
    assert not missing, f"add these modules to docs/api/: {missing}"

    # The benchmark page is Markdown: built whenever the file and myst-parser exist.
    if (DOCS / "benchmarks.md").is_file() and importlib.util.find_spec("myst_parser"):
        assert (site / "benchmarks.html").is_file(), "docs/benchmarks.md was not built"
