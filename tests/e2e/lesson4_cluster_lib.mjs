// Shared by lesson4_cluster*.test.mjs: a real redis-server (Debian's) on a free
// loopback port with a data folder of its own, our nodes with --redis, the Node
// socket.io member (tests/peers/socketio_cluster.mjs), and socket.io-client.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import { createClient } from 'redis';
import { startLesson } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

export async function freePort() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

// A child process whose first stdout line matching `ready` means it is up; it
// never outlives the test.
function spawnUntil(argv, ready, env = {}) {
  const proc = spawn(argv[0], argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const reap = () => proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL');
  process.once('exit', reap);
  const exited = once(proc, 'exit');
  exited.then(() => process.removeListener('exit', reap));
  let log = '';
  const up = new Promise((resolve, reject) => {
    for (const stream of [proc.stdout, proc.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        log += `${line}\n`;
        if (ready.test(line)) resolve(line);
      });
    }
    exited.then(([code, signal]) =>
      reject(new Error(`${argv.join(' ')} exited (${code ?? signal}):\n${log}`)));
  });
  return {
    proc,
    up,
    log: () => log,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      await exited;
    },
  };
}

// redis-server on 127.0.0.1:<port>, data in a fresh temp folder, append-only file
// on (so a restart on the same folder keeps the stream, as Redis would in use).
export async function startRedis(port, dir) {
  port ??= await freePort();
  dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'lesson4-redis-'));
  const r = spawnUntil(['redis-server', '--port', String(port), '--bind', '127.0.0.1',
    '--dir', dir, '--appendonly', 'yes', '--save', '', '--protected-mode', 'yes'],
  /Ready to accept connections/);
  await r.up;
  // The data folder goes once the test is done with it (after the last restart).
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  return { ...r, port, dir, remove, address: `127.0.0.1:${port}` };
}

// A client of our own on the same Redis, for the test's questions (PUBSUB NUMSUB...).
export async function redisClient(port) {
  const c = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false } });
  c.on('error', () => {});
  await c.connect();
  return c;
}

// Until the predicate holds (each wait is bounded by the test's own timeout).
export async function until(predicate) {
  for (;;) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

// How many connections are blocked in XREAD now: every member reads the stream
// on one connection of its own, so this counts the members that are reading.
export async function readers(client) {
  const list = await client.sendCommand(['CLIENT', 'LIST']);
  return list.split('\n').filter((l) => / cmd=xread\b/.test(l)).length;
}

// One of our nodes with --redis, resolved once it reads the stream.
export async function startNode(redisAddress, args = []) {
  const node = await startLesson(4, ['--redis', redisAddress, ...args]);
  await node.waitFor(/cluster: reading "socket.io"/, 'stderr');
  await node.waitFor(/redis pubsub: connected/, 'stderr');
  return node;
}

// The Node socket.io member with the streams adapter.
export async function startPeer(redisAddress) {
  const peer = spawnUntil(['node', path.join(here, '..', 'peers', 'socketio_cluster.mjs'),
    '--port', '0', '--redis', redisAddress], /^http:\/\/localhost:\d+\//);
  const url = await peer.up;
  return { ...peer, url };
}

const opened = [];
// A socket.io-client socket as user `user`, in `room`; every event it gets is
// recorded in socket.seen, in order.
export async function member(url, user, room, opts = {}) {
  const socket = io(url, { forceNew: true, reconnection: false, auth: { user },
    transports: ['websocket'], ...opts });
  opened.push(socket);
  socket.seen = [];
  socket.onAny((event, ...args) => socket.seen.push([event, ...args]));
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  if (room) {
    const ack = await socket.timeout(10_000).emitWithAck('room:join', room);
    if (ack.room !== room) throw new Error(`room:join ${room}: ${JSON.stringify(ack)}`);
  }
  return socket;
}
export const closeMembers = () => opened.splice(0).forEach((s) => s.disconnect());

// The texts of the msg:new events a member has seen, in order.
export const texts = (socket, event = 'msg:new') =>
  socket.seen.filter(([e]) => e === event).map(([, m]) => (typeof m === 'string' ? m : m.text));

// A post under the member's own name (another name would also rename it, and
// announce "online" again).
export const post = (socket, text) =>
  socket.timeout(10_000).emitWithAck('msg:post', { user: socket.auth.user, text });

// HAProxy with the committed config (04-socketio-lite/cluster/haproxy.cfg, as
// make lesson-4-cluster runs it) on a free port, in front of nodes a and b.
// Resolved once the front has answered (a 200 for the page).
export async function startFront(a, b) {
  const port = await freePort();
  const env = { FRONT_PORT: String(port), NODE_A_PORT: new URL(a.url).port,
    NODE_B_PORT: new URL(b.url).port };
  const config = path.join(here, '..', '..', '04-socketio-lite', 'cluster', 'haproxy.cfg');
  const front = spawnUntil(['haproxy', '-db', '-f', config], /^$/, env);
  front.up.catch(() => {});
  await until(async () => {
    if (front.proc.exitCode !== null) throw new Error(`haproxy exited:\n${front.log()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`);
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  });
  return { ...front, port, url: `http://localhost:${port}/` };
}
