// Lesson 03's protocol on the npm `ws` server, broadcast the way ws's README
// shows it: one JSON string, sent to every open client.
//   GET /chat → {"type":"history",...}; {"type":"post",...} → {"type":"message",...} to all
import http from 'node:http';
import { WebSocketServer, WebSocket } from 'ws';
import { Room, validate, portFlag, announce } from './chat.mjs';

const room = new Room(1000);
const server = http.createServer((req, res) => {
  res.writeHead(404).end();
});
const wss = new WebSocketServer({ server, path: '/chat' });

wss.on('connection', (socket, req) => {
  const since = new URL(req.url, 'http://x').searchParams.get('since');
  const p = since === null ? room.latest(50) : room.after(Number(since));
  socket.send(JSON.stringify({ type: 'history', messages: p.messages, missed: p.missed }));
  socket.on('message', (data, binary) => {
    if (binary) return socket.close(1003, 'the chat takes JSON text messages only');
    let post;
    try {
      post = JSON.parse(data);
    } catch {
      return socket.send(JSON.stringify({ type: 'error', error: 'malformed JSON' }));
    }
    const error = post?.type !== 'post' ? 'type: expected "post"' : validate(post);
    if (error) return socket.send(JSON.stringify({ type: 'error', error }));
    const m = room.post(post.user, post.text);
    const out = JSON.stringify({ type: 'message', ...m });
    for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(out);
  });
});
server.listen(portFlag(), '127.0.0.1', () => announce(server));
