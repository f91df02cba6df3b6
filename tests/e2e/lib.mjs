// Shared by the end-to-end tests: start a lesson binary, and start headless
// Chromium. BUILD_DIR (set by the Makefile) says which build to test.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';

export const BUILD_DIR = process.env.BUILD_DIR ?? 'build';

// Starts build/lesson-N --port 0 --data none (plus args) and resolves once it prints its URL,
// the first line on stdout. The result:
//   url       'http://localhost:PORT/' as printed (https for lesson 02)
//   port      the port number
//   lines     every later stdout line (--trace output), as it arrives
//   stderr()  everything logged so far
//   waitFor(re, stream)  resolves with the first stdout (or 'stderr') line matching re
//   stop()    SIGTERM; resolves with { code, signal } once the process has exited,
//             plus hung: true if it had to be killed 10 s after SIGTERM
export async function startLesson(n, args = [], options = {}) {
  const binary = path.resolve(BUILD_DIR, `lesson-${n}`);
  // LESSON_WRAPPER runs the binary under another program (make valgrind).
  const wrapper = (process.env.LESSON_WRAPPER ?? '').split(' ').filter(Boolean);
  // Memory only unless a test names a log (--data): tests must not share history.
  // options.port starts on a given port (a restart on the port a page knows).
  const data = args.includes('--data') ? [] : ['--data', 'none'];
  const argv = [...wrapper, binary, '--port', String(options.port ?? 0), ...data, ...args];
  const proc = spawn(argv[0], argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  const exited = once(proc, 'exit').then(([code, signal]) => ({ code, signal }));
  // Whatever happens to the test (a timeout, a crash), the server does not outlive it.
  const reap = () => proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL');
  process.once('exit', reap);
  exited.then(() => process.removeListener('exit', reap));
  let errText = '';
  const watchers = [];
  const lines = [];
  const notify = (stream, line) => {
    for (const w of watchers.slice()) {
      if (w.stream === stream && w.re.test(line)) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  createInterface({ input: proc.stderr }).on('line', (line) => {
    errText += `${line}\n`;
    if (process.env.E2E_VERBOSE) process.stderr.write(`  [lesson-${n}] ${line}\n`);
    notify('stderr', line);
  });
  const out = createInterface({ input: proc.stdout });
  const first = new Promise((resolve, reject) => {
    out.once('line', resolve);
    exited.then(({ code, signal }) =>
      reject(new Error(`lesson-${n} exited (${code ?? signal}) before printing its URL:\n${errText}`)));
  });
  const url = await first;
  out.on('line', (line) => {
    lines.push(line);
    notify('stdout', line);
  });
  const port = Number(new URL(url).port);
  return {
    proc,
    url,
    port,
    lines,
    stderr: () => errText,
    waitFor: (re, stream = 'stdout') => {
      const source = stream === 'stdout' ? lines : errText.split('\n');
      const hit = source.find((l) => re.test(l));
      if (hit !== undefined) return Promise.resolve(hit);
      return new Promise((resolve) => watchers.push({ re, stream, resolve }));
    },
    exited,
    // SIGTERM; a server still running 10 s later is killed and reported as hung,
    // so a hang fails the test instead of stalling the run.
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill('SIGTERM');
      let timer;
      const hung = new Promise((resolve) => {
        timer = setTimeout(() => {
          proc.kill('SIGKILL');
          resolve(true);
        }, 10_000);
      });
      const late = await Promise.race([exited.then(() => false), hung]);
      clearTimeout(timer);
      return late ? { ...(await exited), hung: true } : exited;
    },
  };
}

// SIGTERM must end a lesson cleanly: exit 0, so no sanitizer report (a leak under
// detect_leaks=1 makes the exit code non-zero), and within 10 s.
export async function stopClean(lesson) {
  const { code, signal, hung } = await lesson.stop();
  assert.ok(!hung, `still running 10 s after SIGTERM:\n${lesson.stderr()}`);
  assert.equal(signal, null, lesson.stderr());
  assert.equal(code, 0, lesson.stderr());
}

// Debian's Chromium, driven by playwright-core (which downloads no browser).
// The flags keep it from reaching for the network at start-up.
export async function launchBrowser(extraArgs = []) {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ...extraArgs],
  });
}

// Resolves after ms milliseconds (for pacing, never for asserting speed).
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A README's fenced blocks, each as an array of its lines (the fences left out):
// the captures tests read the commands and the captures from them.
export function readmeBlocks(text) {
  const out = [];
  let current = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) {
      if (current) out.push(current);
      current = current ? null : [];
    } else if (current) current.push(line);
  }
  return out;
}
