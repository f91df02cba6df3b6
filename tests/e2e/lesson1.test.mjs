// Lesson 01 end to end: long polling over real sockets, with peers nobody here
// wrote (Node's http client, curl, headless Chromium) and raw bytes for what no
// client would send. Tests assert what happens, never how fast.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { promisify } from 'node:util';
import { launchBrowser, sleep, startLesson } from './lib.mjs';

const T = { timeout: 30_000 };
const run = promisify(execFile);

// One HTTP request on its own connection (no pooling: 200 held polls need 200
// sockets). Resolves with { status, headers, body, json }.
function request(port, method, path, { body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false, headers },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (data += c));
        res.on('end', () => {
          let json;
          try {
            json = JSON.parse(data);
          } catch {}
          resolve({ status: res.statusCode, headers: res.headers, body: data, json });
        });
      });
    req.on('error', reject);
    req.end(body);
  });
}
const post = (port, user, text) => request(port, 'POST', '/messages', {
  body: JSON.stringify({ user, text }),
  headers: { 'Content-Type': 'application/json' },
});

// Writes raw bytes and collects everything until the server closes (or `until`
// matches what arrived so far). Resolves with the text and whether it closed.
function raw(port, bytes, { until, pace } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    let done = false;
    const finish = (closed) => {
      if (done) return;
      done = true;
      sock.destroy();
      resolve({ text: data, closed });
    };
    sock.on('data', (c) => {
      data += c.toString('latin1');
      if (until && until.test(data)) finish(false);
    });
    sock.on('close', () => finish(true));
    sock.on('error', (e) => (done ? null : e.code === 'ECONNRESET' ? finish(true) : reject(e)));
    if (pace) pace(sock);
    else sock.write(bytes);
  });
}
const statusOf = (text) => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);

