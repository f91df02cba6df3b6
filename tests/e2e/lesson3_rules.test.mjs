// Lesson 03 against raw bytes: every framing rule of RFC 6455 §5 and §7 broken on
// purpose over a plain TCP socket, asserting the exact close code the server
// sends before it closes TCP; the handshake's refusals (400, 426, 403); and the
// server's own pings. After each broken rule, a fresh client is still echoed.
// Every wait is bounded by the test's timeout; nothing asserts how long things take.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import WebSocket from 'ws';
import { startLesson, sleep } from './lib.mjs';

const T = { timeout: 15_000 };
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

// A client frame, masked unless told otherwise. opts: rsv (bits 0x40/0x20/0x10),
// mask: false, length: a forced length field (for lies about the size).
function frame(fin, opcode, payload = Buffer.alloc(0), opts = {}) {
  payload = Buffer.from(payload);
  const masked = opts.mask !== false;
  const head = [(fin ? 0x80 : 0) | (opts.rsv ?? 0) | opcode];
  const m = masked ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (opts.length !== undefined) {
    ext = opts.length;
    head.push(m | (ext.length === 2 ? 126 : 127));
  } else if (payload.length <= 125) {
    head.push(m | payload.length);
  } else if (payload.length <= 0xffff) {
    head.push(m | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(payload.length);
  } else {
    head.push(m | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(BigInt(payload.length));
  }
  const body = Buffer.from(payload);
  if (masked) for (let i = 0; i < body.length; i++) body[i] ^= MASK[i % 4];
  return Buffer.concat([Buffer.from(head), ext, masked ? MASK : Buffer.alloc(0), body]);
}
const closePayload = (code, reason = '') => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, Buffer.from(reason)]);
};

// The server's frames (never masked), parsed from the bytes after the 101.
function parseFrames(buf) {
  const frames = [];
  let at = 0;
  while (buf.length - at >= 2) {
    const b0 = buf[at], b1 = buf[at + 1];
    assert.equal(b1 & 0x80, 0, 'a server MUST NOT mask');
    let len = b1 & 0x7f, head = 2;
    if (len === 126) {
      if (buf.length - at < 4) break;
      len = buf.readUInt16BE(at + 2);
      head = 4;
    } else if (len === 127) {
      if (buf.length - at < 10) break;
      len = Number(buf.readBigUInt64BE(at + 2));
      head = 10;
    }
    if (buf.length - at < head + len) break;
    const payload = buf.subarray(at + head, at + head + len);
    frames.push({ fin: !!(b0 & 0x80), opcode: b0 & 0x0f, payload });
    at += head + len;
  }
  return frames;
}

