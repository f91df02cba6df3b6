// Lesson 03's HTTP/1.1 side and its closes: HEAD is not a handshake, repeated
// Connection lines still upgrade, an asset with a query is served, and a message
// over the limit is closed with 1009 that the client reads (a lingering close, not
// a reset). Every wait is bounded by the test's timeout.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { exchange, request, responses } from './http1_raw.mjs';
import { startLesson, stopClean } from './lib.mjs';

const T = { timeout: 60_000 };
const H = 'Host: localhost\r\n';
const UPGRADE = 'Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
  'Sec-WebSocket-Version: 13\r\n';

describe('lesson 03: HTTP/1.1 rules', () => {
  let server;
  before(async () => {
    server = await startLesson(3);
  });
  after(async () => stopClean(server));

  test('an asset path with any query is answered 200 (the query ignored)', T, async () => {
    for (const target of ['/style.css?v=1', '/?x', '/chat.js?', '/client.js?a=1']) {
      const r = await request(server.port, `GET ${target} HTTP/1.1\r\n${H}\r\n`);
      assert.equal(r?.status, 200, target);
    }
  });

  test('RFC 9110 §9.3.2: HEAD is answered like GET, without content', T, async () => {
    const get = await request(server.port, `GET /style.css HTTP/1.1\r\n${H}\r\n`);
    const { data } = await exchange(server.port, [`HEAD /style.css?v=2 HTTP/1.1\r\n${H}\r\n`]);
    const [head] = responses(data);
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], get.headers['content-length']);
    assert.ok(data.toString('latin1').endsWith('\r\n\r\n'));
  });

  test('RFC 6455 §4.1: HEAD with Upgrade headers is no handshake (no 101)', T, async () => {
    for (const p of ['/chat', '/echo']) {
      const { data } = await exchange(server.port,
        [`HEAD ${p} HTTP/1.1\r\n${H}Connection: Upgrade\r\n${UPGRADE}\r\n`]);
      const [r] = responses(data);
      assert.notEqual(r.status, 101, p);
      assert.equal(r.status, 405, p);
      assert.ok(data.toString('latin1').endsWith('\r\n\r\n'), 'no content after HEAD');
    }
  });

  test('RFC 9110 §5.3: Connection: keep-alive plus Connection: Upgrade upgrades', T,
    async () => {
      const { data } = await exchange(server.port, [`GET /echo HTTP/1.1\r\n${H}` +
        `Connection: keep-alive\r\n${UPGRADE}Connection: Upgrade\r\n\r\n`]);
      const [r] = responses(data);
      assert.equal(r.status, 101);
      assert.equal(r.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    });

  test('RFC 6455 §7.4.1: a 4 MiB message over the limit reads close 1009, no reset', T,
    async () => {
      const url = `ws://127.0.0.1:${server.port}/echo`;
      const ws = new WebSocket(url, { perMessageDeflate: false });
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      const errors = [];
      ws.on('error', (e) => errors.push(e.code ?? e.message));
      const closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
      // The client reads nothing for a moment: the close frame waits in its socket,
      // where a reset (a close with the rest of the message unread) would destroy it.
      ws._socket.pause();
      ws.send(Buffer.alloc(4 << 20, 7));
      setTimeout(() => ws._socket.resume(), 500);
      assert.equal(await closed, 1009);
      assert.deepEqual(errors, []);
    });
});
