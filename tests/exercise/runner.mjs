// Runs a lesson's stages, in order, against its binary over real sockets, and stops
// at the first failure with what was sent, what came back (and what it means), what
// was expected, and the RFC's rule. A server that dies is reported as a crash: its
// signal or exit code and the sanitizer report's first line.
//
// A stage is { name, exercise, what, hint, run(t) }; run() uses t.connect() and
// t.upgrade(), and reports a failure by throwing t.fail({ sent, received, expected }):
// each is a string or an array of lines.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { createInterface } from 'node:readline';

// How long to wait for an answer; a stage that gets none within it fails (the
// machine may be loaded, and a server under ASan at -O0 is slow).
export const WAIT_MS = Number(process.env.EXERCISE_WAIT_MS ?? 5000);

class StageFailure extends Error {
  constructor(detail) {
    super('stage failed');
    this.detail = detail;
  }
}

// "81 fe 01 2c", at most max bytes, then " ..."
export function hex(buf, max = 16) {
  const shown = [...buf.subarray(0, max)].map((b) => b.toString(16).padStart(2, '0'));
  return shown.join(' ') + (buf.length > max ? ' ...' : '');
}

// A raw TCP client that keeps every byte it gets. read(pick) waits until pick(bytes)
// returns something other than undefined, the peer closes, or WAIT_MS passes.
class RawClient {
  constructor(socket) {
    this.socket = socket;
    this.bytes = Buffer.alloc(0);
    this.closed = false;
    this.waiters = [];
    socket.on('data', (d) => {
      this.bytes = Buffer.concat([this.bytes, d]);
      this.wake();
    });
    const end = () => {
      this.closed = true;
      this.wake();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  wake() {
    for (const w of this.waiters.slice()) w();
  }

  send(bytes) {
    this.socket.write(bytes);
  }

  // { value } once pick() has one; { closed: true } or { timeout: true } otherwise.
  read(pick, ms = WAIT_MS) {
    return new Promise((resolve) => {
      let timer;
      const check = () => {
        const value = pick(this.bytes);
        let result;
        if (value !== undefined) result = { value };
        else if (this.closed) result = { closed: true };
        if (!result) return;
        clearTimeout(timer);
        this.waiters.splice(this.waiters.indexOf(check), 1);
        resolve(result);
      };
      this.waiters.push(check);
      timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(check), 1);
        resolve({ timeout: true });
      }, ms);
      check();
    });
  }

  // Resolves true once the peer has closed the connection, false after ms.
  async closedWithin(ms = WAIT_MS) {
    const r = await this.read(() => undefined, ms);
    return Boolean(r.closed);
  }

  destroy() {
    this.socket.destroy();
  }
}

function startServer(binary, args) {
  const proc = spawn(binary, ['--port', '0', '--data', 'none', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' } });
  const server = { proc, stderr: '', exit: null };
  server.exited = new Promise((resolve) => proc.on('exit', (code, signal) => {
    server.exit = { code, signal };
    resolve(server.exit);
  }));
  proc.on('error', (err) => {
    server.stderr += `${err.message}\n`;
  });
  createInterface({ input: proc.stderr }).on('line', (l) => {
    server.stderr += `${l}\n`;
  });
  const reap = () => server.exit || proc.kill('SIGKILL');
  process.once('exit', reap);
  server.exited.then(() => process.removeListener('exit', reap));
  const out = createInterface({ input: proc.stdout });
  server.ready = new Promise((resolve) => {
    out.once('line', (url) => resolve({ port: Number(new URL(url).port) }));
    server.exited.then(() => resolve({ failed: true }));
  });
  return server;
}

// The server died: how, and the first line of a sanitizer's report if it left one.
function crashLines(server) {
  const { code, signal } = server.exit;
  const lines = [signal ? `the server was killed by ${signal}` :
    `the server exited with status ${code}`];
  const report = server.stderr.split('\n').find((l) =>
    /^==\d+==ERROR: |runtime error: |^AddressSanitizer/.test(l));
  if (report) lines.push(report.replace(/^==\d+==/, ''));
  return lines;
}

const lines = (x) => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

// Prints one failure block in the shape of issue 15's example.
function formatFailure(detail) {
  const out = [];
  const field = (label, value) => lines(value).forEach((l, i) =>
    out.push(`  ${(i ? '' : label).padEnd(9)} ${l}`));
  field('sent', detail.sent);
  field('received', detail.received);
  field('expected', detail.expected);
  return out;
}

// Runs every stage; true when all pass. out(text) prints.
// args: more flags for the server (a stages module's `args`).
export async function runStages(stages, binary, { lesson, out, args = [] }) {
  const server = startServer(binary, args);
  const started = await Promise.race([server.ready,
    new Promise((r) => setTimeout(() => r({ timeout: true }), WAIT_MS * 4).unref())]);
  if (!started.port) {
    out(`The server ${binary} did not start` +
      (server.exit ? ` (${crashLines(server).join('; ')})` : '') + `:\n${server.stderr}`);
    server.proc.kill('SIGKILL');
    return false;
  }
  const clients = [];
  const t = {
    port: started.port,
    fail: (detail) => new StageFailure(detail),
    connect: () => new Promise((resolve, reject) => {
      const s = net.connect(started.port, '127.0.0.1');
      s.once('connect', () => {
        const c = new RawClient(s);
        clients.push(c);
        resolve(c);
      });
      s.once('error', reject);
    }),
  };
  let passed = 0;
  let ok = true;
  for (const [i, stage] of stages.entries()) {
    const title = `[stage ${i + 1}/${stages.length} ${stage.name}] ${stage.what}`;
    let failure = null;
    try {
      await stage.run(t);
    } catch (err) {
      failure = err instanceof StageFailure ? err.detail :
        { received: `the tester itself failed: ${err.stack ?? err}` };
    }
    for (const c of clients.splice(0)) c.destroy();
    // A dead server closes every socket, so the stage ends at once; give the exit
    // a moment to be reported, then call it a crash rather than a wrong answer.
    if (!server.exit)
      await Promise.race([server.exited, new Promise((r) => setTimeout(r, failure ? 300 : 0).unref())]);
    if (server.exit) {
      out(`${title}\n`);
      out(formatFailure(failure ?? {}).join('\n') + (failure ? '\n' : ''));
      out(crashLines(server).map((l, j) => `  ${(j ? '' : 'crashed').padEnd(9)} ${l}`)
        .join('\n') + '\n');
      ok = false;
    } else if (failure) {
      out(`${title}\n${formatFailure(failure).join('\n')}\n`);
      ok = false;
    }
    if (!ok) {
      // A stage may name which of its exercises the failure points at.
      out(`  ${'exercise'.padEnd(9)} ${failure?.exercise ?? stage.exercise}\n` +
        `  ${'hint'.padEnd(9)} ${failure?.hint ?? stage.hint}\n`);
      out(`FAILED at stage ${i + 1}` +
        (passed ? `; stage${passed > 1 ? 's' : ''} ${passed > 1 ? `1-${passed}` : '1'} passed` : '') +
        `. Fix it and run make check-${lesson} again.\n`);
      break;
    }
    out(`${title}: ok\n`);
    passed++;
  }
  if (ok) out(`All ${stages.length} stages passed.\n`);
  if (!server.exit) {
    server.proc.kill('SIGKILL');
    await server.exited;
  }
  return ok;
}
