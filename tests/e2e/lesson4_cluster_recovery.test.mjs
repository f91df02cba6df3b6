// Lesson 04's connection state recovery in a cluster (04-socketio-lite/
// cluster_recovery.cpp): two of our nodes and the Node socket.io member (with
// the streams adapter and connectionStateRecovery) on one real Redis, the
// official socket.io-client. Offsets are the socket.io stream's entry ids and the
// sessions are in Redis, so a client recovers on another node than its own: after
// its node was killed with SIGKILL, and across implementations both ways.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { stopClean } from './lib.mjs';
import { redisClient, startFront, startNode, startRedis, until } from './lesson4_cluster_lib.mjs';

const T = { timeout: 60_000 };
const WAIT_MS = 10_000;
const here = path.dirname(fileURLToPath(import.meta.url));

// The Node member with --recovery, resolved with its URL.
async function startRecoveringPeer(redisAddress) {
  const proc = spawn('node', [path.join(here, '..', 'peers', 'socketio_cluster.mjs'),
    '--port', '0', '--redis', redisAddress, '--recovery'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const reap = () => proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL');
  process.once('exit', reap);
  const exited = once(proc, 'exit');
  let log = '';
  const url = await new Promise((resolve, reject) => {
    for (const stream of [proc.stdout, proc.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        log += `${line}\n`;
        if (/^http:\/\/localhost:\d+\//.test(line)) resolve(line);
      });
    }
    exited.then(() => reject(new Error(`the Node member exited:\n${log}`)));
  });
  return { url, async stop() { reap(); await exited; } };
}

const sockets = [];
// A socket.io-client socket that never reconnects by itself: the test says
// when and where (socket.io.uri) it connects again. Every msg:new is recorded
// with the offset the client was given, in order.
async function client(url, user, setup = () => {}) {
  const socket = io(url, { forceNew: true, reconnection: false, autoConnect: false,
    transports: ['websocket'], auth: { user } });
  sockets.push(socket);
  socket.seen = [];
  socket.on('msg:new', (m) => socket.seen.push(m.text));
  setup(socket);
  await connect(socket);
  return socket;
}
function connect(socket, url) {
  if (url) socket.io.uri = url;  // the Manager's next engine goes there
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no CONNECT reply')), WAIT_MS);
    socket.once('connect', () => { clearTimeout(timer); resolve(); });
    socket.once('connect_error', (e) => { clearTimeout(timer); reject(e); });
    socket.connect();
  });
}
async function join(socket, room = 'general') {
  assert.deepEqual(await socket.timeout(WAIT_MS).emitWithAck('room:join', room), { room });
}
const post = (socket, text) => socket.timeout(WAIT_MS).emitWithAck('msg:post',
  { user: socket.auth.user, text });
// The transport closes under the client, as a dropped network ends it.
async function drop(socket) {
  const gone = once(socket, 'disconnect');
  socket.io.engine.close();
  await gone;
}
const waitSeen = (socket, n) => until(() => socket.seen.length >= n);
// A node's log line, or a failure naming it after WAIT_MS.
const logged = (node, re) => Promise.race([node.waitFor(re, 'stderr'),
  new Promise((_, reject) => setTimeout(() => reject(new Error(`no log line ${re}`)),
    WAIT_MS).unref())]);

