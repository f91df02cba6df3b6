// Lesson 04's cluster behind its front: the committed HAProxy config
// (04-socketio-lite/cluster/haproxy.cfg, the one make lesson-4-cluster runs) on
// free ports before two of our nodes (--node a, --node b) on one real Redis.
// Long polling works because the front is sticky; a node killed with SIGKILL
// loses its clients to the survivor, where they carry on with msg:get {since}.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stopClean } from './lib.mjs';
import { closeMembers, member, post, startFront, startNode, startRedis, texts, until } from
  './lesson4_cluster_lib.mjs';

const T = { timeout: 60_000 };
// The node a member was served by: the "node" event each socket gets on connect.
const nodeOf = (socket) => socket.seen.filter(([e]) => e === 'node').at(-1)?.[1];

// Members through the front until there is one on each node (round robin).
async function onBothNodes(url, user, opts) {
  const found = {};
  for (let i = 0; i < 8 && !(found.a && found.b); ++i) {
    const socket = await member(url, `${user}${i}`, 'general', opts);
    await until(() => nodeOf(socket));
    if (found[nodeOf(socket)]) socket.disconnect();
    else found[nodeOf(socket)] = socket;
  }
  assert.ok(found.a && found.b, 'the front spreads clients over both nodes');
  return found;
}

describe('lesson 04 cluster behind HAProxy (04-socketio-lite/cluster/haproxy.cfg)', () => {
  let redis, a, b, front;
  before(async () => {
    redis = await startRedis();
    a = await startNode(redis.address, ['--node', 'a']);
    b = await startNode(redis.address, ['--node', 'b']);
    front = await startFront(a, b);
  }, T);
  afterEach(closeMembers);
  after(async () => {
    closeMembers();
    await front?.stop();
    if (a && a.proc.exitCode === null && a.proc.signalCode === null) await stopClean(a);
    if (b) await stopClean(b);
    await redis?.stop();
    redis?.remove();
  });

  test('sticky: long-polling clients on different nodes chat through the front', T,
    async () => {
      // The front names the node that served a request in its cookie.
      const served = new Set();
      for (let i = 0; i < 4; ++i) {
        const res = await fetch(front.url);
        await res.arrayBuffer();
        served.add(/^node=(\w+);/.exec(res.headers.get('set-cookie') ?? '')?.[1]);
      }
      assert.deepEqual([...served].sort(), ['a', 'b']);
      // Polling only: every poll and POST of a session must reach its node. The
      // front's cookie keeps them there (withCredentials keeps a cookie jar).
      const { a: onA, b: onB } = await onBothNodes(front.url, 'poll',
        { transports: ['polling'], withCredentials: true });
      for (let i = 0; i < 3; ++i) {
        assert.equal((await post(onA, `from a ${i}`)).error, undefined);
        assert.equal((await post(onB, `from b ${i}`)).error, undefined);
      }
      await until(() => texts(onA).length === 3 && texts(onB).length === 3);
      assert.deepEqual(texts(onA), ['from b 0', 'from b 1', 'from b 2']);
      assert.deepEqual(texts(onB), ['from a 0', 'from a 1', 'from a 2']);
      // Still on the node each started on: no session was lost to the other node.
      assert.equal(nodeOf(onA), 'a');
      assert.equal(nodeOf(onB), 'b');
      // The node event is volatile: its name alone, no recovery offset after it.
      assert.deepEqual(onA.seen.find(([e]) => e === 'node'), ['node', 'a']);
      assert.ok(onA.connected && onB.connected);
    });

  test('SIGKILL: a node\'s clients reconnect through the front to the survivor and ' +
    'carry on with msg:get {since}; nobody else notices', T, async () => {
    const { a: leaving, b: staying } = await onBothNodes(front.url, 'kill',
      { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 1000 });
    const other = await member(b.url, 'other', 'general');
    const get = (socket, query) => socket.timeout(10_000).emitWithAck('msg:get', query);
    const first = await post(staying, 'before the kill');
    await until(() => texts(leaving).includes('before the kill'));
    const { history_id: history } = await get(leaving, { room: 'general' });
    const lastId = first.id;
    const drops = [];
    for (const socket of [staying, other]) socket.on('disconnect', (why) => drops.push(why));
    // Posted while the client has no node (before it asks): it must come in msg:get.
    let posted;
    const gapPosted = new Promise((resolve) => { posted = resolve; });
    // On its way back, the client rejoins its room and asks what it missed.
    const resumed = new Promise((resolve) => leaving.io.once('reconnect', async () => {
      await leaving.timeout(10_000).emitWithAck('room:join', 'general');
      await gapPosted;
      resolve(await get(leaving, { room: 'general', since: lastId, history }));
    }));
    a.proc.kill('SIGKILL');
    await until(() => !leaving.connected);
    const gap = await post(staying, 'while it was away');
    assert.equal(gap.error, undefined);
    posted();
    const page = await resumed;
    assert.equal(nodeOf(leaving), 'b');
    assert.equal(page.history_id, history);
    assert.equal(page.missed, 0);
    assert.ok(page.messages.some((m) => m.id === gap.id && m.text === 'while it was away'),
      JSON.stringify(page));
    assert.ok(page.messages.every((m) => m.id > lastId));
    // It carries on: its post reaches the others, theirs reach it.
    assert.equal((await post(leaving, 'back again')).error, undefined);
    await post(other, 'welcome back');
    await until(() => texts(staying).includes('back again') &&
      texts(other).includes('back again') && texts(leaving).includes('welcome back'));
    // Nobody else noticed: the clients on b never lost their connection.
    assert.deepEqual(drops, []);
    assert.ok(staying.connected && other.connected);
    assert.deepEqual(texts(other), ['before the kill', 'while it was away', 'back again']);
  });
});
