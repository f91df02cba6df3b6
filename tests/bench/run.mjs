// make bench: every lesson that builds, against the server a learner would
// otherwise use, on the fixed scenarios of tests/bench/README.md. Progress goes
// to stderr; the one Markdown table goes to stdout (and to BUILD/bench.md, with
// every raw result in BUILD/bench.json).
//
//   node tests/bench/run.mjs build/bench [--quick] [--only 1,3] [--fsync-only]
//
// --fsync-only runs just the log's scenario (ours with --fsync turn against
// ours with --fsync off), no peers.
//
// Each scenario starts a fresh server (ours, then the peer), runs build/bench/loadgen
// (or wrk, h2load) against it, and stops it with SIGTERM.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const build = path.resolve(process.argv[2] ?? 'build/bench');
const quick = process.argv.includes('--quick');
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt > 0 ? process.argv[onlyAt + 1].split(',').map(Number) : [1, 2, 3, 4];
const fsyncOnly = process.argv.includes('--fsync-only');
const log = (...a) => console.error('bench:', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Seconds measured per load scenario (after a 1 s warm-up); --quick for a smoke run.
const SECONDS = quick ? 2 : 5;
const IDLE = quick ? 2000 : 10000;

const lessons = [
  { n: 1, name: '01 long polling', proto: 'poll', peer: 'polling.mjs', peerName: 'Node http' },
  { n: 2, name: '02 HTTP/2 stream', proto: 'h2', peer: 'http2.mjs', peerName: 'Node http2' },
  { n: 3, name: '03 WebSocket', proto: 'ws', peer: 'ws.mjs', peerName: 'ws 8' },
  { n: 4, name: '04 Socket.IO', proto: 'sio', peer: 'socketio.mjs', peerName: 'socket.io 4.8' },
];

// The scenarios every lesson runs, with the loadgen flags and what the row reports.
// better: 'higher' or 'lower' decides which way the ratio is taken.
const scenarios = [
  {
    id: 'fanout',
    title: '1,000 clients, 10 posters flat out: delivered msg/s',
    args: ['--clients', '1000', '--posters', '10', '--window', '4', '--duration', SECONDS * 1000],
    value: (r) => r.delivered_per_s,
    better: 'higher',
  },
  {
    id: 'fanout-p99',
    from: 'fanout',
    title: '1,000 clients, 10 posters flat out: p99 latency (ms)',
    value: (r) => r.p99_us / 1000,
    better: 'lower',
  },
  {
    id: 'fanout-cpu',
    from: 'fanout',
    title: '1,000 clients, 10 posters flat out: delivered msg per server CPU-second',
    // The server's own CPU time, not the wall clock: a fairer figure on a shared machine.
    value: (r) => (r.server_cpu_pct > 0 ? r.delivered_per_s / (r.server_cpu_pct / 100) : undefined),
    better: 'higher',
  },
  {
    id: 'steady',
    title: '1,000 clients, 20 msg/s (20k deliveries/s): p99 latency (ms)',
    args: ['--clients', '1000', '--posters', '10', '--rate', '20', '--duration', SECONDS * 1000],
    value: (r) => r.p99_us / 1000,
    better: 'lower',
  },
  {
    id: 'idle',
    title: `${IDLE.toLocaleString('en')} idle connections: server RSS per connection (bytes)`,
    args: ['--mode', 'idle', '--clients', IDLE, '--warmup', '2000'],
    value: (r) => r.rss_per_conn_bytes,
    better: 'lower',
  },
  {
    id: 'echo',
    title: '1 client, post and wait for it: round trips/s',
    args: ['--clients', '1', '--posters', '1', '--duration', SECONDS * 1000],
    value: (r) => r.delivered_per_s,
    better: 'higher',
  },
  {
    id: 'echo-p99',
    from: 'echo',
    title: '1 client, post and wait for it: p99 round trip (µs)',
    value: (r) => r.p99_us,
    better: 'lower',
  },
];

// Starts a server, resolves {proc, port} once its URL line is out (the lessons'
// convention, followed by the peers too).
function startServer(cmd, args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: root });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${cmd} printed no URL in 10 s: ${err.slice(0, 500)}`));
    }, 10000);
    proc.stderr.on('data', (d) => {
      if (err.length < 100000) err += d;
    });
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/^https?:\/\/[^:]+:(\d+)\//);
      if (m) {
        clearTimeout(timer);
        proc.stdout.removeAllListeners('data');
        proc.stdout.resume();
        resolve({ proc, port: Number(m[1]), stderr: () => err });
      }
    });
    proc.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited (${code}) before printing its URL: ${err.slice(0, 500)}`));
    });
  });
}

async function stopServer(s) {
  if (s.proc.exitCode !== null) return;
  const exited = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill('SIGTERM');
  const t = setTimeout(() => s.proc.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}

function run(cmd, args, timeoutMs) {
  return new Promise((resolve) => {
    const proc = spawn(cmd, args.map(String), { stdio: ['ignore', 'pipe', 'pipe'], cwd: root });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (err += d));
    const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out, err });
    });
  });
}

