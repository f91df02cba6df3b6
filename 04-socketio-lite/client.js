// The browser half of lesson 04: a small Socket.IO client, written here (the
// official socket.io-client is used by the tests, not by the page).
//
// Socket.IO rides on Engine.IO's message packets: 42["msg:new",{...}] is
// Engine.IO message (4), Socket.IO EVENT (2). The Engine.IO session under it (a
// WebSocket or HTTP long polling, the upgrade, the heartbeat) is
// engineio-client.js; this file is what lesson 03's client.js becomes on top of it.
//
//   ?transport=polling   long polling only (what a proxy that blocks WebSockets leaves)
//   ?transport=upgrade   polling first, then the upgrade, as socket.io-client does
//   otherwise            WebSocket first, polling if the WebSocket fails
//
// Events:  room:join "general" → ack {room}
//          msg:get {room, since, history} → ack {messages, missed, history_id}
//          msg:post {user, text, cid} → ack the stored message (or {error})
//          msg:new message, online {room, users}, node "a"   from the server
//
// Connection state recovery (socket.io 4.6's, which the server speaks): the
// CONNECT reply holds a private session id and an offset, 40{"sid","pid","offset"};
// every msg:new ends with its offset. After a drop the page sends
// 40{"pid","offset","user"}; if the session comes back the missed msg:new arrive
// first, then the CONNECT reply with the same pid, and the wire panel says
// "recovered: N missed messages replayed"; otherwise it asks msg:get as before.
//
// Left out on purpose: binary packets (the chat sends none), several namespaces
// per session, and buffering emits while disconnected (a post then fails at once).

import { openEngine } from '/engineio-client.js';

const mode = new URLSearchParams(location.search).get('transport') ?? 'websocket';
export const name = {
  polling: 'Socket.IO over HTTP long polling',
  upgrade: 'Socket.IO: polling, then upgraded to WebSocket',
}[mode] ?? 'Socket.IO over WebSocket';
export const rooms = ['general', 'random'];

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;
const ACK_TIMEOUT_MS = 10_000;

// Socket.IO v5 packet types.
const SIO = ['CONNECT', 'DISCONNECT', 'EVENT', 'ACK', 'CONNECT_ERROR', 'BINARY_EVENT',
  'BINARY_ACK'];

// <type>[<attachments>-][<nsp>,][<ack id>][JSON]  →  {type, nsp, id, data}
function decodeSio(text) {
  const m = /^([0-6])(?:(\d+)-)?(?:(\/[^,]*),?)?(\d+)?(.*)$/s.exec(text);
  if (!m) throw new Error('malformed Socket.IO packet');
  return {
    type: Number(m[1]),
    nsp: m[3] ?? '/',
    id: m[4] === undefined ? undefined : Number(m[4]),
    data: m[5] ? JSON.parse(m[5]) : undefined,
  };
}

function encodeSio({ type, id, data }) {
  return `${type}${id ?? ''}${data === undefined ? '' : JSON.stringify(data)}`;
}

// What a Socket.IO packet's digits mean, for the wire panel: "EVENT id 1".
function describe(text) {
  let sio = SIO[text[0]] ?? '?';
  try {
    const { nsp, id } = decodeSio(text);
    if (nsp !== '/') sio += ` ${nsp}`;
    if (id !== undefined) sio += ` id ${id}`;
  } catch {}
  return sio;
}

