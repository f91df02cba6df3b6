// Lesson 02's protocol on Node's `http2` module, cleartext (h2c, prior knowledge):
//   GET /messages[?since=N] → 200 application/x-ndjson that never ends, one message a line
//   POST /messages {"user","text"} → 201
import http2 from 'node:http2';
import { Room, validate, portFlag, announce } from './chat.mjs';

const room = new Room(1000);
const streams = new Set();
const server = http2.createServer({ settings: { maxConcurrentStreams: 100 } });

server.on('stream', (stream, headers) => {
  const url = new URL(headers[':path'], 'http://x');
  const method = headers[':method'];
  if (url.pathname !== '/messages') {
    stream.respond({ ':status': 404 });
    return stream.end();
  }
  if (method === 'GET') {
    const since = url.searchParams.get('since');
    const p = since === null ? room.latest(50) : room.after(Number(since));
    stream.respond({ ':status': 200, 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    if (p.missed) stream.write(JSON.stringify({ missed: p.missed }) + '\n');
    for (const m of p.messages) stream.write(JSON.stringify(m) + '\n');
    streams.add(stream);
    stream.on('close', () => streams.delete(stream));
    stream.on('error', () => streams.delete(stream));
    return;
  }
  if (method === 'POST') {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      let post;
      try {
        post = JSON.parse(Buffer.concat(chunks).toString());
      } catch {
        stream.respond({ ':status': 400, 'content-type': 'application/json' });
        return stream.end(JSON.stringify({ error: 'body: malformed JSON' }));
      }
      const error = validate(post);
      if (error) {
        stream.respond({ ':status': 400, 'content-type': 'application/json' });
        return stream.end(JSON.stringify({ error }));
      }
      const m = room.post(post.user, post.text);
      const line = JSON.stringify(m);
      stream.respond({ ':status': 201, 'content-type': 'application/json' });
      stream.end(line);
      for (const s of streams) s.write(line + '\n');
    });
    return;
  }
  stream.respond({ ':status': 405 });
  stream.end();
});
server.on('sessionError', () => {});
server.listen(portFlag(), '127.0.0.1', () => announce(server));
