// Lesson 04 on SIGTERM: every session is told, on its own transport, and the
// process exits 0 (under ASan with detect_leaks=1, so nothing may leak either).
// A WebSocket session gets Engine.IO's close packet `1` and then close code 1001
// ("going away", RFC 6455 §7.4.1); a polling session's held GET is answered with
// the close packet `1`, and one with no GET held gets it on its next GET (waited
// for eio::kShutdownPollWaitMs at most); an official socket.io-client hears its
// disconnect.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { sleep, startLesson } from './lib.mjs';

const T = { timeout: 30_000 };
const HANDSHAKE = '/socket.io/?EIO=4&transport=polling';

function request(port, method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false,
      headers: body ? { 'Content-Type': 'text/plain;charset=UTF-8' } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// A WebSocket session driven by hand; every frame it receives, in order.
async function rawWebSocket(port, user) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
  ws.frames = [];
  const waiters = [];
  ws.on('message', (data) => {
    ws.frames.push(String(data));
    for (const w of waiters.splice(0)) w();
  });
  ws.closed = new Promise((resolve) => ws.on('close', (code, reason) =>
    resolve({ code, reason: String(reason) })));
  ws.until = async (re) => {
    while (!ws.frames.some((f) => re.test(f))) await new Promise((r) => waiters.push(r));
  };
  await ws.until(/^0\{"sid"/);
  ws.send(`40{"user":"${user}"}`);
  await ws.until(/^40\{"sid"/);
  ws.frames.length = 0;  // from here on, only what the shutdown sends
  return ws;
}

describe('lesson 04 on SIGTERM', () => {
  test('WebSocket: close packet then 1001; polling: the held GET gets 1; exit 0', T, async () => {
    const server = await startLesson(4, ['--trace']);
    let official;
    try {
      // A polling session that has joined "/" and holds a GET.
      const open = await request(server.port, 'GET', HANDSHAKE);
      const sid = JSON.parse(open.body.slice(1)).sid;
      const path = `${HANDSHAKE}&sid=${sid}`;
      assert.equal((await request(server.port, 'POST', path, '40{"user":"pol"}')).body, 'ok');
      assert.match((await request(server.port, 'GET', path)).body, /^40\{"sid":"[\w-]{20}","pid":"[\w-]{20}","offset":"[0-9a-f]{16}-\d+"\}$/);
      const held = request(server.port, 'GET', path);
      // --trace shows the request line once the server has read it: the second
      // GET with this sid is the one held.
      const line = new RegExp(`← GET /socket\\.io/\\?EIO=4&transport=polling&sid=${sid} `);
      while (server.lines.filter((l) => line.test(l)).length < 2) await sleep(20);

      const ws = await rawWebSocket(server.port, 'wes');
      official = io(server.url, { transports: ['websocket'], auth: { user: 'off' },
        reconnection: false, forceNew: true });
      await new Promise((resolve, reject) => {
        official.once('connect', resolve);
        official.once('connect_error', reject);
      });
      const disconnected = new Promise((resolve) => official.once('disconnect', resolve));

      const exited = server.stop();
      // The held GET: the close packet, and nothing else.
      const answer = await held;
      assert.equal(answer.status, 200);
      assert.equal(answer.body, '1');
      // The WebSocket: the close packet as the last frame, then the close frame.
      const closed = await ws.closed;
      assert.deepEqual(ws.frames, ['1']);
      assert.deepEqual(closed, { code: 1001, reason: 'server shutting down' });
      // The official client ignores the packet and reports the closed transport.
      assert.equal(await disconnected, 'transport close');
      assert.deepEqual(await exited, { code: 0, signal: null });
      assert.match(server.stderr(), /shutting down: disconnecting every socket/);
      assert.match(server.stderr(), /\(wes\) left: server shutting down/);
      assert.match(server.stderr(), /\(pol\) left: server shutting down/);
    } finally {
      official?.disconnect();
      await server.stop();
    }
  });

  // A polling client between two GETs has read one answer and not yet sent the
  // next request: the close packet waits for that request (eio::kShutdownPollWaitMs
  // at most), so this client is told too. Meanwhile no new session is opened.
  test('a polling session with no GET held: its next GET gets the close packet 1', T,
    async () => {
      const server = await startLesson(4);
      const open = await request(server.port, 'GET', HANDSHAKE);
      const sid = JSON.parse(open.body.slice(1)).sid;
      const exited = server.stop();
      await server.waitFor(/eio session 1: no GET held; the close packet waits/,
        'stderr');
      const late = await request(server.port, 'GET', `${HANDSHAKE}&sid=${sid}`);
      assert.deepEqual(late, { status: 200, body: '1' });
      assert.deepEqual(await exited, { code: 0, signal: null });
      assert.match(server.stderr(), /eio session 1 closed \(forced close\)/);
    });

  test('while it waits, a new handshake is refused with 503', T, async () => {
    const server = await startLesson(4);
    const open = await request(server.port, 'GET', HANDSHAKE);
    const sid = JSON.parse(open.body.slice(1)).sid;
    const exited = server.stop();
    await server.waitFor(/eio session 1: no GET held/, 'stderr');
    const refused = await request(server.port, 'GET', HANDSHAKE);
    assert.equal(refused.status, 503);
    assert.deepEqual(JSON.parse(refused.body), { code: 3, message: 'Bad request' });
    assert.equal((await request(server.port, 'GET', `${HANDSHAKE}&sid=${sid}`)).body, '1');
    assert.deepEqual(await exited, { code: 0, signal: null });
    assert.match(server.stderr(), /eio refused 1 handshake\(s\): shutting down/);
  });

  test('a polling client that never comes back is not waited for past the bound', T,
    async () => {
      const server = await startLesson(4);
      const open = await request(server.port, 'GET', HANDSHAKE);
      assert.equal(open.status, 200);
      assert.deepEqual(await server.stop(), { code: 0, signal: null });
      assert.match(server.stderr(),
        /eio session 1: no GET held; the close packet waits 2000ms for the next one/);
      assert.match(server.stderr(), /eio session 1 closed \(forced close\)/);
    });

  test('an idle server exits 0', T, async () => {
    const server = await startLesson(4);
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
  });
});
