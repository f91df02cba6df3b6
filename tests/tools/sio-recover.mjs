#!/usr/bin/env node
// The official socket.io-client driving lesson 04 through a connection state
// recovery: the tool behind the recovery capture in 04-socketio-lite/README.md.
//
//   node tests/tools/sio-recover.mjs URL   against build/lesson-4 --trace
//       ada and bob join general over WebSockets; bob posts "one"; ada's transport
//       is closed under her; bob posts "two" and "three"; ada comes back with her
//       pid and offset, gets both before her CONNECT reply, recovered; both leave.
//
// Each step is printed; the ids, offsets and times differ on every run.
import { io } from 'socket.io-client';

const [url] = process.argv.slice(2);
if (!url) {
  process.stderr.write('usage: node tests/tools/sio-recover.mjs URL\n');
  process.exit(2);
}
const say = (line) => process.stdout.write(`${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Every wait has a bound; the timer is cleared, so the tool exits once done.
async function bounded(promise, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`gave up waiting for ${what}`)), 20_000);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

const ada = io(url, { forceNew: true, reconnection: false, autoConnect: false,
  transports: ['websocket'], auth: { user: 'ada' } });
const bob = io(url, { forceNew: true, reconnection: false, autoConnect: false,
  transports: ['websocket'], auth: { user: 'bob' } });
const seen = [];
ada.on('msg:new', (m, offset) => seen.push(`${m.text} @ ${offset}`));
const connect = (s) => bounded(new Promise((resolve, reject) => {
  s.once('connect', resolve);
  s.once('connect_error', reject);
  s.connect();
}), 'connect');

await connect(ada);
await bounded(ada.emitWithAck('room:join', 'general'), 'ada joining');
await connect(bob);
await bounded(bob.emitWithAck('room:join', 'general'), 'bob joining');
await bounded(bob.emitWithAck('msg:post', { user: 'bob', text: 'one' }), 'a post');
while (!seen.length) await bounded(sleep(10), 'msg:new');
say(`ada: pid ${ada._pid}, last offset ${ada._lastOffset}`);
const gone = new Promise((resolve) => ada.once('disconnect', resolve));
// The server has seen ada go once it tells bob who is left.
const alone = new Promise((resolve) => bob.on('online', ({ users }) =>
  users.length === 1 && resolve()));
ada.io.engine.close();
say(`ada: disconnected (${await bounded(gone, 'the drop')})`);
await bounded(alone, 'the server to see ada go');
for (const text of ['two', 'three'])
  await bounded(bob.emitWithAck('msg:post', { user: 'bob', text }), 'a post');
await connect(ada);
say(`ada: connected again, recovered ${ada.recovered}; saw ${seen.join(', ')}`);
ada.disconnect();
bob.disconnect();
