// Lesson 04 next to the npm `socket.io` 4.8 server (lesson4_socketio_peer.mjs),
// driven by the same official socket.io-client over each transport: where the
// reference answers (an ack, an event), lesson 04 must answer too, the same way,
// and not drop the session. Each case runs against both servers and asserts the
// same outcome for each.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import { BUILD_DIR } from './lib.mjs';

const T = { timeout: 60_000 };
const HERE = path.dirname(fileURLToPath(import.meta.url));
const SERVERS = ['socket.io', 'lesson 04'];
const TRANSPORTS = ['websocket', 'polling'];

// Starts one of the two servers, chat or echo. Its stderr goes to a file, so that
// a test may read it while its own event loop is blocked (see waitLogSync).
async function startServer(kind, { echo = false } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lesson4-parity-'));
  const logFile = path.join(dir, 'stderr.log');
  const log = fs.openSync(logFile, 'w');
  let argv;
  if (kind === 'socket.io') {
    argv = [process.execPath, path.join(HERE, 'lesson4_socketio_peer.mjs'), '--port', '0',
      ...(echo ? ['--echo'] : [])];
  } else {
    const wrapper = (process.env.LESSON_WRAPPER ?? '').split(' ').filter(Boolean);
    argv = [...wrapper, path.resolve(BUILD_DIR, 'lesson-4'), '--port', '0',
      ...(echo ? ['--protocol-echo'] : [])];
  }
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', log] });
  fs.closeSync(log);
  const exited = once(proc, 'exit').then(([code, signal]) => ({ code, signal }));
  // Whatever happens to the test, the server does not outlive it, nor its log.
  const reap = () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', reap);
  exited.then(() => process.removeListener('exit', reap));
  const readLog = () => fs.readFileSync(logFile, 'utf8');
  const url = await new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout }).once('line', resolve);
    exited.then(() => reject(new Error(`${kind} exited before its URL:\n${readLog()}`)));
  });
  return {
    kind,
    url,
    pid: proc.pid,
    log: readLog,
    // Blocks this whole process (its sockets too) until the server logs a line
    // matching re: the way to keep the client from sending anything meanwhile.
    waitLogSync(re) {
      const nap = new Int32Array(new SharedArrayBuffer(4));
      for (let i = 0; i < 3000 && !re.test(readLog()); ++i) Atomics.wait(nap, 0, 0, 10);
      assert.match(readLog(), re);
    },
    // SIGTERM; resolves with { code, signal } once it has exited. The log stays
    // readable until forget().
    forget: () => fs.rmSync(dir, { recursive: true, force: true }),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

// An official client on one transport; resolves once connected.
async function connect(server, transport, opts = {}) {
  const socket = io(server.url, { transports: [transport], forceNew: true,
    reconnection: false, ...opts });
  socket.reasons = [];
  socket.on('disconnect', (reason) => socket.reasons.push(reason));
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', (error) => {
      socket.disconnect();  // and with it the session the namespace refused
      reject(error);
    });
  });
  return socket;
}

// Runs body(server, transport) against each server over each transport.
async function onBoth(options, body) {
  for (const kind of SERVERS) {
    const server = await startServer(kind, options);
    try {
      for (const transport of TRANSPORTS) await body(server, transport);
    } finally {
      const { code, signal } = await server.stop();
      if (kind === 'lesson 04') assert.deepEqual({ code, signal }, { code: 0, signal: null },
        server.log());
    }
  }
}

// Every argument of the ack (emitWithAck resolves with the first only).
const ackArgs = (socket, event, ...args) =>
  new Promise((resolve) => socket.emit(event, ...args, (...reply) => resolve(reply)));

const label = (server, transport) => `${server.kind} over ${transport}`;
const highHalf = '😀'.slice(0, 1);  // what cutting a string by UTF-16 code units leaves

