// No message lost (lesson 03): 20 WebSocket clients (npm `ws`) are cut off at
// random moments and reconnect with ?since=, while 4 posters send 2,000 messages
// over their own sockets. At the end every client holds every message exactly
// once, in id order.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startLesson } from './lib.mjs';

const CLIENTS = 20;
const POSTERS = 4;
const MESSAGES = 2000;

// The server lives in hooks: after() runs even when the test times out.
let server;
before(async () => {
  server = await startLesson(3, ['--history', String(MESSAGES)]);
});
after(async () => {
  assert.equal((await server.stop()).code, 0, server.stderr());
});

test('20 clients that drop and reconnect receive all 2,000 messages once, in order', {
  timeout: 120_000,
}, async (t) => {
  const base = server.url.replace('http', 'ws');
  let drops = 0;
  // A poster sends its next message once its own copy has come back (by ref).
  const poster = (n) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base}chat?since=${MESSAGES}`, ['json']);
    let sent = 0;
    const next = () => {
      if (sent === MESSAGES / POSTERS) {
        ws.close(1000);
        return resolve();
      }
      sent++;
      ws.send(JSON.stringify({ type: 'post', user: `poster${n}`, text: `${n}:${sent}`, ref: sent }));
    };
    ws.on('open', next);
    ws.on('message', (data) => {
      const m = JSON.parse(data);
      if (m.type === 'error') reject(new Error(m.error));
      if (m.type === 'message' && m.ref === sent) next();
    });
    ws.on('error', reject);
  });

  // A client keeps the ids it has seen; any gap or repeat is recorded.
  const client = () => new Promise((resolve) => {
    const ids = [];
    let last = 0;
    let missed = 0;
    // Every id is kept as it came: a repeat or a gap fails the check below.
    const take = (m) => {
      ids.push(m.id);
      last = Math.max(last, m.id);
    };
    const connect = () => {
      const ws = new WebSocket(`${base}chat?since=${last}`, ['json']);
      // Cut the connection at a random moment, unless it is already done.
      const cut = setTimeout(() => {
        drops++;
        ws.terminate();
      }, Math.random() * 300);
      ws.on('message', (data) => {
        const m = JSON.parse(data);
        if (m.type === 'history') {
          missed += m.missed;
          m.messages.forEach(take);
        } else if (m.type === 'message') {
          take(m);
        }
        if (last === MESSAGES) {
          clearTimeout(cut);
          ws.close(1000);
          resolve({ ids, missed });
        }
      });
      ws.on('error', () => {});
      ws.on('close', () => {
        clearTimeout(cut);
        if (last < MESSAGES) setTimeout(connect, Math.random() * 50);
      });
    };
    connect();
  });

  const clients = Array.from({ length: CLIENTS }, client);
  await Promise.all(Array.from({ length: POSTERS }, (_, n) => poster(n)));
  const results = await Promise.all(clients);
  const expected = Array.from({ length: MESSAGES }, (_, i) => i + 1);
  for (const { ids, missed } of results) {
    assert.equal(missed, 0);
    assert.deepEqual(ids, expected);
  }
  t.diagnostic(`${drops} connections cut; every client got all ${MESSAGES}`);
  assert.ok(drops > 0, 'the clients were cut off');
});
