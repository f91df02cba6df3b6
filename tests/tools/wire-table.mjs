#!/usr/bin/env node
// One chat message, {"user":"ada","text":"hi"}, in the four lessons' wire formats:
// the tool behind the table in the top README. For each lesson it starts
// BUILD/lesson-N --port 0 --data none (a fresh history, so ids start at 1),
// connects a receiver the way that lesson's page does, posts the message from a
// second client, and prints the exact bytes the receiver got for it: one
// Markdown table row per lesson (what it is, how many bytes), then the bytes
// themselves, frame headers in hex as --trace prints them and the rest as text
// (CR LF as \r\n). Node's standard library only.
//
//   node tests/tools/wire-table.mjs [BUILD] [LESSON...]     (default: build 1 2 3 4)
//
// The receivers: lesson 1, a held GET /messages?since=0 on raw TCP; lesson 2, a
// GET /messages stream over cleartext HTTP/2 (h2c; in a browser the same frame
// travels inside a TLS record); lesson 3, a WebSocket on /chat; lesson 4, an
// Engine.IO WebSocket session in room general. What differs between runs: the
// Date header and the "time" value, whose length does not change for centuries.
import { spawn } from 'node:child_process';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';

const [build = 'build', ...chosen] = process.argv.slice(2);
const lessons = chosen.length ? chosen.map(Number) : [1, 2, 3, 4];
const BODY = '{"user":"ada","text":"hi"}';

async function start(n) {
  const proc = spawn(path.resolve(build, `lesson-${n}`), ['--port', '0', '--data', 'none'],
    { stdio: ['ignore', 'pipe', 'ignore'] });
  const url = await new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout }).once('line', resolve);
    proc.once('exit', () => reject(new Error(`lesson-${n} exited`)));
  });
  return { proc, port: Number(new URL(url).port) };
}

// A raw TCP socket that collects what arrives; until(test) resolves once
// test(bytes so far) returns a value.
function rawSocket(port) {
  const sock = net.connect({ host: '127.0.0.1', port });
  let data = Buffer.alloc(0);
  const waiters = [];
  sock.on('data', (chunk) => {
    data = Buffer.concat([data, chunk]);
    for (const w of waiters.slice()) {
      const v = w.test(data);
      if (v !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(v);
      }
    }
  });
  return {
    sock,
    write: (b) => sock.write(b),
    take(n) { const out = data.subarray(0, n); data = data.subarray(n); return out; },
    until(test) {
      const v = test(data);
      if (v !== undefined) return Promise.resolve(v);
      return new Promise((resolve) => waiters.push({ test, resolve }));
    },
  };
}

function post(port, pathName, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: pathName,
      headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(body);
  });
}

// WebSocket (RFC 6455): a client handshake, masked text frames out, and whole
// unmasked server frames in (the server never fragments).
async function webSocket(port, pathName) {
  const s = rawSocket(port);
  s.write(`GET ${pathName} HTTP/1.1\r\nHost: localhost:${port}\r\nUpgrade: websocket\r\n` +
    'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
    'Sec-WebSocket-Version: 13\r\n\r\n');
  const end = await s.until((d) => { const i = d.indexOf('\r\n\r\n'); return i < 0 ? undefined : i; });
  s.take(end + 4);
  return {
    send(text) {
      const payload = Buffer.from(text);
      const mask = Buffer.from([1, 2, 3, 4]);
      const len = payload.length < 126 ? [payload.length] : [126, payload.length >> 8, payload.length & 255];
      s.write(Buffer.concat([Buffer.from([0x81, 0x80 | len[0], ...len.slice(1)]), mask,
        payload.map((b, i) => b ^ mask[i % 4])]));
    },
    // The next whole frame: { bytes (as on the wire), text }.
    async frame() {
      const size = await s.until((d) => {
        if (d.length < 2) return undefined;
        let len = d[1] & 0x7f;
        let at = 2;
        if (len === 126) { if (d.length < 4) return undefined; len = d.readUInt16BE(2); at = 4; }
        return d.length >= at + len ? { at, len } : undefined;
      });
      const bytes = s.take(size.at + size.len);
      return { bytes, text: bytes.subarray(size.at).toString() };
    },
    close: () => s.sock.destroy(),
  };
}

