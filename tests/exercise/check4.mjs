// Lesson 04's stages (make check-4): Engine.IO v4 over HTTP long polling, with
// Socket.IO v5 packets inside, as raw HTTP/1.1 requests. Each stage opens its own
// sessions. A GET is sent only when the server has something queued for it (a
// held GET would wait for the 25 s ping), so "nothing within 5 s" means a packet
// that should have been queued was not.
import { request } from './http.mjs';

const PATH = '/socket.io/?EIO=4&transport=polling';
// Connection state recovery (its pid and offsets) is not one of these exercises: the
// stages speak plain Socket.IO v5, whose CONNECT reply is 40{"sid":"..."}.
export const args = ['--recovery-window', '0'];
const RS = '\x1e';

// A body as printed: the record separator made visible, ids and times left out.
const shown = (body) => body.replaceAll(RS, '\\x1e').replace(/"time":\d+/g, '"time":…')
  .replace(/"sid":"[^"]*"/g, '"sid":"…"').replace(/sid=[A-Za-z0-9_-]+/g, 'sid=…').slice(0, 200);
const received = (r) => (r.failed ? r.failed :
  `${r.status} ${r.body ? shown(r.body) : '(an empty body)'}`);

// The handshake: resolves with the session's sid.
async function open(t) {
  const r = await request(t, 'GET', PATH);
  const m = /^0(\{"sid":"([A-Za-z0-9_-]{20})","upgrades":\["websocket"\],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000\})$/
    .exec(r.body ?? '');
  if (r.status === 200 && m) return m[2];
  throw t.fail({ sent: r.sent, received: received(r), exercise: 'eio-encode-payload',
    hint: 'Engine.IO v4 "Handshake": the open packet, type 0, then its JSON',
    expected: '200 0{"sid":"…","upgrades":["websocket"],"pingInterval":25000,' +
      '"pingTimeout":20000,"maxPayload":1000000}' });
}

// POST one body of packets; the answer must be 200 "ok".
async function send(t, sid, body, expected) {
  const r = await request(t, 'POST', `${PATH}&sid=${sid}`, body, undefined,
    'text/plain;charset=UTF-8');
  if (r.status === 200 && r.body === 'ok') return r;
  throw t.fail({ sent: r.sent.map(shown), received: received(r),
    expected: expected ?? '200 ok' });
}

// GET what the session has queued; it must match want (a RegExp on the body).
async function receive(t, sid, want, expected, sentBefore = []) {
  const r = await request(t, 'GET', `${PATH}&sid=${sid}`);
  if (r.status === 200 && want.test(r.body)) return r.body;
  throw t.fail({ sent: [...sentBefore, ...r.sent].map(shown), received: received(r), expected });
}

// A session with a Socket.IO connection to "/" as user.
async function connect(t, user) {
  const sid = await open(t);
  const post = `40{"user":"${user}"}`;
  await send(t, sid, post);
  await receive(t, sid, /^40\{"sid":"[A-Za-z0-9_-]+"\}$/, '200 40{"sid":"…"}',
    [`POST ${post}`, '(then)']);
  return sid;
}

