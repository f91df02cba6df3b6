// Lesson 04's lower layer end to end: the official engine.io-client 6.6 and raw
// HTTP / WebSocket requests against the raw Engine.IO echo that --protocol-echo
// serves at /engine.io/ (every message sent back as it came, text as text, binary
// as binary). Each refusal is followed by a fresh client that still works.
// Every wait is bounded by the test's timeout; nothing asserts how long things take.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'engine.io-client';
import WebSocket from 'ws';
import { startLesson, stopClean } from './lib.mjs';

const T = { timeout: 20_000 };
// The Engine.IO test suite's settings (engine.io-protocol-v4.md, "Test suite").
const ECHO_ARGS = ['--protocol-echo', '--ping-interval', '300', '--ping-timeout', '200',
  '--max-payload', '1000000'];
const PATH = '/engine.io/';

const once = (emitter, event) => new Promise((resolve) => emitter.once(event, resolve));

// An engine.io-client socket, open.
async function eio(url, opts = {}) {
  const socket = new Socket(url, { path: PATH, ...opts });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return socket;
}

// Sends each message and waits for the echo of all of them, in order.
async function roundTrip(socket, messages) {
  const got = [];
  const done = new Promise((resolve) => {
    const onMessage = (data) => {
      got.push(data);
      if (got.length === messages.length) {
        socket.off('message', onMessage);
        resolve();
      }
    };
    socket.on('message', onMessage);
  });
  for (const m of messages) socket.send(m);
  await done;
  return got;
}

async function assertEchoes(socket) {
  const bytes = Buffer.from([0, 1, 2, 0x1e, 0xfe, 0xff]);
  const got = await roundTrip(socket, ['hello', 'é € 😀', bytes, '']);
  assert.equal(got[0], 'hello');
  assert.equal(got[1], 'é € 😀');
  assert.ok(Buffer.isBuffer(got[2]), 'binary comes back as binary');
  assert.deepEqual(Buffer.from(got[2]), bytes);
  // An empty message is the packet "4" alone; the client hands it over as undefined.
  assert.equal(got[3] ?? '', '');
}

// After each refusal: a new client connects and is echoed.
async function assertFreshClientWorks(url) {
  const socket = await eio(url, { transports: ['polling'] });
  await assertEchoes(socket);
  socket.close();
}

// Raw polling: the handshake's open packet, and plain requests with its sid.
function endpoint(url, query) {
  return `${url.replace(/\/$/, '')}${PATH}?EIO=4&${query}`;
}
async function handshake(url) {
  const res = await fetch(endpoint(url, 'transport=polling'));
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /^0\{/);
  return JSON.parse(text.slice(1)).sid;
}
const poll = (url, sid, init) =>
  fetch(endpoint(url, `transport=polling&sid=${sid}`), init);
const post = (url, sid, body) => poll(url, sid, { method: 'POST', body });
// A GET that the server holds: resolves once the server's --trace shows it has
// read the request, with { response } (a promise: the answer is still to come).
async function held(lesson, sid, init) {
  const response = poll(lesson.url, sid, init);
  await lesson.waitFor(new RegExp(`← GET /engine\\.io/\\?\\S*sid=${sid}`));
  return { response };
}
async function assertError(res, status, code, message) {
  assert.equal(res.status, status);
  assert.deepEqual(await res.json(), { code, message });
}
const assertGone = async (url, sid) =>
  assertError(await poll(url, sid), 400, 1, 'Session ID unknown');

// A raw WebSocket that keeps every message it receives, for reading in order, and
// answers pings unless told not to.
async function rawWebSocket(url, query, { pong = true } = {}) {
  const ws = new WebSocket(endpoint(url.replace('http', 'ws'), query));
  const inbox = [];
  let wake = null;
  ws.on('message', (data, binary) => {
    const msg = binary ? Buffer.from(data) : data.toString();
    if (pong && msg === '2') return ws.send('3');
    inbox.push(msg);
    wake?.();
  });
  ws.closed = once(ws, 'close');
  ws.next = async () => {
    while (!inbox.length) await new Promise((r) => (wake = r));
    return inbox.shift();
  };
  await once(ws, 'open');
  return ws;
}