async function loadgen(server, proto, args) {
  const r = await run(
    path.join(build, 'loadgen'),
    ['--proto', proto, '--port', server.port, '--pid', server.proc.pid, ...args],
    120000,
  );
  const line = r.out.trim().split('\n').pop();
  try {
    const result = JSON.parse(line);
    if (r.err.trim()) result.stderr = r.err.trim().split('\n').slice(0, 5).join(' | ');
    return result;
  } catch {
    return { failed: `loadgen exited ${r.code}: ${r.err.trim().slice(0, 300)}` };
  }
}

// The log's cost (common/store.h): the fanout scenario against a lesson keeping
// a fresh --data file, once with --fsync turn (one fdatasync per loop turn
// before the answers) and once with --fsync off. The other scenarios run with
// --data none, as the peers keep their history in memory.
async function durability(lesson) {
  const results = {};
  const fanout = scenarios.find((s) => s.id === 'fanout');
  for (const mode of ['turn', 'off']) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-log-'));
    const data = path.join(dir, 'chat.log');
    let server;
    try {
      server = await startServer(path.join(build, `lesson-${lesson.n}`),
        ['--port', '0', '--data', data, '--fsync', mode]);
      await sleep(300);
      results[mode] = await loadgen(server, lesson.proto, fanout.args);
      await stopServer(server);
      results[mode].log_bytes = fs.statSync(data).size;
    } catch (e) {
      results[mode] = { failed: e.message };
      if (server) await stopServer(server);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    log(`${lesson.name} --fsync ${mode}:`, JSON.stringify(results[mode]));
  }
  return results;
}

function durabilityRows(lesson, d) {
  const ok = (r) => r && !r.failed;
  const value = (r, f) => (ok(r) ? f(r) : undefined);
  const title = `${lesson.name}: --fsync turn (ours) vs --fsync off (peer column), ` +
    '1,000 clients, 10 posters flat out';
  return [
    row(`${title}: delivered msg/s`, value(d.turn, (r) => r.delivered_per_s),
      value(d.off, (r) => r.delivered_per_s), 'higher', describe(d.turn)),
    row(`${title}: p99 latency (ms)`, value(d.turn, (r) => r.p99_us / 1000),
      value(d.off, (r) => r.p99_us / 1000), 'lower'),
  ];
}

