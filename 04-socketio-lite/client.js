// The browser half of lesson 04: a small Engine.IO + Socket.IO client, written
// here (the official socket.io-client is used by the tests, not by the page).
//
// Engine.IO keeps a session up whatever the network allows: a WebSocket, or HTTP
// long polling (a GET held by the server, a POST per batch), and the upgrade from
// polling to WebSocket without losing a packet. Socket.IO rides on its message
// packets: 42["msg:new",{...}] is Engine.IO message (4), Socket.IO EVENT (2).
//
//   ?transport=polling   long polling only (what a proxy that blocks WebSockets leaves)
//   ?transport=upgrade   polling first, then the upgrade, as socket.io-client does
//   otherwise            WebSocket first, polling if the WebSocket fails
//
// Events:  room:join "general" → ack {room}
//          msg:get {room, since, history} → ack {messages, missed, history_id}
//          msg:post {user, text, cid} → ack the stored message (or {error})
//          msg:new message, online {room, users}   from the server
//
// Left out on purpose: binary packets (the chat sends none), several namespaces
// per session, and buffering emits while disconnected (a post then fails at once).

const mode = new URLSearchParams(location.search).get('transport') ?? 'websocket';
export const name = {
  polling: 'Socket.IO over HTTP long polling',
  upgrade: 'Socket.IO: polling, then upgraded to WebSocket',
}[mode] ?? 'Socket.IO over WebSocket';
export const rooms = ['general', 'random'];

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;
const ACK_TIMEOUT_MS = 10_000;

// Engine.IO v4 packet types, and Socket.IO v5's.
const EIO = ['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'];
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

// One line for the wire panel: the packet as sent, and what its digits mean.
function describe(packet) {
  if (typeof packet !== 'string') return `binary · ${packet.byteLength} B`;
  const kind = EIO[packet[0]] ?? '?';
  const raw = packet.length > 90 ? `${packet.slice(0, 89)}…` : packet;
  if (kind !== 'message') return `${raw}  · ${kind}`;
  let sio = SIO[packet[1]] ?? '?';
  try {
    const { nsp, id } = decodeSio(packet.slice(1));
    if (nsp !== '/') sio += ` ${nsp}`;
    if (id !== undefined) sio += ` id ${id}`;
  } catch {}
  return `${raw}  · message › ${sio}`;
}