export function connect(handlers) {
  let engine = null;
  let connected = false;
  let stopped = false;
  let room = rooms[0];
  let lastId = null; // the newest message id handed to the page in this room
  let historyId = null; // the server's history: ids mean something only within it
  let syncing = null; // 'joining', or the msg:new that arrive while msg:get is in flight
  let nextAck = 0;
  const acks = new Map(); // ack id → callback(error, reply)
  let failures = 0;
  let pid = null; // connection state recovery: the private session id, and
  let lastOffset = null; // the offset of the last event seen (or the session's start)
  let joined = null; // the room the server has us in
  let early = []; // events before the CONNECT reply: the missed ones, replayed

  function setConnected(up) {
    if (up === connected) return;
    connected = up;
    handlers.status(up);
  }

  // emit(event, ...args[, callback]): a callback asks for an ack (an id in the packet).
  function emit(event, ...args) {
    const cb = typeof args.at(-1) === 'function' ? args.pop() : null;
    let id;
    if (cb) {
      id = nextAck++;
      const expire = () => acks.delete(id) && cb(new Error('no answer in time'));
      const timer = setTimeout(expire, ACK_TIMEOUT_MS);
      acks.set(id, (err, reply) => {
        clearTimeout(timer);
        cb(err, reply);
      });
    }
    engine.send(`4${encodeSio({ type: 2, id, data: [event, ...args] })}`);
  }
  // An emit whose ack resolves a promise; refused at once while disconnected
  // (this client does not buffer, unlike socket.io-client). No ack at all is
  // `unanswered`: the page may send a post again (same cid) after a reconnect.
  const unanswered = (err) => Object.assign(err, { unanswered: true });
  const ask = (event, arg) => new Promise((resolve, reject) => {
    if (!connected) return reject(unanswered(new Error('not connected: try again in a moment')));
    emit(event, arg, (err, reply) => (err ? reject(unanswered(err)) : resolve(reply)));
  });

  // Hands on what the page lacks, oldest first; ids only grow within a room, so
  // lastId alone says what was handed on already.
  function deliver(messages) {
    for (const msg of messages) {
      if (lastId !== null && msg.id <= lastId) continue;
      handlers.message(msg);
      lastId = msg.id;
    }
  }

  // Join the room, then ask for what we lack: everything after lastId, or the
  // latest messages. Until the join is acknowledged, msg:new still comes from the
  // old room (ids are per room) and is dropped; after it, msg:new waits until the
  // page of history is in, so the order holds.
  async function enter() {
    const sentFor = room;
    syncing = 'joining';
    try {
      await ask('room:join', room);
      joined = sentFor;
      if (sentFor !== room) return;
      syncing = [];
      const query = lastId === null ? { room } : { room, since: lastId, history: historyId };
      const page = await ask('msg:get', query);
      if (sentFor !== room) return;
      if (page.error) throw new Error(page.error);
      // A new history: the page holds its latest; what we showed is gone.
      if (typeof page.history_id === 'string') {
        if (historyId !== null && page.history_id !== historyId) {
          handlers.reset();
          lastId = null;
        }
        historyId = page.history_id;
      }
      if (page.missed > 0) handlers.missed(page.missed);
      deliver(page.messages);
      lastId ??= 0;
      deliver(syncing);
    } catch (err) {
      handlers.wire('·', `could not enter #${sentFor}: ${err.message}`);
    } finally {
      if (sentFor === room) syncing = null;
    }
  }

  // Socket.IO packets of the main namespace (the only one this page joins).
  function onSioPacket(text) {
    let p;
    try {
      p = decodeSio(text);
    } catch (err) {
      return handlers.wire('·', `${err.message}: ${text}`);
    }
    if (p.nsp !== '/') return;
    // The last argument of a replayable event is its offset (a string).
    const last = p.type === 2 && Array.isArray(p.data) ? p.data.at(-1) : undefined;
    if (pid !== null && typeof last === 'string') lastOffset = last;
    if (p.type === 2 && !connected) return early.push(p);
    if (p.type === 0) {
      failures = 0;
      const recovered = pid !== null && p.data?.pid === pid;
      const replayed = recovered ? early : [];
      const missed = replayed.filter((e) => e.data[0] === 'msg:new').length;
      early = [];
      if (pid !== null)
        handlers.wire('·', recovered ? `recovered: ${missed} missed messages replayed`
          : 'not recovered: a new session, asking msg:get for what was missed');
      if (!recovered) {
        joined = null;
        lastOffset = typeof p.data?.offset === 'string' ? p.data.offset : null;
      }
      pid = typeof p.data?.pid === 'string' ? p.data.pid : null;
      setConnected(true);
      // Recovered: already in the room, the missed messages in hand, in order.
      for (const e of replayed) onSioPacket(`2${JSON.stringify(e.data)}`);
      if (!recovered || joined !== room) enter();
    } else if (p.type === 4) {
      // Refused by the server's middleware: the reason, and what it wants.
      const why = `${p.data?.message} ${JSON.stringify(p.data?.data ?? {})}`;
      handlers.wire('·', `refused: ${why}`);
      engine.close(); // and try again later, with the name the box holds then
    } else if (p.type === 2) {
      const [event, arg] = p.data;
      if (event === 'msg:new') {
        if (Array.isArray(syncing)) syncing.push(arg);
        else if (syncing === null) deliver([arg]);
      } else if (event === 'online' && arg.room === room) {
        handlers.online(arg.users);
      } else if (event === 'node') {
        // Behind the cluster's front: which node serves this tab (--node).
        document.getElementById('transport').textContent = `${name} · node ${arg}`;
      }
    } else if (p.type === 3) {
      // 431[{...}]: the answer to our emit with id 1; its callback, once.
      const cb = acks.get(p.id);
      acks.delete(p.id);
      cb?.(null, p.data[0]);
    } else if (p.type === 1) {
      // The server disconnected us from "/": a new session, after a backoff.
      engine.close();
    }
  }

  function start() {
    // The name box may change between reconnects: read it each time.
    const user = document.getElementById('name')?.value.trim() || 'guest';
    engine = openEngine(mode, {
      wire: handlers.wire,
      describe,
      // Socket.IO v5: the client connects to a namespace first; auth rides along,
      // and after a drop the session to recover, as socket.io-client sends it.
      open: () => {
        early = [];
        const data = pid === null ? { user } : { pid, offset: lastOffset ?? undefined, user };
        engine.send(`4${encodeSio({ type: 0, data })}`);
      },
      message: (data) => (typeof data === 'string' ? onSioPacket(data) : undefined),
      // Whatever ended the session (ping timeout, a failed poll, the server's
      // close packet), the page reconnects with a new one and resumes from lastId.
      close: (reason) => {
        setConnected(false);
        for (const cb of acks.values()) cb(new Error('disconnected'));
        acks.clear();
        if (stopped) return;
        // Exponential backoff with full jitter, as in lesson 01.
        const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** failures++);
        const wait = Math.random() * cap;
        handlers.wire('·', `${reason}: reconnecting in ${(wait / 1000).toFixed(2)} s`);
        setTimeout(() => stopped || start(), wait);
      },
    });
  }
  start();

  return {
    async post(user, text, cid) {
      const postedIn = room;
      const reply = await ask('msg:post', { user, text, cid });
      if (reply.error) throw new Error(reply.error);
      // Ours is newer than every msg:new that came before its ack.
      if (postedIn === room && syncing === null && lastId !== null)
        lastId = Math.max(lastId, reply.id);
      return reply;
    },
    join(name) {
      room = name;
      lastId = null;
      if (connected) enter();
    },
    close() {
      stopped = true;
      engine?.close();
      setConnected(false);
      handlers.wire('·', 'closed');
    },
  };
}
