// Lesson 01's protocol on Bun.serve: long polling, as a Bun developer would write
// it with no framework. A held poll is a Promise<Response> resolved when a post
// arrives (or after 25 s, empty).
//   GET /messages[?since=N[&wait=0]]   POST /messages {"user","text"} → 201
//   GET /style.css (the page's stylesheet, for wrk's plain GETs)
// Run with Bun: bun tests/bench/peers/bun-polling.mjs --port 0
import fs from 'node:fs';
import { Room, validate, portFlag } from './chat.mjs';
import { announceBun } from './bun.mjs';

const css = fs.readFileSync(new URL('../../../common/client/style.css', import.meta.url));
const room = new Room(1000);
const held = new Set();  // {resolve, since, timer}

const json = (status, body) =>
  new Response(body, {
    status,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
  });
const page = (p) => JSON.stringify({ messages: p.messages, missed: p.missed });

function wake() {
  for (const poll of held) {
    const p = room.after(poll.since);
    if (!p.messages.length) continue;
    held.delete(poll);
    clearTimeout(poll.timer);
    poll.resolve(json(200, page(p)));
  }
}

const server = Bun.serve({
  hostname: '127.0.0.1',
  port: portFlag(),
  idleTimeout: 60,  // seconds; Bun's default (10) would cut a held poll (25 s)
  async fetch(req) {
    const url = new URL(req.url);
    if (url.pathname === '/style.css' && req.method === 'GET')
      return new Response(css, { headers: { 'Content-Type': 'text/css; charset=utf-8' } });
    if (url.pathname !== '/messages') return new Response('not found\n', { status: 404 });
    if (req.method === 'GET') {
      const since = url.searchParams.get('since');
      if (since === null) return json(200, page(room.latest(50)));
      const p = room.after(Number(since));
      if (p.messages.length || url.searchParams.get('wait') === '0') return json(200, page(p));
      return new Promise((resolve) => {
        const poll = { resolve, since: Number(since) };
        poll.timer = setTimeout(() => {
          held.delete(poll);
          resolve(json(200, page({ messages: [], missed: 0 })));
        }, 25000);
        held.add(poll);
        req.signal.addEventListener('abort', () => {
          held.delete(poll);
          clearTimeout(poll.timer);
        });
      });
    }
    if (req.method === 'POST') {
      let post;
      try {
        post = JSON.parse(await req.text());
      } catch {
        return json(400, JSON.stringify({ error: 'body: malformed JSON' }));
      }
      const error = validate(post);
      if (error) return json(400, JSON.stringify({ error }));
      const m = room.post(post.user, post.text);
      const res = json(201, JSON.stringify(m));
      wake();
      return res;
    }
    return new Response('method not allowed\n', { status: 405 });
  },
});
announceBun(server);
