// Lesson 03's chat, end to end: several npm `ws` clients on /chat (history on
// connect, ?since=, a post broadcast to everyone including its sender, invalid
// posts answered while the socket stays open, binary refused with 1003), and two
// headless Chromium pages chatting both ways through the real page and client.js.
// Every wait is bounded by the test's timeout; nothing asserts how long things take.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import WebSocket from 'ws';
import { launchBrowser, startLesson } from './lib.mjs';

const T = { timeout: 30_000 };

// A chat client: every JSON message it receives, in order, and a way to wait
// for the next one that matches.
async function chatClient(url, query = '') {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}chat${query}`, ['json'],
    { perMessageDeflate: false });
  const received = [];
  const waiters = [];
  ws.on('message', (data, isBinary) => {
    assert.equal(isBinary, false);
    const msg = JSON.parse(data.toString());
    received.push(msg);
    for (const w of waiters.slice()) {
      if (w.match(msg)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(msg);
      }
    }
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  assert.equal(ws.protocol, 'json');
  return {
    ws,
    received,
    next: (match) => {
      const hit = received.find(match);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    send: (obj) => ws.send(JSON.stringify(obj)),
  };
}

describe('lesson 03: the chat over ws', () => {
  let server;
  const clients = [];
  before(async () => {
    server = await startLesson(3);
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    const { code } = await server.stop();
    assert.equal(code, 0, server.stderr());
  });
  const connect = async (query) => {
    const c = await chatClient(server.url, query);
    clients.push(c);
    return c;
  };

  test('history on connect, then every post to every client', T, async () => {
    const a = await connect();
    const first = await a.next((m) => m.type === 'history');
    assert.deepEqual(first, { type: 'history', messages: [], missed: 0 });
    const b = await connect();
    const c = await connect();
    await b.next((m) => m.type === 'history');
    await c.next((m) => m.type === 'history');

    a.send({ type: 'post', user: 'ada', text: 'hello from a', ref: 7 });
    const mine = await a.next((m) => m.type === 'message' && m.text === 'hello from a');
    assert.equal(mine.ref, 7, "the sender's copy carries its ref");
    assert.equal(mine.user, 'ada');
    assert.equal(typeof mine.id, 'number');
    for (const other of [b, c]) {
      const m = await other.next((x) => x.type === 'message' && x.text === 'hello from a');
      assert.equal(m.id, mine.id);
      assert.equal(m.ref, undefined, 'others get no ref');
    }
    b.send({ type: 'post', user: 'bob', text: 'and from b' });
    for (const x of [a, b, c]) await x.next((m) => m.text === 'and from b');

    // A newcomer gets both in its history; with ?since= only what follows.
    const d = await connect();
    const h = await d.next((m) => m.type === 'history');
    assert.deepEqual(h.messages.map((m) => m.text), ['hello from a', 'and from b']);
    const e = await connect(`?since=${mine.id}`);
    const h2 = await e.next((m) => m.type === 'history');
    assert.deepEqual(h2.messages.map((m) => m.text), ['and from b']);
  });

  test('invalid posts get an error and the socket stays open', T, async () => {
    const a = await connect();
    await a.next((m) => m.type === 'history');
    const bad = [
      [{ type: 'post', user: 'ada', text: '', ref: 1 }, /text/],
      [{ type: 'post', user: '', text: 'hi', ref: 2 }, /user/],
      [{ type: 'post', user: 'ada', text: 'x'.repeat(2001), ref: 3 }, /text/],
      [{ type: 'shout', user: 'ada', text: 'hi', ref: 4 }, /type/],
      [{ type: 'post', user: 'ada', ref: 5 }, /text/],
    ];
    for (const [post, re] of bad) {
      a.send(post);
      const err = await a.next((m) => m.type === 'error' && m.ref === post.ref);
      assert.match(err.error, re);
    }
    a.ws.send('{not json');
    const err = await a.next((m) => m.type === 'error' && m.ref === undefined);
    assert.match(err.error, /JSON/);
    a.send({ type: 'post', user: 'ada', text: 'still open', ref: 6 });
    const ok = await a.next((m) => m.type === 'message' && m.ref === 6);
    assert.equal(ok.text, 'still open');
  });

  test('a binary message on /chat is closed with 1003', T, async () => {
    const a = await connect();
    const closed = new Promise((resolve) => a.ws.once('close', resolve));
    a.ws.send(Buffer.from([1, 2, 3]));
    assert.equal(await closed, 1003);
  });
});

describe('lesson 03: shutting down', () => {
  test('SIGTERM closes every WebSocket with 1001, then exits 0', T, async () => {
    const server = await startLesson(3);
    const a = await chatClient(server.url);
    const b = await chatClient(server.url);
    const codes = [a, b].map((c) => new Promise((resolve) => c.ws.once('close', resolve)));
    const exited = server.stop();
    assert.deepEqual(await Promise.all(codes), [1001, 1001]);
    assert.equal((await exited).code, 0, server.stderr());
  });
});

describe('lesson 03: two Chromium pages chat', () => {
  let server;
  let browser;
  before(async () => {
    server = await startLesson(3);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    const { code } = await server.stop();
    assert.equal(code, 0, server.stderr());
  });

  async function openPage(user, url = server.url) {
    const page = await browser.newPage();
    const dialogs = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      d.dismiss();
    });
    await page.addInitScript((name) => sessionStorage.setItem('chat.name', name), user);
    await page.goto(url);
    await page.waitForSelector('#status[data-connected="true"]');
    return { page, dialogs };
  }
  const send = async (page, text) => {
    await page.fill('#text', text);
    await page.click('#send');
  };
  const shows = (page, text) => page.waitForFunction((t) =>
    [...document.querySelectorAll('#messages .message:not(.pending) .text')]
      .some((e) => e.textContent === t), text);

  test('both ways, and markup is shown as text', T, async () => {
    const a = await openPage('alice');
    const b = await openPage('bob');
    await send(a.page, 'hi bob');
    await shows(b.page, 'hi bob');
    await shows(a.page, 'hi bob');
    await send(b.page, 'hi alice');
    await shows(a.page, 'hi alice');
    const hostile = '<img src=x onerror=alert(1)>';
    await send(a.page, hostile);
    await shows(b.page, hostile);
    await shows(a.page, hostile);
    for (const p of [a, b]) {
      assert.equal(await p.page.locator('#messages img').count(), 0);
      assert.deepEqual(p.dialogs, []);
      // Each message shown once, in order.
      const texts = await p.page.$$eval('#messages .message .text',
        (els) => els.map((e) => e.textContent));
      assert.deepEqual(texts, ['hi bob', 'hi alice', hostile]);
    }
    // The wire panel shows frames: direction, opcode, length.
    const wire = await a.page.locator('#wire').textContent();
    assert.match(wire, /→ text \(0x1\) · \d+ B \{"type":"post"/);
    assert.match(wire, /← text \(0x1\) · \d+ B \{"type":"message"/);
    assert.match(wire, /101 Switching Protocols · protocol json/);
  });

  // A TCP relay in front of the server that the test can cut, and keep shut.
  async function relay(port) {
    const open = new Set();
    let blocked = false;
    const srv = net.createServer((down) => {
      if (blocked) return down.destroy();
      const up = net.connect(port, '127.0.0.1');
      const pair = [down, up];
      for (const s of pair) {
        open.add(s);
        s.on('error', () => {});
        s.on('close', () => pair.forEach((x) => { x.destroy(); open.delete(x); }));
      }
      down.pipe(up);
      up.pipe(down);
    });
    await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
    return {
      port: srv.address().port,
      cut() {
        blocked = true;
        for (const s of open) s.destroy();
      },
      reopen() {
        blocked = false;
      },
      close() {
        this.cut();
        return new Promise((resolve) => srv.close(resolve));
      },
    };
  }

  test('a page that lost its connection gets what it missed, once', T, async () => {
    const r = await relay(server.port);
    try {
      const { page } = await openPage('carol', `http://127.0.0.1:${r.port}/`);
      await send(page, 'before the cut');
      await shows(page, 'before the cut');
      r.cut();
      await page.waitForSelector('#status[data-connected="false"]');
      const other = await chatClient(server.url);
      other.send({ type: 'post', user: 'dave', text: 'while you were away 1' });
      other.send({ type: 'post', user: 'dave', text: 'while you were away 2' });
      await other.next((m) => m.text === 'while you were away 2');
      other.ws.close();
      r.reopen();
      await page.waitForSelector('#status[data-connected="true"]');
      await shows(page, 'while you were away 2');
      await send(page, 'after the cut');
      await shows(page, 'after the cut');
      const texts = await page.$$eval('#messages .message .text',
        (els) => els.map((e) => e.textContent));
      const tail = texts.slice(texts.indexOf('before the cut'));
      assert.deepEqual(tail, ['before the cut', 'while you were away 1',
        'while you were away 2', 'after the cut']);
      const wire = await page.locator('#wire').textContent();
      assert.match(wire, /reconnect 1 in/);
      assert.match(wire, /GET \/chat\?since=\d+/);
    } finally {
      await r.close();
    }
  });
});