describe('lesson 04 and socket.io 4.8 answer the official client the same way', () => {
  test('a lone surrogate in a string: the chat answers in its ack; an echo returns it', T,
    async () => {
      await onBoth({}, async (server, transport) => {
        const socket = await connect(server, transport, { auth: { user: 'ada' } });
        try {
          assert.deepEqual(await socket.emitWithAck('room:join', 'general'), { room: 'general' });
          // In the text: refused in the ack, the session carries on.
          const refused = await socket.emitWithAck('msg:post', { user: 'a', text: `cut ${highHalf}` });
          assert.deepEqual(refused, { error: 'text: must be valid Unicode' },
            label(server, transport));
          // In a field the chat ignores: the post is stored.
          const stored = await socket.emitWithAck('msg:post',
            { user: 'a', text: 'kept', note: `\udc00${highHalf}` });
          assert.equal(stored.text, 'kept', label(server, transport));
          assert.equal(stored.user, 'a');
          assert.equal(socket.connected, true);
          assert.deepEqual(socket.reasons, []);
        } finally {
          socket.disconnect();
        }
      });
      // In the CONNECT's auth payload: the middleware refuses it, with a reason.
      await onBoth({}, async (server, transport) => {
        const refused = await connect(server, transport, { auth: { user: `ada${highHalf}` } })
          .then((s) => (s.disconnect(), 'connected'), (e) => e.message);
        assert.equal(refused, 'user: must be valid Unicode', label(server, transport));
      });
      await onBoth({ echo: true }, async (server, transport) => {
        const socket = await connect(server, transport);
        try {
          // RFC 8259 §8.2: JSON allows it; the same code units come back.
          const sent = [`cut ${highHalf}`, { [`k\ud800`]: ['\udfff', '\ud83d\ude00'] }];
          const back = await ackArgs(socket, 'message-with-ack', ...sent);
          assert.deepEqual(back, sent, label(server, transport));
          assert.deepEqual(socket.reasons, []);
        } finally {
          socket.disconnect();
        }
      });
    });

  test('two 600 kB attachments in one packet are each within maxPayload: answered', T,
    async () => {
      const a = Buffer.alloc(600_000, 0xa1);
      const b = Buffer.alloc(600_000, 0xb2);
      await onBoth({}, async (server, transport) => {
        const socket = await connect(server, transport, { auth: { user: 'ada' } });
        try {
          await socket.emitWithAck('room:join', 'general');
          const stored = await socket.emitWithAck('msg:post', { user: 'ada', text: 'pics' }, a, b);
          assert.equal(stored.text, 'pics', label(server, transport));
          assert.equal(socket.connected, true);
        } finally {
          socket.disconnect();
        }
      });
      await onBoth({ echo: true }, async (server, transport) => {
        const socket = await connect(server, transport);
        try {
          const [x, y] = await ackArgs(socket, 'message-with-ack', a, b);
          assert.ok(Buffer.from(x).equals(a), label(server, transport));
          assert.ok(Buffer.from(y).equals(b), label(server, transport));
          assert.deepEqual(socket.reasons, []);
        } finally {
          socket.disconnect();
        }
      });
    });

  // Each attachment is an Engine.IO message of its own: one over maxPayload
  // (1 MB) is refused by the transport, a WebSocket with close code 1009, a polling
  // POST with 413, and the session ends (over polling the client ends it, told 413).
  test('one attachment over maxPayload ends the session, the same way on both', T,
    async () => {
      const expected = { websocket: 'transport close', polling: 'transport error' };
      await onBoth({ echo: true }, async (server, transport) => {
        const socket = await connect(server, transport);
        const gone = once(socket, 'disconnect');
        const answer = socket.timeout(30_000)
          .emitWithAck('message-with-ack', Buffer.alloc(1_100_000, 1))
          .catch((e) => e.message);
        assert.equal((await gone)[0], expected[transport], label(server, transport));
        assert.equal(await answer, 'socket has been disconnected');
      });
    });

  test('an event named by a number is an event nobody listens to: the session stays', T,
    async () => {
      await onBoth({}, async (server, transport) => {
        const socket = await connect(server, transport, { auth: { user: 'ada' } });
        try {
          socket.emit(42, 'x');
          // With an ack id: no listener, so no answer; the client's own timeout.
          const unanswered = await socket.timeout(500).emitWithAck(42, 'y')
            .then(() => 'answered', (e) => e.message);
          assert.equal(unanswered, 'operation has timed out', label(server, transport));
          assert.deepEqual(await socket.emitWithAck('room:join', 'general'), { room: 'general' });
          assert.equal(socket.connected, true);
          assert.deepEqual(socket.reasons, []);
        } finally {
          socket.disconnect();
        }
      });
    });
});

// What the official client reports when the server shuts down under a polling
// client. socket.io-client takes Engine.IO's close packet `1` as "transport
// close"; a request that fails instead is "transport error".
describe('shutdown with a polling client', () => {
  test('socket.io, a GET held: the close packet, "transport close"', T, async () => {
    const server = await startServer('socket.io');
    try {
      const socket = await connect(server, 'polling', { auth: { user: 'ada' } });
      const gone = once(socket, 'disconnect');
      socket.emit('close-when-polled');  // io.close() once the server holds a GET
      assert.equal((await gone)[0], 'transport close');
    } finally {
      await server.stop();
    }
  });

  // Between two GETs: the client has read an answer and not yet asked again. The
  // client's Engine.IO socket hands out each packet of a GET's answer as it reads
  // it, and sends the next GET only after the last; so this process blocks there,
  // at the ack, sending nothing, until the server has begun to shut down.
  async function betweenTwoGets(server, waitFor) {
    const socket = await connect(server, 'polling', { auth: { user: 'ada' } });
    const gone = once(socket, 'disconnect');
    let armed = true;
    socket.io.engine.on('packet', (packet) => {
      // 30[{"room":"general"}]: the ack of the room:join below.
      if (!armed || packet.type !== 'message' || !String(packet.data).startsWith('3')) return;
      armed = false;
      process.kill(server.pid, 'SIGTERM');
      server.waitLogSync(waitFor);
    });
    socket.emit('room:join', 'general', () => {});
    return (await gone)[0];
  }

  test('socket.io, between two GETs: the session is discarded, "transport error"', T,
    async () => {
      const server = await startServer('socket.io');
      try {
        assert.equal(await betweenTwoGets(server, /sessions closed/), 'transport error');
      } finally {
        await server.stop();
      }
    });

  test('lesson 04, between two GETs: the next GET gets the close packet, "transport close"',
    T, async () => {
      const server = await startServer('lesson 04');
      try {
        const reason = await betweenTwoGets(server, /no GET held; the close packet waits/);
        assert.equal(reason, 'transport close', server.log());
      } finally {
        assert.deepEqual(await server.stop(), { code: 0, signal: null });
      }
      assert.match(server.log(), /\(ada\) left: server shutting down/);
    });
});
