// Lesson 01 with its log on a "full disk" (a file size limit, prlimit --fsize):
// a post that cannot be written is answered 503 with the reason, is not stored
// and is not shown to anyone; the server goes on, and the log it leaves holds
// exactly the posts that were acknowledged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLesson, stopClean } from './lib.mjs';

async function post(port, text) {
  const res = await fetch(`http://127.0.0.1:${port}/messages`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user: 'ada', text }),
  });
  return { status: res.status, json: await res.json() };
}

async function history(port) {
  const res = await fetch(`http://127.0.0.1:${port}/messages?since=0&wait=0`);
  return (await res.json()).messages.map((m) => m.text);
}

test('a write the disk refuses is a 503, not an acknowledgement, and not a crash', {
  timeout: 60_000,
}, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lesson1-full-'));
  const data = path.join(dir, 'chat.log');
  const wrapper = process.env.LESSON_WRAPPER;
  process.env.LESSON_WRAPPER = `prlimit --fsize=600 -- ${wrapper ?? ''}`;
  let server;
  try {
    server = await startLesson(1, ['--data', data]);
  } finally {
    if (wrapper === undefined) delete process.env.LESSON_WRAPPER;
    else process.env.LESSON_WRAPPER = wrapper;
  }
  try {
    const stored = [];
    let refused;
    for (let i = 0; i < 20 && !refused; i++) {
      const r = await post(server.port, `message ${i}`);
      if (r.status === 201) stored.push(r.json.text);
      else refused = r;
    }
    assert.ok(stored.length > 0);
    assert.equal(refused?.status, 503);
    assert.match(refused.json.error, /^store: cannot write .*chat\.log: File too large/);
    assert.deepEqual(await history(server.port), stored);
    assert.equal((await post(server.port, 'again')).status, 503);
    assert.match(server.stderr(), /cannot write/);
    await stopClean(server);
    // Read back without the limit: the acknowledged posts, nothing torn or extra.
    server = await startLesson(1, ['--data', data]);
    assert.deepEqual(await history(server.port), stored);
    assert.doesNotMatch(server.stderr(), /torn/);
    assert.equal((await post(server.port, 'after the limit')).json.id, stored.length + 1);
    await stopClean(server);
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
