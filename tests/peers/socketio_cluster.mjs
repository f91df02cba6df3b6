// Lesson 04's chat on the npm `socket.io` 4.8 server with
// `@socket.io/redis-streams-adapter` 0.3.1: a Node member of the cluster our
// `lesson-4 --redis` nodes form (tests/e2e/lesson4_cluster*.test.mjs).
//   node tests/peers/socketio_cluster.mjs --port 0 --redis 127.0.0.1:6379 [--recovery]
// The events are lesson 04's: CONNECT with auth {user}; room:join → ack {room};
// msg:post → ack with the stored message, msg:new to the rest of the room; the
// history is the cluster's, in Redis, as our nodes keep it.
// Extra, for the tests: "peer:fetch" acks the ids fetchSockets() finds in the
// whole cluster, "peer:emit" the replies to serverSideEmitWithAck("ping"), and
// "peer:say" broadcasts a "note" with an except room, "peer:blob" a "blob" with
// binary, all through the adapter; "peer:presence" acks the online lists this
// member heard from our nodes (server-side emits "chat:presence", room, users;
// 04-socketio-lite/cluster_presence.cpp), and "peer:announce" sends one itself.
import http from 'node:http';
import { createClient } from 'redis';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { validate, portFlag } from '../bench/peers/chat.mjs';

const i = process.argv.indexOf('--redis');
const [host, port] = (i > 0 ? process.argv[i + 1] : '127.0.0.1:6379').split(':');
const redis = createClient({ socket: { host, port: Number(port) } });
redis.on('error', (e) => console.error(`redis: ${e.message}`));
await redis.connect();

const rooms = new Set(['general', 'random']);
const server = http.createServer();
// --recovery: socket.io's connection state recovery, with the streams adapter's
// sessions in Redis (sio:session:<pid>) and its offsets the stream's entry ids.
const recovery = process.argv.includes('--recovery')
  ? { connectionStateRecovery: { maxDisconnectionDuration: 120_000, skipMiddlewares: true } }
  : {};
const io = new Server(server, { serveClient: false, adapter: createAdapter(redis),
  ...recovery });

io.use((socket, next) => {
  const user = socket.handshake.auth?.user;
  const error = typeof user !== 'string' ? 'user: must be a string' : validate({ user, text: '-' });
  if (error) return next(Object.assign(new Error(error), { data: { field: 'user' } }));
  socket.data.user = user;
  next();
});

// The last "chat:presence" list heard for each room, from whichever node.
const heard = {};
io.on('chat:presence', (room, users) => {
  heard[room] = users;
});

io.on('connection', (socket) => {
  socket.on('room:join', (name, ack) => {
    if (!rooms.has(name)) return ack?.({ error: 'room: must be "general" or "random"' });
    if (socket.data.room && socket.data.room !== name) socket.leave(socket.data.room);
    socket.join(name);
    socket.data.room = name;
    ack?.({ room: name });
  });
  socket.on('msg:post', (post, ack) => {
    const room = socket.data.room;
    const error = room ? validate(post) : 'room: join a room first';
    if (error) return ack?.({ error });
    // The cluster's history, as our nodes keep it: the room's stream in Redis,
    // ids 0-1, 0-2... numbered by Redis (04-socketio-lite/cluster_history.cpp).
    const m = { user: post.user, text: post.text, time: Date.now() };
    redis.sendCommand(['XADD', `chat:history:${room}`, 'MAXLEN', '1000', '0-*',
      'user', m.user, 'text', m.text, 'time', String(m.time), 'cid', '']).then((id) => {
      const stored = { id: Number(id.slice(2)), ...m };
      ack?.(stored);
      socket.to(room).emit('msg:new', stored);
    }, (e) => ack?.({ error: `redis: ${e.message}` }));
  });
  socket.on('peer:fetch', async (room, ack) => {
    try {
      const found = await io.in(room).fetchSockets();
      ack({ ids: found.map((s) => s.id).sort() });
    } catch (e) {
      ack({ error: e.message });
    }
  });
  // A broadcast with an except room, through the adapter: {room, except, text}.
  socket.on('peer:say', ({ room, except, text }, ack) => {
    io.to(room).except(except).emit('note', text);
    ack?.({});
  });
  // A broadcast with binary: the adapter writes it as base64 of msgpack.
  socket.on('peer:blob', ({ room, bytes }, ack) => {
    io.to(room).emit('blob', 'caption', Buffer.from(bytes));
    ack?.({});
  });
  socket.on('peer:presence', (ack) => ack?.(heard));
  // {room, users}: whatever the test asks for, a bad list too.
  socket.on('peer:announce', ({ room, users }, ack) => {
    io.serverSideEmit('chat:presence', room, users);
    ack?.({});
  });
  socket.on('peer:emit', async (ack) => {
    try {
      const replies = await io.serverSideEmitWithAck('ping');
      ack({ replies });
    } catch (e) {
      ack({ error: e.message });
    }
  });
});

server.listen(portFlag(), '127.0.0.1', () => {
  console.log(`http://localhost:${server.address().port}/`);
});
const stop = () => {
  io.close();
  redis.quit().catch(() => {});
  setTimeout(() => process.exit(0), 200);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
