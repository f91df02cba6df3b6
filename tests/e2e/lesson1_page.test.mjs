// The shared page (common/client/chat.js, style.css) and lesson 01's client.js on
// lesson 01's server, in headless Chromium: each tab keeps a name of its own (tabs
// of one browser share localStorage, so the name lives in sessionStorage, which
// belongs to one tab); the Send button has its colour; the wire panel says "held"
// only of a poll that could be held.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, startLesson, stopClean } from './lib.mjs';

const T = { timeout: 60_000 };

describe('lesson 01 page: one name per tab', () => {
  let server;
  let browser;
  before(async () => {
    server = await startLesson(1);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    if (server) await stopClean(server);
  });

  // A tab of `context` whose Math.random always returns draws[k] on its k-th load
  // (the last one after that), so the name it draws is known (0.1 → guest-1900),
  // two tabs' draws cannot collide by chance, and a reload that drew a new name
  // would show it. window.name counts the loads: it lives as long as the tab.
  async function tab(context, ...draws) {
    const page = await context.newPage();
    await page.addInitScript((values) => {
      const load = Number(window.name || 0);
      window.name = String(load + 1);
      const r = values[Math.min(load, values.length - 1)];
      Math.random = () => r;
    }, draws);
    await page.goto(server.url);
    await page.waitForSelector('#status[data-connected="true"]');
    return page;
  }
  const nameOf = (page) => page.inputValue('#name');
  async function reload(page) {
    await page.reload();
    await page.waitForSelector('#status[data-connected="true"]');
  }

  test('two fresh tabs of one browser get different names', T, async () => {
    const context = await browser.newContext();
    try {
      const a = await tab(context, 0.1);
      const b = await tab(context, 0.2);
      assert.equal(await nameOf(a), 'guest-1900');
      assert.equal(await nameOf(b), 'guest-2800', 'the second tab drew its own name');
    } finally {
      await context.close();
    }
  });

  test('a name typed in one tab does not rename another tab on reload', T, async () => {
    const context = await browser.newContext();
    try {
      const a = await tab(context, 0.1);
      const b = await tab(context, 0.2, 0.5);
      await a.fill('#name', 'ada'); // fill() fires the input event that saves it
      await reload(b);
      assert.equal(await nameOf(b), 'guest-2800');
      // A tab opened after the name was typed does not inherit it either.
      const c = await tab(context, 0.3);
      assert.equal(await nameOf(c), 'guest-3700');
    } finally {
      await context.close();
    }
  });

  test('a reload keeps the name the tab had', T, async () => {
    const context = await browser.newContext();
    try {
      const a = await tab(context, 0.1);
      await a.fill('#name', 'ada');
      await reload(a);
      assert.equal(await nameOf(a), 'ada');
      // Reloaded without typing, a tab keeps the random name it drew.
      const b = await tab(context, 0.2, 0.9); // a new draw would give guest-9100
      await reload(b);
      assert.equal(await nameOf(b), 'guest-2800');
    } finally {
      await context.close();
    }
  });

  test('the Send button is drawn in the accent colour', T, async () => {
    const context = await browser.newContext();
    try {
      const page = await tab(context, 0.1);
      const [send, accent] = await page.evaluate(() => {
        // The accent as a computed colour: a probe element painted with it.
        const probe = document.createElement('div');
        probe.style.color = 'var(--accent)';
        document.body.append(probe);
        const colour = getComputedStyle(probe).color;
        probe.remove();
        return [getComputedStyle(document.getElementById('send')).backgroundColor, colour];
      });
      assert.equal(send, accent);
    } finally {
      await context.close();
    }
  });

  test('the wire panel says held only of a poll that could be held', T, async () => {
    const context = await browser.newContext();
    try {
      const page = await tab(context, 0.1);
      const held = () => page.$$eval('#wire li', (lines) => lines.map((l) => l.textContent));
      // The first GET has no since: it is answered at once, never held.
      await page.waitForFunction(() => document.querySelectorAll('#wire li.in').length >= 1);
      const first = (await held()).find((l) => l.includes('←'));
      assert.match(first, /200 · \d+ B · took \d+\.\d\d s/);
      // Short polling asks with wait=0: never held either.
      const short = await context.newPage();
      await short.goto(`${server.url}?mode=short`);
      await short.waitForFunction(() =>
        [...document.querySelectorAll('#wire li')].some((l) => l.textContent.includes('wait=0')));
      await short.waitForFunction(() => document.querySelectorAll('#wire li.in').length >= 2);
      const answers = await short.$$eval('#wire li.in', (lines) => lines.map((l) => l.textContent));
      assert.ok(answers.length >= 2);
      for (const line of answers) assert.doesNotMatch(line, /held/);
    } finally {
      await context.close();
    }
  });
});