const quote = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export const stages = [
  {
    name: 'open',
    exercise: 'eio-encode-payload',
    what: 'GET /socket.io/?EIO=4&transport=polling (the handshake)',
    hint: 'Engine.IO v4 "HTTP long-polling": a GET\'s body is the queued packets, ' +
      'each a type digit and its data',
    run: (t) => open(t),
  },
  {
    name: 'connect',
    exercise: 'eio-decode-payload',
    what: 'POST 40{"user":"ada"} (a Socket.IO CONNECT in an Engine.IO message), then GET',
    hint: 'Engine.IO v4 "HTTP long-polling": a POST body holds packets; here one, ' +
      '4 (message) + its data',
    run: (t) => connect(t, 'ada'),
  },
  {
    name: 'namespace',
    exercise: 'sio-namespace',
    what: 'POST 40/nope,{} (CONNECT to a namespace that does not exist), then GET',
    hint: 'Socket.IO v5 "Format": [<namespace>,] comes after the type; /nope is not ' +
      'served, so the answer is CONNECT_ERROR (4) for /nope',
    run: async (t) => {
      const sid = await open(t);
      await send(t, sid, '40/nope,{}');
      await receive(t, sid, /^44\/nope,\{"message":"Invalid namespace"\}$/,
        '200 44/nope,{"message":"Invalid namespace"}', ['POST 40/nope,{}', '(then)']);
    },
  },
  {
    name: 'ack',
    exercise: 'sio-ack-id',
    what: 'POST 427["room:join","general"] (an EVENT with ack id 7), then GET',
    hint: 'Socket.IO v5 "Format": the ack id is the digits before the JSON; the ACK ' +
      '(type 3) carries the same id: 437[...]',
    run: async (t) => {
      const sid = await connect(t, 'ada');
      const join = '427["room:join","general"]';
      await send(t, sid, join);
      // The room's "online" broadcast may come first: that is room-broadcast's stage.
      await receive(t, sid, /(^|\x1e)437\[\{"room":"general"\}\]$/,
        '200 437[{"room":"general"}] (after the room\'s 42["online",...])',
        [`POST ${join}`, '(then)']);
    },
  },
  {
    name: 'two-packets',
    exercise: 'eio-decode-payload',
    what: 'POST room:join and msg:get in one body, then GET both acks',
    hint: 'Engine.IO v4 "HTTP long-polling": the packets of one body are separated by ' +
      'the record separator \\x1e, both ways',
    run: async (t) => {
      const sid = await connect(t, 'ada');
      const body = `421["room:join","general"]${RS}422["msg:get",{"room":"general","since":0}]`;
      await send(t, sid, body);
      const acks = `431\\[\\{"room":"general"\\}\\]${RS}432\\[\\{"messages":\\[\\],"missed":0\\}\\]`;
      const r = await request(t, 'GET', `${PATH}&sid=${sid}`);
      if (r.status === 200 && new RegExp(`(^|${RS})${acks}$`).test(r.body)) return;
      // The first ack only: the server read both packets but wrote one.
      const oneAck = r.status === 200 && /431\[\{"room":"general"\}\]$/.test(r.body);
      throw t.fail({ sent: [`POST ${body}`, '(then)', ...r.sent].map(shown),
        received: received(r), ...(oneAck ? { exercise: 'eio-encode-payload' } : {}),
        expected: '200 431[{"room":"general"}]\\x1e432[{"messages":[],"missed":0}] ' +
          '(after the room\'s 42["online",...])' });
    },
  },
  {
    name: 'room-broadcast',
    exercise: 'room-broadcast',
    what: 'ada and bob join "general"; bob posts; ada gets msg:new, bob only his ack',
    hint: 'Socket.IO v5: socket.to(room).emit() reaches every socket in the room ' +
      'except the sender (the room named after its own id is excepted)',
    run: async (t) => {
      const ada = await connect(t, 'ada');
      const bob = await connect(t, 'bob');
      const join = '420["room:join","general"]';
      const online = (users) => quote(`42["online",{"room":"general","users":${users}}]`);
      const joined = quote('430[{"room":"general"}]');
      await send(t, ada, join);
      await receive(t, ada, new RegExp(`^${online('["ada"]')}${RS}${joined}$`),
        '200 42["online",{"room":"general","users":["ada"]}]\\x1e430[{"room":"general"}]' +
        ' (the room is told, ada included)', [`POST ${join} (ada)`, '(then)']);
      await send(t, bob, join);
      await receive(t, bob, new RegExp(`^${online('["ada","bob"]')}${RS}${joined}$`),
        '200 42["online",{"room":"general","users":["ada","bob"]}]\\x1e430[...]',
        [`POST ${join} (bob)`, '(then)']);
      const post = '421["msg:post",{"room":"general","user":"bob","text":"yo"}]';
      await send(t, bob, post);
      const message = '\\{"id":\\d+,"user":"bob","text":"yo","time":\\d+\\}';
      await receive(t, bob, new RegExp(`^431\\[${message}\\]$`),
        '200 431[{"id":…,"user":"bob","text":"yo",...}] and no msg:new: bob sent it',
        [`POST ${post} (bob)`, '(then, for bob)']);
      await receive(t, ada, new RegExp(`^${online('["ada","bob"]')}${RS}42\\["msg:new",` +
        `${message}\\]$`), '200 42["online",...]\\x1e42["msg:new",{..."text":"yo"...}]',
      [`POST ${post} (bob)`, '(then, for ada)']);
    },
  },
];

// Deliberately broken servers whose check-4 output is golden-tested.
export const broken = [
  { name: 'no-namespace', blank: 'sio-namespace' },
  { name: 'sender-not-excepted', file: '04-socketio-lite/socket.cpp',
    from: 'excepted->mark_ = mark;', to: '(void)excepted;' },
];
