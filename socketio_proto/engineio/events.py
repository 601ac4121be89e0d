"""What the Engine.IO machines report.

Two streams come out of a server:

* **events** for the application (a session opened, a message arrived, ...);
* **outputs** for whoever owns the transports: HTTP responses to write,
  WebSocket messages to send, WebSockets to close.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .._fastinit import fast_init
from .http import HttpRequest, HttpResponse
from .packet import EngineRevision

__all__ = [
    "CloseReason",
    "CloseWebSocket",
    "MessageReceived",
    "Output",
    "Respond",
    "SendWebSocket",
    "ServerEvent",
    "SessionClosed",
    "SessionOpened",
    "SessionUpgraded",
]


class CloseReason(StrEnum):
    """Why a session ended (the strings the JS server reports)."""

    TRANSPORT_CLOSE = "transport close"
    TRANSPORT_ERROR = "transport error"
    PING_TIMEOUT = "ping timeout"
    PARSE_ERROR = "parse error"
    #: The client asked to close (a ``1`` packet).
    FORCED_CLOSE = "forced close"
    #: The application closed the session.
    SERVER_CLOSE = "server close"


# -- events for the application -------------------------------------------------------


@fast_init
@dataclass(frozen=True, slots=True)
class SessionOpened:
    """A client completed the handshake; ``sid`` is its new session."""

    sid: str
    revision: EngineRevision
    transport: str
    #: The handshake request (headers, query, ...), for authentication and context.
    request: HttpRequest


@fast_init
@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A ``message`` packet arrived (text as ``str``, binary as ``bytes``)."""

    sid: str
    data: str | bytes


@fast_init
@dataclass(frozen=True, slots=True)
class SessionUpgraded:
    """The session switched to ``transport`` (the upgrade completed)."""

    sid: str
    transport: str


@fast_init
@dataclass(frozen=True, slots=True)
class SessionClosed:
    """The session ended; nothing more will be sent or received on it."""

    sid: str
    reason: CloseReason
    #: Extra context (e.g. the HTTP status a client got), empty when there is none.
    detail: str = ""


ServerEvent = SessionOpened | MessageReceived | SessionUpgraded | SessionClosed


# -- outputs for the transport owner --------------------------------------------------


@fast_init
@dataclass(frozen=True, slots=True)
class Respond:
    """Write ``response`` to the HTTP request ``request_id``; it is complete."""

    request_id: int
    response: HttpResponse


@fast_init
@dataclass(frozen=True, slots=True)
class SendWebSocket:
    """Send one message (``str``: text frame, ``bytes``: binary frame) on WebSocket ``ws_id``."""

    ws_id: int
    message: str | bytes


@fast_init
@dataclass(frozen=True, slots=True)
class CloseWebSocket:
    """Close WebSocket ``ws_id`` with ``code``; the machine has forgotten it."""

    ws_id: int
    code: int = 1000


Output = Respond | SendWebSocket | CloseWebSocket
