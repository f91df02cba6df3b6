// Differential test: lesson 01's HTTP/1.1 parser against one nobody here wrote.
// Each request of http1_corpus.mjs goes, as the same bytes over loopback, to lesson
// 01 and to Node's own HTTP server (llhttp, default strictness), a tiny echo server
// that records each request's method, target and body as it parses them. Both must read the bytes
// the same way: the same requests, in the same order, with the same meaning, up
// to the point where both refuse the rest. What lesson 01 made of a request shows
// in its answer: 200 for an asset, a 201 that echoes the posted text, 404, 405...;
// the echo's report gives the answer lesson 01 should have given.
// Entries in DIFFERENCES are deliberate disagreements, each with its RFC reason
// (also listed in the top-level README); the test checks that they still differ,
// so the list cannot go stale.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { CORPUS, DIFFERENCES } from './http1_corpus.mjs';
import { exchange, responses } from './http1_raw.mjs';
import { startLesson, stopClean } from './lib.mjs';

const T = { timeout: 300_000 };
const ASSETS = ['/', '/style.css', '/chat.js', '/client.js'];
// What lesson 01's parser answers before closing (RFC 9112, RFC 9110 §15).
const REFUSALS = [400, 408, 411, 413, 417, 431, 501, 505];

// Node's echo server. What it parsed is recorded as it parses, not read back from
// its answers: when llhttp fails on a later request of a pipeline, Node drops the
// connection before answering the earlier ones, which were taken all the same.
// Each connection's record, by the client's port: the requests, in order, with
// their bodies, and whether the parser refused what followed.
function startEcho() {
  const records = new Map();
  const drain = (r) => {
    for (let c; (c = r.req.read()) !== null;) r.chunks.push(c);
  };
  const server = http.createServer((req, res) => {
    const r = { req, chunks: [] };
    records.get(req.socket.remotePort).requests.push(r);
    req.on('readable', () => drain(r));
    req.on('end', () => res.end());
  });
  server.on('connection', (socket) => {
    const record = { requests: [], refused: null };
    record.closed = new Promise((resolve) => socket.on('close', resolve));
    records.set(socket.remotePort, record);
  });
  // Called from inside the parser, before anything is torn down: the bodies
  // parsed so far are still in their streams.
  server.on('clientError', (err, socket) => {
    const record = records.get(socket.remotePort);
    if (record) {
      record.refused = err.code;
      record.requests.forEach(drain);
    }
    socket.destroy();
  });
  // Answer pipelined requests after the client's FIN, as lesson 01 does.
  server.httpAllowHalfOpen = true;
  server.records = records;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// The answer lesson 01 gives to a request the echo server saw.
function expected({ method, url, contentType, body }) {
  const abs = /^https?:\/\/[^/?#]*/i.exec(url);
  if (abs) url = url.slice(abs[0].length);
  if (!url.startsWith('/') && url !== '*') url = `/${url}`;
  const path = url.split('?')[0];
  const get = method === 'GET' || method === 'HEAD';
  if (ASSETS.includes(path)) return get ? '200' : '405';
  if (path !== '/messages') return '404';
  if (get) return '200';
  if (method !== 'POST') return '405';
  if (!/^application\/json\s*(;|$)/i.test(contentType)) return '415';
  try {
    const m = JSON.parse(body);
    if (typeof m.user === 'string' && typeof m.text === 'string') return `201 ${m.text}`;
  } catch {}
  return '400 json';
}

// The requests each server took, as a list of answers in lesson 01's terms;
// a refusal ends the list.
function ours(data) {
  const out = [];
  for (const r of responses(data)) {
    if (r.status < 200) continue;
    const refusal = REFUSALS.includes(r.status) && r.headers.connection === 'close' &&
      /^text\/plain/.test(r.headers['content-type'] ?? '');
    if (refusal) return { taken: out, refused: r.status };
    if (r.status === 201) out.push(`201 ${JSON.parse(r.body).text}`);
    else if (r.status === 400) out.push('400 json');
    else out.push(String(r.status));
  }
  return { taken: out, refused: null };
}
async function theirs(echo, port) {
  const record = echo.records.get(port);
  await record.closed;
  echo.records.delete(port);
  const taken = record.requests.filter((r) => r.req.complete).map(({ req, chunks }) =>
    expected({ method: req.method, url: req.url,
      contentType: req.headers['content-type'] ?? '',
      body: Buffer.concat(chunks).toString('latin1') }));
  return { taken, refused: record.refused };
}
const same = (a, b) => JSON.stringify(a.taken) === JSON.stringify(b.taken);

describe('HTTP/1.1: lesson 01 against llhttp, request by request', () => {
  let lesson;
  let echo;
  const tally = { agree: 0, differ: 0 };
  before(async () => {
    lesson = await startLesson(1);
    echo = await startEcho();
  });
  after(async () => {
    echo.close();
    await stopClean(lesson);
  });

  test(`the corpus has at least 200 requests, each named once`, () => {
    assert.ok(CORPUS.length >= 200, `${CORPUS.length} requests`);
    assert.equal(new Set(CORPUS.map(([name]) => name)).size, CORPUS.length);
    for (const name of Object.keys(DIFFERENCES))
      assert.ok(CORPUS.some(([n]) => n === name), `DIFFERENCES names ${name}`);
  });

  for (const [name, bytes] of CORPUS) {
    test(name, T, async (t) => {
      const [a, b] = await Promise.all([exchange(lesson.port, [bytes]),
        exchange(echo.address().port, [bytes])]);
      const us = ours(a.data);
      const them = await theirs(echo, b.localPort);
      const diff = DIFFERENCES[name];
      if (!diff) {
        assert.deepEqual(us.taken, them.taken,
          `lesson 01 ${JSON.stringify(us)} vs llhttp ${JSON.stringify(them)}`);
        tally.agree++;
        return;
      }
      // A listed difference must still be one, and ours must be what it says.
      assert.ok(!same(us, them), `no longer differs from llhttp: ${JSON.stringify(us)}`);
      if (diff.ours === 'refuse') assert.ok(us.refused, `expected a refusal: ${diff.why}`);
      else assert.equal(us.refused, null, `expected acceptance: ${diff.why}`);
      t.diagnostic(`deliberate: ${diff.why}`);
      tally.differ++;
    });
  }

  test('tally', (t) => {
    t.diagnostic(`corpus ${CORPUS.length}: ${tally.agree} agree with llhttp, ` +
      `${tally.differ} deliberate differences`);
    assert.equal(tally.agree + tally.differ, CORPUS.length);
  });
});
