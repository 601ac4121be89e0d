"""The Engine.IO client machine, sans-IO.

It decides which HTTP requests and WebSockets to open and what to send on
them; the caller (the wire layer or an adapter) performs them and reports back::

    client = EngineClient(ClientConfig(path="/socket.io/"))
    client.connect(now)
    for out in client.outputs():  # SendRequest / OpenWebSocket / SendWebSocket / CloseWebSocket
        ...
    client.handle_response(request_id, response, now)

Polling follows the reference client: exactly one GET in flight (re-polled as
soon as it returns), at most one POST, batches split by the server's
``maxPayload``.  Upgrades probe with ``2probe``, require ``3probe``, pause
polling until the in-flight GET and POST are done, then send ``5`` and flush.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from .._fastinit import StateEnum
from ..errors import LocalProtocolError, RemoteProtocolError
from ..limits import DEFAULT_LIMITS, Limits
from .events import CloseReason, CloseWebSocket, MessageReceived, SendWebSocket, SessionClosed
from .events import SessionUpgraded as Upgraded
from .http import HttpRequest, HttpResponse
from .packet import (
    EngineRevision,
    Packet,
    PacketType,
    decode_packet,
    encode_packet,
    message_packet,
)
from .payload import check_pollable_v4, decode_payload, encode_payload

__all__ = [
    "ClientConfig",
    "ClientEvent",
    "ClientOutput",
    "ClientState",
    "Connected",
    "EngineClient",
    "Handshake",
    "OpenWebSocket",
    "SendRequest",
]

PONG = Packet(PacketType.PONG)
PING = Packet(PacketType.PING)
CLOSE = Packet(PacketType.CLOSE)
PROBE = Packet(PacketType.PING, "probe")
UPGRADE = Packet(PacketType.UPGRADE)


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """How an :class:`EngineClient` connects.  Times are in seconds."""

    path: str = "/engine.io/"
    revision: EngineRevision = 4
    transports: tuple[Literal["polling", "websocket"], ...] = ("polling", "websocket")
    #: Probe and switch to WebSocket when the server offers it.
    upgrade: bool = True
    #: Ask the server for base64 instead of binary frames (``b64=1``).
    force_base64: bool = False
    query: Mapping[str, str] = field(default_factory=dict)
    headers: tuple[tuple[str, str], ...] = ()
    limits: Limits = DEFAULT_LIMITS

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            raise ValueError(f"path must start with '/': {self.path!r}")
        if not self.path.endswith("/"):
            object.__setattr__(self, "path", self.path + "/")
        if not self.transports:
            raise ValueError("at least one transport is needed")


@dataclass(frozen=True, slots=True)
class Handshake:
    """The server's ``open`` packet."""

    sid: str
    upgrades: tuple[str, ...]
    ping_interval: float
    ping_timeout: float
    max_payload: int | None


# -- events and outputs ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connected:
    """The handshake completed; ``transport`` is the one it came over."""

    sid: str
    handshake: Handshake
    transport: str


ClientEvent = Connected | MessageReceived | Upgraded | SessionClosed


@dataclass(frozen=True, slots=True)
class SendRequest:
    """Perform this HTTP request and report its response under ``request_id``."""

    request_id: int
    request: HttpRequest


@dataclass(frozen=True, slots=True)
class OpenWebSocket:
    """Open a WebSocket with this handshake request; report it under ``ws_id``."""

    ws_id: int
    request: HttpRequest


ClientOutput = SendRequest | OpenWebSocket | SendWebSocket | CloseWebSocket


class ClientState(StateEnum):
    """Where the client's session stands."""

    IDLE = "idle"
    OPENING = "opening"
    OPEN = "open"
    #: A user close over polling first delivers what is queued (two POSTs at once are an
    #: error, and servers act on a close packet before the messages that share its POST).
    CLOSING = "closing"
    CLOSED = "closed"


