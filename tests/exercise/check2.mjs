// Lesson 02's stages (make check-2): HTTP/2 over cleartext TCP with prior knowledge
// (h2c, RFC 9113 §3.3), frames written by hand. Each stage opens its own connection
// with the preface and an empty SETTINGS frame, then sends its frames; it passes
// only on the frame (or the GOAWAY code) RFC 9113 and RFC 7541 require.
import { PREFACE, frame } from '../e2e/lesson2_frames.mjs';
import { hex } from './runner.mjs';

const TYPES = ['DATA', 'HEADERS', 'PRIORITY', 'RST_STREAM', 'SETTINGS', 'PUSH_PROMISE',
  'PING', 'GOAWAY', 'WINDOW_UPDATE', 'CONTINUATION'];
const CODES = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR', 'REFUSED_STREAM', 'CANCEL',
  'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM'];
const T = { HEADERS: 1, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8 };

const u32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const SETTINGS = frame(T.SETTINGS, 0, 0);
// RFC 7541 §6.1 and Appendix A: 82 :method GET, 86 :scheme http, 84 :path /;
// §6.2.2: 01 + length + "localhost", :authority (static index 1) not indexed.
const GET = Buffer.from('828684010' + '9' + Buffer.from('localhost').toString('hex'), 'hex');
const request = (block) => frame(T.HEADERS, 0x5, 1, block);  // END_STREAM | END_HEADERS
const PING = frame(T.PING, 0, 0, Buffer.from('exercise'));

// The frames at the start of bytes, and what is left over.
function frames(bytes) {
  const out = [];
  while (bytes.length >= 9 && bytes.length >= 9 + bytes.readUIntBE(0, 3)) {
    const n = bytes.readUIntBE(0, 3);
    out.push({ type: bytes[3], flags: bytes[4], stream: bytes.readUInt32BE(5) & 0x7fffffff,
      payload: bytes.subarray(9, 9 + n), raw: bytes.subarray(0, 9 + n) });
    bytes = bytes.subarray(9 + n);
  }
  return out;
}

function meaning(f) {
  const name = TYPES[f.type] ?? `type ${f.type}`;
  let s = `${name} stream ${f.stream}`;
  if (f.type === T.SETTINGS) s = f.flags & 1 ? 'SETTINGS ACK' : `SETTINGS (${f.payload.length / 6} settings)`;
  if (f.type === T.PING) s = f.flags & 1 ? `PING ACK "${f.payload}"` : 'PING';
  if (f.type === T.GOAWAY) {
    const code = f.payload.readUInt32BE(4);
    s = `GOAWAY ${CODES[code] ?? code} "${f.payload.subarray(8).toString().slice(0, 60)}"`;
  }
  if (f.type === T.HEADERS && f.payload[0] === 0x88) s += ', :status 200 (static index 8)';
  else if (f.type === T.HEADERS) s += `, block starting ${hex(f.payload, 2)}`;
  return s;
}

// What came back: one line of hex and one of meaning per frame.
function describe(client, result) {
  const out = [];
  for (const f of frames(client.bytes).slice(0, 5))
    out.push(`${hex(f.raw.subarray(0, 9))}${f.payload.length ? ` | ${hex(f.payload, 8)}` : ''}`,
      `^^ ${meaning(f)}`);
  if (result.closed) out.push(out.length ? '(then the server closed the connection)' :
    'nothing: the server closed the connection');
  if (result.timeout) out.push(out.length ? '(then nothing more)' :
    `nothing within ${Number(process.env.EXERCISE_WAIT_MS ?? 5000) / 1000} s`);
  return out;
}

const sentLines = (list) => list.map(([bytes, what]) =>
  `${hex(bytes.subarray(0, 9))}${bytes.length > 9 ? ` | ${hex(bytes.subarray(9), 12)}` : ''}  ${what}`);

// Connects, sends the preface, SETTINGS and then each [bytes, what]; waits for a
// frame that want(f) accepts (passes) or a GOAWAY (fails unless want accepts it).
async function exchange(t, send, want, expected) {
  const c = await t.connect();
  const all = [[PREFACE, 'the connection preface'], [SETTINGS, 'SETTINGS (empty)'], ...send];
  c.send(Buffer.concat(all.map(([b]) => b)));
  const r = await c.read((b) => {
    const fs = frames(b);
    if (fs.some(want)) return true;
    if (fs.some((f) => f.type === T.GOAWAY)) return false;
    return undefined;
  });
  if (r.value === true) return c;
  throw t.fail({ sent: sentLines(all.slice(2).length ? all.slice(2) : all),
    received: describe(c, r), expected });
}

const goaway = (code) => (f) => f.type === T.GOAWAY && f.payload.readUInt32BE(4) === code;
const ok200 = (f) => f.type === T.HEADERS && f.stream === 1 && f.payload[0] === 0x88;

