// Lesson 03's stages (make check-3): RFC 6455 against /echo, which sends every
// message back as it came. Each stage opens its own connection, sends exact bytes
// (always the same masking key, so a failure prints the same bytes every run) and
// passes only on the exact bytes, or close code, the RFC requires.
import { hex } from './runner.mjs';

const KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
// RFC 6455 §1.3's example key and its answer.
const SAMPLE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const SAMPLE_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';
const REQUEST = ['GET /echo HTTP/1.1', 'Host: 127.0.0.1', 'Upgrade: websocket',
  'Connection: Upgrade', `Sec-WebSocket-Key: ${SAMPLE_KEY}`, 'Sec-WebSocket-Version: 13'];

const CLOSE_NAMES = { 1000: 'normal closure', 1001: 'going away', 1002: 'protocol error',
  1003: 'unsupported data', 1007: 'invalid frame payload data', 1008: 'policy violation',
  1009: 'message too big', 1011: 'internal error' };
const OPCODES = { 0: 'continuation', 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong' };

// A client frame: masked with KEY, as RFC 6455 §5.1 requires of clients.
export function clientFrame(opcode, payload, fin = true) {
  payload = Buffer.from(payload);
  const n = payload.length;
  const len = n <= 125 ? [0x80 | n] : n <= 0xffff ? [0x80 | 126, n >> 8, n & 0xff] :
    [0x80 | 127, 0, 0, 0, 0, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  const masked = Buffer.from(payload.map((b, i) => b ^ KEY[i % 4]));
  return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, ...len]), KEY, masked]);
}

// A server frame, unmasked (§5.1), in its shortest length form (§5.2).
export function serverFrame(opcode, payload) {
  payload = Buffer.from(payload);
  const n = payload.length;
  const len = n <= 125 ? [n] : n <= 0xffff ? [126, n >> 8, n & 0xff] :
    [127, 0, 0, 0, 0, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from([0x80 | opcode, ...len]), payload]);
}

const closePayload = (code, reason = '') =>
  Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]);

// The first whole frame at the start of bytes: { frame, header, payload, ... }.
function parseFrame(bytes) {
  if (bytes.length < 2) return undefined;
  const masked = bytes[1] & 0x80;
  let n = bytes[1] & 0x7f;
  let at = 2;
  if (n === 126) {
    if (bytes.length < 4) return undefined;
    n = bytes.readUInt16BE(2);
    at = 4;
  } else if (n === 127) {
    if (bytes.length < 10) return undefined;
    n = Number(bytes.readBigUInt64BE(2));
    at = 10;
  }
  if (masked) at += 4;
  if (n > 1 << 24 || bytes.length < at + n) return undefined;
  return { fin: Boolean(bytes[0] & 0x80), opcode: bytes[0] & 0x0f, masked: Boolean(masked),
    header: bytes.subarray(0, at), payload: bytes.subarray(at, at + n),
    frame: bytes.subarray(0, at + n) };
}

// What a frame means, in RFC 6455's words.
function meaning(f) {
  const name = OPCODES[f.opcode] ?? `reserved opcode ${f.opcode}`;
  let s = `${f.fin ? '' : 'FIN=0 '}${name} frame`;
  if (f.masked) s += ', MASKED (a server MUST NOT mask, §5.1)';
  if (f.opcode === 8) {
    if (f.payload.length >= 2) {
      const code = f.payload.readUInt16BE(0);
      s += `, code ${code} (${CLOSE_NAMES[code] ?? 'unknown'})`;
      const reason = f.payload.subarray(2).toString();
      if (reason) s += ` "${reason.slice(0, 50)}"`;
    } else s += ', no code';
  } else {
    s += `, ${f.payload.length} bytes`;
    if (f.payload.length <= 12 && f.opcode === 1) s += ` "${f.payload.toString()}"`;
  }
  return s;
}

// A frame as hex: whole when short, else its header (and a close code) then "...".
const frameHex = (f) => (f.frame.length <= 16 ? hex(f.frame) :
  `${hex(f.header)} ${f.opcode === 8 ? `${hex(f.payload.subarray(0, 2))} ` : ''}...`);

