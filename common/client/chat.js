// The chat page every lesson shares. It knows nothing about the wire: the
// lesson's /client.js (the transport) hands it messages and tells it what it
// sends and receives. The transport interface:
//   export const name                      shown in the header
//   export const rooms                     optional: room names (lesson 04)
//   export function connect(handlers) -> { post(user, text, cid), close(), join(room) }
//   handlers: message(msg), missed(n), status(connected), wire(direction, text),
//             online(users), reset()
// post() rejects with err.unanswered = true when no answer came (the connection
// was lost): the page then sends it once more, with the same cid, after the
// reconnect; the server stores a cid once. reset(): the server's history is not
// the one this page showed (its log was deleted, or it keeps none); the
// transport then delivers the new history.
//
// Everything a user typed reaches the page through textContent, never as HTML,
// so a message like <img src=x onerror=alert(1)> is shown as those characters.
// No inline handlers or styles either: the server's Content-Security-Policy
// allows only our own files to run.
import * as transport from '/client.js';

const $ = (id) => document.getElementById(id);
const list = $('messages');
const wireList = $('wire');
const nameBox = $('name');
const textBox = $('text');

// Past a few thousand nodes scrolling and layout get slow; the server keeps
// the history, the page only the recent past.
const MAX_MESSAGES = 1000;
const MAX_WIRE = 300;
const RESEND_AFTER_MS = 5000;

// A message can arrive twice: as the answer to our own post and through the
// stream. Its id, assigned by the server, says it is the same message.
const shown = new Map(); // id -> element
// Where each element of the list belongs: a message's id, a notice sits just
// after the newest id it followed, a pending post (Infinity) stays at the end.
const order = new WeakMap();
let newestId = 0;
// Bumped when the list is cleared (room change), so a post answered late does
// not drop a message from the old room into the new one.
let epoch = 0;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// Runs change() and keeps the box scrolled to its end, but only if the reader
// was already there: someone scrolled up to read stays where they are.
function pinned(box, change, force = false) {
  const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  change();
  if (atEnd || force) box.scrollTop = box.scrollHeight;
}

// Inserts node after the last element that comes before it. Searching from
// the end is one step for nearly every message, which is the newest.
function place(node, key) {
  order.set(node, key);
  let before = list.lastElementChild;
  while (before && order.get(before) > key) before = before.previousElementSibling;
  list.insertBefore(node, before ? before.nextSibling : list.firstChild);
}

function messageElement(msg, pending) {
  const node = el('div', pending ? 'message pending' : 'message');
  const time = el('time', 'time', 'sending…');
  const when = new Date(msg.time);
  if (!pending) {
    node.dataset.id = msg.id;
    // Local time: the server sends ms since the epoch, which has no time zone.
    time.textContent = when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    if (!isNaN(when)) time.dateTime = when.toISOString();
    time.title = when.toLocaleString();
  }
  node.append(el('span', 'user', msg.user), ' ', el('span', 'text', msg.text), ' ', time);
  return node;
}

function showMessage(msg) {
  if (shown.has(msg.id)) return;
  const node = messageElement(msg, false);
  shown.set(msg.id, node);
  newestId = Math.max(newestId, msg.id);
  pinned(list, () => {
    place(node, msg.id);
    // Drop the oldest; a notice at the top goes with them.
    while (shown.size > MAX_MESSAGES) {
      const first = list.firstElementChild;
      shown.delete(Number(first.dataset.id));
      first.remove();
    }
  });
}

// The server's history is bounded: if we fell behind by more than it keeps,
// it tells us how many we lost, and we say so rather than pretend.
function showMissed(n) {
  $('notice')?.remove(); // one notice, at the latest gap
  const node = el('p', 'notice');
  node.id = 'notice';
  node.textContent = `${n} older message${n === 1 ? ' was' : 's were'} missed (history limit)`;
  pinned(list, () => place(node, newestId + 0.5));
}

