"""Engine.IO over HTTP, byte for byte through the wire layer (protocol.md 1.5-1.7, 1.14).

Every row of the 1.7 response table and error-code table (with the JS check
order), CORS (same-origin default, allow list, ``*``, preflight), the session
cookie, the ``allow_request`` hook, HTTP compression, JSONP, the body limit,
content-type rules and the ``b64`` parameter.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable

import pytest

from socketio_proto.engineio.config import CookieConfig, EngineConfig
from socketio_proto.engineio.http import HttpRequest, HttpResponse
from socketio_proto.limits import Limits
from tests.support.wire_client import HOST, Response, WireHarness

POLL4 = "EIO=4&transport=polling"
POLL3 = "EIO=3&transport=polling"


def error(code: int, message: str) -> dict[str, object]:
    return {"code": code, "message": message}


UNKNOWN_TRANSPORT = error(0, "Transport unknown")
UNKNOWN_SID = error(1, "Session ID unknown")
BAD_HANDSHAKE_METHOD = error(2, "Bad handshake method")
BAD_REQUEST = error(3, "Bad request")
UNSUPPORTED_PROTOCOL = error(5, "Unsupported protocol version")


def assert_error(response: Response, body: dict[str, object], status: int = 400) -> None:
    assert response.status == status
    assert response.header("content-type") == "application/json"
    assert response.json() == body
    assert response.header("content-length") == str(len(response.body))


def alive(h: WireHarness, sid: str, eio: int = 4) -> bool:
    """The session still answers: a POST of a noop is accepted."""
    noop = "6" if eio == 4 else "1:6"
    return h.post(h.path(f"EIO={eio}&transport=polling&sid={sid}"), noop).response.status == 200


# -- 1.7 response table ----------------------------------------------------------------


def test_get_with_data_is_200_text_plain_no_store() -> None:
    h = WireHarness()
    sid = h.open_polling()
    h.engine.send(sid, "héllo")
    response = h.poll(sid).response
    assert response.status == 200
    assert response.body == "4héllo".encode()
    assert response.header("content-type") == "text/plain; charset=UTF-8"
    assert response.header("cache-control") == "no-store"
    assert response.header("content-length") == str(len(response.body))
    assert response.header("content-encoding") is None


def test_get_waits_until_there_is_something_to_send_and_never_answers_empty() -> None:
    h = WireHarness()
    sid = h.open_polling()
    poll = h.poll(sid)
    h.clock.advance(24.9)
    assert poll.pending
    h.engine.send(sid, "a")
    h.engine.send(sid, b"\x00\xff")
    h.pump()
    assert poll.response.body == b"4a\x1ebAP8="  # everything queued, one response


def test_post_accepted_is_ok_text_html_length_2_no_store() -> None:
    h = WireHarness(echo=False)
    sid = h.open_polling()
    response = h.send_post(sid, "4hello\x1e4world").response
    assert response.status == 200
    assert response.body == b"ok"
    assert response.header("content-type") == "text/html"
    assert response.header("content-length") == "2"
    assert response.header("cache-control") == "no-store"
    assert h.received(sid) == ["hello", "world"]


@pytest.mark.parametrize("body", ["abc", "", "4ok\x1ex", "bA", "4a\x1e\x1e4b", "7"])
def test_post_with_an_invalid_packet_is_400_and_closes_the_session(body: str) -> None:
    """JS answers ``ok`` and closes; we answer 400 ([Recommend], the suites accept both)."""
    h = WireHarness(echo=False)
    sid = h.open_polling()
    poll = h.poll(sid)
    assert_error(h.send_post(sid, body).response, BAD_REQUEST)
    assert poll.response.body == b"1"  # the parked GET carries the close
    assert h.closed_reason(sid) == "parse error"
    assert_error(h.poll(sid).response, UNKNOWN_SID)


def test_post_over_the_body_limit_is_413_and_keeps_the_session() -> None:
    h = WireHarness(EngineConfig(limits=Limits(max_payload_bytes=1000)), echo=False)
    sid = h.open_polling()
    exact = h.send_post(sid, "4" + "a" * 999).response
    assert exact.status == 200  # exactly at the limit is fine
    too_big = h.send_post(sid, "4" + "a" * 1000)
    assert too_big.response.status == 413
    assert too_big.response.body == b""
    assert too_big.tcp_closed  # the body was not read: the connection cannot be reused
    chunked = h.request(
        "POST",
        h.path(f"{POLL4}&sid={sid}"),
        chunks=[b"4" + b"b" * 600, b"b" * 600],
    )
    assert chunked.response.status == 413
    assert h.received(sid) == ["a" * 999]
    assert h.closed_reason(sid) is None
    assert alive(h, sid)


def test_v4_post_with_octet_stream_is_400_and_closes_the_session() -> None:
    h = WireHarness(echo=False)
    sid = h.open_polling()
    response = h.post(
        h.path(f"{POLL4}&sid={sid}"), "4hello", [("Content-Type", "application/octet-stream")]
    ).response
    assert_error(response, BAD_REQUEST)
    assert h.received(sid) == []
    assert h.closed_reason(sid) == "parse error"
    assert_error(h.poll(sid).response, UNKNOWN_SID)


def test_second_concurrent_get_is_400_and_the_first_gets_close() -> None:
    h = WireHarness()
    sid = h.open_polling()
    first = h.poll(sid)
    second = h.poll(sid)
    assert first.response.status == 200
    assert first.response.body == b"1"
    assert second.response.status == 400
    assert h.closed_reason(sid) == "transport error"
    assert_error(h.poll(sid).response, UNKNOWN_SID)


def test_overlapping_posts_are_each_processed_whole_in_completion_order() -> None:
    """Row "second concurrent POST" -- a deliberate divergence from JS.

    JS tears the first POST down and closes the session.  The wire layer
    hands a POST to the engine only once its body is complete, so two POSTs
    never overlap inside the engine: each is decoded whole and both are kept.
    """
    h = WireHarness(echo=False)
    sid = h.open_polling()
    slow = h.http()
    head = (
        f"POST /engine.io/?{POLL4}&sid={sid} HTTP/1.1\r\nHost: {HOST}\r\n"
        "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: 6\r\n\r\n4he"
    ).encode()
    slow.send_raw(head, expect="POST")
    fast = h.send_post(sid, "4world")
    assert fast.response.body == b"ok"
    assert slow.pending
    slow.send_raw(b"llo", expect=None)
    assert slow.response.body == b"ok"
    assert h.received(sid) == ["world", "hello"]
    assert h.closed_reason(sid) is None


@pytest.mark.parametrize("how", ["eof", "reset"])
def test_get_aborted_by_the_client_closes_the_session(how: str) -> None:
    h = WireHarness()
    sid = h.open_polling()
    poll = h.poll(sid)
    if how == "eof":
        poll.eof()
    else:
        poll.reset()
    assert poll.responses == []
    assert h.closed_reason(sid) == "transport error"
    assert_error(h.poll(sid).response, UNKNOWN_SID)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_method_on_an_existing_session_is_refused_and_keeps_it(method: str) -> None:
    """JS answers 500 with an empty body; we answer 400 code 3.  The session stays."""
    h = WireHarness()  # no CORS: OPTIONS is not a preflight
    sid = h.open_polling()
    assert_error(h.request(method, h.path(f"{POLL4}&sid={sid}")).response, BAD_REQUEST)
    assert h.closed_reason(sid) is None
    assert alive(h, sid)


def test_unknown_sid_is_400_code_1() -> None:
    h = WireHarness()
    assert_error(h.poll("nope").response, UNKNOWN_SID)
    assert_error(h.send_post("nope", "4x").response, UNKNOWN_SID)
    sid = h.open_polling()
    h.engine.close(sid, h.now)
    h.pump()
    h.clock.advance(h.config.close_timeout)
    assert_error(h.poll(sid).response, UNKNOWN_SID)  # closed is unknown too


def test_known_sid_on_another_transport_is_400_code_3_and_keeps_the_session() -> None:
    h = WireHarness()
    sid = h.open_polling()
    # A plain GET naming the websocket transport with a polling sid (1.15).
    assert_error(h.get(h.path(f"EIO=4&transport=websocket&sid={sid}")).response, BAD_REQUEST)
    assert alive(h, sid)
    # Polling after the upgrade.
    ws = h.websocket(h.path(f"EIO=4&transport=websocket&sid={sid}"))
    ws.send("2probe")
    ws.send("5")
    assert_error(h.poll(sid).response, BAD_REQUEST)
    assert_error(h.send_post(sid, "4x").response, BAD_REQUEST)
    assert h.closed_reason(sid) is None
    ws.send("4still here")
    assert ws.messages == ["3probe", "4still here"]


# -- error-code table ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "method", "query", "body"),
    [
        (EngineConfig(), "GET", "EIO=4", UNKNOWN_TRANSPORT),
        (EngineConfig(), "GET", "EIO=4&transport=", UNKNOWN_TRANSPORT),
        (EngineConfig(), "GET", "EIO=4&transport=abc", UNKNOWN_TRANSPORT),
        (EngineConfig(), "GET", "EIO=4&transport=webtransport", UNKNOWN_TRANSPORT),
        (EngineConfig(), "GET", "EIO=4&transport=POLLING", UNKNOWN_TRANSPORT),
        (EngineConfig(transports=("websocket",)), "GET", POLL4, UNKNOWN_TRANSPORT),
        (EngineConfig(), "GET", f"{POLL4}&sid=nope", UNKNOWN_SID),
        (EngineConfig(), "POST", POLL4, BAD_HANDSHAKE_METHOD),
        (EngineConfig(), "PUT", POLL4, BAD_HANDSHAKE_METHOD),
        (EngineConfig(), "OPTIONS", POLL4, BAD_HANDSHAKE_METHOD),  # no CORS: no preflight
        (EngineConfig(), "GET", "EIO=4&transport=websocket", BAD_REQUEST),
        (EngineConfig(), "GET", "EIO=3&transport=polling", UNSUPPORTED_PROTOCOL),
        (EngineConfig(), "GET", "transport=polling", UNSUPPORTED_PROTOCOL),
        (EngineConfig(), "GET", "EIO=abc&transport=polling", UNSUPPORTED_PROTOCOL),
        (EngineConfig(allow_eio3=True), "GET", "EIO=5&transport=polling", UNSUPPORTED_PROTOCOL),
        (EngineConfig(allow_eio3=True), "GET", "EIO=2&transport=polling", UNSUPPORTED_PROTOCOL),
    ],
)
def test_error_codes(
    config: EngineConfig, method: str, query: str, body: dict[str, object]
) -> None:
    h = WireHarness(config)
    assert_error(h.request(method, h.path(query)).response, body)
    assert h.engine.sessions == frozenset()


def test_error_code_0_for_a_websocket_upgrade_when_websocket_is_disabled() -> None:
    h = WireHarness(EngineConfig(transports=("polling",)))
    ws = h.websocket(h.path("EIO=4&transport=websocket"))
    assert not ws.accepted
    assert ws.rejected is not None
    assert_error(ws.rejected, UNKNOWN_TRANSPORT)
    sid = h.open_polling()
    assert json.loads(h.get(h.path(POLL4)).response.text[1:])["upgrades"] == []
    probe = h.websocket(h.path(f"EIO=4&transport=websocket&sid={sid}"))
    assert probe.rejected is not None
    assert_error(probe.rejected, UNKNOWN_TRANSPORT)


def test_error_code_3_for_invalid_origin_characters() -> None:
    h = WireHarness()
    response = h.get(h.path(POLL4), [("Origin", "http://localhost:3000\x01")]).response
    assert_error(response, BAD_REQUEST)
    assert h.engine.sessions == frozenset()


def test_error_code_3_for_a_protocol_mismatch_on_a_known_sid() -> None:
    h = WireHarness(EngineConfig(allow_eio3=True))
    sid = h.open_polling()
    assert_error(h.get(h.path(f"EIO=3&transport=polling&sid={sid}")).response, BAD_REQUEST)
    assert_error(h.get(h.path(f"transport=polling&sid={sid}")).response, BAD_REQUEST)
    ws = h.websocket(h.path(f"EIO=3&transport=websocket&sid={sid}"))
    assert ws.rejected is not None
    assert_error(ws.rejected, BAD_REQUEST)
    assert alive(h, sid)


def test_error_code_4_is_403_with_the_allow_request_message() -> None:
    seen: list[HttpRequest] = []

    def allow(request: HttpRequest) -> str | None:
        seen.append(request)
        return None if request.header("authorization") == "Bearer good" else "nope"

    h = WireHarness(EngineConfig(allow_request=allow))
    assert_error(h.get(h.path(POLL4)).response, error(4, "nope"), status=403)
    ws = h.websocket(h.path("EIO=4&transport=websocket"))
    assert not ws.accepted
    assert ws.rejected is not None
    assert_error(ws.rejected, error(4, "nope"), status=403)
    assert h.engine.sessions == frozenset()
    good = h.get(h.path(POLL4 + "&token=t"), [("Authorization", "Bearer good")]).response
    assert good.status == 200
    assert seen[-1].query["token"] == "t"
    # Only handshakes are checked: the session's later requests are not.
    sid = json.loads(good.text[1:])["sid"]
    calls = len(seen)
    assert alive(h, sid)
    assert len(seen) == calls


def test_error_code_5_over_websocket_is_refused_before_the_upgrade() -> None:
    h = WireHarness()
    ws = h.websocket(h.path("EIO=3&transport=websocket"))
    assert not ws.accepted
    assert ws.rejected is not None
    assert ws.rejected.header("connection") == "close"
    assert_error(ws.rejected, UNSUPPORTED_PROTOCOL)
    assert ws.tcp_closed


def _refuse_all(request: HttpRequest) -> str | None:
    return "refused"


@pytest.mark.parametrize(
    ("config", "method", "query", "headers", "body"),
    [
        # transport known -> Origin characters
        (EngineConfig(), "GET", "EIO=4&transport=abc", [("Origin", "x\x7f")], UNKNOWN_TRANSPORT),
        # Origin characters -> sid known
        (EngineConfig(), "GET", f"{POLL4}&sid=nope", [("Origin", "x\x01")], BAD_REQUEST),
        # sid known -> (everything about the session)
        (EngineConfig(), "PUT", "EIO=abc&transport=polling&sid=nope", [], UNKNOWN_SID),
        # method GET -> websocket only via upgrade
        (EngineConfig(), "POST", "EIO=4&transport=websocket", [], BAD_HANDSHAKE_METHOD),
        # websocket only via upgrade -> allow_request
        (
            EngineConfig(allow_request=_refuse_all),
            "GET",
            "EIO=4&transport=websocket",
            [],
            BAD_REQUEST,
        ),
        # allow_request -> protocol version
        (
            EngineConfig(allow_request=_refuse_all),
            "GET",
            "EIO=abc&transport=polling",
            [],
            error(4, "refused"),
        ),
        # method GET -> protocol version
        (EngineConfig(), "POST", "EIO=abc&transport=polling", [], BAD_HANDSHAKE_METHOD),
        # transport known -> method GET
        (EngineConfig(), "POST", "EIO=4&transport=abc", [], UNKNOWN_TRANSPORT),
        # transport known -> protocol version
        (EngineConfig(), "GET", "EIO=abc&transport=abc", [], UNKNOWN_TRANSPORT),
    ],
)
def test_check_order(
    config: EngineConfig,
    method: str,
    query: str,
    headers: list[tuple[str, str]],
    body: dict[str, object],
) -> None:
    h = WireHarness(config)
    response = h.request(method, h.path(query), headers).response
    assert_error(response, body, status=403 if body["code"] == 4 else 400)


def test_check_order_over_websocket() -> None:
    h = WireHarness(EngineConfig(allow_request=_refuse_all))
    cases: list[tuple[str, list[tuple[str, str]], dict[str, object]]] = [
        ("EIO=4&transport=polling", [("Origin", "x\x01")], UNKNOWN_TRANSPORT),
        ("EIO=4&transport=websocket&sid=nope", [("Origin", "x\x01")], BAD_REQUEST),
        ("EIO=abc&transport=websocket&sid=nope", [], UNKNOWN_SID),
        ("EIO=abc&transport=websocket", [], error(4, "refused")),
    ]
    for query, headers, body in cases:
        ws = h.websocket(h.path(query), headers)
        assert ws.rejected is not None, query
        assert_error(ws.rejected, body, status=403 if body["code"] == 4 else 400)


# -- CORS ------------------------------------------------------------------------------


def test_same_origin_by_default_and_no_cors_headers() -> None:
    h = WireHarness()
    same = h.get(h.path(POLL4), [("Origin", f"http://{HOST}")]).response
    assert same.status == 200
    assert same.header("access-control-allow-origin") is None
    no_origin = h.get(h.path(POLL4)).response
    assert no_origin.status == 200
    for origin in ("http://evil.example", f"https://{HOST}", "null", f"http://{HOST}.evil"):
        response = h.get(h.path(POLL4), [("Origin", origin)]).response
        assert_error(response, error(4, "Not an accepted origin"), status=403)
        assert response.header("access-control-allow-origin") is None
    assert len(h.engine.sessions) == 2


def test_same_origin_honours_tls() -> None:
    h = WireHarness()
    secure = h.http(secure=True).request("GET", h.path(POLL4), [("Origin", f"https://{HOST}")])
    assert secure.response.status == 200
    plain = h.http(secure=True).request("GET", h.path(POLL4), [("Origin", f"http://{HOST}")])
    assert plain.response.status == 403


def test_same_origin_refuses_a_cross_origin_websocket_upgrade_cve_2019_13611() -> None:
    """Cross-site WebSocket hijacking: a WS ignores CORS, so the Origin is checked."""
    h = WireHarness()
    ws = h.websocket(h.path("EIO=4&transport=websocket"), [("Origin", "http://evil.example")])
    assert not ws.accepted
    assert ws.rejected is not None
    assert_error(ws.rejected, error(4, "Not an accepted origin"), status=403)
    assert ws.tcp_closed
    assert h.engine.sessions == frozenset()
    # ... also as an upgrade probe of someone else's polling session.
    sid = h.open_polling()
    probe = h.websocket(
        h.path(f"EIO=4&transport=websocket&sid={sid}"), [("Origin", "http://evil.example")]
    )
    assert probe.rejected is not None
    assert probe.rejected.status == 403
    assert h.engine.transport(sid) == "polling"
    ok = h.websocket(h.path("EIO=4&transport=websocket"), [("Origin", f"http://{HOST}")])
    assert ok.accepted


def test_allow_list_reflects_the_origin_with_vary_and_credentials() -> None:
    h = WireHarness(
        EngineConfig(cors_allowed_origins=("https://app.example",), cors_credentials=True)
    )
    response = h.get(h.path(POLL4), [("Origin", "https://app.example")]).response
    assert response.status == 200
    assert response.header("access-control-allow-origin") == "https://app.example"
    assert response.header("vary") == "Origin"
    assert response.header("access-control-allow-credentials") == "true"
    sid = json.loads(response.text[1:])["sid"]
    post = h.post(h.path(f"{POLL4}&sid={sid}"), "4x", [("Origin", "https://app.example")]).response
    assert post.header("access-control-allow-origin") == "https://app.example"
    # Errors carry the CORS headers too, so the browser can read them.
    err = h.get(h.path(f"{POLL4}&sid=nope"), [("Origin", "https://app.example")]).response
    assert_error(err, UNKNOWN_SID)
    assert err.header("access-control-allow-origin") == "https://app.example"
    # Not on the list: refused, nothing reflected.
    refused = h.get(h.path(POLL4), [("Origin", "https://evil.example")]).response
    assert refused.status == 403
    assert refused.header("access-control-allow-origin") is None
    assert refused.header("access-control-allow-credentials") is None
    ws = h.websocket(h.path("EIO=4&transport=websocket"), [("Origin", "https://evil.example")])
    assert ws.rejected is not None
    assert ws.rejected.status == 403


def test_allow_list_without_credentials_sends_no_credentials_header() -> None:
    h = WireHarness(EngineConfig(cors_allowed_origins=("https://app.example",)))
    response = h.get(h.path(POLL4), [("Origin", "https://app.example")]).response
    assert response.header("access-control-allow-origin") == "https://app.example"
    assert response.header("access-control-allow-credentials") is None


def test_star_allows_any_origin_without_credentials() -> None:
    h = WireHarness(EngineConfig(cors_allowed_origins="*"))
    for headers in ([("Origin", "https://anything.example")], []):
        response = h.get(h.path(POLL4), headers).response
        assert response.status == 200
        assert response.header("access-control-allow-origin") == "*"
        assert response.header("access-control-allow-credentials") is None
        assert response.header("vary") is None
    err = h.get(h.path("EIO=4&transport=abc")).response
    assert_error(err, UNKNOWN_TRANSPORT)
    assert err.header("access-control-allow-origin") == "*"
    ws = h.websocket(h.path("EIO=4&transport=websocket"), [("Origin", "https://x.example")])
    assert ws.accepted
    with pytest.raises(ValueError, match="credentials"):
        EngineConfig(cors_allowed_origins="*", cors_credentials=True)


@pytest.mark.parametrize(
    ("config", "allow_origin"),
    [
        (EngineConfig(cors_allowed_origins="*"), "*"),
        (
            EngineConfig(cors_allowed_origins=("https://app.example",), cors_credentials=True),
            "https://app.example",
        ),
    ],
)
def test_preflight(config: EngineConfig, allow_origin: str) -> None:
    h = WireHarness(config)
    headers = [
        ("Origin", "https://app.example"),
        ("Access-Control-Request-Method", "POST"),
        ("Access-Control-Request-Headers", "content-type, x-token"),
    ]
    response = h.request("OPTIONS", h.path(f"{POLL4}&sid=whatever"), headers).response
    assert response.status == 204
    assert response.body == b""
    assert response.header("access-control-allow-origin") == allow_origin
    assert response.header("access-control-allow-methods") == "GET,POST,OPTIONS"
    assert response.header("access-control-allow-headers") == "content-type, x-token"
    assert h.engine.sessions == frozenset()  # a preflight opens nothing


def test_preflight_from_a_refused_origin_is_403() -> None:
    h = WireHarness(EngineConfig(cors_allowed_origins=("https://app.example",)))
    response = h.request("OPTIONS", h.path(POLL4), [("Origin", "https://evil.example")]).response
    assert_error(response, error(4, "Not an accepted origin"), status=403)
    assert response.header("access-control-allow-origin") is None


# -- cookie ----------------------------------------------------------------------------


def test_cookie_only_on_the_handshake() -> None:
    h = WireHarness(EngineConfig(cookie=CookieConfig()))
    response = h.get(h.path(POLL4)).response
    sid = json.loads(response.text[1:])["sid"]
    assert response.header_list("set-cookie") == [f"io={sid}; Path=/; HttpOnly; SameSite=Lax"]
    h.engine.send(sid, "x")
    assert h.poll(sid).response.header("set-cookie") is None
    assert h.send_post(sid, "4x").response.header("set-cookie") is None
    ws = h.websocket(h.path(f"EIO=4&transport=websocket&sid={sid}"))
    assert ws.accepted
    assert all(name != "set-cookie" for name, _ in ws.accept_headers)  # a probe: no cookie
    ws_only = h.websocket(h.path("EIO=4&transport=websocket"))
    ws_sid = json.loads(str(ws_only.recv())[1:])["sid"]
    assert ("set-cookie", f"io={ws_sid}; Path=/; HttpOnly; SameSite=Lax") in ws_only.accept_headers


def test_cookie_attributes_are_configurable_and_off_by_default() -> None:
    assert WireHarness().get("/engine.io/?" + POLL4).response.header("set-cookie") is None
    cookie = CookieConfig(name="eio", path="/app", http_only=False, same_site="None", secure=True)
    h = WireHarness(EngineConfig(cookie=cookie))
    response = h.get(h.path(POLL4)).response
    sid = json.loads(response.text[1:])["sid"]
    assert response.header("set-cookie") == f"eio={sid}; Path=/app; Secure; SameSite=None"


# -- compression -----------------------------------------------------------------------


def _big_session(h: WireHarness, size: int) -> tuple[str, str]:
    sid = h.open_polling()
    message = "x" * size
    h.engine.send(sid, message)
    return sid, "4" + message


@pytest.mark.parametrize(
    ("accept", "encoding", "decompress"),
    [
        ("gzip, deflate, br", "gzip", gzip.decompress),
        ("gzip;q=1.0", "gzip", gzip.decompress),
        ("deflate", "deflate", zlib.decompress),
        ("br", None, None),
        (None, None, None),
    ],
)
def test_http_compression_over_the_threshold(
    accept: str | None, encoding: str | None, decompress: Callable[[bytes], bytes] | None
) -> None:
    h = WireHarness()
    sid, payload = _big_session(h, 1023)  # body = 1024 bytes: at the threshold
    headers = [("Accept-Encoding", accept)] if accept is not None else []
    response = h.get(h.path(f"{POLL4}&sid={sid}"), headers).response
    assert response.status == 200
    assert response.header("content-encoding") == encoding
    assert response.header("content-length") == str(len(response.body))
    body = decompress(response.body) if decompress is not None else response.body
    assert body == payload.encode()
    if decompress is not None:
        assert len(response.body) < 1024


def test_http_compression_not_below_the_threshold_nor_when_disabled() -> None:
    h = WireHarness()
    sid, payload = _big_session(h, 1022)  # body = 1023 bytes
    response = h.get(h.path(f"{POLL4}&sid={sid}"), [("Accept-Encoding", "gzip")]).response
    assert response.header("content-encoding") is None
    assert response.body == payload.encode()
    off = WireHarness(EngineConfig(http_compression_threshold=None))
    sid, payload = _big_session(off, 5000)
    response = off.get(off.path(f"{POLL4}&sid={sid}"), [("Accept-Encoding", "gzip")]).response
    assert response.header("content-encoding") is None
    assert response.body == payload.encode()


# -- JSONP -----------------------------------------------------------------------------


def test_jsonp_get_handshake_and_data() -> None:
    h = WireHarness(echo=False)
    response = h.get(h.path(f"{POLL4}&j=0")).response
    assert response.status == 200
    assert response.header("content-type") == "text/javascript; charset=UTF-8"
    text = response.text
    assert text.startswith('___eio[0]("0{\\"sid\\":') and text.endswith('");')
    packet = json.loads(text[len("___eio[0](") : -len(");")])
    sid = json.loads(packet[1:])["sid"]
    h.engine.send(sid, 'line\nx"q\u2028')
    poll = h.get(h.path(f"{POLL4}&sid={sid}&j=7abc")).response  # non-digits stripped
    assert poll.body == b'___eio[7]("4line\\nx\\"q\\u2028");'


def test_jsonp_v3_get() -> None:
    h = WireHarness(EngineConfig(allow_eio3=True), echo=False)
    sid = h.open_polling(POLL3)
    h.engine.send(sid, "line\nx")
    h.engine.send(sid, 'q"uote')
    poll = h.get(h.path(f"{POLL3}&sid={sid}&j=0")).response
    assert poll.body == b'___eio[0]("7:4line\\nx7:4q\\"uote");'


def test_jsonp_post_form_body() -> None:
    h = WireHarness(echo=False)
    sid = h.open_polling()
    form = [("Content-Type", "application/x-www-form-urlencoded")]
    target = h.path(f"{POLL4}&sid={sid}&j=0")
    response = h.post(target, "d=4hello%1E4two", form).response
    assert response.status == 200
    assert response.body == b"ok"
    # The old client escaped newlines: \n is a newline, \\n stays backslash + n.
    assert h.post(target, "d=4a%5Cnb%5C%5Cnc", form).response.body == b"ok"
    assert h.received(sid) == ["hello", "two", "a\nb\\nc"]
    assert_error(h.post(target, "x=4nope", form).response, BAD_REQUEST)
    assert h.closed_reason(sid) == "parse error"


def test_jsonp_post_raw_body() -> None:
    h = WireHarness(echo=False)
    sid = h.open_polling()
    response = h.post(h.path(f"{POLL4}&sid={sid}&j=0"), "4raw").response
    assert response.body == b"ok"
    assert h.received(sid) == ["raw"]


# -- content types and b64 -------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", [None, "text/plain;charset=UTF-8", "text/plain", "application/json"]
)
def test_v4_post_text_content_types_are_accepted(content_type: str | None) -> None:
    h = WireHarness(echo=False)
    sid = h.open_polling()
    headers = [("Content-Type", content_type)] if content_type is not None else []
    response = h.post(h.path(f"{POLL4}&sid={sid}"), "4ü\x1ebAQID", headers).response
    assert response.body == b"ok"
    assert h.received(sid) == ["ü", b"\x01\x02\x03"]


def test_v4_post_invalid_utf8_is_a_parse_error() -> None:
    h = WireHarness(echo=False)
    sid = h.open_polling()
    assert_error(h.send_post(sid, b"4\xff\xfe").response, BAD_REQUEST)
    assert h.closed_reason(sid) == "parse error"


def test_v3_post_binary_payload_with_octet_stream() -> None:
    h = WireHarness(EngineConfig(allow_eio3=True), echo=False)
    sid = h.open_polling(POLL3)
    body = bytes([0, 6, 255, 52, 104, 101, 108, 108, 111, 1, 5, 255, 4, 1, 2, 3, 4])
    response = h.post(
        h.path(f"{POLL3}&sid={sid}"), body, [("Content-Type", "application/octet-stream")]
    ).response
    assert response.body == b"ok"
    assert h.received(sid) == ["hello", b"\x01\x02\x03\x04"]


def test_v3_b64_selects_the_text_payload_for_binary() -> None:
    h = WireHarness(EngineConfig(allow_eio3=True), echo=False)
    b64 = h.open_polling(POLL3 + "&b64=1")
    binary = h.open_polling(POLL3)
    for sid in (b64, binary):
        h.engine.send(sid, b"\x01\x02")
    text = h.poll(b64, 3).response
    assert text.header("content-type") == "text/plain; charset=UTF-8"
    assert text.body == b"6:b4AQI="
    raw = h.poll(binary, 3).response
    assert raw.header("content-type") == "application/octet-stream"
    assert raw.body == bytes([1, 3, 255, 4, 1, 2])
    # A text-only batch is a text payload even without b64.
    h.engine.send(binary, "€")
    assert h.poll(binary, 3).response.body == "2:4€".encode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("EIO=4&transport=websocket&b64=1", "bAQID"),
        ("EIO=3&transport=websocket&b64=1", "b4AQID"),
        ("EIO=4&transport=websocket", b"\x01\x02\x03"),
        ("EIO=3&transport=websocket", b"\x04\x01\x02\x03"),
    ],
)
def test_b64_over_websocket_sends_binary_as_base64_text(query: str, expected: str | bytes) -> None:
    h = WireHarness(EngineConfig(allow_eio3=True), echo=False)
    ws, sid = h.open_websocket(query)
    h.engine.send(sid, b"\x01\x02\x03")
    h.pump()
    assert ws.recv() == expected


def _page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(200, (("Content-Type", "text/html"),), f"<h1>{request.path}</h1>".encode())


def test_requests_outside_the_path_get_the_fallback_or_404() -> None:
    h = WireHarness()
    assert h.get("/").response.status == 404
    assert h.get("/engine.io?EIO=4&transport=polling").response.status == 404  # no slash
    served = WireHarness(fallback=_page)
    response = served.get("/index.html").response
    assert response.status == 200
    assert response.body == b"<h1>/index.html</h1>"
    assert served.get(served.path(POLL4)).response.status == 200
