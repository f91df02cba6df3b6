// Lesson 02, one rule per test: each was found broken once (issue 11) and is
// named after the rule it holds the server to. Real peers where they can say it
// (curl, Node's http2 client); raw frames where only a misbehaving peer can.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { startLesson } from './lib.mjs';
import { CODE, END_HEADERS, END_STREAM, HELLO, PRIORITY_FLAG, TYPE, frame, goaway, headers, literal, post, raw, request, roundTrip, rst, u32 } from './lesson2_frames.mjs';

const T = { timeout: 30_000 };
const run = promisify(execFile);
const BODY_LIMIT = 64 * 1024; // h2::Limits::max_body, the same as lesson 01's

// curl over cleartext HTTP/2; resolves with the status, the headers and the body.
async function curl(port, target, ...args) {
  // -I (HEAD) prints the headers itself.
  const dump = args.includes('-I') ? [] : ['-D', '-'];
  const { stdout } = await run('curl', ['-sS', '--http2-prior-knowledge', '--max-time', '20',
    ...dump, ...args, `http://127.0.0.1:${port}${target}`], { maxBuffer: 1 << 24 });
  const [head, ...body] = stdout.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), head, body: body.join('\r\n\r\n') };
}

// One request on a Node http2 session: status, headers, body, and whether DATA came.
function ask(session, hdrs, body) {
  return new Promise((resolve, reject) => {
    const req = session.request(hdrs, { endStream: body === undefined });
    let data = '';
    let dataFrames = 0;
    let h;
    req.setEncoding('utf8');
    req.on('response', (r) => { h = r; });
    req.on('data', (d) => { data += d; dataFrames++; });
    req.on('end', () => resolve({ status: h[':status'], headers: h, body: data, dataFrames }));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}

describe('lesson 02 rules', () => {
  let server, session, tmp;
  before(async () => {
    server = await startLesson(2, ['--body-timeout', '400', '--flood-limit', '1000']);
    session = http2.connect(`http://localhost:${server.port}`);
    session.on('error', () => {});
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lesson2-rules-'));
  });
  after(async () => {
    session.close();
    session.destroy();
    fs.rmSync(tmp, { recursive: true, force: true });
    const { code } = await server.stop();
    assert.equal(code, 0, server.stderr());
  });

  test('RFC 9110 §7.1, RFC 3986 §3.4: a query on any path is answered, never a crash', T, async () => {
    const plain = await curl(server.port, '/style.css');
    assert.equal(plain.status, 200);
    for (const target of ['/style.css?v=1', '/?x', '/chat.js?', '/client.js?a=b&c', '/?']) {
      const r = await curl(server.port, target);
      assert.equal(r.status, 200, target);
      if (target.startsWith('/style.css')) assert.equal(r.body, plain.body);
    }
    assert.equal((await curl(server.port, '/nothing?v=1')).status, 404);
    const stream = session.request({ ':path': '/messages?since=0&x=1' });
    const [h] = await new Promise((resolve) => stream.once('response', (...a) => resolve(a)));
    assert.equal(h[':status'], 200);
    stream.close();
    const posted = await ask(session, { ':method': 'POST', ':path': '/messages?x=1', 'content-type': 'application/json' },
      JSON.stringify({ user: 'ada', text: 'query' }));
    assert.equal(posted.status, 201);
    assert.equal(server.proc.exitCode, null, server.stderr());
  });

  test('RFC 9110 §15.5.14: a 70,000-byte body is 413 at once, by content-length or by count', T, async () => {
    const file = path.join(tmp, '70k.json');
    fs.writeFileSync(file, JSON.stringify({ user: 'ada', text: 'x'.repeat(70_000 - 24) }));
    assert.equal(fs.statSync(file).size, 70_000);
    const r = await curl(server.port, '/messages', '-H', 'content-type: application/json', '--data-binary', `@${file}`);
    assert.equal(r.status, 413);
    // No content-length: the body is refused once the bytes received pass the limit.
    const big = await ask(session, { ':method': 'POST', ':path': '/messages', 'content-type': 'application/json' },
      'x'.repeat(70_000));
    assert.equal(big.status, 413);
  });

  test('RFC 9113 §6.9: the stream window is given back, so a body at the limit (over 65,535) arrives', T, async () => {
    const json = JSON.stringify({ user: 'ada', text: 'at the limit' });
    const body = json + ' '.repeat(BODY_LIMIT - json.length);
    assert.ok(body.length > 65_535);
    const r = await ask(session, { ':method': 'POST', ':path': '/messages', 'content-type': 'application/json' }, body);
    assert.equal(r.status, 201, r.body);
    assert.equal(JSON.parse(r.body).text, 'at the limit');
  });

  test('RFC 9110 §15.5.9: a body that stops arriving is 408, then RST_STREAM, after --body-timeout', T, async () => {
    const req = session.request({ ':method': 'POST', ':path': '/messages', 'content-type': 'application/json' }, { endStream: false });
    req.on('error', () => {});
    req.write('{"user":');
    const [h] = await new Promise((resolve) => req.once('response', (...a) => resolve(a)));
    assert.equal(h[':status'], 408);
    req.resume();
    await new Promise((resolve) => req.on('close', resolve));
    assert.equal(req.rstCode, http2.constants.NGHTTP2_NO_ERROR);
    assert.match(server.stderr(), /body not complete within 400 ms/);
  });

  test('--body-timeout bounds memory: 3 connections x 100 half-sent bodies are all reset, and served after', T, async () => {
    const conns = [];
    for (let n = 0; n < 3; n++) {
      const c = raw(server.port);
      const out = [HELLO];
      for (let i = 0; i < 100; i++) {
        const id = 2 * i + 1;
        out.push(headers(id, post('/messages'), END_HEADERS), frame(TYPE.DATA, 0, id, Buffer.alloc(600, 0x20)));
      }
      c.send(...out);
      conns.push(c);
    }
    for (const c of conns) {
      for (let i = 0; i < 100; i++) assert.equal(await rst(c, 2 * i + 1), CODE.NO_ERROR);
      // Every stream is gone: a new one is not refused (SETTINGS_MAX_CONCURRENT_STREAMS 100).
      c.send(headers(201, request('/style.css')));
      assert.ok(await c.next((f) => f.type === TYPE.HEADERS && f.stream === 201));
      assert.ok(!c.frames.some((f) => f.type === TYPE.RST_STREAM && f.payload.readUInt32BE(0) === CODE.REFUSED_STREAM));
      c.end();
    }
  });

  test('RFC 9113 §5.1: frames on a stream we reset are ignored, DATA still counted in the connection window (§6.9)', T, async () => {
    const c = raw(server.port);
    // A malformed request (an uppercase field name, RFC 9113 §8.2.1) whose body is
    // still coming: RST_STREAM PROTOCOL_ERROR, and the client had already sent more.
    c.send(HELLO, headers(1, post('/messages', literal('X-Upper', 'a')), END_HEADERS));
    assert.equal(await rst(c, 1), CODE.PROTOCOL_ERROR);
    const late = [];
    for (let i = 0; i < 4; i++) late.push(frame(TYPE.DATA, 0, 1, Buffer.alloc(16_000, 0x20)));
    // Trailers (RFC 9113 §8.1) on the reset stream: ignored too.
    late.push(headers(1, literal('x-trailer', 'late')));
    c.send(...late);
    await roundTrip(c);
    assert.equal(c.frames.filter((f) => f.type === TYPE.RST_STREAM).length, 1, 'a second RST_STREAM');
    assert.ok(!c.frames.some((f) => f.type === TYPE.GOAWAY), 'GOAWAY for a reset stream');
    // The 64,000 ignored octets were given back to the connection window.
    const given = c.frames.filter((f) => f.type === TYPE.WINDOW_UPDATE && f.stream === 0)
      .reduce((n, f) => n + f.payload.readUInt32BE(0), 0);
    assert.ok(given >= 32_000, `connection window given back: ${given}`);
    // And the connection goes on: the chat stream on it too.
    c.send(headers(3, request('/style.css')));
    assert.ok(await c.next((f) => f.type === TYPE.HEADERS && f.stream === 3));
    c.end();
  });

  test('RFC 9113 §5.1, §6.4: WINDOW_UPDATE of 0 on an idle stream is GOAWAY PROTOCOL_ERROR, not RST_STREAM', T, async () => {
    const g = await goaway(server.port, [HELLO, frame(TYPE.WINDOW_UPDATE, 0, 1, u32(0))]);
    assert.equal(g.code, CODE.PROTOCOL_ERROR, g.debug);
    assert.match(g.debug, /idle/);
    // On an open stream it stays a stream error.
    const c = raw(server.port);
    c.send(HELLO, headers(1, request('/messages')));
    await c.next((f) => f.type === TYPE.HEADERS && f.stream === 1);
    c.send(frame(TYPE.WINDOW_UPDATE, 0, 1, u32(0)));
    assert.equal(await rst(c, 1), CODE.PROTOCOL_ERROR);
    c.end();
  });

  test('RFC 9110 §9.3.2: HEAD is answered like GET, without content', T, async () => {
    for (const target of ['/', '/style.css', '/chat.js?v=2']) {
      const get = await curl(server.port, target);
      const head = await curl(server.port, target, '-I');
      assert.equal(head.status, 200, target);
      assert.equal(head.body, '');
      const length = (h) => h.match(/content-length: (\d+)/i)?.[1];
      assert.equal(length(head.head), String(Buffer.byteLength(get.body)), target);
      const type = (h) => h.match(/content-type: (.*)/i)?.[1];
      assert.equal(type(head.head), type(get.head));
    }
    // END_STREAM on HEADERS, no DATA frame.
    const c = raw(server.port);
    c.send(HELLO, headers(1, request('/style.css', 'HEAD')), headers(3, request('/messages', 'HEAD')),
      headers(5, request('/nothing', 'HEAD')));
    for (const id of [1, 3, 5]) {
      const h = await c.next((f) => f.type === TYPE.HEADERS && f.stream === id);
      assert.ok(h.flags & END_STREAM, `HEADERS on ${id} without END_STREAM`);
    }
    await roundTrip(c);
    assert.ok(!c.frames.some((f) => f.type === TYPE.DATA), 'DATA in a HEAD response');
    assert.ok(!c.frames.some((f) => f.type === TYPE.RST_STREAM || f.type === TYPE.GOAWAY));
    c.end();
  });

  test('RFC 9113 §8.4: the parent response\'s HEADERS come before the pushed responses\' HEADERS', T, async () => {
    const c = raw(server.port);
    c.send(HELLO, headers(1, request('/')));
    await c.next((f) => f.type === TYPE.DATA && f.stream === 1 && (f.flags & END_STREAM));
    await roundTrip(c);
    const at = (match) => c.frames.findIndex(match);
    const parent = at((f) => f.type === TYPE.HEADERS && f.stream === 1);
    const promises = c.frames.filter((f) => f.type === TYPE.PUSH_PROMISE);
    assert.equal(promises.length, 3);
    for (const p of promises) {
      const promised = p.payload.readUInt32BE(0) & 0x7fffffff;
      const pushed = at((f) => f.type === TYPE.HEADERS && f.stream === promised);
      assert.ok(pushed > parent, `pushed HEADERS on ${promised} before the parent's`);
      assert.ok(c.frames.indexOf(p) < pushed, 'a push before its PUSH_PROMISE');
      // §8.4: promises go before the parent's DATA, which refers to them.
      assert.ok(c.frames.indexOf(p) < at((f) => f.type === TYPE.DATA && f.stream === 1));
    }
    c.end();
  });

  test('RFC 7540 §5.3.1: a stream that depends on itself is a stream error PROTOCOL_ERROR', T, async () => {
    const c = raw(server.port);
    // HEADERS with the PRIORITY flag: exclusive bit + dependency 1, weight 16.
    const prio = Buffer.concat([u32(1), Buffer.from([16])]);
    c.send(HELLO, headers(1, Buffer.concat([prio, request('/style.css')]), END_HEADERS | END_STREAM | PRIORITY_FLAG));
    assert.equal(await rst(c, 1), CODE.PROTOCOL_ERROR);
    // PRIORITY on an open stream, depending on itself.
    c.send(headers(3, request('/messages')));
    await c.next((f) => f.type === TYPE.HEADERS && f.stream === 3);
    c.send(frame(TYPE.PRIORITY, 0, 3, Buffer.concat([u32(3), Buffer.from([16])])));
    assert.equal(await rst(c, 3), CODE.PROTOCOL_ERROR);
    // The HPACK state stayed in step: the next request is served.
    c.send(headers(5, request('/style.css')));
    assert.ok(await c.next((f) => f.type === TYPE.HEADERS && f.stream === 5));
    c.end();
    // On an idle stream, where RST_STREAM is not allowed (§6.4): GOAWAY.
    const g = await goaway(server.port, [HELLO, frame(TYPE.PRIORITY, 0, 7, Buffer.concat([u32(7), Buffer.from([16])]))]);
    assert.equal(g.code, CODE.PROTOCOL_ERROR, g.debug);
  });

  test('RFC 9113 §3.4: bytes that start like the preface but are not it get GOAWAY PROTOCOL_ERROR', T, async () => {
    for (const start of ['PRI * HTTP/2.0\n\nSM\n\n', 'PRI * HTTP/1.1\r\n\r\n', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'.toLowerCase()]) {
      const c = raw(server.port);
      c.send(Buffer.from(start));
      await c.closed;
      if (start === start.toLowerCase()) {
        assert.match(c.text(), /^HTTP\/1\.1 /, 'lower case is not like the preface: answered as HTTP/1.1');
        continue;
      }
      const g = c.frames.find((f) => f.type === TYPE.GOAWAY);
      assert.ok(g, `${JSON.stringify(start)} got ${JSON.stringify(c.text().slice(0, 40))}`);
      assert.equal(g.payload.readUInt32BE(4), CODE.PROTOCOL_ERROR);
    }
  });
});
