"""Run a command on chosen CPUs with the open-files limit raised: the benchmarks' launcher.

``python -m socketio_proto.benchmarks.pinned [--cpus 0,1] [--nofile N] -- COMMAND...``
sets its own CPU affinity and ``RLIMIT_NOFILE`` soft limit, then *replaces itself*
with ``COMMAND`` (``os.execvp``).  Doing it before the exec, rather than with
``os.sched_setaffinity(pid)`` after the start, pins every thread the command will
ever create (Node.js starts its worker threads before running any script, and
affinity set on a pid covers only that one thread), keeps the pid (whose
``/proc/<pid>/status`` the memory suite reads), and avoids ``preexec_fn``, which is
unsafe in a parent with threads.
"""

from __future__ import annotations

import argparse
import os
import resource
from collections.abc import Sequence

__all__ = ["main", "parse_cpus"]


def parse_cpus(text: str) -> set[int]:
    """``"0,2"`` -> ``{0, 2}``."""
    cpus = {int(part) for part in text.split(",") if part.strip()}
    if not cpus or min(cpus) < 0:
        raise ValueError(f"not a CPU list: {text!r}")
    return cpus


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m socketio_proto.benchmarks.pinned")
    parser.add_argument("--cpus", type=parse_cpus, help="CPU numbers, comma-separated")
    parser.add_argument("--nofile", type=int, help="soft RLIMIT_NOFILE (capped at the hard one)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        parser.error("no command to run")
    if args.cpus is not None:
        os.sched_setaffinity(0, args.cpus)
    if args.nofile is not None:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = args.nofile if hard == resource.RLIM_INFINITY else min(args.nofile, hard)
        if wanted > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    os.execvp(command[0], command)


if __name__ == "__main__":
    raise SystemExit(main())