// The start of a frame that has not all come: what its header says.
function partial(bytes) {
  const n = bytes[1] & 0x7f;
  const ext = n === 126 ? 2 : n === 127 ? 8 : 0;
  const at = 2 + ext + (bytes[1] & 0x80 ? 4 : 0);
  if (bytes.length < at) return [`${hex(bytes)} (${bytes.length} bytes, not a whole header)`];
  const length = ext ? Number(bytes.readUIntBE(2 + ext - Math.min(ext, 6), Math.min(ext, 6)))
    : n;
  const name = OPCODES[bytes[0] & 0x0f] ?? 'reserved opcode';
  return [`${hex(bytes.subarray(0, at))} ...`,
    `^^ ${name} frame whose header says ${length} bytes` +
    (ext ? ` (length ${n}, then ${hex(bytes.subarray(2, 2 + ext))})` : '') +
    `; ${bytes.length - at} came`];
}
const describeSent = (frames) => frames.map((b) => {
  const f = parseFrame(b);
  return f.frame.length <= 16 ? hex(b) : `${hex(f.header)} ... (${f.payload.length} bytes)`;
});

// Lines for "received": each whole frame with its meaning under it, or what
// happened instead (a close without a frame, nothing at all).
function describeReceived(client, result) {
  const out = [];
  let bytes = client.bytes;
  for (let f = parseFrame(bytes); f && out.length < 6; f = parseFrame(bytes)) {
    out.push(frameHex(f), `^^ ${meaning(f)}`);
    bytes = bytes.subarray(f.frame.length);
  }
  if (bytes.length) out.push(...partial(bytes));
  if (result.closed) out.push(out.length ? '(then the server closed the connection)' :
    'nothing: the server closed the connection without a close frame');
  if (result.timeout) out.push(out.length ? `(then nothing more for ${WAIT_S()} s)` :
    `nothing within ${WAIT_S()} s`);
  return out;
}
const WAIT_S = () => Number(process.env.EXERCISE_WAIT_MS ?? 5000) / 1000;

// The opening handshake; resolves with the client once a 101 with the right accept
// key has come, the bytes after the response head left in client.bytes.
async function upgrade(t) {
  const c = await t.connect();
  c.send(REQUEST.join('\r\n') + '\r\n\r\n');
  const r = await c.read((b) => (b.indexOf('\r\n\r\n') >= 0 ? b.indexOf('\r\n\r\n') : undefined));
  const head = r.value === undefined ? c.bytes.toString('latin1') :
    c.bytes.subarray(0, r.value).toString('latin1');
  const [status, ...fields] = head.split('\r\n');
  const accept = fields.find((l) => /^sec-websocket-accept:/i.test(l));
  const good = /^HTTP\/1\.1 101 /.test(status ?? '') &&
    accept?.replace(/^[^:]*:\s*/, '') === SAMPLE_ACCEPT;
  if (!good)
    throw t.fail({
      sent: REQUEST,
      received: r.value === undefined ? [head ? `${head.slice(0, 80)} ...` : '',
        r.closed ? '(the server closed the connection)' : `nothing more within ${WAIT_S()} s`]
        .filter(Boolean) : [status, accept === undefined ? '(no Sec-WebSocket-Accept field)' :
        /:\s*$/.test(accept) ? `${accept.trim()} (empty)` : accept],
      expected: ['HTTP/1.1 101 Switching Protocols', `Sec-WebSocket-Accept: ${SAMPLE_ACCEPT}`],
    });
  c.bytes = c.bytes.subarray(r.value + 4);
  return c;
}

// Sends frames and waits for exactly the frames expected (their bytes), in order.
async function exchange(t, send, expect, expectedText) {
  const c = await upgrade(t);
  for (const b of send) c.send(b);
  const want = Buffer.concat(expect);
  const r = await c.read((b) => (b.length >= want.length || parseFrame(b)?.opcode === 8 ||
    (parseFrame(b) && !want.subarray(0, parseFrame(b).frame.length).equals(parseFrame(b).frame))
    ? true : undefined));
  if (r.value && c.bytes.subarray(0, want.length).equals(want)) return c;
  throw t.fail({ sent: describeSent(send), received: describeReceived(c, r),
    expected: expectedText });
}

// Distinct bytes of ASCII text, so a shifted or cut payload never compares equal.
const text = (n) => Buffer.from(Array.from({ length: n }, (_, i) => 0x61 + ((i * 7) % 26)));

