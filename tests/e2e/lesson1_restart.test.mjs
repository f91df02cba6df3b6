// Lesson 01 restarted with two pages open, in headless Chromium (restart.mjs).
import { test } from 'node:test';
import { restartTest } from './restart.mjs';

const T = { timeout: 120_000 };

test('same --data file: both pages keep their messages and show the new ones', T,
  () => restartTest(1, { data: true }));

test('--data none: both pages say the history was reset, then show the new messages', T,
  () => restartTest(1, { data: false }));
