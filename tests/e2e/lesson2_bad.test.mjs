// Lesson 02, bad input: raw HTTP/2 frames written with node:net (cleartext,
// prior knowledge) and node:tls, each answered with the RFC 9113 §7 code the
// rule asks for (GOAWAY for a connection error, RST_STREAM for a stream error),
// while a well-behaved client on another connection keeps chatting.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startLesson } from './lib.mjs';
import { CODE, END_HEADERS, END_STREAM, HELLO, PREFACE, TYPE, frame, goaway, headers, literal, raw, request, rst, setting, u32 } from './lesson2_frames.mjs';

const T = { timeout: 20_000 };

describe('lesson 02 bad input', () => {
  let server, good, lines;
  before(async () => {
    server = await startLesson(2, ['--max-streams', '3', '--flood-limit', '100',
      '--handshake-timeout', '500']);
    // A client that behaves, holding the chat stream the whole time.
    good = http2.connect(`http://localhost:${server.port}`);
    const req = good.request({ ':path': '/messages' });
    lines = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { lines += d; });
    await new Promise((resolve) => req.on('response', resolve));
  });
  after(async () => {
    good.close();
    good.destroy();
    const { code } = await server.stop();
    assert.equal(code, 0, server.stderr());
  });

  const cases = [
    ['a bad preface', [Buffer.from('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n')], 'PROTOCOL_ERROR', /§3\.4/],
    ['no SETTINGS after the preface', [PREFACE, frame(TYPE.PING, 0, 0, Buffer.alloc(8))], 'PROTOCOL_ERROR', /§3\.4/],
    ['a frame over SETTINGS_MAX_FRAME_SIZE', [HELLO, frame(TYPE.DATA, 0, 1, Buffer.alloc(0), 16385)], 'FRAME_SIZE_ERROR', /§4\.2/],
    ['HEADERS on stream 0', [HELLO, headers(0, request('/'))], 'PROTOCOL_ERROR', /§6\.2/],
    ['HEADERS on an even stream', [HELLO, headers(2, request('/'))], 'PROTOCOL_ERROR', /§5\.1\.1/],
    ['a stream id going backwards', [HELLO, headers(5, request('/style.css')), headers(3, request('/style.css'))], 'PROTOCOL_ERROR', /§5\.1\.1/],
    ['CONTINUATION on the wrong stream', [HELLO, headers(1, request('/'), END_STREAM),
      frame(TYPE.CONTINUATION, END_HEADERS, 3, Buffer.alloc(0))], 'PROTOCOL_ERROR', /§6\.10/],
    ['CONTINUATION after END_HEADERS', [HELLO, headers(1, request('/style.css')),
      frame(TYPE.CONTINUATION, END_HEADERS, 1, Buffer.alloc(0))], 'PROTOCOL_ERROR', /§6\.10/],
    ['an endless CONTINUATION sequence', [HELLO, headers(1, request('/'), END_STREAM),
      ...Array.from({ length: 6 }, () => frame(TYPE.CONTINUATION, 0, 1, Buffer.alloc(16384, 0x82)))], 'ENHANCE_YOUR_CALM', /§10\.5/],
    ['an HPACK bomb: one 4000-byte entry indexed 40000 times', (() => {
      // RFC 7541 §6.2.1: add "x-a: aaaa..." to the table, then refer to it (0xbe).
      const block = Buffer.concat([request('/'), Buffer.from([0x40, 3]), Buffer.from('x-a'),
        Buffer.from([0x7f, 0x80 | (4000 - 127 - 128 * 30), 30]), Buffer.alloc(4000, 0x61), Buffer.alloc(40000, 0xbe)]);
      const parts = [];
      for (let i = 0; i < block.length; i += 16384) parts.push(block.subarray(i, i + 16384));
      return [HELLO, headers(1, parts[0], END_STREAM),
        ...parts.slice(1).map((p, i) => frame(TYPE.CONTINUATION, i === parts.length - 2 ? END_HEADERS : 0, 1, p))];
    })(), 'ENHANCE_YOUR_CALM', /§10\.5\.1/],
    ['an HPACK index out of range', [HELLO, headers(1, Buffer.from([0x82, 0xbe]))], 'COMPRESSION_ERROR', /§2\.3\.3/],
    ['a table size update above our setting', [HELLO, headers(1, Buffer.concat([Buffer.from([0x3f, 0xe2, 0x1f]), request('/')]))], 'COMPRESSION_ERROR', /§6\.3/],
    ['Huffman with bad padding', [HELLO, headers(1, Buffer.from([0x82, 0x86, 0x04, 0x81, 0x18]))], 'COMPRESSION_ERROR', /padding/],
    ['Huffman with EOS', [HELLO, headers(1, Buffer.from([0x82, 0x86, 0x04, 0x84, 0xff, 0xff, 0xff, 0xff]))], 'COMPRESSION_ERROR', /EOS/],
    ['the connection window pushed over 2^31-1', [HELLO, frame(TYPE.WINDOW_UPDATE, 0, 0, u32(0x7fffffff))], 'FLOW_CONTROL_ERROR', /§6\.9\.1/],
    ['SETTINGS_ENABLE_PUSH = 2', [PREFACE, frame(TYPE.SETTINGS, 0, 0, setting(2, 2))], 'PROTOCOL_ERROR', /§6\.5\.2/],
    ['SETTINGS_INITIAL_WINDOW_SIZE = 2^31', [PREFACE, frame(TYPE.SETTINGS, 0, 0, setting(4, 0x80000000))], 'FLOW_CONTROL_ERROR', /§6\.5\.2/],
    ['SETTINGS_MAX_FRAME_SIZE = 100', [PREFACE, frame(TYPE.SETTINGS, 0, 0, setting(5, 100))], 'PROTOCOL_ERROR', /§6\.5\.2/],
    ['a SETTINGS flood', [HELLO, ...Array.from({ length: 300 }, () => frame(TYPE.SETTINGS, 0, 0))], 'ENHANCE_YOUR_CALM', /SETTINGS/],
    ['a PING flood', [HELLO, ...Array.from({ length: 300 }, () => frame(TYPE.PING, 0, 0, Buffer.alloc(8)))], 'ENHANCE_YOUR_CALM', /PING/],
    ['an empty DATA flood', [HELLO, headers(1, Buffer.concat([request('/messages', 'POST'), literal('content-type', 'application/json')]), END_HEADERS),
      ...Array.from({ length: 300 }, () => frame(TYPE.DATA, 0, 1))], 'ENHANCE_YOUR_CALM', /empty DATA/],
    ['rapid reset (CVE-2023-44487)', [HELLO, ...Array.from({ length: 300 }, (_, i) =>
      Buffer.concat([headers(2 * i + 1, request('/messages')), frame(TYPE.RST_STREAM, 0, 2 * i + 1, u32(8))]))], 'ENHANCE_YOUR_CALM', /reset/],
  ];
  for (const [name, bytes, code, rule] of cases) {
    test(`${name}: GOAWAY ${code}`, T, async () => {
      const g = await goaway(server.port, bytes);
      assert.equal(g.code, CODE[code], `code ${g.code}, ${g.debug}`);
      assert.match(g.debug, rule);
    });
  }

  test('over TLS too: a bad frame is GOAWAY, and only that connection closes', T, async () => {
    const g = await goaway(server.port, [HELLO, headers(2, request('/'))], { secure: true });
    assert.equal(g.code, CODE.PROTOCOL_ERROR);
  });

  test('stream errors: RST_STREAM, and the connection goes on', T, async () => {
    const c = raw(server.port);
    c.send(HELLO);
    // RFC 9113 §8.3.1: no :path is a malformed request.
    c.send(headers(1, Buffer.from([0x82, 0x86, ...literal(':authority', 'x')])));
    assert.equal(await rst(c, 1), CODE.PROTOCOL_ERROR);
    // RFC 9113 §8.2.1: an uppercase field name.
    c.send(headers(3, Buffer.concat([request('/'), literal('X-Upper', 'a')])));
    assert.equal(await rst(c, 3), CODE.PROTOCOL_ERROR);
    // RFC 9113 §8.2.2: a connection-specific field.
    c.send(headers(5, Buffer.concat([request('/'), literal('connection', 'close')])));
    assert.equal(await rst(c, 5), CODE.PROTOCOL_ERROR);
    // RFC 9113 §6.9.1: a stream window pushed over 2^31-1.
    c.send(headers(7, request('/messages')));
    await c.next((f) => f.type === TYPE.HEADERS && f.stream === 7);
    c.send(frame(TYPE.WINDOW_UPDATE, 0, 7, u32(0x7fffffff)));
    assert.equal(await rst(c, 7), CODE.FLOW_CONTROL_ERROR);
    // RFC 9113 §6.9.1: DATA beyond the stream's window (65535).
    c.send(headers(9, Buffer.concat([request('/messages', 'POST'), literal('content-type', 'application/json')]), END_HEADERS));
    for (let i = 0; i < 5; i++) c.send(frame(TYPE.DATA, 0, 9, Buffer.alloc(16384, 0x20)));
    assert.equal(await rst(c, 9), CODE.FLOW_CONTROL_ERROR);
    // RFC 9113 §5.1.2: past SETTINGS_MAX_CONCURRENT_STREAMS (3 here) is refused.
    for (const id of [11, 13, 15, 17]) c.send(headers(id, request('/messages')));
    assert.equal(await rst(c, 17), CODE.REFUSED_STREAM);
    // Still served: a request on the same connection is answered.
    c.send(frame(TYPE.RST_STREAM, 0, 11, u32(8)), headers(19, request('/style.css')));
    const h = await c.next((f) => f.type === TYPE.HEADERS && f.stream === 19);
    assert.ok(h);
    assert.ok(!c.frames.some((f) => f.type === TYPE.GOAWAY));
    c.end();
  });

  test('a connection that never sends a preface (or a whole request head) is closed, over TLS too', T, async () => {
    for (const start of ['', 'GET / HTTP/1.1\r\nHost: x\r\n']) {
      const sock = net.connect(server.port, '127.0.0.1');
      sock.on('error', () => {});
      if (start) sock.write(start);
      await new Promise((resolve) => sock.on('close', resolve));
    }
    // TLS done, ALPN h2, and then no preface.
    const c = raw(server.port, { secure: true });
    await c.closed;
    assert.match(server.stderr(), /no TLS handshake or HTTP\/2 preface within the timeout/);
  });

  test('PING is answered with ACK and the same 8 bytes', T, async () => {
    const c = raw(server.port);
    c.send(HELLO, frame(TYPE.PING, 0, 0, Buffer.from('lesson02')));
    const f = await c.next((f) => f.type === TYPE.PING);
    assert.equal(f.flags, 1);
    assert.equal(f.payload.toString(), 'lesson02');
    c.end();
  });

  test('the well-behaved client was served throughout', T, async () => {
    const req = good.request({ ':method': 'POST', ':path': '/messages', 'content-type': 'application/json' });
    req.end(JSON.stringify({ user: 'ada', text: 'still here' }));
    const [h] = await Promise.all([new Promise((r) => req.on('response', r)), new Promise((r) => { req.resume(); req.on('end', r); })]);
    assert.equal(h[':status'], 201);
    while (!lines.includes('"still here"')) await new Promise((r) => setTimeout(r, 10));
    // Every rule broken above was logged with its section.
    assert.match(server.stderr(), /GOAWAY ENHANCE_YOUR_CALM: §10\.5/);
    assert.match(server.stderr(), /RST_STREAM 1 PROTOCOL_ERROR: RFC 9113 §8\.3\.1/);
  });
});
