"""The ``tour`` and ``decode`` commands.

The tour walks through one Socket.IO session as it appears on the wire --
every line is produced by the library's codecs, and every decoded value is
checked against what was encoded -- then runs clients and servers in memory.
"""

from __future__ import annotations

from typing import Any

from .engineio.packet import EngineRevision
from .engineio.packet import Packet as EnginePacket
from .engineio.packet import PacketType as EngineType
from .engineio.payload import decode_payload, encode_payload
from .errors import ProtocolError
from .socketio.packet import Packet, PacketType, SocketIORevision
from .socketio.parser import Decoder, Encoder


def _session(revision: SocketIORevision) -> list[tuple[str, Packet]]:
    custom = "/test"
    return [
        ("client connects to /test", Packet(PacketType.CONNECT, custom)),
        (
            "server accepts",
            Packet(
                PacketType.CONNECT,
                custom,
                {"sid": "Fh6KtqTGP4jmVfdqAAAB"} if revision == 5 else None,
            ),
        ),
        ("client emits 'my event'", Packet(PacketType.EVENT, custom, ["my event", {"data": "hi"}])),
        ("server answers", Packet(PacketType.EVENT, custom, ["my response", {"data": "hi"}])),
        ("client asks for an ack", Packet(PacketType.EVENT, "/", ["echo", "x", 1], id=7)),
        ("server acks", Packet(PacketType.ACK, "/", ["x", 1], id=7)),
        ("binary event", Packet(PacketType.EVENT, "/", ["file", b"\x01\x02\x03", {"n": 1}])),
        ("client leaves /test", Packet(PacketType.DISCONNECT, custom)),
    ]


def run_tour(eio: int) -> int:
    revision: EngineRevision = 4 if eio == 4 else 3
    sio: SocketIORevision = 5 if revision == 4 else 4
    encoder, decoder = Encoder(revision=sio), Decoder(revision=sio)
    print(f"A Socket.IO {sio} session over Engine.IO {revision}, as it crosses the wire.\n")
    for title, packet in _session(sio):
        messages = encoder.encode(packet)
        engine_packets = [EnginePacket(EngineType.MESSAGE, m) for m in messages]
        body, content_type = encode_payload(engine_packets, revision)
        raw = body if isinstance(body, bytes) else body.encode()
        print(f"* {title}")
        print(f"    Socket.IO packet : {packet}")
        for message in messages:
            print(f"    Engine.IO message: {message!r}")
        print(f"    polling body     : {raw!r} ({content_type})")
        decoded: Packet | None = None
        for engine_packet in decode_payload(raw, revision, content_type=content_type):
            decoded = decoder.receive(engine_packet.data)
        if decoded != packet:
            print(f"    MISMATCH after decoding: {decoded}")
            return 1
        print("    decoded back     : identical\n")
    _engine_session(revision)
    _socketio_session(revision)
    print(
        "`demo` serves all this for real (python -m socketio_proto demo); `decode` reads captures:"
    )
    print("    python -m socketio_proto decode '42[\"hello\",1]'")
    return 0


def _engine_session(revision: EngineRevision) -> None:
    """A client and a server in memory: real h11/wsproto bytes, a fake clock."""
    from .engineio.client import ClientConfig
    from .engineio.config import EngineConfig
    from .engineio.events import MessageReceived, ServerEvent
    from .testing.pair import EnginePair
    from .wire.server import WireServer

    def echo(server: WireServer, event: ServerEvent) -> None:
        if isinstance(event, MessageReceived):
            server.engine.send(event.sid, event.data)

    print(f"An Engine.IO {revision} session in memory (EnginePair: real bytes, fake clock):")
    pair = EnginePair(
        EngineConfig(ping_interval=25.0, ping_timeout=20.0, allow_eio3=True),
        ClientConfig(revision=revision),
        server_app=echo,
    )
    pair.connect()
    pair.client.send("hello")
    pair.client.send(b"\x01\x02")
    pair.pump()
    pair.advance(120.0)  # heartbeats fire exactly when due
    alive = len(pair.server.engine.sessions) == 1
    pair.client.close(pair.now)
    pair.pump()
    for event in pair.client_events:
        print(f"    client {type(event).__name__}: {_describe(event)}")
    print(f"    after 120 s of fake time, heartbeats had kept it alive: {alive}")
    print(f"    server sessions left after close: {len(pair.server.engine.sessions)}\n")


def _socketio_session(revision: EngineRevision) -> None:
    """The seed's /test namespace on the application API, with a SocketClient, in memory."""
    from .app import Server
    from .engineio.client import ClientConfig as EngineClientConfig
    from .engineio.config import EngineConfig
    from .socketio.config import ClientConfig
    from .socketio.events import EngineStarted
    from .testing.socket_pair import SocketPair

    app = Server(engine_config=EngineConfig(path="/socket.io/", allow_eio3=True))

    @app.event(namespace="/test")
    def connect(sid: str, auth: Any) -> None:
        app.socket(sid).emit("my response", {"data": "Connected"})

    @app.on("my broadcast event", namespace="/test")
    def broadcast(sid: str, message: Any) -> None:
        app.emit("my response", {"data": message["data"]}, namespace="/test")

    @app.on("join", namespace="/test")
    def join(sid: str, message: Any) -> bool:
        app.enter_room(sid, message["room"])
        return True

    config = ClientConfig(engine=EngineClientConfig(path="/socket.io/", revision=revision))
    pair = SocketPair(app, config)
    print("The seed's /test namespace on the application API, with a SocketClient (SocketPair):")
    pair.connect("/test")
    pair.sio.emit("join", {"room": "lobby"}, namespace="/test", ack=True)
    pair.sio.emit("my broadcast event", {"data": "hello, everyone"}, namespace="/test")
    pair.pump()
    for event in pair.socket_events:
        if not isinstance(event, EngineStarted):
            print(f"    client {type(event).__name__}: {_describe(event)}")
    print()


def _describe(event: object) -> str:
    fields = getattr(event, "__dataclass_fields__", {})
    return ", ".join(f"{name}={getattr(event, name)!r}" for name in fields if name != "handshake")


def run_decode(text: str, eio: int) -> int:
    revision: EngineRevision = 4 if eio == 4 else 3
    sio: SocketIORevision = 5 if revision == 4 else 4
    decoder = Decoder(revision=sio)
    # Captures are usually pasted with the record separator spelled out.
    raw = text.replace("\\x1e", "\x1e").replace("\\u001e", "\x1e").encode("utf-8")
    try:
        engine_packets = decode_payload(raw, revision)
    except ProtocolError as exc:
        print(f"not an Engine.IO {revision} payload: {exc.message}")
        return 1
    for engine_packet in engine_packets:
        print(f"Engine.IO {engine_packet.type.name}: {engine_packet.data!r}")
        if engine_packet.type is not EngineType.MESSAGE:
            continue
        try:
            packet: Any = decoder.receive(engine_packet.data)
        except ProtocolError as exc:
            print(f"  Socket.IO: invalid ({type(exc).__name__}: {exc.message})")
            continue
        if packet is None:
            print(f"  Socket.IO: binary packet header, waiting for {decoder.awaiting_attachments}")
        else:
            print(f"  Socket.IO: {packet}")
    return 0
