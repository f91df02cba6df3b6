// Lesson 01 and the rules of HTTP/1.1 (RFC 9112, RFC 9110) that a browser never
// tests but a proxy, a smuggler or curl does: half-close, lingering close, HEAD,
// queries on assets, repeated fields, Expect, Host, chunked framing, HTTP/1.0.
// Raw bytes over loopback; every wait is bounded by the test's timeout, and
// nothing asserts how long anything takes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { exchange, request, responses } from './http1_raw.mjs';
import { BUILD_DIR, startLesson, stopClean } from './lib.mjs';

const T = { timeout: 60_000 };
const H = 'Host: localhost\r\n';
const post = (body, extra = '') =>
  `POST /messages HTTP/1.1\r\n${H}Content-Type: application/json\r\n` +
  `Content-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
const chunkedPost = (framing) =>
  `POST /messages HTTP/1.1\r\n${H}Content-Type: application/json\r\n` +
  `Transfer-Encoding: chunked\r\n\r\n${framing}`;

describe('lesson 01: HTTP/1.1 rules', () => {
  let server;
  before(async () => {
    server = await startLesson(1);
  });
  after(async () => stopClean(server));

  test('an asset path with any query is answered 200 (the query ignored)', T, async () => {
    for (const target of ['/style.css?v=1', '/?x', '/chat.js?', '/client.js?a=1&b',
      '/?']) {
      const r = await request(server.port, `GET ${target} HTTP/1.1\r\n${H}\r\n`);
      assert.equal(r?.status, 200, target);
      assert.ok(r.body.length > 0, target);
    }
  });

  test('RFC 9110 §9.3.2: HEAD is answered like GET, without content', T, async () => {
    for (const target of ['/', '/style.css?v=1', '/messages']) {
      const get = await request(server.port, `GET ${target} HTTP/1.1\r\n${H}\r\n`);
      const { data } = await exchange(server.port, [`HEAD ${target} HTTP/1.1\r\n${H}\r\n`]);
      const [head, ...rest] = responses(data);
      assert.equal(head.status, 200, target);
      assert.equal(head.headers['content-type'], get.headers['content-type']);
      if (target !== '/messages')
        assert.equal(head.headers['content-length'], get.headers['content-length']);
      // Nothing after the head: the stream ends with the blank line.
      assert.ok(data.toString('latin1').endsWith('\r\n\r\n'), target);
      assert.equal(rest.length, 0);
    }
  });

  test('RFC 9112 §9.6: a half-closed client gets all its pipelined answers', T, async () => {
    // Enough requests for chat.js to make 6 MB of answers (more than the socket
    // buffers hold, less than the 8 MiB output cap), then FIN; the client starts
    // reading only a little later, so most answers are still queued in the server
    // when its FIN arrives.
    const one = `GET /chat.js?v=1 HTTP/1.1\r\n${H}\r\n`;
    const size = (await request(server.port, one)).body.length;
    const count = Math.floor(6e6 / (size + 300));
    assert.ok(count >= 300, `${count} requests`);
    const sock = net.connect(server.port, '127.0.0.1');
    const chunks = [];
    let error = null;
    sock.on('error', (e) => (error = e));
    sock.on('data', (c) => chunks.push(c));
    await once(sock, 'connect');
    sock.pause();
    sock.end(one.repeat(count));
    setTimeout(() => sock.resume(), 500);
    await once(sock, 'close');
    assert.equal(error, null);
    const got = responses(Buffer.concat(chunks));
    assert.equal(got.length, count);
    assert.ok(got.every((r) => r.status === 200));
  });

  test('RFC 9112 §9.6: a 413 is read by a client still sending its body', T, async () => {
    // 4 MiB announced and sent: the server refuses at the head, then drains what
    // follows instead of resetting the connection under the client's feet. The
    // client reads nothing for a moment, so the 413 waits in its socket, where a
    // reset would destroy it.
    const sock = net.connect(server.port, '127.0.0.1');
    const chunks = [];
    let error = null;
    sock.on('error', (e) => (error = e));
    sock.on('data', (c) => chunks.push(c));
    await once(sock, 'connect');
    sock.pause();
    sock.end(post('x'.repeat(4 << 20)));
    setTimeout(() => sock.resume(), 500);
    await once(sock, 'close');
    assert.equal(error, null, `the client saw ${error?.code}`);
    const [r] = responses(Buffer.concat(chunks));
    assert.equal(r?.status, 413);
    assert.equal(r.headers.connection, 'close');
  });

  test('RFC 9110 §5.3: Connection: keep-alive plus Connection: close closes', T, async () => {
    const sock = net.connect(server.port, '127.0.0.1');
    const chunks = [];
    sock.on('data', (c) => chunks.push(c));
    sock.write(`GET /style.css HTTP/1.1\r\n${H}Connection: keep-alive\r\n` +
      'Connection: close\r\n\r\n');
    // The server closes after its answer; the client never half-closes.
    await once(sock, 'end');
    sock.destroy();
    const [r] = responses(Buffer.concat(chunks));
    assert.equal(r.status, 200);
    assert.equal(r.headers.connection, 'close');
  });

  test('RFC 9110 §10.1.1: 100 Continue is sent before the body is', T, async () => {
    const sock = net.connect(server.port, '127.0.0.1');
    let got = '';
    sock.on('data', (c) => (got += c.toString('latin1')));
    const body = JSON.stringify({ user: 'ada', text: 'x'.repeat(2000) });
    const full = post(body, 'Expect: 100-continue\r\n');
    sock.write(full.slice(0, full.length - body.length));
    while (!got.includes('\r\n\r\n')) await once(sock, 'data');
    assert.match(got, /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
    sock.write(body);
    while (!/\r\n\r\n[^]*\}/.test(got.slice(25))) await once(sock, 'data');
    assert.equal(responses(Buffer.from(got, 'latin1'))[1].status, 201);
    sock.destroy();
  });

  test('RFC 9110 §10.1.1: over the limit, the final 413 comes without the body', T,
    async () => {
      const sock = net.connect(server.port, '127.0.0.1');
      let got = '';
      sock.on('data', (c) => (got += c.toString('latin1')));
      sock.write(`POST /messages HTTP/1.1\r\n${H}Content-Type: application/json\r\n` +
        'Content-Length: 70000\r\nExpect: 100-continue\r\n\r\n');
      await once(sock, 'end');
      sock.destroy();
      const [r] = responses(Buffer.from(got, 'latin1'));
      assert.equal(r.status, 413);
    });

  test('RFC 9110 §10.1.1: curl posting 1.5 KiB reads our 100 Continue', T, async () => {
    const file = path.join(os.tmpdir(), `lesson1-expect-${process.pid}.json`);
    writeFileSync(file, JSON.stringify({ user: 'curl', text: 'y'.repeat(1500) }));
    const stderr = await new Promise((resolve, reject) => {
      execFile('curl', ['-sv', '-o', '/dev/null', '-w', '%{http_code}',
        '-H', 'Content-Type: application/json', '-H', 'Expect: 100-continue',
        '--data-binary', `@${file}`, `http://127.0.0.1:${server.port}/messages`],
      (err, stdout, errText) => (err ? reject(err) : resolve({ stdout, errText })));
    });
    assert.equal(stderr.stdout, '201');
    assert.match(stderr.errText, /< HTTP\/1\.1 100 Continue/);
  });

  test('RFC 9112 §3.2: a missing, repeated or invalid Host is 400', T, async () => {
    for (const head of ['GET / HTTP/1.1\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a b\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: user@a\r\n\r\n']) {
      const r = await request(server.port, head);
      assert.equal(r?.status, 400, JSON.stringify(head));
    }
    assert.equal((await request(server.port, 'GET / HTTP/1.1\r\nHost: [::1]:8\r\n\r\n'))
      .status, 200);
  });

  test('RFC 9112 §3.2.2: absolute-form, any case of scheme, query kept', T, async () => {
    const r = await request(server.port,
      `GET HTTP://LOCALHOST:1/style.css?v=1 HTTP/1.1\r\n${H}\r\n`);
    assert.equal(r.status, 200);
    const m = await request(server.port,
      `GET hTTp://localhost/messages?since=x HTTP/1.1\r\n${H}\r\n`);
    assert.equal(m.status, 400, 'the query reached the handler (since=x is refused)');
  });

  test('RFC 9112 §9.3: HTTP/1.0 keep-alive only when the answer says so', T, async () => {
    const one = 'GET /style.css HTTP/1.0\r\nConnection: keep-alive\r\n\r\n';
    const { data } = await exchange(server.port, [one + one]);
    const got = responses(data);
    assert.equal(got.length, 2);
    assert.equal(got[0].headers.connection, 'keep-alive');
    const plain = await request(server.port, 'GET /style.css HTTP/1.0\r\n\r\n');
    assert.equal(plain.headers.connection, 'close');
  });

  test('RFC 9110 §9.3.2, RFC 9112 §9.3: polls woken by one post share one answer, ' +
    'except HEAD, HTTP/1.0 and Connection: close, which get their own', T, async () => {
    const { messages } = JSON.parse((await request(server.port,
      `GET /messages HTTP/1.1\r\n${H}\r\n`)).body);
    const since = messages.at(-1)?.id ?? 0;
    const target = `/messages?since=${since}`;
    // Holds a poll on its own connection; resolves with its whole answer, raw.
    const poll = (bytes, head) => new Promise((resolve, reject) => {
      const sock = net.connect(server.port, '127.0.0.1');
      let data = Buffer.alloc(0);
      const done = () => {
        sock.destroy();
        resolve(data.toString('latin1'));
      };
      sock.on('data', (c) => {
        data = Buffer.concat([data, c]);
        const text = data.toString('latin1');
        const end = text.indexOf('\r\n\r\n');
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(text)?.[1]);
        if (end >= 0 && (head || text.length - end - 4 >= length)) done();
      });
      sock.on('close', done);
      sock.on('error', reject);
      sock.write(bytes);
    });
    const plain = `GET ${target} HTTP/1.1\r\n${H}\r\n`;
    const polls = [poll(plain), poll(plain),
      poll(`HEAD ${target} HTTP/1.1\r\n${H}\r\n`, true),
      poll(`GET ${target} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`),
      poll(`GET ${target} HTTP/1.1\r\n${H}Connection: close\r\n\r\n`)];
    const posted = await request(server.port, post('{"user":"ada","text":"shared"}'));
    assert.equal(posted.status, 201);
    const [a, b, head, old, close] = await Promise.all(polls);
    // The same bytes for both plain polls, with a current IMF-fixdate.
    assert.equal(a, b);
    const [got] = responses(Buffer.from(a, 'latin1'));
    assert.equal(got.status, 200);
    assert.match(got.headers.date, /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/);
    assert.equal(JSON.parse(got.body).messages.at(-1).text, 'shared');
    assert.equal(got.headers.connection, undefined);
    // HEAD: the same head, no content.
    assert.ok(head.endsWith('\r\n\r\n'));
    const [h] = responses(Buffer.from(head, 'latin1'));
    assert.equal(h.headers['content-length'], got.headers['content-length']);
    assert.equal(h.headers['content-type'], 'application/json');
    // HTTP/1.0 keep-alive and Connection: close say so, with the same content.
    const [o] = responses(Buffer.from(old, 'latin1'));
    assert.equal(o.headers.connection, 'keep-alive');
    assert.equal(o.body, got.body);
    const [c] = responses(Buffer.from(close, 'latin1'));
    assert.equal(c.headers.connection, 'close');
    assert.equal(c.body, got.body);
  });

  test('RFC 9112 §2.2, §7.1.2: a bare LF after the last chunk is refused, not trailers',
    T, async () => {
      const smuggle = chunkedPost(
        `0\r\n\nGET /style.css HTTP/1.1\r\nHost: x\r\n\r\n`);
      const { data } = await exchange(server.port, [smuggle]);
      const got = responses(data);
      assert.equal(got.length, 1);
      assert.equal(got[0].status, 400);
      assert.equal(got[0].headers.connection, 'close');
    });

  test('RFC 9112 §7.1.1: chunk extensions are checked; sizes are not trimmed', T,
    async () => {
      const ok = JSON.stringify({ user: 'ext', text: 'hi' });
      const size = ok.length.toString(16);
      assert.equal((await request(server.port,
        chunkedPost(`${size};a=b;c="d"\r\n${ok}\r\n0\r\n\r\n`))).status, 201);
      for (const line of [`${size};`, `${size};a=`, `${size};a b`, ` ${size}`,
        `${size} `, `${size};a="open`]) {
        const r = await request(server.port, chunkedPost(`${line}\r\n${ok}\r\n0\r\n\r\n`));
        assert.equal(r?.status, 400, JSON.stringify(line));
      }
      const r = await request(server.port,
        chunkedPost(`${size}\r\n${ok}\r\n0\r\nno colon\r\n\r\n`));
      assert.equal(r.status, 400);
    });

  test('limits hold for every TCP split: one write or two, the same 400', T, async () => {
    const ok = JSON.stringify({ user: 'split', text: 'hi' });
    const bytes = chunkedPost(`${ok.length.toString(16)};${'e'.repeat(1100)}\r\n` +
      `${ok}\r\n0\r\n\r\n`);
    const head = bytes.indexOf('\r\n\r\n') + 4;
    for (const split of [bytes.length, head + 1000, head + 1030]) {
      const { data } = await exchange(server.port,
        [bytes.slice(0, split), bytes.slice(split)].filter(Boolean));
      assert.equal(responses(data)[0]?.status, 400, `split at ${split}`);
    }
  });
});

test('--port 70000 is refused with a message naming the range', T, async () => {
  const proc = spawn(path.resolve(BUILD_DIR, 'lesson-1'), ['--port', '70000'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (c) => (err += c));
  const [code] = await once(proc, 'exit');
  assert.equal(code, 2);
  assert.match(err, /--port must be between 0 and 65535, not 70000/);
});
