'use strict';
/*
 * The benchmark load generator: many Socket.IO clients in one Node.js process.
 *
 * It uses only Node's built-in `net`, speaks Engine.IO 4 over WebSocket
 * directly (no polling), and does as little as it can per message, so one
 * generator pinned to its own core can outpace every server under test.
 * The same script drives every server, so they are compared on equal terms.
 *
 * Usage: node loadgen.cjs '<json options>'
 *   {"host", "port", "path", "mode": "echo"|"fanout"|"idle", "clients",
 *    "seconds", "warmup", "rounds", "connectBatch"}
 * Output: one JSON object per line on stdout ({"event": ...}); errors make the
 * process exit 1 with a message on stderr.
 */
const net = require('net');

const options = JSON.parse(process.argv[2]);
const NAMESPACE = '/test';
const CONNECT_PACKET = '40' + NAMESPACE + ',';
const EVENT_PREFIX = '42' + NAMESPACE + ',';

function emit(record) {
  process.stdout.write(JSON.stringify(record) + '\n');
}

function fail(message) {
  process.stderr.write('loadgen: ' + message + '\n');
  process.exit(1);
}

// A masked client frame. The mask key is zero, which the RFC allows, so the
// payload goes out as is: the server still unmasks, we skip the XOR.
function textFrame(text) {
  const payload = Buffer.from(text, 'utf8');
  const length = payload.length;
  let header;
  if (length < 126) {
    header = Buffer.from([0x81, 0x80 | length, 0, 0, 0, 0]);
  } else if (length < 65536) {
    header = Buffer.from([0x81, 0x80 | 126, length >> 8, length & 255, 0, 0, 0, 0]);
  } else {
    header = Buffer.alloc(14);
    header[0] = 0x81;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}

const PONG = textFrame('3');

class Client {
  constructor(index, onEvent) {
    this.index = index;
    this.onEvent = onEvent;
    this.buffer = Buffer.alloc(0);
    this.upgraded = false;
    this.joined = false;
    this.socket = null;
  }

  open() {
    return new Promise((resolve, reject) => {
      this.ready = resolve;
      const socket = net.connect({ host: options.host, port: options.port });
      this.socket = socket;
      socket.setNoDelay(true);
      socket.on('connect', () => {
        socket.write(
          'GET ' + options.path + '?EIO=4&transport=websocket HTTP/1.1\r\n' +
          'Host: ' + options.host + ':' + options.port + '\r\n' +
          'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
          'Sec-WebSocket-Version: 13\r\n\r\n'
        );
      });
      socket.on('data', (chunk) => this.received(chunk));
      socket.on('error', (error) => reject(new Error('client ' + this.index + ': ' + error.message)));
      socket.on('close', () => {
        if (!this.closing) fail('client ' + this.index + ': the server closed the connection');
      });
    });
  }

  send(text) {
    this.socket.write(textFrame(text));
  }

  close() {
    this.closing = true;
    this.socket.destroy();
  }

  received(chunk) {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    if (!this.upgraded) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buffer.toString('latin1', 0, end);
      if (!head.startsWith('HTTP/1.1 101')) fail('upgrade refused: ' + head.split('\r\n')[0]);
      this.upgraded = true;
      this.buffer = this.buffer.subarray(end + 4);
    }
    let buffer = this.buffer;
    while (buffer.length >= 2) {
      const opcode = buffer[0] & 15;
      let length = buffer[1] & 127;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) break;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) break;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (buffer.length < offset + length) break;
      const payload = buffer.subarray(offset, offset + length);
      buffer = buffer.subarray(offset + length);
      if (opcode === 1) this.message(payload.toString('utf8'));
      else if (opcode === 8) { if (!this.closing) fail('client ' + this.index + ': close frame'); }
      else if (opcode === 9) this.socket.write(Buffer.concat([Buffer.from([0x8a, 0x80 | payload.length, 0, 0, 0, 0]), payload]));
    }
    this.buffer = buffer;
  }

  message(text) {
    const type = text.charCodeAt(0);
    if (type === 52 /* '4' */) {
      if (text.startsWith(EVENT_PREFIX)) {
        const [name, body] = JSON.parse(text.slice(EVENT_PREFIX.length));
        if (!this.joined) {
          if (name === 'my response' && body.data === 'Connected') {
            this.joined = true;
            this.ready();
          }
          return;
        }
        this.onEvent(this, name, body);
      } else if (text.startsWith('44' + NAMESPACE)) {
        fail('connect_error: ' + text);
      }
    } else if (type === 50 /* '2' */) {
      this.socket.write(PONG);
    } else if (type === 48 /* '0' */) {
      this.send(CONNECT_PACKET);
    } else if (type === 49 /* '1' */) {
      if (!this.closing) fail('client ' + this.index + ': engine close');
    }
  }
}

