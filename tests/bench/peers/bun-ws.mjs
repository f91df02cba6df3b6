// Lesson 03's protocol on Bun.serve (uWebSockets inside), broadcast the way Bun's
// documentation shows it: every socket subscribes to one topic and a post is
// published to it once (server.publish, which reaches the poster too).
//   GET /chat → {"type":"history",...}; {"type":"post",...} → {"type":"message",...} to all
// Run with Bun: bun tests/bench/peers/bun-ws.mjs --port 0
import { Room, validate, portFlag } from './chat.mjs';
import { announceBun } from './bun.mjs';

const room = new Room(1000);
const TOPIC = 'chat';

const server = Bun.serve({
  hostname: '127.0.0.1',
  port: portFlag(),
  fetch(req, server) {
    const url = new URL(req.url);
    if (url.pathname !== '/chat') return new Response(null, { status: 404 });
    const since = url.searchParams.get('since');
    if (server.upgrade(req, { data: { since } })) return undefined;
    return new Response('expected a WebSocket upgrade\n', { status: 400 });
  },
  websocket: {
    // ws closes no idle socket by default; Bun's default (120 s) would, in the idle row.
    idleTimeout: 0,
    open(ws) {
      const since = ws.data.since;
      const p = since === null ? room.latest(50) : room.after(Number(since));
      ws.send(JSON.stringify({ type: 'history', messages: p.messages, missed: p.missed }));
      ws.subscribe(TOPIC);
    },
    message(ws, data) {
      if (typeof data !== 'string') return ws.close(1003, 'the chat takes JSON text messages only');
      let post;
      try {
        post = JSON.parse(data);
      } catch {
        return ws.send(JSON.stringify({ type: 'error', error: 'malformed JSON' }));
      }
      const error = post?.type !== 'post' ? 'type: expected "post"' : validate(post);
      if (error) return ws.send(JSON.stringify({ type: 'error', error }));
      const m = room.post(post.user, post.text);
      server.publish(TOPIC, JSON.stringify({ type: 'message', ...m }));
    },
  },
});
announceBun(server);
