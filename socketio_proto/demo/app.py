"""The seed's example application: echo and broadcast on ``/test``, rooms, and an echo on ``/``."""

from __future__ import annotations

from typing import Any

from ..app import Server
from ..engineio.config import EngineConfig
from ..socketio.config import ServerConfig

__all__ = ["create_app", "demo_engine_config"]


def demo_engine_config(**overrides: Any) -> EngineConfig:
    """Socket.IO at ``/socket.io/``, Engine.IO 4 and 3 clients, any origin."""
    options: dict[str, Any] = {
        "path": "/socket.io/",
        "allow_eio3": True,
        "cors_allowed_origins": "*",
    }
    options.update(overrides)
    return EngineConfig(**options)


def create_app(
    engine_config: EngineConfig | None = None, config: ServerConfig | None = None
) -> Server:
    """A new application with the demo's handlers (see the README for the behaviours)."""
    app = Server(
        config, engine_config=engine_config if engine_config is not None else demo_engine_config()
    )

    @app.on("connect", namespace="/test")
    def test_connect(sid: str) -> None:
        app.socket(sid).emit("my response", {"data": "Connected"})

    @app.on("my event", namespace="/test")
    def my_event(sid: str, message: Any) -> None:
        app.socket(sid).emit("my response", {"data": _field(message, "data")})

    @app.on("my broadcast event", namespace="/test")
    def my_broadcast_event(sid: str, message: Any) -> None:
        app.emit("my response", {"data": _field(message, "data")}, namespace="/test")

    @app.on("join", namespace="/test")
    def join(sid: str, message: Any) -> bool:
        app.enter_room(sid, _room(message), namespace="/test")
        return True

    @app.on("leave", namespace="/test")
    def leave(sid: str, message: Any) -> bool:
        app.leave_room(sid, _room(message), namespace="/test")
        return True

    @app.on("my room event", namespace="/test")
    def my_room_event(sid: str, message: Any) -> None:
        data = {"data": _field(message, "data")}
        app.emit("my response", data, to=_room(message), namespace="/test")

    @app.on("disconnect request", namespace="/test")
    def disconnect_request(sid: str, *_: Any) -> None:
        app.socket(sid).emit("my response", {"data": "Disconnected!"})
        app.disconnect(sid, namespace="/test")

    @app.on("echo")
    def echo(sid: str, *args: Any) -> tuple[Any, ...]:
        return args  # the ack carries exactly the arguments, binary included

    return app


def _field(message: Any, name: str) -> Any:
    return message.get(name) if isinstance(message, dict) else None


def _room(message: Any) -> str:
    room = _field(message, "room")
    if not isinstance(room, str) or not room:
        raise ValueError(f"a room name is needed, got {room!r}")
    return room
