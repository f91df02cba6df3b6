// Lesson 02 killed with SIGKILL while 4 posters send 2,000 messages (crash.mjs):
// every acknowledged message is in the history once, in id order. Posts and
// reads go over cleartext HTTP/2 (h2c) with node's http2 client.
import { test } from 'node:test';
import http2 from 'node:http2';
import { crashTest } from './crash.mjs';

// One session per poster, made again after the server went away.
const sessions = new Map();
function session(port, key) {
  let s = sessions.get(key);
  if (!s || s.closed || s.destroyed) {
    s = http2.connect(`http://127.0.0.1:${port}`);
    s.on('error', () => {});
    sessions.set(key, s);
  }
  return s;
}

function post(port, body) {
  const s = session(port, body.user);
  return new Promise((resolve, reject) => {
    const req = s.request({ ':method': 'POST', ':path': '/messages',
      'content-type': 'application/json' });
    let status = 0;
    let text = '';
    req.on('response', (h) => { status = h[':status']; });
    req.setEncoding('utf8');
    req.on('data', (d) => { text += d; });
    req.on('error', (err) => { s.destroy(); reject(err); });
    req.on('close', () => {
      if (status !== 201) return reject(new Error(`HTTP ${status} ${text}`));
      resolve(JSON.parse(text));
    });
    req.end(JSON.stringify(body));
  });
}

// The stream never ends: it is read until it has caught up (no line for a
// while), then closed; the next read asks from the last id.
function read(port, since) {
  const s = http2.connect(`http://127.0.0.1:${port}`);
  s.on('error', () => {});
  return new Promise((resolve, reject) => {
    const req = s.request({ ':path': `/messages?since=${since}` });
    const messages = [];
    let tail = '';
    let idle;
    const finish = () => { s.destroy(); resolve(messages); };
    const wait = () => { clearTimeout(idle); idle = setTimeout(finish, 300); };
    req.setEncoding('utf8');
    req.on('response', (h) => {
      if (h[':status'] !== 200) { s.destroy(); reject(new Error(`HTTP ${h[':status']}`)); }
      wait();
    });
    req.on('data', (d) => {
      tail += d;
      let i;
      while ((i = tail.indexOf('\n')) >= 0) {
        const m = JSON.parse(tail.slice(0, i));
        tail = tail.slice(i + 1);
        if (typeof m.id === 'number') messages.push(m);
      }
      wait();
    });
    req.on('error', (err) => { clearTimeout(idle); s.destroy(); reject(err); });
    req.on('close', () => { clearTimeout(idle); s.destroy(); reject(new Error('stream closed')); });
  });
}

test('SIGKILL at random moments loses no acknowledged post and doubles none', {
  timeout: 300_000,
}, async () => {
  try {
    await crashTest(2, { post, read });
  } finally {
    for (const s of sessions.values()) s.destroy();
  }
});
