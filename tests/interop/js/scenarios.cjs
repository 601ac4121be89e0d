"use strict";
// Interop scenario runner: drives the official Node.js socket.io-client against the
// socketio_proto demo server (python -m socketio_proto demo) and reports what it saw.
//
// Input (JSON on stdin):
//   {"url": "http://127.0.0.1:PORT", "package": "socket.io-client",
//    "flavour": "v4" | "v2", "mode": "websocket" | "polling" | "upgrade",
//    "scenarios": ["connect", ...], "echo_cases": {"name": [args...]},
//    "path": "/sio/socket.io"}  (optional: the client's `path` option; default /socket.io)
// Output (one JSON object on stdout):
//   {"package": {"name": ..., "version": ...}, "results": {scenario: {"ok": ...} | {"error": ...}}}
//
// Nothing is asserted here: every scenario returns observations and the Python test
// (tests/interop/test_js_client*.py) makes the assertions.  Every wait has a hard
// timeout, every scenario has one, and so does the whole run, so a misbehaving server
// gives an error entry (or a partial report and exit code 2), never a hang.
//
// Values cross the boundary in a tagged JSON form: {"$bin": base64} is binary (a Buffer
// on the JS side), {"$undef": true} is undefined, {"$obj": {...}} is an object whose
// keys start with "$".  The package is found through NODE_PATH (installed by
// tests/support/npm.py into a cache, never vendored).

const fs = require("fs");
const path = require("path");

const WAIT_MS = 8000;
const SCENARIO_MS = 20000;
const RUN_MS = 100000;
const UPGRADE_WAIT_MS = 5000;
const STREAM_LENGTH = 500;
const STREAM_RELEASE_AT = 30; // in upgrade mode, the WebSocket opens after this many emits

const input = JSON.parse(fs.readFileSync(0, "utf8"));
const { url, mode, flavour } = input;
const io = require(input.package);
const V2 = flavour === "v2";

const results = {};
let finished = false;

function report(code) {
  if (finished) return;
  finished = true;
  const out = JSON.stringify({ package: packageInfo(input.package), results });
  process.stdout.write(out + "\n", () => process.exit(code));
}

setTimeout(() => {
  process.stderr.write(`scenarios: the whole run exceeded ${RUN_MS} ms\n`);
  report(2);
}, RUN_MS).unref();

function packageInfo(name) {
  const dirs = (process.env.NODE_PATH || "").split(path.delimiter).filter(Boolean);
  for (const dir of dirs) {
    const manifest = path.join(dir, name, "package.json");
    if (fs.existsSync(manifest)) {
      const parsed = JSON.parse(fs.readFileSync(manifest, "utf8"));
      return { name: parsed.name, version: parsed.version };
    }
  }
  return null;
}

// -- values across the boundary ------------------------------------------------------

