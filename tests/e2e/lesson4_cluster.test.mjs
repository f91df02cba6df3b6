// Lesson 04 as a cluster: two of our nodes with --redis and a Node socket.io 4.8
// node with @socket.io/redis-streams-adapter 0.3.1, on one real redis-server.
// The clients are the official socket.io-client. A room's history is the
// cluster's, in Redis: the same ids on every node.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stopClean } from './lib.mjs';
import { closeMembers, member, post, readers, redisClient, startNode, startPeer,
  startRedis, texts, until } from './lesson4_cluster_lib.mjs';

const T = { timeout: 60_000 };

describe('lesson 04 cluster: our nodes and a Node socket.io node on one Redis', () => {
  let redis, client, a, b, peer;
  before(async () => {
    redis = await startRedis();
    client = await redisClient(redis.port);
    a = await startNode(redis.address, ['--trace']);
    b = await startNode(redis.address);
  });
  afterEach(closeMembers);
  after(async () => {
    closeMembers();
    await peer?.stop();
    await client?.quit().catch(() => {});
    if (a) await stopClean(a);
    if (b) await stopClean(b);
    await redis?.stop();
    redis?.remove();
  });

  test('a broadcast is one stream entry in the Node adapter\'s format', T, async () => {
    const ada = await member(a.url, 'ada', 'general');
    const before = await client.xLen('socket.io');
    const ack = await post(ada, 'format check');
    assert.equal(ack.text, 'format check');
    await until(async () => (await client.xLen('socket.io')) > before);
    const [entry] = await client.xRevRange('socket.io', '+', '-', { COUNT: 1 });
    assert.deepEqual(Object.keys(entry.message), ['uid', 'nsp', 'type', 'data']);
    assert.match(entry.message.uid, /^[0-9a-f]{16}$/);
    assert.equal(entry.message.nsp, '/');
    assert.equal(entry.message.type, '3');
    assert.deepEqual(JSON.parse(entry.message.data), {
      packet: { type: 2, data: ['msg:new', ack] },
      opts: { rooms: ['general'], except: [ada.id], flags: {} },
    });
  });

  test('--trace shows RESP as it crosses the wire', T, async () => {
    const ada = await member(a.url, 'ada', 'general');
    await post(ada, 'traced');
    // ada's presence: PUBLISH socket.io#/# and msgpack {type: 9, data: {packet:
    // ["chat:presence", "general", ["ada"]]}, ...} (cluster_presence.cpp).
    await a.waitFor(
      /^redis → \*3\\r\\n\$7\\r\\nPUBLISH\\r\\n\$12\\r\\nsocket\.io#\/#\\r\\n\$\d+\\r\\n\\x84\\xa4type\\x09.*chat:presence\\xa7general\\x91\\xa3ada\\xa3uid/);
    // The post: EVALSHA <sha1> 3 chat:history:general chat:cid:general: socket.io ...
    await a.waitFor(
      /^redis → \*18\\r\\n\$7\\r\\nEVALSHA\\r\\n\$40\\r\\n[0-9a-f]{40}\\r\\n\$1\\r\\n3\\r\\n\$20\\r\\nchat:history:general/);
    await a.waitFor(/^redis xread → \*8\\r\\n\$5\\r\\nXREAD\\r\\n\$5\\r\\nBLOCK/);
  });

  test('two of our nodes: each sees the other\'s messages once, in order; rooms hold',
    T, async () => {
      const a1 = await member(a.url, 'ada', 'general');
      const a2 = await member(a.url, 'alan', 'general');
      const aRandom = await member(a.url, 'amy', 'random');
      const b1 = await member(b.url, 'bob', 'general');
      const bRandom = await member(b.url, 'bea', 'random');
      const fromA = Array.from({ length: 10 }, (_, i) => `a-${i}`);
      const fromB = Array.from({ length: 10 }, (_, i) => `b-${i}`);
      // Both post at once, without waiting for each other.
      await Promise.all([
        Promise.all(fromA.map((t) => post(a1, t))),
        Promise.all(fromB.map((t) => post(b1, t))),
        post(bRandom, 'random-b'),
      ]);
      // The last of each sender arriving means the earlier ones have: the stream
      // keeps each node's order.
      await until(() => texts(b1).includes('a-9') && texts(a1).includes('b-9') &&
        texts(a2).includes('a-9') && texts(a2).includes('b-9') &&
        texts(aRandom).includes('random-b'));
      const only = (list, prefix) => list.filter((t) => t.startsWith(prefix));
      // Once each and in the order they were posted, across the two nodes.
      assert.deepEqual(only(texts(b1), 'a-'), fromA);
      assert.deepEqual(only(texts(a1), 'b-'), fromB);
      assert.deepEqual(only(texts(a2), 'a-'), fromA);
      assert.deepEqual(only(texts(a2), 'b-'), fromB);
      // except: a sender never gets its own message back, from either node.
      assert.deepEqual(only(texts(a1), 'a-'), []);
      assert.deepEqual(only(texts(b1), 'b-'), []);
      // Room boundaries: general's messages never reach random, on either node.
      assert.deepEqual(texts(aRandom), ['random-b']);
      assert.deepEqual(texts(bRandom), []);
      assert.ok(!texts(a1).includes('random-b') && !texts(b1).includes('random-b'));
    });

  test('one history: the same ids on every node, msg:get the same on every node',
    T, async () => {
      const onA = await member(a.url, 'ada', 'random');
      const onB = await member(b.url, 'bob', 'random');
      const get = (socket, query) => socket.timeout(10_000).emitWithAck('msg:get', query);
      const before = await get(onA, { room: 'random' });
      const base = before.messages.at(-1)?.id ?? 0;
      // Both nodes post at once: Redis numbers the room's messages, one counter.
      const acks = await Promise.all([
        ...Array.from({ length: 5 }, (_, i) => post(onA, `one-a-${i}`)),
        ...Array.from({ length: 5 }, (_, i) => post(onB, `one-b-${i}`)),
      ]);
      const ids = acks.map((m) => m.id).sort((x, y) => x - y);
      assert.deepEqual(ids, Array.from({ length: 10 }, (_, i) => base + 1 + i));
      const fromA = await get(onA, { room: 'random', since: base, history: before.history_id });
      const fromB = await get(onB, { room: 'random', since: base, history: before.history_id });
      assert.deepEqual(fromB, fromA);
      assert.equal(fromA.history_id, before.history_id);
      assert.equal(fromA.missed, 0);
      assert.deepEqual(fromA.messages.map((m) => m.id), ids);
      // Each message is the one its poster was acked with, on both nodes.
      for (const m of fromA.messages) assert.deepEqual(m, acks.find((x) => x.id === m.id));
      // What the other node's clients got as msg:new carries the same ids.
      await until(() => texts(onA).length === 5 && texts(onB).length === 5);
      for (const [, m] of onB.seen.filter(([e]) => e === 'msg:new'))
        assert.deepEqual(m, acks.find((x) => x.id === m.id));
      // The latest page, without since, is the same on both nodes too.
      assert.deepEqual(await get(onB, { room: 'random' }), await get(onA, { room: 'random' }));
      // A post sent again with its cid, on the other node, is the stored message:
      // no second id, no second msg:new.
      const once = await onA.timeout(10_000).emitWithAck('msg:post',
        { user: 'ada', text: 'sent twice', cid: 'c-1' });
      const again = await onB.timeout(10_000).emitWithAck('msg:post',
        { user: 'ada', text: 'sent twice', cid: 'c-1' });
      assert.deepEqual(again, once);
      await post(onB, 'after the retry');
      await until(() => texts(onA).includes('after the retry'));
      // The retry, made on B, reached nobody: A would have had it before this one.
      assert.ok(!texts(onA).includes('sent twice'), JSON.stringify(texts(onA)));
      assert.equal(texts(onB).filter((t) => t === 'sent twice').length, 1);
      // Plain HTTP on A: stored in the same history, msg:new to the room on B.
      const res = await fetch(new URL('/api/messages', a.url), {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ room: 'random', user: 'http', text: 'over http' }),
      });
      assert.equal(res.status, 201);
      const viaHttp = await res.json();
      await until(() => texts(onB).includes('over http') && texts(onA).includes('over http'));
      assert.deepEqual(onB.seen.find(([e, m]) => e === 'msg:new' && m.text === 'over http')[1],
        viaHttp);
      const last = await get(onA, { room: 'random', since: once.id - 1 });
      assert.deepEqual(last.messages.map((m) => m.text),
        ['sent twice', 'after the retry', 'over http']);
      assert.equal(last.messages.at(-1).id, viaHttp.id);
    });

  test('a post runs the script loaded once, by its SHA1; after NOSCRIPT it is sent again' +
    ' with EVAL and stored once', T, async () => {
    const onA = await member(a.url, 'ada', 'random');
    const onB = await member(b.url, 'bob', 'random');
    const calls = async (name) => {
      const stats = await client.sendCommand(['INFO', 'commandstats']);
      return Number(stats.match(new RegExp(`cmdstat_${name}:calls=(\\d+)`))?.[1] ?? 0);
    };
    const [sha0, eval0] = [await calls('evalsha'), await calls('eval')];
    const first = await post(onA, 'by its sha');
    assert.equal(await calls('evalsha'), sha0 + 1, 'the post is one EVALSHA');
    assert.equal(await calls('eval'), eval0, 'and no EVAL');
    // Redis forgets its scripts without closing the connection (a restart closes
    // it, and the node loads the script again when it reconnects).
    await client.sendCommand(['SCRIPT', 'FLUSH']);
    const again = await Promise.all(['after flush 1', 'after flush 2'].map((t) => post(onA, t)));
    assert.deepEqual(again.map((m) => m.id), [first.id + 1, first.id + 2]);
    assert.ok(await calls('eval') > eval0, 'NOSCRIPT was answered by sending the post with EVAL');
    const last = await post(onA, 'by its sha again');
    await until(() => texts(onB).includes('by its sha again'));
    // Each once, in order, in the history and on the other node.
    const page = await onB.timeout(10_000).emitWithAck('msg:get',
      { room: 'random', since: first.id - 1 });
    const posted = ['by its sha', 'after flush 1', 'after flush 2', 'by its sha again'];
    assert.deepEqual(page.messages.map((m) => m.text), posted);
    assert.deepEqual(page.messages.map((m) => m.id), [0, 1, 2, 3].map((i) => first.id + i));
    assert.deepEqual(texts(onB), posted);
    assert.equal(last.id, first.id + 3);
  });

  test('bad entries and bad requests are skipped with the rule named; the node reads on',
    T, async () => {
      const onA = await member(a.url, 'ada', 'general');
      const onB = await member(b.url, 'bob', 'general');
      const add = (fields) => client.xAdd('socket.io', '*', { uid: 'intruder', nsp: '/', ...fields });
      await add({ type: 'x', data: '{}' });
      await add({ type: '3', data: '{bad' });
      await add({ type: '3', data: '!!!' });
      await add({ type: '3', data: JSON.stringify({ packet: { type: 3, data: ['x'] }, opts: {} }) });
      await client.publish('socket.io#/#', Buffer.from([0xc1]));
      await client.publish('socket.io#/#', Buffer.from([0x81, 0xa1, 0x61, 0x01]));
      for (const rule of [/type "x" is not a number/, /malformed JSON/, /neither JSON/,
        /a broadcast carries an EVENT/, /0xc1 is never used/, /no type \(1-13\), uid or nsp/])
        await b.waitFor(rule, 'stderr');
      await post(onA, 'after the garbage');
      await until(() => texts(onB).includes('after the garbage'));
      assert.deepEqual(texts(onB), ['after the garbage']);
    });

  test('a Node socket.io node joins: a post on any of the three reaches the other two',
    T, async () => {
      peer = await startPeer(redis.address);
      // Our two readers and the Node member's are all blocked in XREAD.
      await until(async () => (await readers(client)) === 3);
      const onA = await member(a.url, 'ada', 'general');
      const onB = await member(b.url, 'bob', 'general');
      const onN = await member(peer.url, 'nia', 'general');
      await post(onA, 'from ours A');
      await post(onB, 'from ours B');
      await post(onN, 'from Node');
      await until(() => texts(onA).length === 2 && texts(onB).length === 2 &&
        texts(onN).length === 2);
      // Once each (the order between two senders is not promised: see the README).
      assert.deepEqual(texts(onA).sort(), ['from Node', 'from ours B']);
      assert.deepEqual(texts(onB).sort(), ['from Node', 'from ours A']);
      assert.deepEqual(texts(onN).sort(), ['from ours A', 'from ours B']);
      // What the Node node delivered is our stored message, as our node acked it.
      const [, fromA] = onN.seen.find(([e, m]) => e === 'msg:new' && m.text === 'from ours A');
      assert.deepEqual(Object.keys(fromA), ['id', 'user', 'text', 'time']);
      // The Node member posts into the same history: our nodes answer msg:get with it.
      const page = await onA.timeout(10_000).emitWithAck('msg:get', { room: 'general' });
      const [, fromN] = onA.seen.find(([e, m]) => e === 'msg:new' && m.text === 'from Node');
      assert.deepEqual(page.messages.at(-1), fromN);
    });

  test('a Node broadcast with except: the excepted socket on our node is left out',
    T, async () => {
      const kept = await member(a.url, 'ada', 'general');
      const left = await member(b.url, 'bob', 'general');
      const onN = await member(peer.url, 'nia', 'general');
      await onN.timeout(10_000).emitWithAck('peer:say',
        { room: 'general', except: left.id, text: 'not for bob' });
      await onN.timeout(10_000).emitWithAck('peer:say',
        { room: 'general', except: 'nobody', text: 'for all' });
      await until(() => texts(left, 'note').includes('for all') &&
        texts(kept, 'note').includes('for all'));
      assert.deepEqual(texts(kept, 'note'), ['not for bob', 'for all']);
      assert.deepEqual(texts(left, 'note'), ['for all']);
    });

  test('a Node broadcast with binary (base64 msgpack on the stream) reaches our clients',
    T, async () => {
      const onA = await member(a.url, 'ada', 'random');
      const onN = await member(peer.url, 'nia', 'random');
      const got = new Promise((resolve) => onA.once('blob', (...args) => resolve(args)));
      await onN.timeout(10_000).emitWithAck('peer:blob', { room: 'random', bytes: [0, 1, 255] });
      const [caption, bytes] = await got;
      assert.equal(caption, 'caption');
      assert.deepEqual([...new Uint8Array(bytes)], [0, 1, 255]);
      const [entry] = await client.xRevRange('socket.io', '+', '-', { COUNT: 1 });
      assert.equal(entry.message.type, '3');
      assert.ok(!entry.message.data.startsWith('{'), entry.message.data);
    });

  test('our nodes answer the Node member\'s requests: fetchSockets, serverSideEmit',
    T, async () => {
      // Each member is subscribed to the request channel: the Node member counts
      // three and waits for two answers.
      const counts = await client.pubSubNumSub('socket.io#/#');
      assert.equal(counts['socket.io#/#'], 3);
      const onA = await member(a.url, 'ada', 'random');
      const onB = await member(b.url, 'bob', 'random');
      const onN = await member(peer.url, 'nia', 'random');
      // Members of the earlier tests may still be on their way out: asked again
      // until they are gone. Every answer comes (a missing one is an error ack).
      const want = [onA.id, onB.id, onN.id].sort();
      let fetched;
      await until(async () => {
        fetched = await onN.timeout(20_000).emitWithAck('peer:fetch', 'random');
        assert.ok(fetched.ids, JSON.stringify(fetched));
        return JSON.stringify(fetched.ids) === JSON.stringify(want);
      });
      assert.deepEqual(fetched, { ids: want });
      const emitted = await onN.timeout(20_000).emitWithAck('peer:emit');
      assert.deepEqual(emitted, { replies: [null, null] });
    });
});

