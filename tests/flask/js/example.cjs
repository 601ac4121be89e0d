"use strict";
// Drives the official Node.js socket.io-client against examples/flask_app/app.py.
//
// Input (JSON on stdin): {"url": "http://127.0.0.1:PORT", "mode": "websocket" | "polling" | "upgrade"}
// Output (one JSON object on stdout): {"version": ..., "results": {scenario: {"ok": ...} | {"error": ...}}}
//
// Nothing is asserted here (tests/flask/test_example_js.py does it); every wait has a
// timeout.  "my response" payloads are recorded whole ({"data", "count"}).  The package
// comes from NODE_PATH (installed by tests/support/npm.py, never vendored).

const fs = require("fs");
const path = require("path");
const io = require("socket.io-client");

const WAIT_MS = 8000;
const { url, mode } = JSON.parse(fs.readFileSync(0, "utf8"));
setTimeout(() => { process.stderr.write("the whole run took too long\n"); process.exit(2); }, 60000).unref();

class Client {
  constructor(namespace, query) {
    const options = { forceNew: true, reconnection: false, timeout: WAIT_MS };
    if (mode !== "upgrade") options.transports = [mode];
    if (query) options.query = query;
    this.socket = io(url + namespace, options);
    this.responses = [];
    this.events = [];
    this.upgrades = [];
    this.listeners = new Set();
    this.socket.on("my response", (message) => { this.responses.push(message); this.changed(); });
    this.socket.on("connect", () => { this.events.push(["connect"]); this.changed(); });
    this.socket.on("disconnect", (reason) => { this.events.push(["disconnect", reason]); this.changed(); });
    this.socket.on("connect_error", (error) => { this.events.push(["connect_error", String(error)]); this.changed(); });
    this.socket.io.engine.on("upgrade", (transport) => { this.upgrades.push(transport.name); this.changed(); });
  }

  changed() { for (const listener of [...this.listeners]) listener(); }

  waitFor(label, predicate) {
    return new Promise((resolve, reject) => {
      const check = () => { if (predicate(this)) { done(); resolve(); } };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${label}: ${JSON.stringify(this.events)} ${JSON.stringify(this.responses)}`));
      }, WAIT_MS);
      const done = () => { clearTimeout(timer); this.listeners.delete(check); };
      this.listeners.add(check);
      check();
    });
  }

  connected() { return this.waitFor("connect", (c) => c.events.some(([kind]) => kind === "connect")); }

  /** Wait for the "my response" whose data is `data`; return every response so far. */
  async response(data) {
    await this.waitFor(JSON.stringify(data), (c) => c.responses.some((r) => r.data === data));
    return this.responses.map((r) => r.data);
  }

  /** Everything received so far (sentinels left out), once the server answered a fresh "my event". */
  async sentinel() {
    const token = `sentinel ${Math.random()}`;
    this.socket.emit("my event", { data: token });
    await this.response(token);
    return this.responses.map((r) => r.data).filter((d) => !String(d).startsWith("sentinel "));
  }

  transport() { return this.socket.io.engine.transport.name; }

  async finalTransport() {
    if (mode === "upgrade") await this.waitFor("the upgrade", (c) => c.upgrades.length > 0).catch(() => undefined);
    return { end: this.transport(), upgrades: this.upgrades };
  }

  emitAck(event, ...args) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ack for ${event}`)), WAIT_MS);
      this.socket.emit(event, ...args, (...ack) => { clearTimeout(timer); resolve(ack); });
    });
  }
}

async function connectAll(count, namespace = "/test") {
  const clients = [];
  for (let i = 0; i < count; i++) clients.push(new Client(namespace));
  await Promise.all(clients.map((c) => c.connected()));
  await Promise.all(clients.map((c) => (namespace === "/test" ? c.response("Connected") : null)));
  return clients;
}

const opened = [];
async function open(count, namespace) {
  const clients = await connectAll(count, namespace);
  opened.push(...clients);
  return clients;
}

const SCENARIOS = {
  async connect() {
    const [client] = await open(1);
    return { responses: client.responses, transport: await client.finalTransport() };
  },

  async my_event() {
    const [sender, other] = await open(2);
    sender.socket.emit("my event", { data: "one" });
    sender.socket.emit("my event", { data: { nested: ["two", 2] } });
    await sender.waitFor("two answers", (c) => c.responses.length >= 3);
    return {
      sender: sender.responses,
      other: await other.sentinel(),
      transport: await sender.finalTransport(),
    };
  },

  async broadcast() {
    const clients = await open(3);
    clients[0].socket.emit("my broadcast event", { data: "to all" });
    const seen = [];
    for (const c of clients) { await c.response("to all"); seen.push(await c.sentinel()); }
    return { seen, transports: await Promise.all(clients.map((c) => c.finalTransport())) };
  },

  async rooms() {
    const [a, b, outsider] = await open(3);
    const ids = { a: a.socket.id, b: b.socket.id };
    a.socket.emit("join", { room: "lobby" });
    b.socket.emit("join", { room: "lobby" });
    await a.response(`In rooms: ${ids.a}, lobby`);
    await b.response(`In rooms: ${ids.b}, lobby`);
    a.socket.emit("my room event", { room: "lobby", data: "for the lobby" });
    await Promise.all([a.response("for the lobby"), b.response("for the lobby")]);
    const afterJoin = { a: await a.sentinel(), b: await b.sentinel(), outsider: await outsider.sentinel() };
    b.socket.emit("leave", { room: "lobby" });
    await b.response(`In rooms: ${ids.b}`);
    a.socket.emit("close room", { room: "lobby" });
    await a.response("Room lobby is closing.");
    a.socket.emit("my room event", { room: "lobby", data: "after closing" });
    const afterClose = { a: await a.sentinel(), b: await b.sentinel(), outsider: await outsider.sentinel() };
    return { ids, after_join: afterJoin, after_close: afterClose };
  },

  async disconnect_request() {
    const [client, bystander] = await open(2);
    client.socket.emit("disconnect request");
    await client.waitFor("disconnect", (c) => c.events.some(([kind]) => kind === "disconnect"));
    return {
      responses: client.responses.map((r) => r.data),
      events: client.events,
      bystander: await bystander.sentinel(),
    };
  },

  async echo() {
    const [client] = await open(1, "/");
    return { ack: await client.emitAck("echo", "ping", 1, { n: [true, null] }) };
  },
};

(async () => {
  const results = {};
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    try {
      results[name] = { ok: await scenario() };
    } catch (error) {
      results[name] = { error: String(error && error.stack ? error.stack : error) };
    }
    for (const client of opened.splice(0)) client.socket.disconnect();
  }
  let version = null;
  for (const dir of (process.env.NODE_PATH || "").split(path.delimiter).filter(Boolean)) {
    const manifest = path.join(dir, "socket.io-client", "package.json");
    if (fs.existsSync(manifest)) version = JSON.parse(fs.readFileSync(manifest, "utf8")).version;
  }
  process.stdout.write(JSON.stringify({ version, results }) + "\n", () => process.exit(0));
})();
