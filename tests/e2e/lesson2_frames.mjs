// Raw HTTP/2 frames for lesson 02's tests: written by hand (RFC 9113 §4.1) over
// node:net (cleartext, prior knowledge) or node:tls, so a test can send what no
// well-behaved client library would, and read every frame the server sends back.
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
export const TYPE = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 };
export const CODE = { NO_ERROR: 0, PROTOCOL_ERROR: 1, FLOW_CONTROL_ERROR: 3, STREAM_CLOSED: 5, FRAME_SIZE_ERROR: 6, REFUSED_STREAM: 7, CANCEL: 8, COMPRESSION_ERROR: 9, ENHANCE_YOUR_CALM: 0xb };
export const END_STREAM = 0x1;
export const ACK = 0x1;
export const END_HEADERS = 0x4;
export const PRIORITY_FLAG = 0x20;

// RFC 9113 §4.1: length (24), type, flags, stream id (31).
export function frame(type, flags, stream, payload = Buffer.alloc(0), length = payload.length) {
  const h = Buffer.alloc(9);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}
export const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b; };
export const setting = (id, value) => { const b = Buffer.alloc(6); b.writeUInt16BE(id); b.writeUInt32BE(value, 2); return b; };
// RFC 7541 §6.2.2: a literal field without indexing, new name, no Huffman (values
// under 127 bytes).
export const literal = (name, value) => Buffer.concat([Buffer.from([0, name.length]), Buffer.from(name),
  Buffer.from([value.length]), Buffer.from(value)]);
// RFC 7541 §6.1: :method GET (2) or POST (3), :scheme http (6); then :path and
// :authority; other methods as literals.
export const request = (path, method = 'GET') => Buffer.concat([
  method === 'GET' || method === 'POST' ? Buffer.from([method === 'GET' ? 0x82 : 0x83]) : literal(':method', method),
  Buffer.from([0x86]), literal(':path', path), literal(':authority', 'localhost')]);
export const post = (path, more = Buffer.alloc(0)) => Buffer.concat([request(path, 'POST'), literal('content-type', 'application/json'), more]);
export const headers = (stream, block, flags = END_HEADERS | END_STREAM) => frame(TYPE.HEADERS, flags, stream, block);
export const HELLO = Buffer.concat([PREFACE, frame(TYPE.SETTINGS, 0, 0)]);

// A raw connection: sends bytes, collects the frames that come back.
export function raw(port, { secure = false } = {}) {
  const sock = secure
    ? tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ALPNProtocols: ['h2'], rejectUnauthorized: false })
    : net.connect(port, '127.0.0.1');
  const frames = [];
  const waiters = [];
  let buf = Buffer.alloc(0);
  let text = '';
  const closed = new Promise((resolve) => sock.on('close', resolve));
  sock.on('error', () => {});
  sock.on('data', (d) => {
    text += d.toString('latin1');
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 9 && buf.length >= 9 + buf.readUIntBE(0, 3)) {
      const len = buf.readUIntBE(0, 3);
      frames.push({ type: buf[3], flags: buf[4], stream: buf.readUInt32BE(5) & 0x7fffffff, payload: buf.subarray(9, 9 + len) });
      buf = buf.subarray(9 + len);
    }
    for (const w of waiters.slice()) {
      const f = frames.find(w.match);
      if (f) { waiters.splice(waiters.indexOf(w), 1); w.resolve(f); }
    }
  });
  closed.then(() => waiters.splice(0).forEach((w) => w.resolve(null)));
  return {
    frames,
    text: () => text,
    send: (...bufs) => sock.write(Buffer.concat(bufs)),
    // The first frame that matches, or null if the connection closed first.
    next(match) {
      const f = frames.find(match);
      return f ? Promise.resolve(f) : new Promise((resolve) => waiters.push({ match, resolve }));
    },
    closed,
    end: () => sock.destroy(),
  };
}

// Sends the bytes; resolves with the GOAWAY's code, last stream id and debug text.
export async function goaway(port, bytes, options) {
  const c = raw(port, options);
  c.send(...bytes);
  const f = await c.next((f) => f.type === TYPE.GOAWAY);
  assert.ok(f, `the server closed without GOAWAY; it sent ${JSON.stringify(c.text().slice(0, 80))}`);
  await c.closed;
  return { code: f.payload.readUInt32BE(4), last: f.payload.readUInt32BE(0), debug: f.payload.subarray(8).toString() };
}

// The code of the first RST_STREAM on the stream.
export async function rst(c, stream) {
  const f = await c.next((f) => f.type === TYPE.RST_STREAM && f.stream === stream);
  assert.ok(f, `no RST_STREAM on stream ${stream}`);
  return f.payload.readUInt32BE(0);
}

// A PING round trip: every frame the server sent in answer to what came before
// it has arrived once the ACK is back.
export async function roundTrip(c, tag = 'roundtrp') {
  c.send(frame(TYPE.PING, 0, 0, Buffer.from(tag)));
  const f = await c.next((f) => f.type === TYPE.PING && (f.flags & ACK) && f.payload.toString() === tag);
  assert.ok(f, 'the connection closed before the PING ACK');
}
