"""The demo server (``python -m socketio_proto demo``): the seed's page and handlers.

:func:`create_app` builds the application; :func:`serve` runs it with the
page on one of the IO adapters until interrupted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from .app import create_app, demo_engine_config
from .page import CDN_CLIENT, LOCAL_CLIENT_PATH, demo_fallback, render_page

__all__ = [
    "CDN_CLIENT",
    "IO_CHOICES",
    "LOCAL_CLIENT_PATH",
    "create_app",
    "demo_engine_config",
    "demo_fallback",
    "render_page",
    "serve",
]

IoName = Literal["asyncio", "trio", "threads"]
IO_CHOICES: tuple[IoName, ...] = ("asyncio", "trio", "threads")


def serve(
    io: IoName = "asyncio",
    host: str = "127.0.0.1",
    port: int = 5000,
    client_js: Path | None = None,
) -> None:
    """Serve the demo until interrupted (Ctrl-C shuts it down gracefully)."""
    app = create_app()
    fallback = demo_fallback(client_js)

    def announce(actual_port: int) -> None:
        print(
            f"socketio_proto demo ({io}) on http://{host}:{actual_port}/  (Ctrl-C to stop)",
            flush=True,
        )
        print(
            f"Socket.IO at http://{host}:{actual_port}/socket.io/ (Engine.IO 4 and 3)", flush=True
        )

    if io == "asyncio":
        import asyncio

        from ..asyncio import AsyncServer

        async def main() -> None:
            async with AsyncServer(app, host=host, port=port, fallback=fallback) as server:
                announce(server.port)
                await server.serve_forever()

        asyncio.run(main())
    elif io == "trio":
        import trio

        from ..trio import TrioServer

        async def trio_main() -> None:
            async with trio.open_nursery() as nursery:
                server = TrioServer(app, host=host, port=port, fallback=fallback)
                await nursery.start(server.serve)
                announce(server.port)

        try:
            trio.run(trio_main)
        except BaseExceptionGroup as group:
            # Nurseries wrap Ctrl-C and bind errors (in nested groups): report them plainly.
            leaves = _leaves(group)
            if all(isinstance(leaf, KeyboardInterrupt) for leaf in leaves):
                raise KeyboardInterrupt from None
            if len(leaves) == 1 and isinstance(leaves[0], OSError):
                raise leaves[0] from None
            raise
    elif io == "threads":
        from ..threads import ThreadedServer

        with ThreadedServer(app, host=host, port=port, fallback=fallback) as threaded:
            announce(threaded.port)
            threaded.serve_forever()
    else:
        raise ValueError(f"unknown IO adapter {io!r}; choose from {', '.join(IO_CHOICES)}")


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    leaves: list[BaseException] = []
    for exc in group.exceptions:
        leaves += _leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
    return leaves
