"""Real ASGI servers, in a thread of the test process, serving our ASGI applications.

Each helper listens on a free port of 127.0.0.1 (a socket bound to port 0 before the
server starts, so there is no race for the port) and yields the base URL; leaving the
block shuts the server down gracefully (lifespan shutdown included) and fails if it
does not stop in time::

    with uvicorn_server(ASGIApp(create_app())) as server:
        server.url                      # "http://127.0.0.1:PORT"

With ``tls=`` (a :class:`tests.support.tls.Certificate`) the server speaks only
HTTPS/WSS and the URL is ``"https://127.0.0.1:PORT"``.

``server.log()`` holds what the server and the library logged (warnings and errors),
for failure diagnostics.  The applications used by the tests (mounted under
Starlette, FastAPI, or the pre-0.33 Starlette convention) are built here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import hypercorn.asyncio
import hypercorn.config
import uvicorn
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from socketio_proto.asgi import ASGIApp
from socketio_proto.asgi.server import ASGIApplication, Receive, Scope, Send
from tests.support.tls import Certificate

__all__ = [
    "HELLO",
    "LegacyMount",
    "RunningServer",
    "fastapi_app",
    "hello_app",
    "hypercorn_server",
    "starlette_app",
    "uvicorn_server",
]

#: What the ordinary route next to Socket.IO answers.
HELLO = "hello from the other app"
_START_TIMEOUT = 15.0
_STOP_TIMEOUT = 20.0
_LOGGERS = ("uvicorn.error", "hypercorn.error", "socketio_proto")


@dataclass
class RunningServer:
    name: str
    url: str
    records: list[str] = field(default_factory=list)

    def log(self) -> str:
        return "\n".join(self.records) or "(nothing logged)"


class _Collect(logging.Handler):
    def __init__(self, records: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.records = records
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


@contextlib.contextmanager
def _collecting(records: list[str]) -> Iterator[None]:
    handler = _Collect(records)
    for name in _LOGGERS:
        logging.getLogger(name).addHandler(handler)
    try:
        yield
    finally:
        for name in _LOGGERS:
            logging.getLogger(name).removeHandler(handler)


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def _scheme(tls: Certificate | None) -> str:
    return "http" if tls is None else "https"


def _wait(condition: Any, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout} s")
        time.sleep(0.01)


@contextlib.contextmanager
def uvicorn_server(
    app: ASGIApplication, name: str = "uvicorn", *, tls: Certificate | None = None
) -> Iterator[RunningServer]:
    """uvicorn with its wsproto WebSocket implementation and the lifespan on."""
    sock = _listening_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        ws="wsproto",
        lifespan="on",
        log_config=None,  # leave the test process's logging alone
        log_level="warning",
        timeout_graceful_shutdown=5,
        ssl_certfile=None if tls is None else str(tls.cert),
        ssl_keyfile=None if tls is None else str(tls.key),
    )
    server = uvicorn.Server(config)
    running = RunningServer(name, f"{_scheme(tls)}://127.0.0.1:{port}")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    with _collecting(running.records), sock:
        thread.start()
        _wait(lambda: server.started or not thread.is_alive(), "uvicorn did not start", 15)
        assert server.started, f"uvicorn did not start:\n{running.log()}"
        try:
            yield running
        finally:
            server.should_exit = True
            thread.join(_STOP_TIMEOUT)
        assert not thread.is_alive(), f"uvicorn did not stop:\n{running.log()}"


@contextlib.contextmanager
def hypercorn_server(
    app: ASGIApplication, name: str = "hypercorn", *, tls: Certificate | None = None
) -> Iterator[RunningServer]:
    """hypercorn on asyncio, stopped through its shutdown trigger.

    With ``tls`` it offers HTTP/2 as well as HTTP/1.1 (ALPN), as it does in production.
    """
    sock = _listening_socket()
    port = sock.getsockname()[1]
    config = hypercorn.config.Config()
    config.bind = [f"fd://{sock.detach()}"]  # hypercorn owns (and closes) the socket
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 5
    if tls is not None:
        config.certfile, config.keyfile = str(tls.cert), str(tls.key)
    running = RunningServer(name, f"{_scheme(tls)}://127.0.0.1:{port}")
    ready = threading.Event()
    control: dict[str, Any] = {}
    failure: list[BaseException] = []

    async def serve() -> None:
        stop = asyncio.Event()
        control["loop"], control["stop"] = asyncio.get_running_loop(), stop
        ready.set()
        await hypercorn.asyncio.serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=run, name=name, daemon=True)
    with _collecting(running.records):
        thread.start()
        assert ready.wait(_START_TIMEOUT), "hypercorn did not start"
        assert not failure, failure
        try:
            yield running
        finally:
            loop: asyncio.AbstractEventLoop = control["loop"]
            with contextlib.suppress(RuntimeError):  # the loop may have ended already
                loop.call_soon_threadsafe(control["stop"].set)
            thread.join(_STOP_TIMEOUT)
        assert not thread.is_alive(), f"hypercorn did not stop:\n{running.log()}"
        assert not failure, f"hypercorn failed: {failure[0]!r}\n{running.log()}"


# -- the applications -------------------------------------------------------------------------


async def _hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse(HELLO)


def hello_app() -> Starlette:
    """A plain application with one route (``/hello``), to be wrapped by ``ASGIApp``."""
    return Starlette(routes=[Route("/hello", _hello)])


def starlette_app(sio: ASGIApp, prefix: str = "/sio") -> Starlette:
    """``sio`` mounted at ``prefix`` next to ``/hello``; the lifespan shuts it down."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await sio.shutdown()

    return Starlette(routes=[Route("/hello", _hello), Mount(prefix, app=sio)], lifespan=lifespan)


def fastapi_app(sio: ASGIApp, prefix: str = "/sio") -> FastAPI:
    """The same with FastAPI's ``app.mount``."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await sio.shutdown()

    api = FastAPI(lifespan=lifespan)
    api.mount(prefix, sio)

    @api.get("/hello", response_class=PlainTextResponse)
    def hello() -> str:
        return HELLO

    return api


class LegacyMount:
    """Starlette < 0.33's ``Mount``: ``path`` loses the prefix, ``root_path`` gains it.

    ``raw_path`` keeps the full path, as it did.  Everything else goes to ``other``.
    """

    def __init__(self, prefix: str, app: ASGIApplication, other: ASGIApplication) -> None:
        self.prefix = prefix
        self.app = app
        self.other = other

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] in ("http", "websocket") and path.startswith(self.prefix + "/"):
            child = dict(
                scope,
                path=path[len(self.prefix) :],
                root_path=scope.get("root_path", "") + self.prefix,
            )
            await self.app(child, receive, send)
        else:
            await self.other(scope, receive, send)
