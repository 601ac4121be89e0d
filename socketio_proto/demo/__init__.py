"""The demo server (``python -m socketio_proto demo``): the seed's page and handlers.

:func:`create_app` builds the application; :func:`serve` runs it with the
page on one of the IO adapters until interrupted.
"""

from __future__ import annotations

import signal
import threading
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
    """Serve the demo until interrupted.

    Ctrl-C (``KeyboardInterrupt``, re-raised) and SIGTERM (a normal return) both
    shut it down gracefully: clients are told, and the last bytes leave.  SIGTERM
    is what service managers and container runtimes send.
    """
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
                closing: set[asyncio.Task[None]] = set()  # keeps the task alive

                def terminate() -> None:
                    closing.add(asyncio.create_task(server.close()))

                if _is_main_thread():
                    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminate)
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
                if _is_main_thread():
                    nursery.start_soon(close_on_sigterm, server)

        async def close_on_sigterm(server: TrioServer) -> None:
            with trio.open_signal_receiver(signal.SIGTERM) as signals:
                async for _ in signals:
                    await server.aclose()
                    return

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
            if not _is_main_thread():
                threaded.serve_forever()
                return
            # close() waits for the clients: not in the signal handler itself.
            previous = signal.signal(
                signal.SIGTERM,
                lambda *_: threading.Thread(target=threaded.close, name="sigterm").start(),
            )
            try:
                threaded.serve_forever()
            finally:
                signal.signal(signal.SIGTERM, previous)
    else:
        raise ValueError(f"unknown IO adapter {io!r}; choose from {', '.join(IO_CHOICES)}")


def _is_main_thread() -> bool:
    # Signal handlers can only be installed from the main thread.
    return threading.current_thread() is threading.main_thread()


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    leaves: list[BaseException] = []
    for exc in group.exceptions:
        leaves += _leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
    return leaves