// One side of one lesson: every scenario, a fresh server each time.
async function measure(lesson, side) {
  const results = {};
  for (const sc of scenarios.filter((s) => s.args)) {
    let server;
    try {
      server =
        side === 'ours'
          ? await startServer(path.join(build, `lesson-${lesson.n}`),
            ['--port', '0', '--data', 'none'])
          : await startServer('node', [path.join(here, 'peers', lesson.peer), '--port', '0']);
    } catch (e) {
      log(`${lesson.name} ${side} ${sc.id}: ${e.message}`);
      results[sc.id] = { failed: e.message };
      continue;
    }
    await sleep(300);  // let Node finish starting up before its RSS is read
    const r = await loadgen(server, lesson.proto, sc.args);
    await stopServer(server);
    results[sc.id] = r;
    log(`${lesson.name} ${side} ${sc.id}:`, JSON.stringify(r));
  }
  return results;
}

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port) {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((r) => {
      const c = net.connect(port, '127.0.0.1', () => c.end() && r(true));
      c.on('error', () => r(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on ${port}`);
}

// wrk: plain GETs of the stylesheet over HTTP/1.1 keep-alive.
async function wrk(server) {
  const r = await run(
    'wrk',
    ['-t1', '-c50', `-d${SECONDS}s`, `http://127.0.0.1:${server.port}/style.css`],
    60000,
  );
  const m = r.out.match(/Requests\/sec:\s*([\d.]+)/);
  const errors = r.out.match(/Non-2xx or 3xx responses: (\d+)|Socket errors: .*/);
  return m ? { rps: Number(m[1]), errors: errors?.[0] } : { failed: r.out + r.err };
}

// h2load: the stylesheet over cleartext HTTP/2, 10 connections x 10 streams.
async function h2load(port) {
  const n = quick ? 20000 : 100000;
  const r = await run(
    'h2load',
    ['-n', n, '-c', '10', '-m', '10', `http://127.0.0.1:${port}/style.css`],
    120000,
  );
  const m = r.out.match(/finished in [\d.]+\w+, ([\d.]+) req\/s/);
  const status = r.out.match(/status codes: (\d+) 2xx/);
  return m ? { rps: Number(m[1]), ok2xx: Number(status?.[1] ?? 0), n } : { failed: r.out + r.err };
}

function fmt(v) {
  if (v === undefined || v === null || Number.isNaN(v)) return 'n/a';
  if (v >= 100) return Math.round(v).toLocaleString('en');
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function row(scenario, ours, peer, better, note = '') {
  let ratio = 'n/a';
  if (ours > 0 && peer > 0) ratio = `${(better === 'higher' ? ours / peer : peer / ours).toFixed(2)}×`;
  return `| ${scenario} | ${fmt(ours)}${note} | ${fmt(peer)} | ${ratio} |`;
}

const rows = [];
const raw = { machine: {}, lessons: {} };

function describe(r) {
  if (!r) return ' (missing)';
  if (r.failed) return ' (failed)';
  const notes = [];
  if (r.errors) notes.push(`${r.errors} errors`);
  if (r.note) notes.push(r.note);
  return notes.length ? ` (${notes.join(', ')})` : '';
}

async function main() {
  if (!fs.existsSync(path.join(build, 'loadgen'))) {
    log(`${build}/loadgen is missing: run make bench`);
    process.exit(1);
  }
  for (const lesson of lessons.filter((l) => only.includes(l.n))) {
    if (!fs.existsSync(path.join(build, `lesson-${lesson.n}`))) {
      log(`${lesson.name}: ${build}/lesson-${lesson.n} was not built; skipped`);
      rows.push(`| ${lesson.name}: not built, skipped | | | |`);
      continue;
    }
    if (fsyncOnly) {
      const d = await durability(lesson);
      raw.lessons[lesson.n] = { durability: d };
      rows.push(...durabilityRows(lesson, d));
      continue;
    }
    log(`${lesson.name}: ours, then ${lesson.peerName}`);
    const ours = await measure(lesson, 'ours');
    const peer = await measure(lesson, 'peer');
    raw.lessons[lesson.n] = { ours, peer };
    for (const sc of scenarios) {
      const o = ours[sc.from ?? sc.id];
      const p = peer[sc.from ?? sc.id];
      const ov = o && !o.failed ? sc.value(o) : undefined;
      const pv = p && !p.failed ? sc.value(p) : undefined;
      const title = `${lesson.name} vs ${lesson.peerName}: ${sc.title}`;
      rows.push(row(title, ov, pv, sc.better, sc.from ? '' : describe(o)) +
        (p && (p.failed || p.errors) && !sc.from ? ` <!-- peer${describe(p)} -->` : ''));
    }
    const d = await durability(lesson);
    raw.lessons[lesson.n].durability = d;
    rows.push(...durabilityRows(lesson, d));
    if (lesson.n === 1) {
      const o = await startServer(path.join(build, 'lesson-1'), ['--port', '0', '--data', 'none']);
      const ow = await wrk(o);
      await stopServer(o);
      const p = await startServer('node', [path.join(here, 'peers', lesson.peer), '--port', '0']);
      const pw = await wrk(p);
      await stopServer(p);
      log('wrk:', JSON.stringify({ ours: ow, peer: pw }));
      raw.lessons[1].wrk = { ours: ow, peer: pw };
      rows.push(row('01 long polling vs Node http: wrk GET /style.css, 50 connections: req/s',
        ow.rps, pw.rps, 'higher'));
    }
    if (lesson.n === 2) {
      const o = await startServer(path.join(build, 'lesson-2'), ['--port', '0', '--data', 'none']);
      const oh = await h2load(o.port);
      await stopServer(o);
      const port = await freePort();
      const nghttpd = spawn('nghttpd', ['--no-tls', '-d', path.join(root, 'common/client'), port],
        { stdio: 'ignore' });
      let ph;
      try {
        await waitForPort(port);
        ph = await h2load(port);
      } catch (e) {
        ph = { failed: e.message };
      }
      nghttpd.kill('SIGTERM');
      log('h2load:', JSON.stringify({ ours: oh, nghttpd: ph }));
      raw.lessons[2].h2load = { ours: oh, nghttpd: ph };
      rows.push(row('02 HTTP/2 vs nghttpd: h2load GET /style.css, 10 connections x 10 streams: req/s',
        oh.rps, ph.rps, 'higher'));
    }
  }
  raw.machine = machine();
  const table = [
    '| scenario | ours | peer | ratio |',
    '| --- | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
  const header = `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ` +
    `${raw.machine.nproc} cores (${raw.machine.cpu}), ${raw.machine.memory}, ` +
    `Node ${process.versions.node}. Ratio: how many times better ours is (>1: ours wins).`;
  fs.writeFileSync(path.join(build, 'bench.json'), JSON.stringify(raw, null, 1));
  fs.writeFileSync(path.join(build, 'bench.md'), `${header}\n\n${table}\n`);
  console.log(`${header}\n\n${table}`);
}

function machine() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const meminfo = fs.readFileSync('/proc/meminfo', 'utf8');
  const kb = Number(meminfo.match(/MemTotal:\s+(\d+)/)?.[1] ?? 0);
  let nproc = 0;
  try {
    nproc = Number(execFileSync('nproc').toString().trim());
  } catch {}
  return {
    nproc,
    cpu: cpuinfo.match(/model name\s*:\s*(.*)/)?.[1]?.trim() ?? 'unknown CPU',
    memory: `${(kb / 1024 / 1024).toFixed(1)} GiB RAM`,
    load: fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  };
}

main().catch((e) => {
  log(e.stack);
  process.exit(1);
});
