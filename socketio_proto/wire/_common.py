"""Small pieces both wire layers share: header encoding, h11 responses, WebSocket sends."""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus

import h11
from wsproto import WSConnection
from wsproto import events as ws_events
from wsproto.utilities import LocalProtocolError as WsLocalProtocolError

from ..engineio.http import HttpResponse


def encode_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]


def decode_headers(headers: Iterable[tuple[bytes, bytes]]) -> tuple[tuple[str, str], ...]:
    return tuple((name.decode("latin-1"), value.decode("latin-1")) for name, value in headers)


def find_header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    """The first value of header ``name`` (lower-case bytes, as h11 stores names)."""
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def write_response(conn: h11.Connection, response: HttpResponse, *, close: bool = False) -> bytes:
    """Serialize a whole response with h11 (adding Content-Length, and Connection: close).

    Raises ``h11.LocalProtocolError`` when the connection cannot take a response now.
    """
    headers = encode_headers(response.headers)
    headers.append((b"Content-Length", str(len(response.body)).encode()))
    if close:
        headers.append((b"Connection", b"close"))
    try:
        reason = HTTPStatus(response.status).phrase.encode("ascii")
    except ValueError:
        reason = b""
    data = conn.send(h11.Response(status_code=response.status, headers=headers, reason=reason))
    data = (data or b"") + (conn.send(h11.Data(data=response.body)) or b"")
    return data + (conn.send(h11.EndOfMessage()) or b"")


def message_event(message: str | bytes) -> ws_events.TextMessage | ws_events.BytesMessage:
    """The wsproto event that sends ``message`` as a text or a binary frame."""
    if isinstance(message, str):
        return ws_events.TextMessage(data=message)
    return ws_events.BytesMessage(data=message)


def send_ws(ws: WSConnection, event: ws_events.Event) -> bytes | None:
    """Bytes for ``event``, or None once closing has begun (nothing more may be sent)."""
    try:
        return ws.send(event)
    except WsLocalProtocolError:
        return None
