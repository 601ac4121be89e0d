"""Call a WSGI application (Flask, Django, Bottle...) with a parsed :class:`HttpRequest`.

The bridge is two pure steps: :func:`wsgi_environ` turns a complete request into a
PEP 3333 ``environ``, and :func:`call_wsgi` runs the application on it and collects
the status, the headers and the whole body into an :class:`HttpResponse` (closing the
application's iterable, as PEP 3333 asks)::

    >>> from socketio_proto.engineio.http import HttpRequest
    >>> def hello(environ, start_response):
    ...     start_response("200 OK", [("Content-Type", "text/plain")])
    ...     return [b"hello ", environ["QUERY_STRING"].encode()]
    >>> request = HttpRequest.from_target("GET", "/hi?name=ada", [("Host", "example.org")])
    >>> response = call_wsgi(hello, wsgi_environ(request, server_name="example.org"))
    >>> response.status, response.body
    (200, b'hello name=ada')

Serving one next to Socket.IO on one port is the threads adapter's
``ThreadedServer(app, wsgi=flask_app)``: it answers every request outside the
Socket.IO path with the WSGI application, on a worker thread and outside the server's
lock (see :doc:`/flask`).  :class:`WSGIFallback` is the same bridge as a plain
``fallback`` callable for the other adapters -- it then runs where the adapter calls
its fallback (on the event loop for asyncio and trio), so keep such views quick.

Limits of the bridge: the request body is complete before the application runs (and
bounded by the engine's ``max_payload_bytes``); the response is buffered whole, so a
streamed response is sent once it is finished; hop-by-hop headers and
``Content-Length`` are recomputed by the server (a ``HEAD`` answer has an empty body).
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any
from urllib.parse import unquote_to_bytes

from .engineio.http import HttpRequest, HttpResponse

__all__ = ["WSGIApplication", "WSGIFallback", "call_wsgi", "wsgi_environ"]

logger = logging.getLogger("socketio_proto.wsgi")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


#: A PEP 3333 application: ``app(environ, start_response)`` returns the body's chunks
#: (typed loosely so that every framework's own stubs fit).
WSGIApplication = Callable[..., Iterable[bytes]]

#: Headers the server frames itself (PEP 3333 forbids applications hop-by-hop headers).
_SERVER_HEADERS = frozenset(
    {
        "connection",
        "content-length",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
_ERROR = HttpResponse(
    500, (("Content-Type", "text/plain; charset=utf-8"),), b"Internal Server Error"
)


def wsgi_environ(
    request: HttpRequest,
    *,
    server_name: str = "localhost",
    server_port: int = 80,
    remote_addr: str | None = None,
    remote_port: int | None = None,
    script_name: str = "",
) -> dict[str, Any]:
    """The PEP 3333 ``environ`` of ``request`` (a fresh ``wsgi.input`` on its body).

    ``QUERY_STRING`` is the query as received, repeated parameters included.
    Repeated headers are joined with ``", "`` (cookies with ``"; "``); header names
    containing ``_`` are dropped, as most servers do, so that they cannot pass for
    ``-`` ones.
    """
    raw_path = request.path
    if script_name and raw_path.startswith(script_name):
        raw_path = raw_path[len(script_name) :]
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": script_name,
        # PEP 3333: the decoded path, its bytes as a latin-1 str.
        "PATH_INFO": unquote_to_bytes(raw_path).decode("latin-1"),
        "QUERY_STRING": request.raw_query,
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https" if request.secure else "http",
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
    }
    if remote_addr is not None:
        environ["REMOTE_ADDR"] = remote_addr
    if remote_port is not None:
        environ["REMOTE_PORT"] = str(remote_port)
    if request.body or request.header("content-length") is not None:
        environ["CONTENT_LENGTH"] = str(len(request.body))
    for name, value in request.headers:
        if "_" in name or name == "content-length":
            continue
        key = "CONTENT_TYPE" if name == "content-type" else "HTTP_" + name.upper().replace("-", "_")
        if key in environ:
            environ[key] += ("; " if key == "HTTP_COOKIE" else ", ") + value
        else:
            environ[key] = value
    return environ


def call_wsgi(app: WSGIApplication, environ: dict[str, Any]) -> HttpResponse:
    """Run ``app`` on ``environ``; its whole response (500 if it fails before answering).

    The iterable the application returns is always closed.  Output given to the
    legacy ``write`` callable comes before the iterable's chunks.
    """
    started: list[tuple[str, list[tuple[str, str]]]] = []
    chunks: list[bytes] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None, /
    ) -> Callable[[bytes], object]:
        # Nothing is sent before the body is complete, so an error page may always
        # replace what was started (exc_info given); otherwise only one call is allowed.
        if started and exc_info is None:
            raise AssertionError("start_response called twice without exc_info")
        started[:] = [(status, list(headers))]
        return chunks.append

    try:
        result = app(environ, start_response)
        try:
            for chunk in result:
                if chunk:
                    chunks.append(bytes(chunk))
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    except Exception:
        logger.exception(
            "the WSGI application failed on %s %s",
            environ.get("REQUEST_METHOD"),
            environ.get("PATH_INFO"),
        )
        return _ERROR
    if not started:
        logger.error("the WSGI application returned without calling start_response")
        return _ERROR
    status_line, headers = started[0]
    try:
        status = int(status_line.split(" ", 1)[0])
    except ValueError:
        logger.error("the WSGI application gave a bad status %r", status_line)
        return _ERROR
    kept = tuple((name, value) for name, value in headers if name.lower() not in _SERVER_HEADERS)
    body = b"" if environ.get("REQUEST_METHOD") == "HEAD" else b"".join(chunks)
    return HttpResponse(status, kept, body)


class WSGIFallback:
    """A ``fallback`` answering with a WSGI application: ``fallback=WSGIFallback(app)``.

    ``server_name``/``server_port`` fill ``SERVER_NAME``/``SERVER_PORT`` (the
    application's URLs come from the ``Host`` header when the client sends one).
    :meth:`respond` also takes what only the transport knows (the peer's address).
    """

    def __init__(
        self, app: WSGIApplication, *, server_name: str = "localhost", server_port: int = 80
    ) -> None:
        self.app = app
        self.server_name = server_name
        self.server_port = server_port

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.respond(request)

    def respond(
        self,
        request: HttpRequest,
        *,
        remote: tuple[str, int] | None = None,
    ) -> HttpResponse:
        """Answer ``request``; ``remote``: the peer's (address, port)."""
        environ = wsgi_environ(
            request,
            server_name=self.server_name,
            server_port=self.server_port,
            remote_addr=remote[0] if remote is not None else None,
            remote_port=remote[1] if remote is not None else None,
        )
        return call_wsgi(self.app, environ)
