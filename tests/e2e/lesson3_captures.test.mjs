// Lesson 03's README captures are reproducible: the README gives the commands
// (tests/tools/ws-raw.mjs against build/lesson-3 --trace), and this runs exactly
// those commands and checks that every line of every capture block in the README
// is a line the server printed, and that the raw client saw the same bytes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { readmeBlocks as blocks, startLesson, stopClean } from './lib.mjs';

const T = { timeout: 60_000 };
const run = promisify(execFile);
const README = new URL('../../03-raw-websocket/README.md', import.meta.url);


// The ws-raw.mjs commands of the README's sh blocks, as argument lists (a line
// ending in \ goes on; # starts a comment; 'quoted' words lose their quotes).
function rawClientCommands(text) {
  const commands = [];
  for (const block of blocks(text)) {
    const joined = block.join('\n').replace(/\\\n\s*/g, ' ');
    for (const line of joined.split('\n')) {
      const words = line.replace(/\s#.*$/, '').trim().split(/\s+/);
      if (words[0] === 'node' && words[1] === 'tests/tools/ws-raw.mjs')
        commands.push(words.slice(2).map((w) => w.replace(/^'(.*)'$/, '$1')));
    }
  }
  return commands;
}

describe('lesson 03: the README captures', () => {
  let server;
  let readme;
  before(async () => {
    server = await startLesson(3, ['--trace']);
    readme = await readFile(README, 'utf8');
  });
  after(async () => {
    if (server) await stopClean(server);
  });

  test('the README commands reproduce every #N capture line, byte for byte', T, async () => {
    const commands = rawClientCommands(readme);
    assert.equal(commands.length, 2, 'the README gives two raw-client runs');
    const clientOutput = [];
    for (const argv of commands) {
      assert.equal(argv[0], 'localhost:8003');
      argv[0] = `localhost:${server.port}`;
      const { stdout } = await run('node', ['tests/tools/ws-raw.mjs', ...argv]);
      clientOutput.push(stdout.split('\n'));
    }
    await server.waitFor(/^#2 → {3}88 30 /);

    // Every line of a capture block (lines of connection #1 or #2) was printed by
    // --trace, but for the port in Host.
    const captures = blocks(readme).filter((b) => b.length && b.every((l) => /^#[12] /.test(l)));
    assert.ok(captures.length >= 6, `capture blocks found: ${captures.length}`);
    const printed = new Set(server.lines.map((l) => l.replace(/localhost:\d+/, 'localhost:PORT')));
    for (const block of captures)
      for (const line of block)
        assert.ok(printed.has(line.replace(/localhost:\d+/, 'localhost:PORT')),
          `not printed by build/lesson-3 --trace: ${line}`);

    // What the raw client says it sent is what the server says it read, and the
    // other way round: the bytes lines ("  81 85 37 fa ...") of each connection.
    // (#2's one frame is refused, so the server traces the refusal, not its bytes.)
    const bytes = (lines, arrow) => lines.filter((l) => l.startsWith(`${arrow}   `))
      .map((l) => l.slice(2));
    const conn = (n) => server.lines.filter((l) => l.startsWith(`#${n} `)).map((l) => l.slice(3));
    assert.deepEqual(bytes(clientOutput[0], '→'), bytes(conn(1), '←'), '#1: client → server');
    assert.equal(bytes(clientOutput[0], '→').length, 6);
    for (const [i, output] of clientOutput.entries())
      assert.deepEqual(bytes(output, '←'), bytes(conn(i + 1), '→'), `#${i + 1}: server → client`);
    assert.ok(clientOutput[1].includes('→   81 02 | 68 69'), 'the unmasked frame was sent');
  });
});
