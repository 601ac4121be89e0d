"""The demo application on python-socketio's ``AsyncServer``, for interop tests and benchmarks.

Run by ``tests/support/peer_servers.py`` and the server benchmarks as
``python python_socketio_server.py [PORT [WS]]``: a ``socketio.ASGIApp`` under
uvicorn on 127.0.0.1, on ``PORT`` (default 0: a free one), with uvicorn's
websocket implementation ``WS`` (default ``wsproto``, which the interop tests
pin; the benchmarks pass ``auto``, uvicorn's own default, so the baseline runs
as deployed).  Prints ``listening on port N (ws: IMPLEMENTATION)`` on stdout once
it accepts connections; SIGTERM or SIGINT shuts it down cleanly.

The behaviours are those of ``socketio_proto/demo/app.py`` (and of
``node_server.cjs`` next to this file, minus the test-only "drop me"), and, test-only
as there, "peer left" {"sid", "reason"} to the rest of ``/test`` when a socket leaves it.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from typing import Any, Literal, get_args

import engineio.payload
import socketio
import uvicorn

# python-engineio refuses polling payloads of more than 16 packets by default
# (miguelgrinberg/python-engineio#142), while clients (the JS one, like ours) send
# every queued packet in one request; raise the limit, as its maintainer advises.
engineio.payload.Payload.max_decode_packets = 10_000

sio = socketio.AsyncServer(
    async_mode="asgi",
    cors_allowed_origins="*",
    # Send CONNECT before running the connect handler, so the handler may emit.
    always_connect=True,
    max_http_buffer_size=10_000_000,
)


def _field(message: Any, name: str) -> Any:
    return message.get(name) if isinstance(message, dict) else None


def _room(message: Any) -> str:
    room = _field(message, "room")
    if not isinstance(room, str) or not room:
        raise ValueError(f"a room name is needed, got {room!r}")
    return room


@sio.on("connect", namespace="/test")  # type: ignore[untyped-decorator]
async def test_connect(sid: str, environ: Any, auth: Any = None) -> None:
    await sio.emit("my response", {"data": "Connected"}, to=sid, namespace="/test")


@sio.on("my event", namespace="/test")  # type: ignore[untyped-decorator]
async def my_event(sid: str, message: Any) -> None:
    await sio.emit("my response", {"data": _field(message, "data")}, to=sid, namespace="/test")


@sio.on("my broadcast event", namespace="/test")  # type: ignore[untyped-decorator]
async def my_broadcast_event(sid: str, message: Any) -> None:
    await sio.emit("my response", {"data": _field(message, "data")}, namespace="/test")


@sio.on("join", namespace="/test")  # type: ignore[untyped-decorator]
async def join(sid: str, message: Any) -> bool:
    await sio.enter_room(sid, _room(message), namespace="/test")
    return True


@sio.on("leave", namespace="/test")  # type: ignore[untyped-decorator]
async def leave(sid: str, message: Any) -> bool:
    await sio.leave_room(sid, _room(message), namespace="/test")
    return True


@sio.on("my room event", namespace="/test")  # type: ignore[untyped-decorator]
async def my_room_event(sid: str, message: Any) -> None:
    data = {"data": _field(message, "data")}
    await sio.emit("my response", data, to=_room(message), namespace="/test")


@sio.on("disconnect request", namespace="/test")  # type: ignore[untyped-decorator]
async def disconnect_request(sid: str, *_: Any) -> None:
    await sio.emit("my response", {"data": "Disconnected!"}, to=sid, namespace="/test")
    await sio.disconnect(sid, namespace="/test")


@sio.on("disconnect", namespace="/test")  # type: ignore[untyped-decorator]
async def test_disconnect(sid: str, reason: str | None = None) -> None:
    await sio.emit("peer left", {"sid": sid, "reason": reason}, namespace="/test", skip_sid=sid)


@sio.on("echo")  # type: ignore[untyped-decorator]
async def echo(sid: str, *args: Any) -> tuple[Any, ...]:
    return args  # a tuple is sent as that many ack arguments


WebSocketImplementation = Literal["auto", "websockets", "websockets-sansio", "wsproto"]


def _implementation(name: str) -> WebSocketImplementation:
    for choice in get_args(WebSocketImplementation):
        if name == choice:
            return choice  # type: ignore[no-any-return]
    raise SystemExit(f"unknown uvicorn websocket implementation {name!r}")


async def main(port: int, ws: WebSocketImplementation = "wsproto") -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    config = uvicorn.Config(
        socketio.ASGIApp(sio),
        ws=ws,
        lifespan="off",
        log_level="warning",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)

    async def announce() -> None:
        while not server.started:
            await asyncio.sleep(0.01)
        protocol = config.ws_protocol_class
        used = "none" if protocol is None else f"{protocol.__module__}.{protocol.__name__}"
        print(f"listening on port {listener.getsockname()[1]} (ws: {used})", flush=True)

    # uvicorn shuts down gracefully on these, then re-raises the signal with the
    # handler found at start: make that a no-op so a requested stop exits with 0.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _ignore)
    announcer = asyncio.create_task(announce())
    await server.serve(sockets=[listener])
    announcer.cancel()


def _ignore(signum: int, frame: object) -> None:
    pass


if __name__ == "__main__":
    asyncio.run(
        main(
            int(sys.argv[1]) if len(sys.argv) > 1 else 0,
            _implementation(sys.argv[2] if len(sys.argv) > 2 else "wsproto"),
        )
    )
