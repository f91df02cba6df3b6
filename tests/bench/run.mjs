// make bench: every lesson that builds, against the servers a learner would
// otherwise use (Node's, and the fastest there are: Bun and h2o), and against the
// machine's own limit for the scenario, on the fixed scenarios of
// tests/bench/README.md. Progress goes to stderr; the one Markdown table goes to
// stdout (and to BUILD/bench.md, with every raw result in BUILD/bench.json).
//
//   node tests/bench/run.mjs build/bench [--quick] [--only 1,3] [--seconds N]
//        [--scenarios fanout,echo,wrk,cluster] [--peers node,bun,h2o] [--fsync-only]
//
// --fsync-only runs just the log's scenario (ours with --fsync turn against
// ours with --fsync off), no peers.
//
// The same choices as environment variables: BENCH_ONLY=1,3 BENCH_SECONDS=3
// BENCH_SCENARIOS=fanout BENCH_PEERS=bun (a flag wins over its variable).
//
// Each scenario starts a fresh server (ours, then each peer), runs build/bench/loadgen
// (or wrk, h2load) against it, and stops it with SIGTERM; then build/bench/limit
// measures the same scenario with no server at all.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const build = path.resolve(process.argv[2] ?? 'build/bench');
const log = (...a) => console.error('bench:', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function option(flag, env) {
  const at = process.argv.indexOf(flag);
  if (at > 0 && process.argv[at + 1] !== undefined) return process.argv[at + 1];
  return process.env[env] || undefined;
}
const list = (v) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined);
const quick = process.argv.includes('--quick');
const only = list(option('--only', 'BENCH_ONLY'))?.map((s) => Number(s.replace(/^lesson/, '')))
  ?? [1, 2, 3, 4];
const onlyScenarios = list(option('--scenarios', 'BENCH_SCENARIOS'));
const onlyPeers = list(option('--peers', 'BENCH_PEERS'));
const wantScenario = (id) => !onlyScenarios || onlyScenarios.includes(id);
const wantPeer = (id) => !onlyPeers || onlyPeers.includes(id);
const fsyncOnly = process.argv.includes('--fsync-only');

// Seconds measured per load scenario (after a 1 s warm-up); --quick for a smoke run.
const SECONDS = Number(option('--seconds', 'BENCH_SECONDS') ?? (quick ? 2 : 5));
const IDLE = quick ? 2000 : 10000;
const H2LOAD_N = quick || SECONDS < 5 ? 20000 : 100000;  // h2load counts requests, not time

// ---- the peers ----------------------------------------------------------------------