describe('lesson 04: Engine.IO v4', () => {
  // server: the test suite's fast heartbeat. calm: the default one (25 s), for the
  // raw exchanges that a ping arriving in between would disturb.
  let server, calm;
  before(async () => {
    server = await startLesson(4, ECHO_ARGS);
    calm = await startLesson(4, ['--protocol-echo', '--trace']);
  });
  after(async () => {
    await Promise.all([stopClean(server), stopClean(calm)]);
  });

  test('the open packet: exactly the reference keys, in its order', T, async () => {
    const res = await fetch(endpoint(server.url, 'transport=polling&t=PZ4b1c0'));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/plain; charset=UTF-8/i);
    const text = await res.text();
    const rest = '"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}';
    assert.equal(text.replace(/"sid":"[A-Za-z0-9_-]{20}"/, '"sid":"x"'),
      `0{"sid":"x","upgrades":["websocket"],${rest}`);
    // A WebSocket-only session: the open packet is the first frame, no upgrades.
    const ws = await rawWebSocket(server.url, 'transport=websocket');
    assert.equal((await ws.next()).replace(/"sid":"[^"]+"/, '"sid":"x"'),
      `0{"sid":"x","upgrades":[],${rest}`);
    ws.close();
  });

  for (const transports of [['polling'], ['websocket']]) {
    test(`engine.io-client over ${transports[0]} only: text and binary echo`, T,
      async () => {
        const socket = await eio(server.url, { transports });
        assert.equal(socket.transport.name, transports[0]);
        await assertEchoes(socket);
        // Three heartbeats go by: the client answers each ping, and stays open.
        for (let i = 0; i < 3; i++) await once(socket, 'ping');
        assert.equal(socket.readyState, 'open');
        await assertEchoes(socket);
        const closed = once(socket, 'close');
        socket.close();
        assert.equal(await closed, 'forced close');
      });
  }

  test('engine.io-client by default: polling, then the upgrade to WebSocket', T,
    async () => {
      const socket = await eio(server.url);
      assert.equal(socket.transport.name, 'polling');
      // Messages sent while upgrading arrive too, in order.
      const during = roundTrip(socket, ['before', Buffer.from([7, 8, 9])]);
      if (socket.transport.name !== 'websocket') await once(socket, 'upgrade');
      const got = await during;
      assert.equal(got[0], 'before');
      assert.deepEqual(Buffer.from(got[1]), Buffer.from([7, 8, 9]));
      assert.equal(socket.transport.name, 'websocket');
      await assertEchoes(socket);
      socket.close();
    });

  test('raw polling: payloads joined by \\x1e, binary as b + base64', T, async () => {
    const sid = await handshake(calm.url);
    const ok = await post(calm.url, sid, '4hello\x1ebAQIDBA==\x1e4world');
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'ok');
    const res = await poll(calm.url, sid);
    assert.equal(await res.text(), '4hello\x1ebAQIDBA==\x1e4world');
    await post(calm.url, sid, '1');
  });

  test('heartbeat: a polling client that never answers 3 is dropped', T, async () => {
    const sid = await handshake(server.url);
    // The server's ping arrives in a held GET ...
    assert.equal(await (await poll(server.url, sid)).text(), '2');
    // ... and without a pong, the next GET is ended by the close packet.
    assert.equal(await (await poll(server.url, sid)).text(), '1');
    await assertGone(server.url, sid);
    await assertFreshClientWorks(server.url);
  });

  test('heartbeat: a polling client that answers 3 stays', T, async () => {
    const sid = await handshake(server.url);
    for (let i = 0; i < 3; i++) {
      assert.equal(await (await poll(server.url, sid)).text(), '2');
      assert.equal((await post(server.url, sid, '3')).status, 200);
    }
    await post(server.url, sid, '1');
    await assertGone(server.url, sid);
  });

  test('heartbeat: a WebSocket client that never answers is closed', T, async () => {
    const ws = await rawWebSocket(server.url, 'transport=websocket', { pong: false });
    const sid = JSON.parse((await ws.next()).slice(1)).sid;
    assert.equal(await ws.next(), '2');
    await ws.closed;
    await assertGone(server.url, sid);
  });

  test('errors: the reference codes and messages', T, async () => {
    const cases = [
      ['transport=polling&sid=nope', 1, 'Session ID unknown'],
      ['transport=foo', 0, 'Transport unknown'],
      ['', 0, 'Transport unknown'],
      ['transport=websocket', 3, 'Bad request'],  // not a WebSocket handshake
    ];
    for (const [query, code, message] of cases) {
      await assertError(await fetch(endpoint(server.url, query)), 400, code, message);
      await assertFreshClientWorks(server.url);
    }
    for (const eioParam of ['EIO=3', 'EIO=abc', '']) {
      const res = await fetch(`${server.url}engine.io/?${eioParam}&transport=polling`);
      await assertError(res, 400, 5, 'Unsupported protocol version');
    }
    await assertFreshClientWorks(server.url);
    const res = await fetch(endpoint(server.url, 'transport=polling'),
      { method: 'POST', body: '4hi' });
    await assertError(res, 400, 2, 'Bad handshake method');
    await assertFreshClientWorks(server.url);
    // A page from another origin is forbidden (403); the server's own origin is not.
    const foreign = await fetch(endpoint(server.url, 'transport=polling'),
      { headers: { Origin: 'http://evil.example' } });
    await assertError(foreign, 403, 4, 'Forbidden');
    const own = await fetch(endpoint(server.url, 'transport=polling'),
      { headers: { Origin: server.url.replace(/\/$/, '') } });
    assert.equal(own.status, 200);
    assert.match(await own.text(), /^0\{"sid"/);
    await assertFreshClientWorks(server.url);
  });

  test('two concurrent GETs close the session', T, async () => {
    const sid = await handshake(calm.url);
    const first = await held(calm, sid);
    const second = await poll(calm.url, sid);
    assert.equal(second.status, 400);
    const answer = await first.response;
    assert.equal(answer.status, 200);
    assert.equal(await answer.text(), '1');
    await assertGone(calm.url, sid);
    await assertFreshClientWorks(calm.url);
  });

  // The reference test suite's "closes the session upon cancelled polling request".
  // A POST asks after the session, since a second GET would itself close it.
  test('a held GET the client abandons closes the session', T, async () => {
    const sid = await handshake(calm.url);
    const controller = new AbortController();
    const pending = await held(calm, sid, { signal: controller.signal });
    controller.abort();
    await pending.response.catch(() => {});
    // The log names the session by its number (the sid is a credential); --trace
    // says which number this sid got.
    const opened = calm.lines.map((l) => l.match(`^eio ${sid} opened over polling as (session \\d+)$`))
      .find(Boolean);
    assert.ok(opened, 'the trace names the session');
    await calm.waitFor(new RegExp(`eio ${opened[1]} closed \\(transport error\\)`), 'stderr');
    assert.ok(!calm.stderr().includes(sid), 'the sid is not in the log');
    await assertError(await post(calm.url, sid, '4x'), 400, 1, 'Session ID unknown');
  });

  test('an invalid packet closes the session', T, async () => {
    const sid = await handshake(calm.url);
    await assertError(await post(calm.url, sid, 'abc'), 400, 3, 'Bad request');
    await assertGone(calm.url, sid);
    const ws = await rawWebSocket(calm.url, 'transport=websocket');
    await ws.next();
    ws.send('abc');
    await ws.closed;
    await assertFreshClientWorks(calm.url);
  });

  test('a POST over maxPayload is refused with 413', T, async () => {
    const sid = await handshake(calm.url);
    const body = `4${'x'.repeat(1_000_000)}`;
    const status = await post(calm.url, sid, body).then((r) => r.status,
      () => 413);  // the server may close before the whole body is sent
    assert.equal(status, 413);
    await assertFreshClientWorks(calm.url);
  });

  test('a WebSocket message over maxPayload closes the session', T, async () => {
    const ws = await rawWebSocket(calm.url, 'transport=websocket');
    const sid = JSON.parse((await ws.next()).slice(1)).sid;
    ws.send(`4${'x'.repeat(1_000_001)}`);
    await ws.closed;
    await assertGone(calm.url, sid);
    await assertFreshClientWorks(calm.url);
  });

  test('close packet: a held GET is ended with a noop', T, async () => {
    const sid = await handshake(calm.url);
    const get = await held(calm, sid);
    assert.equal((await post(calm.url, sid, '1')).status, 200);
    assert.equal(await (await get.response).text(), '6');
    await assertGone(calm.url, sid);
  });

  test('raw upgrade: 2probe, 3probe, a noop to the held GET, then 5', T, async () => {
    const sid = await handshake(calm.url);
    const held = poll(calm.url, sid);
    const ws = await rawWebSocket(calm.url, `transport=websocket&sid=${sid}`);
    ws.send('2probe');
    assert.equal(await ws.next(), '3probe');
    assert.equal(await (await held).text(), '6');
    // A GET during the upgrade is ended at once, with a noop.
    assert.equal(await (await poll(calm.url, sid)).text(), '6');
    ws.send('5');
    ws.send('4hello');
    assert.equal(await ws.next(), '4hello');
    ws.send(Buffer.from([1, 2, 3, 4]));
    assert.deepEqual(await ws.next(), Buffer.from([1, 2, 3, 4]));
    // The session is WebSocket now: polling with its sid is a bad request ...
    await assertError(await poll(calm.url, sid), 400, 3, 'Bad request');
    // ... and a second WebSocket for it is closed.
    const second = await rawWebSocket(calm.url, `transport=websocket&sid=${sid}`);
    await second.closed;
    ws.send('4still here');
    assert.equal(await ws.next(), '4still here');
    ws.close();
    await ws.closed;
    await assertFreshClientWorks(calm.url);
  });

  test('a WebSocket to an unknown sid is refused', T, async () => {
    const ws = new WebSocket(endpoint(calm.url.replace('http', 'ws'),
      'transport=websocket&sid=nope'));
    const res = await new Promise((resolve) =>
      ws.once('unexpected-response', (req, response) => resolve(response)));
    assert.equal(res.statusCode, 400);
    // Like the reference, a refused upgrade gets the bare message.
    let body = '';
    for await (const chunk of res) body += chunk;
    assert.equal(body, 'Session ID unknown');
    ws.on('error', () => {});
    ws.terminate();
    await assertFreshClientWorks(calm.url);
  });
});

