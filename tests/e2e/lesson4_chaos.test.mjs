// No message lost (lesson 04): 20 clients of the official socket.io-client, half
// on WebSocket and half on long polling, are cut off at random moments and come
// back, each asking with msg:get for what followed the last id it saw, while 4
// posters send 2,000 messages with msg:post. At the end every client holds every
// message exactly once, in id order.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { startLesson } from './lib.mjs';

const CLIENTS = 20;
const POSTERS = 4;
const MESSAGES = 2000;

// The server lives in hooks: after() runs even when the test times out.
let server;
before(async () => {
  server = await startLesson(4, ['--history', String(MESSAGES)]);
});
after(async () => {
  assert.equal((await server.stop()).code, 0, server.stderr());
});

test('20 clients that drop and reconnect receive all 2,000 messages once, in order', {
  timeout: 120_000,
}, async (t) => {
  let drops = 0;
  const open = (user, transports) => io(server.url, {
  forceNew: true, reconnection: false, transports, auth: { user } });
  const poster = async (n) => {
    const socket = open(`poster${n}`, ['websocket']);
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    await socket.emitWithAck('room:join', 'general');
    for (let i = 1; i <= MESSAGES / POSTERS; i++) {
      const stored = await socket.emitWithAck('msg:post', { user: `poster${n}`, text: `${n}:${i}` });
      if (stored.error) throw new Error(stored.error);
    }
    socket.disconnect();
  };

  // A client takes messages in id order: the msg:get answer first, then what
  // msg:new brought meanwhile; ids at or below the last one taken are copies.
  const client = (n) => new Promise((resolve) => {
    const ids = [];
    let last = 0;
    let missed = 0;
    const take = (m) => {
      if (m.id <= last) return;
      ids.push(m.id); // a gap would show here, and fail the check below
      last = m.id;
    };
    const connect = () => {
      const socket = open(`client${n}`, n % 2 ? ['polling'] : ['websocket']);
      let synced = false;
      const early = [];
      let gone = false;
      const again = () => {
        if (gone) return;
        gone = true;
        clearTimeout(cut);
        socket.removeAllListeners();
        socket.disconnect();
        if (last < MESSAGES) setTimeout(connect, Math.random() * 50);
      };
      const cut = setTimeout(() => {
        drops++;
        const connected = socket.connected;
        if (Math.random() < 0.5) socket.disconnect();
        else socket.io.engine?.close(); // the transport dies under the socket
        // Cut before it was connected, the socket says nothing: come back anyway.
        if (!connected) again();
      }, Math.random() * 400);
      const finish = () => {
        if (last !== MESSAGES || gone) return false;
        gone = true;
        clearTimeout(cut);
        socket.removeAllListeners();
        socket.disconnect();
        resolve({ ids, missed });
        return true;
      };
      socket.on('msg:new', (m) => (synced ? take(m) : early.push(m)));
      socket.on('connect', async () => {
        try {
          await socket.emitWithAck('room:join', 'general');
          const page = await socket.emitWithAck('msg:get', { room: 'general', since: last });
          missed += page.missed;
          page.messages.forEach(take);
          early.forEach(take);
          synced = true;
          finish();
        } catch {} // cut off mid-way: the disconnect below brings it back
      });
      socket.on('msg:new', () => synced && finish());
      socket.on('disconnect', again);
      socket.on('connect_error', again);
    };
    connect();
  });

  const clients = Array.from({ length: CLIENTS }, (_, n) => client(n));
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
