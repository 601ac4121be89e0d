"""Per-instance configuration of an Engine.IO server (no globals, no environment probing)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from ..limits import DEFAULT_LIMITS, Limits
from .http import HttpRequest

__all__ = ["CookieConfig", "EngineConfig"]

TransportName = Literal["polling", "websocket"]


@dataclass(frozen=True, slots=True)
class CookieConfig:
    """The optional session cookie, set on the handshake response only."""

    name: str = "io"
    path: str = "/"
    http_only: bool = True
    same_site: Literal["Strict", "Lax", "None"] | None = "Lax"
    secure: bool = False

    def header(self, sid: str) -> str:
        """The ``Set-Cookie`` value for session ``sid``."""
        parts = [f"{self.name}={sid}", f"Path={self.path}"]
        if self.http_only:
            parts.append("HttpOnly")
        if self.secure:
            parts.append("Secure")
        if self.same_site:
            parts.append(f"SameSite={self.same_site}")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """How an :class:`~socketio_proto.engineio.EngineServer` behaves.  Times are in seconds."""

    #: URL prefix served; matched with a trailing slash as the JS server does.
    path: str = "/engine.io/"
    ping_interval: float = 25.0
    ping_timeout: float = 20.0
    #: How long a WebSocket probe may take to complete the upgrade.
    upgrade_timeout: float = 10.0
    #: How long a server-initiated close of a polling session waits for a GET to carry it.
    close_timeout: float = 30.0
    #: Serve Engine.IO 3 clients (Socket.IO JS 1.x/2.x) too.
    allow_eio3: bool = False
    transports: tuple[TransportName, ...] = ("polling", "websocket")
    allow_upgrades: bool = True
    #: ``None``: same-origin only (a request whose ``Origin`` is not this host is refused,
    #: WebSocket upgrades included); ``"*"``: any origin; or an explicit allow list.
    cors_allowed_origins: tuple[str, ...] | Literal["*"] | None = None
    cors_credentials: bool = False
    cookie: CookieConfig | None = None
    #: Compress polling responses at least this large (gzip/deflate); None disables.
    http_compression_threshold: int | None = 1024
    #: Negotiate permessage-deflate on WebSockets.
    websocket_compression: bool = False
    limits: Limits = DEFAULT_LIMITS
    #: Most packets waiting for a polling client to fetch them; a session that lets
    #: more pile up (it stopped polling) is closed: ``transport error``, "slow consumer".
    max_queued_packets: int = 10_000
    #: Called on every handshake; return None to accept or a message to refuse (403).
    allow_request: Callable[[HttpRequest], str | None] | None = field(default=None, compare=False)
    #: Returns new session ids; the default draws 12 CSPRNG bytes plus a counter.
    sid_generator: Callable[[], str] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"path must start with '/': {self.path!r}")
        if not self.path.endswith("/"):
            object.__setattr__(self, "path", self.path + "/")
        for name in ("ping_interval", "ping_timeout", "upgrade_timeout", "close_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if not self.transports or any(t not in ("polling", "websocket") for t in self.transports):
            raise ValueError(
                f"transports must be a non-empty subset of polling/websocket: {self.transports!r}"
            )
        if self.max_queued_packets < 1:
            raise ValueError("max_queued_packets must be at least 1")
        if self.cors_allowed_origins == "*" and self.cors_credentials:
            raise ValueError("cors_allowed_origins='*' cannot be combined with credentials")
        if isinstance(self.cors_allowed_origins, list):
            object.__setattr__(self, "cors_allowed_origins", tuple(self.cors_allowed_origins))

    @property
    def ping_interval_ms(self) -> int:
        """``ping_interval`` as advertised in the handshake (milliseconds)."""
        return round(self.ping_interval * 1000)

    @property
    def ping_timeout_ms(self) -> int:
        """``ping_timeout`` as advertised in the handshake (milliseconds)."""
        return round(self.ping_timeout * 1000)
