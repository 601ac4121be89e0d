"""Command line: ``python -m socketio_proto {demo,decode,bench}``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m socketio_proto",
        description="socketio_proto: sans-IO Engine.IO and Socket.IO.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="walk through a Socket.IO session, layer by layer")
    demo.add_argument("--eio", type=int, choices=(3, 4), default=4, help="Engine.IO revision")

    decode = commands.add_parser("decode", help="decode captured Engine.IO/Socket.IO text")
    decode.add_argument("payload", help="a polling body or WebSocket message, as text")
    decode.add_argument("--eio", type=int, choices=(3, 4), default=4, help="Engine.IO revision")

    bench = commands.add_parser("bench", help="benchmarks, side by side with python-socketio")
    bench.add_argument("suite", choices=("codec",), nargs="?", default="codec")
    bench.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    bench.add_argument("--output", help="also write the markdown table to this file")

    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run_demo

        return run_demo(args.eio)
    if args.command == "decode":
        from .demo import run_decode

        return run_decode(args.payload, args.eio)
    from .benchmarks.codec import main as run_codec_benchmark

    return run_codec_benchmark(quick=args.quick, output=args.output)


if __name__ == "__main__":
    sys.exit(main())
