"""The HTTP vocabulary the Engine.IO machines speak: parsed requests and responses.

The machines never parse HTTP themselves; the wire layer (h11) or a framework
adapter (ASGI, WSGI) builds an :class:`HttpRequest` and writes the
:class:`HttpResponse` it gets back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from urllib.parse import parse_qsl, urlencode, urlsplit

__all__ = ["EngineErrorCode", "HttpRequest", "HttpResponse", "error_response"]


class EngineErrorCode(IntEnum):
    """The ``code`` of an Engine.IO error response (note: 0 is falsy -- CVE-2023-31125)."""

    UNKNOWN_TRANSPORT = 0
    UNKNOWN_SID = 1
    BAD_HANDSHAKE_METHOD = 2
    BAD_REQUEST = 3
    FORBIDDEN = 4
    UNSUPPORTED_PROTOCOL_VERSION = 5


ERROR_MESSAGES = {
    EngineErrorCode.UNKNOWN_TRANSPORT: "Transport unknown",
    EngineErrorCode.UNKNOWN_SID: "Session ID unknown",
    EngineErrorCode.BAD_HANDSHAKE_METHOD: "Bad handshake method",
    EngineErrorCode.BAD_REQUEST: "Bad request",
    EngineErrorCode.FORBIDDEN: "Forbidden",
    EngineErrorCode.UNSUPPORTED_PROTOCOL_VERSION: "Unsupported protocol version",
}


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One HTTP request, complete with its body.

    ``query`` maps each parameter to its first value (what the Engine.IO machines
    read); ``query_string`` is the query as received, still percent-encoded, for
    code that needs every value of a repeated parameter (a WSGI ``environ``, say).
    ``headers`` names are lower-case; repeated headers keep their order.
    ``secure`` says whether it came over TLS (for the same-origin check).
    """

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    secure: bool = False
    query_string: str = ""

    @classmethod
    def from_target(
        cls,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        *,
        secure: bool = False,
    ) -> HttpRequest:
        """Build a request from a request target such as ``/engine.io/?EIO=4&transport=polling``.

        The first value of a repeated query parameter wins in ``query``;
        ``query_string`` keeps them all.
        """
        parts = urlsplit(target)
        query: dict[str, str] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            query.setdefault(key, value)
        return cls(
            method.upper(),
            parts.path or "/",
            query,
            tuple((name.lower(), value) for name, value in headers),
            body,
            secure,
            parts.query,
        )

    @property
    def raw_query(self) -> str:
        """``query_string``, or for a request built from ``query`` alone, its encoding."""
        return self.query_string or urlencode(self.query)

    @property
    def target(self) -> str:
        """The request target: path plus the encoded query string."""
        query = self.raw_query
        return f"{self.path}?{query}" if query else self.path

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (lower-case), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A complete HTTP response: status, headers (as written) and body."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (compared case-insensitively), or None."""
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


def error_response(
    code: EngineErrorCode,
    message: str | None = None,
    extra_headers: tuple[tuple[str, str], ...] = (),
) -> HttpResponse:
    """The JSON error body ``{"code":N,"message":M}`` with its status (403 for FORBIDDEN)."""
    body = json.dumps(
        {"code": int(code), "message": message or ERROR_MESSAGES[code]}, separators=(",", ":")
    ).encode()
    status = 403 if code is EngineErrorCode.FORBIDDEN else 400
    return HttpResponse(status, (("Content-Type", "application/json"), *extra_headers), body)
