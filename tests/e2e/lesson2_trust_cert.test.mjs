// make trust-cert (tests/tools/trust-cert.sh) on a fresh machine: no NSS database
// yet. Run with HOME set to an empty directory, it must create the database, add
// lesson 02's certificate, and then headless Chromium, with no
// --ignore-certificate-errors, loads the page over TLS; the undo command it prints
// must take that trust away again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BUILD_DIR, startLesson, stopClean } from './lib.mjs';

const T = { timeout: 120_000 };
const run = promisify(execFile);

describe('lesson 02: make trust-cert', () => {
  let server;
  let home;
  before(async () => {
    server = await startLesson(2); // makes BUILD_DIR/localhost.pem if it is not there
    home = await mkdtemp(path.join(os.tmpdir(), 'trust-cert-'));
  });
  after(async () => {
    if (server) await stopClean(server);
    if (home) await rm(home, { recursive: true, force: true });
  });

  // Headless Chromium with HOME=home, so it reads home/.pki/nssdb. Resolves with
  // the page's HTTP status, or the navigation error's text.
  async function load(url) {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      env: { ...process.env, HOME: home },
    });
    try {
      const page = await browser.newPage();
      const res = await page.goto(url);
      return res.status();
    } catch (err) {
      return err.message;
    } finally {
      await browser.close();
    }
  }
  const script = (env = {}) => run('sh', ['tests/tools/trust-cert.sh', BUILD_DIR],
    { env: { ...process.env, HOME: home, ...env } });

  test('creates the database, trusts the certificate, and says how to undo it', T, async () => {
    assert.match(String(await load(server.url)), /ERR_CERT_AUTHORITY_INVALID/,
      'an untrusted self-signed certificate is refused');

    const { stdout } = await script();
    assert.match(stdout, /created the NSS database/);
    assert.match(stdout, /added .*localhost\.pem .* as "realtime-web-lesson-2"/);
    await stat(path.join(home, '.pki/nssdb/cert9.db'));
    assert.equal(await load(server.url), 200, 'trusted: the page loads without a warning');

    // A second run changes nothing.
    assert.match((await script()).stdout, /already trusted .* nothing changed/);

    // The printed undo command works.
    const undo = stdout.match(/Undo: (certutil .*)/)[1].split(' ');
    await run(undo[0], undo.slice(1), { env: { ...process.env, HOME: home } });
    assert.match(String(await load(server.url)), /ERR_CERT_AUTHORITY_INVALID/);
  });
});
