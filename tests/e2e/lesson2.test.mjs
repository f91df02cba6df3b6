// Lesson 02 end to end: real HTTP/2 clients nobody here wrote (curl, nghttp,
// h2load, Node's http2, Chromium) against the server, over TLS (ALPN h2) and
// cleartext with prior knowledge, on the same port.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, startLesson, stopClean } from './lib.mjs';

const T = { timeout: 30_000 };

// Runs a tool to its end; resolves with { code, stdout, stderr }.
function run(cmd, args, timeout = 20_000) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (err.code ?? err.signal) : 0, stdout, stderr }));
  });
}

// Starts a never-ending download (GET /messages) and hands out its lines.
function stream(cmd, args) {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  let buf = '';
  const waiters = [];
  proc.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    for (const w of waiters.slice()) if (lines.some(w.test)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
  });
  return {
    lines,
    until: (test) => lines.some(test) ? Promise.resolve()
      : new Promise((resolve) => waiters.push({ test, resolve })),
    stop: () => proc.kill(),
  };
}

const post = (base, user, text, extra = []) => run('curl', ['-sk', ...extra, '-w', '\n%{http_code} %{http_version}',
  '-H', 'content-type: application/json', '-d', JSON.stringify({ user, text }), `${base}messages`]);

describe('lesson 02 with curl, nghttp, h2load', () => {
  let server, h2c, https;
  before(async () => {
    server = await startLesson(2);
    https = `https://localhost:${server.port}/`;
    h2c = `http://localhost:${server.port}/`;
  });
  after(() => stopClean(server));

  test('prints its https URL first', () => {
    assert.match(server.url, /^https:\/\/localhost:\d+\/$/);
  });

  test('curl --http2-prior-knowledge: POST 201, then GET streams it', T, async () => {
    const r = await post(h2c, 'ada', 'over h2c', ['--http2-prior-knowledge']);
    const [body, status] = r.stdout.split('\n');
    assert.equal(status, '201 2');
    const msg = JSON.parse(body);
    assert.equal(msg.text, 'over h2c');
    const s = stream('curl', ['-sN', '--http2-prior-knowledge', `${h2c}messages?since=${msg.id - 1}`]);
    await s.until((l) => l.includes('"over h2c"'));
    s.stop();
    assert.deepEqual(JSON.parse(s.lines[0]), msg);
  });

  test('curl --http2 over TLS (ALPN h2): POST 201, GET streams it', T, async () => {
    // `since` makes this independent of timing: whether the stream opens before
    // or after the post, the message comes down it (live, or as history).
    const first = await post(https, 'bob', 'marker', ['--http2']);
    assert.match(first.stdout, /\n201 2$/);
    const since = JSON.parse(first.stdout.split('\n')[0]).id;
    const s = stream('curl', ['-skN', '--http2', `${https}messages?since=${since}`]);
    const r = await post(https, 'bob', 'over tls', ['--http2']);
    assert.match(r.stdout, /\n201 2$/);
    await s.until((l) => l.includes('"over tls"'));
    s.stop();
    assert.equal(JSON.parse(s.lines[0]).text, 'over tls');
  });

  test('GET / over TLS serves the page with HTTP/2', T, async () => {
    const r = await run('curl', ['-sk', '--http2', '-w', '%{http_code} %{http_version}', '-o', '/dev/null', https]);
    assert.equal(r.stdout, '200 2');
    const v = await run('curl', ['-sk', '--http2', '-D', '-', '-o', '/dev/null', `${https}client.js`]);
    assert.match(v.stdout, /^HTTP\/2 200/);
    assert.match(v.stdout, /content-type: text\/javascript/);
  });

  test('POST with a bad body is 400 with {"error"}, wrong type 415', T, async () => {
    const r = await run('curl', ['-s', '--http2-prior-knowledge', '-w', '\n%{http_code}',
      '-H', 'content-type: application/json', '-d', '{"user":"","text":"x"}', `${h2c}messages`]);
    const [body, status] = r.stdout.split('\n');
    assert.equal(status, '400');
    assert.ok(JSON.parse(body).error);
    const t = await run('curl', ['-s', '--http2-prior-knowledge', '-w', '%{http_code}', '-o', '/dev/null',
      '-d', '{"user":"a","text":"x"}', `${h2c}messages`]);
    assert.equal(t.stdout, '415');
  });

  test('a plain HTTP/1.1 request is told how to connect', T, async () => {
    const sock = net.connect(server.port, '127.0.0.1');
    sock.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    let text = '';
    sock.on('data', (d) => { text += d; });
    await new Promise((resolve) => sock.on('close', resolve));
    assert.match(text, /^HTTP\/1\.1 505 /);
    assert.match(text, /--http2-prior-knowledge/);
    assert.match(text, /https:\/\/localhost:/);
  });

  test('over TLS, a client that asks ALPN for http/1.1 is told how to connect', T, async () => {
    const r = await run('curl', ['-sk', '--http1.1', '-w', '\n%{http_code}', https]);
    assert.match(r.stdout, /speaks HTTP\/2 only/);
    assert.match(r.stdout, /\n505$/);
  });

  test('nghttp -ans: GET / pushes the scripts and the stylesheet', T, async () => {
    const r = await run('nghttp', ['-ans', https]);
    assert.equal(r.code, 0, r.stderr);
    // nghttp marks pushed responses with '*' in its -s table.
    for (const path of ['/client.js', '/style.css', '/chat.js'])
      assert.match(r.stdout, new RegExp(`\\*\\s.*200.*${path.replace('.', '\\.')}`), r.stdout);
    const v = await run('nghttp', ['-nv', https]);
    assert.match(v.stdout, /recv PUSH_PROMISE frame/);
    assert.match(v.stdout, /:path: \/client\.js/);
  });

  test('h2load: 200 requests on 4 connections, none failed (TLS and h2c)', T, async () => {
    for (const url of [`${https}client.js`, `${h2c}style.css`]) {
      const r = await run('h2load', ['-n', '200', '-c', '4', '-m', '10', url]);
      assert.match(r.stdout, /200 succeeded, 0 failed, 0 errored/, r.stdout);
      assert.match(r.stdout, /status codes: 200 2xx/);
    }
    const body = '/tmp/lesson2-h2load-post.json';
    await import('node:fs/promises').then((fs) => fs.writeFile(body, '{"user":"load","text":"x"}'));
    const p = await run('h2load', ['-n', '100', '-c', '2', '-d', body, '-H', 'content-type: application/json', `${h2c}messages`]);
    assert.match(p.stdout, /100 succeeded, 0 failed/, p.stdout);
    assert.match(p.stdout, /status codes: 100 2xx/);
  });
});

