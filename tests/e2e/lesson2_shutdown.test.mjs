// Lesson 02, clean shutdown: on SIGTERM an open HTTP/2 connection gets GOAWAY
// NO_ERROR in two steps (RFC 9113 §6.8: first with stream id 2^31-1 and a PING,
// then, one round trip later, with the last stream processed), its endless
// /messages stream is ended with END_STREAM, and the process exits 0 (so the
// sanitizers found nothing to report).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { startLesson } from './lib.mjs';
import { ACK, END_STREAM, HELLO, TYPE, frame, headers, raw, request } from './lesson2_frames.mjs';

const MAX_STREAM_ID = 2 ** 31 - 1;

test('SIGTERM: GOAWAY NO_ERROR, the stream ends, exit 0', { timeout: 30_000 }, async () => {
  const server = await startLesson(2);
  const session = http2.connect(`http://localhost:${server.port}`);
  session.on('error', () => {});
  const goaways = [];
  session.on('goaway', (code, lastStreamId) => goaways.push({ code, lastStreamId }));
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
  assert.equal(await ended, 'end', 'the stream was ended with END_STREAM, not reset');
  assert.ok(goaways.length >= 1);
  for (const g of goaways) assert.equal(g.code, http2.constants.NGHTTP2_NO_ERROR);
  // Node's client reports the first GOAWAY (2^31-1); the last one names stream 1.
  assert.equal(goaways[0].lastStreamId, MAX_STREAM_ID);
  if (goaways.length > 1) assert.equal(goaways.at(-1).lastStreamId, 1);
  session.destroy();
});

test('RFC 9113 §6.8: GOAWAY 2^31-1 and a PING first; a request sent meanwhile is served; then GOAWAY with it as the last stream', { timeout: 30_000 }, async () => {
  const server = await startLesson(2);
  const c = raw(server.port);
  c.send(HELLO, headers(1, request('/messages')));
  await c.next((f) => f.type === TYPE.HEADERS && f.stream === 1);
  const stopped = server.stop();
  const first = await c.next((f) => f.type === TYPE.GOAWAY);
  assert.equal(first.payload.readUInt32BE(0), MAX_STREAM_ID);
  assert.equal(first.payload.readUInt32BE(4), 0);
  const ping = await c.next((f) => f.type === TYPE.PING && !(f.flags & ACK));
  assert.ok(ping, 'no PING after the first GOAWAY');
  // A request the client sent before it read the GOAWAY: still served.
  c.send(headers(3, request('/style.css')));
  await c.next((f) => f.type === TYPE.DATA && f.stream === 3 && (f.flags & END_STREAM));
  c.send(frame(TYPE.PING, ACK, 0, ping.payload));
  const last = await c.next((f) => f.type === TYPE.GOAWAY && f !== first);
  assert.ok(last, 'no second GOAWAY');
  assert.equal(last.payload.readUInt32BE(0), 3);
  assert.equal(last.payload.readUInt32BE(4), 0);
  // The chat stream ends after it, with END_STREAM.
  const end = await c.next((f) => f.stream === 1 && (f.flags & END_STREAM));
  assert.ok(end && c.frames.indexOf(end) > c.frames.indexOf(last));
  assert.ok(!c.frames.some((f) => f.type === TYPE.RST_STREAM));
  await c.closed;
  const { code } = await stopped;
  assert.equal(code, 0, server.stderr());
});