describe('lesson 04: Engine.IO CORS', () => {
  const origin = 'http://localhost:3000';
  let server;
  before(async () => {
    server = await startLesson(4, [...ECHO_ARGS, '--cors-origin', origin]);
  });
  after(async () => {
    await stopClean(server);
  });

  test('preflight 204, and every polling answer names the allowed origin', T,
    async () => {
      const pre = await fetch(endpoint(server.url, 'transport=polling'), {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'content-type' },
      });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers.get('access-control-allow-origin'), origin);
      assert.equal(pre.headers.get('access-control-allow-credentials'), 'true');
      assert.match(pre.headers.get('access-control-allow-methods'), /POST/);
      assert.equal(pre.headers.get('access-control-allow-headers'), 'content-type');
      const res = await fetch(endpoint(server.url, 'transport=polling'),
        { headers: { Origin: origin } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-origin'), origin);
      assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
      const bad = await fetch(endpoint(server.url, 'transport=foo'),
        { headers: { Origin: origin } });
      assert.equal(bad.headers.get('access-control-allow-origin'), origin);
      // The allowed origin may open a WebSocket too.
      const ws = new WebSocket(endpoint(server.url.replace('http', 'ws'),
        'transport=websocket'), { origin });
      const first = await once(ws, 'message');
      assert.match(first.toString(), /^0\{"sid"/);
      ws.close();
    });

  test('another origin is forbidden, over polling and WebSocket', T, async () => {
    const evil = 'http://evil.example';
    const res = await fetch(endpoint(server.url, 'transport=polling'),
      { headers: { Origin: evil } });
    await assertError(res, 403, 4, 'Forbidden');
    const ws = new WebSocket(endpoint(server.url.replace('http', 'ws'),
      'transport=websocket'), { origin: evil });
    ws.on('error', () => {});
    const refused = await new Promise((resolve) =>
      ws.once('unexpected-response', (req, response) => resolve(response)));
    assert.equal(refused.statusCode, 403);
    let body = '';
    for await (const chunk of refused) body += chunk;
    assert.equal(body, 'Forbidden');
    ws.terminate();
  });
});
