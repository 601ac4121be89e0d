"use strict";
/*
 * Differential-testing harness: exposes the official JavaScript parsers to the
 * Python tests over JSON lines (one request per stdin line, one response per
 * stdout line, in order).
 *
 * Request:   {"id": 1, "op": "sio.decode", ...arguments}
 *            {"id": 2, "batch": [{"op": ...}, {"op": ...}]}
 * Response:  {"id": 1, "ok": <result>} | {"id": 1, "error": "<message>"}
 *            {"id": 2, "results": [{"ok": ...} | {"error": ...}, ...]}
 *
 * Values cross the boundary as JSON with a few tagged single-key objects:
 *   {"$bin": "<base64>"}          Buffer / ArrayBuffer / typed array
 *   {"$num": "NaN"|"Infinity"|"-Infinity"}
 *   {"$undef": true}              undefined (inside arrays)
 *   {"$obj": {...}}               a plain object that has keys starting with "$"
 *
 * The packages are resolved through NODE_PATH (set by the pytest fixture to
 * the cached node_modules); the aliases name the legacy versions:
 *   socket.io-parser (4.x, protocol 5), socket.io-parser-v4 (3.4.x, protocol 4),
 *   engine.io-parser (5.x, protocol 4), engine.io-parser-v3 (2.2.x, protocol 3),
 *   socket.io-msgpack-parser.
 */

const fs = require("node:fs");
const path = require("node:path");
const readline = require("node:readline");

const sio5 = require("socket.io-parser");
const sio4 = require("socket.io-parser-v4");
const eio4 = require("engine.io-parser");
const eio3 = require("engine.io-parser-v3");
const msgpackParser = require("socket.io-msgpack-parser");

const EIO_TYPES = ["open", "close", "ping", "pong", "message", "upgrade", "noop"];

// -- value transfer ------------------------------------------------------------

