"""The ``compress`` flag: polling bodies made only of compress=False messages stay plain."""

from __future__ import annotations

import gzip

from socketio_proto.socketio import events as ev
from socketio_proto.socketio.server import SocketServer
from tests.support.socket_server import SocketHarness

BIG = "x" * 5000
GZIP = (("Accept-Encoding", "gzip"),)


def accept_all(sio: SocketServer, event: ev.ServerEvent) -> None:
    if isinstance(event, ev.ConnectRequested):
        sio.accept(event.sid)


def polling_socket() -> tuple[SocketHarness, str, str]:
    h = SocketHarness(app=accept_all)
    eio_sid = h.open_polling()
    h.send_post(eio_sid, "40")
    assert h.poll(eio_sid).response.text.startswith("40{")
    [request] = h.of_type(ev.ConnectRequested)
    return h, eio_sid, request.sid


def poll_gzip(h: SocketHarness, eio_sid: str) -> tuple[bytes, str | None]:
    response = h.get(h.path(f"EIO=4&transport=polling&sid={eio_sid}"), GZIP).response
    return response.body, response.header("content-encoding")


def test_compress_false_keeps_the_polling_body_plain() -> None:
    h, eio_sid, sid = polling_socket()
    h.sio.emit("big", BIG, to=sid, compress=False)
    body, encoding = poll_gzip(h, eio_sid)
    assert encoding is None
    assert body.decode() == f'42["big","{BIG}"]'


def test_default_compresses_and_one_compressible_message_is_enough() -> None:
    h, eio_sid, sid = polling_socket()
    h.sio.emit("big", BIG, to=sid)
    body, encoding = poll_gzip(h, eio_sid)
    assert encoding == "gzip"
    assert gzip.decompress(body).decode() == f'42["big","{BIG}"]'

    h.sio.emit("plain", BIG, to=sid, compress=False)
    h.sio.emit("small", 1, to=sid)
    body, encoding = poll_gzip(h, eio_sid)
    assert encoding == "gzip"
    assert gzip.decompress(body).decode() == f'42["plain","{BIG}"]\x1e42["small",1]'

    # The flag does not outlive the body it applied to.
    h.sio.emit("plain", BIG, to=sid, compress=False)
    body, encoding = poll_gzip(h, eio_sid)
    assert encoding is None


def test_engine_send_many_compress_flag() -> None:
    h, eio_sid, _ = polling_socket()
    assert h.engine.send_many(eio_sid, [BIG], compress=False)
    body, encoding = poll_gzip(h, eio_sid)
    assert (encoding, body.decode()) == (None, "4" + BIG)  # the message packet type
