"""The atheris fuzz targets in fuzz/: seed replay, a bounded CI run and a soak run.

* ``test_seed_corpus_replays`` feeds every seed file to the target's
  ``TestOneInput`` in this process (no libFuzzer), so the seeds and invariants are
  checked even where the fuzzing engine cannot run.
* ``test_fuzz_target`` runs each target under libFuzzer for ``FUZZ_RUNS``
  executions (default 20000) or ``FUZZ_MAX_SECONDS`` (default 12), whichever
  comes first, over a temporary copy of its seed corpus: about 30 s for the five
  decoder targets on one core, and never more than 12 s per target.
* ``test_fuzz_soak`` (``-m slow``) fuzzes for ``FUZZ_SOAK_SECONDS`` in total
  (default 300), split evenly between the targets.

Environment: ``FUZZ_RUNS``, ``FUZZ_MAX_SECONDS``, ``FUZZ_SOAK_SECONDS``, ``FUZZ_SEED`` (libFuzzer
``-seed``; random when unset), ``FUZZ_JOBS_TIMEOUT`` (seconds per subprocess on
top of the fuzzing budget, default 120).  A crash is copied to
``fuzz/artifacts/<target>/`` (git-ignored); fuzz/README.md explains how to turn it
into a regression seed.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

# The targets need atheris (the dev extra); a missing install must fail, not skip.
import atheris  # noqa: F401
import pytest

ROOT = Path(__file__).resolve().parent.parent
FUZZ_DIR = ROOT / "fuzz"
CORPUS_DIR = FUZZ_DIR / "corpus"
DICT_DIR = FUZZ_DIR / "dicts"
ARTIFACTS_DIR = FUZZ_DIR / "artifacts"
TARGETS = sorted(path.stem for path in FUZZ_DIR.glob("fuzz_*.py"))

FUZZ_RUNS = int(os.environ.get("FUZZ_RUNS", "20000"))
FUZZ_MAX_SECONDS = int(os.environ.get("FUZZ_MAX_SECONDS", "12"))
FUZZ_SOAK_SECONDS = int(os.environ.get("FUZZ_SOAK_SECONDS", "300"))
FUZZ_SEED = os.environ.get("FUZZ_SEED")
FUZZ_JOBS_TIMEOUT = int(os.environ.get("FUZZ_JOBS_TIMEOUT", "120"))


def _files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(path for path in directory.iterdir() if path.is_file())


def _load(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(FUZZ_DIR))
    return importlib.import_module(name)


def test_every_target_has_seeds() -> None:
    decoders = {
        "fuzz_engineio_packet",
        "fuzz_engineio_payload",
        "fuzz_json_codecs",
        "fuzz_msgpack_parser",
        "fuzz_socketio_parser",
        "fuzz_socketio_server",
        "fuzz_websocket_codec",
        "fuzz_wire_server",
    }
    assert decoders <= set(TARGETS)
    for target in TARGETS:
        assert len(_files(CORPUS_DIR / target)) >= 10, f"{target}: no seed corpus"
    for target in decoders:
        assert (DICT_DIR / f"{target}.dict").is_file(), target


@pytest.mark.parametrize("target", TARGETS)
def test_seed_corpus_replays(target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = _load(target, monkeypatch)
    failures = []
    for path in _files(CORPUS_DIR / target):
        try:
            module.TestOneInput(path.read_bytes())
        except Exception as exc:
            failures.append(f"{path.name}: {type(exc).__name__}: {exc}"[:500])
    assert not failures, "\n".join(failures)


def _run_target(target: str, tmp_path: Path, budget: list[str], seconds: float) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR / target, corpus)
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    command = [
        sys.executable,
        str(FUZZ_DIR / f"{target}.py"),
        str(corpus),
        *budget,
        "-timeout=30",
        "-rss_limit_mb=2048",
        f"-artifact_prefix={artifacts}/",
        "-print_final_stats=1",
    ]
    dictionary = DICT_DIR / f"{target}.dict"
    if dictionary.is_file():
        command.append(f"-dict={dictionary}")
    if FUZZ_SEED:
        command.append(f"-seed={FUZZ_SEED}")
    result = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=seconds + FUZZ_JOBS_TIMEOUT,
        check=False,
    )
    if result.returncode == 0:
        return
    saved = []
    for crash in _files(artifacts):
        destination = ARTIFACTS_DIR / target / crash.name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(crash, destination)
        saved.append(f"{destination.relative_to(ROOT)} ({crash.read_bytes()[:200]!r})")
    pytest.fail(
        f"{target} exited with {result.returncode}; command: {' '.join(command)}\n"
        f"artifacts: {saved or 'none'}\n"
        # atheris prints the Python traceback on stdout, libFuzzer its report on stderr.
        f"--- stdout (tail) ---\n{result.stdout[-6000:]}\n"
        f"--- stderr (tail) ---\n{result.stderr[-4000:]}"
    )


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_target(target: str, tmp_path: Path) -> None:
    budget = [f"-runs={FUZZ_RUNS}", f"-max_total_time={FUZZ_MAX_SECONDS}"]
    _run_target(target, tmp_path, budget, seconds=FUZZ_MAX_SECONDS)


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_soak(target: str, tmp_path: Path) -> None:
    seconds = max(1, FUZZ_SOAK_SECONDS // len(TARGETS))
    _run_target(target, tmp_path, [f"-max_total_time={seconds}"], seconds=seconds)
