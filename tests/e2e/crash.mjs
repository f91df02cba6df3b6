// The crash test every lesson runs (lessonN_crash.test.mjs): 4 posters send
// 2,000 messages, each with its own cid, and retry a post that got no answer
// (same cid) until it is acknowledged, while the server is killed with SIGKILL
// at random moments (at least 5 times) and started again on the same --data
// file and port. Two followers keep asking for what came after the last id they
// saw, across the restarts. At the end:
//   - every acknowledged message is in the history once, with the id it was
//     acknowledged with, and nothing else is;
//   - ids run 1, 2, 3... in order, none used twice;
//   - each follower holds exactly that history.
// A lesson gives post(port, {user, text, cid}) → the stored message (throws when
// no answer came) and read(port, since) → the messages after since, oldest first.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLesson, sleep } from './lib.mjs';

export const POSTERS = 4;
export const MESSAGES = 2000;
export const KILLS = 6;

export async function crashTest(n, { post, read }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `lesson${n}-crash-`));
  const data = path.join(dir, 'chat.log');
  const args = ['--data', data, '--history', String(MESSAGES * 2)];
  let server = await startLesson(n, args);
  const port = server.port;
  const restart = async () => {
    for (let tries = 0; ; tries++) {
      try {
        return await startLesson(n, args, { port });
      } catch (err) {
        if (tries > 50) throw err; // the port is still held: try again shortly
        await sleep(100);
      }
    }
  };

  const acked = new Map(); // cid -> the stored message
  let retries = 0;
  let done = false;
  const poster = async (p) => {
    for (let i = 1; i <= MESSAGES / POSTERS; i++) {
      const body = { user: `poster${p}`, text: `${p}:${i}`, cid: `p${p}-${i}` };
      for (;;) {
        try {
          const stored = await post(port, body);
          assert.equal(stored.cid, body.cid);
          assert.equal(stored.text, body.text);
          const before = acked.get(body.cid);
          // A repeat (after a lost answer) comes back with the same id.
          if (before) assert.equal(stored.id, before.id);
          acked.set(body.cid, stored);
          break;
        } catch (err) {
          if (err instanceof assert.AssertionError) throw err;
          retries++;
          await sleep(20 + Math.random() * 30); // the server is down: again, same cid
        }
      }
    }
  };
  const follower = async () => {
    const seen = [];
    let last = 0;
    const take = (messages) => {
      for (const m of messages) {
        assert.equal(m.id, last + 1, 'a follower got a gap or a repeat');
        seen.push(m);
        last = m.id;
      }
    };
    while (!done) {
      try {
        take(await read(port, last));
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
      }
      await sleep(50 + Math.random() * 100);
    }
    return { seen, take, last: () => last };
  };

  // Kills at random points of the run, by how many posts were acknowledged.
  const marks = Array.from({ length: KILLS }, () =>
    Math.floor(MESSAGES * (0.05 + 0.85 * Math.random()))).sort((a, b) => a - b);
  let kills = 0;
  const killer = async () => {
    for (const mark of marks) {
      while (acked.size < mark) await sleep(5);
      await sleep(Math.random() * 30);
      server.proc.kill('SIGKILL');
      await server.exited;
      kills++;
      await sleep(Math.random() * 200);
      server = await restart();
    }
  };

  const followers = [follower(), follower()];
  try {
    await Promise.all([killer(), ...Array.from({ length: POSTERS }, (_, p) => poster(p))]);
    done = true;
    const [a, b] = await Promise.all(followers);
    const history = await read(port, 0);

    assert.ok(kills >= 5, `only ${kills} kills`);
    assert.equal(acked.size, MESSAGES);
    assert.equal(history.length, MESSAGES, 'the history holds something not acknowledged');
    history.forEach((m, i) => assert.equal(m.id, i + 1, 'ids must run 1, 2, 3...'));
    const byCid = new Map(history.map((m) => [m.cid, m]));
    assert.equal(byCid.size, MESSAGES, 'a cid was stored twice');
    for (const [cid, stored] of acked) assert.deepEqual(byCid.get(cid), stored);
    // The followers catch up (each read is a reconnect) and hold the same history.
    for (const f of [a, b]) {
      while (f.last() < MESSAGES) f.take(await read(port, f.last()));
      assert.deepEqual(f.seen, history);
    }
    const size = fs.statSync(data).size;
    console.log(`# lesson ${n}: ${kills} kills, ${acked.size} messages acknowledged, ` +
      `${history.length} found in the history, ${retries} posts sent again, log ${size} bytes`);
    assert.match(server.stderr(), /history [0-9a-f]{16}: .*chat\.log/);
  } finally {
    done = true;
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
