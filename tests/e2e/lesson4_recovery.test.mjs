// Lesson 04's connection state recovery, with the official socket.io-client 4.8:
// a client whose transport is closed under it while others post comes back with
// its pid and offset and gets its socket id, its room and every missed message,
// once and in order (socket.recovered === true); an expired window, a forged or
// replayed pid and a foreign offset get a fresh session instead, and the chat
// still loses nothing through msg:get. Every wait is bounded.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { io } from 'socket.io-client';
import { launchBrowser, readmeBlocks, sleep, startLesson, stopClean } from './lib.mjs';

const T = { timeout: 60_000 };
const WAIT_MS = 20_000;

const sockets = [];
const servers = [];
const dirs = [];
after(async () => {
  sockets.splice(0).forEach((s) => s.disconnect());
  for (const s of servers.splice(0)) await s.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

// Resolves with what `fn` returns once it is truthy, or fails naming `what`.
async function until(what, fn) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(10);
  }
}
function event(emitter, name) {
  let cancel;
  const p = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} event`)), WAIT_MS);
    const on = (...args) => {
      clearTimeout(timer);
      resolve(args);
    };
    emitter.once(name, on);
    cancel = () => {
      clearTimeout(timer);
      emitter.off(name, on);
    };
  });
  p.cancel = cancel;
  return p;
}

// A socket that does not reconnect by itself: the test says when it comes back.
// `seen` holds every msg:new it was handed, as [message, offset].
async function client(url, user, transports, setup = () => {}) {
  const socket = io(url, { forceNew: true, reconnection: false, autoConnect: false,
    transports, auth: { user } });
  sockets.push(socket);
  socket.seen = [];
  socket.on('msg:new', (m, offset) => socket.seen.push([m, offset]));
  setup(socket);
  await connect(socket);
  return socket;
}
async function connect(socket) {
  const connected = event(socket, 'connect');
  const error = event(socket, 'connect_error');
  const refused = error.then(([e]) => { throw e; });
  refused.cancel = error.cancel;
  refused.catch(() => {});
  socket.connect();
  try {
    await Promise.race([connected, refused]);
  } finally {
    connected.cancel();
    refused.cancel();
  }
}
async function join(socket, room = 'general') {
  assert.deepEqual(await socket.timeout(WAIT_MS).emitWithAck('room:join', room), { room });
}
const post = (socket, text) =>
  socket.timeout(WAIT_MS).emitWithAck('msg:post', { user: 'bob', text });

// The transport closes under the client (as a dropped network would end it); the
// server has noticed once it logs that the socket left.
async function drop(server, socket) {
  const id = socket.id;
  const gone = event(socket, 'disconnect');
  socket.io.engine.close();
  await gone;
  await until(`the server to see ${id} leave`, () => server.stderr().includes(`${id} (`)
    && server.stderr().split('\n').some((l) => l.includes(`${id} (`) && l.includes(' left: ')));
}

async function start(args = []) {
  const server = await startLesson(4, args);
  servers.push(server);
  return server;
}

describe('lesson 04: connection state recovery', () => {
  for (const transports of [['websocket'], ['polling']]) {
    test(`transport closed under the client over ${transports[0]}: recovered, every ` +
      'missed message once and in order, room intact', T, async () => {
      const server = await start();
      const ada = await client(server.url, 'ada', transports);
      const bob = await client(server.url, 'bob', transports);
      await join(ada);
      await join(bob);
      const pid = ada._pid;
      assert.equal(typeof pid, 'string', 'the CONNECT reply carries a pid');
      await post(bob, 'before');
      await until('the first msg:new', () => ada.seen.length === 1);
      assert.match(ada.seen[0][1], /^[0-9a-f]{16}-\d+$/, 'msg:new ends with its offset');
      const id = ada.id;
      await drop(server, ada);
      const missed = [];
      for (const text of ['one', 'two', 'three']) missed.push((await post(bob, text)).id);
      await connect(ada);
      assert.equal(ada.recovered, true);
      assert.equal(ada.id, id, 'the same socket id');
      assert.equal(ada._pid, pid, 'the same pid');
      assert.deepEqual(ada.seen.slice(1).map(([m]) => m.id), missed,
        'each missed message once, in order, before anything new');
      const offsets = ada.seen.map(([, o]) => Number(o.split('-')[1]));
      assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b));
      assert.equal(new Set(offsets).size, offsets.length, 'no offset twice');
      // Still in "general" without joining again: a new post reaches it live.
      const live = await post(bob, 'after');
      await until('msg:new after the recovery', () => ada.seen.length === 5);
      assert.equal(ada.seen[4][0].id, live.id);
      // And its data: it may post in its room without joining.
      assert.equal((await ada.timeout(WAIT_MS).emitWithAck('msg:post',
        { user: 'ada', text: 'back' })).text, 'back');
      await stopClean(server);
    });
  }

  test('a client that received nothing before the drop recovers (no offset sent)', T,
    async () => {
      const server = await start(['--trace']);
      const ada = await client(server.url, 'ada', ['websocket']);
      const bob = await client(server.url, 'bob', ['websocket']);
      await join(ada);
      await join(bob);
      assert.equal(ada._lastOffset, undefined, 'no replayable event reached it yet');
      await drop(server, ada);
      const one = await post(bob, 'while away');
      await connect(ada);
      // The official client sent 40{"pid":...} with no offset (undefined is left out).
      assert.ok(server.lines.some((l) => /← CONNECT \/ \{"pid":"[^"]+","user":"ada"\}$/.test(l)),
        'the reconnection CONNECT had a pid and no offset');
      assert.equal(ada.recovered, true);
      assert.deepEqual(ada.seen.map(([m]) => m.id), [one.id]);
      // The recovered CONNECT reply names where the session now stands: after one.
      const replies = server.lines.filter((l) => l.includes(`→ CONNECT / {"sid":"${ada.id}"`));
      assert.equal(replies.length, 2);
      assert.ok(replies[1].endsWith(`,"offset":"${ada.seen[0][1]}"}`), replies[1]);
      await stopClean(server);
    });

  test('window expired: a fresh session, and msg:get still gives what was missed', T,
    async () => {
      const server = await start(['--recovery-window', '300']);
      const ada = await client(server.url, 'ada', ['websocket']);
      const bob = await client(server.url, 'bob', ['websocket']);
      await join(ada);
      await join(bob);
      const first = await post(bob, 'seen');
      await until('the first msg:new', () => ada.seen.length === 1);
      const id = ada.id;
      await drop(server, ada);
      const gone = await post(bob, 'missed');
      await sleep(1500);  // past the 300 ms window (pacing, not an assertion)
      await connect(ada);
      assert.equal(ada.recovered, false);
      assert.notEqual(ada.id, id);
      assert.equal(ada.seen.length, 1, 'nothing replayed');
      await join(ada);
      const page = await ada.timeout(WAIT_MS).emitWithAck('msg:get',
        { room: 'general', since: first.id });
      assert.deepEqual(page.messages.map((m) => m.id), [gone.id]);
      await stopClean(server);
    });

  test('node killed and restarted within the window (same --data): recovered', T,
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'lesson4-recovery-'));
      dirs.push(dir);
      const data = ['--data', path.join(dir, 'chat.log')];
      const server = await start(data);
      const ada = await client(server.url, 'ada', ['websocket']);
      const bob = await client(server.url, 'bob', ['websocket']);
      await join(ada);
      await join(bob);
      await post(bob, 'seen');
      await until('the first msg:new', () => ada.seen.length === 1);
      const id = ada.id;
      await drop(server, ada);
      const missed = [(await post(bob, 'one')).id, (await post(bob, 'two')).id];
      bob.disconnect();
      server.proc.kill('SIGKILL');
      await server.exited;
      const again = await startLesson(4, data, { port: server.port });
      servers.push(again);
      await connect(ada);
      assert.equal(ada.recovered, true);
      assert.equal(ada.id, id);
      assert.deepEqual(ada.seen.slice(1).map(([m]) => m.id), missed);
      await stopClean(again);
    });

  test('forged pid, foreign offset, pid replayed twice: a fresh session, nobody ' +
    "else's room or data", T, async () => {
    const server = await start();
    const bob = await client(server.url, 'bob', ['websocket']);
    await join(bob);
    await post(bob, 'before ada');  // so that ada's session starts at offset 1, not 0
    const ada = await client(server.url, 'ada', ['websocket']);
    await join(ada);
    await post(bob, 'seen');
    await until('the first msg:new', () => ada.seen.length === 1);
    const [pid, offset] = [ada._pid, ada._lastOffset];
    await drop(server, ada);
    // A fresh session is in no chat room: its post is refused, and it hears nothing.
    const fresh = async (socket) => {
      assert.equal(socket.recovered, false);
      assert.notEqual(socket.id, ada.id);
      const reply = await socket.timeout(WAIT_MS).emitWithAck('msg:post',
        { user: 'eve', text: 'x' });
      assert.equal(reply.error, 'room: join a room first');
    };
    const as = (p, o) => client(server.url, 'eve', ['websocket'], (s) => {
      s._pid = p;
      s._lastOffset = o;
    });
    const forged = await as('AAAAAAAAAAAAAAAAAAAA', offset);
    await fresh(forged);
    const foreign = await as(pid, `ffffffffffffffff-${offset.split('-')[1]}`);
    await fresh(foreign);
    const before = await as(pid, `${offset.split('-')[0]}-0`);  // before its session
    await fresh(before);
    const ahead = await as(pid, `${offset.split('-')[0]}-99`);  // past the log's head
    await fresh(ahead);
    const notString = await as(pid, 7);
    await fresh(notString);
    // Every refusal left the session alone: the first good use of it recovers...
    const first = await as(pid, offset);
    assert.equal(first.recovered, true);
    // ...and the same pid again, while it is held, does not.
    const second = await as(pid, offset);
    await fresh(second);
    await post(bob, 'to general');
    await until('msg:new to the recovered socket', () => first.seen.length === 1);
    for (const s of [forged, foreign, before, ahead, notString, second])
      assert.equal(s.seen.length, 0, 'a fresh session hears nothing of general');
    await stopClean(server);
  });

  test('the page: killed and restarted node, the page recovers and shows each message ' +
    'once, in order', T, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lesson4-recovery-page-'));
    dirs.push(dir);
    const data = ['--data', path.join(dir, 'chat.log')];
    const server = await start(data);
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.addInitScript(() => localStorage.setItem('chat.name', 'ada'));
      await page.goto(server.url);
      await page.waitForSelector('#status[data-connected="true"]');
      const shown = () => page.$$eval('#messages .message:not(.pending) .text',
        (els) => els.map((e) => e.textContent));
      const shows = (text) => page.waitForFunction((t) =>
        [...document.querySelectorAll('#messages .message:not(.pending) .text')]
          .some((e) => e.textContent === t), text, { timeout: WAIT_MS });
      let bob = await client(server.url, 'bob', ['websocket']);
      await join(bob);
      await post(bob, 'before');
      await shows('before');
      bob.disconnect();
      server.proc.kill('SIGKILL');
      await server.exited;
      await page.waitForSelector('#status[data-connected="false"]');
      const again = await startLesson(4, data, { port: server.port });
      servers.push(again);
      bob = await client(again.url, 'bob', ['websocket']);
      await join(bob);
      await post(bob, 'one');
      await post(bob, 'two');
      // Replayed before the CONNECT reply, or (if the page was quicker) live after it.
      await page.waitForFunction(() => [...document.querySelectorAll('#wire li')]
        .some((li) => /recovered: \d+ missed messages replayed/.test(li.textContent)),
      null, { timeout: WAIT_MS });
      await shows('two');
      assert.deepEqual(await shown(), ['before', 'one', 'two']);
      await stopClean(again);
    } finally {
      await browser.close();
    }
  });

  test('the README recovery capture is what sio-recover.mjs makes the server print', T,
    async () => {
      const readme = await readFile(new URL('../../04-socketio-lite/README.md',
        import.meta.url), 'utf8');
      const capture = readmeBlocks(readme).find((b) => b.some((l) => l.includes('"pid":"')
        && l.includes('← CONNECT')));
      assert.ok(capture, 'the README has the recovery capture');
      const server = await start(['--trace']);
      await promisify(execFile)('node', ['tests/tools/sio-recover.mjs', server.url]);
      await until('both DISCONNECTs', () =>
        server.lines.filter((l) => /DISCONNECT \/$/.test(l)).length === 2);
      const normal = (l) => l.replace(/[A-Za-z0-9_-]{20}/g, 'ID').replace(/"time":\d+/g, 'T')
        .replace(/"[0-9a-f]{16}-(\d+)"/g, '"H-$1"');
      const printed = server.lines.filter((l) => l.startsWith('sio ')).map(normal);
      assert.deepEqual(printed, capture.map(normal));
      await stopClean(server);
    });

  test('--recovery-window 0: no pid in the CONNECT reply, no offset on msg:new', T,
    async () => {
      const server = await start(['--recovery-window', '0']);
      const ada = await client(server.url, 'ada', ['websocket']);
      const bob = await client(server.url, 'bob', ['websocket']);
      await join(ada);
      await join(bob);
      assert.equal(ada._pid, undefined);
      await post(bob, 'plain');
      await until('msg:new', () => ada.seen.length === 1);
      assert.equal(ada.seen[0][1], undefined, 'no offset argument');
      await drop(server, ada);
      await connect(ada);
      assert.ok(!ada.recovered, 'not recovered'); // undefined: the reply had no pid
      await stopClean(server);
    });

  test('node killed before the client joined a room: recovered, and its user is kept', T,
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'lesson4-recovery-early-'));
      dirs.push(dir);
      const data = ['--data', path.join(dir, 'chat.log')];
      const server = await start(data);
      const ada = await client(server.url, 'ada', ['websocket']);
      const gone = event(ada, 'disconnect');
      server.proc.kill('SIGKILL');
      await server.exited;
      await gone;
      const again = await startLesson(4, data, { port: server.port });
      servers.push(again);
      await connect(ada);
      assert.equal(ada.recovered, true);
      await join(ada);
      const mine = await ada.timeout(WAIT_MS).emitWithAck('msg:post', { user: 'ada', text: 'x' });
      assert.equal(mine.user, 'ada');
      const left = again.waitFor(/\(ada\) left: client namespace disconnect/, 'stderr');
      ada.disconnect();
      await left;
      await stopClean(again);
    });
});
