// Lesson 02, clean shutdown: on SIGTERM an open HTTP/2 connection gets GOAWAY
// NO_ERROR, its endless /messages stream is ended with END_STREAM, and the
// process exits 0 (so the sanitizers found nothing to report).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { startLesson } from './lib.mjs';

test('SIGTERM: GOAWAY NO_ERROR, the stream ends, exit 0', { timeout: 30_000 }, async () => {
  const server = await startLesson(2);
  const session = http2.connect(`http://localhost:${server.port}`);
  session.on('error', () => {});
  const goaway = new Promise((resolve) =>
    session.on('goaway', (code, lastStreamId) => resolve({ code, lastStreamId })));
  const stream = session.request({ ':path': '/messages?since=0' });
  stream.setEncoding('utf8');
  const ended = new Promise((resolve) => {
    stream.on('end', () => resolve('end'));
    stream.on('error', (e) => resolve(`error ${e.code}`));
  });
  stream.resume();
  const [headers] = await new Promise((resolve) => stream.once('response', (...a) => resolve(a)));
  assert.equal(headers[':status'], 200);
  const { code } = await server.stop();
  assert.equal(code, 0, server.stderr());
  const g = await goaway;
  assert.equal(g.code, http2.constants.NGHTTP2_NO_ERROR);
  assert.equal(g.lastStreamId, 1);
  assert.equal(await ended, 'end', 'the stream was ended with END_STREAM, not reset');
  session.destroy();
});