// A client-made id for each post: the server stores a cid once, so a post
// sent again after a lost answer is not doubled.
function newCid() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// Posts whose answer was lost, waiting for the connection to come back.
const unanswered = [];
let online = false;
function resendUnanswered() {
  // After this turn: a transport delivers the first answer (and a reset) in
  // the same turn it reports the connection up.
  queueMicrotask(() => {
    for (const send of unanswered.splice(0)) send();
  });
}

function showReset() {
  clearMessages();
  const node = el('p', 'notice');
  node.id = 'reset-notice';
  node.textContent = "the server's history was reset";
  pinned(list, () => place(node, 0.5));
  resendUnanswered();
}

function clearMessages() {
  for (const node of [...list.children]) if (!node.classList.contains('pending')) node.remove();
  shown.clear();
  newestId = 0;
  epoch++;
}

function showStatus(connected) {
  online = connected;
  if (connected) resendUnanswered();
  const dot = $('status');
  const label = connected ? 'connected' : 'disconnected';
  dot.dataset.connected = String(connected);
  dot.title = label;
  dot.setAttribute('aria-label', label);
}

function showError(text) {
  $('error').textContent = text;
  $('error').hidden = !text;
}

function showOnline(users) {
  $('online').textContent = `online: ${users.join(', ')}`;
  $('online').hidden = false;
}

