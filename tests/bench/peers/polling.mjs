// Lesson 01's protocol on Node's `http` module: long polling, as a learner
// would write it with the standard library and no framework.
//   GET /messages[?since=N[&wait=0]]   POST /messages {"user","text"} → 201
//   GET /style.css (the page's stylesheet, for wrk's plain GETs)
import http from 'node:http';
import fs from 'node:fs';
import { Room, validate, portFlag, announce } from './chat.mjs';

const css = fs.readFileSync(new URL('../../../common/client/style.css', import.meta.url));
const room = new Room(1000);
const held = new Set();  // {res, since, timer}

function send(res, status, body, type = 'application/json') {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

const page = (p) => JSON.stringify({ messages: p.messages, missed: p.missed });

function wake() {
  for (const poll of held) {
    const p = room.after(poll.since);
    if (!p.messages.length) continue;
    held.delete(poll);
    clearTimeout(poll.timer);
    send(poll.res, 200, page(p));
  }
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/style.css' && req.method === 'GET')
    return send(res, 200, css, 'text/css; charset=utf-8');
  if (url.pathname !== '/messages') return send(res, 404, 'not found\n', 'text/plain');
  if (req.method === 'GET') {
    const since = url.searchParams.get('since');
    if (since === null) return send(res, 200, page(room.latest(50)));
    const p = room.after(Number(since));
    if (p.messages.length || url.searchParams.get('wait') === '0') return send(res, 200, page(p));
    const poll = { res, since: Number(since) };
    poll.timer = setTimeout(() => {
      held.delete(poll);
      send(res, 200, page({ messages: [], missed: 0 }));
    }, 25000);
    held.add(poll);
    res.on('close', () => {
      held.delete(poll);
      clearTimeout(poll.timer);
    });
    return;
  }
  if (req.method === 'POST') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let post;
      try {
        post = JSON.parse(Buffer.concat(chunks).toString());
      } catch {
        return send(res, 400, JSON.stringify({ error: 'body: malformed JSON' }));
      }
      const error = validate(post);
      if (error) return send(res, 400, JSON.stringify({ error }));
      const m = room.post(post.user, post.text);
      send(res, 201, JSON.stringify(m));
      wake();
    });
    return;
  }
  send(res, 405, 'method not allowed\n', 'text/plain');
});
server.keepAliveTimeout = 60000;
server.headersTimeout = 0;
server.requestTimeout = 0;
server.maxConnections = 20000;
server.listen(portFlag(), '127.0.0.1', () => announce(server));
