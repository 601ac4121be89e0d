"""The WSGI bridge (:mod:`socketio_proto.wsgi`): a parsed request in, PEP 3333 out, no sockets.

The environ a request becomes (paths, queries, headers, body, the server's and the
peer's address), what the application's answer becomes (status, headers, the whole
body, iterables closed even on failure, ``write``, ``exc_info``), and a Flask app
through it.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import flask

from socketio_proto.engineio.http import HttpRequest
from socketio_proto.wsgi import WSGIFallback, call_wsgi, wsgi_environ

Environ = dict[str, Any]


def request(
    target: str,
    method: str = "GET",
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    *,
    secure: bool = False,
) -> HttpRequest:
    return HttpRequest.from_target(method, target, headers, body, secure=secure)


def capture(environs: list[Environ]) -> Callable[[Environ, Any], Iterable[bytes]]:
    def app(environ: Environ, start_response: Any) -> Iterable[bytes]:
        environs.append(environ)
        start_response("204 No Content", [])
        return []

    return app


class Closing:
    """A response iterable that records its ``close()``, optionally failing midway."""

    def __init__(self, chunks: list[bytes], fail_after: int | None = None) -> None:
        self.chunks = chunks
        self.fail_after = fail_after
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for index, chunk in enumerate(self.chunks):
            if index == self.fail_after:
                raise RuntimeError("the stream broke")
            yield chunk

    def close(self) -> None:
        self.closed = True


# -- the environ ------------------------------------------------------------------------


def test_environ_has_the_cgi_and_wsgi_keys() -> None:
    environ = wsgi_environ(
        request("/a%20b/c?x=1&y=%C3%A9", headers=[("Host", "example.org:8080")]),
        server_name="example.org",
        server_port=8080,
        remote_addr="10.0.0.7",
        remote_port=51234,
    )
    assert environ["REQUEST_METHOD"] == "GET"
    assert environ["SCRIPT_NAME"] == ""
    assert environ["PATH_INFO"] == "/a b/c"
    assert environ["QUERY_STRING"] == "x=1&y=%C3%A9"
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("example.org", "8080")
    assert (environ["REMOTE_ADDR"], environ["REMOTE_PORT"]) == ("10.0.0.7", "51234")
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["HTTP_HOST"] == "example.org:8080"
    assert environ["wsgi.version"] == (1, 0)
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["wsgi.input"].read() == b""
    assert environ["wsgi.errors"] is sys.stderr
    assert environ["wsgi.multithread"] is True
    assert environ["wsgi.run_once"] is False
    assert "CONTENT_LENGTH" not in environ


def test_path_info_is_decoded_bytes_as_latin1() -> None:
    environ = wsgi_environ(request("/caf%C3%A9/%2F"))
    # PEP 3333: the URL-decoded bytes (%2F included), each byte one character.
    assert environ["PATH_INFO"] == "/caf\xc3\xa9//"


def test_raw_query_string_keeps_repeated_parameters() -> None:
    req = request("/search?tag=a&tag=b&q=caf%C3%A9+au+lait")
    assert req.query == {"tag": "a", "q": "café au lait"}  # what the engine reads
    assert wsgi_environ(req)["QUERY_STRING"] == "tag=a&tag=b&q=caf%C3%A9+au+lait"


def test_query_string_of_a_request_built_from_a_mapping() -> None:
    built = HttpRequest("GET", "/search", {"q": "a b", "n": "1"})
    assert wsgi_environ(built)["QUERY_STRING"] == "q=a+b&n=1"
    assert built.target == "/search?q=a+b&n=1"


def test_body_content_type_and_length() -> None:
    body = b'{"name": "ada"}'
    environ = wsgi_environ(
        request(
            "/post",
            "POST",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            body,
        )
    )
    assert environ["CONTENT_TYPE"] == "application/json"
    assert environ["CONTENT_LENGTH"] == str(len(body))
    assert "HTTP_CONTENT_TYPE" not in environ and "HTTP_CONTENT_LENGTH" not in environ
    assert isinstance(environ["wsgi.input"], io.BytesIO)
    assert environ["wsgi.input"].read() == body


def test_repeated_headers_are_joined_and_underscores_dropped() -> None:
    environ = wsgi_environ(
        request(
            "/",
            headers=[
                ("Accept", "text/html"),
                ("Accept", "application/json"),
                ("Cookie", "a=1"),
                ("Cookie", "b=2"),
                ("X-Forwarded-For", "1.2.3.4"),
                ("X_Forwarded_For", "6.6.6.6"),
            ],
        )
    )
    assert environ["HTTP_ACCEPT"] == "text/html, application/json"
    assert environ["HTTP_COOKIE"] == "a=1; b=2"
    assert environ["HTTP_X_FORWARDED_FOR"] == "1.2.3.4"


def test_tls_requests_are_https() -> None:
    assert wsgi_environ(request("/", secure=True))["wsgi.url_scheme"] == "https"


def test_fallback_passes_peer_and_server() -> None:
    environs: list[Environ] = []
    fallback = WSGIFallback(capture(environs), server_name="srv", server_port=5000)
    assert fallback(request("/x")).status == 204
    fallback.respond(request("/y?a=1&a=2"), remote=("127.0.0.1", 4242))
    first, second = environs
    assert (first["SERVER_NAME"], first["SERVER_PORT"]) == ("srv", "5000")
    assert "REMOTE_ADDR" not in first
    assert (second["REMOTE_ADDR"], second["REMOTE_PORT"]) == ("127.0.0.1", "4242")
    assert second["QUERY_STRING"] == "a=1&a=2"


# -- the response -----------------------------------------------------------------------


def test_status_headers_and_chunks_are_collected() -> None:
    def app(environ: Environ, start_response: Any) -> Iterable[bytes]:
        start_response(
            "201 Created",
            [
                ("Content-Type", "text/plain"),
                ("X-Multi", "1"),
                ("X-Multi", "2"),
                ("Content-Length", "999"),  # recomputed by the server
                ("Connection", "keep-alive"),  # hop-by-hop: the server's business
                ("Transfer-Encoding", "chunked"),
            ],
        )
        return [b"one ", b"", b"two"]

    response = call_wsgi(app, wsgi_environ(request("/")))
    assert response.status == 201
    assert response.headers == (
        ("Content-Type", "text/plain"),
        ("X-Multi", "1"),
        ("X-Multi", "2"),
    )
    assert response.body == b"one two"


def test_streaming_iterable_is_closed() -> None:
    stream = Closing([b"a", b"b", b"c"])

    def app(environ: Environ, start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return stream

    assert call_wsgi(app, wsgi_environ(request("/"))).body == b"abc"
    assert stream.closed


def test_failing_stream_is_closed_and_answers_500() -> None:
    stream = Closing([b"a", b"b"], fail_after=1)

    def app(environ: Environ, start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [])
        return stream

    response = call_wsgi(app, wsgi_environ(request("/")))
    assert response.status == 500
    assert stream.closed


def test_application_errors_answer_500() -> None:
    def raises(environ: Environ, start_response: Any) -> Iterable[bytes]:
        raise ValueError("boom")

    def silent(environ: Environ, start_response: Any) -> Iterable[bytes]:
        return [b"never started"]

    def bad_status(environ: Environ, start_response: Any) -> Iterable[bytes]:
        start_response("OK", [])
        return []

    for app in (raises, silent, bad_status):
        assert call_wsgi(app, wsgi_environ(request("/"))).status == 500


def test_write_callable_comes_first() -> None:
    def app(environ: Environ, start_response: Any) -> Iterable[bytes]:
        write = start_response("200 OK", [])
        write(b"legacy ")
        return [b"iterable"]

    assert call_wsgi(app, wsgi_environ(request("/"))).body == b"legacy iterable"


def test_exc_info_replaces_the_started_response() -> None:
    def app(environ: Environ, start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("X-First", "1")])
        try:
            raise KeyError("late failure")
        except KeyError:
            start_response("503 Service Unavailable", [("X-Second", "1")], sys.exc_info())
        return [b"sorry"]

    response = call_wsgi(app, wsgi_environ(request("/")))
    assert (response.status, response.headers, response.body) == (
        503,
        (("X-Second", "1"),),
        b"sorry",
    )


def test_head_answers_without_a_body() -> None:
    def app(environ: Environ, start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"body"]

    assert call_wsgi(app, wsgi_environ(request("/", "HEAD"))).body == b""


# -- Flask through the bridge ----------------------------------------------------------


def test_a_flask_app_sees_the_request() -> None:
    app = flask.Flask(__name__)

    @app.post("/echo/<name>")
    def echo(name: str) -> flask.Response:
        return flask.jsonify(
            name=name,
            args=flask.request.args.getlist("tag"),
            json=flask.request.get_json(),
            cookie=flask.request.cookies.get("c"),
            remote=flask.request.remote_addr,
            url=flask.request.url,
        )

    body = b'{"n": 1}'
    fallback = WSGIFallback(app, server_name="srv", server_port=5000)
    response = fallback.respond(
        request(
            "/echo/ada?tag=x&tag=y",
            "POST",
            [
                ("Host", "example.org:5000"),
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Cookie", "c=chip"),
            ],
            body,
        ),
        remote=("192.0.2.1", 1234),
    )
    assert response.status == 200
    assert response.header("content-type") == "application/json"
    assert flask.json.loads(response.body) == {
        "name": "ada",
        "args": ["x", "y"],
        "json": {"n": 1},
        "cookie": "chip",
        "remote": "192.0.2.1",
        "url": "http://example.org:5000/echo/ada?tag=x&tag=y",
    }
    missing = fallback(request("/nowhere"))
    assert missing.status == 404
