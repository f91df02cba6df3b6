// The top README's "One message, four ways" table is what tests/tools/wire-table.mjs
// prints: the same rows and byte counts, and the same bytes once the Date header
// and the "time" values (which change every run, never their length) are set
// aside. It needs every lesson built, so it runs with lesson 4, the last.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { BUILD_DIR } from './lib.mjs';

const run = promisify(execFile);
const README = new URL('../../README.md', import.meta.url);
const normal = (line) => line.replace(/Date: [^\\]*GMT/, 'Date: D').replace(/"time":\d+/g, '"time":T')
  // Lesson 04's connection state recovery offset, "<history id>-<n>": a new id each run.
  .replace(/"[0-9a-f]{16}-(\d+)"/g, '"H-$1"');

const built = await Promise.all([1, 2, 3, 4].map((n) =>
  access(path.resolve(BUILD_DIR, `lesson-${n}`)).then(() => true, () => false)));

test('the README wire table is what wire-table.mjs prints', {
  timeout: 60_000,
  skip: built.every(Boolean) ? false : `needs all four lessons in ${BUILD_DIR}`,
}, async () => {
  const { stdout } = await run('node', ['tests/tools/wire-table.mjs', BUILD_DIR]);
  const [rows, bytes] = stdout.trim().split('\n\n').map((part) => part.split('\n'));
  const readme = await readFile(README, 'utf8');
  const start = readme.indexOf('## One message, four ways');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  // README rows carry two more columns (latency) and lesson 2's "(+22 in TLS)".
  const readmeRows = section.split('\n').filter((l) => /^\| 0[1-4] /.test(l))
    .map((l) => l.split(' | ').slice(0, 3).join(' | ').replace(/ \(\+22 in TLS\)$/, ''));
  assert.deepEqual(readmeRows, rows.map((r) => r.replace(/ \|$/, '')));
  const block = section.slice(section.indexOf('```\n') + 4, section.indexOf('\n```', section.indexOf('```\n') + 4));
  assert.deepEqual(block.split('\n').map(normal), bytes.map(normal));
});
