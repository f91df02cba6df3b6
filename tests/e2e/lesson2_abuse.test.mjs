// Lesson 02 against bad peers, beyond the single bad frames of lesson2_bad.test.mjs
// (which already covers the SETTINGS, PING, empty DATA and rapid-reset floods):
// clients that hold chat streams and never read, a slowloris preface, and more
// connections than allowed. Raw frames over node:net to the cleartext (h2c) port,
// loopback only, bounded in count and time. The server must stay up, bounded in
// memory, and keep serving the others.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { describe, test } from 'node:test';
import { sleep, startLesson } from './lib.mjs';

const T = { timeout: 45_000 };
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const TYPE = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7 };
const CODE = { CANCEL: 8 };
const END_STREAM = 0x1;
const END_HEADERS = 0x4;

const rssKiB = (pid) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

// RFC 9113 §4.1: length (24), type, flags, stream id (31).
function frame(type, flags, stream, payload = Buffer.alloc(0)) {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}
// RFC 7541 §6.2.2 literal without indexing, new name; §6.1 :method GET, :scheme http.
const literal = (name, value) => Buffer.concat([Buffer.from([0, name.length]), Buffer.from(name),
  Buffer.from([value.length]), Buffer.from(value)]);
const getMessages = (stream) => frame(TYPE.HEADERS, END_HEADERS | END_STREAM, stream,
  Buffer.concat([Buffer.from([0x82, 0x86]), literal(':path', '/messages'), literal(':authority', 'localhost')]));
const HELLO = Buffer.concat([PREFACE, frame(TYPE.SETTINGS, 0, 0)]);

// A raw connection that records every frame the server sent. With `read: false`
// the socket is paused: the client reads nothing until resume().
function raw(port, { read = true } = {}) {
  const sock = net.connect(port, '127.0.0.1');
  const frames = [];
  let buf = Buffer.alloc(0);
  const closed = new Promise((resolve) => sock.on('close', resolve));
  sock.on('error', () => {});
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 9 && buf.length >= 9 + buf.readUIntBE(0, 3)) {
      const len = buf.readUIntBE(0, 3);
      frames.push({ type: buf[3], flags: buf[4], stream: buf.readUInt32BE(5) & 0x7fffffff, payload: buf.subarray(9, 9 + len) });
      buf = buf.subarray(9 + len);
    }
  });
  if (!read) sock.pause();
  return { sock, frames, closed, send: (...b) => sock.write(Buffer.concat(b)), resume: () => sock.resume() };
}

// Waits, bounded by the test's timeout, until check() is true.
async function until(check) {
  while (!check()) await sleep(20);
}

// A well-behaved http2 client holding GET /messages; `text` is all it received.
async function listener(port) {
  const session = http2.connect(`http://localhost:${port}`);
  session.on('error', () => {});
  const req = session.request({ ':path': '/messages?since=0' });
  const l = { session, text: '' };
  req.setEncoding('utf8');
  req.on('data', (d) => { l.text += d; });
  req.on('error', () => {});
  await new Promise((resolve) => req.on('response', resolve));
  return l;
}

function post(session, text) {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': '/messages', 'content-type': 'application/json' });
    req.on('response', (h) => { req.resume(); req.on('end', () => resolve(h[':status'])); });
    req.on('error', reject);
    req.end(JSON.stringify({ user: 'load', text }));
  });
}

