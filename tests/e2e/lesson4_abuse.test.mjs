// Lesson 04 against bad peers: a flood of Engine.IO handshakes past --max-sessions,
// a flood of GETs and POSTs on one polling session, a slowloris, more connections
// than --max-connections, and a WebSocket client that never reads. Loopback only,
// bounded in count and time. The server must stay up, bounded in memory, and keep
// serving the clients that behave.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { sleep, startLesson } from './lib.mjs';

const T = { timeout: 60_000 };
const HANDSHAKE = '/socket.io/?EIO=4&transport=polling';
const BUSY = '{"code":3,"message":"Bad request"}';

// Under ASan freed memory is held in a quarantine (256 MB by default), which would
// hide what the server itself keeps; the tests that measure RSS make it small.
const SMALL_QUARANTINE = { env: { ASAN_OPTIONS:
  [process.env.ASAN_OPTIONS, 'quarantine_size_mb=1'].filter(Boolean).join(':') } };
const rssKiB = (pid) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

// One HTTP request; resolves with status, headers and body.
function request(port, method, path, { body, agent = false, type } = {}) {
  return new Promise((resolve, reject) => {
    const headers = type ? { 'Content-Type': type } : {};
    const req = http.request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
const handshake = (port, agent) => request(port, 'GET', HANDSHAKE, { agent });
const sidOf = (answer) => JSON.parse(answer.body.slice(1)).sid;
const postMessage = (port, text) => request(port, 'POST', '/api/messages', {
  type: 'application/json', body: JSON.stringify({ room: 'general', user: 'load', text }) });

// Opens a TCP connection and resolves once it is established.
const connect = (port) => new Promise((resolve, reject) => {
  const s = net.connect(port, '127.0.0.1', () => resolve(s));
  s.on('error', reject);
});

// A socket.io-client in #general that records the texts of msg:new it receives.
async function chatClient(url, transports, user) {
  const socket = io(url, { transports, auth: { user }, reconnection: false, forceNew: true });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  socket.texts = [];
  socket.on('msg:new', (m) => socket.texts.push(m.text));
  assert.deepEqual(await socket.emitWithAck('room:join', 'general'), { room: 'general' });
  return socket;
}
const received = (socket, text) => new Promise((resolve) => {
  if (socket.texts.includes(text)) return resolve();
  socket.on('msg:new', (m) => m.text === text && resolve());
});

describe('lesson 04 under abuse', () => {
  test('a handshake flood stops at --max-sessions; sessions that end make room', T, async (t) => {
    // A session that never polls lives one ping interval plus the ping timeout.
    // That is long next to the flood, which must see every session still open.
    const server = await startLesson(4, ['--max-sessions', '500', '--ping-interval', '5000',
      '--ping-timeout', '3000', '--connect-timeout', '30000'], SMALL_QUARANTINE);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
    const clients = [];
    try {
      // Two clients that behave, one per transport, connected before the flood.
      clients.push(await chatClient(server.url, ['polling'], 'pat'));
      clients.push(await chatClient(server.url, ['websocket'], 'wes'));
      const before = rssKiB(server.proc.pid);
      const started = Date.now();
      // 498 more sessions fill the cap of 500 ...
      const first = await Promise.all(Array.from({ length: 498 }, () => handshake(server.port, agent)));
      assert.deepEqual(first.filter((a) => a.status !== 200), [], 'all 498 opened');
      assert.equal(new Set(first.map(sidOf)).size, 498);
      // ... and the 501st, and 1,500 after it, are refused, the protocol's way.
      const refused = await handshake(server.port, agent);
      assert.equal(refused.status, 503);
      assert.equal(refused.body, BUSY);
      assert.equal(refused.headers['retry-after'], '1');
      assert.equal(refused.headers['content-type'], 'application/json');
      const rest = await Promise.all(Array.from({ length: 1500 }, () => handshake(server.port, agent)));
      assert.deepEqual(rest.filter((a) => a.status !== 503 || a.body !== BUSY), []);
      // A WebSocket handshake counts too: refused before the upgrade.
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket`);
      const status = await new Promise((resolve) => {
        ws.on('unexpected-response', (req, res) => {
          resolve(res.statusCode);
          req.destroy();
        });
        ws.on('error', () => {});
      });
      assert.equal(status, 503);
      const seconds = (Date.now() - started) / 1000;
      const after = rssKiB(server.proc.pid);
      t.diagnostic(`RSS ${before} KiB before, ${after} KiB after 2,000 handshakes ` +
        `in ${seconds.toFixed(1)} s (sanitizer build)`);
      assert.ok(after - before < 64 * 1024, `RSS grew ${after - before} KiB`);
      // The refusals are logged at most once a second, however many there were.
      const logged = server.stderr().match(/eio refused \d+ handshake\(s\): --max-sessions 500 are open/g);
      assert.ok(logged.length >= 1 && logged.length <= Math.ceil(seconds) + 1,
        `${logged.length} refusal lines in ${seconds.toFixed(1)} s`);
      // The clients connected before the flood still get their events.
      assert.equal((await postMessage(server.port, 'after the flood')).status, 201);
      await Promise.all(clients.map((c) => received(c, 'after the flood')));
      // The flood's sessions never answer a ping, so they end; then there is room.
      await server.waitFor(/no pong within 3000ms/, 'stderr');
      let answer;
      do {
        await sleep(250);
        answer = await handshake(server.port, agent);
      } while (answer.status === 503);
      assert.equal(answer.status, 200);
      assert.match(answer.body, /^0\{"sid":"[\w-]{20}","upgrades":\["websocket"\]/);
      // The two that answer pings are still there.
      assert.equal((await postMessage(server.port, 'still here')).status, 201);
      await Promise.all(clients.map((c) => received(c, 'still here')));
      assert.ok(clients.every((c) => c.connected));
    } finally {
      clients.forEach((c) => c.disconnect());
      agent.destroy();
      assert.equal((await server.stop()).code, 0);
    }
  });

  test('a flood of GETs on one session: one 400 closes it, the held GET gets 1', T, async () => {
    const server = await startLesson(4);
    try {
      const sid = sidOf(await handshake(server.port));
      const path = `${HANDSHAKE}&sid=${sid}`;
      const held = request(server.port, 'GET', path);
      await sleep(200);  // held first (if not, it is one of the 400s and fails below)
      const extra = await Promise.all(Array.from({ length: 50 }, () =>
        request(server.port, 'GET', path)));
      // Engine.IO v4 "Receiving data": the second GET is a 400 and ends the session;
      // every GET after that names a session that no longer exists.
      assert.deepEqual(extra.map((a) => a.status), Array(50).fill(400));
      assert.equal(extra.filter((a) => a.body === '').length, 1);
      assert.equal(extra.filter((a) => a.body === '{"code":1,"message":"Session ID unknown"}').length, 49);
      assert.equal((await held).body, '1');
      await server.waitFor(/a second GET while one is held; closing the session/, 'stderr');
      assert.equal((await handshake(server.port)).status, 200);
    } finally {
      assert.equal((await server.stop()).code, 0);
    }
  });

  test('a flood of POSTs on one session is answered ok each time', T, async () => {
    const server = await startLesson(4);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
    try {
      const sid = sidOf(await handshake(server.port));
      const path = `${HANDSHAKE}&sid=${sid}`;
      const send = (body) => request(server.port, 'POST', path,
        { agent, body, type: 'text/plain;charset=UTF-8' });
      // 1,000 POSTs of noop packets, ten at a time.
      const answers = await Promise.all(Array.from({ length: 1000 }, () => send('6\x1e6')));
      assert.deepEqual(answers.filter((a) => a.status !== 200 || a.body !== 'ok'), []);
      // The session still works: a CONNECT is answered on the next GET.
      assert.equal((await send('40{"user":"ada"}')).body, 'ok');
      assert.match((await request(server.port, 'GET', path, { agent })).body, /^40\{"sid":"[\w-]{20}","pid":"[\w-]{20}","offset":"[0-9a-f]{16}-\d+"\}$/);
    } finally {
      agent.destroy();
      assert.equal((await server.stop()).code, 0);
    }
  });

  test('slowloris: a head trickled a byte a second gets 408 at --head-timeout', T, async () => {
    const server = await startLesson(4, ['--head-timeout', '2000']);
    try {
      const sock = await connect(server.port);
      const head = `GET ${HANDSHAKE} HTTP/1.1\r\nHost: x\r\n\r\n`;
      let reply = '';
      let sent = 0;
      sock.on('data', (c) => (reply += c));
      const closed = new Promise((r) => sock.on('close', r));
      sock.on('error', () => {});
      const timer = setInterval(() => {
        if (sent < head.length && !sock.destroyed) sock.write(head[sent++]);
      }, 1000);
      await closed;
      clearInterval(timer);
      assert.match(reply, /^HTTP\/1\.1 408 Request Timeout\r\n/);
      assert.ok(sent < head.length, `closed after ${sent} of ${head.length} bytes`);
      assert.equal((await handshake(server.port)).status, 200);
    } finally {
      assert.equal((await server.stop()).code, 0);
    }
  });

  test('past --max-connections new connections get 503; existing ones are untouched', T, async () => {
    const server = await startLesson(4, ['--max-connections', '5']);
    const held = [];
    try {
      for (let i = 0; i < 5; i++) held.push(await connect(server.port));
      // Let the server accept all five before the sixth arrives.
      await sleep(200);
      const extra = await connect(server.port);
      let reply = '';
      extra.on('data', (c) => (reply += c));
      await new Promise((r) => extra.on('close', r));
      assert.match(reply, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
      assert.match(reply, /\r\nRetry-After: 1\r\n/);
      await server.waitFor(/refused 1 connection\(s\): --max-connections 5 are open/, 'stderr');
      // One of the five starts a session and is answered.
      const first = held[0];
      const answer = new Promise((resolve) => {
        let data = '';
        first.on('data', (c) => {
          data += c;
          if (data.includes('"maxPayload"')) resolve(data);
        });
      });
      first.write(`GET ${HANDSHAKE} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.match(await answer, /^HTTP\/1\.1 200 OK[^]*\r\n\r\n0\{"sid":/);
      // Once one closes, there is room again.
      held.pop().destroy();
      await sleep(200);
      assert.equal((await handshake(server.port)).status, 200);
    } finally {
      held.forEach((s) => s.destroy());
      assert.equal((await server.stop()).code, 0);
    }
  });

  test('a WebSocket that never reads is dropped at its output cap; the room goes on', T, async (t) => {
    // No ping in the test's time: the output cap, not the heartbeat, must end it.
    const server = await startLesson(4, ['--ping-interval', '120000'], SMALL_QUARANTINE);
    const good = await chatClient(server.url, ['websocket'], 'good');
    const hog = new WebSocket(`ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket`);
    try {
      // The hog speaks Socket.IO by hand: CONNECT, join #general, then stops reading.
      // Frames are queued as they come: two may arrive in one read.
      const inbox = [];
      let wake = () => {};
      hog.on('message', (d) => {
        inbox.push(String(d));
        wake();
      });
      const next = async () => {
        while (!inbox.length) await new Promise((resolve) => (wake = resolve));
        return inbox.shift();
      };
      assert.match(await next(), /^0\{"sid"/);
      hog.send('40{"user":"hog"}');
      assert.match(await next(), /^40\{"sid"/);
      hog.send('420["room:join","general"]');
      for (let m = await next(); !m.startsWith('430'); m = await next());
      const hogClosed = new Promise((resolve) => hog.on('close', resolve));
      hog.on('error', () => {});
      hog.pause();
      // 12,000 posts of 2,000 characters, pipelined on one connection: about 25 MB of
      // msg:new for each member of #general, far past the 8 MiB output cap plus
      // what the kernel buffers.
      const poster = await connect(server.port);
      poster.on('error', () => {});
      // Counts the 201s; a status line may be split between two reads.
      let answered = 0;
      let tail = '';
      const allAnswered = new Promise((resolve) => poster.on('data', (c) => {
        const text = tail + c;
        answered += (text.match(/HTTP\/1\.1 201/g) ?? []).length;
        tail = text.slice(-11);
        if (answered === 12_000) resolve();
      }));
      const body = JSON.stringify({ room: 'general', user: 'load', text: 'x'.repeat(2000) });
      const one = 'POST /api/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      for (let i = 0; i < 12; i++) poster.write(one.repeat(1000));
      await server.waitFor(/output cap of \d+ bytes reached/, 'stderr');
      await server.waitFor(/\(hog\) left: transport (close|error)/, 'stderr');
      const rss = rssKiB(server.proc.pid);
      t.diagnostic(`server RSS after dropping the hog: ${rss} KiB (sanitizer build)`);
      assert.ok(rss < 128 * 1024, `RSS ${rss} KiB stays bounded`);
      // The good client gets every message, and one more after them.
      await allAnswered;
      assert.equal((await postMessage(server.port, 'the last one')).status, 201);
      await received(good, 'the last one');
      assert.equal(good.texts.length, 12_001);
      poster.destroy();
      hog.resume();
      await hogClosed;
    } finally {
      good.disconnect();
      hog.terminate();
      assert.equal((await server.stop()).code, 0);
    }
  });
});
