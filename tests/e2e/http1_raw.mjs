// Raw HTTP/1.1 over loopback, for tests that must send bytes no HTTP client would:
// exchange() writes the given pieces (each a separate write, the socket's Nagle off),
// half-closes, and collects everything until the server closes; responses() splits
// what came back into responses.
import net from 'node:net';

// Resolves with { data: Buffer, error, localPort } once the server has closed the
// connection (error is set if it ended with a reset or another socket error).
export function exchange(port, pieces, { halfClose = true, host = '127.0.0.1' } = {}) {
  return new Promise((resolve) => {
    const chunks = [];
    const sock = net.connect({ port, host, noDelay: true });
    let error = null;
    let localPort = 0;
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', (e) => (error = e));
    sock.on('close', () => resolve({ data: Buffer.concat(chunks), error, localPort }));
    sock.on('connect', async () => {
      localPort = sock.localPort;
      for (const piece of pieces) {
        await new Promise((r) => sock.write(Buffer.from(piece, 'latin1'), r));
        // Give the server a chance to read each piece on its own.
        await new Promise((r) => setImmediate(r));
      }
      if (halfClose) sock.end();
    });
  });
}

// Splits a byte stream into responses: { status, headers (lower-case names, values
// of repeated fields joined), body }. 1xx responses are kept, with no body. A body
// is read by Content-Length (or chunked); a response cut short keeps what came.
// The answer to a HEAD has a Content-Length but no body: a "body" that would start
// with the next status line is taken as none.
export function responses(data) {
  const out = [];
  let at = 0;
  const text = data.toString('latin1');
  while (at < text.length) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const lines = text.slice(at, end).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
    if (!m) break;
    const headers = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    const status = Number(m[1]);
    at = end + 4;
    let body = '';
    const headAnswer = /^HTTP\/1\.[01] \d{3} /.test(text.slice(at, at + 13));
    if (status >= 200 && status !== 204 && status !== 304 && !headAnswer) {
      if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
        for (;;) {
          const eol = text.indexOf('\r\n', at);
          if (eol < 0) break;
          const size = parseInt(text.slice(at, eol), 16);
          at = eol + 2;
          if (!size) {
            at = text.indexOf('\r\n\r\n', at - 2) + 4;
            break;
          }
          body += text.slice(at, at + size);
          at += size + 2;
        }
      } else {
        const length = Number(headers['content-length'] ?? 0);
        body = text.slice(at, at + length);
        at += length;
      }
    }
    out.push({ status, headers, body });
  }
  return out;
}

// One request, written whole; resolves with its response (or undefined).
export async function request(port, bytes) {
  const { data } = await exchange(port, [bytes]);
  return responses(data)[0];
}