function defineKey(target, key, value) {
  // Plain assignment would turn an own "__proto__" key into a prototype change.
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function isBinaryValue(value) {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

function asBuffer(value) {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

function fromWire(value) {
  if (Array.isArray(value)) return value.map(fromWire);
  if (value === null || typeof value !== "object") return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0].startsWith("$")) {
    const inner = value[keys[0]];
    switch (keys[0]) {
      case "$bin":
        return Buffer.from(inner, "base64");
      case "$num":
        return Number(inner);
      case "$undef":
        return undefined;
      case "$obj": {
        const out = {};
        for (const key of Object.keys(inner)) defineKey(out, key, fromWire(inner[key]));
        return out;
      }
      default:
        throw new Error(`unknown wire tag ${keys[0]}`);
    }
  }
  const out = {};
  for (const key of keys) {
    if (key.startsWith("$")) throw new Error(`untagged object with key ${key}`);
    defineKey(out, key, fromWire(value[key]));
  }
  return out;
}

function toWire(value) {
  if (value === undefined) return { $undef: true };
  if (typeof value === "number") {
    return Number.isFinite(value) ? value : { $num: String(value) };
  }
  if (value === null || typeof value !== "object") return value;
  if (isBinaryValue(value)) return { $bin: asBuffer(value).toString("base64") };
  if (Array.isArray(value)) return Array.from(value, toWire);
  const out = {};
  let tagged = false;
  for (const key of Object.keys(value)) {
    defineKey(out, key, toWire(value[key]));
    if (key.startsWith("$")) tagged = true;
  }
  return tagged ? { $obj: out } : out;
}

function hasBinary(value) {
  if (isBinaryValue(value)) return true;
  if (Array.isArray(value)) return value.some(hasBinary);
  if (value !== null && typeof value === "object") {
    return Object.keys(value).some((key) => hasBinary(value[key]));
  }
  return false;
}

// Several legacy APIs report through callbacks; all of them call back
// synchronously for Buffer data, which this helper checks.
function viaCallback(start) {
  let called = false;
  let result;
  start((value) => {
    called = true;
    result = value;
  });
  if (!called) throw new Error("harness: callback was not called synchronously");
  return result;
}

// -- Socket.IO (text parsers, revisions 5 and 4) -------------------------------

function sioPacketFromWire(wire) {
  const packet = { type: wire.type, nsp: wire.nsp };
  if (wire.data !== undefined) packet.data = fromWire(wire.data);
  if (wire.id !== undefined && wire.id !== null) packet.id = wire.id;
  return packet;
}

function sioPacketToWire(packet) {
  const out = { type: packet.type, nsp: packet.nsp };
  if (packet.data !== undefined) out.data = toWire(packet.data);
  if (packet.id !== undefined) out.id = toWire(packet.id);
  return out;
}

function sioEncode({ rev, packet }) {
  const obj = sioPacketFromWire(packet);
  let encoded;
  if (rev === 5) {
    encoded = new sio5.Encoder().encode(obj);
  } else if (rev === 4) {
    // socket.io 2.x picks the BINARY_* type itself before calling the encoder.
    if ((obj.type === 2 || obj.type === 3) && hasBinary(obj.data)) obj.type += 3;
    const encoder = new sio4.Encoder();
    encoded = viaCallback((done) => encoder.encode(obj, done));
  } else {
    throw new Error(`unknown Socket.IO revision ${rev}`);
  }
  return encoded.map(toWire);
}

// Largest attachment count the harness will satisfy when asked to "fill".
const MAX_FILL = 64;

function sioDecode({ rev, messages, fill }) {
  const decoder = rev === 5 ? new sio5.Decoder() : rev === 4 ? new sio4.Decoder() : null;
  if (decoder === null) throw new Error(`unknown Socket.IO revision ${rev}`);
  const packets = [];
  let error = null;
  decoder.on("decoded", (packet) => {
    // socket.io-parser 3.x reports "unknown packet type" as a decoded ERROR
    // packet built without a namespace instead of throwing; real packets
    // always carry nsp.
    if (rev === 4 && packet.nsp === undefined) {
      error = String(packet.data);
    } else {
      packets.push(sioPacketToWire(packet));
    }
  });
  const feed = (message) => {
    try {
      decoder.add(message);
    } catch (exc) {
      error = exc instanceof Error ? exc.message : String(exc);
    }
  };
  for (const message of messages) {
    feed(fromWire(message));
    if (error !== null) break;
  }
  // Optionally complete a pending binary packet with attachments 0x00, 0x01, ...
  // (the Python side feeds the same bytes to its decoder).
  let filled = 0;
  if (fill && error === null) {
    while (error === null && decoder.reconstructor && decoder.reconstructor.reconPack) {
      const wanted = decoder.reconstructor.reconPack.attachments;
      const missing = wanted - decoder.reconstructor.buffers.length;
      if (!Number.isInteger(wanted) || wanted > MAX_FILL || missing <= 0) break;
      feed(Buffer.from([filled % 256]));
      filled += 1;
    }
  }
  let pending = null;
  if (error === null && decoder.reconstructor && decoder.reconstructor.reconPack) {
    const pack = decoder.reconstructor.reconPack;
    pending = toWire(pack.attachments - decoder.reconstructor.buffers.length);
  }
  return { packets, error, pending, filled };
}

// -- Engine.IO (protocol 4: engine.io-parser 5.x) -------------------------------

function eioPacketFromWire(wire) {
  const packet = { type: wire.type };
  if (wire.data !== undefined) packet.data = fromWire(wire.data);
  return packet;
}

function eioPacketToWire(packet) {
  const out = { type: packet.type === undefined ? null : packet.type };
  if (packet.data !== undefined) out.data = toWire(packet.data);
  return out;
}

function eio4EncodePacket({ packet, supportsBinary }) {
  return toWire(viaCallback((done) => eio4.encodePacket(eioPacketFromWire(packet), supportsBinary, done)));
}

function eio4DecodePacket({ data }) {
  return eioPacketToWire(eio4.decodePacket(fromWire(data), "nodebuffer"));
}

function eio4EncodePayload({ packets }) {
  // encodePayload never calls back for an empty list; callers avoid it.
  return viaCallback((done) => eio4.encodePayload(packets.map(eioPacketFromWire), done));
}

function eio4DecodePayload({ payload }) {
  return eio4.decodePayload(payload, "nodebuffer").map(eioPacketToWire);
}

// -- Engine.IO (protocol 3: engine.io-parser 2.2.x) ------------------------------

function eio3EncodePacket({ packet, supportsBinary }) {
  return toWire(
    viaCallback((done) => eio3.encodePacket(eioPacketFromWire(packet), supportsBinary, false, done)),
  );
}

function eio3DecodePacket({ data }) {
  // utf8decode stays off, as for WebSocket frames and text payload entries.
  return eioPacketToWire(eio3.decodePacket(fromWire(data), undefined, false));
}

function eio3EncodePayload({ packets, supportsBinary }) {
  return toWire(
    viaCallback((done) => eio3.encodePayload(packets.map(eioPacketFromWire), supportsBinary, done)),
  );
}

function collectV3Payload(decode) {
  // The v3 decoders call back once per packet; a parse error arrives as the
  // shared error packet ({type: "error"}), possibly after good packets.
  const packets = [];
  let error = false;
  decode((packet) => {
    if (packet.type === "error") {
      error = true;
      return false;
    }
    packets.push(eioPacketToWire(packet));
    return true;
  });
  return { packets, error };
}

function eio3DecodePayload({ payload }) {
  // A string is a text payload; {"$bin"} is routed to the binary decoder, as in JS.
  return collectV3Payload((cb) => eio3.decodePayload(fromWire(payload), cb));
}

function eio3EncodePayloadAsBinary({ packets }) {
  return toWire(viaCallback((done) => eio3.encodePayloadAsBinary(packets.map(eioPacketFromWire), done)));
}

function eio3DecodePayloadAsBinary({ payload }) {
  return collectV3Payload((cb) => eio3.decodePayloadAsBinary(fromWire(payload), cb));
}

// -- socket.io-msgpack-parser ---------------------------------------------------

function msgpackEncode({ packet }) {
  // Keys in the order type, nsp, data, id (absent ones omitted), so that
  // byte-for-byte comparisons with the Python encoder are meaningful.
  const obj = { type: packet.type, nsp: packet.nsp };
  if (packet.data !== undefined) obj.data = fromWire(packet.data);
  if (packet.id !== undefined && packet.id !== null) obj.id = packet.id;
  return new msgpackParser.Encoder().encode(obj).map(toWire);
}

function msgpackDecode({ data }) {
  const decoder = new msgpackParser.Decoder();
  const packets = [];
  decoder.on("decoded", (packet) => packets.push(sioPacketToWire(packet)));
  decoder.add(fromWire(data));
  if (packets.length !== 1) throw new Error(`harness: decoder emitted ${packets.length} packets`);
  return packets[0];
}

// -- misc ------------------------------------------------------------------------

function versions() {
  const names = [
    "socket.io-parser",
    "socket.io-parser-v4",
    "engine.io-parser",
    "engine.io-parser-v3",
    "socket.io-msgpack-parser",
  ];
  const roots = (process.env.NODE_PATH || "").split(path.delimiter).filter(Boolean);
  const out = {};
  for (const name of names) {
    for (const root of roots) {
      const manifest = path.join(root, name, "package.json");
      if (fs.existsSync(manifest)) {
        const parsed = JSON.parse(fs.readFileSync(manifest, "utf8"));
        out[name] = `${parsed.name}@${parsed.version}`;
        break;
      }
    }
  }
  return out;
}

const OPS = {
  "sio.encode": sioEncode,
  "sio.decode": sioDecode,
  "eio4.encodePacket": eio4EncodePacket,
  "eio4.decodePacket": eio4DecodePacket,
  "eio4.encodePayload": eio4EncodePayload,
  "eio4.decodePayload": eio4DecodePayload,
  "eio3.encodePacket": eio3EncodePacket,
  "eio3.decodePacket": eio3DecodePacket,
  "eio3.encodePayload": eio3EncodePayload,
  "eio3.decodePayload": eio3DecodePayload,
  "eio3.encodePayloadAsBinary": eio3EncodePayloadAsBinary,
  "eio3.decodePayloadAsBinary": eio3DecodePayloadAsBinary,
  "msgpack.encode": msgpackEncode,
  "msgpack.decode": msgpackDecode,
  versions,
};

function runOne(request) {
  const handler = Object.prototype.hasOwnProperty.call(OPS, request.op) ? OPS[request.op] : null;
  if (handler === null) return { error: `harness: unknown op ${request.op}` };
  try {
    return { ok: handler(request) };
  } catch (exc) {
    return { error: exc instanceof Error ? exc.message : String(exc) };
  }
}

function handleLine(line) {
  let request;
  try {
    request = JSON.parse(line);
  } catch (exc) {
    return { id: null, error: `harness: bad request line: ${exc.message}` };
  }
  if (Array.isArray(request.batch)) {
    return { id: request.id, results: request.batch.map(runOne) };
  }
  return { id: request.id, ...runOne(request) };
}

const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
input.on("line", (line) => {
  if (line.trim() === "") return;
  process.stdout.write(`${JSON.stringify(handleLine(line))}\n`);
});
input.on("close", () => process.exit(0));
