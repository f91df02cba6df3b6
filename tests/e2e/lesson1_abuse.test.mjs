// Lesson 01 against bad peers: many idle connections, a slowloris, a client that
// never reads, and more connections than allowed. Loopback only, bounded in count
// and time. The server must stay up, bounded in memory, and keep serving others.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { sleep, startLesson } from './lib.mjs';

const T = { timeout: 60_000 };

const rssKiB = (pid) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const openFds = (pid) => readdirSync(`/proc/${pid}/fd`).length;

function get(port, path) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}
function post(port, text) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/messages',
      agent: false, headers: { 'Content-Type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ user: 'load', text }));
  });
}
// Opens a TCP connection and resolves once it is established.
const connect = (port) => new Promise((resolve, reject) => {
  const s = net.connect(port, '127.0.0.1', () => resolve(s));
  s.on('error', reject);
});

describe('lesson 01 under abuse', () => {
  test('one process holds 10,000 idle connections and still serves', T, async (t) => {
    const server = await startLesson(1);
    const sockets = [];
    try {
      const before = rssKiB(server.proc.pid);
      for (let i = 0; i < 10_000; i += 500) {
        const batch = await Promise.all(Array.from({ length: 500 }, () => connect(server.port)));
        sockets.push(...batch);
      }
      // Every accept has happened once a request on a new connection is answered.
      assert.equal((await get(server.port, '/messages')).status, 200);
      assert.ok(openFds(server.proc.pid) >= 10_000, 'the server holds every connection');
      const after = rssKiB(server.proc.pid);
      t.diagnostic(`RSS ${before} KiB before, ${after} KiB with 10,000 idle connections ` +
        `(about ${Math.round(((after - before) * 1024) / 10_000)} bytes each, sanitizer build)`);
      assert.equal(sockets.filter((s) => s.destroyed).length, 0, 'none was dropped');
    } finally {
      sockets.forEach((s) => s.destroy());
      assert.equal((await server.stop()).code, 0);
    }
  });

  test('slowloris: a head trickled a byte a second gets 408 at the head timeout', T, async () => {
    const server = await startLesson(1, ['--head-timeout', '2000']);
    try {
      const sock = await connect(server.port);
      const head = 'GET /messages HTTP/1.1\r\nHost: x\r\n\r\n';
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
      assert.equal((await get(server.port, '/messages')).status, 200);
    } finally {
      assert.equal((await server.stop()).code, 0);
    }
  });

  test('a client that never reads is dropped at its output cap; others keep receiving', T, async (t) => {
    const server = await startLesson(1);
    try {
      // A held poll: it must still get the next message.
      const poll = get(server.port, '/messages?since=0');
      // 12,000 pipelined requests for the stylesheet, and never a read: about 40 MB
      // of answers, far past the 8 MiB output cap plus what the kernel buffers.
      const hog = await connect(server.port);
      hog.pause();
      hog.on('error', () => {});
      hog.write('GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(12_000));
      await server.waitFor(/output cap of 8388608 bytes reached/, 'stderr');
      const rss = rssKiB(server.proc.pid);
      t.diagnostic(`server RSS after dropping the hog: ${rss} KiB (sanitizer build)`);
      assert.ok(rss < 256 * 1024, `RSS ${rss} KiB stays bounded`);
      assert.equal(await post(server.port, 'still here'), 201);
      const answer = await poll;
      assert.equal(answer.status, 200);
      assert.match(answer.body, /"text":"still here"/);
      hog.destroy();
    } finally {
      assert.equal((await server.stop()).code, 0);
    }
  });

  test('past --max-connections new connections get 503; existing ones are untouched', T, async () => {
    const server = await startLesson(1, ['--max-connections', '5']);
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
      // One of the five asks for something and is answered.
      const first = held[0];
      const answer = new Promise((resolve) => {
        let data = '';
        first.on('data', (c) => {
          data += c;
          if (data.includes('"missed"')) resolve(data);
        });
      });
      first.write('GET /messages HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.match(await answer, /^HTTP\/1\.1 200 OK/);
      // Once one closes, there is room again.
      held.pop().destroy();
      await sleep(200);
      assert.equal((await get(server.port, '/messages')).status, 200);
    } finally {
      held.forEach((s) => s.destroy());
      assert.equal((await server.stop()).code, 0);
    }
  });
});