function isBinary(value) {
  return Buffer.isBuffer(value) || value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

function toBuffer(value) {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

function encode(value) {
  if (value === undefined) return { $undef: true };
  if (value === null || typeof value !== "object") return value;
  if (isBinary(value)) return { $bin: toBuffer(value).toString("base64") };
  if (Array.isArray(value)) return value.map(encode);
  const out = {};
  let tagged = false;
  for (const [key, item] of Object.entries(value)) {
    out[key] = encode(item);
    if (key.startsWith("$")) tagged = true;
  }
  return tagged ? { $obj: out } : out;
}

function decode(value) {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(decode);
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === "$bin") return Buffer.from(value.$bin, "base64");
  if (keys.length === 1 && keys[0] === "$obj") value = value.$obj;
  const out = {};
  for (const [key, item] of Object.entries(value)) out[key] = decode(item);
  return out;
}

// -- clients ---------------------------------------------------------------------------

function clientOptions(extra) {
  // forceNew: one Manager (one Engine.IO connection) per client, never shared.
  // reconnection: false: a lost connection is an observation, not silently repaired.
  const options = { forceNew: true, reconnection: false, timeout: WAIT_MS };
  if (input.path) options.path = input.path; // Socket.IO mounted below a prefix
  if (extra) return Object.assign(options, extra);
  if (mode === "websocket") options.transports = ["websocket"];
  else if (mode === "polling") options.transports = ["polling"];
  else if (mode !== "upgrade") throw new Error(`unknown mode ${mode}`);
  // "upgrade": the client's default transports (polling first, then the upgrade).
  return options;
}

class Client {
  constructor(scenario, namespace, extraOptions) {
    this.name = `${namespace}#${scenario.clients.length}`;
    this.socket = io(url + namespace, clientOptions(extraOptions));
    this.engine = this.socket.io.engine;
    this.responses = []; // "my response" payloads' data, in arrival order
    this.events = []; // lifecycle: ["connect", transport], ["disconnect", reason], ...
    this.upgrades = [];
    this.upgradeErrors = [];
    this.startTransport = null;
    this.listeners = new Set();
    scenario.clients.push(this);
    this.socket.on("my response", (message) => {
      this.responses.push(message && typeof message === "object" ? message.data : message);
      this.changed();
    });
    this.socket.on("connect", () => {
      if (this.startTransport === null) this.startTransport = this.transport();
      this.events.push(["connect", this.transport()]);
      this.changed();
    });
    this.socket.on("disconnect", (reason) => {
      this.events.push(["disconnect", String(reason)]);
      this.changed();
    });
    this.socket.on("connect_error", (error) => {
      this.events.push(["connect_error", error && error.message !== undefined ? error.message : String(error)]);
      this.changed();
    });
    // Socket.IO 2 reports a refused namespace as an "error" event with the server's data.
    this.socket.on("error", (error) => {
      this.events.push(["error", error instanceof Error ? error.message : encode(error)]);
      this.changed();
    });
    this.engine.on("upgrade", (transport) => {
      this.upgrades.push(transport.name);
      this.changed();
    });
    this.engine.on("upgradeError", (error) => {
      this.upgradeErrors.push(String(error && error.message));
      this.changed();
    });
  }

  transport() {
    const engine = this.socket.io.engine;
    return engine && engine.transport ? engine.transport.name : null;
  }

  changed() {
    for (const listener of [...this.listeners]) listener();
  }

  /** Resolve when predicate(this) holds; reject after WAIT_MS with what we have. */
  waitFor(label, predicate, ms = WAIT_MS) {
    return new Promise((resolve, reject) => {
      const check = () => {
        let value;
        try {
          value = predicate(this);
        } catch (error) {
          done();
          reject(error);
          return;
        }
        if (value) {
          done();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: timed out after ${ms} ms waiting for ${label}; ` +
          `events=${JSON.stringify(this.events)} responses=${JSON.stringify(this.responses.slice(-20))} ` +
          `transport=${this.transport()}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  connected() {
    return this.waitFor("connect", (c) => {
      const failure = c.events.find(([kind]) => kind === "connect_error" || kind === "error");
      if (failure) throw new Error(`${c.name}: ${failure[0]}: ${JSON.stringify(failure[1])}`);
      return c.events.some(([kind]) => kind === "connect");
    });
  }

  /** Wait for "my response" with this data; return its index in responses. */
  response(data) {
    return this.waitFor(`"my response" ${JSON.stringify(data)}`, (c) => {
      const index = c.responses.indexOf(data);
      return index >= 0 ? index + 1 : 0;
    }).then((position) => position - 1);
  }

  /** Emit; resolve with the ack's arguments (tagged) when the server acks. */
  emitAck(event, ...args) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: no ack for ${event} within ${WAIT_MS} ms`)),
        WAIT_MS,
      );
      this.socket.emit(event, ...args, (...ack) => {
        clearTimeout(timer);
        resolve(ack);
      });
    });
  }

  /**
   * Emit "my event" with a fresh token and wait for its echo.  The server handles one
   * client's packets in order and queues a client's packets in order, so anything it
   * sent this client earlier has arrived once the sentinel has: absence is then real.
   * Returns every "my response" seen so far, the sentinel excluded.
   */
  async sentinel() {
    const token = `sentinel ${this.name} ${Math.random()}`;
    this.socket.emit("my event", { data: token });
    const index = await this.response(token);
    return this.responses.slice(0, index);
  }

  /** The transports this client used; in upgrade mode, waits (bounded) for the upgrade. */
  async transports() {
    if (mode === "upgrade" && this.socket.connected) {
      await this.waitFor("the upgrade", (c) => c.transport() === "websocket" || c.upgradeErrors.length > 0,
        UPGRADE_WAIT_MS).catch(() => undefined);
    }
    return {
      start: this.startTransport,
      end: this.transport(),
      upgrades: this.upgrades.slice(),
      upgrade_errors: this.upgradeErrors.slice(),
    };
  }

  close() {
    try {
      this.socket.disconnect();
      if (this.socket.io.engine) this.socket.io.engine.close();
    } catch (error) {
      process.stderr.write(`${this.name}: close failed: ${error}\n`);
    }
  }
}

async function connectAll(scenario, namespace, count) {
  const clients = [];
  for (let i = 0; i < count; i++) clients.push(new Client(scenario, namespace));
  await Promise.all(clients.map((c) => c.connected()));
  return clients;
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// -- scenarios -------------------------------------------------------------------------
// Each takes a scenario context ({clients: []}) and returns JSON-able observations.

const SCENARIOS = {
  // 1. on connect: "my response" {"data": "Connected"} to the new client only.
  async connect(scenario) {
    const [first] = await connectAll(scenario, "/test", 1);
    await first.response("Connected");
    const [second] = await connectAll(scenario, "/test", 1);
    return {
      first: await first.sentinel(),
      second: await second.sentinel(),
      connect_events: first.events.filter(([kind]) => kind === "connect").length,
      id_is_string: typeof first.socket.id === "string" && first.socket.id.length > 0,
      transports: [await first.transports(), await second.transports()],
    };
  },

  // 2. "my event" {"data": X}: "my response" {"data": X} to the sender only.
  async my_event(scenario) {
    const [sender, other] = await connectAll(scenario, "/test", 2);
    sender.socket.emit("my event", { data: "to me only" });
    sender.socket.emit("my event", { data: { nested: [1, 2, "three"], unicode: "héllo ✓" } });
    await sender.waitFor("two responses", (c) => c.responses.length >= 3);
    return {
      sender: await sender.sentinel(),
      other: await other.sentinel(),
      transports: [await sender.transports(), await other.transports()],
    };
  },

  // 3. "my broadcast event": every client on /test gets it, sender included, once.
  async broadcast(scenario) {
    const clients = await connectAll(scenario, "/test", 3);
    const token = `broadcast ${Math.random()}`;
    clients[0].socket.emit("my broadcast event", { data: token });
    await Promise.all(clients.map((c) => c.response(token)));
    const seen = [];
    for (const c of clients) seen.push(await c.sentinel());
    return {
      token,
      seen,
      transports: await Promise.all(clients.map((c) => c.transports())),
    };
  },

  // 4.-6. join/leave (acked) and "my room event" to the members of a room only.
  async rooms(scenario) {
    const [a, b, outsider] = await connectAll(scenario, "/test", 3);
    const room = `room ${Math.random()}`;
    const joinAcks = [await a.emitAck("join", { room }), await b.emitAck("join", { room })];
    a.socket.emit("my room event", { room, data: "for the room" });
    await Promise.all([a.response("for the room"), b.response("for the room")]);
    const afterJoin = {
      a: await a.sentinel(),
      b: await b.sentinel(),
      outsider: await outsider.sentinel(),
    };
    const leaveAck = await b.emitAck("leave", { room });
    a.socket.emit("my room event", { room, data: "after b left" });
    await a.response("after b left");
    const afterLeave = {
      a: await a.sentinel(),
      b: await b.sentinel(),
      outsider: await outsider.sentinel(),
    };
    // join without asking for an ack: still joins.
    outsider.socket.emit("join", { room });
    await outsider.sentinel(); // the join is processed before this
    b.socket.emit("my room event", { room, data: "outsider joined" });
    await Promise.all([a.response("outsider joined"), outsider.response("outsider joined")]);
    const afterOutsiderJoined = {
      a: await a.sentinel(),
      b: await b.sentinel(),
      outsider: await outsider.sentinel(),
    };
    return {
      join_acks: joinAcks.map(encode),
      leave_ack: encode(leaveAck),
      after_join: afterJoin,
      after_leave: afterLeave,
      after_outsider_joined: afterOutsiderJoined,
      transports: [await a.transports(), await b.transports(), await outsider.transports()],
    };
  },

  // 7. "disconnect request": "Disconnected!" to the sender, then the server disconnects it.
  async disconnect_request(scenario) {
    const [client, bystander] = await connectAll(scenario, "/test", 2);
    const transports = [await client.transports(), await bystander.transports()];
    client.socket.emit("disconnect request");
    await client.waitFor("disconnect", (c) => c.events.some(([kind]) => kind === "disconnect"));
    // Nothing (e.g. a reconnection) happens afterwards.
    await delay(100);
    return {
      responses: client.responses.slice(),
      events: client.events.slice(),
      connected: client.socket.connected,
      bystander: await bystander.sentinel(),
      transports,
    };
  },

  // 8. "echo" on "/": acked with exactly the arguments, binary included.
  async echo(scenario) {
    const [client] = await connectAll(scenario, "/", 1);
    const out = {};
    for (const [name, args] of Object.entries(input.echo_cases || {})) {
      const ack = await client.emitAck("echo", ...decode(args));
      out[name] = { ack: encode(ack), binary: describeBinary(ack) };
    }
    return { cases: out, transports: [await client.transports()] };
  },

  // Acks to concurrent requests are matched to their callbacks (by packet id).
  async concurrent_acks(scenario) {
    const [client] = await connectAll(scenario, "/", 1);
    const pending = [];
    for (let i = 0; i < 50; i++) {
      const args = i % 5 === 0 ? [i, Buffer.from([i, i + 1])] : [i, "x".repeat(i)];
      pending.push(client.emitAck("echo", ...args));
    }
    const acks = await Promise.all(pending);
    return { acks: acks.map(encode), transports: [await client.transports()] };
  },

  // A namespace the server does not have is refused.
  async unknown_namespace(scenario) {
    const client = new Client(scenario, "/nope");
    await client.waitFor("a refusal", (c) =>
      c.events.some(([kind]) => kind === "connect_error" || kind === "error" || kind === "connect"));
    await delay(50);
    return { events: client.events.slice(), connected: client.socket.connected };
  },

  // 500 "my event" in sequence, 500 "my response" in the same order.
  async ordered(scenario) {
    const [client] = await connectAll(scenario, "/test", 1);
    await client.response("Connected");
    for (let i = 0; i < STREAM_LENGTH; i++) client.socket.emit("my event", { data: i });
    await client.waitFor(`${STREAM_LENGTH} responses`, (c) => c.responses.length >= STREAM_LENGTH + 1);
    return {
      responses: await client.sentinel(),
      transports: [await client.transports()],
    };
  },

  // 500 "my event" emitted from the "connect" handler on, paced so that (in upgrade mode)
  // the polling -> websocket upgrade happens while the stream is in flight.
  //
  // On loopback the upgrade often completes before the Socket.IO handshake does, so in
  // upgrade mode the client gets the real polling and WebSocket transports of
  // engine.io-client (the `transports: [implementations]` option of socket.io-client
  // 4.8) with one change: the WebSocket transport opens only once the stream has
  // started, so the probe and the upgrade deterministically happen mid-stream.
  async stream_during_upgrade(scenario) {
    let release;
    const gate = new Promise((resolve) => {
      release = resolve;
    });
    const client = new Client(scenario, "/test", mode === "upgrade" ? gatedTransports(gate) : undefined);
    const stream = {
      sent: 0,
      sent_at_release: null,
      transport_at_first_emit: null,
      sent_at_upgrading: null,
      sent_at_upgrade: null,
      received_at_upgrade: null,
      transports_seen_sending: [],
    };
    client.engine.on("upgrading", () => {
      stream.sent_at_upgrading = stream.sent;
    });
    client.engine.on("upgrade", () => {
      stream.sent_at_upgrade = stream.sent;
      stream.received_at_upgrade = client.responses.length;
    });
    const emitted = new Promise((resolve) => {
      client.socket.once("connect", () => {
        stream.transport_at_first_emit = client.transport();
        const pump = () => {
          // Small batches while the upgrade is pending (so it lands mid-stream), then
          // the rest once it happened (or once most of the stream is out without one).
          const upgraded = stream.sent_at_upgrade !== null;
          const batch = upgraded || stream.sent >= STREAM_LENGTH - 50 ? STREAM_LENGTH : 3;
          const end = Math.min(STREAM_LENGTH, stream.sent + batch);
          for (; stream.sent < end; stream.sent++) {
            const name = client.transport();
            if (!stream.transports_seen_sending.includes(name)) stream.transports_seen_sending.push(name);
            client.socket.emit("my event", { data: stream.sent });
          }
          if (stream.sent_at_release === null && stream.sent >= STREAM_RELEASE_AT) {
            stream.sent_at_release = stream.sent;
            release();
          }
          if (stream.sent < STREAM_LENGTH) setTimeout(pump, 1);
          else resolve();
        };
        pump();
      });
    });
    // Never leave the gated transport hanging (if connecting fails, say).
    const fallback = setTimeout(release, WAIT_MS);
    await client.connected();
    await emitted;
    clearTimeout(fallback);
    await client.waitFor(`${STREAM_LENGTH} responses`, (c) => c.responses.length >= STREAM_LENGTH + 1);
    return {
      responses: await client.sentinel(),
      stream,
      transports: [await client.transports()],
    };
  },
};

function gatedTransports(gate) {
  const { NodeXHR, NodeWebSocket } = require("engine.io-client");
  class GatedWebSocket extends NodeWebSocket {
    doOpen() {
      gate.then(() => {
        if (this.readyState === "opening") super.doOpen();
      });
    }
  }
  return { transports: [NodeXHR, GatedWebSocket] };
}

function describeBinary(value) {
  // Where binary values sit in the ack, and their JS types (for diagnostics).
  const found = [];
  const walk = (item, where) => {
    if (isBinary(item)) found.push([where, item.constructor.name]);
    else if (Array.isArray(item)) item.forEach((x, i) => walk(x, `${where}[${i}]`));
    else if (item && typeof item === "object") {
      for (const [k, v] of Object.entries(item)) walk(v, `${where}.${k}`);
    }
  };
  walk(value, "$");
  return found;
}

async function runScenario(name) {
  const fn = SCENARIOS[name];
  if (!fn) return { error: `unknown scenario ${name}` };
  const scenario = { clients: [] };
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`scenario timed out after ${SCENARIO_MS} ms`)), SCENARIO_MS);
  });
  try {
    const value = await Promise.race([fn(scenario), timeout]);
    return { ok: value };
  } catch (error) {
    const clients = scenario.clients.map((c) => ({
      name: c.name,
      events: c.events,
      transport: c.transport(),
      upgrades: c.upgrades,
      upgrade_errors: c.upgradeErrors,
      last_responses: encode(c.responses.slice(-10)),
      responses: c.responses.length,
    }));
    process.stderr.write(`scenario ${name} failed: ${error && error.stack}\n`);
    return { error: String(error && error.message), clients };
  } finally {
    clearTimeout(timer);
    for (const c of scenario.clients) c.close();
  }
}

async function main() {
  for (const name of input.scenarios) {
    const started = Date.now();
    results[name] = await runScenario(name);
    results[name].ms = Date.now() - started;
  }
  report(0);
}

main().catch((error) => {
  process.stderr.write(`scenarios: ${error && error.stack}\n`);
  report(1);
});