#: Every state change the client makes.
TRANSITIONS: Final[dict[tuple[ClientState, str], ClientState]] = {
    (ClientState.IDLE, "connect"): ClientState.OPENING,
    (ClientState.OPENING, "handshake"): ClientState.OPEN,
    (ClientState.OPENING, "close"): ClientState.CLOSED,
    (ClientState.OPEN, "close"): ClientState.CLOSED,
    (ClientState.OPEN, "close after posting"): ClientState.CLOSING,
    (ClientState.CLOSING, "close"): ClientState.CLOSED,
}

#: How long a closing client waits for its POST in flight before giving up on it.
CLOSING_TIMEOUT = 10.0


class EngineClient:
    """One Engine.IO client session."""

    def __init__(self, config: ClientConfig | None = None) -> None:
        self.config = config if config is not None else ClientConfig()
        self.state = ClientState.IDLE
        self.sid: str | None = None
        self.handshake: Handshake | None = None
        self.transport = self.config.transports[0]
        self._events: list[ClientEvent] = []
        self._outputs: list[ClientOutput] = []
        self._ids = itertools.count(1)
        self._cache_buster = itertools.count()
        self._buffer: list[Packet] = []
        self._get: int | None = None
        self._post: int | None = None
        self._post_size = 0
        self._ws: int | None = None
        self._probe: int | None = None
        self._probe_answered = False
        self._liveness_due: float | None = None
        self._ping_due: float | None = None
        self._closing_due: float | None = None
        #: Why the session ended (None while it has not).
        self.close_reason: CloseReason | None = None

    # -- queries ---------------------------------------------------------------------

    def events(self) -> list[ClientEvent]:
        """Drain the events that happened since the last call."""
        events, self._events = self._events, []
        return events

    def outputs(self) -> list[ClientOutput]:
        """Drain the requests and WebSocket actions to perform, in order."""
        outputs, self._outputs = self._outputs, []
        return outputs

    @property
    def closed(self) -> bool:
        """True once the session has ended (for whatever reason)."""
        return self.state is ClientState.CLOSED

    @property
    def upgrading(self) -> bool:
        """True between ``3probe`` and ``5``, while polling pauses."""
        return self._probe_answered

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timeout` must next be called (None: nothing scheduled)."""
        due = [d for d in (self._liveness_due, self._ping_due, self._closing_due) if d is not None]
        return min(due) if due else None

    # -- application calls -------------------------------------------------------------

    def connect(self, now: float) -> None:
        """Start the handshake: a polling GET, or a WebSocket if that is the first transport."""
        self._transition("connect")
        if self.transport == "websocket":
            self._ws = next(self._ids)
            self._outputs.append(OpenWebSocket(self._ws, self._request("GET", "websocket")))
        else:
            self._get = next(self._ids)
            self._outputs.append(SendRequest(self._get, self._request("GET", "polling")))

    def send(self, data: str | bytes) -> bool:
        """Queue one message; False if the session is closed (it is dropped)."""
        if self.state in (ClientState.CLOSED, ClientState.CLOSING, ClientState.IDLE):
            return False
        packet = message_packet(data)
        if self.config.revision == 4 and self.transport == "polling":
            check_pollable_v4((packet,))  # it may still leave by polling
        self._buffer.append(packet)
        self._flush()
        return True

    def close(self, now: float) -> None:
        """Close the session (after what is queued has been written).

        Over polling, as engine.io-client does, queued messages are posted and
        answered first, then the close packet goes in a POST of its own (state
        CLOSING meanwhile, at most ``CLOSING_TIMEOUT`` seconds).
        """
        if self.state in (ClientState.CLOSED, ClientState.CLOSING, ClientState.IDLE):
            return
        if self._ws is not None and self.state is ClientState.OPEN:
            self._flush()
        if (
            self.state is ClientState.OPEN
            and self.transport == "polling"
            and (self._post is not None or self._buffer)
        ):
            self._transition("close after posting")
            self._liveness_due = self._ping_due = None
            self._closing_due = now + CLOSING_TIMEOUT
            if self._post is None:
                self._post_batch()
            return
        self._finish(CloseReason.FORCED_CLOSE)

    def handle_timeout(self, now: float) -> None:
        """Fire what is due at ``now``: a ping timeout, or (revision 3) the next ping."""
        if self.state is ClientState.CLOSING:
            if self._closing_due is not None and self._closing_due <= now:
                self._finish(CloseReason.FORCED_CLOSE)
            return
        if self.state is not ClientState.OPEN:
            return
        if self._liveness_due is not None and self._liveness_due <= now:
            self._finish(CloseReason.PING_TIMEOUT)
            return
        if self._ping_due is not None and self._ping_due <= now:
            self._ping_due = None  # v3: the next ping follows the pong
            self._buffer.append(PING)
            self._flush()

    # -- transport inputs ----------------------------------------------------------------

    def handle_response(self, request_id: int, response: HttpResponse, now: float) -> None:
        """The response to a request from :class:`SendRequest`."""
        if self.state is ClientState.CLOSED:
            return
        if self.state is ClientState.CLOSING:
            self._closing_request_done(request_id)
            return
        if request_id == self._get:
            self._get = None
            if response.status != 200:
                self._finish(CloseReason.TRANSPORT_ERROR, f"poll answered {response.status}")
                return
            try:
                packets = decode_payload(
                    response.body,
                    self.config.revision,
                    content_type=response.header("content-type"),
                    limits=self.config.limits,
                )
            except RemoteProtocolError as exc:
                self._finish(CloseReason.PARSE_ERROR, exc.message)
                return
            for packet in packets:
                self._on_packet(packet, now)
                if self.closed:
                    return
            self._poll_or_pause()
        elif request_id == self._post:
            self._post = None
            if response.status != 200:
                self._finish(CloseReason.TRANSPORT_ERROR, f"post answered {response.status}")
                return
            self._poll_or_pause()
            self._flush()

    def request_failed(self, request_id: int, now: float) -> None:
        """A request could not be completed (connection refused, reset...)."""
        if self.state is ClientState.CLOSING:
            self._closing_request_done(request_id)
        elif request_id in (self._get, self._post):
            self._finish(CloseReason.TRANSPORT_ERROR, "request failed")

    def websocket_opened(self, ws_id: int, now: float) -> None:
        """The WebSocket from :class:`OpenWebSocket` ``ws_id`` completed its handshake."""
        if ws_id == self._probe:
            self._outputs.append(SendWebSocket(ws_id, self._encode_ws(PROBE)))

    def websocket_refused(self, ws_id: int, response: HttpResponse | None, now: float) -> None:
        """The WebSocket handshake failed (``response`` is the HTTP answer, if any)."""
        if ws_id == self._probe:
            self._probe = None
            self._probe_answered = False
            self._poll_or_pause()
        elif ws_id == self._ws:
            self._ws = None
            status = response.status if response is not None else "no response"
            self._finish(CloseReason.TRANSPORT_ERROR, f"websocket refused: {status}")

    def receive_websocket_message(self, ws_id: int, message: str | bytes, now: float) -> None:
        """One complete message arrived on WebSocket ``ws_id``."""
        if self.state in (ClientState.CLOSED, ClientState.CLOSING):
            return
        try:
            packet = decode_packet(message, self.config.revision)
        except RemoteProtocolError as exc:
            if ws_id == self._probe:
                self._probe_failed()
            elif ws_id == self._ws:
                self._finish(CloseReason.PARSE_ERROR, exc.message)
            return
        if ws_id == self._probe:
            if not self._probe_answered and packet == Packet(PacketType.PONG, "probe"):
                self._probe_answered = True
                self._poll_or_pause()
            else:
                self._probe_failed()
        elif ws_id == self._ws:
            self._on_packet(packet, now)

    def websocket_closed(self, ws_id: int, now: float) -> None:
        """WebSocket ``ws_id`` is gone (closed by the server, or broken)."""
        if ws_id == self._probe:
            self._probe_failed(close=False)
        elif ws_id == self._ws and self.state is not ClientState.CLOSED:
            self._ws = None
            self._finish(CloseReason.TRANSPORT_CLOSE)

    # -- internals ---------------------------------------------------------------------

    def _closing_request_done(self, request_id: int) -> None:
        """While CLOSING: post what is left, then the close packet alone, and finish."""
        if request_id == self._get:
            self._get = None  # what it brought is no longer wanted
        elif request_id == self._post:
            self._post = None
            if self._buffer:
                self._post_batch()
                return
            self._outputs.append(SendRequest(next(self._ids), self._post_request([CLOSE])))
            self._finish(CloseReason.FORCED_CLOSE)

    def _transition(self, event: str) -> None:
        try:
            self.state = TRANSITIONS[self.state, event]
        except KeyError:
            raise LocalProtocolError(f"cannot {event} while {self.state.value}") from None

    def _query(self, transport: str) -> dict[str, str]:
        query = dict(self.config.query)
        query.update(EIO=str(self.config.revision), transport=transport)
        query["t"] = _base36(next(self._cache_buster))
        if self.sid is not None:
            query["sid"] = self.sid
        if self.config.force_base64:
            query["b64"] = "1"
        return query

    def _request(
        self, method: str, transport: str, body: bytes = b"", content_type: str | None = None
    ) -> HttpRequest:
        query = self._query(transport)
        headers = self.config.headers
        if content_type is not None:
            headers = (*headers, ("content-type", content_type))
        return HttpRequest(method, self.config.path, query, headers, body)

    def _post_request(self, packets: list[Packet]) -> HttpRequest:
        body, content_type = encode_payload(
            packets, self.config.revision, supports_binary=not self.config.force_base64
        )
        raw = body if isinstance(body, bytes) else body.encode("utf-8")
        if content_type.startswith("text/plain"):
            content_type = "text/plain;charset=UTF-8"
        return self._request("POST", "polling", raw, content_type)

    def _on_handshake(self, packet: Packet, now: float) -> None:
        try:
            data = json.loads(packet.data)
            sid = data["sid"]
            handshake = Handshake(
                sid=sid if isinstance(sid, str) else "",
                upgrades=tuple(u for u in data.get("upgrades", []) if isinstance(u, str)),
                ping_interval=float(data["pingInterval"]) / 1000,
                ping_timeout=float(data["pingTimeout"]) / 1000,
                max_payload=int(data["maxPayload"]) if "maxPayload" in data else None,
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            self._finish(CloseReason.PARSE_ERROR, "invalid handshake")
            return
        if not handshake.sid:
            self._finish(CloseReason.PARSE_ERROR, "handshake without a session id")
            return
        self._transition("handshake")
        self.sid, self.handshake = sid, handshake
        self._arm_liveness(now)
        if self.config.revision == 3:
            self._ping_due = now + handshake.ping_interval
        self._events.append(Connected(sid, handshake, self.transport))
        if (
            self.transport == "polling"
            and self.config.upgrade
            and "websocket" in self.config.transports
            and "websocket" in handshake.upgrades
        ):
            self._probe = next(self._ids)
            self._outputs.append(OpenWebSocket(self._probe, self._request("GET", "websocket")))

    def _arm_liveness(self, now: float) -> None:
        assert self.handshake is not None
        self._liveness_due = now + self.handshake.ping_interval + self.handshake.ping_timeout

    def _on_packet(self, packet: Packet, now: float) -> None:
        kind = packet.type
        if self.state is ClientState.OPENING:
            if kind is PacketType.OPEN:
                self._on_handshake(packet, now)
            else:
                self._finish(CloseReason.PARSE_ERROR, "expected the open packet")
            return
        if self.config.revision == 3:
            self._arm_liveness(now)  # v3: any packet proves the server alive
        if kind is PacketType.MESSAGE:
            assert self.sid is not None
            self._events.append(MessageReceived(self.sid, packet.data))
        elif kind is PacketType.PING and self.config.revision == 4:
            self._arm_liveness(now)
            self._buffer.append(PONG)
            self._flush()
        elif kind is PacketType.PONG and self.config.revision == 3:
            assert self.handshake is not None
            self._ping_due = now + self.handshake.ping_interval
        elif kind is PacketType.CLOSE:
            self._finish(CloseReason.TRANSPORT_CLOSE)
        # NOOP, a repeated OPEN and stray packets are ignored.

    def _poll_or_pause(self) -> None:
        if self.state is not ClientState.OPEN or self.transport != "polling":
            if (
                self.state is ClientState.OPENING
                and self._get is None
                and self.transport == "polling"
            ):
                self._finish(CloseReason.PARSE_ERROR, "handshake response without open packet")
            return
        if self._probe_answered:
            if self._get is None and self._post is None:
                self._complete_upgrade()
            return
        if self._get is None:
            self._get = next(self._ids)
            self._outputs.append(SendRequest(self._get, self._request("GET", "polling")))

    def _complete_upgrade(self) -> None:
        assert self._probe is not None and self.sid is not None
        self._ws, self._probe = self._probe, None
        self._probe_answered = False
        self.transport = "websocket"
        self._outputs.append(SendWebSocket(self._ws, self._encode_ws(UPGRADE)))
        self._events.append(Upgraded(self.sid, "websocket"))
        self._flush()

    def _probe_failed(self, *, close: bool = True) -> None:
        if self._probe is not None and close:
            self._outputs.append(CloseWebSocket(self._probe))
        self._probe = None
        was_pausing, self._probe_answered = self._probe_answered, False
        if was_pausing:
            self._poll_or_pause()
            self._flush()

    def _encode_ws(self, packet: Packet) -> str | bytes:
        return encode_packet(packet, self.config.revision, base64=self.config.force_base64)

    def _flush(self) -> None:
        if not self._buffer or self.state is not ClientState.OPEN:
            return
        if self.transport == "websocket":
            assert self._ws is not None
            for packet in self._buffer:
                self._outputs.append(SendWebSocket(self._ws, self._encode_ws(packet)))
            self._buffer = []
            return
        if self._post is not None or self._probe_answered:
            return  # one POST at a time; nothing new while pausing for the upgrade
        self._post_batch()

    def _post_batch(self) -> None:
        batch = self._take_batch()
        self._post = next(self._ids)
        self._outputs.append(SendRequest(self._post, self._post_request(batch)))

    def _take_batch(self) -> list[Packet]:
        """As many queued packets as fit the server's maxPayload (at least one)."""
        assert self.handshake is not None
        limit = self.handshake.max_payload
        if limit is None or self.config.revision == 3:
            batch, self._buffer = self._buffer, []
            return batch
        size = 1
        count = 0
        for packet in self._buffer:
            data = packet.data
            length = (
                -(-len(data) * 4 // 3) if isinstance(data, bytes) else len(data.encode("utf-8"))
            )
            size += length + 2
            if count and size > limit:
                break
            count += 1
        batch, self._buffer = self._buffer[:count], self._buffer[count:]
        return batch

    def _finish(self, reason: CloseReason, detail: str = "") -> None:
        if self.state is ClientState.CLOSED:
            return
        if (
            self.state is ClientState.OPEN
            and self.transport == "polling"
            and reason is not CloseReason.TRANSPORT_CLOSE
        ):
            # Tell the server, as engine.io-client does, unless it closed first; what
            # is still queued goes out ahead of the close packet only on a user close.
            queued = self._buffer if reason is CloseReason.FORCED_CLOSE else []
            request = self._post_request([*queued, CLOSE])
            self._outputs.append(SendRequest(next(self._ids), request))
        self._transition("close")
        for ws_id in (self._ws, self._probe):
            if ws_id is not None:
                self._outputs.append(CloseWebSocket(ws_id))
        self._ws = self._probe = self._get = self._post = None
        self._liveness_due = self._ping_due = self._closing_due = None
        self._buffer = []
        self.close_reason = reason
        self._events.append(SessionClosed(self.sid or "", reason, detail))


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out
