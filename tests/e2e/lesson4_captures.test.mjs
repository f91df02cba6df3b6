// Lesson 04's README captures are reproducible: its chat capture (the `sio` lines
// of --trace) is what `node tests/tools/sio-chat.mjs chat URL` makes the server
// print, line for line, once the values that differ on every run (sids, times)
// are set aside; and `sio-chat.mjs echo` against --protocol-echo prints the
// packets the README shows for binary events and acks.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { readmeBlocks as blocks, startLesson, stopClean } from './lib.mjs';

const T = { timeout: 60_000 };
const run = promisify(execFile);
const README = new URL('../../04-socketio-lite/README.md', import.meta.url);

// Engine.IO and Socket.IO ids are 20 characters of base64url; times are ms.
const normal = (line) => line.replace(/[A-Za-z0-9_-]{20}/g, 'ID').replace(/"time":\d+/g, '"time":T')
  .replace(/"history_id":"[0-9a-f]+"/g, '"history_id":H')
  .replace(/"[0-9a-f]{16}-(\d+)"/g, '"H-$1"');  // recovery offsets: <history id>-<n>

describe('lesson 04: the README captures', () => {
  const servers = [];
  after(async () => {
    for (const s of servers) await stopClean(s);
  });

  test('sio-chat.mjs chat prints the README chat capture', T, async () => {
    const readme = await readFile(README, 'utf8');
    const capture = blocks(readme).find((b) => b[0]?.includes('← CONNECT / {}'));
    assert.ok(capture, 'the README has the chat capture');
    const server = await startLesson(4, ['--trace']);
    servers.push(server);
    await run('node', ['tests/tools/sio-chat.mjs', 'chat', server.url]);
    await server.waitFor(/DISCONNECT \/$/);
    // Both DISCONNECTs: the second may still be on its way.
    for (let i = 0; i < 100 && server.lines.filter((l) => /DISCONNECT \/$/.test(l)).length < 2; i++)
      await new Promise((r) => setTimeout(r, 50));
    const printed = server.lines.filter((l) => l.startsWith('sio ')).map(normal);
    assert.deepEqual(printed, capture.map(normal));
  });

  test('sio-chat.mjs echo sends the README binary packets', T, async () => {
    const server = await startLesson(4, ['--trace', '--protocol-echo']);
    servers.push(server);
    const { stdout } = await run('node', ['tests/tools/sio-chat.mjs', 'echo', server.url]);
    assert.match(stdout, /message-back \[\[1,2,3\],\[4,5,6\]\]/);
    const printed = server.lines.map(normal);
    for (const line of [
      'eio ID ← websocket 452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
      'sio ID → BINARY_EVENT / ["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}] +2 attachments (6 B)',
      'sio ID ← BINARY_EVENT / id=0 ["message-with-ack",{"_placeholder":true,"num":0}] +1 attachment (3 B)',
      'eio ID → polling 40{"sid":"ID"}',
      'eio ID → polling 42["auth",{}]',
    ]) assert.ok(printed.includes(line), `not printed: ${line}`);
    assert.ok(printed.some((l) => /^#\d+ → 40\{"sid":"ID"\}\\x1e42\["auth",\{\}\]$/.test(l)),
      'the CONNECT answer and the auth greeting share one GET body');
    assert.ok(printed.some((l) => /^#\d+ ← bAQID$/.test(l)), 'an attachment over polling');
  });
});