// Broadcasts of a namespace other than "/": --protocol-echo's "/test" namespace
// broadcasts on request ("to", "except", "all"); the entry's nsp field carries it.
describe('lesson 04 cluster: a namespace other than "/"', () => {
  let redis, client, a, b;
  before(async () => {
    redis = await startRedis();
    client = await redisClient(redis.port);
    a = await startNode(redis.address, ['--protocol-echo']);
    b = await startNode(redis.address, ['--protocol-echo']);
  }, T);
  after(async () => {
    closeMembers();
    await client?.quit().catch(() => {});
    if (a) await stopClean(a);
    if (b) await stopClean(b);
    await redis?.stop();
    redis?.remove();
  });

  test('a /test broadcast reaches the room on the other node, and only /test', T, async () => {
    const onA = await member(`${a.url}test`, 'ada');
    const onB = await member(`${b.url}test`, 'bob');
    const outside = await member(`${b.url}test`, 'eve');
    const onMain = await member(b.url, 'mia');
    const ask = (socket, ...args) => socket.timeout(10_000).emitWithAck(...args);
    await ask(onA, 'join', 'r');
    await ask(onB, 'join', 'r');
    await ask(onA, 'to', 'r', 'hello', 'in r');
    await ask(onA, 'all', 'everyone', 'in /test');
    await until(() => texts(onB, 'everyone').length === 1 && texts(outside, 'everyone').length === 1);
    assert.deepEqual(texts(onB, 'hello'), ['in r']);
    assert.deepEqual(texts(outside, 'hello'), []);
    assert.deepEqual(onMain.seen.filter(([e]) => e === 'hello' || e === 'everyone'), []);
    const [entry] = await client.xRevRange('socket.io', '+', '-', { COUNT: 1 });
    assert.equal(entry.message.nsp, '/test');
  });
});
