// The browser half of lesson 02: a chat streamed over HTTP/2.
//
// One GET /messages never ends: the server writes each new message down it as
// a line of JSON, the moment it is posted. Posts are ordinary requests. Over
// HTTP/2 both share one connection as separate streams, so the open stream
// costs no extra connection (HTTP/1.1 would hold one of six for good).
//
//   GET /messages          → 200 application/x-ndjson: latest 50, then each new one;
//                            header x-history-id names the server's history
//   GET /messages?since=12&history=… → the same, starting after id 12 ({"missed":N}
//                            first if some of those are no longer kept); after a
//                            server reset, as GET /messages
//   POST /messages {"user":"ada","text":"hi","cid":"…"}
//                          → 201 the stored message, 400 {"error"}
//
// The stream arrives in chunks that have nothing to do with lines: one chunk
// may hold half a line, or three. So we keep the unfinished tail and only
// parse what ends in "\n".

export const name = 'HTTP/2 streaming (fetch + ReadableStream)';

// The server sends nothing while nobody posts; TCP keeps the stream alive. If
// the connection dies where we cannot see it, the next post fails or the
// browser reports the stream broken, and we reconnect with `since`.
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;

export function connect(handlers) {
  // close() aborts the stream in flight and ends every wait below.
  const closed = new AbortController();
  const signal = closed.signal;
  // The newest id handed to the page; null until the first line.
  let lastId = null;
  // The server's history we are following: ids mean something only within it.
  let historyId = null;
  let connected = false;

  function setConnected(up) {
    if (up === connected) return;
    connected = up;
    handlers.status(up);
  }

  // One line of the stream: a message, or {"missed":N}.
  function deliver(line) {
    const json = JSON.parse(line);
    if (typeof json.missed === 'number') return handlers.missed(json.missed);
    // Ids only grow, so lastId is all we need to remember; anything at or below
    // it was handed on already (a reconnect asks for exactly what follows).
    if (lastId !== null && json.id <= lastId) return;
    handlers.message(json);
    lastId = json.id;
  }

  // Reads one response body to its end (which, when all is well, never comes).
  async function readLines(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let tail = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      // The wire panel shows each chunk as it came: one DATA frame, or several
      // the browser merged.
      handlers.wire('←', `chunk ${value.length} chars: ${shorten(value.replace(/\n/g, '⏎'))}`);
      tail += value;
      let newline;
      while ((newline = tail.indexOf('\n')) >= 0) {
        const line = tail.slice(0, newline);
        tail = tail.slice(newline + 1);
        if (line) deliver(line);
      }
    }
  }

  async function run() {
    let failures = 0;
    while (!signal.aborted) {
      // `since` asks for exactly what we lack: what was posted while we were
      // away comes first, once.
      let path = lastId === null ? '/messages' : `/messages?since=${lastId}`;
      if (lastId !== null && historyId !== null) path += `&history=${historyId}`;
      try {
        handlers.wire('→', `GET ${path}`);
        const res = await fetch(path, { cache: 'no-store', signal });
        if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
        handlers.wire('←', `${res.status} ${res.headers.get('content-type')} · stream open`);
        // A new history: the server sends its latest; what we showed is gone.
        const history = res.headers.get('x-history-id');
        if (history !== null) {
          if (historyId !== null && history !== historyId) {
            handlers.reset();
            lastId = null;
          }
          historyId = history;
        }
        failures = 0;
        setConnected(true);
        await readLines(res.body);
        throw new Error('the server ended the stream');
      } catch (err) {
        if (signal.aborted) return;
        setConnected(false);
        // Exponential backoff with full jitter, as in lesson 01: after a
        // restart, every open tab would otherwise retry at the same instant.
        failures++;
        const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (failures - 1));
        const wait = Math.random() * cap;
        handlers.wire('·', `retry ${failures} in ${(wait / 1000).toFixed(2)} s (${err.message})`);
        await sleep(wait, signal);
      }
    }
  }

  handlers.wire('·', 'streaming: one GET that never ends, one line per message');
  run();

  return {
    // The answer is the stored message, with its id. We do not move lastId
    // here: the stream delivers it too, in order with everyone else's.
    async post(user, text, cid) {
      const body = JSON.stringify({ user, text, cid });
      handlers.wire('→', `POST /messages ${shorten(body)}`);
      let res;
      let json = null;
      try {
        res = await fetch('/messages', {
          method: 'POST',
          body,
          headers: { 'Content-Type': 'application/json' },
          signal,
        });
        json = await res.json().catch(() => null);
      } catch (err) {
        if (!signal.aborted) handlers.wire('←', `no answer (${err.message})`);
        throw Object.assign(new Error(`could not reach the server (${err.message})`),
          { unanswered: true });
      }
      handlers.wire('←', `${res.status} ${shorten(JSON.stringify(json))}`);
      if (res.status !== 201) throw new Error(json?.error ?? `HTTP ${res.status}`);
      return json;
    },
    close() {
      closed.abort();
      setConnected(false);
      handlers.wire('·', 'closed');
    },
  };
}

// Resolves after ms, or at once when the signal aborts (or already has).
function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(done, signal.aborted ? 0 : ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

// Text for the wire panel, cut short: a message may be 2000 characters.
function shorten(text) {
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
