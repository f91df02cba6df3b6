// Lesson 04's chat on the npm `socket.io` 4.8 server bound to Bun's engine
// (@socket.io/bun-engine, Engine.IO on Bun.serve), the same events as
// socketio.mjs, which runs it on Node:
//   CONNECT with auth {user}; room:join → ack {room} and "online" to the room;
//   msg:post → ack with the stored message, msg:new to the rest of the room.
// Run with Bun: bun tests/bench/peers/bun-socketio.mjs --port 0
import { Server as Engine } from '@socket.io/bun-engine';
import { Server } from 'socket.io';
import { Room, validate, portFlag } from './chat.mjs';
import { announceBun } from './bun.mjs';

const rooms = new Map([['general', new Room(1000)], ['random', new Room(1000)]]);
const io = new Server({ serveClient: false });
const engine = new Engine({ path: '/socket.io/' });
io.bind(engine);

io.use((socket, next) => {
  const user = socket.handshake.auth?.user;
  const error = typeof user !== 'string' ? 'user: must be a string' : validate({ user, text: '-' });
  if (error) return next(Object.assign(new Error(error), { data: { field: 'user' } }));
  socket.data.user = user;
  next();
});

function announceOnline(room) {
  const users = new Set();
  for (const [, s] of io.of('/').sockets) if (s.rooms.has(room)) users.add(s.data.user);
  if (users.size) io.to(room).emit('online', { room, users: [...users].sort() });
}

io.on('connection', (socket) => {
  socket.on('room:join', (name, ack) => {
    if (!rooms.has(name)) return ack?.({ error: 'room: must be "general" or "random"' });
    const old = socket.data.room;
    if (old !== name) {
      if (old) socket.leave(old);
      socket.join(name);
      socket.data.room = name;
      if (old) announceOnline(old);
      announceOnline(name);
    }
    ack?.({ room: name });
  });
  socket.on('msg:post', (post, ack) => {
    const room = socket.data.room;
    const error = room ? validate(post) : 'room: join a room first';
    if (error) return ack?.({ error });
    const m = rooms.get(room).post(post.user, post.text);
    ack?.(m);
    socket.to(room).emit('msg:new', m);
  });
  socket.on('disconnect', () => {
    if (socket.data.room) announceOnline(socket.data.room);
  });
});

// As the engine's README shows: its fetch and websocket handlers, and an idleTimeout
// of twice the ping interval.
const server = Bun.serve({ hostname: '127.0.0.1', port: portFlag(), ...engine.handler() });
announceBun(server);