// 14:02:03.125: the wire panel is about timing, so it shows milliseconds.
function clock(d = new Date()) {
  const pad = (n, width = 2) => String(n).padStart(width, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `.${pad(d.getMilliseconds(), 3)}`;
}

// direction: '→' sent, '←' received, '·' an event (a retry, a state change).
function logWire(direction, text) {
  const kind = { '→': 'out', '←': 'in' }[direction] ?? 'event';
  const line = el('li', kind);
  line.append(el('time', null, clock()), ' ', el('span', 'dir', direction), ' ', text);
  pinned(wireList, () => {
    wireList.append(line);
    if (wireList.children.length > MAX_WIRE) wireList.firstElementChild.remove();
  });
}

// A closed panel cannot scroll; reopened, it shows the newest lines again.
$('wire-panel').addEventListener('toggle', (event) => {
  if (event.target.open) wireList.scrollTop = wireList.scrollHeight;
});

// Each tab keeps its own name across reloads: sessionStorage belongs to one tab
// (localStorage is shared by every tab of the site, so two tabs would chat as
// one person). A fresh tab starts empty and gets a random name of its own.
const NAME_KEY = 'chat.name';
function saveName() {
  try {
    sessionStorage.setItem(NAME_KEY, nameBox.value.trim());
  } catch {
    // Storage can be off (private mode, policy): the name just won't persist.
  }
}
try {
  nameBox.value = sessionStorage.getItem(NAME_KEY) ?? '';
} catch {}
if (!nameBox.value) {
  nameBox.value = `guest-${1000 + Math.floor(Math.random() * 9000)}`;
  saveName();
}
nameBox.addEventListener('input', saveName);

// The server's view (--trace-page): what the server decoded on this page's own
// connections, exactly as its --trace prints it (frame headers, masks, HPACK
// fields, Engine.IO packets), which the browser hides from JavaScript. With the
// switch on, this tab has a random token (sessionStorage: one per tab), every
// URL client.js opens on this server carries it (?tracepage=, ignored by the
// lessons), and GET /trace?page=TOKEN brings the lines of the connections that
// carried it. Switching reloads the page, so every connection opens again.
const TRACE_KEY = 'chat.trace-page';
const TRACE_POLL_MS = 1000;
const traceBox = $('trace-page');
let traceToken = null;
try {
  traceToken = sessionStorage.getItem(TRACE_KEY);
} catch {}
traceBox.checked = Boolean(traceToken);
traceBox.addEventListener('change', () => {
  try {
    if (!traceBox.checked) sessionStorage.removeItem(TRACE_KEY);
    else {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
      sessionStorage.setItem(TRACE_KEY, hex);
    }
  } catch {
    return logWire('·', 'server view: needs sessionStorage, which is off here');
  }
  location.reload();
});

function logServer(text) {
  const line = el('li', 'server');
  line.append(el('time', null, clock()), ' ', el('span', 'dir', 'server'), ' ', text);
  pinned(wireList, () => {
    wireList.append(line);
    if (wireList.children.length > MAX_WIRE) wireList.firstElementChild.remove();
  });
}

// Adds the token to a URL of this server (fetch's and WebSocket's), never to
// GET /trace itself: its own frames would fill the panel.
function tagUrl(url, token) {
  const target = new URL(url, location.href);
  if (target.host !== location.host || target.pathname === '/trace') return url;
  target.search += `${target.search ? '&' : '?'}tracepage=${token}`;
  return target.href;
}

const plainFetch = window.fetch.bind(window);
if (traceToken) {
  const token = traceToken;
  const tagged = (input) =>
    typeof input === 'string' || input instanceof URL ? tagUrl(input, token) : input;
  window.fetch = (input, init) => plainFetch(tagged(input), init);
  const PlainWebSocket = window.WebSocket;
  window.WebSocket = class extends PlainWebSocket {
    constructor(url, protocols) {
      super(tagUrl(url, token), protocols);
    }
  };
  pollTrace(token);
}

async function pollTrace(token) {
  let after = 0;
  let dropped = 0;
  logWire('·', 'server view: on, lines marked "server" are what the server decoded');
  for (;;) {
    try {
      const res = await plainFetch(`/trace?page=${token}&after=${after}`, { cache: 'no-store' });
      if (res.status === 404) {
        return logWire('·', 'server view: off at the server (start it with --trace-page)');
      }
      if (res.ok) {
        const data = await res.json();
        if (data.dropped > dropped)
          logWire('·', `server view: ${data.dropped - dropped} lines dropped`);
        dropped = data.dropped;
        for (const line of data.lines) logServer(line);
        after = data.next;
      }
    } catch {
      // The server is away (restarting): ask again later.
    }
    await new Promise((resolve) => setTimeout(resolve, TRACE_POLL_MS));
  }
}

$('transport').textContent = transport.name;
const handle = transport.connect({
  message: showMessage,
  missed: showMissed,
  status: showStatus,
  wire: logWire,
  online: showOnline,
  reset: showReset,
});

// Rooms exist only where the transport has them (lesson 04).
if (Array.isArray(transport.rooms)) {
  const select = $('room');
  for (const room of transport.rooms) select.append(new Option(room, room));
  select.hidden = false;
  select.addEventListener('change', () => {
    clearMessages();
    handle.join(select.value);
  });
}

// A post shows at once, greyed, then gives way to the stored message the
// server answers with (same id as the copy the stream brings, so shown once).
$('compose').addEventListener('submit', async (event) => {
  event.preventDefault(); // Enter or Send: we post with the transport, not a form
  const user = nameBox.value.trim();
  const text = textBox.value;
  if (!text.trim()) return;
  textBox.value = '';
  textBox.focus();
  showError('');
  const pending = messageElement({ user, text }, true);
  pinned(list, () => place(pending, Infinity), true);
  const cid = newCid();
  for (let attempt = 1; ; attempt++) {
    const sentIn = epoch;
    try {
      const msg = await handle.post(user, text, cid);
      if (sentIn === epoch) showMessage(msg);
    } catch (err) {
      // No answer: the server may have stored it or not. Once it is back, the
      // same post again, once; its cid makes a stored one come back as it is.
      if (err.unanswered && attempt === 1) {
        await new Promise((resolve) => {
          unanswered.push(resolve);
          // The transport may not have seen the connection drop: if it never
          // does, try again anyway after a while.
          setTimeout(() => online && resolve(), RESEND_AFTER_MS);
        });
        continue;
      }
      // The server's reason ("text: must be 1-2000 characters"); the text goes
      // back in the box, unless something new was typed meanwhile.
      showError(err.message);
      if (!textBox.value) textBox.value = text;
    }
    break;
  }
  pending.remove();
});
textBox.addEventListener('input', () => showError(''));
