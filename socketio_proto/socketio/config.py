"""Per-instance configuration of the Socket.IO machines.  Times are in seconds."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

from ..engineio.client import ClientConfig as EngineClientConfig
from ..limits import DEFAULT_LIMITS, Limits
from ..serialization import JsonCodec

__all__ = [
    "BufferPolicy",
    "ClientConfig",
    "ReconnectionConfig",
    "RecoveryConfig",
    "ServerConfig",
    "random_id",
]

#: Which packet codec a machine speaks: the default text parser or socket.io-msgpack-parser.
ParserName = Literal["default", "msgpack"]


def random_id() -> str:
    """A 20-character URL-safe id from 15 CSPRNG bytes (socket ids, pids)."""
    return secrets.token_urlsafe(15)


@dataclass(frozen=True, slots=True)
class RecoveryConfig:
    """Connection state recovery (protocol.md 2.10; JS ``connectionStateRecovery``)."""

    #: How long a disconnected session (and the events it missed) is kept.
    max_disconnection_duration: float = 120.0
    #: Recovered sockets skip connect middlewares (the application layer applies this).
    skip_middlewares: bool = True
    #: Most events kept for replay; the oldest are dropped first (JS keeps all of them).
    max_stored_packets: int = 10_000

    def __post_init__(self) -> None:
        if self.max_disconnection_duration <= 0:
            raise ValueError("max_disconnection_duration must be positive")
        if self.max_stored_packets < 1:
            raise ValueError("max_stored_packets must be at least 1")


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """How a :class:`~socketio_proto.socketio.server.SocketServer` behaves."""

    #: JSON codec for the default parser (stdlib by default).
    json: JsonCodec | None = None
    parser: ParserName = "default"
    #: Close an Engine.IO session that joins no namespace within this time (JS default 45 s).
    connect_timeout: float = 45.0
    #: Connection state recovery; None disables it (the CONNECT reply then has only ``sid``).
    recovery: RecoveryConfig | None = None
    limits: Limits = DEFAULT_LIMITS
    #: Makes socket ids, pids and recovery offsets (each call a new, unique id);
    #: replace it for deterministic tests.
    id_generator: Callable[[], str] = random_id

    def __post_init__(self) -> None:
        if self.connect_timeout <= 0:
            raise ValueError("connect_timeout must be positive")


class BufferPolicy(Enum):
    """What a client does with emits while its namespace is not connected."""

    #: Keep them (up to ``max_buffered``, then the oldest are dropped) and send on connect.
    BUFFER = "buffer"
    #: Drop them at once.
    DROP = "drop"


@dataclass(frozen=True, slots=True)
class ReconnectionConfig:
    """Exponential backoff with jitter between reconnection attempts (JS ``Manager`` rules)."""

    enabled: bool = True
    #: None: try forever.
    attempts: int | None = None
    delay: float = 1.0
    delay_max: float = 5.0
    #: Jitter: each delay moves by up to this fraction, up or down.
    randomization_factor: float = 0.5
    #: Seed for the jitter; equal seeds give equal delays.  None: seeded from the OS.
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.attempts is not None and self.attempts < 0:
            raise ValueError("attempts must be None or >= 0")
        if self.delay < 0 or self.delay_max < self.delay:
            raise ValueError("need 0 <= delay <= delay_max")
        if not 0 <= self.randomization_factor <= 1:
            raise ValueError("randomization_factor must be within [0, 1]")


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """How a :class:`~socketio_proto.socketio.client.SocketClient` connects."""

    #: The Engine.IO session settings (path defaults to ``/socket.io/``).
    engine: EngineClientConfig = field(
        default_factory=lambda: EngineClientConfig(path="/socket.io/")
    )
    json: JsonCodec | None = None
    parser: ParserName = "default"
    reconnection: ReconnectionConfig = field(default_factory=ReconnectionConfig)
    buffer_policy: BufferPolicy = BufferPolicy.BUFFER
    #: Most emits held per namespace while disconnected.
    max_buffered: int = 1000
    limits: Limits = DEFAULT_LIMITS

    def __post_init__(self) -> None:
        if self.max_buffered < 0:
            raise ValueError("max_buffered must be >= 0")
