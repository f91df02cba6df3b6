// The browser half of lesson 01: a chat over HTTP/1.1 long polling.
//
// HTTP only answers; it never speaks first. So the page asks "anything after
// id N?" and the server holds the question until it has an answer (or 25 s
// pass). The moment an answer arrives the page asks again, so one request is
// always waiting at the server, ready to carry the next message.
//
//   GET /messages                  → {"messages":[latest 50],"missed":0,"history_id":"…"}
//   GET /messages?since=12&history=… → held until a message after 12 exists (after
//                                    a server reset: the latest, and the new id)
//   GET /messages?since=12&wait=0  → answered at once, even empty (short polling)
//   POST /messages {"user":"ada","text":"hi","cid":"…"}
//                                  → 201 the stored message, 400 {"error"}
//
// ?mode=short in the page's URL polls every 3 s instead, to compare the two.
//
// Left out on purpose: a browser opens at most six HTTP/1.1 connections to one
// server, and each tab's held poll takes one for good; a seventh tab waits.
// HTTP/2 (lesson 02) carries every request on one connection.

const shortMode = new URLSearchParams(location.search).get('mode') === 'short';
export const name = shortMode ? 'HTTP short polling (every 3 s)' : 'HTTP long polling';

const SHORT_INTERVAL_MS = 3000;
// The server answers a held poll within 25 s (its --poll-timeout). A minute of
// silence means the connection died where we cannot see it (a proxy, a laptop
// that slept), so we drop it and ask again.
const POLL_DEADLINE_MS = 60_000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;

export function connect(handlers) {
  // close() aborts the request in flight and ends every wait below.
  const closed = new AbortController();
  const signal = closed.signal;
  // The newest id handed to the page; null until the first answer.
  let lastId = null;
  // The server's history we are following: ids mean something only within it.
  let historyId = null;
  let connected = false;

  function setConnected(up) {
    if (up === connected) return;
    connected = up;
    handlers.status(up);
  }

  // One HTTP exchange, logged both ways. Resolves with the status and the JSON
  // body (null if it is not JSON); rejects only if no answer came at all.
  async function exchange(method, path, body, deadline = signal) {
    handlers.wire('→', body ? `${method} ${path} ${shorten(body)}` : `${method} ${path}`);
    const started = performance.now();
    const seconds = () => ((performance.now() - started) / 1000).toFixed(2);
    try {
      const res = await fetch(path, {
        method,
        body,
        headers: body ? { 'Content-Type': 'application/json' } : {},
        cache: 'no-store', // every poll must reach the server, never a cache
        signal: deadline,
      });
      const bytes = new Uint8Array(await res.arrayBuffer());
      // Only a GET with ?since= and without wait=0 may be held; the server
      // answers it at once when it already has news.
      const holdable = method === 'GET' && path.includes('since=') && !path.includes('wait=0');
      const s = seconds();
      const timing = !holdable ? `took ${s} s` : s === '0.00' ? 'answered at once' : `held ${s} s`;
      handlers.wire('←', `${res.status} · ${bytes.length} B · ${timing}`);
      let json = null;
      try {
        json = JSON.parse(new TextDecoder().decode(bytes));
      } catch {}
      return { status: res.status, json };
    } catch (err) {
      if (!signal.aborted) handlers.wire('←', `no answer (${err.message}) after ${seconds()} s`);
      throw err;
    }
  }

  // Hands on what the page lacks, oldest first. Ids only grow, so lastId is
  // all we need to remember; anything at or below it was handed on already.
  function deliver(page) {
    // A new history: the server answered with its latest; what we showed is gone.
    if (typeof page.history_id === 'string') {
      if (historyId !== null && page.history_id !== historyId) {
        handlers.reset();
        lastId = null;
      }
      historyId = page.history_id;
    }
    if (page.missed > 0) handlers.missed(page.missed);
    for (const msg of page.messages) {
      if (lastId !== null && msg.id <= lastId) continue;
      handlers.message(msg);
      lastId = msg.id;
    }
    lastId ??= 0; // an empty room: from now on, everything after id 0
  }

  async function run() {
    let failures = 0;
    while (!signal.aborted) {
      // `since` makes every poll ask for exactly what we lack: a message posted
      // between two polls, or during a retry, comes in the next answer, once.
      let path = lastId === null ? '/messages' : `/messages?since=${lastId}`;
      if (lastId !== null && historyId !== null) path += `&history=${historyId}`;
      // After a failure, ask not to be held: a quick answer tells us at once
      // that the server is back, instead of up to 25 s later.
      if (lastId !== null && (shortMode || failures > 0)) path += '&wait=0';
      try {
        const deadline = AbortSignal.any([signal, AbortSignal.timeout(POLL_DEADLINE_MS)]);
        const { status, json } = await exchange('GET', path, undefined, deadline);
        if (status !== 200 || !Array.isArray(json?.messages))
          throw new Error(json?.error ?? `HTTP ${status}`);
        failures = 0;
        setConnected(true);
        deliver(json);
      } catch (err) {
        if (signal.aborted) return;
        setConnected(false);
        // Exponential backoff, so a server in trouble is not hammered, with
        // full jitter (a random wait between 0 and the cap): after a restart,
        // every open tab would otherwise retry at the same instant, again and
        // again. (AWS Architecture Blog, "Exponential Backoff And Jitter".)
        failures++;
        const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (failures - 1));
        const wait = Math.random() * cap;
        handlers.wire('·', `retry ${failures} in ${(wait / 1000).toFixed(2)} s (${err.message})`);
        await sleep(wait, signal);
        continue;
      }
      if (shortMode) {
        await sleep(SHORT_INTERVAL_MS, signal);
        // A hidden tab has no reader: asking every 3 s would only cost the server.
        if (document.hidden && !signal.aborted) {
          handlers.wire('·', 'tab hidden: polling paused');
          await whenVisible(signal);
          handlers.wire('·', 'tab visible: polling again');
        }
      }
      // Long polling asks again at once: while no request is waiting at the
      // server, it has no way to tell us anything.
    }
  }

  handlers.wire('·', shortMode
    ? 'short polling: asking every 3 s, answered at once'
    : 'long polling: the server holds each GET until there is news');
  run();

  return {
    // The answer is the stored message, with its id. We do not move lastId
    // here: messages others posted just before ours would then be skipped.
    async post(user, text, cid) {
      let res;
      try {
        res = await exchange('POST', '/messages', JSON.stringify({ user, text, cid }));
      } catch (err) {
        throw Object.assign(new Error(`could not reach the server (${err.message})`),
          { unanswered: true });
      }
      if (res.status !== 201) throw new Error(res.json?.error ?? `HTTP ${res.status}`);
      return res.json;
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

// Resolves once the tab is visible, or when the signal aborts.
function whenVisible(signal) {
  return new Promise((resolve) => {
    function check() {
      if (document.hidden && !signal.aborted) return;
      document.removeEventListener('visibilitychange', check);
      signal.removeEventListener('abort', check);
      resolve();
    }
    document.addEventListener('visibilitychange', check);
    signal.addEventListener('abort', check);
  });
}

// A post's body in the wire panel, cut short: a text may be 2000 characters.
function shorten(text) {
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
