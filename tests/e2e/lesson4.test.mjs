// Lesson 04 end to end: the official socket.io-client 4.8 and engine.io-client
// talk to our Engine.IO + Socket.IO server over every transport; raw WebSockets
// send what no client library would; headless Chromium runs the chat page.
// Every wait is bounded by the test's timeout; nothing asserts how long things take.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { io, Manager } from 'socket.io-client';
import { Socket as EngineSocket } from 'engine.io-client';
import WebSocket from 'ws';
import { launchBrowser, startLesson, stopClean } from './lib.mjs';

const T = { timeout: 20_000 };
// The conformance suite's settings (socket.io-protocol-v5.md, "Test suite").
const ECHO_ARGS = ['--protocol-echo', '--ping-interval', '300', '--ping-timeout', '200',
  '--max-payload', '1000000', '--connect-timeout', '1000'];

const sockets = [];
// A socket.io-client socket; resolves once connected, rejects on connect_error.
function client(url, opts = {}) {
  const socket = io(url, { forceNew: true, reconnection: false, ...opts });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}
const once = (emitter, event) => new Promise((resolve) => emitter.once(event, resolve));
const closeAll = () => sockets.splice(0).forEach((s) => s.disconnect());

// Records every event a socket receives, in order.
function recorder(socket) {
  const seen = [];
  socket.onAny((event, ...args) => seen.push([event, ...args]));
  return seen;
}
// Waits until `seen` holds an event named `event` (then returns the events so far).
async function until(seen, event) {
  while (!seen.some(([e]) => e === event)) await new Promise((r) => setTimeout(r, 10));
  return seen.slice();
}