// Bun from npm (tests/package.json pins it). Its postinstall moves the binary of the
// platform package (@oven/bun-linux-x64...) over node_modules/bun/bin/bun.exe; if the
// install scripts did not run, the platform package still holds it.
function findBun() {
  const nm = path.join(root, 'tests/node_modules');
  const candidates = [
    path.join(nm, '.bin/bun'),
    ...['linux-x64', 'linux-x64-baseline', 'linux-aarch64', 'darwin-aarch64', 'darwin-x64'].map(
      (p) => path.join(nm, `@oven/bun-${p}/bin/bun`)),
  ];
  for (const bin of candidates) {
    try {
      const version = execFileSync(bin, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString().trim();
      return { bin, version };
    } catch {}
  }
  return null;
}
const bun = findBun();

function toolVersion(cmd, args, re) {
  try {
    const out = execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    return out.match(re)?.[1];
  } catch {
    return undefined;
  }
}

// A peer of a lesson: a script run by Node or Bun that speaks the lesson's protocol.
const nodePeer = (id, name, script) => ({
  id,
  name,
  cmd: () => ['node', [path.join(here, 'peers', script)]],
});
const bunPeer = (id, name, script) => ({
  id,
  name: `${name} (Bun ${bun?.version ?? '?'})`,
  cmd: () => (bun ? [bun.bin, [path.join(here, 'peers', script)]] : null),
  missing: bun ? null : 'bun is not installed (cd tests && npm ci)',
});

// ---- the limit probe's bytes: the size of each lesson's own messages ------------------

// The loadgen posts 64 bytes of text; the server answers with the stored message.
const TEXT = '~1.100000.1000000000'.padEnd(64, 'x');
const MESSAGE = { id: 100000, user: 'bench', text: TEXT, time: 1796118803036 };
const MSG = JSON.stringify(MESSAGE);
const POST = JSON.stringify({ user: 'bench', text: TEXT });
const len = (s) => Buffer.byteLength(s);
// RFC 6455 §5.2: 2 bytes of header, 2 more past 125 bytes, 4 of mask from a client.
const wsFrame = (payload, masked = false) => {
  const n = len(payload);
  return n + (n < 126 ? 2 : n < 65536 ? 4 : 10) + (masked ? 4 : 0);
};
const CSS = fs.statSync(path.join(root, 'common/client/style.css')).size;
const httpHead = (status, type, length) =>
  `HTTP/1.1 ${status}\r\nDate: Tue, 01 Dec 2026 09:41:56 GMT\r\nContent-Type: ${type}\r\n` +
  `Content-Length: ${length}\r\nCache-Control: no-store\r\n\r\n`;
// One limit row's probe flags for the fan-out scenarios, by protocol: frame = what one
// client receives per message, post/ack = the post and the poster's answer,
// repoll/head = long polling's next request and the answer's bytes besides messages.
const probeBytes = {
  poll: {
    frame: len(MSG) + 1,
    post: len(`POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${len(POST)}\r\n\r\n${POST}`),
    ack: len(httpHead('201 Created', 'application/json', len(MSG)) + MSG),
    repoll: len('GET /messages?since=100000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
    head: len(httpHead('200 OK', 'application/json', 999) + '{"messages":[],"missed":0}'),
  },
  // RFC 9113 §4.1: 9 bytes of frame header. The POST's HEADERS block is ~30 bytes of
  // HPACK, the 201's ~20; each DATA line ends in \n.
  h2: { frame: 9 + len(MSG) + 1, post: 9 + 30 + 9 + len(POST), ack: 9 + 20 + 9 + len(MSG) },
  ws: {
    frame: wsFrame(JSON.stringify({ type: 'message', ...MESSAGE })),
    post: wsFrame(JSON.stringify({ type: 'post', user: 'bench', text: TEXT }), true),
    ack: 0,
  },
  // The poster's copy is the ack 43N[...] rather than 42["msg:new",...]: the probe's
  // own frame to the poster stands for it.
  sio: {
    frame: wsFrame(`42["msg:new",${MSG}]`),
    post: wsFrame(`42100["msg:post",${POST}]`, true),
    ack: 0,
  },
};
const probeFlags = (proto) =>
  Object.entries(probeBytes[proto]).filter(([, v]) => v > 0).flatMap(([k, v]) => [`--${k}`, v]);

// ---- the lessons and their scenarios ------------------------------------------------

const lessons = [
  {
    n: 1, name: '01 long polling', proto: 'poll',
    peers: [nodePeer('node', 'Node http', 'polling.mjs'),
      bunPeer('bun', 'Bun.serve', 'bun-polling.mjs')],
  },
  {
    n: 2, name: '02 HTTP/2 stream', proto: 'h2',
    peers: [nodePeer('node', 'Node http2', 'http2.mjs')],
  },
  {
    n: 3, name: '03 WebSocket', proto: 'ws',
    peers: [nodePeer('node', 'ws 8', 'ws.mjs'),
      bunPeer('bun', 'Bun.serve topic publish', 'bun-ws.mjs')],
  },
  {
    n: 4, name: '04 Socket.IO', proto: 'sio',
    peers: [nodePeer('node', 'socket.io 4.8', 'socketio.mjs'),
      bunPeer('bun', 'socket.io 4.8 on @socket.io/bun-engine 0.1', 'bun-socketio.mjs')],
  },
];

// The scenarios every lesson runs, with the loadgen flags and what the row reports.
// better: 'higher' or 'lower' decides which way the ratio is taken. limit: the
// build/bench/limit flags for the same scenario (see the README), if it has one.
const scenarios = [
  {
    id: 'fanout',
    title: '1,000 clients, 10 posters flat out: delivered msg/s',
    args: ['--clients', '1000', '--posters', '10', '--window', '4', '--duration', SECONDS * 1000],
    limit: (proto) => ['--mode', 'fanout', '--clients', 1000, '--posters', 10, '--window', 4,
      ...probeFlags(proto)],
    value: (r) => r.delivered_per_s,
    better: 'higher',
  },
  {
    id: 'fanout-p99',
    from: 'fanout',
    title: '1,000 clients, 10 posters flat out: p99 latency (ms)',
    value: (r) => r.p99_us / 1000,
    better: 'lower',
    // The probe runs flat out too, so its p99 is queueing under full load, not a floor.
    noLimit: true,
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
    limit: (proto) => ['--mode', 'fanout', '--clients', 1, '--posters', 1, '--window', 1,
      ...probeFlags(proto)],
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

// Plain request/response tools, run against a lesson and the servers beside it.
// servers(): the servers to compare with ours; run(port) → {rps}; limit: probe flags.
const wrkRequest = 'GET /style.css HTTP/1.1\r\nHost: 127.0.0.1:40000\r\n\r\n';
const extras = [
  {
    id: 'wrk',
    lesson: 1,
    title: 'wrk GET /style.css, 50 connections: req/s',
    servers: (lesson) => lesson.peers.map((p) => ({ ...p, kind: 'script' })),
    run: (port) => wrk(port),
    limit: ['--mode', 'echo', '--clients', 50, '--inflight', 1, '--request', len(wrkRequest),
      '--response', len(httpHead('200 OK', 'text/css; charset=utf-8', CSS)) + CSS],
  },
  {
    id: 'h2load',
    lesson: 2,
    title: 'h2load GET /style.css, 10 connections x 10 streams: req/s',
    servers: () => [
      {
        id: 'nghttpd',
        name: `nghttpd ${toolVersion('nghttpd', ['--version'], /nghttp2\/([\d.]+)/) ?? '?'}`,
        kind: 'tool',
        start: (port) => ['nghttpd', ['--no-tls', '-d', path.join(root, 'common/client'), port]],
      },
      {
        id: 'h2o',
        name: `h2o ${toolVersion('h2o', ['--version'], /h2o version ([\d.]+)/) ?? '?'} (1 thread)`,
        kind: 'tool',
        start: (port) => ['h2o', ['-c', h2oConfig(port)]],
        missing: toolVersion('h2o', ['--version'], /h2o version ([\d.]+)/)
          ? null : 'h2o is not installed (sh tests/setup.sh bench)',
      },
    ],
    run: (port) => h2load(port),
    // HEADERS of a GET is ~20 bytes once HPACK has indexed the fields; the answer is
    // HEADERS (~30) and one DATA frame with the file.
    limit: ['--mode', 'echo', '--clients', 10, '--inflight', 10, '--request', 9 + 11,
      '--response', 9 + 30 + 9 + CSS],
  },
];

// h2o serving common/client over cleartext HTTP/2 (h2c prior knowledge, as h2load
// speaks it), one worker thread like our one event loop, no access log.
function h2oConfig(port) {
  const file = path.join(build, 'h2o.conf');
  fs.writeFileSync(file, [
    'num-threads: 1',
    // h2o started by root switches to "nobody" unless told otherwise.
    ...(process.getuid?.() === 0 ? ['user: root'] : []),
    'listen:',
    '  host: 127.0.0.1',
    `  port: ${port}`,
    'hosts:',
    '  default:',
    '    paths:',
    '      /:',
    `        file.dir: ${path.join(root, 'common/client')}`,
    '',
  ].join('\n'));
  return file;
}

// ---- running things -----------------------------------------------------------------

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

// A tool that prints no URL (nghttpd, h2o): started on a free port, ready when it
// accepts a connection.
async function startTool(server) {
  const port = await freePort();
  const [cmd, args] = server.start(port);
  const proc = spawn(cmd, args.map(String), { stdio: 'ignore', cwd: root });
  try {
    await waitForPort(port);
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  return { proc, port };
}

async function stopServer(s) {
  if (s.proc.exitCode !== null || s.proc.signalCode !== null) return;
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

function lastJson(r, what) {
  const line = r.out.trim().split('\n').pop();
  try {
    const result = JSON.parse(line);
    if (r.err.trim()) result.stderr = r.err.trim().split('\n').slice(0, 5).join(' | ');
    return result;
  } catch {
    return { failed: `${what} exited ${r.code}: ${r.err.trim().slice(0, 300)}` };
  }
}

async function loadgen(server, proto, args) {
  const r = await run(
    path.join(build, 'loadgen'),
    ['--proto', proto, '--port', server.port, '--pid', server.proc.pid, ...args],
    120000,
  );
  return lastJson(r, 'loadgen');
}

// The limit probe: no server, the same shape of traffic (tests/bench/limit/limit.cpp).
async function limit(args) {
  if (!fs.existsSync(path.join(build, 'limit'))) return { failed: `${build}/limit is missing` };
  const r = await run(path.join(build, 'limit'), [...args, '--duration', SECONDS * 1000], 60000);
  return lastJson(r, 'limit');
}

function serverCommand(lesson, side) {
  // Ours keeps no log here (the peers keep their history in memory): durability()
  // measures what the log costs.
  if (side === 'ours') return [path.join(build, `lesson-${lesson.n}`), ['--data', 'none']];
  return side.cmd();
}

// One side of one lesson (ours or a peer): every scenario, a fresh server each time.
async function measure(lesson, side) {
  const results = {};
  const label = side === 'ours' ? 'ours' : side.id;
  for (const sc of scenarios.filter((s) => s.args && wantScenario(s.id))) {
    let server;
    try {
      const [cmd, args] = serverCommand(lesson, side);
      server = await startServer(cmd, [...args, '--port', '0']);
    } catch (e) {
      log(`${lesson.name} ${label} ${sc.id}: ${e.message}`);
      results[sc.id] = { failed: e.message };
      continue;
    }
    await sleep(300);  // let Node finish starting up before its RSS is read
    const r = await loadgen(server, lesson.proto, sc.args);
    await stopServer(server);
    results[sc.id] = r;
    log(`${lesson.name} ${label} ${sc.id}:`, JSON.stringify(r));
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
async function wrk(port) {
  const r = await run(
    'wrk',
    ['-t1', '-c50', `-d${SECONDS}s`, `http://127.0.0.1:${port}/style.css`],
    60000,
  );
  const m = r.out.match(/Requests\/sec:\s*([\d.]+)/);
  const errors = r.out.match(/Non-2xx or 3xx responses: (\d+)|Socket errors: .*/);
  return m ? { rps: Number(m[1]), errors: errors?.[0] } : { failed: r.out + r.err };
}

// h2load: the stylesheet over cleartext HTTP/2, 10 connections x 10 streams.
async function h2load(port) {
  const r = await run(
    'h2load',
    ['-n', H2LOAD_N, '-c', '10', '-m', '10', `http://127.0.0.1:${port}/style.css`],
    120000,
  );
  const m = r.out.match(/finished in [\d.]+\w+, ([\d.]+) req\/s/);
  const status = r.out.match(/status codes: (\d+) 2xx/);
  const ok2xx = Number(status?.[1] ?? 0);
  if (!m) return { failed: r.out + r.err };
  const errors = ok2xx < H2LOAD_N ? { errors: H2LOAD_N - ok2xx } : {};
  return { rps: Number(m[1]), ok2xx, n: H2LOAD_N, ...errors };
}

// ---- the table ----------------------------------------------------------------------

function fmt(v) {
  if (v === undefined || v === null || Number.isNaN(v)) return 'n/a';
  if (v >= 100) return Math.round(v).toLocaleString('en');
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

// How close a value comes to the limit: value/limit for rates, limit/value for
// latency, so 100% is the limit itself either way.
function ofLimit(v, lim, better) {
  if (!(v > 0) || !(lim > 0)) return '';
  return `${Math.round((better === 'higher' ? v / lim : lim / v) * 100)}%`;
}

function row(scenario, ours, peer, better, note = '', lim) {
  let ratio = 'n/a';
  if (ours > 0 && peer > 0) ratio = `${(better === 'higher' ? ours / peer : peer / ours).toFixed(2)}×`;
  const limitCells = lim === undefined ? '| | | |'
    : `| ${fmt(lim)} | ${ofLimit(ours, lim, better)} | ${ofLimit(peer, lim, better)} |`;
  return `| ${scenario} | ${fmt(ours)}${note} | ${fmt(peer)} | ${ratio} ${limitCells}`;
}

const rows = [];
const raw = { machine: {}, options: {}, lessons: {} };

function describe(r) {
  if (!r) return ' (missing)';
  if (r.failed) return ' (failed)';
  const notes = [];
  if (r.errors) notes.push(`${r.errors} errors`);
  if (r.note) notes.push(r.note);
  return notes.length ? ` (${notes.join(', ')})` : '';
}

const valueOf = (sc, r) => (r && !r.failed ? sc.value(r) : undefined);

async function benchLesson(lesson) {
  const peers = lesson.peers.filter((p) => wantPeer(p.id));
  const names = peers.map((p) => p.name).join(', ') || 'no peer';
  log(`${lesson.name}: ours, then ${names}, then the limit`);
  const ours = await measure(lesson, 'ours');
  const theirs = {};
  for (const peer of peers) {
    if (peer.missing) {
      log(`${lesson.name} ${peer.id}: skipped, ${peer.missing}`);
      continue;
    }
    theirs[peer.id] = await measure(lesson, peer);
  }
  // The machine's limit for each scenario that has one, in the same run.
  const limits = {};
  for (const sc of scenarios.filter((s) => s.limit && wantScenario(s.id))) {
    limits[sc.id] = await limit(sc.limit(lesson.proto));
    log(`${lesson.name} limit ${sc.id}:`, JSON.stringify(limits[sc.id]));
  }
  raw.lessons[lesson.n] = { ours, peers: theirs, limits };

  for (const sc of scenarios) {
    const from = sc.from ?? sc.id;
    if (!wantScenario(from)) continue;
    const o = ours[from];
    const hasLimit = scenarios.find((s) => s.id === from).limit && !sc.noLimit;
    const lim = hasLimit ? valueOf(sc, limits[from]) ?? NaN : undefined;
    // With every peer filtered out (--peers), ours and the limit still get a row.
    for (const peer of peers.length ? peers : [{ id: 'none', name: 'no peer', none: true }]) {
      const title = `${lesson.name} vs ${peer.name}: ${sc.title}`;
      if (peer.none) {
        rows.push(row(title, valueOf(sc, o), undefined, sc.better, sc.from ? '' : describe(o), lim));
        continue;
      }
      if (peer.missing) {
        rows.push(`| ${title} | ${fmt(valueOf(sc, o))} | skipped: ${peer.missing} | | | | |`);
        continue;
      }
      const p = theirs[peer.id][from];
      rows.push(row(title, valueOf(sc, o), valueOf(sc, p), sc.better, sc.from ? '' : describe(o),
        lim) +
        (p && (p.failed || p.errors) && !sc.from ? ` <!-- ${peer.id}${describe(p)} -->` : ''));
    }
  }
}

async function benchExtra(extra, lesson) {
  if (!wantScenario(extra.id)) return;
  const results = { servers: {} };
  const runOn = async (start) => {
    let s;
    try {
      s = await start();
    } catch (e) {
      return { failed: e.message };
    }
    const r = await extra.run(s.port);
    await stopServer(s);
    return r;
  };
  results.ours = await runOn(() =>
    startServer(path.join(build, `lesson-${lesson.n}`), ['--port', '0', '--data', 'none']));
  const servers = extra.servers(lesson).filter((s) => wantPeer(s.id));
  for (const server of servers) {
    if (server.missing) continue;
    results.servers[server.id] = await runOn(() => {
      if (server.kind === 'tool') return startTool(server);
      const [cmd, args] = server.cmd();
      return startServer(cmd, [...args, '--port', '0']);
    });
  }
  results.limit = await limit(extra.limit);
  log(`${extra.id}:`, JSON.stringify(results));
  raw.lessons[lesson.n] ??= {};
  raw.lessons[lesson.n][extra.id] = results;
  const lim = results.limit.failed ? NaN : results.limit.delivered_per_s;
  for (const server of servers) {
    const title = `${lesson.name} vs ${server.name}: ${extra.title}`;
    if (server.missing) {
      rows.push(`| ${title} | ${fmt(results.ours.rps)} | skipped: ${server.missing} | | | | |`);
      continue;
    }
    const p = results.servers[server.id];
    rows.push(row(title, results.ours.rps, p.rps, 'higher', describe(results.ours), lim) +
      (p.failed || p.errors ? ` <!-- ${server.id}${describe(p)} -->` : ''));
  }
}

// The log's cost (common/store.h): the fanout scenario against a lesson keeping
// a fresh --data file, once with --fsync turn (one fdatasync per loop turn
// before the answers) and once with --fsync off.
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
  raw.lessons[lesson.n] ??= {};
  raw.lessons[lesson.n].durability = results;
  const value = (r, f) => (r && !r.failed ? f(r) : undefined);
  const title = `${lesson.name}: --fsync turn (ours) vs --fsync off (peer column), ` +
    '1,000 clients, 10 posters flat out';
  rows.push(row(`${title}: delivered msg/s`, value(results.turn, (r) => r.delivered_per_s),
    value(results.off, (r) => r.delivered_per_s), 'higher', describe(results.turn)));
  rows.push(row(`${title}: p99 latency (ms)`, value(results.turn, (r) => r.p99_us / 1000),
    value(results.off, (r) => r.p99_us / 1000), 'lower'));
}

// Lesson 04 as a cluster: two nodes on one redis-server, the fanout scenario
// (1) through HAProxy (the committed 04-socketio-lite/cluster/haproxy.cfg, on free
// ports), as make lesson-4-cluster runs it, and (2) with no front, loadgen's
// odd-numbered clients on node b (--port2), so the row measures the nodes and not
// the proxy; then both again with two Node socket.io 4.8 nodes with
// @socket.io/redis-streams-adapter 0.3.1 (tests/peers/socketio_cluster.mjs). Both
// keep the rooms' history in Redis. loadgen reads one process's CPU, so each
// process's share of a core over the run (connect, warm-up, measure) is read here
// from /proc/PID/stat: the log line and results.json hold it.
function cpuTicks(pid) {
  try {
    // Fields after the ")" that ends the command name: utime is the 12th, stime 13th.
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').pop().trim().split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return NaN;
  }
}

async function clusterRun(lesson, start, direct) {
  const fanout = scenarios.find((s) => s.id === 'fanout');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-cluster-'));
  const procs = [];
  let result;
  try {
    const redisPort = await freePort();
    const redisProc = spawn('redis-server', ['--port', redisPort, '--bind', '127.0.0.1',
      '--dir', dir, '--appendonly', 'yes', '--save', ''].map(String), { stdio: 'ignore' });
    procs.push({ name: 'redis', proc: redisProc });
    await waitForPort(redisPort);
    const a = await startServer(...start(`127.0.0.1:${redisPort}`, 'a'));
    procs.push({ name: 'a', ...a });
    const b = await startServer(...start(`127.0.0.1:${redisPort}`, 'b'));
    procs.push({ name: 'b', ...b });
    let target = { port: a.port, proc: a.proc };
    let args = fanout.args;
    if (direct) {
      args = [...args, '--port2', b.port];
    } else {
      const frontPort = await freePort();
      const config = path.join(root, '04-socketio-lite/cluster/haproxy.cfg');
      const front = spawn('haproxy', ['-db', '-f', config], {
        stdio: 'ignore',
        env: { ...process.env, FRONT_PORT: String(frontPort), NODE_A_PORT: String(a.port),
          NODE_B_PORT: String(b.port) },
      });
      procs.push({ name: 'haproxy', proc: front });
      await waitForPort(frontPort);
      target = { port: frontPort, proc: a.proc };
    }
    await sleep(300);
    const before = procs.map((p) => cpuTicks(p.proc.pid));
    const t0 = Date.now();
    result = await loadgen(target, lesson.proto, args);
    const wall = (Date.now() - t0) / 1000;
    const hz = 100;  // USER_HZ, the unit of /proc/PID/stat's times on Linux
    result.cpu_pct = Object.fromEntries(procs.map((p, i) =>
      [p.name, Math.round(((cpuTicks(p.proc.pid) - before[i]) / hz / wall) * 1000) / 10]));
  } catch (e) {
    result = { failed: e.message };
  }
  for (const p of procs.reverse()) await stopServer(p);
  fs.rmSync(dir, { recursive: true, force: true });
  return result;
}

async function cluster(lesson) {
  const node = (redis, name) => [path.join(build, `lesson-${lesson.n}`),
    ['--port', '0', '--data', 'none', '--redis', redis, '--node', name]];
  const peer = (redis) => [process.execPath,
    [path.join(root, 'tests/peers/socketio_cluster.mjs'), '--port', '0', '--redis', redis]];
  const results = {};
  for (const [front, direct] of [['haproxy', false], ['direct', true]]) {
    results[front] = {};
    for (const [side, start] of [['ours', node], ['node', peer]]) {
      results[front][side] = await clusterRun(lesson, start, direct);
      log(`${lesson.name} cluster ${front} ${side}:`, JSON.stringify(results[front][side]));
    }
  }
  raw.lessons[lesson.n] ??= {};
  raw.lessons[lesson.n].cluster = results;
  const value = (r, f) => (r && !r.failed ? f(r) : undefined);
  const titles = {
    haproxy: `${lesson.name}, 2 nodes on Redis behind HAProxy, vs 2 socket.io 4.8 nodes ` +
      'with redis-streams-adapter 0.3.1: 1,000 clients, 10 posters flat out',
    direct: `${lesson.name}, 2 nodes on Redis with no front (half the clients on each), ` +
      'vs 2 socket.io 4.8 nodes with redis-streams-adapter 0.3.1: 1,000 clients, ' +
      '10 posters flat out',
  };
  for (const front of ['haproxy', 'direct']) {
    const { ours, node: theirs } = results[front];
    rows.push(row(`${titles[front]}: delivered msg/s`, value(ours, (r) => r.delivered_per_s),
      value(theirs, (r) => r.delivered_per_s), 'higher', describe(ours)) +
      (theirs?.failed || theirs?.errors ? ` <!-- node${describe(theirs)} -->` : ''));
    rows.push(row(`${titles[front]}: p99 latency (ms)`, value(ours, (r) => r.p99_us / 1000),
      value(theirs, (r) => r.p99_us / 1000), 'lower'));
  }
}

async function main() {
  if (!fs.existsSync(path.join(build, 'loadgen'))) {
    log(`${build}/loadgen is missing: run make bench`);
    process.exit(1);
  }
  raw.options = { seconds: SECONDS, idle: IDLE, only, scenarios: onlyScenarios, peers: onlyPeers,
    bun: bun?.version };
  for (const lesson of lessons.filter((l) => only.includes(l.n))) {
    if (!fs.existsSync(path.join(build, `lesson-${lesson.n}`))) {
      log(`${lesson.name}: ${build}/lesson-${lesson.n} was not built; skipped`);
      rows.push(`| ${lesson.name}: not built, skipped | | | | | | |`);
      continue;
    }
    if (!fsyncOnly) {
      await benchLesson(lesson);
      for (const extra of extras.filter((e) => e.lesson === lesson.n)) {
        await benchExtra(extra, lesson);
      }
    }
    if (wantScenario('fanout')) await durability(lesson);
    if (lesson.n === 4 && wantScenario('cluster') && !fsyncOnly) await cluster(lesson);
  }
  raw.machine = machine();
  const table = [
    '| scenario | ours | peer | ratio | limit | ours of limit | peer of limit |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
  const header = `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ` +
    `${raw.machine.nproc} cores (${raw.machine.cpu}), ${raw.machine.memory}, ` +
    `load average ${raw.machine.load} at the end, Node ${process.versions.node}, ` +
    `Bun ${bun?.version ?? 'not installed'}, ${SECONDS} s windows. Ratio: how many times ` +
    'better ours is (>1: ours wins). Limit: the same scenario with no server ' +
    '(build/bench/limit); "of limit": value/limit for rates, limit/value for latency.';
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