describe('lesson 02 under abuse', () => {
  test('chat streams that are never read (no reads, no WINDOW_UPDATE) are cut off at the cap; memory stays bounded; others get everything', T, async (t) => {
    // A small ASan quarantine, so that RSS measures what the server holds rather
    // than freed memory the sanitizer keeps poisoned (no effect without ASan).
    const server = await startLesson(2, ['--history', '100'], {
      env: { ASAN_OPTIONS: `${process.env.ASAN_OPTIONS ?? 'detect_leaks=1'}:quarantine_size_mb=16` },
    });
    const poster = http2.connect(`http://localhost:${server.port}`);
    poster.on('error', () => {});
    try {
      const good = await listener(server.port);
      // Four hogs, each with 50 GET /messages streams on one connection, never
      // reading their sockets and never opening a window: the server may send
      // 65,535 bytes per connection (RFC 9113 §6.9.1) and must hold the rest.
      const STREAMS = 50;
      const hogs = Array.from({ length: 4 }, () => raw(server.port, { read: false }));
      for (const h of hogs)
        h.send(HELLO, ...Array.from({ length: STREAMS }, (_, i) => getMessages(2 * i + 1)));
      await sleep(300);
      const before = rssKiB(server.proc.pid);
      // 1,200 messages of 1,900 characters: 2.3 MB for every stream, 460 MB for
      // the 200 held streams if nothing bounded what waits for window.
      const MESSAGES = 1200;
      const text = 'x'.repeat(1890);
      let peak = before;
      for (let i = 0; i < MESSAGES; i += 50) {
        const statuses = await Promise.all(Array.from({ length: 50 }, (_, j) => post(poster, `${i + j} ${text}`)));
        assert.ok(statuses.every((s) => s === 201));
        peak = Math.max(peak, rssKiB(server.proc.pid));
      }
      t.diagnostic(`server RSS ${before} KiB before, peak ${peak} KiB while 4 x ${STREAMS} ` +
        'streams were not read (sanitizer build)');
      // What waits for window must be bounded per connection, not per stream:
      // with Limits::max_unsent (1 MiB) per stream alone, 4 connections x 50
      // streams hold 200 MiB and more (about 270 MB measured); with the cap on
      // the connection's total, the growth measured was about 52 MB, most of it
      // the sanitizer's quarantine and the allocator's slack.
      assert.ok(peak - before < 128 * 1024, `RSS grew by ${peak - before} KiB`);
      // The good client, reading, got every message in order.
      await until(() => good.text.includes(`"${MESSAGES - 1} x`));
      const ids = good.text.trim().split('\n').map((l) => JSON.parse(l).id);
      assert.deepEqual(ids, Array.from({ length: MESSAGES }, (_, i) => i + 1));
      // The hogs' streams were reset with CANCEL once over the cap; reading now,
      // each hog finds RST_STREAM for all of them, and no GOAWAY.
      for (const h of hogs) h.resume();
      await until(() => hogs.every((h) => h.frames.filter((f) => f.type === TYPE.RST_STREAM).length === STREAMS));
      for (const h of hogs) {
        for (const f of h.frames.filter((f) => f.type === TYPE.RST_STREAM))
          assert.equal(f.payload.readUInt32BE(0), CODE.CANCEL);
        assert.ok(!h.frames.some((f) => f.type === TYPE.GOAWAY));
        h.sock.destroy();
      }
      assert.match(server.stderr(), /RST_STREAM \d+ CANCEL: the client is not reading/);
      good.session.destroy();
    } finally {
      poster.destroy();
      assert.equal((await server.stop()).code, 0);
    }
  });

  test('slowloris: a preface trickled a byte a second is closed at the handshake timeout', T, async () => {
    const server = await startLesson(2, ['--handshake-timeout', '2000']);
    try {
      const c = raw(server.port);
      let sent = 0;
      const timer = setInterval(() => {
        if (sent < HELLO.length && !c.sock.destroyed) c.send(HELLO.subarray(sent, ++sent));
      }, 1000);
      await c.closed;
      clearInterval(timer);
      assert.ok(sent < PREFACE.length, `closed after ${sent} of ${PREFACE.length} preface bytes`);
      assert.ok(!c.frames.some((f) => f.type === TYPE.GOAWAY));
      await server.waitFor(/no TLS handshake or HTTP\/2 preface within the timeout/, 'stderr');
      // A prompt client is served.
      const l = await listener(server.port);
      l.session.destroy();
    } finally {
      assert.equal((await server.stop()).code, 0);
    }
  });

  test('past --max-connections new connections are closed; existing ones are untouched', T, async () => {
    const server = await startLesson(2, ['--max-connections', '5']);
    const held = [];
    try {
      for (let i = 0; i < 5; i++) {
        const c = raw(server.port);
        c.send(HELLO);
        // Accepted and speaking HTTP/2: its SETTINGS ACK is back.
        await until(() => c.frames.some((f) => f.type === TYPE.SETTINGS && f.flags & 1));
        held.push(c);
      }
      const extra = raw(server.port);
      extra.send(HELLO);
      await extra.closed;
      assert.equal(extra.frames.length, 0, 'a refused connection gets no HTTP/2 frames');
      await server.waitFor(/refused 1 connection\(s\): --max-connections 5 are open/, 'stderr');
      // Each of the five still works: PING answered, and a chat stream opened.
      for (const [i, c] of held.entries()) {
        c.send(frame(TYPE.PING, 0, 0, Buffer.from(`ping-${i}`.padEnd(8))), getMessages(1));
        await until(() => c.frames.some((f) => f.type === TYPE.PING && f.flags & 1) &&
          c.frames.some((f) => f.type === TYPE.HEADERS && f.stream === 1));
        assert.ok(!c.frames.some((f) => f.type === TYPE.GOAWAY));
      }
      // Once one closes, there is room again.
      held.pop().sock.destroy();
      await sleep(200);
      const l = await listener(server.port);
      l.session.destroy();
    } finally {
      held.forEach((c) => c.sock.destroy());
      assert.equal((await server.stop()).code, 0);
    }
  });
});