// A raw Engine.IO WebSocket: answers pings, and hands out every other message.
async function rawSocket(url, query = '') {
  const endpoint = `${url.replace('http', 'ws')}socket.io/?EIO=4&transport=websocket`;
  const ws = new WebSocket(`${endpoint}${query}`);
  ws.binaryType = 'arraybuffer';
  const inbox = [];
  let wake = null;
  ws.on('message', (data, binary) => {
    const msg = binary ? Buffer.from(data) : data.toString();
    if (msg === '2') return ws.send('3');
    inbox.push(msg);
    wake?.();
  });
  ws.closed = once(ws, 'close');
  ws.next = async () => {
    while (!inbox.length) await new Promise((r) => (wake = r));
    return inbox.shift();
  };
  await once(ws, 'open');
  const open = await ws.next();
  assert.match(open, /^0\{"sid":/);
  return ws;
}

describe('lesson 04: the chat', () => {
  let server;
  before(async () => {
    server = await startLesson(4);
  });
  after(async () => {
    closeAll();
    await stopClean(server);
  });

  for (const transports of [['polling'], ['websocket'], ['polling', 'websocket']]) {
    test(`post, ack and msg:new over ${transports.join(' then ')}`, T, async () => {
      const ada = await client(server.url, { transports, auth: { user: 'ada' } });
      if (transports.length === 2 && ada.io.engine.transport.name !== 'websocket')
        await once(ada.io.engine, 'upgrade');
      const bob = await client(server.url,
        { transports: ['websocket'], auth: { user: 'bob' } });
      const adaSeen = recorder(ada);
      const bobSeen = recorder(bob);
      for (const s of [ada, bob])
        assert.deepEqual(await s.emitWithAck('room:join', 'general'),
          { room: 'general' });
      const before = await ada.emitWithAck('msg:get', { room: 'general' });
      const text = `hello over ${transports.join('+')}`;
      const stored = await ada.emitWithAck('msg:post', { user: 'ada', text });
      assert.equal(stored.text, text);
      assert.equal(stored.user, 'ada');
      assert.equal(stored.id, (before.messages.at(-1)?.id ?? 0) + 1);
      const [, got] = (await until(bobSeen, 'msg:new')).find(([e]) => e === 'msg:new');
      assert.deepEqual(got, stored);
      // The sender is left out of msg:new: its copy came in the ack. Bob's reply
      // reaching ada proves everything sent to her before it has arrived.
      const reply = await bob.emitWithAck('msg:post', { user: 'bob', text: 'hi ada' });
      const adaNew = (await until(adaSeen, 'msg:new')).filter(([e]) => e === 'msg:new');
      // Connection state recovery: its offset in the log is the last argument.
      assert.equal(adaNew.length, 1);
      assert.deepEqual(adaNew[0].slice(0, 2), ['msg:new', reply]);
      assert.match(adaNew[0][2], /^[0-9a-f]{16}-\d+$/);
      // Who is online: both names, sorted.
      const online = adaSeen.filter(([e]) => e === 'online').at(-1)[1];
      assert.deepEqual(online, { room: 'general', users: ['ada', 'bob'] });
      ada.disconnect();
      bob.disconnect();
    });
  }

  test('a missing or invalid user is refused by the middleware', T, async () => {
    const err = await client(server.url, { auth: {} }).catch((e) => e);
    assert.equal(err.message, 'user: must be a string');
    assert.deepEqual(err.data, { field: 'user', example: '{"user":"ada"}' });
    const long = await client(server.url, { auth: { user: 'x'.repeat(33) } })
      .catch((e) => e);
    assert.match(long.message, /^user: must be 1-32 characters/);
  });

  test('an unknown namespace is refused as the reference refuses it', T, async () => {
    const err = await client(`${server.url}nope`, { auth: { user: 'ada' } })
      .catch((e) => e);
    assert.equal(err.message, 'Invalid namespace');
  });

  test('a reconnecting client resumes after the last id it saw', T, async () => {
    const ada = await client(server.url, { auth: { user: 'ada' } });
    await ada.emitWithAck('room:join', 'random');
    const first = await ada.emitWithAck('msg:post', { user: 'ada', text: 'one' });
    ada.disconnect();
    // While ada is away, two messages arrive (one over plain HTTP).
    const bob = await client(server.url, { auth: { user: 'bob' } });
    await bob.emitWithAck('room:join', 'random');
    const second = await bob.emitWithAck('msg:post', { user: 'bob', text: 'two' });
    const res = await fetch(`${server.url}api/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ room: 'random', user: 'http', text: 'three' }),
    });
    assert.equal(res.status, 201);
    const third = await res.json();
    const back = await client(server.url, { auth: { user: 'ada' } });
    await back.emitWithAck('room:join', 'random');
    const page = await back.emitWithAck('msg:get', { room: 'random', since: first.id });
    assert.deepEqual(page, { messages: [second, third], missed: 0 });
    const bad = await back.emitWithAck('msg:get', { room: 'random', since: -1 });
    assert.match(bad.error, /^since:/);
  });

  test('POST /api/messages stores, then emits to its room only', T, async () => {
    const general = await client(server.url, { auth: { user: 'gen' } });
    const random = await client(server.url, { auth: { user: 'ran' } });
    await general.emitWithAck('room:join', 'general');
    await random.emitWithAck('room:join', 'random');
    const generalSeen = recorder(general);
    const randomSeen = recorder(random);
    const post = (room, text) => fetch(`${server.url}api/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ room, user: 'curl', text }),
    });
    const res = await post('general', 'for #general');
    assert.equal(res.status, 201);
    const stored = await res.json();
    await until(generalSeen, 'msg:new');
    assert.deepEqual(generalSeen.find(([e]) => e === 'msg:new')[1], stored);
    // The next message to #random is the first one #random hears.
    await post('random', 'for #random');
    const heard = (await until(randomSeen, 'msg:new')).filter(([e]) => e === 'msg:new');
    assert.deepEqual(heard.map(([, m]) => m.text), ['for #random']);
    assert.equal((await post('nowhere', 'x')).status, 400);
    const wrongType = await fetch(`${server.url}api/messages`,
      { method: 'POST', body: '{}' });
    assert.equal(wrongType.status, 415);
  });

  test('100 clients at once all hear one post', { timeout: 60_000 }, async () => {
    const crowd = await Promise.all(Array.from({ length: 100 }, (_, i) =>
      client(server.url, { transports: ['websocket'], auth: { user: `u${i}` } })));
    await Promise.all(crowd.map((s) => s.emitWithAck('room:join', 'general')));
    const heard = crowd.slice(1).map((s) => once(s, 'msg:new'));
    const stored = await crowd[0].emitWithAck('msg:post',
      { user: 'u0', text: 'to all 99' });
    for (const msg of await Promise.all(heard)) assert.deepEqual(msg, stored);
    crowd.forEach((s) => s.disconnect());
  });

  test('malformed packets close only their own session', T, async () => {
    const ada = await client(server.url, { auth: { user: 'ada' } });
    const refused = ['42{}', '4abc', '42abc["msg:get",{}]', '42["a"', '43[]',
      '42["disconnect"]',
      '451-["x",{"_placeholder":true,"num":3}]'];
    for (const bad of refused) {
      const ws = await rawSocket(server.url);
      ws.send('40{"user":"mallory"}');
      assert.match(await ws.next(), /^40\{"sid":"/);
      ws.send(bad);
      await ws.closed;
    }
    // The first packet must be a CONNECT.
    const early = await rawSocket(server.url);
    early.send('42["msg:get",{}]');
    await early.closed;
    // Binary data with no packet waiting for it.
    const stray = await rawSocket(server.url);
    stray.send('40{"user":"mallory"}');
    await stray.next();
    stray.send(Buffer.from([1, 2, 3]));
    await stray.closed;
    // Everyone else carries on.
    assert.deepEqual(await ada.emitWithAck('room:join', 'general'), { room: 'general' });
  });

  test('an unknown namespace leaves the session open', T, async () => {
    const ws = await rawSocket(server.url);
    ws.send('40/random');
    assert.equal(await ws.next(), '44/random,{"message":"Invalid namespace"}');
    ws.send('40{"user":"ada"}');
    assert.match(await ws.next(), /^40\{"sid":"[\w-]{20}","pid":"[\w-]{20}","offset":"[0-9a-f]{16}-\d+"\}$/);
    ws.close();
  });
});

