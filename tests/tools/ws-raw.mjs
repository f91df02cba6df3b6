#!/usr/bin/env node
// A raw WebSocket client (RFC 6455) that prints every byte it sends and receives:
// the tool behind lesson 03's captures. It writes frames byte by byte, so it can
// also send what no real client would (an unmasked frame, a fragmented message with
// a ping in between). Node's standard library only: no npm packages.
//
//   node tests/tools/ws-raw.mjs [--key KEY] [--mask HEX8] HOST:PORT PATH STEP...
//
// The handshake uses RFC 6455 §1.3's example key (dGhlIHNhbXBsZSBub25jZQ==) and
// every frame §5.7's masking key 37fa213d, so the bytes match the RFC's examples;
// --key and --mask choose others. Steps, sent in order:
//   text:STR  binary:N*HH  ping:STR  pong:STR   one frame, FIN=1 (binary: N bytes HH)
//   text0:STR  binary0:N*HH  cont0:STR          FIN=0: a message's first or middle part
//   cont:STR                                    the last continuation (FIN=1)
//   close:CODE[:REASON]   close:                a close frame (with no payload)
//   nomask/STEP                                 the same frame, unmasked (a rule broken)
//   wait:MS                                     pause (default after each step: 100 ms)
// After the last step it waits for the server's answers (and close) up to 2 s.
//
// Output: each line is → (sent) or ← (received), the frame decoded, then its bytes
// the way the lessons' --trace prints them (header | payload, 16 payload bytes at
// most). The HTTP handshake is printed line by line.
import net from 'node:net';

const args = process.argv.slice(2);
let key = 'dGhlIHNhbXBsZSBub25jZQ==';
let mask = Buffer.from('37fa213d', 'hex');
while (args[0]?.startsWith('--')) {
  const flag = args.shift();
  if (flag === '--key') key = args.shift();
  else if (flag === '--mask') mask = Buffer.from(args.shift(), 'hex');
  else usage(`unknown flag ${flag}`);
}
if (args.length < 2) usage('HOST:PORT and PATH are needed');
const [target, path, ...steps] = args;
const colon = target.lastIndexOf(':');
const host = target.slice(0, colon);
const port = Number(target.slice(colon + 1));

function usage(why) {
  process.stderr.write(`ws-raw: ${why}\nusage: node tests/tools/ws-raw.mjs ` +
    '[--key KEY] [--mask HEX8] HOST:PORT PATH STEP...\n');
  process.exit(2);
}