// The Engine.IO session: on(open|message|close), send(text), close().
function openEngine(preferred, ev) {
  const base = `${location.host}/socket.io/?EIO=4`;
  const wsBase = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${base}`;
  const httpBase = `${location.protocol}//${base}`;
  let sid = null;
  let transport = null; // {name, send(packets), close()}
  let upgrading = false;
  let closed = false;
  let heartbeat = null;
  const outbox = []; // packets waiting while the transport changes

  // Ends the session once, whatever ended it; the caller decides about a retry.
  function close(reason) {
    if (closed) return;
    closed = true;
    clearTimeout(heartbeat);
    transport?.close();
    ev.close(reason);
  }

  // Engine.IO v4 "Heartbeat": the server pings every pingInterval; no ping for
  // pingInterval + pingTimeout means the session is dead, even if TCP says not.
  function expectPing(info) {
    clearTimeout(heartbeat);
    const deadline = info.pingInterval + info.pingTimeout;
    heartbeat = setTimeout(() => close('ping timeout'), deadline);
  }

  let info = null;
  function onPacket(packet) {
    if (closed) return;
    ev.wire('←', describe(packet));
    if (typeof packet !== 'string') return ev.message(packet);
    const type = EIO[packet[0]];
    const data = packet.slice(1);
    if (type === 'open') {
      info = JSON.parse(data);
      sid = info.sid;
      expectPing(info);
      ev.open(info);
      if (preferred === 'upgrade' && transport.name === 'polling' &&
          info.upgrades.includes('websocket')) upgrade();
    } else if (type === 'ping') {
      expectPing(info);
      send('3');
    } else if (type === 'message') {
      ev.message(data);
    } else if (type === 'close') {
      close('server close');
    }
    // pong and noop need nothing: noop only ends a poll during the upgrade.
  }

  // Packets wait in the outbox only while the upgrade pauses every transport.
  function send(packet) {
    ev.wire('→', describe(packet));
    outbox.push(packet);
    if (!upgrading) flush();
  }
  function flush() {
    if (transport && outbox.length) transport.send(outbox.splice(0));
  }

  // WebSocket: one Engine.IO packet per frame, text as text, binary as binary.
  // It has failed (onFail) if it closes before a single packet came through: a
  // proxy may refuse the upgrade, or accept it and then pass nothing.
  function webSocket(query, onOpen, onFail) {
    const ws = new WebSocket(`${wsBase}&transport=websocket${query}`);
    ws.binaryType = 'arraybuffer';
    let worked = false;
    ws.onopen = () => onOpen?.();
    ws.onmessage = (e) => {
      worked = true;
      t.onPacket(e.data);
    };
    ws.onclose = () => (worked ? t.onClose('transport close') : onFail());
    const t = {
      name: 'websocket',
      onPacket: (p) => onPacket(p),
      onClose: (reason) => close(reason),
      send: (packets) => packets.forEach((p) => ws.send(p)),
      close: () => {
        ws.onclose = null;
        ws.close();
      },
      raw: ws,
    };
    return t;
  }

  // Long polling: a GET that the server holds until it has packets; a POST per
  // batch. Packets in one body are separated by \x1e (Engine.IO v4 "Packet encoding").
  function polling() {
    let stopped = false;
    let held = false; // no new GET (the upgrade is under way)
    let getting = null; // the GET loop, a promise
    let posting = null; // the POST loop, a promise
    const queue = [];
    // t= defeats caches that would answer a poll without asking the server.
    const url = () => `${httpBase}&transport=polling${sid ? `&sid=${sid}` : ''}` +
      `&t=${Date.now()}`;
    async function get() {
      const res = await fetch(url(), { cache: 'no-store' });
      const body = await res.text();
      if (!res.ok) throw new Error(`HTTP ${res.status} ${body.trim()}`);
      // Binary packets come base64-encoded, after a "b".
      for (const p of body.split('\x1e'))
        if (!stopped) onPacket(p[0] === 'b' ? base64(p.slice(1)) : p);
    }
    async function pollLoop() {
      try {
        while (!stopped && !held) await get();
      } catch (err) {
        if (!stopped) close(`poll failed: ${err.message}`);
      }
    }
    async function postLoop() {
      try {
        while (queue.length && !stopped) {
          const res = await fetch(url(), {
            method: 'POST',
            body: queue.splice(0).join('\x1e'),
            headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
          });
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
        }
      } catch (err) {
        if (!stopped) close(`post failed: ${err.message}`);
      } finally {
        posting = null;
      }
    }
    getting = pollLoop();
    return {
      name: 'polling',
      send(packets) {
        queue.push(...packets);
        posting ??= postLoop();
      },
      close() {
        stopped = true;
      },
      hold() {
        held = true;
      },
      resume() {
        if (!held) return;
        held = false;
        getting = pollLoop();
      },
      // Waits for the GET in flight (the server ends it with a noop once it sees
      // the probe) and the POST in flight, so no packet is left behind.
      async pause() {
        held = true;
        await getting;
        await posting;
      },
    };
  }

  // Engine.IO v4 "Upgrade": a WebSocket with the same sid, ping "probe" → pong
  // "probe"; then polling is paused and "5" (upgrade) switches for good.
  function upgrade() {
    ev.wire('·', 'upgrading: probing a WebSocket for the same session');
    const polling = transport;
    polling.hold();
    const ws = webSocket(`&sid=${sid}`, () => {
      ev.wire('→', `${describe('2probe')} (probe)`);
      ws.raw.send('2probe');
    }, () => {
      ev.wire('·', 'upgrade failed: staying on polling');
      polling.resume();
    });
    ws.onPacket = async (p) => {
      ev.wire('←', `${describe(p)} (probe)`);
      if (p !== '3probe') return ws.close();
      upgrading = true; // from now on, sends wait in the outbox
      await polling.pause();
      if (closed) return ws.close();
      polling.close();
      ev.wire('→', describe('5'));
      ws.raw.send('5');
      ws.onPacket = (packet) => onPacket(packet);
      ws.onClose = (reason) => close(reason);
      transport = ws;
      upgrading = false;
      ev.wire('·', 'upgraded: now on WebSocket');
      flush();
    };
    ws.onClose = () => {
      ev.wire('·', 'upgrade failed: staying on polling');
      polling.resume();
    };
  }

  if (preferred === 'websocket') {
    ev.wire('·', 'opening a WebSocket');
    transport = webSocket('', null, () => {
      // Could not even open: a proxy or a firewall. Long polling goes anywhere
      // plain HTTP goes; that is why Engine.IO has it.
      ev.wire('·', 'WebSocket failed: falling back to long polling');
      transport = polling();
    });
  } else {
    ev.wire('·', 'opening a long-polling session');
    transport = polling();
  }
  return { send, close: () => close('client close'), transport: () => transport?.name };
}

// "bAQID" in a polling body is <01 02 03>: binary travels base64-encoded there.
function base64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0)).buffer;
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
    if (p.type === 0) {
      failures = 0;
      setConnected(true);
      enter();
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
      } else if (event === 'online' && arg.room === room) handlers.online(arg.users);
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
      // Socket.IO v5: the client connects to a namespace first; auth rides along.
      open: () => engine.send(`4${encodeSio({ type: 0, data: { user } })}`),
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
