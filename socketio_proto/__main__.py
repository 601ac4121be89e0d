"""Command line: ``python -m socketio_proto {demo,tour,decode,bench}``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m socketio_proto",
        description="socketio_proto: sans-IO Engine.IO and Socket.IO.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="serve the demo page and Socket.IO application")
    demo.add_argument("--host", default="127.0.0.1", help="address to listen on")
    demo.add_argument("--port", type=int, default=5000, help="port to listen on (0: any free)")
    demo.add_argument(
        "--io", choices=("asyncio", "trio", "threads"), default="asyncio", help="IO adapter"
    )
    demo.add_argument(
        "--client-js",
        type=Path,
        metavar="PATH",
        help="serve this socket.io client bundle to the page instead of loading it from the CDN",
    )

    tour = commands.add_parser("tour", help="walk through a Socket.IO session, layer by layer")
    tour.add_argument("--eio", type=int, choices=(3, 4), default=4, help="Engine.IO revision")

    decode = commands.add_parser("decode", help="decode captured Engine.IO/Socket.IO text")
    decode.add_argument("payload", help="a polling body or WebSocket message, as text")
    decode.add_argument("--eio", type=int, choices=(3, 4), default=4, help="Engine.IO revision")

    bench = commands.add_parser("bench", help="benchmarks, side by side with python-socketio")
    bench.add_argument(
        "suite", choices=("codec", "echo", "fanout", "memory", "all"), nargs="?", default="codec"
    )
    bench.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    bench.add_argument(
        "--output",
        help="also write the markdown report to this file "
        "(default for `all`: docs/benchmarks-results.md in a source checkout)",
    )
    bench.add_argument(
        "--servers",
        metavar="NAMES",
        help="comma-separated subset of asyncio,trio,threads,python-socketio,node,limit",
    )
    bench.add_argument("--rounds", type=int, help="rounds per measurement (default 3)")
    bench.add_argument("--seconds", type=float, help="seconds per echo round (default 3)")

    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(parser, args)
    if args.command == "tour":
        from .tour import run_tour

        return run_tour(args.eio)
    if args.command == "decode":
        from .tour import run_decode

        return run_decode(args.payload, args.eio)
    return _bench(parser, args)


def _bench(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from .benchmarks.servers import main as run_benchmarks
    from .benchmarks.servers import parse_servers

    if args.suite == "codec" and (args.servers or args.rounds or args.seconds):
        parser.error("--servers, --rounds and --seconds apply to the server suites only")
    try:
        parse_servers(args.servers)
        if args.rounds is not None and args.rounds < 1:
            raise ValueError("--rounds must be at least 1")
        if args.seconds is not None and args.seconds <= 0:
            raise ValueError("--seconds must be positive")
    except ValueError as exc:
        parser.error(str(exc))
    return run_benchmarks(
        args.suite,
        quick=args.quick,
        output=args.output,
        servers=args.servers,
        rounds=args.rounds,
        seconds=args.seconds,
    )


def _demo(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from .demo import serve

    if args.client_js is not None and not args.client_js.is_file():
        parser.error(f"--client-js: no such file: {args.client_js}")
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, got {args.port}")
    try:
        serve(args.io, args.host, args.port, args.client_js)  # returns on SIGTERM
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ImportError as exc:
        hint = " (pip install 'socketio_proto[trio]')" if args.io == "trio" else ""
        print(f"error: {exc}{hint}", file=sys.stderr)
        return 1
    print("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