export const stages = [
  {
    name: 'settings',
    exercise: 'frame-header',
    what: 'the preface and an empty SETTINGS frame',
    hint: 'RFC 9113 §6.5.3: a SETTINGS frame is acknowledged with SETTINGS, flags ACK ' +
      '(0x1), once its 9-byte header is read (§4.1)',
    run: (t) => exchange(t, [], (f) => f.type === T.SETTINGS && f.flags & 1,
      '00 00 00 04 01 00 00 00 00  SETTINGS ACK'),
  },
  {
    name: 'request',
    exercise: 'frame-header',
    what: 'HEADERS on stream 1: GET / (82 86 84, :authority localhost)',
    hint: 'RFC 9113 §4.1: length (24 bits), type, flags, then R and a 31-bit stream ' +
      'id, all big-endian (§2.2)',
    run: (t) => exchange(t, [[request(GET), 'HEADERS stream 1, END_STREAM END_HEADERS']],
      ok200, 'HEADERS stream 1 whose block starts 88 (:status 200)'),
  },
  {
    name: 'hpack-integer',
    exercise: 'hpack-integer',
    what: 'GET / with a 200-byte header value: its length is 7f 49',
    hint: 'RFC 7541 §5.1: a prefix of all ones (7f) means "more follows": 127 + 0x49 ' +
      '= 200, 7 bits a byte, least significant first',
    run: (t) => {
      const field = Buffer.concat([Buffer.from([0x00, 6]), Buffer.from('x-long'),
        Buffer.from([0x7f, 0x49]), Buffer.alloc(200, 'a')]);
      return exchange(t, [[request(Buffer.concat([GET, field])),
        'HEADERS stream 1, GET / and x-long: 200 bytes']], ok200,
      'HEADERS stream 1 whose block starts 88 (:status 200)');
    },
  },
  {
    name: 'huffman',
    exercise: 'huffman-decode',
    what: 'RFC 7541 C.4.1: GET / with :authority www.example.com, Huffman coded',
    hint: 'RFC 7541 §5.2 and Appendix B: H=1 (8c = Huffman, 12 bytes): f1 e3 c2 e5 f2 ' +
      '3a 6b a0 ab 90 f4 ff is "www.example.com"',
    run: (t) => exchange(t, [[request(Buffer.from(
      '828684418cf1e3c2e5f23a6ba0ab90f4ff', 'hex')), 'HEADERS stream 1, C.4.1\'s block']],
    ok200, 'HEADERS stream 1 whose block starts 88 (:status 200)'),
  },
  {
    name: 'huffman-padding',
    exercise: 'huffman-decode',
    what: ':authority as Huffman 18: "a" (00011) padded with 000, not 111',
    hint: 'RFC 7541 §5.2: padding not made of EOS\'s most significant bits (all ones) ' +
      'MUST be a decoding error: GOAWAY COMPRESSION_ERROR (RFC 9113 §4.3)',
    run: (t) => exchange(t, [[request(Buffer.from('82868401' + '8118', 'hex')),
      'HEADERS stream 1, :authority Huffman 18']], goaway(9),
    'GOAWAY with error code 9 (COMPRESSION_ERROR)'),
  },
  {
    name: 'window-update',
    exercise: 'connection-window',
    what: 'WINDOW_UPDATE on stream 0 (+1000), then a PING',
    hint: 'RFC 9113 §6.9: stream 0\'s WINDOW_UPDATE grows the connection\'s send window',
    run: (t) => exchange(t, [[frame(T.WINDOW_UPDATE, 0, 0, u32(1000)), 'WINDOW_UPDATE +1000'],
      [PING, 'PING "exercise"']], (f) => f.type === T.PING && f.flags & 1,
    'PING ACK "exercise", and no GOAWAY'),
  },
  {
    name: 'window-overflow',
    exercise: 'connection-window',
    what: 'WINDOW_UPDATE on stream 0 of 2^31-1: 65535 + that is past 2^31-1',
    hint: 'RFC 9113 §6.9.1: a sender MUST NOT let a window exceed 2^31-1; if it does, ' +
      'the connection fails with FLOW_CONTROL_ERROR',
    run: (t) => exchange(t, [[frame(T.WINDOW_UPDATE, 0, 0, u32(0x7fffffff)),
      'WINDOW_UPDATE +2147483647']], goaway(3),
    'GOAWAY with error code 3 (FLOW_CONTROL_ERROR)'),
  },
];

// Deliberately broken servers whose check-2 output is golden-tested.
export const broken = [
  { name: 'no-huffman', blank: 'huffman-decode' },
  { name: 'window-unchecked', file: '02-http2-push/connection.cpp',
    from: 'if (conn_send_window_ + inc > kMaxWindowSize)', to: 'if (false)' },
];