describe('lesson 02 with Node http2', () => {
  let server;
  before(async () => { server = await startLesson(2, ['--history', '5']); });
  after(() => stopClean(server));

  // Opens GET /messages on a session and collects its lines.
  function listen(session, path = '/messages') {
    const req = session.request({ ':path': path });
    const lines = [];
    let buf = '';
    const waiters = [];
    const headers = new Promise((resolve) => req.on('response', resolve));
    req.setEncoding('utf8');
    req.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
      for (const w of waiters.slice()) if (lines.some(w.test)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
    });
    return {
      req, lines, headers,
      until: (test) => lines.some(test) ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ test, resolve })),
    };
  }
  function send(session, user, text) {
    return new Promise((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ':path': '/messages', 'content-type': 'application/json' });
      let body = '';
      let status;
      req.on('response', (h) => { status = h[':status']; });
      req.setEncoding('utf8');
      req.on('data', (d) => { body += d; });
      req.on('end', () => resolve({ status, body: JSON.parse(body) }));
      req.on('error', reject);
      req.end(JSON.stringify({ user, text }));
    });
  }

  test('two clients (TLS and h2c) each hold a stream and see each other\'s posts', T, async () => {
    const a = http2.connect(`https://localhost:${server.port}`, { rejectUnauthorized: false });
    const b = http2.connect(`http://localhost:${server.port}`);
    try {
      const la = listen(a);
      const lb = listen(b);
      const [ha, hb] = await Promise.all([la.headers, lb.headers]);
      assert.equal(ha[':status'], 200);
      assert.equal(ha['content-type'], 'application/x-ndjson');
      assert.equal(hb[':status'], 200);
      const r1 = await send(a, 'ada', 'from a');
      assert.equal(r1.status, 201);
      const r2 = await send(b, 'bob', 'from b');
      assert.equal(r2.status, 201);
      for (const l of [la, lb])
        for (const text of ['from a', 'from b']) await l.until((m) => m.text === text);
      // Each saw both, in id order, once.
      for (const l of [la, lb]) {
        const ids = l.lines.map((m) => m.id);
        assert.deepEqual(ids, [...ids].sort((x, y) => x - y));
        assert.equal(new Set(ids).size, ids.length);
        assert.ok(ids.includes(r1.body.id) && ids.includes(r2.body.id));
      }
      // A second GET on the same connection streams too: multiplexing.
      const la2 = listen(a, `/messages?since=${r1.body.id}`);
      await la2.until((m) => m.id === r2.body.id);
      assert.equal(la2.lines[0].id, r2.body.id);
    } finally {
      a.close();
      b.close();
      a.destroy();
      b.destroy();
    }
  });

  test('?since= older than the history starts with {"missed":N}', T, async () => {
    const c = http2.connect(`http://localhost:${server.port}`);
    try {
      let last;
      for (let i = 0; i < 8; i++) last = (await send(c, 'ada', `m${i}`)).body.id;
      const l = listen(c, `/messages?since=${last - 7}`);
      await l.until((m) => m.id === last);
      assert.deepEqual(l.lines[0], { missed: 2 });
      assert.equal(l.lines.length, 6);
      const bad = listen(c, '/messages?since=x');
      const h = await bad.headers;
      assert.equal(h[':status'], 400);
    } finally {
      c.close();
      c.destroy();
    }
  });
});