describe('lesson 04: --connect-timeout', () => {
  // In hooks, not in the test: a test that times out is abandoned, not unwound,
  // and the server must still be stopped.
  let server;
  before(async () => {
    server = await startLesson(4, ['--connect-timeout', '200']);
  });
  after(async () => {
    await stopClean(server);
  });

  test('a session that joins no namespace is closed', T, async () => {
    const ws = await rawSocket(server.url);
    await ws.closed;
    await server.waitFor(/no namespace joined in time/, 'stderr');
  });
});

describe('lesson 04: --protocol-echo (the conformance server)', () => {
  let server;
  before(async () => {
    server = await startLesson(4, ECHO_ARGS);
  });
  after(async () => {
    closeAll();
    await stopClean(server);
  });

  test('the protocol suite\'s Socket.IO exchanges, byte for byte', T, async () => {
    const ws = await rawSocket(server.url);
    ws.send('40');
    assert.match(await ws.next(), /^40\{"sid":"[\w-]{20}"\}$/);
    assert.equal(await ws.next(), '42["auth",{}]');
    ws.send('42["message",1,"2",{"3":[true]}]');
    assert.equal(await ws.next(), '42["message-back",1,"2",{"3":[true]}]');
    ws.send('42456["message-with-ack",1,"2",{"3":[false]}]');
    assert.equal(await ws.next(), '43456[1,"2",{"3":[false]}]');
    const two = '{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}';
    ws.send(`452-["message",${two}]`);
    ws.send(Buffer.from([1, 2, 3]));
    ws.send(Buffer.from([4, 5, 6]));
    assert.equal(await ws.next(), `452-["message-back",${two}]`);
    assert.deepEqual(await ws.next(), Buffer.from([1, 2, 3]));
    assert.deepEqual(await ws.next(), Buffer.from([4, 5, 6]));
    ws.send(`452-789["message-with-ack",${two}]`);
    ws.send(Buffer.from([1, 2, 3]));
    ws.send(Buffer.from([4, 5, 6]));
    assert.equal(await ws.next(), `462-789[${two}]`);
    assert.deepEqual(await ws.next(), Buffer.from([1, 2, 3]));
    assert.deepEqual(await ws.next(), Buffer.from([4, 5, 6]));
    ws.send('40/custom,{"token":"abc"}');
    assert.match(await ws.next(), /^40\/custom,\{"sid":"[\w-]{20}"\}$/);
    assert.equal(await ws.next(), '42/custom,["auth",{"token":"abc"}]');
    ws.send('41/custom,');
    ws.send('42["message","to main"]');
    assert.equal(await ws.next(), '42["message-back","to main"]');
    ws.send('40/random');
    assert.equal(await ws.next(), '44/random,{"message":"Invalid namespace"}');
    ws.send('42{}');
    await ws.closed;
  });

  test('the raw Engine.IO echo at /engine.io/', T, async () => {
    const socket = new EngineSocket(server.url, { path: '/engine.io/' });
    await once(socket, 'open');
    socket.send('hello');
    assert.equal(await once(socket, 'message'), 'hello');
    socket.send(Uint8Array.from([1, 2, 3]));
    assert.deepEqual(Buffer.from(await once(socket, 'message')), Buffer.from([1, 2, 3]));
    socket.close();
  });

  test('two namespaces over one Engine.IO session, auth on each', T, async () => {
    const manager = new Manager(server.url, { reconnection: false });
    const main = manager.socket('/', { auth: { token: '1' } });
    const custom = manager.socket('/custom', { auth: { token: '2' } });
    const [a, b] = await Promise.all([once(main, 'auth'), once(custom, 'auth')]);
    assert.deepEqual(a, { token: '1' });
    assert.deepEqual(b, { token: '2' });
    // One session (the manager's engine), two sockets with ids of their own.
    assert.notEqual(main.id, custom.id);
    assert.notEqual(main.id, manager.engine.id);
    main.disconnect();
    custom.disconnect();
  });

  // emit() with a callback whose arguments are all of the ack's.
  const ack = (socket, ...args) =>
    new Promise((resolve) => socket.emit(...args, (...reply) => resolve(reply)));

  test('acks: client asks, server answers (with a client timeout too)', T, async () => {
    const s = await client(server.url);
    assert.deepEqual(await ack(s, 'message-with-ack', 1, 'two', { three: [3] }),
      [1, 'two', { three: [3] }]);
    assert.deepEqual(await s.timeout(5000).emitWithAck('message-with-ack', 'x'), 'x');
    // No ack asked: the server's handler has nothing to answer.
    s.emit('message-with-ack', 'ignored');
    assert.deepEqual(await ack(s, 'message-with-ack'), []);
  });

  test('acks: server asks, client answers, or the server times out', T, async () => {
    const s = await client(`${server.url}test`);
    s.on('question', (...args) => {
      const cb = args.pop();
      if (args[0] !== 'silent') cb('answer', ...args);
    });
    assert.deepEqual(await ack(s, 'ask', 0, 'q1'), [null, 'answer', 'q1']);
    assert.deepEqual(await ack(s, 'ask', 5000, 'q2'), [null, 'answer', 'q2']);
    assert.deepEqual(await ack(s, 'ask', 100, 'silent'), ['operation has timed out']);
  });

  test('binary events and binary acks', T, async () => {
    const s = await client(server.url, { transports: ['websocket'] });
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    s.emit('message', 'file', bytes, { nested: Buffer.from('abc') });
    const [name, back, nested] = await new Promise((resolve) =>
      s.once('message-back', (...args) => resolve(args)));
    assert.equal(name, 'file');
    assert.deepEqual(Buffer.from(back), bytes);
    assert.deepEqual(Buffer.from(nested.nested), Buffer.from('abc'));
    const [acked] = await ack(s, 'message-with-ack', bytes);
    assert.deepEqual(Buffer.from(acked), bytes);
    // The same over long polling, where binary travels base64-encoded.
    const p = await client(server.url, { transports: ['polling'] });
    const [pacred] = await ack(p, 'message-with-ack', bytes);
    assert.deepEqual(Buffer.from(pacred), bytes);
    // And a binary ack from the client to a server emit.
    const t = await client(`${server.url}test`);
    t.on('question', (cb) => cb(Buffer.from([9, 8, 7])));
    const [error, reply] = await ack(t, 'ask', 0);
    assert.equal(error, null);
    assert.deepEqual(Buffer.from(reply), Buffer.from([9, 8, 7]));
  });

  test('a middleware refusal arrives as connect_error with its data', T, async () => {
    const err = await client(`${server.url}test`, { auth: { deny: 'not today' } })
      .catch((e) => e);
    assert.equal(err.message, 'not today');
    assert.deepEqual(err.data, { code: 4001, by: 'middleware' });
  });

  test('rooms: to, broadcast, except, private messages', T, async () => {
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => client(`${server.url}test`)));
    const seen = [a, b, c].map(recorder);
    await ack(a, 'join', 'r1');
    await ack(b, 'join', 'r1');
    await ack(b, 'join', 'vip');
    await ack(c, 'join', 'r2');
    await ack(a, 'to', 'r1', 'room-news', 1);            // b only: the sender is left out
    await ack(a, 'broadcast', 'everyone-else', 2);       // b and c
    await ack(c, 'except', 'r1', 'vip', 'not-vip', 3);   // r1 less vip: a only
    await ack(c, 'to', b.id, 'private', 4);              // b's own room: b only
    await ack(b, 'leave', 'r1');
    await ack(c, 'to', 'r1', 'after-leave', 5);          // a only
    await ack(a, 'all', 'marker');                       // everyone, last
    const names = await Promise.all(seen.map(async (s) =>
      (await until(s, 'marker')).map(([e]) => e)));
    assert.deepEqual(names[0], ['not-vip', 'after-leave', 'marker']);
    assert.deepEqual(names[1], ['room-news', 'everyone-else', 'private', 'marker']);
    assert.deepEqual(names[2], ['everyone-else', 'marker']);
  });

  test('disconnect reasons reach the client', T, async () => {
    const s = await client(`${server.url}test`);
    const reason = once(s, 'disconnect');
    s.emit('bye', false);
    assert.equal(await reason, 'io server disconnect');
    const t = await client(`${server.url}test`);
    const closed = once(t, 'disconnect');
    t.emit('bye', true);
    assert.match(await closed, /^(io server disconnect|transport close)$/);
  });
});

