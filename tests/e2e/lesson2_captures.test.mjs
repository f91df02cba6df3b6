// Lesson 02's README captures are reproducible: the commands the README gives
// beside them (curl over h2c, tests/tools/h2-raw.mjs), run against
// build/lesson-2 --trace, make the server print every line of those captures
// (the connection number, the port in :authority and the bytes that encode it,
// and the times aside), and h2-raw.mjs prints exactly what the README shows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { readmeBlocks as blocks, startLesson, stopClean } from './lib.mjs';

const T = { timeout: 60_000 };
const run = promisify(execFile);
const README = new URL('../../02-http2-push/README.md', import.meta.url);

// A trace line without what differs between runs.
const normal = (line) => line.replace(/^#\d+ /, '#N ').replace(/localhost:\d+/g, 'localhost:PORT')
  .replace(/"time":\d+/g, '"time":T').replace(/x-history-id: [0-9a-f]+/, 'x-history-id: H');

describe('lesson 02: the README captures', () => {
  let server;
  let readme;
  before(async () => {
    server = await startLesson(2, ['--trace']);
    readme = await readFile(README, 'utf8');
  });
  after(async () => {
    if (server) await stopClean(server);
  });
  const printed = () => new Set(server.lines.map(normal));
  const sh = (script) => run('sh', ['-c', script.replaceAll('8002', String(server.port))]);
  // The README block whose first line matches re.
  const block = (re) => {
    const b = blocks(readme).find((lines) => re.test(lines[0] ?? ''));
    assert.ok(b, `the README has a block starting ${re}`);
    return b;
  };

  test('the cleartext exchange: one GET stream, two posts, two DATA frames', T, async () => {
    const commands = block(/build\/lesson-2 --trace --port 8002/).join('\n');
    const stream = spawn('curl', ['-sN', '--http2-prior-knowledge',
      `http://localhost:${server.port}/messages`], { stdio: 'ignore' });
    try {
      await server.waitFor(/x-content-type-options: nosniff/);
      // The README's for loop: every line after the curl -N one.
      const posts = commands.split('\n').slice(2).join('\n').replace(/# terminal \d/g, '');
      await sh(posts);
      await server.waitFor(/"text":"hi ada"/);
    } finally {
      stream.kill();
    }
    const seen = printed();
    for (const line of block(/^#1 → SETTINGS stream=0 len=18/)) {
      if (/^#1 ← {3}hpack /.test(line)) continue; // encodes the port
      // The answer's HEADERS carry the random history id, Huffman-coded: its
      // length and bytes vary by a byte or two from run to run.
      if (/^#1 → {3}hpack 88 /.test(line)) continue;
      if (/^#1 → HEADERS stream=1 len=\d+ flags=END_HEADERS {2}\[/.test(line)) {
        assert.ok([...seen].some((l) => /^#N → HEADERS stream=1 len=\d+ flags=END_HEADERS {2}\[/.test(l)),
          `not printed: ${line}`);
        continue;
      }
      assert.ok(seen.has(normal(line)), `not printed: ${line}`);
    }
  });

  test('the 40000-character post and its flow control', T, async () => {
    const command = blocks(readme).find((b) => b[0]?.startsWith("printf '{\"user\":\"ada\""));
    assert.ok(command, 'the README gives the command');
    const { stdout } = await sh(command.join('\n'));
    assert.match(stdout, /text: must be 1-2000 characters, got 40000/);
    const seen = printed();
    for (const line of block(/^#1 ← HEADERS stream=1 len=58/))
      assert.ok(seen.has(normal(line)), `not printed: ${line}`);
  });

  test('h2-raw.mjs prints what the README shows, and the server the GOAWAY', T, async () => {
    const shown = block(/^\$ node tests\/tools\/h2-raw\.mjs/);
    const { stdout } = await sh(shown[0].slice(2));
    assert.deepEqual(stdout.trimEnd().split('\n'), shown.slice(1));
    const seen = printed();
    for (const line of block(/^#2 ← HEADERS stream=2 len=1/))
      assert.ok(seen.has(normal(line)), `not printed: ${line}`);
  });
});
