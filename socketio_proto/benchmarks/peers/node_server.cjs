// The demo application on the official Node.js `socket.io` server, for interop
// tests and server benchmarks.
//
// Run by tests/support/peer_servers.py and socketio_proto/benchmarks with
// NODE_PATH pointing at a pinned `socket.io` installed by
// socketio_proto/benchmarks/npm.py (nothing is vendored).  Listens
// on 127.0.0.1, on the port given as the first argument (0: a free one), and
// prints "listening on port N" on stdout once it accepts connections.  Exits
// cleanly on SIGTERM/SIGINT.
//
// Behaviours (as socketio_proto/demo/app.py):
//   /test: on connect emit "my response" {data: "Connected"}; "my event" echoes
//   to the sender; "my broadcast event" reaches all of /test; "join"/"leave"
//   {room} ack true; "my room event" {room, data} reaches the room;
//   "disconnect request" answers "Disconnected!" then disconnects the sender.
//   /: "echo" acks with exactly its arguments (binary included).
//   Test-only: "drop me" (either namespace) closes the Engine.IO transport
//   (socket.conn.close()), as a network failure would, so clients reconnect;
//   when a socket leaves /test, "peer left" {sid, reason} goes to the rest of /test.
"use strict";

const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || 0);
const httpServer = http.createServer();
const io = new Server(httpServer, {
  allowEIO3: true,
  cors: { origin: "*" },
  // Large enough for the interop payloads; the default is 1 MB.
  maxHttpBufferSize: 1e7,
});

function field(message, name) {
  return message !== null && typeof message === "object" ? message[name] : undefined;
}

function room(message) {
  const name = field(message, "room");
  if (typeof name !== "string" || name === "") {
    throw new Error(`a room name is needed, got ${JSON.stringify(name)}`);
  }
  return name;
}

function lastIsAck(args) {
  return args.length > 0 && typeof args[args.length - 1] === "function";
}

const test = io.of("/test");
test.on("connection", (socket) => {
  socket.emit("my response", { data: "Connected" });

  socket.on("my event", (message) => {
    socket.emit("my response", { data: field(message, "data") });
  });

  socket.on("my broadcast event", (message) => {
    test.emit("my response", { data: field(message, "data") });
  });

  socket.on("join", (message, ack) => {
    socket.join(room(message));
    if (typeof ack === "function") ack(true);
  });

  socket.on("leave", (message, ack) => {
    socket.leave(room(message));
    if (typeof ack === "function") ack(true);
  });

  socket.on("my room event", (message) => {
    test.to(room(message)).emit("my response", { data: field(message, "data") });
  });

  socket.on("disconnect request", () => {
    socket.emit("my response", { data: "Disconnected!" });
    socket.disconnect();
  });

  socket.on("drop me", () => {
    socket.conn.close();
  });

  socket.on("disconnect", (reason) => {
    test.emit("peer left", { sid: socket.id, reason });
  });
});

io.of("/").on("connection", (socket) => {
  socket.on("echo", (...args) => {
    if (lastIsAck(args)) {
      const ack = args.pop();
      ack(...args);
    }
  });

  socket.on("drop me", () => {
    socket.conn.close();
  });
});

process.on("uncaughtException", (error) => {
  // A handler threw (e.g. a malformed room): log it for the test's report, keep serving.
  console.error("uncaught exception:", error);
});

function shutdown() {
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);

httpServer.listen(port, "127.0.0.1", () => {
  console.log(`listening on port ${httpServer.address().port}`);
});