describe('lesson 02 in Chromium', () => {
  let server, browser;
  before(async () => {
    server = await startLesson(2);
    browser = await launchBrowser(['--ignore-certificate-errors']);
  });
  after(async () => {
    await browser?.close();
    await stopClean(server);
  });

  async function open(user) {
    const page = await browser.newPage();
    await page.addInitScript((name) => sessionStorage.setItem('chat.name', name), user);
    await page.goto(server.url);
    await page.waitForSelector('#status[data-connected="true"]');
    return page;
  }
  const shows = (page, text) => page.waitForFunction((t) =>
    [...document.querySelectorAll('#messages .message:not(.pending) .text')]
      .some((e) => e.textContent === t), text);

  test('two pages chat over h2 (nextHopProtocol)', T, async () => {
    const ada = await open('ada');
    const bob = await open('bob');
    await ada.fill('#text', 'hello bob');
    await ada.click('#send');
    await shows(bob, 'hello bob');
    await bob.fill('#text', 'hi ada');
    await bob.click('#send');
    await shows(ada, 'hi ada');
    for (const page of [ada, bob]) {
      const protocols = await page.evaluate(() =>
        performance.getEntries().filter((e) => e.nextHopProtocol).map((e) => [e.name, e.nextHopProtocol]));
      assert.ok(protocols.length >= 3, JSON.stringify(protocols));
      for (const [name, proto] of protocols) assert.equal(proto, 'h2', name);
    }
    // The wire panel shows the stream's chunks as they came.
    const wire = await bob.$$eval('#wire li', (els) => els.map((e) => e.textContent));
    assert.ok(wire.some((t) => t.includes('chunk') && t.includes('hello bob')), wire.join('\n'));
  });
});
