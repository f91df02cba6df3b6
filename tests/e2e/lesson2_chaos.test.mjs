// No message lost (lesson 02): 20 clients (Node's built-in http2, cleartext with
// prior knowledge) each hold a GET /messages?since= stream and read its ndjson
// lines; their sessions are destroyed at random moments and they reconnect with
// the last id they hold, while 4 posters send 2,000 messages as POSTs over their
// own http2 sessions. At the end every client holds every message exactly once,
// in id order, and was never told it missed any.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { startLesson } from './lib.mjs';

const CLIENTS = 20;
const POSTERS = 4;
const MESSAGES = 2000;

test('20 http2 clients that drop and reconnect receive all 2,000 messages once, in order', {
  timeout: 120_000,
}, async (t) => {
  // A history as long as the run: nobody may fall out of it.
  const server = await startLesson(2, ['--history', String(MESSAGES)]);
  const origin = `http://localhost:${server.port}`;
  let drops = 0;
  try {
    // A poster sends its messages one after another on one session.
    const poster = async (n) => {
      const session = http2.connect(origin);
      session.on('error', () => {});
      for (let i = 0; i < MESSAGES / POSTERS; i++) {
        await new Promise((resolve, reject) => {
          const req = session.request({ ':method': 'POST', ':path': '/messages',
            'content-type': 'application/json' });
          req.on('response', (h) => {
            req.resume();
            req.on('end', () => (h[':status'] === 201 ? resolve() : reject(
              new Error(`POST ${h[':status']}`))));
          });
          req.on('error', reject);
          req.end(JSON.stringify({ user: `poster${n}`, text: `${n}:${i}` }));
        });
      }
      session.close();
    };

    // A client keeps every id as it came (a repeat or a gap fails the check
    // below) and reconnects with the last one after each cut.
    const client = () => new Promise((resolve, reject) => {
      const ids = [];
      let last = 0;
      let missed = 0;
      const connect = () => {
        const session = http2.connect(origin);
        session.on('error', () => {});
        const req = session.request({ ':path': `/messages?since=${last}` });
        req.setEncoding('utf8');
        req.on('error', () => {});
        let partial = '';
        let done = false;
        // Cut the session at a random moment, often in the middle of a line.
        const cut = setTimeout(() => {
          drops++;
          session.destroy();
        }, Math.random() * 300);
        req.on('response', (h) => {
          if (h[':status'] !== 200) reject(new Error(`GET ${h[':status']}`));
        });
        req.on('data', (chunk) => {
          if (done) return;
          const lines = (partial + chunk).split('\n');
          partial = lines.pop();  // an unfinished line waits for the rest
          for (const line of lines) {
            const m = JSON.parse(line);
            if ('missed' in m) {
              missed += m.missed;
              continue;
            }
            ids.push(m.id);
            last = m.id;
          }
          if (last === MESSAGES) {
            done = true;
            clearTimeout(cut);
            session.destroy();
            resolve({ ids, missed });
          }
        });
        session.on('close', () => {
          clearTimeout(cut);
          if (!done) connect();
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
    t.diagnostic(`${drops} sessions destroyed mid-stream; every client got all ${MESSAGES}`);
    assert.ok(drops > 0, 'the clients did drop their sessions');
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});
