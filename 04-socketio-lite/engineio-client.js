// Engine.IO v4, the browser half of lesson 04's transport layer: the session
// under Socket.IO (client.js). It knows packets, not events: open, close, ping,
// pong, message, upgrade, noop, each one digit followed by its data.
//
// Engine.IO keeps a session up whatever the network allows: a WebSocket, or HTTP
// long polling (a GET held by the server, a POST per batch), and the upgrade from
// polling to WebSocket without losing a packet (Engine.IO v4 "Upgrade"). The
// server pings, the client answers and watches for silence ("Heartbeat").

// Engine.IO v4 packet types.
const EIO = ['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'];

// One line for the wire panel: the packet as sent, and what its digits mean; a
// message's payload is described by the layer above (Socket.IO), if it says.
function describePacket(packet, describeMessage) {
  if (typeof packet !== 'string') return `binary · ${packet.byteLength} B`;
  const kind = EIO[packet[0]] ?? '?';
  const raw = packet.length > 90 ? `${packet.slice(0, 89)}…` : packet;
  if (kind !== 'message') return `${raw}  · ${kind}`;
  const inner = describeMessage ? ` › ${describeMessage(packet.slice(1))}` : '';
  return `${raw}  · message${inner}`;
}


// The Engine.IO session: ev.open(info), ev.message(data), ev.close(reason),
// ev.wire(direction, line), ev.describe(message payload) for the panel;
// returns send(text), close(), transport().
export function openEngine(preferred, ev) {
  const describe = (packet) => describePacket(packet, ev.describe);
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
