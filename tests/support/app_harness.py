"""A byte-level harness for the application :class:`~socketio_proto.app.Server`.

Engine events go to the server; every job it produces runs at once with
:func:`~socketio_proto.app.run_sync`, until no more work appears -- the
simplest IO-adapter policy.
"""

from __future__ import annotations

from socketio_proto.app import Server, run_sync
from socketio_proto.engineio.config import EngineConfig
from socketio_proto.engineio.events import ServerEvent
from socketio_proto.socketio.config import ServerConfig
from tests.support.wire_client import WireHarness

__all__ = ["APP_ENGINE_CONFIG", "AppHarness"]

APP_ENGINE_CONFIG = EngineConfig(
    path="/socket.io/", ping_interval=0.3, ping_timeout=0.2, cors_allowed_origins="*"
)


class AppHarness(WireHarness):
    """A wire harness whose app is ``server``."""

    def __init__(self, server: Server, *, start: float = 0.0) -> None:
        super().__init__(server.engine.config, echo=False, start=start)
        # Serve the application's engine, not the one the wire harness made.
        self.wire.engine = self.engine = server.engine
        self.server = server

    @staticmethod
    def new_server(config: ServerConfig | None = None, **options: object) -> Server:
        return Server(config, engine_config=APP_ENGINE_CONFIG, **options)  # type: ignore[arg-type]

    def next_deadline(self) -> float | None:
        due = [d for d in (self.wire.next_deadline(), self.server.next_deadline()) if d is not None]
        return min(due) if due else None

    def handle_timeout(self, now: float) -> None:
        self.wire.handle_timeout(now)
        self.server.handle_timeout(now)
        self.run_jobs()

    def on_event(self, event: ServerEvent) -> None:
        self.server.handle_engine_event(event, self.now)
        self.run_jobs()

    def run_jobs(self) -> None:
        while jobs := self.server.process():
            for job in jobs:
                run_sync(job)
