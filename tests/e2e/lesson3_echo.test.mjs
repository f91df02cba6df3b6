// Lesson 03's framing, end to end, with clients nobody here wrote: the npm `ws`
// client and Debian's python3-websockets, both against /echo, which sends every
// message back exactly as it came (text as text, binary as binary).
// Every wait is bounded by the test's timeout; nothing asserts how long things take.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startLesson } from './lib.mjs';

const T = { timeout: 30_000 };
const SIZES = [0, 125, 126, 127, 128, 65535, 65536, 1 << 20];
const here = path.dirname(fileURLToPath(import.meta.url));

// A `ws` client on /echo, open. perMessageDeflate: off, so the frames on the wire
// are the ones we send (the server would refuse the extension anyway).
async function open(url, pathname = '/echo', protocols = undefined) {
  const ws = new WebSocket(url.replace(/^http/, 'ws').replace(/\/$/, '') + pathname,
    protocols, { perMessageDeflate: false, maxPayload: 0 });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return ws;
}

const nextMessage = (ws) => new Promise((resolve) =>
  ws.once('message', (data, isBinary) => resolve({ data, isBinary })));
const closed = (ws) => new Promise((resolve) =>
  ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));

// Distinct bytes, so a payload cut or shifted anywhere would not compare equal.
function bytes(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}
// ASCII and multi-byte characters, exactly n bytes of UTF-8.
function text(n) {
  const unit = 'aé€😀'; // 1 + 2 + 3 + 4 bytes
  let s = unit.repeat(Math.floor(n / 10));
  return s + 'x'.repeat(n - Buffer.byteLength(s));
}

describe('lesson 03: the npm ws client on /echo', () => {
  let server;
  let ws;
  before(async () => {
    server = await startLesson(3);
    ws = await open(server.url);
  });
  after(async () => {
    ws?.terminate();
    const { code } = await server.stop();
    assert.equal(code, 0, server.stderr());
  });

  for (const n of SIZES) {
    test(`text of ${n} bytes, in one frame`, T, async () => {
      const got = nextMessage(ws);
      ws.send(text(n));
      const { data, isBinary } = await got;
      assert.equal(isBinary, false);
      assert.equal(data.toString(), text(n));
    });
    test(`binary of ${n} bytes, in one frame`, T, async () => {
      const got = nextMessage(ws);
      ws.send(bytes(n));
      const { data, isBinary } = await got;
      assert.equal(isBinary, true);
      assert.ok(data.equals(bytes(n)));
    });
    test(`text and binary of ${n} bytes, in three fragments`, T, async () => {
      // The text is cut at byte offsets: a character may be split between fragments.
      const t = Buffer.from(text(n));
      const a = Math.floor(n / 3), b = Math.floor((2 * n) / 3);
      let got = nextMessage(ws);
      ws.send(t.subarray(0, a), { binary: false, fin: false });
      ws.send(t.subarray(a, b), { binary: false, fin: false });
      ws.send(t.subarray(b), { binary: false, fin: true });
      let m = await got;
      assert.equal(m.isBinary, false);
      assert.equal(m.data.toString(), text(n));
      got = nextMessage(ws);
      const bin = bytes(n);
      ws.send(bin.subarray(0, a), { binary: true, fin: false });
      ws.send(bin.subarray(a, b), { binary: true, fin: false });
      ws.send(bin.subarray(b), { binary: true, fin: true });
      m = await got;
      assert.equal(m.isBinary, true);
      assert.ok(m.data.equals(bin));
    });
  }

  test('ping gets a pong with the same payload, between fragments too', T, async () => {
    let pong = new Promise((resolve) => ws.once('pong', resolve));
    ws.ping(Buffer.from('are you there'));
    assert.equal((await pong).toString(), 'are you there');
    const got = nextMessage(ws);
    pong = new Promise((resolve) => ws.once('pong', resolve));
    ws.send('first half, ', { fin: false });
    ws.ping(Buffer.from('in between'));
    ws.send('second half', { fin: true });
    assert.equal((await pong).toString(), 'in between');
    assert.equal((await got).data.toString(), 'first half, second half');
  });

  test('one byte over --max-message (1 MiB) is closed with 1009', T, async () => {
    const big = await open(server.url);
    const c = closed(big);
    big.send(Buffer.alloc((1 << 20) + 1));
    assert.equal((await c).code, 1009);
  });

  // Each code a client may send comes back in the server's close frame.
  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013,
    1014, 3000, 4000, 4999]) {
    test(`close with ${code} is answered with ${code}`, T, async () => {
      const s = await open(server.url);
      const c = closed(s);
      s.close(code, 'bye');
      assert.equal((await c).code, code);
    });
  }
  test('close without a code is answered without one (1005)', T, async () => {
    const s = await open(server.url);
    const c = closed(s);
    s.close();
    assert.equal((await c).code, 1005);
  });
  // RFC 6455 §7.4.2: 1012-1014 are registered with IANA (service restart, try again
  // later, bad gateway) and accepted above, as ws accepts them; 1015 (a TLS failure)
  // MUST NOT be sent, so a frame carrying it fails the connection with 1002. ws will
  // not send 1015, so the frame is written by hand.
  test('RFC 6455 §7.4.1: a close frame with 1015 is a protocol error', T, async () => {
    const s = await open(server.url);
    const c = closed(s);
    const mask = Buffer.from([1, 2, 3, 4]);
    const payload = Buffer.from([0x03, 0xf7]).map((b, i) => b ^ mask[i % 4]);
    s._socket.write(Buffer.concat([Buffer.from([0x88, 0x82]), mask, payload]));
    assert.equal((await c).code, 1002);
  });

  test('the "json" subprotocol is chosen when offered, and only then', T, async () => {
    const a = await open(server.url, '/echo', ['json']);
    assert.equal(a.protocol, 'json');
    a.close();
    const b = await open(server.url, '/echo', ['xml', 'json']);
    assert.equal(b.protocol, 'json');
    b.close();
    const c = await open(server.url);
    assert.equal(c.protocol, '');
    c.close();
    // Offered, but nothing we speak: no Sec-WebSocket-Protocol, which ws refuses.
    await assert.rejects(open(server.url, '/echo', ['xml']));
  });
});

describe('lesson 03: python3-websockets on /echo', () => {
  let server;
  before(async () => {
    server = await startLesson(3);
  });
  after(async () => {
    const { code } = await server.stop();
    assert.equal(code, 0, server.stderr());
  });

  test('sizes, fragments, ping, close codes', T, async () => {
    const url = server.url.replace(/^http/, 'ws') + 'echo';
    const out = await new Promise((resolve, reject) => {
      execFile('/usr/bin/python3', [path.join(here, 'lesson3_python_client.py'), url],
        { timeout: 25_000 }, (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout));
    });
    const lines = out.trim().split('\n');
    assert.ok(lines.every((l) => l.startsWith('ok ')), out);
    // Every size, text and binary, whole and fragmented, then ping and the codes.
    assert.equal(lines.filter((l) => l.startsWith('ok echo')).length, SIZES.length * 4);
    assert.ok(lines.includes('ok ping'), out);
    assert.ok(lines.includes('ok close 4000'), out);
    assert.ok(lines.includes('ok close 1009'), out);
  });
});