describe('lesson 04 cluster: connection state recovery across nodes', () => {
  let redis, a, b, peer, front;
  before(async () => {
    redis = await startRedis();
    [a, b, peer] = await Promise.all([startNode(redis.address), startNode(redis.address),
      startRecoveringPeer(redis.address)]);
    front = await startFront(a, b);  // the committed haproxy.cfg, before a and b
  }, T);
  afterEach(() => sockets.splice(0).forEach((s) => s.disconnect()));
  after(async () => {
    sockets.splice(0).forEach((s) => s.disconnect());
    await front?.stop();
    await peer?.stop();
    if (a && a.proc.exitCode === null && a.proc.signalCode === null) await stopClean(a);
    if (b) await stopClean(b);
    await redis?.stop();
    redis?.remove();
  });

  test('a pid forged, or held by a live socket on node A, replayed on node B: a fresh ' +
    'session', T, async () => {
    const bob = await client(a.url, 'bob');
    await join(bob);
    const ada = await client(a.url, 'ada');
    await join(ada);
    await post(bob, 'seen');
    await waitSeen(ada, 1);
    const offset = ada._lastOffset;
    assert.match(offset, /^\d+-\d+$/, 'the offset is a stream entry id');
    // Fresh: another socket id, in no chat room (its post is refused).
    const fresh = async (socket) => {
      assert.equal(socket.recovered, false);
      assert.notEqual(socket.id, ada.id);
      assert.equal((await post(socket, 'x')).error, 'room: join a room first');
    };
    const as = (pid) => client(b.url, 'eve', (s) => {
      s._pid = pid;
      s._lastOffset = offset;
    });
    await fresh(await as('AAAAAAAAAAAAAAAAAAAA'));
    await logged(b, /recovery: unknown pid: a new session/);
    await fresh(await as(ada._pid));
    await logged(b, /recovery: pid held by a socket on another node/);
    // ada still has her session and room on A.
    await post(bob, 'still');
    await waitSeen(ada, 2);
    assert.deepEqual(ada.seen, ['seen', 'still']);
  });

  test('our node → the Node member: recovered with the missed messages (our session, ' +
    'their restore)', T, async () => {
    const bob = await client(b.url, 'bob');
    await join(bob);
    const ada = await client(a.url, 'ada');
    await join(ada);
    await post(bob, 'before');
    await waitSeen(ada, 1);
    const id = ada.id;
    await drop(ada);
    await logged(a, new RegExp(`${id} \\(ada\\) left: `));
    await post(bob, 'missed 1');
    await post(bob, 'missed 2');
    await connect(ada, peer.url);
    assert.equal(ada.recovered, true, 'the Node member restored our session');
    assert.equal(ada.id, id);
    await waitSeen(ada, 3);
    assert.deepEqual(ada.seen, ['before', 'missed 1', 'missed 2']);
    // Its room and data came back: it posts in general without joining.
    assert.equal((await post(ada, 'back')).text, 'back');
    await until(() => bob.seen.includes('back'));
  });

  test('the Node member → our node: recovered with the missed messages', T, async () => {
    const bob = await client(b.url, 'bob');
    await join(bob);
    const ada = await client(peer.url, 'ada');
    await join(ada);
    await post(bob, 'before');
    await waitSeen(ada, 1);
    const id = ada.id;
    await drop(ada);
    // The Node member saves the session once it has seen the close.
    const r = await redisClient(redis.port);
    await until(async () => (await r.exists(`sio:session:${ada._pid}`)) === 1);
    await r.quit();
    await post(bob, 'missed 1');
    await post(bob, 'missed 2');
    await connect(ada, b.url);
    assert.equal(ada.recovered, true, 'our node restored the Node member\'s session');
    assert.equal(ada.id, id);
    await waitSeen(ada, 3);
    assert.deepEqual(ada.seen, ['before', 'missed 1', 'missed 2']);
    assert.equal((await post(ada, 'back')).text, 'back');
    await until(() => bob.seen.includes('back'));
  });

  // Last: node A does not come back.
  test('node killed with SIGKILL: its clients recover on the other node (through the ' +
    'front, or straight to it), every missed ' +
    'message once, in order, rooms intact, even one that had received nothing', T,
  async () => {
    const bob = await client(b.url, 'bob');
    await join(bob);
    const ada = await client(a.url, 'ada');
    await join(ada);
    const cy = await client(a.url, 'cy');
    await join(cy, 'random');
    await post(bob, 'before');
    await waitSeen(ada, 1);
    assert.equal(cy._lastOffset, undefined, 'cy has received no event');
    const [adaId, cyId] = [ada.id, cy.id];
    const gone = [once(ada, 'disconnect'), once(cy, 'disconnect')];
    a.proc.kill('SIGKILL');
    await Promise.all(gone);
    await post(bob, 'missed 1');
    await post(bob, 'missed 2');
    await join(bob, 'random');
    await post(bob, 'for random');
    // ada through the front (A refuses the connection: HAProxy redispatches to B),
    // cy straight to B.
    await connect(ada, front.url);
    await connect(cy, b.url);
    assert.equal(ada.recovered, true);
    assert.equal(ada.id, adaId);
    assert.equal(cy.recovered, true, 'recovered with no offset: its session start stands in');
    assert.equal(cy.id, cyId);
    await waitSeen(ada, 3);
    await waitSeen(cy, 1);
    // Rooms intact: each is still in its own room on B, and hears it live.
    await post(bob, 'random again');
    await waitSeen(cy, 2);
    await join(bob, 'general');
    await post(bob, 'general again');
    await waitSeen(ada, 4);
    assert.deepEqual(ada.seen, ['before', 'missed 1', 'missed 2', 'general again']);
    assert.deepEqual(cy.seen, ['for random', 'random again']);
    // The same pid replayed a second time: a fresh session, not ada's.
    const again = await client(b.url, 'eve', (s) => {
      s._pid = ada._pid;
      s._lastOffset = ada._lastOffset;
    });
    assert.equal(again.recovered, false);
    assert.notEqual(again.id, adaId);
  });
});
