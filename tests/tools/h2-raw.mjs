#!/usr/bin/env node
// A raw cleartext HTTP/2 client (h2c, "prior knowledge", RFC 9113 §3.3) that sends
// frames written out in hex and prints the frames that come back: the tool behind
// lesson 02's bad-input captures. Node's standard library only.
//
//   node tests/tools/h2-raw.mjs HOST:PORT FRAME...
//
// It sends the 24-byte preface and an empty SETTINGS frame, then each FRAME: the
// frame's bytes in hex, spaces allowed, e.g. HEADERS on stream 2 with END_STREAM
// and END_HEADERS whose field block is 82 (:method: GET, static index 2):
//
//   node tests/tools/h2-raw.mjs localhost:8002 '000001 01 05 00000002 82'
//
// Each frame received is printed as its 9-byte header decoded (RFC 9113 §4.1),
// with GOAWAY's and RST_STREAM's error code and GOAWAY's debug data. It waits up
// to 2 s for the server, and stops when the server closes.
import net from 'node:net';

const [target, ...frames] = process.argv.slice(2);
if (!target) {
  process.stderr.write('usage: node tests/tools/h2-raw.mjs HOST:PORT FRAME...\n');
  process.exit(2);
}
const colon = target.lastIndexOf(':');
const TYPES = ['DATA', 'HEADERS', 'PRIORITY', 'RST_STREAM', 'SETTINGS', 'PUSH_PROMISE',
  'PING', 'GOAWAY', 'WINDOW_UPDATE', 'CONTINUATION'];
const CODES = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR', 'REFUSED_STREAM', 'CANCEL',
  'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED'];
const hex = (buf) => [...buf].map((b) => b.toString(16).padStart(2, '0')).join(' ');
const out = (line) => process.stdout.write(`${line}\n`);

const sock = net.connect({ host: target.slice(0, colon), port: Number(target.slice(colon + 1)) });
const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const settings = Buffer.from('000000040000000000', 'hex');
out('→ connection preface, SETTINGS stream=0 len=0');
sock.write(Buffer.concat([preface, settings]));
for (const frame of frames) {
  const bytes = Buffer.from(frame.replace(/\s+/g, ''), 'hex');
  out(`→ ${hex(bytes)}`);
  sock.write(bytes);
}

let input = Buffer.alloc(0);
sock.on('data', (chunk) => {
  input = Buffer.concat([input, chunk]);
  while (input.length >= 9) {
    const length = input.readUIntBE(0, 3);
    if (input.length < 9 + length) break;
    const type = input[3];
    const flags = input[4];
    const stream = input.readUInt32BE(5) & 0x7fffffff;
    const payload = input.subarray(9, 9 + length);
    let detail = '';
    if (type === 7 && length >= 8) {
      detail = ` last_stream=${payload.readUInt32BE(0) & 0x7fffffff} ` +
        `code=${CODES[payload.readUInt32BE(4)] ?? payload.readUInt32BE(4)} ` +
        `debug=${JSON.stringify(payload.subarray(8).toString())}`;
    } else if (type === 3 && length === 4) {
      detail = ` code=${CODES[payload.readUInt32BE(0)] ?? payload.readUInt32BE(0)}`;
    }
    out(`← ${TYPES[type] ?? `type ${type}`} stream=${stream} len=${length} ` +
      `flags=0x${flags.toString(16)}${detail}  [${hex(input.subarray(0, 9))}]`);
    input = input.subarray(9 + length);
  }
});
sock.on('close', () => {
  out('· TCP closed');
  process.exit(0);
});
sock.on('error', (err) => {
  process.stderr.write(`h2-raw: ${err.message}\n`);
  process.exit(1);
});
setTimeout(() => sock.end(), 2000);
