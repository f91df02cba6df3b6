// Lesson 04 with its log on a "full disk" (a file size limit, prlimit --fsize):
// a msg:post that cannot be written gets an error ack, nobody gets msg:new, and
// the server goes on; read back, the log holds exactly the acknowledged posts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io } from 'socket.io-client';
import { startLesson, stopClean } from './lib.mjs';

async function join(url, user) {
  const socket = io(url, { forceNew: true, reconnection: false, transports: ['websocket'],
    auth: { user } });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  await socket.emitWithAck('room:join', 'general');
  return socket;
}

test('a msg:post the disk refuses gets an error ack, and no one hears of it', {
  timeout: 60_000,
}, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lesson4-full-'));
  const data = path.join(dir, 'chat.log');
  const wrapper = process.env.LESSON_WRAPPER;
  process.env.LESSON_WRAPPER = `prlimit --fsize=700 -- ${wrapper ?? ''}`;
  let server;
  try {
    server = await startLesson(4, ['--data', data]);
  } finally {
    if (wrapper === undefined) delete process.env.LESSON_WRAPPER;
    else process.env.LESSON_WRAPPER = wrapper;
  }
  const sockets = [];
  try {
    const ada = await join(server.url, 'ada');
    const bob = await join(server.url, 'bob');
    sockets.push(ada, bob);
    const heard = [];
    bob.on('msg:new', (m) => heard.push(m.text));
    const stored = [];
    let refused;
    for (let i = 0; i < 20 && !refused; i++) {
      const reply = await ada.emitWithAck('msg:post', { user: 'ada', text: `message ${i}` });
      if (reply.error) refused = reply;
      else stored.push(reply.text);
    }
    assert.ok(stored.length > 0);
    assert.match(refused?.error ?? '', /^store: cannot write .*chat\.log: File too large/);
    // Bob's own post is refused too; what reached him before it is all he gets.
    assert.ok((await bob.emitWithAck('msg:post', { user: 'bob', text: 'x' })).error);
    assert.deepEqual(heard, stored);
    const page = await ada.emitWithAck('msg:get', { room: 'general', since: 0 });
    assert.deepEqual(page.messages.map((m) => m.text), stored);
    for (const s of sockets.splice(0)) s.disconnect();
    await stopClean(server);
    server = await startLesson(4, ['--data', data]);
    const back = await join(server.url, 'ada');
    sockets.push(back);
    const again = await back.emitWithAck('msg:get', { room: 'general', since: 0 });
    assert.deepEqual(again.messages.map((m) => m.text), stored);
    for (const s of sockets.splice(0)) s.disconnect();
    await stopClean(server);
  } finally {
    for (const s of sockets) s.disconnect();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
