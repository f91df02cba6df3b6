// Lesson 01's README captures are reproducible: the curl commands the README gives
// beside them, run against build/lesson-1 --trace, make the server print every
// line of those captures (the port, the dates and the times aside).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { readmeBlocks as blocks, startLesson, stopClean } from './lib.mjs';

const T = { timeout: 60_000 };
const run = promisify(execFile);
const README = new URL('../../01-polling/README.md', import.meta.url);

const normal = (line) => line.replace(/localhost:\d+/g, 'localhost:PORT')
  .replace(/Date: .* GMT/, 'Date: D').replace(/"time":\d+/g, '"time":T')
  .replace(/"history_id":"[0-9a-f]+"/, '"history_id":H');

describe('lesson 01: the README captures', () => {
  let server;
  before(async () => {
    server = await startLesson(1, ['--trace']);
  });
  after(async () => {
    if (server) await stopClean(server);
  });

  test('the README curl commands print the README exchange', T, async () => {
    const readme = await readFile(README, 'utf8');
    const commands = blocks(readme).find((b) => b[0]?.includes('build/lesson-1 --trace --port 8001 --data none'));
    assert.ok(commands, 'the README gives the commands');
    // One command per line once continuations are joined; the server is ours.
    const lines = commands.join('\n').replace(/\\\n\s*/g, ' ').split('\n').slice(1)
      .map((l) => l.replace(/\s+# .*$/, '').replaceAll('8001', String(server.port)));
    assert.equal(lines.length, 3);
    await run('sh', ['-c', lines[0]]);
    const held = spawn('sh', ['-c', lines[1]], { stdio: 'ignore' });
    await server.waitFor(/^#2 ← Accept: /);
    await run('sh', ['-c', lines[2]]);
    await server.waitFor(/^#2 → \{"messages":\[\{"id":1/);
    held.kill();
    const seen = new Set(server.lines.map(normal));
    const captures = blocks(readme).filter((b) => b.length && b.every((l) => /^#[1-3] /.test(l)));
    assert.equal(captures.length, 3);
    for (const block of captures)
      for (const line of block) assert.ok(seen.has(normal(line)), `not printed: ${line}`);
  });
});