describe('lesson 01: long polling', () => {
  let server;
  before(async () => {
    server = await startLesson(1, ['--head-timeout', '500']);
  });
  after(async () => {
    const { code } = await server.stop();
    assert.equal(code, 0, 'exits 0 on SIGTERM');
  });

  test('RFC 9110 §15.5.9: a head begun after a keep-alive answer gets 408 at ' +
    '--head-timeout, not at the later idle timeout', T, async () => {
    // After the 404, the connection's idle timer (60 s) is set; the head that
    // follows must still be cut off at the head timeout (500 ms here).
    const r = await raw(server.port, '', {
      pace: (sock) => {
        let text = '';
        sock.on('data', (c) => {
          if (text.includes('not found\n')) return;
          text += c.toString('latin1');
          if (text.includes('not found\n')) sock.write('GET /messages HTTP/1.1\r\nHo');
        });
        sock.write('GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n');
      },
    });
    assert.equal(statusOf(r.text), 404);
    assert.match(r.text, /not found\n[^]*HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.ok(r.closed);
  });

  test('a long poll is held until a message is posted, then answered with it', T, async () => {
    const { json: start } = await request(server.port, 'GET', '/messages');
    const since = start.messages.at(-1)?.id ?? 0;
    let answered = false;
    const poll = request(server.port, 'GET', `/messages?since=${since}`).then((r) => {
      answered = true;
      return r;
    });
    await sleep(300);
    assert.equal(answered, false, 'nothing to say yet: the poll is held');
    const created = await post(server.port, 'ada', 'wake up');
    assert.equal(created.status, 201);
    assert.equal(created.json.text, 'wake up');
    const res = await poll;
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { messages: [created.json], missed: 0 });
  });

  test('200 held polls are all answered by one post', T, async () => {
    const { json: start } = await request(server.port, 'GET', '/messages');
    const since = start.messages.at(-1)?.id ?? 0;
    const polls = Array.from({ length: 200 }, () =>
      request(server.port, 'GET', `/messages?since=${since}`));
    // Every poll has reached the server once a request sent after them is answered.
    await sleep(500);
    await request(server.port, 'GET', '/messages?since=0&wait=0');
    const { json: msg } = await post(server.port, 'bob', 'to all two hundred');
    const answers = await Promise.all(polls);
    for (const a of answers) {
      assert.equal(a.status, 200);
      assert.deepEqual(a.json.messages, [msg]);
    }
  });

  test('since: what came after an id, once, in order; wait=0 answers at once', T, async () => {
    const a = await post(server.port, 'ada', 'first');
    const b = await post(server.port, 'ada', 'second');
    assert.equal(b.json.id, a.json.id + 1, 'ids increase by one');
    const after = await request(server.port, 'GET', `/messages?since=${a.json.id - 1}`);
    assert.deepEqual(after.json.messages.map((m) => m.text), ['first', 'second']);
    const empty = await request(server.port, 'GET', `/messages?since=${b.json.id}&wait=0`);
    assert.deepEqual(empty.json, { messages: [], missed: 0 });
    const latest = await request(server.port, 'GET', '/messages');
    assert.ok(latest.json.messages.length <= 50);
    assert.equal(latest.json.messages.at(-1).id, b.json.id);
    assert.match(latest.headers['cache-control'], /no-store/);
  });

  test('invalid posts get 400 with a JSON error naming the field', T, async () => {
    const cases = [
      [{ user: '', text: 'hi' }, /^user: /],
      [{ user: 'x'.repeat(33), text: 'hi' }, /^user: must be 1-32/],
      [{ user: 'ada', text: 'y'.repeat(2001) }, /^text: must be 1-2000/],
      [{ user: 'ada', text: 'bell\u0007' }, /^text: control/],
      [{ user: 'ada' }, /text/],
      [{ user: 7, text: 'hi' }, /user/],
    ];
    for (const [body, reason] of cases) {
      const res = await request(server.port, 'POST', '/messages', {
        body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.json.error, reason);
    }
    // 2000 code points are fine even when they are 4 bytes each.
    const emoji = await post(server.port, 'ada', '😀'.repeat(2000));
    assert.equal(emoji.status, 201);
    const notJson = await request(server.port, 'POST', '/messages', {
      body: '{"user":"ada",', headers: { 'Content-Type': 'application/json' } });
    assert.equal(notJson.status, 400);
    assert.ok(notJson.json.error);
    const form = await request(server.port, 'POST', '/messages', {
      body: 'user=ada&text=hi', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.equal(form.status, 415);
    const since = await request(server.port, 'GET', '/messages?since=abc');
    assert.equal(since.status, 400);
    assert.match(since.json.error, /^since: /);
  });

  test('each bad request gets its status, and the server keeps serving', T, async () => {
    const p = server.port;
    const head = (extra) => `GET / HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
    const big = await raw(p, head(`X-Big: ${'a'.repeat(9000)}\r\n`));
    assert.equal(statusOf(big.text), 431);
    assert.ok(big.closed);
    const body = await raw(p, 'POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      'Content-Length: 70000\r\n\r\n');
    assert.equal(statusOf(body.text), 413);
    const bad = await raw(p, 'GET /\r\n\r\n');
    assert.equal(statusOf(bad.text), 400);
    assert.ok(bad.closed, 'a malformed request closes the connection');
    const noHost = await raw(p, 'GET / HTTP/1.1\r\n\r\n');
    assert.equal(statusOf(noHost.text), 400);
    const gzip = await raw(p, 'POST /messages HTTP/1.1\r\nHost: x\r\n' +
      'Transfer-Encoding: gzip, chunked\r\n\r\n');
    assert.equal(statusOf(gzip.text), 501);
    // RFC 9112 §6.3: a request whose last coding is not chunked has no known length.
    const notLast = await raw(p, 'POST /messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n');
    assert.equal(statusOf(notLast.text), 400);
    const smuggle = await raw(p, 'POST /messages HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n' +
      'Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    assert.equal(statusOf(smuggle.text), 400);
    const version = await raw(p, 'GET / HTTP/3.0\r\nHost: x\r\n\r\n');
    assert.equal(statusOf(version.text), 505);
    const put = await raw(p, 'PUT /messages HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n',
      { until: /\r\n\r\n[^]*\n/ });
    assert.equal(statusOf(put.text), 405);
    assert.match(put.text, /\r\nAllow: GET, HEAD, POST\r\n/);
    const traversal = await raw(p, 'GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(traversal.text), 404);
    // A head that never finishes: 408 once --head-timeout (500 ms here) has passed.
    const slow = await raw(p, 'GET /messages HTTP/1.1\r\nHo');
    assert.equal(statusOf(slow.text), 408);
    assert.ok(slow.closed);
    const logs = server.stderr();
    assert.match(logs, /431/);
    assert.match(logs, /408 Request Timeout: request head not complete/);
    // Still serving.
    assert.equal((await request(p, 'GET', '/messages?since=0&wait=0')).status, 200);
  });

  test('pipelined requests in one write are answered in order; chunked bodies are read', T, async () => {
    const json = '{"user":"pipe","text":"chunked"}';
    const chunked = `${json.length.toString(16)}\r\n${json}\r\n0\r\n\r\n`;
    const res = await raw(server.port,
      'GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n' +
      'POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      `Transfer-Encoding: chunked\r\n\r\n${chunked}` +
      'HEAD /messages HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const statuses = [...res.text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
    assert.deepEqual(statuses, [200, 201, 200]);
    assert.match(res.text, /"user":"pipe","text":"chunked"/);
    assert.ok(res.text.endsWith('\r\n\r\n'), 'HEAD has no body');
    assert.ok(res.closed);
  });

  test('curl as a peer: the page, a post, and a long poll', T, async () => {
    const page = await run('curl', ['-sS', '-i', server.url]);
    assert.match(page.stdout, /^HTTP\/1\.1 200 OK/);
    assert.match(page.stdout, /content-security-policy: default-src 'self'/i);
    assert.match(page.stdout, /<script type="module" src="\/chat\.js">/);
    const js = await run('curl', ['-sS', '-w', '%{content_type}', `${server.url}client.js`]);
    assert.match(js.stdout, /long polling/);
    assert.match(js.stdout, /text\/javascript/);
    const { json: start } = await request(server.port, 'GET', '/messages');
    const since = start.messages.at(-1)?.id ?? 0;
    const poll = run('curl', ['-sS', `${server.url}messages?since=${since}`]);
    await sleep(300);
    const made = await run('curl', ['-sS', '-H', 'Content-Type: application/json',
      '--data', '{"user":"curl","text":"from curl"}', `${server.url}messages`]);
    const stored = JSON.parse(made.stdout);
    assert.equal(stored.user, 'curl');
    assert.deepEqual(JSON.parse((await poll).stdout).messages, [stored]);
  });
});

describe('lesson 01: limits and shutdown', () => {
  test('a bounded history says how many messages were missed', T, async () => {
    const server = await startLesson(1, ['--history', '3']);
    try {
      for (let i = 1; i <= 5; i++) await post(server.port, 'ada', `m${i}`);
      const res = await request(server.port, 'GET', '/messages?since=0');
      assert.deepEqual(res.json.messages.map((m) => m.text), ['m3', 'm4', 'm5']);
      assert.equal(res.json.missed, 2);
    } finally {
      await server.stop();
    }
  });

  test('SIGTERM answers held polls and exits 0', T, async () => {
    const server = await startLesson(1);
    const poll = request(server.port, 'GET', '/messages?since=0');
    await sleep(300);
    const { code } = await server.stop();
    assert.equal(code, 0);
    const res = await poll;
    assert.equal(res.status, 200);
    assert.deepEqual(res.json.messages, []);
  });

  test('a held poll whose client goes away is dropped at once', T, async () => {
    const server = await startLesson(1, ['--trace']);
    try {
      const sock = net.connect(server.port, '127.0.0.1');
      sock.write('GET /messages?since=0 HTTP/1.1\r\nHost: x\r\n\r\n');
      await server.waitFor(/^#1 ← GET \/messages\?since=0/);
      sock.destroy();
      await server.waitFor(/^#1 ✕ closed by the client before it was answered$/);
      // The next post wakes no poll: nothing is written to connection 1.
      await post(server.port, 'ada', 'after the close');
      await server.waitFor(/→ \{"id":1,"user":"ada","text":"after the close"/);
      assert.ok(!server.lines.some((l) => l.startsWith('#1 →')));
    } finally {
      await server.stop();
    }
  });

  test('--help lists the flags; a taken port is a clear start-up error', T, async () => {
    const binary = `${process.env.BUILD_DIR ?? 'build'}/lesson-1`;
    const help = await run(binary, ['--help']);
    for (const flag of ['--port', '--trace', '--help', '--history', '--poll-timeout'])
      assert.match(help.stdout, new RegExp(flag));
    const server = await startLesson(1);
    try {
      const err = await run(binary, ['--port', String(server.port)]).catch((e) => e);
      assert.notEqual(err.code, 0);
      assert.match(err.stderr, /in use/);
    } finally {
      await server.stop();
    }
  });

  test('--trace prints each request and response on stdout', T, async () => {
    const server = await startLesson(1, ['--trace']);
    try {
      await post(server.port, 'ada', 'traced');
      await server.waitFor(/→ \{"id":1,"user":"ada","text":"traced"/);
      assert.ok(server.lines.some((l) => /← POST \/messages HTTP\/1\.1$/.test(l)));
      assert.ok(server.lines.some((l) => /→ HTTP\/1\.1 201 Created$/.test(l)));
    } finally {
      await server.stop();
    }
  });
});

describe('lesson 01: the page in headless Chromium', () => {
  let server;
  let browser;
  before(async () => {
    server = await startLesson(1);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server.stop();
  });

  async function open(user, query = '') {
    const page = await browser.newPage();
    const dialogs = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      d.dismiss();
    });
    page.dialogs = dialogs;
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

  test('two pages chat both ways; hostile HTML is shown as text', T, async () => {
    const ada = await open('ada');
    const bob = await open('bob');
    assert.equal(await ada.textContent('#transport'), 'HTTP long polling');
    await say(ada, 'hello bob');
    await shows(bob, 'hello bob');
    await say(bob, 'hello ada');
    await shows(ada, 'hello ada');
    const hostile = '<img src=x onerror=alert(1)>';
    await say(bob, hostile);
    await shows(ada, hostile);
    await shows(bob, hostile);
    // Rendered as characters: no element was made from it and nothing ran.
    assert.equal(await ada.$$eval('#messages img', (els) => els.length), 0);
    assert.deepEqual([...ada.dialogs, ...bob.dialogs], []);
    // Each message once, though the sender gets it both as its answer and by polling.
    const count = await ada.$$eval('#messages .message .text',
      (els) => els.filter((e) => e.textContent === 'hello bob').length);
    assert.equal(count, 1);
    // The wire panel logs each request with its status.
    assert.match(await ada.textContent('#wire'), /GET \/messages\?since=\d+/);
    assert.match(await ada.textContent('#wire'), /200 · \d+ B · held/);
    await Promise.all([ada.close(), bob.close()]);
  });

  test('?mode=short polls every 3 s and still delivers', T, async () => {
    const page = await open('shorty', '?mode=short');
    assert.match(await page.textContent('#transport'), /short polling/);
    await post(server.port, 'ada', 'for the short poller');
    await shows(page, 'for the short poller');
    assert.match(await page.textContent('#wire'), /wait=0/);
    await page.close();
  });

  test('an invalid post shows the server\'s reason', T, async () => {
    const page = await open('x'.repeat(33));
    await say(page, 'too long a name');
    await page.waitForSelector('#error:not([hidden])');
    assert.match(await page.textContent('#error'), /user: must be 1-32/);
    await page.close();
  });
});
