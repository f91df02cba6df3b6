// Lesson 02's client.js in headless Chromium: a post that cannot reach the server
// is logged in the wire panel (as lesson 01's is).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, startLesson, stopClean } from './lib.mjs';

const T = { timeout: 60_000 };

describe('lesson 02 page', () => {
  let browser;
  before(async () => {
    browser = await launchBrowser(['--ignore-certificate-errors']);
  });
  after(async () => {
    await browser?.close();
  });

  test('a post that gets no answer is logged in the wire panel', T, async () => {
    const server = await startLesson(2);
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForSelector('#status[data-connected="true"]');
    await stopClean(server);
    await page.waitForSelector('#status[data-connected="false"]');
    await page.fill('#text', 'nobody is listening');
    await page.click('#send');
    // No error under the box: the post waits to be sent again, once, with its cid,
    // when the server is back (common/client/chat.js).
    await page.waitForFunction(() => [...document.querySelectorAll('#wire li')]
      .some((e) => /← no answer \(/.test(e.textContent)));
    const lines = await page.$$eval('#wire li', (els) => els.map((e) => e.textContent));
    const sent = lines.findIndex((l) => l.includes('→ POST /messages'));
    assert.ok(sent >= 0, lines.join('\n'));
    assert.ok(lines.slice(sent + 1).some((l) => /← no answer \(/.test(l)), lines.join('\n'));
    await page.close();
  });
});
