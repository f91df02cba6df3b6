// Lesson 04 as a cluster: the "online" list a page shows is the whole cluster's,
// whichever node each user is on (04-socketio-lite/cluster_presence.cpp). Each
// node tells the others its users per room as a socket.io server-side emit,
// ["chat:presence", room, users], so the Node socket.io member
// (tests/peers/socketio_cluster.mjs) hears them with io.on("chat:presence") and
// can send one too. A real redis-server; the clients are socket.io-client.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stopClean } from './lib.mjs';
import { closeMembers, member, startNode, startPeer, startRedis, until } from
  './lesson4_cluster_lib.mjs';

const T = { timeout: 60_000 };

// The users of the last "online" a member got for the room, or null before one.
function lastOnline(socket, room = 'general') {
  const lists = socket.seen.filter(([e, m]) => e === 'online' && m.room === room);
  return lists.length ? lists[lists.length - 1][1].users : null;
}
const same = (socket, users) => () =>
  JSON.stringify(lastOnline(socket)) === JSON.stringify(users);

describe('lesson 04 cluster: one online list for the whole cluster', () => {
  let redis, a, b, peer;
  before(async () => {
    redis = await startRedis();
    a = await startNode(redis.address);
    b = await startNode(redis.address);
    peer = await startPeer(redis.address);
  });
  afterEach(closeMembers);
  after(async () => {
    closeMembers();
    await peer?.stop();
    if (a) await stopClean(a);
    await b?.stop();
    await redis?.stop();
    redis?.remove();
  });

  test('ada on node a and bob on node b each see both; bob gone, ada sees herself',
    T, async () => {
      const ada = await member(a.url, 'ada', 'general');
      await until(same(ada, ['ada']));
      const bob = await member(b.url, 'bob', 'general');
      await until(same(bob, ['ada', 'bob']));
      await until(same(ada, ['ada', 'bob']));
      // A second tab of ada's, on node b, in another room: general's list is as it was.
      const ada2 = await member(b.url, 'ada', 'random');
      assert.deepEqual(lastOnline(ada2, 'random'), ['ada']);
      bob.disconnect();
      await until(same(ada, ['ada']));
      // Every list ada got named ada: none was node b's alone.
      for (const [event, m] of ada.seen)
        if (event === 'online' && m.room === 'general') assert.ok(m.users.includes('ada'));
    });

  test('the Node member hears our lists as server-side emits', T, async () => {
    const ada = await member(a.url, 'ada', 'general');
    const asker = await member(peer.url, 'zed', null);
    await until(async () => {
      const heard = await asker.timeout(10_000).emitWithAck('peer:presence');
      return JSON.stringify(heard.general) === JSON.stringify(['ada']);
    });
    ada.disconnect();
    await until(async () => {
      const heard = await asker.timeout(10_000).emitWithAck('peer:presence');
      return JSON.stringify(heard.general) === JSON.stringify([]);
    });
  });

  test('a list a Node member sends is read; one that breaks the rules is skipped, logged',
    T, async () => {
      const ada = await member(a.url, 'ada', 'general');
      const asker = await member(peer.url, 'zed', null);
      const announce = (room, users) =>
        asker.timeout(10_000).emitWithAck('peer:announce', { room, users });
      await announce('general', ['zed']);
      await until(same(ada, ['ada', 'zed']));
      await announce('general', [42]);
      await a.waitFor(/chat:presence from [0-9a-f]{16} skipped: a user that is not a chat user name/,
        'stderr');
      await announce('general', ['x'.repeat(33)]);
      await announce('nowhere', ['zed']);
      await a.waitFor(/chat:presence from [0-9a-f]{16} skipped: no room "nowhere" here/,
        'stderr');
      await announce('general', 'zed');
      await a.waitFor(/chat:presence from [0-9a-f]{16} skipped: not \[room, \[at most 10000 users\]\]/,
        'stderr');
      // None of those changed the list the member sent before.
      assert.deepEqual(lastOnline(ada), ['ada', 'zed']);
      await announce('general', []);
      await until(same(ada, ['ada']));
    });

  test('a node started later learns who is on the others', T, async () => {
    const ada = await member(a.url, 'ada', 'general');
    const c = await startNode(redis.address);
    try {
      const carol = await member(c.url, 'carol', 'general');
      await until(same(carol, ['ada', 'carol']));
      await until(same(ada, ['ada', 'carol']));
    } finally {
      await stopClean(c);
    }
    // c stopped cleanly: its sockets left, and it said so before going.
    await until(same(ada, ['ada']));
  });

  test('a node killed outright: its users leave the others\' lists (12 s without a word)',
    T, async () => {
      const ada = await member(a.url, 'ada', 'general');
      await member(b.url, 'bob', 'general', { reconnection: false });
      await until(same(ada, ['ada', 'bob']));
      b.proc.kill('SIGKILL');
      await until(same(ada, ['ada']));
      await a.waitFor(/cluster: node [0-9a-f]{16} silent for \d+ ms: its users in "general" forgotten/,
        'stderr');
    });
});