// A raw WebSocket: the handshake by hand, then whatever bytes the test writes.
// ended resolves once the server closes TCP, with every frame it sent.
async function raw(port, pathname = '/echo') {
  const sock = net.connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  await new Promise((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  sock.on('error', () => {});
  sock.write(`GET ${pathname} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
    `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\n` +
    'Sec-WebSocket-Version: 13\r\n\r\n');
  let buf = Buffer.alloc(0);
  let headDone = false;
  let onData = () => {};
  const head = new Promise((resolve) => {
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (!headDone) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        headDone = true;
        resolve(buf.subarray(0, end).toString());
        buf = buf.subarray(end + 4);
      }
      onData();
    });
  });
  const ended = new Promise((resolve) => sock.once('close', () => resolve(parseFrames(buf))));
  const status = await head;
  assert.match(status, /^HTTP\/1\.1 101 /);
  return {
    sock,
    ended,
    write: (b) => sock.write(b),
    // Resolves with the frames received once there are at least n of them.
    frames: (n) => new Promise((resolve) => {
      const check = () => {
        const f = parseFrames(buf);
        if (f.length >= n) {
          onData = () => {};
          resolve(f);
        }
      };
      onData = check;
      check();
    }),
  };
}

// Sends the bytes (in pieces, if given several) and returns the close code of
// the server's last frame, which must be a close frame followed by the end of TCP.
async function closeCodeFor(port, ...pieces) {
  const c = await raw(port);
  for (const p of pieces) {
    c.write(p);
    if (pieces.length > 1) await sleep(5); // separate reads, for pacing only
  }
  const frames = await c.ended;
  const last = frames.at(-1);
  assert.ok(last, 'the server sent a close frame before closing TCP');
  assert.equal(last.opcode, 0x8);
  return last.payload.length >= 2 ? last.payload.readUInt16BE(0) : 1005;
}

// A plain HTTP request and its answer: status, headers (lower-case), body.
function http(port, request) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(request));
    let buf = Buffer.alloc(0);
    sock.on('error', reject);
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = buf.subarray(0, end).toString().split('\r\n');
      const headers = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      const length = Number(headers['content-length'] ?? 0);
      if (buf.length < end + 4 + length) return;
      sock.destroy();
      resolve({ status: Number(lines[0].split(' ')[1]), headers,
        body: buf.subarray(end + 4, end + 4 + length).toString() });
    });
  });
}
function upgradeRequest(port, fields = {}, { path = '/echo', version = '1.1' } = {}) {
  const all = { Host: `127.0.0.1:${port}`, Upgrade: 'websocket', Connection: 'Upgrade',
    'Sec-WebSocket-Key': KEY, 'Sec-WebSocket-Version': '13', ...fields };
  let req = `GET ${path} HTTP/${version}\r\n`;
  for (const [k, v] of Object.entries(all)) if (v !== null) req += `${k}: ${v}\r\n`;
  return `${req}\r\n`;
}

// The echo still works for a new client.
async function assertEchoWorks(port) {
  const c = await raw(port);
  c.write(frame(true, 0x1, 'still here'));
  const [f] = await c.frames(1);
  assert.equal(f.opcode, 0x1);
  assert.equal(f.payload.toString(), 'still here');
  c.sock.destroy();
}

describe('lesson 03: framing rules over raw TCP', () => {
  let server;
  before(async () => {
    server = await startLesson(3, ['--max-message', '1000']);
  });
  after(async () => {
    const { code } = await server.stop();
    assert.equal(code, 0, server.stderr());
  });

  const cases = [
    ['§5.1 an unmasked client frame', 1002, [frame(true, 0x1, 'hi', { mask: false })]],
    ['§5.2 RSV1 set', 1002, [frame(true, 0x1, 'hi', { rsv: 0x40 })]],
    ['§5.2 RSV2 set', 1002, [frame(true, 0x1, 'hi', { rsv: 0x20 })]],
    ['§5.2 RSV3 set', 1002, [frame(true, 0x1, 'hi', { rsv: 0x10 })]],
    ['§5.2 reserved data opcode 3', 1002, [frame(true, 0x3)]],
    ['§5.2 reserved control opcode 0xB', 1002, [frame(true, 0xb)]],
    ['§5.2 a 64-bit length with its top bit set', 1002,
      [frame(true, 0x2, '', { length: Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 1]) })]],
    ['§5.5 a ping of 126 bytes', 1002, [frame(true, 0x9, Buffer.alloc(126))]],
    ['§5.5 a fragmented ping', 1002, [frame(false, 0x9, 'p')]],
    ['§5.4 a continuation with nothing to continue', 1002, [frame(true, 0x0, 'x')]],
    ['§5.4 a new text message inside a fragmented one', 1002,
      [frame(false, 0x1, 'a'), frame(true, 0x1, 'b')]],
    ['§8.1 invalid UTF-8 in a text message', 1007,
      [frame(true, 0x1, Buffer.from([0x61, 0xc0, 0x80]))]],
    ['§8.1 a surrogate in the middle of a first fragment', 1007,
      [frame(false, 0x1, Buffer.from([0x61, 0xed, 0xa0, 0x80]))]],
    ['§8.1 a text message ending inside a character', 1007,
      [frame(false, 0x1, 'a'), frame(true, 0x0, Buffer.from([0xe2, 0x82]))]],
    ['§7.4.1 a message over --max-message', 1009, [frame(true, 0x2, Buffer.alloc(1001))]],
    ['§7.4.1 fragments adding up to over --max-message', 1009,
      [frame(false, 0x2, Buffer.alloc(600)), frame(true, 0x0, Buffer.alloc(600))]],
    ['§5.5.1 a close frame of 1 byte', 1002, [frame(true, 0x8, Buffer.from([3]))]],
    ['§7.4 close code 999', 1002, [frame(true, 0x8, closePayload(999))]],
    ['§7.4 close code 1004', 1002, [frame(true, 0x8, closePayload(1004))]],
    ['§7.4 close code 1005', 1002, [frame(true, 0x8, closePayload(1005))]],
    ['§7.4 close code 1006', 1002, [frame(true, 0x8, closePayload(1006))]],
    ['§7.4 close code 5000', 1002, [frame(true, 0x8, closePayload(5000))]],
    ['§5.5.1 a close reason that is not UTF-8', 1007,
      [frame(true, 0x8, Buffer.concat([closePayload(1000), Buffer.from([0xff])]))]],
    ['§5.5.1 a valid close is answered with its code', 4001,
      [frame(true, 0x8, closePayload(4001, 'bye'))]],
    ['§5.5.1 an empty close is answered without a code', 1005, [frame(true, 0x8)]],
  ];
  for (const [name, code, pieces] of cases) {
    test(`${name} → ${code}`, T, async () => {
      assert.equal(await closeCodeFor(server.port, ...pieces), code);
      await assertEchoWorks(server.port);
    });
  }

  test('a frame a byte at a time, and several frames in one write', T, async () => {
    const c = await raw(server.port);
    for (const byte of frame(true, 0x1, 'slowly')) {
      c.write(Buffer.from([byte]));
      await sleep(1);
    }
    c.write(Buffer.concat([frame(true, 0x1, 'one'), frame(true, 0x2, 'two'),
      frame(false, 0x1, 'thr'), frame(true, 0x9, 'ping'), frame(true, 0x0, 'ee')]));
    const f = await c.frames(5);
    assert.deepEqual(f.map((x) => [x.opcode, x.payload.toString()]),
      [[1, 'slowly'], [1, 'one'], [2, 'two'], [0xa, 'ping'], [1, 'three']]);
    c.sock.destroy();
  });

  test('nothing is processed after a close frame', T, async () => {
    const c = await raw(server.port);
    c.write(Buffer.concat([frame(true, 0x8, closePayload(1000)), frame(true, 0x1, 'late')]));
    const frames = await c.ended;
    assert.deepEqual(frames.map((x) => x.opcode), [0x8]);
    assert.equal(frames[0].payload.readUInt16BE(0), 1000);
  });

  test('an unsolicited pong is ignored', T, async () => {
    const c = await raw(server.port);
    c.write(Buffer.concat([frame(true, 0xa, 'unasked'), frame(true, 0x1, 'after')]));
    const [f] = await c.frames(1);
    assert.equal(f.payload.toString(), 'after');
    c.sock.destroy();
  });
});

describe('lesson 03: the opening handshake', () => {
  let server;
  before(async () => {
    server = await startLesson(3);
  });
  after(async () => {
    const { code } = await server.stop();
    assert.equal(code, 0, server.stderr());
  });

  test('§1.3: the accept key, and no extension or subprotocol unasked', T, async () => {
    const r = await http(server.port, upgradeRequest(server.port,
      { 'Sec-WebSocket-Extensions': 'permessage-deflate' }));
    assert.equal(r.status, 101);
    assert.equal(r.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    assert.equal(r.headers.upgrade.toLowerCase(), 'websocket');
    assert.equal(r.headers['sec-websocket-extensions'], undefined);
    assert.equal(r.headers['sec-websocket-protocol'], undefined);
  });

  test('header values are case-insensitive, Connection is a list', T, async () => {
    const r = await http(server.port, upgradeRequest(server.port,
      { Upgrade: 'WebSocket', Connection: 'keep-alive, UPGRADE' }));
    assert.equal(r.status, 101);
  });

  const refusals = [
    ['no Upgrade header', { Upgrade: null }, 400],
    ['Upgrade: h2c', { Upgrade: 'h2c' }, 400],
    ['Connection without the upgrade token', { Connection: 'keep-alive' }, 400],
    ['no Sec-WebSocket-Key', { 'Sec-WebSocket-Key': null }, 400],
    ['a key that is not 16 bytes', { 'Sec-WebSocket-Key': 'c2hvcnQ=' }, 400],
    ['a key that is not base64', { 'Sec-WebSocket-Key': 'not base64 at all!!!!!==' }, 400],
    ['Sec-WebSocket-Version: 8', { 'Sec-WebSocket-Version': '8' }, 426],
    ['no Sec-WebSocket-Version', { 'Sec-WebSocket-Version': null }, 426],
    ['an Origin from another site', { Origin: 'http://evil.example' }, 403],
  ];
  for (const [name, fields, status] of refusals) {
    test(`${name} → ${status}`, T, async () => {
      const r = await http(server.port, upgradeRequest(server.port, fields));
      assert.equal(r.status, status);
      assert.ok(r.body.length > 1, 'the body says what is wrong');
      if (status === 426) assert.equal(r.headers['sec-websocket-version'], '13');
      assert.equal(r.headers['sec-websocket-accept'], undefined);
    });
  }

  test('HTTP/1.0 → 400; POST → 405; a bad ?since= → 400', T, async () => {
    let r = await http(server.port, upgradeRequest(server.port, {}, { version: '1.0' }));
    assert.equal(r.status, 400);
    r = await http(server.port,
      upgradeRequest(server.port, {}).replace(/^GET/, 'POST').replace('\r\n\r\n',
        '\r\nContent-Length: 0\r\n\r\n'));
    assert.equal(r.status, 405);
    r = await http(server.port, upgradeRequest(server.port, {}, { path: '/chat?since=x' }));
    assert.equal(r.status, 400);
  });

  test('an Origin of this same server is accepted', T, async () => {
    const r = await http(server.port, upgradeRequest(server.port,
      { Origin: `http://127.0.0.1:${server.port}` }));
    assert.equal(r.status, 101);
  });

  test('--allow-origin lets another origin in', T, async () => {
    const s = await startLesson(3, ['--allow-origin', 'http://evil.example']);
    try {
      const r = await http(s.port, upgradeRequest(s.port, { Origin: 'http://evil.example' }));
      assert.equal(r.status, 101);
      const other = await http(s.port, upgradeRequest(s.port, { Origin: 'http://x.example' }));
      assert.equal(other.status, 403);
    } finally {
      assert.equal((await s.stop()).code, 0);
    }
  });
});

