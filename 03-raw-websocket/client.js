// The browser half of lesson 03: a chat over one WebSocket (RFC 6455).
//
// One HTTP request, upgraded: from then on the connection carries frames both
// ways, whenever either side likes. No request per message, no held poll.
//
//   new WebSocket('ws://host/chat?since=12&history=…', ['json'])
//   server → {"type":"hello","history_id":"…"}              once, on connect: a new
//            id means the server's history was reset (since= was then ignored)
//   server → {"type":"history","messages":[...],"missed":0}   once, on connect
//   client → {"type":"post","user":"ada","text":"hi","ref":3,"cid":"…"}
//   server → {"type":"message","id":13,...}                    to every socket
//            (our own copy carries "ref":3, so the post knows its answer)
//   server → {"type":"error","error":"text: must be 1-2000 characters","ref":3}
//
// The browser hides the frames (masking, fragments, ping/pong are done for us),
// so the wire panel shows each message as a frame: direction, opcode, length.
// `make lesson-3 ARGS=--trace` prints the real frames at the server.

export const name = 'WebSocket (RFC 6455)';

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;
// A post the server has not answered in this time is reported as failed.
const POST_TIMEOUT_MS = 10_000;

export function connect(handlers) {
  let ws = null;
  let closed = false;
  let connected = false;
  let failures = 0;
  let retryTimer = null;
  // The newest id handed to the page: a reconnect asks for what follows it, so
  // nothing is lost and nothing comes twice.
  let lastId = null;
  // The server's history we are following: ids mean something only within it.
  let historyId = null;
  let nextRef = 1;
  const pending = new Map(); // ref -> { resolve, reject, timer }

  function setConnected(up) {
    if (up === connected) return;
    connected = up;
    handlers.status(up);
  }

  // Text frames are counted in UTF-8 bytes, as they travel.
  function logFrame(direction, data) {
    const binary = typeof data !== 'string';
    const length = binary ? data.byteLength ?? data.size : new TextEncoder().encode(data).length;
    const preview = binary ? '' : ` ${shorten(data)}`;
    const opcode = binary ? 'binary (0x2)' : 'text (0x1)';
    handlers.wire(direction, `${opcode} · ${length} B${preview}`);
  }

  function deliver(msg) {
    if (lastId !== null && msg.id <= lastId) return;
    handlers.message(msg);
    lastId = msg.id;
  }

  // unanswered: no answer came, so the page may send the post again (same cid).
  function settle(ref, error, msg, unanswered = false) {
    const p = pending.get(ref);
    if (!p) return;
    pending.delete(ref);
    clearTimeout(p.timer);
    error ? p.reject(Object.assign(new Error(error), { unanswered })) : p.resolve(msg);
  }

  function onFrame(event) {
    logFrame('←', event.data);
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    if (data.type === 'hello') {
      // A new history: the history that follows is its latest; ours is gone.
      if (historyId !== null && data.history_id !== historyId) {
        handlers.reset();
        lastId = null;
      }
      historyId = data.history_id;
    } else if (data.type === 'history') {
      if (data.missed > 0) handlers.missed(data.missed);
      for (const msg of data.messages) deliver(msg);
      lastId ??= 0; // an empty room: from now on, everything after id 0
    } else if (data.type === 'message') {
      const { type, ref, ...msg } = data;
      deliver(msg);
      if (ref !== undefined) settle(ref, null, msg);
    } else if (data.type === 'error') {
      if (data.ref !== undefined) settle(data.ref, data.error);
      else handlers.wire('·', `server error: ${data.error}`);
    }
  }

  function open() {
    const query = lastId === null ? '' : `?since=${lastId}&history=${historyId}`;
    const url = new URL(`/chat${query}`, location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    handlers.wire('→', `GET ${url.pathname}${url.search} · Upgrade: websocket`);
    // ["json"]: the subprotocol we offer; the server picks it in its 101.
    ws = new WebSocket(url, ['json']);
    const socket = ws;
    socket.onopen = () => {
      failures = 0;
      setConnected(true);
      handlers.wire('←', `101 Switching Protocols · protocol ${socket.protocol || '(none)'}`);
    };
    socket.onmessage = onFrame;
    socket.onclose = (event) => {
      if (socket !== ws) return;
      ws = null;
      setConnected(false);
      handlers.wire('←', `close · ${event.code}${event.reason ? ` ${event.reason}` : ''}`);
      // A post sent on this socket may or may not have reached the room; the
      // history after the reconnect shows it if it did.
      for (const ref of [...pending.keys()]) settle(ref, 'the connection was lost', null, true);
      if (!closed) retry();
    };
  }

  function retry() {
    // Exponential backoff with full jitter, as in lesson 01: after a server
    // restart, every tab must not reconnect at the same instant.
    failures++;
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (failures - 1));
    const wait = Math.random() * cap;
    handlers.wire('·', `reconnect ${failures} in ${(wait / 1000).toFixed(2)} s`);
    retryTimer = setTimeout(() => {
      retryTimer = null;
      if (!closed) open();
    }, wait);
  }

  handlers.wire('·', 'WebSocket: one connection, frames both ways');
  open();

  return {
    post(user, text, cid) {
      if (!ws || ws.readyState !== WebSocket.OPEN)
        return Promise.reject(Object.assign(new Error('not connected; try again in a moment'),
          { unanswered: true }));
      const ref = nextRef++;
      const frame = JSON.stringify({ type: 'post', user, text, ref, cid });
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => settle(ref, 'no answer from the server', null, true),
          POST_TIMEOUT_MS);
        pending.set(ref, { resolve, reject, timer });
        logFrame('→', frame);
        ws.send(frame);
      });
    },
    close() {
      closed = true;
      clearTimeout(retryTimer);
      if (ws) ws.close(1000);
      ws = null;
      setConnected(false);
      handlers.wire('·', 'closed');
    },
  };
}

// A frame in the wire panel, cut short: a message may be 2000 characters.
function shorten(text) {
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