describe('lesson 04: the page in headless Chromium', () => {
  let server;
  let browser;
  before(async () => {
    server = await startLesson(4);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await stopClean(server);
  });

  // A page whose user is `user` (the page keeps the name in sessionStorage).
  // prepare(page) runs before the page loads (to route its WebSockets).
  async function open(user, query = '', prepare = async () => {}) {
    const page = await browser.newPage();
    await prepare(page);
    await page.addInitScript((name) => sessionStorage.setItem('chat.name', name), user);
    await page.goto(`${server.url}${query}`);
    await page.waitForSelector('#status[data-connected="true"]');
    return page;
  }
  async function say(page, text) {
    await page.fill('#text', text);
    await page.click('#send');
  }
  const shows = (page, text) => page.waitForFunction((t) =>
    [...document.querySelectorAll('#messages .message:not(.pending) .text')]
      .some((e) => e.textContent === t), text);
  const texts = (page) => page.$$eval('#messages .message .text', (els) =>
    els.map((e) => e.textContent));
  const online = (page, users) => page.waitForFunction((u) =>
    document.getElementById('online').textContent === `online: ${u}`, users);

  test('two pages chat in #general; a page in #random does not see it', T, async () => {
    const ada = await open('ada');
    const bob = await open('bob');
    const cy = await open('cy');
    await cy.selectOption('#room', 'random');
    await online(cy, 'cy');
    await online(ada, 'ada, bob');
    await say(ada, 'hello from ada');
    await shows(bob, 'hello from ada');
    await shows(ada, 'hello from ada');
    await say(bob, 'hi ada');
    await shows(ada, 'hi ada');
    // The next thing #random hears is the first new message cy sees.
    await fetch(`${server.url}api/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ room: 'random', user: 'curl', text: 'for #random' }),
    });
    await shows(cy, 'for #random');
    assert.deepEqual((await texts(cy)).filter((t) => /ada/.test(t)), []);
    // Shown once each, though ada's own message came both in her ack and nowhere else.
    assert.equal((await texts(ada)).filter((t) => t === 'hello from ada').length, 1);
    await Promise.all([ada, bob, cy].map((p) => p.close()));
  });

  const postHttp = (room, text) => fetch(`${server.url}api/messages`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ room, user: 'curl', text }),
  }).then((res) => res.json());

  test('after a dropped connection the page resumes from the last id it saw', T,
    async () => {
      // Every WebSocket of the page goes through Playwright, which can cut it the
      // way a network drop would: the page sees its socket close, the server not.
      // The page's next WebSocket after the cut reaches the server only once the
      // message "while away" is posted, so that message is one it missed (the page
      // reconnects within milliseconds, faster than the test can post).
      let route = null;
      let cut = false;
      let release;
      const awayPosted = new Promise((resolve) => { release = resolve; });
      const page = await open('dee', '', (p) => p.routeWebSocket(/\/socket\.io\//, (ws) => {
        route = ws;
        if (cut) awayPosted.then(() => ws.connectToServer());
        else ws.connectToServer();
      }));
      const before = await postHttp('general', 'before the cut');
      await shows(page, 'before the cut');
      cut = true;
      await route.close({ code: 1001, reason: 'cut by the test' });
      await page.waitForSelector('#status[data-connected="false"]');
      const away = await postHttp('general', 'while away');
      release();
      await page.waitForSelector('#status[data-connected="true"]');
      await shows(page, 'while away');
      // Its session came back with the missed message (connection state recovery),
      // or, if the server had not yet seen the old connection go (the pid was
      // still held), it asked for what followed the last id it had. Either way it
      // shows each message once.
      const wire = await page.textContent('#wire');
      assert.ok(wire.includes('recovered: 1 missed messages replayed') ||
        wire.includes(`"since":${before.id}`), wire.slice(-2000));
      assert.equal(away.id, before.id + 1);
      const shown = await texts(page);
      assert.equal(shown.filter((t) => t === 'before the cut').length, 1);
      assert.equal(shown.filter((t) => t === 'while away').length, 1);
      await page.close();
    });

  test('a page whose WebSockets are blocked falls back to long polling', T, async () => {
    // A proxy that lets the upgrade through and then passes nothing: every
    // WebSocket of this page closes at once, before a packet arrives.
    const blocked = await open('eve', '', (p) =>
      p.routeWebSocket(/\/socket\.io\//, (ws) => ws.close()));
    assert.match(await blocked.textContent('#wire'),
      /WebSocket failed: falling back to long polling/);
    const other = await open('fay');
    await say(blocked, 'from behind the proxy');
    await shows(other, 'from behind the proxy');
    await say(other, 'to the polling page');
    await shows(blocked, 'to the polling page');
    await Promise.all([blocked, other].map((p) => p.close()));
  });

  test('the page works with ?transport=polling and with the upgrade', T, async () => {
    const polling = await open('poll', '?transport=polling');
    const upgraded = await open('upg', '?transport=upgrade');
    await upgraded.waitForFunction(() =>
      document.getElementById('wire').textContent.includes('upgraded: now on WebSocket'));
    await say(polling, 'over long polling');
    await shows(upgraded, 'over long polling');
    await say(upgraded, 'over the upgraded WebSocket');
    await shows(polling, 'over the upgraded WebSocket');
    assert.match(await polling.textContent('#transport'), /polling/);
    await Promise.all([polling, upgraded].map((p) => p.close()));
  });
});
