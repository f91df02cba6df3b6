// --trace-page in headless Chromium, the same checks for every lesson (each
// lessonN_trace_page.test.mjs calls tracePageTests): with the switch on, a page's
// wire panel shows the server's decoded lines of its own connections, and never a
// line about another client's connection or session; without the server flag,
// GET /trace is a 404 and the panel shows no server lines.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, startLesson, stopClean } from './lib.mjs';

const T = { timeout: 120_000 };

// The panel's server lines, as the server printed them (without time and "server").
const serverLines = (page) =>
  page.$$eval('#wire li.server', (els) =>
    els.map((e) => e.textContent.replace(/^\S+ server /, '')));

// Connections ("#12") and Engine.IO sessions ("eio <sid>", "sio <sid>") a line is about.
function subjects(lines) {
  const out = new Set();
  for (const line of lines) {
    const m = /^#(\d+) /.exec(line) ?? /^[es]io (\S+) /.exec(line);
    if (m) out.add(m[1]);
  }
  return out;
}

// Waits until every pattern matches a server line; on a timeout, fails with the
// pattern missing and what the panel holds.
async function waitForLines(page, patterns) {
  try {
    await page.waitForFunction((sources) => {
      const lines = [...document.querySelectorAll('#wire li.server')].map((e) =>
        e.textContent.replace(/^\S+ server /, ''));
      return sources.every(([s, f]) => lines.some((l) => new RegExp(s, f).test(l)));
    }, patterns.map((re) => [re.source, re.flags]), { timeout: 60_000, polling: 250 });
  } catch (err) {
    const lines = await serverLines(page);
    const missing = patterns.filter((re) => !lines.some((l) => re.test(l)));
    const all = await page.$$eval('#wire li', (els) => els.map((e) => e.textContent));
    assert.fail(`${err.message}\nmissing: ${missing.join(' ')}\npanel:\n${all.join('\n')}`);
  }
}

// `decoded`: patterns that a post from the page must bring into its panel,
// e.g. /← FIN=1 text MASK=1 key=[0-9a-f]{8}/ for lesson 03.
export function tracePageTests(n, { decoded }) {
  describe(`lesson 0${n}: the server's view of the page's own connections`, () => {
    let browser;
    before(async () => {
      browser = await launchBrowser(['--ignore-certificate-errors']);
    });
    after(async () => {
      await browser?.close();
    });

    // A page in a browser context of its own (its own connections, as another
    // browser's would be), with the switch on: the page reloads with a token.
    async function tracingPage(url) {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      await page.goto(url);
      await page.waitForSelector('#status[data-connected="true"]');
      await page.click('#trace-page');
      await page.waitForFunction(() =>
        [...document.querySelectorAll('#wire li')].some((l) =>
          l.textContent.includes('server view:')));
      await page.waitForSelector('#status[data-connected="true"]');
      const token = await page.evaluate(() => sessionStorage.getItem('chat.trace-page'));
      assert.match(token, /^[0-9a-f]{32}$/);
      return { context, page, token };
    }

    async function post(page, text) {
      await page.fill('#text', text);
      await page.click('#send');
      await page.waitForFunction((t) =>
        [...document.querySelectorAll('#messages .message:not(.pending) .text')]
          .some((e) => e.textContent === t), text);
    }

    test('switch on: the decoded lines of this page, none of another page', T, async () => {
      const server = await startLesson(n, ['--trace-page']);
      const a = await tracingPage(server.url);
      const b = await tracingPage(server.url);
      await post(a.page, 'from page A');
      await post(b.page, 'from page B');
      await waitForLines(a.page, [...decoded, new RegExp(`tracepage=${a.token}`)]);
      await waitForLines(b.page, [...decoded, new RegExp(`tracepage=${b.token}`)]);
      const linesA = await serverLines(a.page);
      const linesB = await serverLines(b.page);
      // Each page sees its own token, never the other's, and no connection or
      // session of the other's.
      assert.ok(!linesA.some((l) => l.includes(b.token)), linesA.join('\n'));
      assert.ok(!linesB.some((l) => l.includes(a.token)), linesB.join('\n'));
      const mine = subjects(linesA);
      const theirs = subjects(linesB);
      assert.ok(mine.size > 0 && theirs.size > 0);
      for (const s of mine) assert.ok(!theirs.has(s), `both pages were shown ${s}`);
      // The page's own GET /trace never shows up in what it is shown.
      assert.ok(!linesA.some((l) => l.includes('/trace?page=')), linesA.join('\n'));
      await a.context.close();
      await b.context.close();
      await stopClean(server);
    });

    test('without --trace-page: GET /trace is a 404 and no server lines', T, async () => {
      const server = await startLesson(n);
      const { context, page, token } = await tracingPage(server.url);
      await page.waitForFunction(() =>
        [...document.querySelectorAll('#wire li')].some((l) =>
          l.textContent.includes('server view: off at the server')));
      await post(page, 'nobody traces this');
      const status = await page.evaluate(async (t) =>
        (await fetch(`/trace?page=${t}&after=0`)).status, token);
      assert.equal(status, 404);
      assert.deepEqual(await serverLines(page), []);
      await context.close();
      await stopClean(server);
    });
  });
}