describe('lesson 03: the server pings', () => {
  let server;
  before(async () => {
    server = await startLesson(3, ['--ping-interval', '100', '--pong-timeout', '300']);
  });
  after(async () => {
    const { code } = await server.stop();
    assert.equal(code, 0, server.stderr());
  });

  test('a client that answers pings stays connected', T, async () => {
    const c = await raw(server.port);
    for (let i = 1; i <= 3; i++) {
      const f = await c.frames(i);
      assert.equal(f[i - 1].opcode, 0x9);
      c.write(frame(true, 0xa, f[i - 1].payload));
    }
    c.write(frame(true, 0x1, 'alive'));
    const f = await c.frames(4);
    assert.equal(f[3].payload.toString(), 'alive');
    c.sock.destroy();
  });

  test('a client that never answers is dropped', T, async () => {
    const c = await raw(server.port);
    const frames = await c.ended;
    assert.equal(frames[0].opcode, 0x9);
    assert.equal(frames.at(-1).opcode, 0x8);
    await server.waitFor(/no pong/, 'stderr');
  });
});

// A broadcast is queued by reference on every socket (net::SharedSlice), and a
// socket's output is capped (net::Limits, 8 MiB): a client that stops reading
// is closed when its queue passes the cap, from inside the broadcast, and the
// others lose nothing.
describe('lesson 03: a reader that stops reading', () => {
  let server;
  before(async () => {
    server = await startLesson(3);
  });
  after(async () => {
    const { code } = await server.stop();
    assert.equal(code, 0, server.stderr());
  });

  test('is closed at the output cap, and the poster gets every broadcast', {
    timeout: 120_000,
  }, async () => {
    const stuck = await raw(server.port, '/chat');
    await stuck.frames(2); // hello and history
    stuck.sock.pause(); // reads nothing more: the kernel's buffers fill, then ours
    const capped = server.waitFor(/output cap/, 'stderr');
    const poster = new WebSocket(`ws://127.0.0.1:${server.port}/chat`);
    await new Promise((resolve, reject) => {
      poster.once('open', resolve);
      poster.once('error', reject);
    });
    // ~2 KB frames: the 8 MiB cap plus the kernel's buffers take a few thousand.
    const text = 'x'.repeat(2000);
    let received = 0;
    let sent = 0;
    let closed = false;
    let failure = null;
    capped.then(() => { closed = true; });
    poster.on('message', (data) => {
      const m = JSON.parse(data);
      if (m.type === 'error') failure = new Error(m.error);
      if (m.type === 'message') received++;
    });
    poster.once('close', () => { failure = new Error('the poster was closed'); });
    // In rounds of 100, so that the poster itself keeps up with its copies.
    while (!closed && !failure && sent < 40_000) {
      for (let i = 0; i < 100; i++) poster.send(JSON.stringify({ type: 'post', user: 'p', text }));
      sent += 100;
      while (received < sent - 200 && !failure) await sleep(5);
    }
    assert.ok(closed, `no output-cap close after ${sent} posts`);
    // The test's timeout bounds this wait: every post must come back to the poster.
    while (received < sent && !failure) await sleep(5);
    assert.equal(failure, null);
    assert.equal(received, sent);
    stuck.sock.destroy();
    poster.close();
  });
});
