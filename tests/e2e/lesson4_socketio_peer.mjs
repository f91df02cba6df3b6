// The reference for tests/e2e/lesson4_parity.test.mjs: the npm `socket.io` 4.8
// server running what lesson 04 runs, so one test can drive both with the same
// official client and compare what it sees. Not a test itself (no .test.mjs).
//
//   node lesson4_socketio_peer.mjs --port 0          the chat's events, as lesson 04
//   node lesson4_socketio_peer.mjs --port 0 --echo   message-with-ack echoes its
//                                                    arguments (lesson 04 --protocol-echo)
// Prints its URL as the first line on stdout, like the lessons. SIGTERM is
// io.close(), the reference's own shutdown: "shutting down" is logged first,
// "sessions closed" once its Engine.IO sessions are.
import http from 'node:http';
import { Server } from 'socket.io';
import { Room, validate } from '../bench/peers/chat.mjs';

const echo = process.argv.includes('--echo');
const port = Number(process.argv[process.argv.indexOf('--port') + 1] || 0);
const server = http.createServer();
const io = new Server(server, { serveClient: false });
const rooms = new Map([['general', new Room(1000)], ['random', new Room(1000)]]);

// Lesson 04's first check on a post: a string holding a lone surrogate is not text.
function notUnicode(post) {
  for (const field of ['user', 'text']) {
    const v = post?.[field];
    if (typeof v === 'string' && !v.isWellFormed()) return `${field}: must be valid Unicode`;
  }
  return null;
}

if (echo) {
  io.on('connection', (socket) => {
    socket.on('message-with-ack', (...args) => {
      const ack = args.pop();
      if (typeof ack === 'function') ack(...args);
    });
  });
} else {
  io.use((socket, next) => {
    const user = socket.handshake.auth?.user;
    if (typeof user !== 'string') return next(new Error('user: must be a string'));
    const error = notUnicode({ user }) ?? validate({ user, text: '-' });
    if (error) return next(new Error(error));
    next();
  });
  io.on('connection', (socket) => {
    socket.on('room:join', (name, ack) => {
      if (!rooms.has(name)) return ack?.({ error: 'room: must be "general" or "random"' });
      if (socket.data.room) socket.leave(socket.data.room);
      socket.join(name);
      socket.data.room = name;
      ack?.({ room: name });
    });
    socket.on('msg:post', (post, ...rest) => {
      const ack = typeof rest.at(-1) === 'function' ? rest.at(-1) : undefined;
      const room = socket.data.room;
      const error = room ? notUnicode(post) ?? validate(post) : 'room: join a room first';
      if (error) return ack?.({ error });
      const m = rooms.get(room).post(post.user, post.text);
      ack?.(m);
      socket.to(room).emit('msg:new', m);
    });
  });
}

// Lets a test wait, in the server, until a polling client's GET is held.
io.on('connection', (socket) => {
  socket.on('close-when-polled', () => {
    const check = () => {
      if (!socket.conn.transport.writable) return setTimeout(check, 10);
      console.error('shutting down');
      io.close();
    };
    check();
  });
});

// io.close() closes the Engine.IO sessions a few microtasks after it is called.
const closeEngine = io.engine.close.bind(io.engine);
io.engine.close = () => {
  closeEngine();
  console.error('sessions closed');
  return io.engine;
};

process.on('SIGTERM', () => {
  console.error('shutting down');
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});

server.listen(port, '127.0.0.1', () => {
  console.log(`http://localhost:${server.address().port}/`);
});
