"""The repository's static promises: mypy --strict and ruff, run by the test command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_mypy_strict() -> None:
    result = run("mypy")  # files and --strict come from pyproject.toml
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_lint() -> None:
    result = run("ruff", "check", "socketio_proto", "tests", "fuzz", "examples")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = run("ruff", "format", "--check", "socketio_proto", "tests", "fuzz", "examples")
    assert result.returncode == 0, result.stdout + result.stderr


def test_package_is_typed() -> None:
    assert (ROOT / "socketio_proto" / "py.typed").is_file()
