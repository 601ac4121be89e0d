"""The seed's Flask-SocketIO example on socketio_proto: a Flask page and Socket.IO on one port.

Run it from a checkout (socketio_proto and Flask installed)::

    python examples/flask_app/app.py [--host 127.0.0.1] [--port 5000] [--client-js PATH]

and open the URL it prints.  The page loads the official JavaScript client from the
public CDN, or from ``PATH`` (e.g. ``node_modules/socket.io-client/dist/socket.io.min.js``)
with ``--client-js``.  Ctrl-C or SIGTERM stops it gracefully.

Written as a Flask-SocketIO user would: handlers take the event's data, ``emit`` answers
the sender, ``flask.session`` counts the messages of each socket, and ``request.sid``
names it.  Every name that differs from Flask-SocketIO is in docs/flask.rst.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, render_template, request, session

from socketio_proto.flask import (
    FlaskSocketIO,
    close_room,
    disconnect,
    emit,
    join_room,
    leave_room,
    rooms,
)

CDN_CLIENT = "https://cdn.socket.io/4.8.1/socket.io.min.js"
LOCAL_CLIENT = "/socket.io-client.js"


def create_app(client_js: Path | None = None) -> tuple[Flask, FlaskSocketIO]:
    """The Flask app and its Socket.IO handlers (``client_js``: serve that client file)."""
    app = Flask(__name__, root_path=str(Path(__file__).resolve().parent))
    app.config["SECRET_KEY"] = "secret!"  # signs the session cookie; change it in earnest
    socketio = FlaskSocketIO(app)
    script = client_js.read_bytes() if client_js is not None else None

    @app.route("/")
    def index() -> str:
        return render_template(
            "index.html", client_url=CDN_CLIENT if script is None else LOCAL_CLIENT
        )

    @app.route(LOCAL_CLIENT)
    def client_script() -> Response:
        if script is None:
            abort(404)
        return Response(script, mimetype="text/javascript")

    def count() -> int:
        session["receive_count"] = session.get("receive_count", 0) + 1
        return int(session["receive_count"])

    @socketio.on("my event", namespace="/test")
    def test_message(message: dict[str, Any]) -> None:
        emit("my response", {"data": message["data"], "count": count()})

    @socketio.on("my broadcast event", namespace="/test")
    def test_broadcast_message(message: dict[str, Any]) -> None:
        emit("my response", {"data": message["data"], "count": count()}, broadcast=True)

    @socketio.on("join", namespace="/test")
    def join(message: dict[str, Any]) -> None:
        join_room(message["room"])
        emit("my response", {"data": "In rooms: " + ", ".join(rooms()), "count": count()})

    @socketio.on("leave", namespace="/test")
    def leave(message: dict[str, Any]) -> None:
        leave_room(message["room"])
        emit("my response", {"data": "In rooms: " + ", ".join(rooms()), "count": count()})

    @socketio.on("close room", namespace="/test")
    def close(message: dict[str, Any]) -> None:
        data = {"data": "Room " + message["room"] + " is closing.", "count": count()}
        emit("my response", data, to=message["room"])
        close_room(message["room"])

    @socketio.on("my room event", namespace="/test")
    def send_room_message(message: dict[str, Any]) -> None:
        emit("my response", {"data": message["data"], "count": count()}, to=message["room"])

    @socketio.on("disconnect request", namespace="/test")
    def disconnect_request() -> None:
        emit("my response", {"data": "Disconnected!", "count": count()})
        disconnect()

    @socketio.on("connect", namespace="/test")
    def test_connect() -> None:
        emit("my response", {"data": "Connected", "count": 0})

    @socketio.on("disconnect", namespace="/test")
    def test_disconnect() -> None:
        print("Client disconnected", request.sid, file=sys.stderr)  # type: ignore[attr-defined]

    @socketio.on("echo")
    def echo(*args: Any) -> tuple[Any, ...]:
        return args  # the ack carries the arguments back (the page's latency probe)

    return app, socketio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000, help="0: any free port")
    parser.add_argument("--client-js", type=Path, help="serve this socket.io client file")
    options = parser.parse_args(argv)
    _, socketio = create_app(options.client_js)
    server = socketio.serve(options.host, options.port)
    try:
        server.start()
    except OSError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"Serving on {server.url}/ (Ctrl-C to stop)", flush=True)
    # SIGTERM (service managers, containers): close() waits for the clients, so not in
    # the signal handler itself.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.close).start())
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: serve_forever closed gracefully
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