async function openClients(count, onEvent) {
  const clients = [];
  const batch = options.connectBatch || 100;
  for (let start = 0; start < count; start += batch) {
    const opened = [];
    for (let i = start; i < Math.min(count, start + batch); i++) {
      const client = new Client(i, onEvent);
      clients.push(client);
      opened.push(client.open());
    }
    await Promise.all(opened);
  }
  return clients;
}

const now = () => Number(process.hrtime.bigint()) / 1e6;  // milliseconds

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function echo() {
  let measuring = false;
  let stopped = false;
  const latencies = [];
  const sentAt = new Map();
  let next = 0;
  function fire(client) {
    const id = next++;
    sentAt.set(client.index, [id, now()]);
    client.send(EVENT_PREFIX + '["my event",{"data":' + id + '}]');
  }
  const clients = await openClients(options.clients, (client, name, body) => {
    if (name !== 'my response') return;
    const [id, start] = sentAt.get(client.index);
    if (body.data !== id) fail('client ' + client.index + ' expected ' + id + ', got ' + JSON.stringify(body));
    if (measuring) latencies.push(now() - start);
    if (!stopped) fire(client);
  });
  emit({ event: 'connected', clients: clients.length });
  clients.forEach(fire);
  await new Promise((resolve) => setTimeout(resolve, options.warmup * 1000));
  measuring = true;
  const start = now();
  await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000));
  measuring = false;
  const elapsed = now() - start;
  stopped = true;
  latencies.sort((a, b) => a - b);
  emit({
    event: 'echo',
    clients: clients.length,
    roundTrips: latencies.length,
    perSecond: latencies.length / (elapsed / 1000),
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
  });
  clients.forEach((client) => client.close());
}

async function fanout() {
  let expected = null;
  let received = 0;
  let started = 0;
  let finish = null;
  const clients = await openClients(options.clients, (client, name, body) => {
    if (name !== 'my response' || body.data !== expected) return;
    received += 1;
    if (received === clients.length) finish(now() - started);
  });
  emit({ event: 'connected', clients: clients.length });
  const times = [];
  for (let round = 0; round < options.rounds; round++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    expected = 'round ' + round;
    received = 0;
    const done = new Promise((resolve) => { finish = resolve; });
    started = now();
    clients[0].send(EVENT_PREFIX + '["my broadcast event",{"data":"' + expected + '"}]');
    times.push(await done);
  }
  emit({ event: 'fanout', clients: clients.length, milliseconds: times });
  clients.forEach((client) => client.close());
}

async function idle() {
  const clients = await openClients(options.clients, () => {});
  emit({ event: 'connected', clients: clients.length });
  // Hold the connections (answering pings) until stdin closes.
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.on('end', resolve));
  clients.forEach((client) => client.close());
}

const modes = { echo, fanout, idle };
if (!modes[options.mode]) fail('unknown mode ' + options.mode);
modes[options.mode]().then(() => process.exit(0), (error) => fail(error.stack || String(error)));