export const stages = [
  {
    name: 'handshake',
    exercise: 'accept-key',
    what: 'GET /echo with RFC 6455 §1.3\'s sample key',
    hint: 'RFC 6455 §4.2.2: Sec-WebSocket-Accept = base64(SHA-1(key + ' +
      '"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))',
    run: async (t) => upgrade(t),
  },
  {
    name: 'unmask',
    exercise: 'unmask',
    what: 'sending "Hello" in a masked text frame',
    hint: 'RFC 6455 §5.3: payload byte i is XORed with masking-key byte i MOD 4',
    run: (t) => exchange(t, [clientFrame(1, 'Hello')], [serverFrame(1, 'Hello')],
      `an echo: ${hex(serverFrame(1, 'Hello'))} (text frame "Hello")`),
  },
  {
    name: 'frame-length-16',
    exercise: 'frame-length',
    what: 'sending a 300-byte masked text frame',
    hint: 'RFC 6455 §5.2: payload length 126 means "the next 2 bytes are the length"',
    run: (t) => exchange(t, [clientFrame(1, text(300))], [serverFrame(1, text(300))],
      'an echo: 81 7e 01 2c ... (300-byte text frame)'),
  },
  {
    name: 'frame-length-64',
    exercise: 'frame-length',
    what: 'sending a 70000-byte masked text frame',
    hint: 'RFC 6455 §5.2: payload length 127 means "the next 8 bytes are the length"',
    run: (t) => exchange(t, [clientFrame(1, text(70000))], [serverFrame(1, text(70000))],
      'an echo: 81 7f 00 00 00 00 00 01 11 70 ... (70000-byte text frame)'),
  },
  {
    name: 'fragments',
    exercise: 'fragments',
    what: 'sending "Hel" (FIN=0), a ping, then "lo" (continuation, FIN=1)',
    hint: 'RFC 6455 §5.4: a message may be cut into frames: FIN=0 says "more to come"; ' +
      'control frames may come in between',
    run: (t) => exchange(t,
      [clientFrame(1, 'Hel', false), clientFrame(9, 'p'), clientFrame(0, 'lo')],
      [serverFrame(10, 'p'), serverFrame(1, 'Hello')],
      [`${hex(serverFrame(10, 'p'))} (pong "p"), then`,
        `${hex(serverFrame(1, 'Hello'))} (one text frame "Hello")`]),
  },
  {
    name: 'utf8-split',
    exercise: 'utf8-fragments',
    what: 'sending "€" (e2 82 ac) cut after its 2nd byte, across two frames',
    hint: 'RFC 6455 §5.6: text is checked as a whole message; a character may cross frames',
    run: (t) => exchange(t,
      [clientFrame(1, [0xe2, 0x82], false), clientFrame(0, [0xac])],
      [serverFrame(1, '€')], `an echo: ${hex(serverFrame(1, '€'))} (text frame "€")`),
  },
  {
    name: 'utf8-invalid',
    exercise: 'utf8-fragments',
    what: 'sending a first fragment (FIN=0) "ab" ff, never UTF-8 whatever follows, then a ping',
    hint: 'RFC 6455 §8.1: fail the connection with 1007 as soon as invalid UTF-8 arrives, ' +
      'before the message ends',
    run: async (t) => {
      const c = await upgrade(t);
      // The ping's pong shows at once that the server read on past the bad byte.
      const sent = [clientFrame(1, [0x61, 0x62, 0xff], false), clientFrame(9, 'p')];
      for (const b of sent) c.send(b);
      const r = await c.read((b) => parseFrame(b));
      const f = r.value;
      if (f && f.opcode === 8 && f.payload.length >= 2 && f.payload.readUInt16BE(0) === 1007)
        return;
      throw t.fail({ sent: describeSent(sent), received: describeReceived(c, r),
        expected: 'a close frame with code 1007, before any pong: 88 .. 03 ef ...' });
    },
  },
  {
    name: 'close',
    exercise: 'close-handshake',
    what: 'sending a close frame, code 1000',
    hint: 'RFC 6455 §5.5.1: an endpoint that receives a close frame MUST send one back; ' +
      'the server then closes TCP (§7.1.1)',
    run: async (t) => {
      const sent = clientFrame(8, closePayload(1000));
      const want = serverFrame(8, closePayload(1000));
      const expected = [`${hex(want)} (close frame, code 1000), then the end of the ` +
        'connection'];
      const c = await exchange(t, [sent], [want], expected);
      if (!(await c.closedWithin()))
        throw t.fail({ sent: describeSent([sent]),
          received: [...describeReceived(c, {}), `(and the connection is still open ` +
            `${WAIT_S()} s later)`], expected });
    },
  },
];

// Deliberately broken servers whose check-3 output is golden-tested
// (tests/exercise/golden/lesson3-NAME.txt, by make exercises): an exercise blanked,
// or one text replacement in a copy of one file.
export const broken = [
  { name: 'length-byte-order', file: '03-raw-websocket/websocket.cpp',
    from: 'for (int shift = 8; shift >= 0; shift -= 8)',
    to: 'for (int shift = 0; shift <= 8; shift += 8)' },
  { name: 'unmasked-echo', blank: 'unmask' },
  { name: 'no-close-reply', blank: 'close-handshake' },
  { name: 'crash-on-ping', file: '03-raw-websocket/ws_connection.cpp',
    from: 'case Event::Kind::ping:', to: 'case Event::Kind::ping:\n        __builtin_trap();' },
];
