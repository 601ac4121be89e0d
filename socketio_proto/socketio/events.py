"""What the Socket.IO machines report to the application.

A :class:`~socketio_proto.socketio.server.SocketServer` and a
:class:`~socketio_proto.socketio.client.SocketClient` turn incoming Engine.IO
messages into these frozen events; the application layer (or a test) drains
them with ``events()`` and answers through the machines' methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .._fastinit import fast_init
from ..engineio.client import EngineClient
from ..engineio.http import HttpRequest

__all__ = [
    "AckReceived",
    "AckTimedOut",
    "BroadcastAckCompleted",
    "ClientConnected",
    "ClientEvent",
    "ConnectRefused",
    "ConnectRequested",
    "DisconnectReason",
    "Disconnected",
    "EngineStarted",
    "EventReceived",
    "ReconnectAttempt",
    "ReconnectFailed",
    "ServerEvent",
]


class DisconnectReason(StrEnum):
    """Why a socket left a namespace (the strings the JS implementation reports)."""

    #: The server called ``disconnect`` on the socket.
    SERVER_DISCONNECT = "io server disconnect"
    #: The client sent DISCONNECT for the namespace.
    CLIENT_DISCONNECT = "io client disconnect"
    #: The server disconnected the socket and closed its Engine.IO session.
    FORCED_SERVER_CLOSE = "forced server close"
    #: The server is shutting down.
    SERVER_SHUTTING_DOWN = "server shutting down"
    #: The peer sent something undecodable or a packet the state forbids.
    PARSE_ERROR = "parse error"
    TRANSPORT_CLOSE = "transport close"
    TRANSPORT_ERROR = "transport error"
    PING_TIMEOUT = "ping timeout"
    #: The client closed its Engine.IO session (a ``1`` packet).
    FORCED_CLOSE = "forced close"


#: Reasons after which a session is kept for connection state recovery (protocol.md 2.10).
RECOVERABLE_REASONS = frozenset(
    {
        DisconnectReason.TRANSPORT_ERROR,
        DisconnectReason.TRANSPORT_CLOSE,
        DisconnectReason.FORCED_CLOSE,
        DisconnectReason.PING_TIMEOUT,
        DisconnectReason.SERVER_SHUTTING_DOWN,
        DisconnectReason.FORCED_SERVER_CLOSE,
    }
)


# -- server side --------------------------------------------------------------------------


@fast_init
@dataclass(frozen=True, slots=True)
class ConnectRequested:
    """A client asks to join ``namespace``; answer with ``accept(sid)`` or ``refuse(sid, ...)``.

    ``sid`` is the socket id the socket will have (a fresh random id, or the old
    one when ``recovered``).  Until the answer, the socket receives nothing: what
    the application emits to it is held and sent right after the CONNECT reply.
    """

    sid: str
    namespace: str
    #: The CONNECT payload (revision 5) or the namespace's query string (revision 4).
    auth: Any
    #: The Engine.IO session the socket rides on.
    eio_sid: str
    #: The Engine.IO handshake request (headers, query, cookies...).
    request: HttpRequest
    #: The session was restored from connection state recovery (rooms and data are back).
    recovered: bool = False


@fast_init
@dataclass(frozen=True, slots=True)
class EventReceived:
    """An EVENT arrived; if ``ack_id`` is not None the client waits for ``ack(...)``."""

    sid: str
    namespace: str
    event: str | int | float
    args: list[Any]
    ack_id: int | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class AckReceived:
    """The peer acknowledged our emit ``ack_id`` with ``args``."""

    sid: str
    namespace: str
    ack_id: int
    args: list[Any]


@fast_init
@dataclass(frozen=True, slots=True)
class AckTimedOut:
    """No acknowledgement for emit ``ack_id`` arrived in time; a late one will be ignored."""

    sid: str
    namespace: str
    ack_id: int


@fast_init
@dataclass(frozen=True, slots=True)
class BroadcastAckCompleted:
    """Every target of broadcast ``ack_id`` replied, or the timeout fired first.

    ``responses`` maps socket id -> arguments for those that replied; ``missing``
    holds the targets that will not: those still silent at the timeout and
    those that left before replying (so it may be non-empty without a timeout).
    """

    namespace: str
    ack_id: int
    responses: dict[str, list[Any]] = field(hash=False)
    missing: frozenset[str] = frozenset()
    timed_out: bool = False


@fast_init
@dataclass(frozen=True, slots=True)
class Disconnected:
    """Socket ``sid`` left ``namespace``; nothing more reaches it."""

    sid: str
    namespace: str
    reason: DisconnectReason
    #: Extra context (e.g. the decode error), empty when there is none.
    detail: str = ""


ServerEvent = (
    ConnectRequested
    | EventReceived
    | AckReceived
    | AckTimedOut
    | BroadcastAckCompleted
    | Disconnected
)


# -- client side --------------------------------------------------------------------------


@fast_init
@dataclass(frozen=True, slots=True)
class EngineStarted:
    """A new Engine.IO session was started (first connect or a reconnection).

    The IO driver must carry ``engine`` from now on (wrap it in a
    :class:`~socketio_proto.wire.client.WireClient`, or drive it directly);
    the previous engine, if any, is finished.
    """

    engine: EngineClient
    #: 0 for the first connection, then the reconnection attempt number.
    attempt: int


@fast_init
@dataclass(frozen=True, slots=True)
class ClientConnected:
    """The server accepted our CONNECT for ``namespace``."""

    namespace: str
    sid: str
    #: The private session id when the server offers connection state recovery.
    pid: str | None = None
    #: The server restored our previous session (same ``sid``, missed events replayed).
    recovered: bool = False


@fast_init
@dataclass(frozen=True, slots=True)
class ConnectRefused:
    """The server refused ``namespace`` (CONNECT_ERROR); the namespace will not reconnect."""

    namespace: str
    message: str
    data: Any = None


@fast_init
@dataclass(frozen=True, slots=True)
class ReconnectAttempt:
    """The connection was lost; attempt ``attempt`` starts at ``at`` (seconds, like ``now``)."""

    attempt: int
    at: float


@fast_init
@dataclass(frozen=True, slots=True)
class ReconnectFailed:
    """Every reconnection attempt failed; the client gave up."""

    attempts: int


ClientEvent = (
    EngineStarted
    | ClientConnected
    | ConnectRefused
    | EventReceived
    | AckReceived
    | AckTimedOut
    | Disconnected
    | ReconnectAttempt
    | ReconnectFailed
)
