// No message lost (lesson 01): 20 long-polling clients drop their connection at
// random moments and reconnect with `since`, while 4 posters send 2,000 messages.
// At the end every client must hold every message exactly once, in id order, or
// have been told how many it missed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startLesson } from './lib.mjs';

const CLIENTS = 20;
const POSTERS = 4;
const MESSAGES = 2000;

// GET that can be cut off: resolves with the parsed body, or null if aborted.
function poll(port, since, abortAfterMs) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: `/messages?since=${since}`,
      agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 ? JSON.parse(body) : null));
      res.on('error', () => resolve(null));
    });
    req.on('error', () => resolve(null));
    setTimeout(() => req.destroy(), abortAfterMs);
  });
}

// The server lives in hooks: after() runs even when the test times out.
let server;
before(async () => {
  server = await startLesson(1, ['--history', String(MESSAGES)]);
});
after(async () => {
  assert.equal((await server.stop()).code, 0, server.stderr());
});

test('20 clients that drop and reconnect receive all 2,000 messages once, in order', {
  timeout: 120_000,
}, async (t) => {
  // A history as long as the run: nobody may fall out of it.
  let drops = 0;
  let posted = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: POSTERS });
  const poster = async (n) => {
    for (let i = 0; i < MESSAGES / POSTERS; i++) {
      await new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: server.port, method: 'POST',
          path: '/messages', agent, headers: { 'Content-Type': 'application/json' } },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 201 ? resolve() : reject(
            new Error(`POST ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ user: `poster${n}`, text: `${n}:${i}` }));
      });
      posted++;
    }
  };
  const client = async () => {
    const ids = [];
    let missed = 0;
    let since = 0;
    while (since < MESSAGES) {
      // Cut the connection at a random moment, often mid-hold.
      const answer = await poll(server.port, since, Math.random() * 200);
      if (!answer) {
        drops++;
        continue;
      }
      missed += answer.missed;
      for (const m of answer.messages) {
        ids.push(m.id);
        since = m.id;
      }
    }
    return { ids, missed };
  };
  const clients = Array.from({ length: CLIENTS }, client);
  await Promise.all(Array.from({ length: POSTERS }, (_, n) => poster(n)));
  agent.destroy();
  assert.equal(posted, MESSAGES);
  const results = await Promise.all(clients);
  const expected = Array.from({ length: MESSAGES }, (_, i) => i + 1);
  for (const { ids, missed } of results) {
    assert.equal(missed, 0);
    assert.deepEqual(ids, expected);
  }
  t.diagnostic(`${drops} connections dropped mid-poll; every client got all ${MESSAGES}`);
  assert.ok(drops > 0, 'the clients did drop connections');
});
