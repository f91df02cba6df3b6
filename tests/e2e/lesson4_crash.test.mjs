// Lesson 04 killed with SIGKILL while 4 posters send 2,000 messages (crash.mjs):
// every acknowledged message is in the history once, in id order. Posts
// (msg:post) and reads (msg:get) go through the official socket.io-client.
import { test } from 'node:test';
import { io } from 'socket.io-client';
import { crashTest } from './crash.mjs';

// Settles once the socket is connected, or fails: the server refused it, or went away
// before its CONNECT reply (the client then says "disconnect", not "connect_error"),
// or nothing came within 5 s.
function connected(socket) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('no CONNECT reply within 5 s')), 5000);
    const fail = (err) => {
      clearTimeout(timer);
      socket.off('connect', done);
      reject(err instanceof Error ? err : new Error(`disconnected: ${err}`));
    };
    const done = () => {
      clearTimeout(timer);
      socket.off('connect_error', fail);
      socket.off('disconnect', fail);
      resolve();
    };
    socket.once('connect', done);
    socket.once('connect_error', fail);
    socket.once('disconnect', fail);
  });
}

// One socket per poster in room general, opened again after the server went away.
const sockets = new Map();
function joined(port, user) {
  let entry = sockets.get(user);
  if (!entry || !entry.socket.connected) {
    entry?.socket.disconnect();
    const socket = io(`http://127.0.0.1:${port}`, {
      forceNew: true, reconnection: false, transports: ['websocket'], auth: { user } });
    const ready = connected(socket).then(() =>
      socket.timeout(5000).emitWithAck('room:join', 'general'));
    ready.catch(() => socket.disconnect());
    entry = { socket, ready };
    sockets.set(user, entry);
  }
  return entry;
}

async function post(port, body) {
  const { socket, ready } = joined(port, body.user);
  await ready;
  const reply = await socket.timeout(5000).emitWithAck('msg:post', body);
  if (reply.error) throw new Error(reply.error);
  return reply;
}

async function read(port, since) {
  const socket = io(`http://127.0.0.1:${port}`, {
    forceNew: true, reconnection: false, transports: ['websocket'], auth: { user: 'reader' } });
  try {
    await connected(socket);
    const page = await socket.timeout(5000).emitWithAck('msg:get', { room: 'general', since });
    if (page.error) throw new Error(page.error);
    return page.messages;
  } finally {
    socket.disconnect();
  }
}

test('SIGKILL at random moments loses no acknowledged post and doubles none', {
  timeout: 300_000,
}, async () => {
  try {
    await crashTest(4, { post, read });
  } finally {
    for (const { socket } of sockets.values()) socket.disconnect();
  }
});
