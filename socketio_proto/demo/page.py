"""The demo's web page, and the fallback that serves it next to Socket.IO."""

from __future__ import annotations

import html
from pathlib import Path

from ..engineio.http import HttpRequest, HttpResponse
from ..wire.server import Fallback

__all__ = ["CDN_CLIENT", "LOCAL_CLIENT_PATH", "demo_fallback", "render_page"]

#: Where the page loads the official client from when no ``--client-js`` is given.
CDN_CLIENT = "https://cdn.socket.io/4.8.1/socket.io.min.js"
#: Where the page finds the client given with ``--client-js``.
LOCAL_CLIENT_PATH = "/socket.io-client.js"

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>socketio_proto demo</title>
<link rel="icon" href="data:,">
<style>
 body { font-family: system-ui, sans-serif; margin: 2em; max-width: 52em; }
 form { margin: 0.4em 0; } input[type=text] { width: 14em; }
 #log { border: 1px solid #ccc; padding: 0.5em; height: 18em; overflow-y: auto;
        font-family: ui-monospace, monospace; font-size: 0.9em; }
 .status span { font-weight: bold; }
</style>
<script src="{client}"></script>
</head>
<body>
<h1>socketio_proto demo</h1>
<p class="status">Transport: <span id="transport">connecting</span> &middot;
 Ping latency: <span id="latency">&ndash;</span> ms &middot;
 Socket id: <span id="sid">&ndash;</span></p>
<form id="emit"><input type="text" id="emit_data" placeholder="Message">
 <input type="submit" value="Echo"></form>
<form id="broadcast"><input type="text" id="broadcast_data" placeholder="Message">
 <input type="submit" value="Broadcast"></form>
<form id="join"><input type="text" id="join_room" placeholder="Room name">
 <input type="submit" value="Join Room"></form>
<form id="leave"><input type="text" id="leave_room" placeholder="Room name">
 <input type="submit" value="Leave Room"></form>
<form id="send_room"><input type="text" id="room_name" placeholder="Room name">
 <input type="text" id="room_data" placeholder="Message">
 <input type="submit" value="Send to Room"></form>
<form id="disconnect"><input type="submit" value="Disconnect"></form>
<h2>Receive:</h2>
<div id="log"></div>
<script>
(function () {
  const $ = (id) => document.getElementById(id);
  const log = (text) => {
    const line = document.createElement("div");
    line.className = "line";
    line.textContent = text;
    $("log").appendChild(line);
    $("log").scrollTop = $("log").scrollHeight;
  };
  const test = io("/test");
  const root = io("/");
  const manager = test.io;
  const showTransport = () => {
    const engine = manager.engine;
    if (engine && engine.transport) $("transport").textContent = engine.transport.name;
  };
  manager.on("open", () => {
    showTransport();
    manager.engine.on("upgrade", showTransport);
  });
  test.on("connect", () => { $("sid").textContent = test.id; showTransport(); });
  test.on("disconnect", (reason) => {
    $("sid").textContent = "\u2013";
    log("Disconnected: " + reason);
  });
  test.on("my response", (msg) => log("Received: " + msg.data));
  const ping = () => {
    const start = performance.now();
    root.emit("echo", "ping", () => {
      $("latency").textContent = Math.round(performance.now() - start);
    });
  };
  root.on("connect", ping);
  setInterval(() => { if (root.connected) ping(); }, 1000);
  const on = (id, handler) => $(id).addEventListener("submit", (event) => {
    event.preventDefault();
    handler();
  });
  on("emit", () => test.emit("my event", { data: $("emit_data").value }));
  on("broadcast", () => test.emit("my broadcast event", { data: $("broadcast_data").value }));
  on("join", () => {
    const room = $("join_room").value;
    test.emit("join", { room }, () => log("Joined " + room));
  });
  on("leave", () => {
    const room = $("leave_room").value;
    test.emit("leave", { room }, () => log("Left " + room));
  });
  on("send_room", () => test.emit("my room event",
                                  { room: $("room_name").value, data: $("room_data").value }));
  on("disconnect", () => test.emit("disconnect request"));
})();
</script>
</body>
</html>
"""


def render_page(client_url: str = CDN_CLIENT) -> bytes:
    """The demo page, loading the official client from ``client_url``."""
    return _PAGE.replace("{client}", html.escape(client_url, quote=True)).encode("utf-8")


def demo_fallback(client_js: Path | None = None) -> Fallback:
    """Serve the page at ``/``, and ``client_js`` (a file on disk) to it if given.

    Nothing of the official client is shipped here: without ``client_js`` the
    page loads it from the public CDN, as the seed's page does.
    """
    script = client_js.read_bytes() if client_js is not None else None
    page = render_page(LOCAL_CLIENT_PATH if script is not None else CDN_CLIENT)
    Headers = tuple[tuple[str, str], ...]
    html_headers: Headers = (
        ("Content-Type", "text/html; charset=utf-8"),
        ("Cache-Control", "no-store"),
    )
    js_headers: Headers = (("Content-Type", "text/javascript; charset=utf-8"),)
    text = (("Content-Type", "text/plain; charset=utf-8"),)

    def serve(request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return HttpResponse(405, (*text, ("Allow", "GET, HEAD")), b"Method Not Allowed")
        if request.path in ("/", "/index.html"):
            headers, body = html_headers, page
        elif script is not None and request.path == LOCAL_CLIENT_PATH:
            headers, body = js_headers, script
        else:
            return HttpResponse(404, text, b"Not Found")
        return HttpResponse(200, headers, body if request.method == "GET" else b"")

    return serve