const receivers = {
  async 1(port) {
    const s = rawSocket(port);
    s.write(`GET /messages?since=0 HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 200)); // held: nothing to say yet
    await post(port, '/messages', BODY);
    const bytes = await s.until((d) => {
      const i = d.indexOf('\r\n\r\n');
      if (i < 0) return undefined;
      const len = Number(/content-length: (\d+)/i.exec(d.subarray(0, i).toString())[1]);
      return d.length >= i + 4 + len ? d.subarray(0, i + 4 + len) : undefined;
    });
    s.sock.destroy();
    return { bytes, head: 0, what: 'the answer to the held `GET /messages?since=0`: status line, 4 headers, JSON' };
  },
  async 2(port) {
    // HPACK (RFC 7541): :method GET (static 2), :scheme http (6), :path and
    // :authority as literals without indexing (0x04, 0x01 + name index).
    const lit = (index, value) => Buffer.concat([Buffer.from([index, value.length]), Buffer.from(value)]);
    const block = Buffer.concat([Buffer.from([0x82, 0x86]), lit(0x04, '/messages'),
      lit(0x01, `localhost:${port}`)]);
    const headers = Buffer.concat([Buffer.from([0, 0, block.length, 0x01, 0x05, 0, 0, 0, 1]), block]);
    const s = rawSocket(port);
    s.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
      Buffer.from('000000040000000000', 'hex'), headers]));
    // Frames until the response's HEADERS on stream 1 (ACKing the server's SETTINGS).
    const nextFrame = () => s.until((d) => (d.length >= 9 && d.length >= 9 + d.readUIntBE(0, 3)
      ? s.take(9 + d.readUIntBE(0, 3)) : undefined));
    for (;;) {
      const f = await nextFrame();
      if (f[3] === 4 && !(f[4] & 1)) s.write(Buffer.from('000000040100000000', 'hex'));
      if (f[3] === 1 && f.readUInt32BE(5) === 1) break;
    }
    const client = http2.connect(`http://localhost:${port}`);
    await new Promise((resolve, reject) => {
      const req = client.request({ ':method': 'POST', ':path': '/messages',
        'content-type': 'application/json' });
      req.on('response', () => {});
      req.resume();
      req.on('end', resolve);
      req.on('error', reject);
      req.end(BODY);
    });
    client.close();
    let frame;
    do frame = await nextFrame(); while (frame[3] !== 0 || frame.readUInt32BE(5) !== 1);
    s.sock.destroy();
    return { bytes: frame, head: 9, what: 'one DATA frame on the open `GET /messages` stream: 9-byte header, a line of JSON' };
  },
  async 3(port) {
    const ws = await webSocket(port, '/chat');
    await ws.frame(); // the history
    const poster = await webSocket(port, '/chat');
    await poster.frame();
    poster.send(`{"type":"post",${BODY.slice(1)}`);
    let f;
    do f = await ws.frame(); while (!f.text.includes('"type":"message"'));
    ws.close();
    poster.close();
    return { bytes: f.bytes, head: 2, what: 'one text frame: 2-byte header, JSON' };
  },
  async 4(port) {
    const ws = await webSocket(port, '/socket.io/?EIO=4&transport=websocket');
    await ws.frame(); // 0{"sid":...}: the open packet
    ws.send('40{"user":"bob"}');
    await ws.frame(); // 40{"sid":...}
    ws.send('420["room:join","general"]');
    let f;
    do f = await ws.frame(); while (!f.text.startsWith('430'));
    await post(port, '/api/messages', `{"room":"general",${BODY.slice(1)}`);
    do f = await ws.frame(); while (!f.text.startsWith('42["msg:new"'));
    ws.close();
    return { bytes: f.bytes, head: 2, what: 'one text frame: 2-byte header, Engine.IO `4`, Socket.IO `2`, JSON' };
  },
};

const NAMES = { 1: '01 long polling', 2: '02 HTTP/2 stream', 3: '03 WebSocket', 4: '04 Socket.IO' };
const hex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
const text = (bytes) => bytes.toString('latin1').replace(/\r/g, '\\r').replace(/\n/g, '\\n');

const rows = [];
const shown = [];
for (const n of lessons) {
  const { proc, port } = await start(n);
  try {
    const { bytes, head, what } = await receivers[n](port);
    rows.push(`| ${NAMES[n]} | ${what} | ${bytes.length} |`);
    shown.push(`${NAMES[n].slice(0, 2)}  ${head ? `[${hex(bytes.subarray(0, head))}] ` : ''}` +
      text(bytes.subarray(head)));
  } finally {
    proc.kill('SIGTERM');
  }
}
process.stdout.write(`${rows.join('\n')}\n\n${shown.join('\n')}\n`);
process.exit(0);