const OPCODES = { cont: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 };
const NAMES = { 0: 'continuation', 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong' };
const hex = (buf) => [...buf].map((b) => b.toString(16).padStart(2, '0')).join(' ');

// One step as a frame: { fin, opcode, payload, masked }.
function frameOf(step) {
  let masked = true;
  if (step.startsWith('nomask/')) {
    masked = false;
    step = step.slice('nomask/'.length);
  }
  const sep = step.indexOf(':');
  if (sep < 0) usage(`a step is KIND:VALUE, got ${step}`);
  let kind = step.slice(0, sep);
  const value = step.slice(sep + 1);
  let fin = true;
  if (kind.endsWith('0')) {
    fin = false;
    kind = kind.slice(0, -1);
  }
  const opcode = OPCODES[kind];
  if (opcode === undefined) usage(`unknown step ${step}`);
  let payload;
  if (kind === 'binary') {
    const [n, byte] = value.split('*');
    payload = Buffer.alloc(Number(n), Number.parseInt(byte ?? '00', 16));
  } else if (kind === 'close') {
    if (value === '') payload = Buffer.alloc(0);
    else {
      const [code, ...reason] = value.split(':');
      payload = Buffer.concat([Buffer.from([Number(code) >> 8, Number(code) & 0xff]),
        Buffer.from(reason.join(':'))]);
    }
  } else payload = Buffer.from(value);
  return { fin, opcode, payload, masked };
}

// RFC 6455 §5.2: FIN and opcode; MASK and the 7-bit length (126: 16 bits follow,
// 127: 64 bits); the masking key; the payload, XORed with the key byte i mod 4.
function encode({ fin, opcode, payload, masked }) {
  const n = payload.length;
  const len = n < 126 ? [n] : n < 65536 ? [126, n >> 8, n & 0xff]
    : [127, 0, 0, 0, 0, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  const head = Buffer.from([(fin ? 0x80 : 0) | opcode, (masked ? 0x80 : 0) | len[0],
    ...len.slice(1), ...(masked ? mask : [])]);
  const body = Buffer.from(payload.map((b, i) => (masked ? b ^ mask[i % 4] : b)));
  return { head, body };
}

function describe(fin, opcode, maskKey, payload) {
  const name = NAMES[opcode] ?? `opcode ${opcode}`;
  let body;
  if (opcode === 8 && payload.length >= 2)
    body = `code=${payload.readUInt16BE(0)} reason=${JSON.stringify(payload.subarray(2).toString())}`;
  else if (opcode === 2) body = `<${payload.length} bytes>`;
  else body = JSON.stringify(payload.subarray(0, 40).toString()) +
    (payload.length > 40 ? ` (+${payload.length - 40})` : '');
  const key = maskKey ? ` key=${maskKey.toString('hex')}` : '';
  return `FIN=${fin ? 1 : 0} ${name} MASK=${maskKey ? 1 : 0}${key} len=${payload.length} ${body}`;
}

// The bytes line, as --trace prints it: the header, then up to 16 payload bytes as
// they were on the wire.
function bytesLine(head, wirePayload) {
  const shown = wirePayload.subarray(0, 16);
  return `  ${hex(head)}${shown.length ? ` | ${hex(shown)}` : ''}` +
    (wirePayload.length > 16 ? ' ...' : '');
}

const sock = net.connect({ host, port });
const out = (line) => process.stdout.write(`${line}\n`);
let input = Buffer.alloc(0);
let upgraded = false;

// Frames from the server, parsed as they complete (several may share a read).
function readFrames() {
  for (;;) {
    if (input.length < 2) return;
    const fin = (input[0] & 0x80) !== 0;
    const opcode = input[0] & 0x0f;
    const masked = (input[1] & 0x80) !== 0;
    let len = input[1] & 0x7f;
    let at = 2;
    if (len === 126) {
      if (input.length < 4) return;
      len = input.readUInt16BE(2);
      at = 4;
    } else if (len === 127) {
      if (input.length < 10) return;
      len = Number(input.readBigUInt64BE(2));
      at = 10;
    }
    const keyAt = at;
    if (masked) at += 4;
    if (input.length < at + len) return;
    const head = input.subarray(0, at);
    const wire = input.subarray(at, at + len);
    const maskKey = masked ? input.subarray(keyAt, keyAt + 4) : null;
    const payload = Buffer.from(wire.map((b, i) => (maskKey ? b ^ maskKey[i % 4] : b)));
    out(`← ${describe(fin, opcode, maskKey, payload)}`);
    out(`← ${bytesLine(head, wire)}`);
    input = input.subarray(at + len);
  }
}

sock.on('data', (chunk) => {
  input = Buffer.concat([input, chunk]);
  if (!upgraded) {
    const end = input.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = input.subarray(0, end).toString('latin1');
    for (const line of head.split('\r\n')) out(`← ${line}`);
    input = input.subarray(end + 4);
    upgraded = head.startsWith('HTTP/1.1 101');
    if (!upgraded) {
      // A refusal: its body, then the server closes or we stop.
      if (input.length) out(`← ${input.toString()}`);
      input = Buffer.alloc(0);
      return;
    }
    go();
  }
  readFrames();
});
sock.on('close', () => {
  out('· TCP closed');
  process.exit(0);
});
sock.on('error', (err) => {
  process.stderr.write(`ws-raw: ${err.message}\n`);
  process.exit(1);
});

const request = [`GET ${path} HTTP/1.1`, `Host: ${host}:${port}`, 'Upgrade: websocket',
  'Connection: Upgrade', `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13'];
for (const line of request) out(`→ ${line}`);
sock.write(`${request.join('\r\n')}\r\n\r\n`);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function go() {
  for (const step of steps) {
    if (step.startsWith('wait:')) {
      await sleep(Number(step.slice(5)));
      continue;
    }
    const frame = frameOf(step);
    const { head, body } = encode(frame);
    out(`→ ${describe(frame.fin, frame.opcode, frame.masked ? mask : null, frame.payload)}`);
    out(`→ ${bytesLine(head, body)}`);
    sock.write(Buffer.concat([head, body]));
    await sleep(100);
  }
  await sleep(2000);
  sock.end();
}
