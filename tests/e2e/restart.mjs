// The restart test every lesson runs in headless Chromium (lessonN_restart.test.mjs):
// two pages chat, the server stops and starts again on the same port while they
// stay open, and one post is sent while it is down.
//   - with the same --data file: both pages keep what they showed, the post sent
//     while down arrives once, and both show what is posted after the restart;
//   - with --data none: both pages say the history was reset, drop what they
//     showed, and show the post sent while down and the new messages.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser, startLesson } from './lib.mjs';

const RESET = "the server's history was reset";

export async function restartTest(n, { data, browserArgs = [] }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `lesson${n}-restart-`));
  const args = ['--data', data ? path.join(dir, 'chat.log') : 'none'];
  let server = await startLesson(n, args);
  const browser = await launchBrowser(browserArgs);
  try {
    const open = async (user) => {
      const page = await browser.newPage();
      await page.addInitScript((name) => localStorage.setItem('chat.name', name), user);
      await page.goto(server.url);
      await page.waitForSelector('#status[data-connected="true"]');
      return page;
    };
    const say = async (page, text) => {
      await page.fill('#text', text);
      await page.click('#send');
    };
    const shown = (page) => page.$$eval('#messages .message:not(.pending) .text',
      (els) => els.map((e) => e.textContent));
    const shows = (page, text) => page.waitForFunction((t) =>
      [...document.querySelectorAll('#messages .message:not(.pending) .text')]
        .some((e) => e.textContent === t), text);
    const notice = (page) => page.$('#reset-notice');

    const ada = await open('ada');
    const bob = await open('bob');
    await say(ada, 'before one');
    await say(bob, 'before two');
    for (const page of [ada, bob]) {
      await shows(page, 'before one');
      await shows(page, 'before two');
    }

    // Stopped (SIGTERM, as Ctrl-C), so both pages see the connection go.
    await server.stop();
    for (const page of [ada, bob])
      await page.waitForSelector('#status[data-connected="false"]');
    // Sent while the server is down: no answer; the page sends it again, once.
    await say(ada, 'while down');
    server = await startLesson(n, args, { port: server.port });
    for (const page of [ada, bob])
      await page.waitForSelector('#status[data-connected="true"]');
    await shows(bob, 'while down');
    await say(bob, 'after one');
    await say(ada, 'after two');
    for (const page of [ada, bob]) {
      await shows(page, 'after one');
      await shows(page, 'after two');
      await shows(page, 'while down');
    }
    const after = ['while down', 'after one', 'after two'];
    for (const page of [ada, bob]) {
      const texts = await shown(page);
      // Each once, whatever order the two posters' messages took.
      for (const t of after) assert.equal(texts.filter((x) => x === t).length, 1, t);
      if (data) {
        assert.deepEqual(texts.slice(0, 2), ['before one', 'before two']);
        assert.equal(texts.length, 5);
        assert.equal(await notice(page), null);
      } else {
        assert.equal(await page.textContent('#reset-notice'), RESET);
        assert.ok(!texts.includes('before one'), 'the old history is dropped');
        assert.equal(texts.length, 3);
      }
    }
    assert.equal(await ada.textContent('#error'), '');
    if (data) assert.match(server.stderr(), /history [0-9a-f]{16}: .*chat\.log .*, 2 messages/);
  } finally {
    await browser.close();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
