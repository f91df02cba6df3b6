// Lesson 04's HTTP/1.1 side: assets with a query, HEAD answered like GET, and a
// HEAD on the Engine.IO handshake that opens no session (the handshake is a GET).
// Every wait is bounded by the test's timeout.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { exchange, request, responses } from './http1_raw.mjs';
import { startLesson, stopClean } from './lib.mjs';

const T = { timeout: 60_000 };
const H = 'Host: localhost\r\n';

describe('lesson 04: HTTP/1.1 rules', () => {
  let server;
  before(async () => {
    server = await startLesson(4, ['--trace']);
  });
  after(async () => stopClean(server));

  test('an asset path with any query is answered 200 (the query ignored)', T, async () => {
    for (const target of ['/style.css?v=1', '/?x', '/chat.js?', '/client.js?a=1']) {
      const r = await request(server.port, `GET ${target} HTTP/1.1\r\n${H}\r\n`);
      assert.equal(r?.status, 200, target);
    }
  });

  test('RFC 9110 §9.3.2: HEAD is answered like GET, without content', T, async () => {
    const get = await request(server.port, `GET /?v=3 HTTP/1.1\r\n${H}\r\n`);
    const { data } = await exchange(server.port, [`HEAD /?v=3 HTTP/1.1\r\n${H}\r\n`]);
    const [head] = responses(data);
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], get.headers['content-length']);
    assert.ok(data.toString('latin1').endsWith('\r\n\r\n'));
  });

  test('RFC 9110 §9.3.2: a HEAD on the Engine.IO handshake opens no session', T,
    async () => {
      const handshake = '/socket.io/?EIO=4&transport=polling';
      const { data } = await exchange(server.port, [`HEAD ${handshake} HTTP/1.1\r\n${H}\r\n`]);
      const [head] = responses(data);
      assert.equal(head.status, 400);
      assert.ok(data.toString('latin1').endsWith('\r\n\r\n'), 'no content after HEAD');
      // A GET opens one; it is the only session the trace shows opened.
      const get = await request(server.port, `GET ${handshake} HTTP/1.1\r\n${H}\r\n`);
      assert.equal(get.status, 200);
      assert.match(get.body, /^0\{"sid":/);
      await server.waitFor(/^eio \S+ opened over polling as session \d+$/);
      assert.equal(server.lines.filter((l) => /^eio \S+ opened over/.test(l)).length, 1);
    });
});
