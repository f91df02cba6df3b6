#!/usr/bin/env node
// The official socket.io-client (pinned in tests/package.json) driving lesson 04:
// the tool behind the captures in 04-socketio-lite/README.md. It needs the test
// packages: `cd tests && npm ci` (or `sh tests/setup.sh`) once.
//
//   node tests/tools/sio-chat.mjs chat URL   the chat, against build/lesson-4:
//       a client without a user name (refused by the middleware); ada, on polling
//       then upgraded to a WebSocket, and bob join general; ada reads the history
//       and posts "hi bob"; bob moves to random; both leave.
//   node tests/tools/sio-chat.mjs echo URL   against build/lesson-4 --protocol-echo:
//       a polling-only client (its CONNECT answer and the `auth` greeting share one
//       GET), a binary event over a WebSocket, a binary ack over polling.
//
// Each step is printed as it happens; run the server with --trace beside it to see
// the packets. The ids (sid, t=) and times differ on every run.
import { io } from 'socket.io-client';

const [mode, url] = process.argv.slice(2);
if (!['chat', 'echo'].includes(mode) || !url) {
  process.stderr.write('usage: node tests/tools/sio-chat.mjs chat|echo URL\n');
  process.exit(2);
}
const say = (line) => process.stdout.write(`${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A connected socket (rejects with the CONNECT_ERROR), one Engine.IO session each;
// ready(socket) runs before anything arrives.
function connect(opts, ready = () => {}) {
  const socket = io(url, { forceNew: true, reconnection: false, ...opts });
  ready(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}
// Waits until the session runs on a WebSocket (the client upgrades by itself).
async function upgraded(socket) {
  const engine = socket.io.engine;
  if (engine.transport.name !== 'websocket') await new Promise((r) => engine.once('upgrade', r));
}

if (mode === 'chat') {
  try {
    await connect({ auth: {} });
  } catch (err) {
    say(`no user: refused: ${err.message} ${JSON.stringify(err.data)}`);
  }
  const ada = await connect({ auth: { user: 'ada' } });
  say('ada connected');
  await upgraded(ada);
  say('ada upgraded to websocket');
  const bob = await connect({ auth: { user: 'bob' } });
  say('bob connected');
  await upgraded(bob);
  say(`ada joins: ${JSON.stringify(await ada.emitWithAck('room:join', 'general'))}`);
  say(`bob joins: ${JSON.stringify(await bob.emitWithAck('room:join', 'general'))}`);
  say(`ada reads: ${JSON.stringify(await ada.emitWithAck('msg:get', { room: 'general' }))}`);
  const heard = new Promise((r) => bob.once('msg:new', r));
  say(`ada posts: ${JSON.stringify(await ada.emitWithAck('msg:post', { user: 'ada', text: 'hi bob' }))}`);
  say(`bob hears: ${JSON.stringify(await heard)}`);
  say(`bob moves: ${JSON.stringify(await bob.emitWithAck('room:join', 'random'))}`);
  await sleep(100);
  ada.disconnect();
  await sleep(100);
  bob.disconnect();
  say('both left');
} else {
  let greeting;
  const polling = await connect({ transports: ['polling'] }, (socket) => {
    greeting = new Promise((r) => socket.once('auth', r));
  });
  greeting = await greeting;
  say(`polling: connected, greeted with auth ${JSON.stringify(greeting)}`);
  const ws = await connect({ transports: ['websocket'] });
  const back = new Promise((r) => ws.once('message-back', (...args) => r(args)));
  ws.emit('message', Uint8Array.from([1, 2, 3]), Uint8Array.from([4, 5, 6]));
  say(`websocket: message-back ${JSON.stringify((await back).map((b) => [...new Uint8Array(b)]))}`);
  const acked = await polling.emitWithAck('message-with-ack', Uint8Array.from([1, 2, 3]));
  say(`polling: message-with-ack answered ${JSON.stringify([...new Uint8Array(acked)])}`);
  await sleep(100);
  polling.disconnect();
  ws.disconnect();
}
await sleep(200);
process.exit(0);
