// Lesson 04's cluster while Redis restarts: 4 posters on two of our nodes post
// on, redis-server is stopped and started again on its data folder (append-only
// file on). A post made while a node is cut off gets an error ack (POST
// /api/messages a 503); every post acknowledged reaches every other client
// once, in its poster's order, because each node reads on from the last entry
// it saw, and a post is acked only once Redis has stored it. A post whose reply
// the restart cut off is in doubt: it reaches the others exactly when Redis
// stored it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, stopClean } from './lib.mjs';
import { closeMembers, member, post, redisClient, startNode, startRedis, texts, until }
  from './lesson4_cluster_lib.mjs';

describe('lesson 04 cluster: Redis restarted while 4 posters post', () => {
  let redis, a, b;
  before(async () => {
    redis = await startRedis();
    a = await startNode(redis.address);
    b = await startNode(redis.address);
  });
  after(async () => {
    closeMembers();
    if (a) await stopClean(a);
    if (b) await stopClean(b);
    await redis?.stop();
    redis?.remove();
  });

  test('nodes read on; acked posts are delivered once, refused ones never', {
    timeout: 120_000,
  }, async (t) => {
    const posters = await Promise.all([
      member(a.url, 'p0', 'general'), member(a.url, 'p1', 'general'),
      member(b.url, 'p2', 'general'), member(b.url, 'p3', 'general'),
    ]);
    // A post is acked, refused ("not sent": never stored), or in doubt: its reply was
    // lost with the connection and Redis was not back within the node's 8 s, so the
    // poster is told it is stored only if Redis ran it (the history says, below).
    const results = posters.map(() => ({ acked: [], refused: [], doubt: [], failed: [] }));
    let stop = false;
    const loops = posters.map(async (socket, k) => {
      for (let i = 0; !stop; ++i) {
        const text = `p${k}-${i}`;
        try {
          const ack = await post(socket, text);
          if (ack.error && /stored only if redis ran it/.test(ack.error)) {
            results[k].doubt.push(text);
          } else if (ack.error) {
            assert.match(ack.error, /cut off from redis, not sent/);
            results[k].refused.push(text);
          } else {
            results[k].acked.push(text);
          }
        } catch (e) {
          results[k].failed.push(`${text}: ${e.message}`);
        }
        await sleep(15);
      }
    });
    const acked = (k) => results[k].acked.length;
    await until(() => results.every((r) => r.acked.length >= 5));
    await redis.stop();
    // Both nodes are cut off: each refuses a post.
    await until(() => (results[0].refused.length || results[1].refused.length) &&
      (results[2].refused.length || results[3].refused.length));
    for (const node of [a, b]) await node.waitFor(/redis: cut off from redis at /, 'stderr');
    // Plain HTTP is refused the same way while the node is cut off: 503, not lost.
    const refused = await fetch(new URL('/api/messages', a.url), {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ room: 'general', user: 'http', text: 'while cut off' }),
    });
    assert.equal(refused.status, 503);
    assert.match((await refused.json()).error, /cut off from redis/);
    const marks = results.map((r) => r.acked.length);
    redis = await startRedis(redis.port, redis.dir);
    for (const node of [a, b]) {
      await node.waitFor(/ redis: connected again/, 'stderr');
      await node.waitFor(/cluster: reading "socket.io" on after entry/, 'stderr');
    }
    await until(() => results.every((r, k) => acked(k) >= marks[k] + 5));
    stop = true;
    await Promise.all(loops);
    // A last post from each: once every client has every other's, all before it
    // have arrived too (each poster's entries keep their order in the stream).
    for (const [k, socket] of posters.entries()) {
      const ack = await post(socket, `p${k}-end`);
      assert.equal(ack.error, undefined);
      results[k].acked.push(`p${k}-end`);
    }
    await until(() => posters.every((c, j) => posters.every((_, k) => k === j ||
      c.seen.some(([e, m]) => e === 'msg:new' && m.text === `p${k}-end`))));

    // What Redis stored, in each poster's order: every acked post, no refused one,
    // and the in-doubt ones Redis had run.
    const client = await redisClient(redis.port);
    const history = (await client.xRange('chat:history:general', '-', '+'))
      .map((e) => e.message.text);
    await client.quit();
    const stored = results.map((_, k) => history.filter((text) => text.startsWith(`p${k}-`)));
    for (const [k, r] of results.entries()) {
      const kept = new Set(stored[k]);
      for (const text of r.acked) assert.ok(kept.has(text), `acked ${text} not stored`);
      for (const text of r.refused) assert.ok(!kept.has(text), `refused ${text} stored`);
      for (const text of stored[k])
        assert.ok(r.acked.includes(text) || r.doubt.includes(text), `${text} stored`);
    }

    let delivered = 0;
    for (const [j, client] of posters.entries()) {
      const got = client.seen.filter(([e]) => e === 'msg:new').map(([, m]) => m.text);
      delivered += got.length;
      for (const k of results.keys()) {
        const fromK = got.filter((text) => text.startsWith(`p${k}-`));
        // A poster gets its own message in the ack, never as msg:new.
        assert.deepEqual(fromK, k === j ? [] : stored[k], `client p${j}, poster p${k}`);
      }
    }
    assert.deepEqual(results.flatMap((r) => r.failed), []);
    const sum = (f) => results.reduce((n, r) => n + f(r), 0);
    const posted = sum((r) => r.acked.length + r.refused.length + r.doubt.length +
      r.failed.length);
    const doubtStored = sum((r) => r.doubt.length) === 0 ? 0 :
      stored.flat().length - sum((r) => r.acked.length);
    t.diagnostic(`posted ${posted}, acknowledged ${sum((r) => r.acked.length)}, ` +
      `refused ${sum((r) => r.refused.length)}, in doubt ${sum((r) => r.doubt.length)} ` +
      `(${doubtStored} of them stored), delivered ${delivered} ` +
      `(each stored post to the 3 other clients)`);
    assert.equal(delivered, 3 * stored.flat().length);
  });

  // A post whose script reply is lost with the connection is in doubt: Redis may
  // have run it. Here Redis holds it (CLIENT PAUSE WRITE) while the node's
  // connection is killed, so it never ran; the node asks again once back.
  test('a post in doubt is asked again once Redis is back, and stored once', {
    timeout: 60_000,
  }, async () => {
    const client = await redisClient(redis.port);
    try {
      const poster = await member(a.url, 'doubt', 'random');
      const reader = await member(b.url, 'reader', 'random');
      await client.sendCommand(['CLIENT', 'PAUSE', '30000', 'WRITE']);
      const acked = post(poster, 'in doubt');
      // The node's command connection, held in its EVALSHA by the pause.
      let id;
      await until(async () => {
        const list = await client.sendCommand(['CLIENT', 'LIST']);
        id = /^id=(\d+) .* flags=\w*b\w* .* cmd=evalsha\b/m.exec(list)?.[1];
        return id;
      });
      await client.sendCommand(['CLIENT', 'KILL', 'ID', id]);
      await a.waitFor(/redis: cut off from redis at /, 'stderr');
      await client.sendCommand(['CLIENT', 'UNPAUSE']);
      await a.waitFor(/cluster: asking redis again about 1 post\(s\) in doubt/, 'stderr');
      const ack = await acked;
      assert.equal(ack.error, undefined, JSON.stringify(ack));
      assert.equal(ack.text, 'in doubt');
      await until(() => texts(reader).includes('in doubt'));
      const history = await client.xRange('chat:history:random', '-', '+');
      assert.deepEqual(history.filter((e) => e.message.text === 'in doubt')
        .map((e) => Number(e.id.slice(2))), [ack.id]);
      await post(poster, 'after');
      await until(() => texts(reader).includes('after'));
      assert.deepEqual(texts(reader), ['in doubt', 'after']);
    } finally {
      await client.sendCommand(['CLIENT', 'UNPAUSE']).catch(() => {});
      await client.quit().catch(() => {});
    }
  });
});
