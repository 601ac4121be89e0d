"""The "limit" server: bare wsproto on asyncio, the floor under any stack built on them.

``python -m socketio_proto.benchmarks.limit_server [--port P]`` serves exactly
what the benchmark load generator (``loadgen.cjs``) needs and nothing more:

* the WebSocket upgrade (any path), then the Engine.IO 4 open packet;
* ``40/test,`` -> ``40/test,{"sid":...}`` and the demo's
  ``42/test,["my response",{"data":"Connected"}]``;
* ``42/test,["my event",X]`` -> ``42/test,["my response",X]`` to the sender and
  ``42/test,["my broadcast event",X]`` -> the same to every connection in ``/test``,
  both by string slicing: no JSON, no packet objects, no Engine.IO state machine.

No heartbeats are sent (pongs are ignored), nothing is validated.  Its purpose is
to show what asyncio's transport plus wsproto's framing cost on their own, so the
benchmark can say how close our full stack gets to that floor: every byte still
goes through ``asyncio.Protocol.data_received`` and ``wsproto.WSConnection`` (one
frame encoding per receiver, as any wsproto server would do), like ours.

Prints ``listening on port N`` once it accepts connections; exits 0 on SIGTERM
or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import signal
from collections.abc import Sequence

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Ping,
    Request,
    TextMessage,
)

__all__ = ["LimitConnection", "main", "serve"]

_PING_INTERVAL_MS = 25_000
_CONNECT = "40/test,"
_EVENT = "42/test,"
_MY_EVENT = '42/test,["my event",'
_BROADCAST = '42/test,["my broadcast event",'
_RESPONSE = '42/test,["my response",'
_CONNECTED = '42/test,["my response",{"data":"Connected"}]'


def _sid() -> str:
    return base64.urlsafe_b64encode(os.urandom(15)).decode("ascii")


class LimitConnection(asyncio.Protocol):
    """One client: wsproto framing and a handful of string comparisons."""

    __slots__ = ("_members", "_partial", "_sid", "_transport", "_ws")

    def __init__(self, members: set[LimitConnection]) -> None:
        self._members = members
        self._ws = WSConnection(ConnectionType.SERVER)
        self._transport: asyncio.Transport | None = None
        self._partial: list[str] = []
        self._sid = _sid()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._members.discard(self)
        self._transport = None

    def send_text(self, text: str) -> None:
        """Frame ``text`` with wsproto and write it (dropped once the connection is gone)."""
        if self._transport is not None:
            self._transport.write(self._ws.send(TextMessage(data=text)))

    def data_received(self, data: bytes) -> None:
        ws = self._ws
        ws.receive_data(data)
        for event in ws.events():
            if isinstance(event, TextMessage):
                if not event.message_finished:
                    self._partial.append(event.data)
                    continue
                text = event.data
                if self._partial:
                    text = "".join([*self._partial, text])
                    self._partial.clear()
                self._message(text)
            elif isinstance(event, Request):
                self._accept()
            elif isinstance(event, Ping):
                self._write(ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                self._write(ws.send(event.response()))
                self._close()

    def _write(self, data: bytes) -> None:
        if self._transport is not None:
            self._transport.write(data)

    def _close(self) -> None:
        self._members.discard(self)
        if self._transport is not None:
            self._transport.close()

    def _accept(self) -> None:
        ws = self._ws
        self._write(
            ws.send(AcceptConnection())
            + ws.send(
                TextMessage(
                    data=f'0{{"sid":"{self._sid}","upgrades":[],'
                    f'"pingInterval":{_PING_INTERVAL_MS},"pingTimeout":20000,'
                    '"maxPayload":1000000}'
                )
            )
        )

    def _message(self, text: str) -> None:
        if text.startswith(_EVENT):
            if text.startswith(_MY_EVENT):
                self.send_text(_RESPONSE + text[len(_MY_EVENT) :])
            elif text.startswith(_BROADCAST):
                response = _RESPONSE + text[len(_BROADCAST) :]
                for member in list(self._members):
                    member.send_text(response)
        elif text == _CONNECT:
            self._members.add(self)
            self.send_text(f'40/test,{{"sid":"{_sid()}"}}')
            self.send_text(_CONNECTED)
        elif text == "2":
            self.send_text("3")
        elif text.startswith("41/test"):
            self._members.discard(self)
        elif text == "1":
            self._close()
        # "3" (pong) and anything else: ignored.


async def serve(host: str, port: int) -> None:
    """Listen until SIGTERM/SIGINT; announce the port on stdout once listening."""
    loop = asyncio.get_running_loop()
    members: set[LimitConnection] = set()
    server = await loop.create_server(lambda: LimitConnection(members), host, port, backlog=4096)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"listening on port {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m socketio_proto.benchmarks.limit_server",
        description="bare wsproto echo/broadcast server: the benchmarks' floor",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
