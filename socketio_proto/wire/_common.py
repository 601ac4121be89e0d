"""Small pieces both wire layers share: header encoding and h11 responses."""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus

import h11

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
