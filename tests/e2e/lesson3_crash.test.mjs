// Lesson 03 killed with SIGKILL while 4 posters send 2,000 messages (crash.mjs):
// every acknowledged message is in the history once, in id order. Posts and
// reads go over WebSockets of the npm `ws` client.
import { test } from 'node:test';
import WebSocket from 'ws';
import { crashTest } from './crash.mjs';

// One socket per poster, opened again after the server went away. A post is
// answered by our own copy of the message (its ref) or an error.
const sockets = new Map();
function socket(port, key) {
  let s = sockets.get(key);
  if (!s || s.readyState > WebSocket.OPEN) {
    s = new WebSocket(`ws://127.0.0.1:${port}/chat?since=999999999`);
    s.waiting = new Map();
    s.ready = new Promise((resolve, reject) => {
      s.once('open', resolve);
      s.once('error', reject);
    });
    s.on('error', () => {});
    s.on('message', (data) => {
      const m = JSON.parse(data);
      const w = s.waiting.get(m.ref);
      if (m.ref === undefined || !w) return;
      s.waiting.delete(m.ref);
      if (m.type === 'error') w.reject(new Error(m.error));
      else if (m.type === 'message') w.resolve(m);
    });
    s.on('close', () => {
      for (const w of s.waiting.values()) w.reject(new Error('closed'));
      s.waiting.clear();
    });
    sockets.set(key, s);
  }
  return s;
}

let nextRef = 1;
async function post(port, body) {
  const s = socket(port, body.user);
  await s.ready;
  const ref = nextRef++;
  const reply = await new Promise((resolve, reject) => {
    s.waiting.set(ref, { resolve, reject });
    s.send(JSON.stringify({ type: 'post', ...body, ref }));
  });
  const { type, ref: _, ...msg } = reply;
  return msg;
}

// A reconnect: hello, then the history after since.
function read(port, since) {
  return new Promise((resolve, reject) => {
    const s = new WebSocket(`ws://127.0.0.1:${port}/chat?since=${since}`);
    s.on('error', reject);
    s.on('close', () => reject(new Error('closed')));
    s.on('message', (data) => {
      const m = JSON.parse(data);
      if (m.type !== 'history') return;
      resolve(m.messages);
      s.close();
    });
  });
}

test('SIGKILL at random moments loses no acknowledged post and doubles none', {
  timeout: 300_000,
}, async () => {
  try {
    await crashTest(3, { post, read });
  } finally {
    for (const s of sockets.values()) s.terminate();
  }
});
